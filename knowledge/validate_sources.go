package knowledge

import "regexp"

var (
	reSemver   = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	reSeedFile = regexp.MustCompile(`^[0-9]{3}_[0-9a-f]{16}\.txt$`)
)

// checkSources checks sources.yaml: every seed once, with its titles and reference ids, which the
// citations of every other file are checked against.
func (c *checker) checkSources(f *sourcesFile) {
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
		}
		if len(refs) == 0 {
			c.fail("sources: seed %s has no refs", s.Seed)
		}
		c.sources[s.Seed] = refs
	}
}
