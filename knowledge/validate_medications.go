package knowledge

import "strings"

// checkMedications checks medications.yaml: drug classes with their ingredients, codes and names (each
// name recognises one ingredient only), combination brands, products, and the labs a class affects.
func (c *checker) checkMedications(f *medicationsFile, valueSets map[string]*ValueSet, ix dataIDs) {
	classIDs, ingIDs := map[string]bool{}, map[string]bool{}
	names := map[string]string{} // normalised name -> ingredient id
	for _, cl := range f.Classes {
		c.checkID("class", cl.ID, classIDs)
		where := "class " + cl.ID
		if cl.Name == "" || cl.Group == "" {
			c.fail("%s: needs a name and a group", where)
		}
		c.checkCitations(where, cl.Evidence)
		if cl.Strength != StrengthStrong && cl.Strength != StrengthReported {
			c.fail("%s: strength %q must be %s or %s", where, cl.Strength, StrengthStrong, StrengthReported)
		}
		c.checkCitations(where+" strength", cl.StrengthEvidence)
		if len(cl.AlsoTreatment) > 0 {
			c.checkCitations(where+" also_treatment", cl.AlsoTreatment)
		}
		if cl.RecentDays < 0 {
			c.fail("%s: recent_days must not be negative", where)
		}
		vs := c.checkValueSetRef(where, cl.ValueSet, KindDrug, valueSets)
		for _, w := range cl.ExcludeForms {
			if toks := nameTokens(w); len(toks) != 1 || toks[0] != w {
				c.fail("%s: exclude_forms word %q must be one lower-case word", where, w)
			}
		}
		for _, p := range cl.ATCPrefixes {
			c.checkCode(where, sysATC, Code{Code: p.Code, Source: p.Source, Prefix: true})
			for _, ex := range p.Exclude {
				if !reATCPrefix.MatchString(ex) || !strings.HasPrefix(ex, p.Code) || ex == p.Code {
					c.fail("%s: ATC exclusion %q must be a longer root inside %s", where, ex, p.Code)
				}
			}
		}
		for _, e := range cl.LabEffects {
			_, ok := ix.labs[e.Lab]
			c.need(where+" lab_effects", "lab", e.Lab, ok)
			if (e.Direction != "low" && e.Direction != "high") || e.Source == "" {
				c.fail("%s: lab effect on %s needs a direction (low or high) and a source", where, e.Lab)
			}
		}
		if len(cl.Ingredients) == 0 {
			c.fail("%s: no ingredients", where)
		}
		for _, ing := range cl.Ingredients {
			c.checkID("ingredient", ing.ID, ingIDs)
			w := "ingredient " + ing.ID
			if ing.Name == "" {
				c.fail("%s: no name", w)
			}
			if len(ing.RxNorm)+len(ing.ATC) == 0 && ing.Note == "" {
				c.fail("%s: needs an RxNorm or ATC code, or a note saying why it is recognised by name only", w)
			}
			for _, code := range ing.RxNorm {
				c.checkCode(w, sysRxNorm, code)
				c.checkInValueSet(w, vs, sysRxNorm, code.Code, ing.ID)
			}
			for _, code := range ing.ATC {
				if code.Prefix {
					c.fail("%s: ATC %s: an ingredient lists substance codes; class roots go in the class's atc_prefixes", w, code.Code)
				}
				c.checkCode(w, sysATC, code)
				c.checkInValueSet(w, vs, sysATC, code.Code, ing.ID)
			}
			all := append(append(append([]string{ing.Name}, ing.Synonyms...), ing.Brands...), ing.BrandsUnverified...)
			for _, n := range all {
				c.checkName(w, n, ing.ID, names)
			}
		}
	}
	for _, dw := range f.Warnings {
		w := "warning " + dw.ID
		if dw.ID == "" || dw.Name == "" || dw.Warning == "" || dw.Source == "" || dw.URL == "" || len(dw.Names) == 0 {
			c.fail("%s: needs an id, a name, names, the warning, its source and its URL", w)
		}
		for _, k := range dw.RxNorm {
			c.checkCode(w, sysRxNorm, k)
		}
		for _, k := range dw.ATC {
			c.checkCode(w, sysATC, k)
		}
	}
	for _, cb := range f.CombinationBrands {
		w := "combination brand " + cb.Name
		if len(cb.Ingredients) < 2 {
			c.fail("%s: a combination needs two or more ingredients", w)
		}
		for _, id := range cb.Ingredients {
			if !ingIDs[id] {
				c.fail("%s: unknown ingredient %q", w, id)
			}
		}
		c.checkName(w, cb.Name, "combination:"+strings.Join(cb.Ingredients, "+"), names)
	}
	for _, p := range f.Products {
		w := "product " + p.RxCUI
		if p.Display == "" {
			c.fail("%s: no display", w)
		}
		c.checkCode(w, sysRxNorm, Code{Code: p.RxCUI, Source: p.Source, SharedWith: p.SharedWith})
		if len(p.Ingredients) == 0 {
			c.fail("%s: no ingredients", w)
		}
		for _, id := range p.Ingredients {
			if !ingIDs[id] {
				c.fail("%s: unknown ingredient %q", w, id)
				continue
			}
			for _, cl := range f.Classes {
				for _, ing := range cl.Ingredients {
					if ing.ID == id {
						c.checkInValueSet(w, valueSets[cl.ValueSet], sysRxNorm, p.RxCUI, id)
					}
				}
			}
		}
	}
}

// checkInValueSet fails when a code the data names for an ingredient is not in the class's value set
// with that ingredient: the shipped value sets are older than the data and must be regenerated.
func (c *checker) checkInValueSet(where string, vs *ValueSet, sys codeSystem, code, ingredient string) {
	if vs == nil {
		return
	}
	for i := range vs.Expansion.Contains {
		e := &vs.Expansion.Contains[i]
		if e.Code == code && systemOf(e.System) == sys {
			for _, id := range e.Ingredients() {
				if id == ingredient {
					return
				}
			}
		}
	}
	c.fail("%s: %s %s is not in value set %s as %s (run go run ./knowledge/cmd/valuesets)", where, sys, code, vs.ID, ingredient)
}

// checkName refuses names that are empty after normalising, made only of salt words, or claimed twice.
func (c *checker) checkName(where, name, owner string, seen map[string]string) {
	toks := nameTokens(name)
	if len(toks) == 0 {
		c.fail("%s: name %q has no matchable words (salt words like sodium or potassium are ignored)", where, name)
		return
	}
	key := strings.Join(toks, " ")
	if prev, ok := seen[key]; ok && prev != owner {
		c.fail("%s: name %q is also a name of %s", where, name, prev)
		return
	}
	seen[key] = owner
}
