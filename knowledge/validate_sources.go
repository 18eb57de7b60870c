package knowledge

import (
	"regexp"
	"strings"
)

var (
	reSemver   = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	reSeedFile = regexp.MustCompile(`^[0-9]{3}_[0-9a-f]{16}\.txt$`)
)

// checkSources checks sources.yaml: every seed once, with its titles and reference ids, which the
// citations of every other file are checked against; every publication complete (authors, title, journal,
// year, a PMID or DOI, how it was identified), once, and every reference's publication known.
func (c *checker) checkSources(f *sourcesFile) {
	c.checkPublications(f.Publications)
	if !reSemver.MatchString(f.Version) {
		c.fail("sources: version %q is not a semantic version like 1.0.0", f.Version)
	}
	if len(f.Sources) == 0 {
		c.fail("sources: no sources")
	}
	for _, s := range f.Sources {
		if !reSeedFile.MatchString(s.Seed) {
			c.fail("sources: seed %q is not a seed file name like 000_0123456789abcdef.txt", s.Seed)
		}
		if c.sources[s.Seed] != nil {
			c.fail("sources: seed %s listed twice", s.Seed)
		}
		if s.Title == "" || s.CiteAs == "" || s.Cite == "" || s.Kind == "" {
			c.fail("sources: seed %s needs a title, cite_as, cite and kind", s.Seed)
		}
		refs := map[string]bool{}
		for _, r := range s.Refs {
			if r.ID == "" || refs[r.ID] {
				c.fail("sources: seed %s has an empty or repeated ref id %q", s.Seed, r.ID)
			}
			refs[r.ID] = true
			if r.Publication == "" {
				continue
			}
			switch p := c.pubs[r.Publication]; {
			case p == nil:
				c.fail("sources: seed %s ref %s names unknown publication %q", s.Seed, r.ID, r.Publication)
			case p.BeyondSeeds:
				c.fail("sources: seed %s ref %s resolves to %q, which is marked beyond_seeds", s.Seed, r.ID, r.Publication)
			}
		}
		if len(refs) == 0 {
			c.fail("sources: seed %s has no refs", s.Seed)
		}
		c.sources[s.Seed] = refs
	}
}

var (
	rePMID = regexp.MustCompile(`^[1-9][0-9]{0,8}$`)
	reDOI  = regexp.MustCompile(`^10\.[0-9]{4,9}/\S+$`)
)

// checkPublications checks the publications seed references resolve to and those cited beyond the seeds.
func (c *checker) checkPublications(ps []*Publication) {
	for _, p := range ps {
		if p.ID == "" || c.pubs[p.ID] != nil {
			c.fail("sources: publication with an empty or repeated id %q", p.ID)
			continue
		}
		c.pubs[p.ID] = p
		if p.Authors == "" || p.Title == "" || p.Journal == "" || p.Cite == "" || p.IdentifiedBy == "" {
			c.fail("sources: publication %s needs authors, title, journal, cite and identified_by", p.ID)
		}
		if p.Year < 1900 || p.Year > 2100 {
			c.fail("sources: publication %s: year %d is not a year", p.ID, p.Year)
		}
		if !strings.HasPrefix(p.Record, "https://") {
			c.fail("sources: publication %s needs the https address of the public record that was read", p.ID)
		}
		if p.PMID != "" && !rePMID.MatchString(p.PMID) {
			c.fail("sources: publication %s: PMID %q is not a PubMed id", p.ID, p.PMID)
		}
		if p.DOI != "" && !reDOI.MatchString(p.DOI) {
			c.fail("sources: publication %s: DOI %q is not a DOI like 10.1001/...", p.ID, p.DOI)
		}
		if p.BeyondSeeds != (p.Supports != "") {
			c.fail("sources: publication %s: beyond_seeds and supports go together (say what it is cited for)", p.ID)
		}
	}
}
