package knowledge

import (
	"cmp"
	"slices"
	"time"

	"github.com/cramp-cds/cramp-cds/fhir"
)

// This file holds the laboratory rules over a record: which work-up tests are
// missing or pending, and which latest results are judged (rules_judge.go).
// knowledge/README.md states each rule in words with its source.

// sameDraw is how far apart two results may be and still come from one blood
// draw (a creatinine and the eGFR the laboratory computed from it).
const sameDraw = 24 * time.Hour

// labContext is what judging one record's results needs besides the result.
type labContext struct {
	asOf    time.Time
	patient patient
	// results holds every dated result of the record by analyte, latest first.
	results map[*Lab][]fhir.Observation
	// pending holds the dated pending entries (registered, preliminary,
	// partial) by analyte, latest first: never judged.
	pending map[*Lab][]fhir.Observation
	// present are the conditions found present (associated or differential).
	present map[*Condition][]ConditionEntry
	meds    []MedicationFinding
	// record is the record judged: its current medications are searched for
	// drugs that move an analyte (Lab.MovedBy).
	record *fhir.Record
}

// newLabContext sorts the record's dated results (and pending entries) by
// analyte, latest first, next to the conditions found present.
func (b *Base) newLabContext(rec *fhir.Record, asOf time.Time, p patient, f *Findings) labContext {
	ctx := labContext{
		asOf: asOf, patient: p, meds: f.Medications, present: map[*Condition][]ConditionEntry{}, record: rec,
		results: map[*Lab][]fhir.Observation{}, pending: map[*Lab][]fhir.Observation{},
	}
	for _, o := range rec.Observations {
		if o.Effective.IsZero() || o.Effective.After(asOf.Add(fhir.ClockSkew)) {
			continue // undated, or not yet as of asOf
		}
		into := ctx.results
		if fhir.IsPendingStatus(o.Status) {
			into = ctx.pending
		}
		for _, cd := range o.Code.Codings {
			if lab := b.LabFor(cd); lab != nil {
				into[lab] = append(into[lab], o)
				break
			}
		}
	}
	for _, byLab := range []map[*Lab][]fhir.Observation{ctx.results, ctx.pending} {
		for _, rs := range byLab {
			slices.SortFunc(rs, func(x, y fhir.Observation) int {
				if later(x, y) {
					return -1
				}
				if later(y, x) {
					return 1
				}
				return 0
			})
		}
	}
	for _, cs := range [][]ConditionFinding{f.Associated, f.Differentials} {
		for _, c := range cs {
			ctx.present[c.Condition] = c.Entries
		}
	}
	return ctx
}

// labFindings finds, per work-up, whether it is missing (and whether the
// record points to it) or pending, and per work-up the abnormal latest
// results.
//
// A work-up is missing when none of its analytes has a result effective in
// [asOf - LookbackMonths, asOf] (a few minutes of clock skew allowed); any kept
// result counts, with or without a value. One with no such result but a
// pending entry in that window is pending, not missing. Per analyte only the
// latest in-window result is judged (see judge); an analyte that defers to
// another of its work-up (creatinine to eGFR) is judged only when it is the
// later draw, so one draw gives one finding.
func (b *Base) labFindings(rec *fhir.Record, ctx *labContext) (abnormal []AbnormalLabFinding, missing []MissingLabFinding, pending []PendingLabFinding) {
	asOf := ctx.asOf
	for _, wu := range b.workups {
		since := asOf.AddDate(0, -wu.LookbackMonths, 0)
		latest := map[*Lab]fhir.Observation{}
		var last *fhir.Observation
		for _, lab := range wu.Resolved {
			rs := ctx.results[lab]
			if len(rs) == 0 {
				continue
			}
			if rs[0].Effective.Before(since) {
				if last == nil || later(rs[0], *last) {
					last = &rs[0]
				}
				continue
			}
			latest[lab] = rs[0]
		}
		if len(latest) == 0 {
			if o, ok := latestPending(wu, ctx, since); ok {
				pending = append(pending, PendingLabFinding{Workup: wu, Result: ObservationEntry{Entry: entryOf(o), Observation: o}})
				continue
			}
			m := MissingLabFinding{Workup: wu, Since: since}
			if last != nil {
				m.Last = &ObservationEntry{Entry: entryOf(*last), Observation: *last}
			}
			m.RecommendedBy = b.recommendedBy(wu, rec, ctx)
			m.Recommended = len(m.RecommendedBy) > 0
			m.Ordered = b.pendingOrder(rec, wu)
			missing = append(missing, m)
			continue
		}
		for _, lab := range wu.Resolved {
			o, ok := latest[lab]
			if !ok {
				continue
			}
			judged, related := b.draw(wu, latest, lab)
			if !judged {
				continue
			}
			if a, ok := b.judge(lab, o, ctx); ok {
				a.Related = related
				abnormal = append(abnormal, a)
			}
		}
	}
	// Critical first; data order otherwise.
	slices.SortStableFunc(abnormal, func(x, y AbnormalLabFinding) int { return cmp.Compare(y.Severity, x.Severity) })
	return abnormal, missing, pending
}

// latestPending returns the latest pending entry of the work-up's analytes
// effective at or after since.
func latestPending(wu *Workup, ctx *labContext, since time.Time) (fhir.Observation, bool) {
	var best fhir.Observation
	found := false
	for _, lab := range wu.Resolved {
		if ps := ctx.pending[lab]; len(ps) > 0 && !ps[0].Effective.Before(since) && (!found || later(ps[0], best)) {
			best, found = ps[0], true
		}
	}
	return best, found
}

// dropDisprovedByResult drops the associated conditions whose Transient lab
// has a latest in-window result that is judged, and is not abnormal: a
// hypokalemia diagnosis with a normal potassium since is not current. A
// result without a value, or in a unit we cannot convert, disproves nothing.
func (b *Base) dropDisprovedByResult(associated []ConditionFinding, ctx *labContext) []ConditionFinding {
	return slices.DeleteFunc(associated, func(c ConditionFinding) bool {
		tr := c.Condition.Transient
		if tr == nil || tr.Lab == "" {
			return false
		}
		lab := b.labByID[tr.Lab]
		rs := ctx.results[lab]
		if len(rs) == 0 || rs[0].Effective.Before(ctx.asOf.AddDate(0, -lab.Workup.LookbackMonths, 0)) || rs[0].Value == nil {
			return false
		}
		if _, err := lab.ToCanonical(*rs[0].Value); err != nil {
			return false
		}
		_, abnormal := b.judge(lab, rs[0], ctx)
		return !abnormal
	})
}

// draw decides whether the latest result of lab is judged, and which results
// of the same draw it stands for. A lab that defers to another (creatinine to
// eGFR) is not judged when the other has a result of the same draw or later;
// a lab others defer to is not judged when one of them is a later draw.
func (b *Base) draw(wu *Workup, latest map[*Lab]fhir.Observation, lab *Lab) (judged bool, related []ObservationEntry) {
	o := latest[lab]
	if d := b.labByID[lab.DefersTo]; d != nil {
		if od, ok := latest[d]; ok && !od.Effective.Before(o.Effective.Add(-sameDraw)) {
			return false, nil
		}
	}
	for _, other := range wu.Resolved {
		od, ok := latest[other]
		if other.DefersTo != lab.ID || !ok {
			continue
		}
		if od.Effective.After(o.Effective.Add(sameDraw)) {
			return false, nil
		}
		related = append(related, ObservationEntry{Entry: entryOf(od), Observation: od})
	}
	return true, related
}

func entryOf(o fhir.Observation) Entry { return Entry{Ref: o.Ref, Text: ConceptText(o.Code)} }

// later orders results by effective time, then by reference, so that the
// choice among results of the same instant does not depend on record order.
func later(x, y fhir.Observation) bool {
	if !x.Effective.Equal(y.Effective) {
		return x.Effective.After(y.Effective)
	}
	return x.Ref > y.Ref
}

// recommendedBy names what in the record points to a missing work-up test
// (Workup.RecommendWhen): a current drug of a listed class, a listed condition
// present, a listed condition anywhere in the record (history), or an earlier
// result beyond the prior-result threshold.
func (b *Base) recommendedBy(wu *Workup, rec *fhir.Record, ctx *labContext) []Entry {
	r := wu.RecommendWhen
	if r == nil {
		return nil
	}
	var out []Entry
	add := func(e Entry) {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	for _, m := range ctx.meds {
		if slices.Contains(r.DrugClasses, m.Class.ID) {
			for _, e := range m.Entries {
				add(e.Entry)
			}
		}
	}
	for _, id := range r.Conditions {
		for _, e := range ctx.present[b.condByID[id]] {
			add(e.Entry)
		}
	}
	if len(r.History) > 0 {
		var matched []*Condition
		for _, c := range rec.Conditions {
			matched = matched[:0]
			for _, cd := range c.Code.Codings {
				matched = b.AppendConditions(matched, cd)
			}
			for _, kc := range matched {
				if slices.Contains(r.History, kc.ID) {
					add(Entry{Ref: c.Ref, Text: ConceptText(c.Code)})
				}
			}
		}
	}
	if t := r.PriorResult; t != nil {
		for _, lab := range wu.Resolved {
			for _, o := range ctx.results[lab] {
				if o.Value == nil {
					continue
				}
				if v, err := lab.ToCanonical(*o.Value); err == nil && surelyCrossed(*t, o.Value.Comparator, v) {
					add(entryOf(o))
					break // the latest such result is enough
				}
			}
		}
	}
	return out
}
