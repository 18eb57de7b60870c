package knowledge

import (
	"math"
	"strings"
)

var validOps = map[string]bool{"<": true, "<=": true, ">": true, ">=": true}

// checkLabs checks labs.yaml: the work-up items and the panels that order them, each lab's value set,
// units and thresholds, and the drug classes, conditions and labs its rules name.
func (c *checker) checkLabs(f *labsFile, valueSets map[string]*ValueSet, ix dataIDs) {
	if f.LookbackMonths < 1 {
		c.fail("labs: lookback_months must be at least 1")
	}
	labIDs, workupIDs := map[string]bool{}, map[string]bool{}
	inWorkup := map[string]int{}
	for _, w := range f.Workup {
		c.checkID("workup", w.ID, workupIDs)
		where := "workup " + w.ID
		c.checkCitations(where, w.Evidence)
		if err := checkFormat(sysLOINC, w.Order.Code, false); err != nil || w.Order.Source == "" {
			c.fail("%s: order code %q must be a valid LOINC code with a source", where, w.Order.Code)
		}
		if w.Short == "" {
			c.fail("%s: no short name for its order button", where)
		}
		for _, id := range w.Labs {
			inWorkup[id]++
		}
	}
	panelIDs := map[string]bool{}
	for _, p := range f.Panels {
		c.checkID("panel", p.ID, panelIDs)
		where := "panel " + p.ID
		for _, code := range append([]Code{p.Order}, p.Also...) {
			if err := checkFormat(sysLOINC, code.Code, false); err != nil || code.Source == "" {
				c.fail("%s: code %q must be a valid LOINC code with a source", where, code.Code)
			}
		}
		if p.Name == "" || len(p.Covers) < 2 {
			c.fail("%s: needs a name and at least two work-up tests it covers", where)
		}
		for _, id := range p.Covers {
			if !workupIDs[id] {
				c.fail("%s: covers unknown workup %q", where, id)
			}
		}
	}
	for _, l := range allLabs(f) {
		c.checkID("lab", l.ID, labIDs)
		where := "lab " + l.ID
		if want := adjunctCount(f, l); inWorkup[l.ID] != want {
			c.fail("%s: must belong to %d workup items (found %d); adjuncts belong to none", where, want, inWorkup[l.ID])
		}
		c.checkValueSetRef(where, l.ValueSet, KindLab, valueSets)
		c.checkUnits(where, l)
		for _, t := range append(append([]Threshold(nil), l.Thresholds...), l.Critical...) {
			if !validOps[t.Op] || t.Finding == "" || t.Source == "" || math.IsNaN(t.Value) {
				c.fail("%s: threshold %q needs a finding, an op among < <= > >=, a value and a source", where, t.Finding)
			}
			if t.Sex != "" && t.Sex != "male" && t.Sex != "female" {
				c.fail("%s: threshold %q: sex %q must be male or female", where, t.Finding, t.Sex)
			}
		}
		for _, t := range l.Critical {
			if t.Action == "" {
				c.fail("%s: critical limit %q needs an action", where, t.Finding)
			}
		}
		for _, m := range l.MovedBy {
			if (m.Direction != "low" && m.Direction != "high") || m.Name == "" || len(m.Names) == 0 || m.Source == "" {
				c.fail("%s: moved_by %q needs a direction low or high, a name, names and a source", where, m.Name)
			}
		}
		if a := l.AlbuminCorrection; a != nil && (a.Factor <= 0 || a.Reference <= 0 || a.WithinDays < 0 || a.Source == "") {
			c.fail("%s: albumin_correction needs a positive factor and reference, a window and a source", where)
		}
		if l.AlbuminCorrection != nil && l.NeverCorrected {
			c.fail("%s: cannot be both corrected and never corrected", where)
		}
		if ch := l.Chronic; ch != nil && (ch.Months < 1 || ch.Finding == "" || ch.Source == "") {
			c.fail("%s: chronic needs months, a finding and a source", where)
		}
	}
	c.checkLabRefs(f, ix)
	for id := range inWorkup {
		if !labIDs[id] {
			c.fail("workup: unknown lab %q", id)
		}
	}
	// The code a work-up orders must be one its results are recognised by, or the order would not satisfy it.
	labVS := map[string]*ValueSet{}
	for _, l := range f.Labs {
		labVS[l.ID] = valueSets[l.ValueSet]
	}
	for _, w := range f.Workup {
		found := false
		for _, id := range w.Labs {
			if vs := labVS[id]; vs != nil && vs.holds(sysLOINC, w.Order.Code) {
				found = true
			}
		}
		if !found {
			c.fail("workup %s: order code %s is in none of its labs' value sets", w.ID, w.Order.Code)
		}
	}
}

func (c *checker) checkUnits(where string, l *Lab) {
	canonicalOK := false
	for i, u := range l.Units {
		if u.Code == "" || u.Source == "" || u.Multiply < 0 || u.Divide < 0 {
			c.fail("%s: unit %q needs a code, a source and non-negative factors", where, u.Code)
		}
		if u.Code == l.CanonicalUnit && factor(u.Multiply) == 1 && factor(u.Divide) == 1 && u.Add == 0 {
			canonicalOK = true
		}
		// Units are matched case-insensitively as a fallback, so units equal but for case must convert alike.
		for _, v := range l.Units[:i] {
			if strings.EqualFold(u.Code, v.Code) && (factor(u.Multiply) != factor(v.Multiply) ||
				factor(u.Divide) != factor(v.Divide) || u.Add != v.Add || u.Code == v.Code) {
				c.fail("%s: units %q and %q collide", where, v.Code, u.Code)
			}
		}
	}
	if !canonicalOK {
		c.fail("%s: canonical unit %q must be listed with no conversion", where, l.CanonicalUnit)
	}
}

// checkLabRefs checks what labs.yaml names in other files: a work-up's reasons to recommend it, the
// conditions that explain a threshold or make a result chronic, the albumin a result is corrected with,
// and the lab it defers to.
func (c *checker) checkLabRefs(f *labsFile, ix dataIDs) {
	for _, w := range f.Workup {
		r := w.RecommendWhen
		if r == nil {
			continue
		}
		where := "workup " + w.ID + " recommend_when"
		if r.Source == "" || len(r.DrugClasses)+len(r.Conditions)+len(r.History) == 0 && r.PriorResult == nil {
			c.fail("%s: needs a source and at least one reason", where)
		}
		for _, id := range r.DrugClasses {
			c.need(where, "drug class", id, ix.classes[id])
		}
		for _, id := range append(append([]string(nil), r.Conditions...), r.History...) {
			c.need(where, "condition", id, ix.conditions[id])
		}
		if t := r.PriorResult; t != nil && (!validOps[t.Op] || t.Finding == "" || t.Source == "") {
			c.fail("%s: prior_result needs a finding, an op and a source", where)
		}
	}
	for _, l := range allLabs(f) {
		where := "lab " + l.ID
		for _, t := range l.Thresholds {
			for _, id := range t.KnownBy {
				c.need(where+" known_by", "condition", id, ix.conditions[id])
			}
		}
		if a := l.AlbuminCorrection; a != nil {
			_, ok := ix.labs[a.Albumin]
			c.need(where+" albumin_correction", "lab", a.Albumin, ok)
		}
		if ch := l.Chronic; ch != nil {
			for _, id := range ch.Conditions {
				c.need(where+" chronic", "condition", id, ix.conditions[id])
			}
		}
		if l.DefersTo != "" {
			d, ok := ix.labs[l.DefersTo]
			c.need(where+" defers_to", "lab", l.DefersTo, ok)
			if ok && !sameWorkup(f.Workup, l.ID, d.ID) {
				c.fail("%s: defers_to %s must be a lab of the same workup item", where, d.ID)
			}
		}
	}
}

// allLabs is every lab of the file, work-up labs first, then adjuncts.
func allLabs(f *labsFile) []*Lab {
	return append(append([]*Lab(nil), f.Labs...), f.Adjuncts...)
}

// adjunctCount is how many work-up items a lab must belong to: none for an adjunct, else one.
func adjunctCount(f *labsFile, l *Lab) int {
	for _, a := range f.Adjuncts {
		if a == l {
			return 0
		}
	}
	return 1
}

// sameWorkup reports whether two labs belong to one workup item.
func sameWorkup(ws []*Workup, a, b string) bool {
	for _, w := range ws {
		hasA, hasB := false, false
		for _, id := range w.Labs {
			hasA = hasA || id == a
			hasB = hasB || id == b
		}
		if hasA && hasB {
			return true
		}
	}
	return false
}

// factor turns a factor left out of the file (0) into 1.
func factor(f float64) float64 {
	if f == 0 {
		return 1
	}
	return f
}
