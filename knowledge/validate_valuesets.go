package knowledge

import "slices"

// allowedSystems are the terminologies each kind of value set may hold.
var allowedSystems = map[string][]codeSystem{
	KindLab:       {sysLOINC},
	KindCondition: {sysSNOMED, sysICD10CM},
	KindDrug:      {sysRxNorm, sysATC},
}

// checkValueSets validates every shipped value set: FHIR shape, provenance, codes valid for their systems,
// no code twice in one set, and no LOINC code in two analytes.
func (c *checker) checkValueSets(vss []*ValueSet) map[string]*ValueSet {
	byID := map[string]*ValueSet{}
	loincOwner := map[string]string{}
	for _, vs := range vss {
		where := "value set " + vs.ID
		if byID[vs.ID] != nil {
			c.fail("%s: id used twice", where)
		}
		byID[vs.ID] = vs
		if vs.ResourceType != "ValueSet" {
			c.fail("%s: resourceType %q, want ValueSet", where, vs.ResourceType)
		}
		if !reID.MatchString(vs.ID) {
			c.fail("%s: id must be lower-case words joined by hyphens", where)
		}
		systems, ok := allowedSystems[vs.Kind()]
		if !ok {
			c.fail("%s: id must start with lab-, condition- or drug-", where)
		}
		if vs.URL != ValueSetURLBase+vs.ID {
			c.fail("%s: url %q, want %q", where, vs.URL, ValueSetURLBase+vs.ID)
		}
		if vs.Version == "" || vs.Name == "" || vs.Title == "" || vs.Status == "" || vs.Expansion.Timestamp == "" {
			c.fail("%s: needs version, name, title, status and expansion.timestamp", where)
		}
		if len(vs.Sources) == 0 {
			c.fail("%s: no source (a valueset-source extension naming a repository and commit, or a release)", where)
		}
		for _, s := range vs.Sources {
			if (s.Repository == "" || s.Commit == "") && s.Release == "" {
				c.fail("%s: a source needs a repository and a commit, or a release: %+v", where, s)
			}
		}
		// Only a drug class recognised by name alone (iron sucrose) may have no code.
		if (len(vs.Expansion.Contains) == 0 && vs.Kind() != KindDrug) || vs.Expansion.Total != len(vs.Expansion.Contains) {
			c.fail("%s: expansion.total %d must equal the %d codes it contains (and be at least 1)", where, vs.Expansion.Total, len(vs.Expansion.Contains))
		}
		seen := map[claimKey]bool{}
		for i := range vs.Expansion.Contains {
			e := &vs.Expansion.Contains[i]
			sys := systemOf(e.System)
			if !slices.Contains(systems, sys) || e.System != systemURI(sys) {
				c.fail("%s: code %q has system %q, not one a %s value set holds", where, e.Code, e.System, vs.Kind())
				continue
			}
			if err := checkFormat(sys, e.Code, false); err != nil {
				c.fail("%s: %w", where, err)
			}
			k := claimKey{sys, e.Code}
			if seen[k] {
				c.fail("%s: %s %s listed twice", where, sys, e.Code)
			}
			seen[k] = true
			if vs.Kind() == KindLab {
				if prev, ok := loincOwner[e.Code]; ok && prev != vs.ID {
					c.fail("LOINC %s is in two analytes' value sets, %s and %s", e.Code, prev, vs.ID)
				}
				loincOwner[e.Code] = vs.ID
			}
			// An ATC code may name the class only (C09BA03 "lisinopril and diuretics" does not say which diuretic).
			if vs.Kind() == KindDrug && sys == sysRxNorm && len(e.Ingredients()) == 0 {
				c.fail("%s: %s %s names no ingredient", where, sys, e.Code)
			}
		}
	}
	return byID
}

// checkValueSetRef checks that id names a shipped value set of the given kind.
func (c *checker) checkValueSetRef(where, id, kind string, byID map[string]*ValueSet) *ValueSet {
	vs := byID[id]
	switch {
	case id == "":
		c.fail("%s: no value set", where)
	case vs == nil:
		c.fail("%s: unknown value set %q", where, id)
	case vs.Kind() != kind:
		c.fail("%s: value set %q is a %s value set, want %s", where, id, vs.Kind(), kind)
	default:
		return vs
	}
	return nil
}
