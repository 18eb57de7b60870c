package knowledge

// checkConditions checks conditions.yaml: each condition is associated with cramps (and cited), a
// differential (with cited features), or both; its value sets, plausibility, timing and the conditions
// it specialises.
func (c *checker) checkConditions(cs []*Condition, valueSets map[string]*ValueSet, ix dataIDs) {
	ids := map[string]bool{}
	for _, cd := range cs {
		c.checkID("condition", cd.ID, ids)
		where := "condition " + cd.ID
		if cd.Name == "" || cd.Category == "" {
			c.fail("%s: needs a name and a category", where)
		}
		if !cd.Associated && cd.Differential == nil {
			c.fail("%s: must be associated, a differential, or both", where)
		}
		if cd.Associated {
			c.checkCitations(where, cd.Evidence)
		} else if len(cd.Evidence) > 0 {
			c.fail("%s: evidence is for associated conditions; cite a differential in its features", where)
		}
		if d := cd.Differential; d != nil {
			if len(d.Features) == 0 {
				c.fail("%s: a differential needs distinguishing features", where)
			}
			for _, f := range d.Features {
				c.checkStatement(where, f)
			}
			if d.Question != nil {
				c.checkStatement(where, *d.Question)
			}
		}
		if len(cd.ValueSets) == 0 {
			c.fail("%s: no value sets", where)
		}
		if p := cd.Plausible; p != nil && (p.Source == "" || (p.Sex != "" && p.Sex != "male" && p.Sex != "female") || p.MinAge < 0 || (p.MaxAge != 0 && p.MaxAge < p.MinAge)) {
			c.fail("condition %s: plausible needs a source, a sex of male or female, and ages in order", cd.ID)
		}
		if cd.RecentMonths < 0 {
			c.fail("condition %s: recent_months must not be negative", cd.ID)
		}
		if tr := cd.Transient; tr != nil {
			if tr.Months < 1 || tr.Source == "" {
				c.fail("condition %s: transient needs months (at least 1) and a source", cd.ID)
			}
			if _, ok := ix.labs[tr.Lab]; tr.Lab != "" && !ok {
				c.fail("condition %s transient: unknown lab %q", cd.ID, tr.Lab)
			}
		}
		if cd.Strength != "" && cd.Strength != StrengthStrong && cd.Strength != StrengthReported {
			c.fail("condition %s: strength %q must be %s or %s", cd.ID, cd.Strength, StrengthStrong, StrengthReported)
		}
		for _, id := range cd.Specialises {
			c.need("condition "+cd.ID+" specialises", "condition", id, ix.conditions[id] && id != cd.ID)
		}
		// Conditions may share codes (E11.42 is both diabetes and diabetic neuropathy): no claim check here.
		for _, id := range cd.ValueSets {
			c.checkValueSetRef(where, id, KindCondition, valueSets)
		}
	}
}
