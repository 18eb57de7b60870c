package knowledge

import (
	"cmp"
	"slices"
	"time"

	"github.com/cramp-cds/cramp-cds/fhir"
)

// This file holds the rules: pure functions of a Record and an "as of" time
// that return Findings. They never format text (cards do) and never read the
// clock (the caller passes the time).

// Options tune the rules.
type Options struct {
	// Screening makes the rules speak for every patient (--trigger=always).
	// Without it they speak only for a patient with a present leg-cramp
	// condition (one of the trigger codes).
	Screening bool
}

// Evaluate applies every rule to rec as of asOf.
//
// Decisions a reviewer should know (tests pin each one):
//   - Medications: only entries ActiveAt(asOf) (status active, a real
//     prescription, started, not ended) are considered; stopped, completed,
//     on-hold, entered-in-error and not-taken entries never are.
//   - A work-up is missing when none of its analytes has a result effective
//     in [asOf - LookbackMonths, asOf] (both ends included; a result dated
//     after asOf does not count). Any kept result counts, with or without a
//     numeric value: we never suggest an order the record shows was done.
//   - Abnormal: per analyte, only the latest in-window result is judged. It is
//     abnormal when, converted to the canonical unit, it is beyond one of the
//     analyte's thresholds (which say what matters for cramps: low potassium,
//     not high). A result whose unit we cannot convert, or that has no numeric
//     value, is never called abnormal. A comparator value ("<0.5") is
//     abnormal only if every value it allows is beyond the threshold. The
//     result's own laboratory has the last word against us, never for us: a
//     result interpreted as normal (N), or inside its own reference range on
//     the side of the threshold, is not called abnormal; an "L" or "H" flag
//     alone never makes a result abnormal.
//   - Conditions count when PresentAt(asOf).
func (b *Base) Evaluate(rec *fhir.Record, asOf time.Time, opts Options) Findings {
	f := Findings{AsOf: asOf}
	if rec == nil {
		return f
	}
	f.Triggers = b.TriggerEntries(rec, asOf)
	if len(f.Triggers) == 0 && !opts.Screening {
		return f
	}
	f.Triggered = true
	f.Medications = b.MedicationFindings(rec, asOf)
	f.AbnormalLabs, f.MissingLabs = b.labFindings(rec, asOf)
	f.Associated, f.Differentials = b.conditionFindings(rec, asOf)
	return f
}

// ConceptText is how the record names a concept: its text, else its first
// coding's display, else its first code; "" when it has none.
func ConceptText(c fhir.Concept) string {
	if c.Text != "" {
		return c.Text
	}
	for _, cd := range c.Codings {
		if cd.Display != "" {
			return cd.Display
		}
	}
	for _, cd := range c.Codings {
		if cd.Code != "" {
			return cd.Code
		}
	}
	return ""
}

// TriggerEntries returns the record's leg-cramp conditions present at asOf
// (Findings.Triggers): the rule the order hooks need, without the others.
func (b *Base) TriggerEntries(rec *fhir.Record, asOf time.Time) []ConditionEntry {
	var out []ConditionEntry
	for _, c := range rec.Conditions {
		if !c.PresentAt(asOf) {
			continue
		}
		if slices.ContainsFunc(c.Code.Codings, b.IsTrigger) {
			out = append(out, ConditionEntry{Entry: Entry{Ref: c.Ref, Text: ConceptText(c.Code)}, Condition: c})
		}
	}
	return out
}

// MedicationFindings returns the cramp-inducing drugs the record shows the
// patient taking at asOf (Findings.Medications), whatever the trigger.
func (b *Base) MedicationFindings(rec *fhir.Record, asOf time.Time) []MedicationFinding {
	var out []MedicationFinding
	for _, m := range rec.Medications {
		if !m.ActiveAt(asOf) {
			continue
		}
		text := ConceptText(m.Drug)
		if text == "" && len(m.Ingredients) > 0 {
			text = ConceptText(m.Ingredients[0])
		}
		for _, match := range b.MatchMedication(m.Drug, m.Ingredients...) {
			entry := MedicationEntry{Entry: Entry{Ref: m.Ref, Text: text}, Medication: m, Match: match}
			i := slices.IndexFunc(out, func(f MedicationFinding) bool {
				return f.Ingredient == match.Ingredient && f.Class == match.Class
			})
			if i < 0 {
				out = append(out, MedicationFinding{Class: match.Class, Ingredient: match.Ingredient})
				i = len(out) - 1
			}
			out[i].Entries = append(out[i].Entries, entry)
		}
	}
	// Data order (class, then ingredient), as MatchMedication orders one medication's matches.
	slices.SortStableFunc(out, func(x, y MedicationFinding) int {
		if c := cmp.Compare(b.classOrder[x.Class], b.classOrder[y.Class]); c != 0 {
			return c
		}
		return cmp.Compare(b.ingRank(x.Ingredient), b.ingRank(y.Ingredient))
	})
	return out
}

// labResult is one result of the record with the analyte it measures.
type labResult struct {
	lab *Lab
	obs fhir.Observation
}

// labFindings finds, per work-up, whether it is missing, and per analyte
// whether its latest in-window result is abnormal.
func (b *Base) labFindings(rec *fhir.Record, asOf time.Time) (abnormal []AbnormalLabFinding, missing []MissingLabFinding) {
	var results []labResult
	for _, o := range rec.Observations {
		for _, cd := range o.Code.Codings {
			if lab := b.LabFor(cd); lab != nil {
				results = append(results, labResult{lab: lab, obs: o})
				break
			}
		}
	}
	for _, wu := range b.workups {
		since := asOf.AddDate(0, -wu.LookbackMonths, 0)
		satisfied := false
		var last *fhir.Observation
		for _, lab := range wu.Resolved {
			var latest *fhir.Observation
			for i := range results {
				r := &results[i]
				if r.lab != lab || r.obs.Effective.IsZero() {
					continue
				}
				switch {
				case r.obs.Effective.After(asOf.Add(fhir.ClockSkew)):
					// Not yet, as of asOf.
				case r.obs.Effective.Before(since):
					if last == nil || later(r.obs, *last) {
						last = &r.obs
					}
				default:
					if latest == nil || later(r.obs, *latest) {
						latest = &r.obs
					}
				}
			}
			if latest == nil {
				continue
			}
			satisfied = true
			if f, ok := assess(lab, *latest); ok {
				abnormal = append(abnormal, f)
			}
		}
		if !satisfied {
			m := MissingLabFinding{Workup: wu, Since: since}
			if last != nil {
				m.Last = &ObservationEntry{Entry: Entry{Ref: last.Ref, Text: ConceptText(last.Code)}, Observation: *last}
			}
			missing = append(missing, m)
		}
	}
	return abnormal, missing
}

// later orders results by effective time, then by reference, so that the
// choice among results of the same instant does not depend on record order.
func later(x, y fhir.Observation) bool {
	if !x.Effective.Equal(y.Effective) {
		return x.Effective.After(y.Effective)
	}
	return x.Ref > y.Ref
}

// assess decides whether one result is abnormal (see Evaluate for the rules).
func assess(lab *Lab, o fhir.Observation) (AbnormalLabFinding, bool) {
	if o.Value == nil || interpretedNormal(o.Interpretation) {
		return AbnormalLabFinding{}, false
	}
	v, err := lab.ToCanonical(*o.Value)
	if err != nil {
		return AbnormalLabFinding{}, false
	}
	for _, t := range lab.Thresholds {
		if !surelyCrossed(t, o.Value.Comparator, v) || insideOwnRange(lab, t, o, v) {
			continue
		}
		return AbnormalLabFinding{
			Lab:       lab,
			Result:    ObservationEntry{Entry: Entry{Ref: o.Ref, Text: ConceptText(o.Code)}, Observation: o},
			Value:     v,
			Converted: !lab.isCanonical(*o.Value),
			Threshold: t,
		}, true
	}
	return AbnormalLabFinding{}, false
}

// surelyCrossed reports whether every value a result allows is beyond t: the
// value itself without a comparator; with one, the whole half-line it names.
// Unit conversions are increasing, so a converted bound keeps its direction.
func surelyCrossed(t Threshold, comparator string, v float64) bool {
	switch comparator {
	case "":
		return t.Crossed(v)
	case "<", "<=":
		switch t.Op {
		case "<":
			// x < v (or x <= v) is below t.Value for every x only when v is.
			return v < t.Value || (comparator == "<" && v == t.Value)
		case "<=":
			return v <= t.Value
		}
	case ">", ">=":
		switch t.Op {
		case ">":
			return v > t.Value || (comparator == ">" && v == t.Value)
		case ">=":
			return v >= t.Value
		}
	}
	return false
}

// interpretationSystem is the HL7 v3 ObservationInterpretation code system.
const interpretationSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

// interpretedNormal reports whether the laboratory interpreted the result as normal.
func interpretedNormal(cs []fhir.Coding) bool {
	for _, c := range cs {
		if c.Code == "N" && (c.System == interpretationSystem || c.System == "") {
			return true
		}
	}
	return false
}

// insideOwnRange reports whether the result lies inside its own reference
// range on the side t is about (the low bound for "<" thresholds, the high
// bound for ">" ones). A bound without a unit is taken in the result's unit;
// a bound we cannot convert tells us nothing.
func insideOwnRange(lab *Lab, t Threshold, o fhir.Observation, v float64) bool {
	low := t.Op == "<" || t.Op == "<="
	for _, r := range o.ReferenceRange {
		bound := r.High
		if low {
			bound = r.Low
		}
		if bound == nil {
			continue
		}
		q := *bound
		if q.Code == "" && q.Unit == "" {
			q.Code, q.Unit = o.Value.Code, o.Value.Unit
		}
		bv, err := lab.ToCanonical(q)
		if err != nil {
			continue
		}
		if (low && v >= bv) || (!low && v <= bv) {
			return true
		}
	}
	return false
}

// isCanonical reports whether q is recorded in the lab's canonical unit.
func (l *Lab) isCanonical(q fhir.Quantity) bool {
	u, ok := l.unit(q.Code)
	if !ok {
		u, ok = l.unit(q.Unit)
	}
	return ok && u.Code == l.CanonicalUnit
}

// conditionFindings groups the present conditions of the record by the
// associated conditions and differentials of the base they code for.
func (b *Base) conditionFindings(rec *fhir.Record, asOf time.Time) (associated, differentials []ConditionFinding) {
	found := map[*Condition][]ConditionEntry{}
	var matched []*Condition
	for _, c := range rec.Conditions {
		if !c.PresentAt(asOf) {
			continue
		}
		matched = matched[:0]
		for _, cd := range c.Code.Codings {
			matched = b.AppendConditions(matched, cd)
		}
		for _, kc := range matched {
			found[kc] = append(found[kc], ConditionEntry{Entry: Entry{Ref: c.Ref, Text: ConceptText(c.Code)}, Condition: c})
		}
	}
	for _, kc := range b.conditions { // data order
		entries, ok := found[kc]
		if !ok {
			continue
		}
		if kc.Associated {
			associated = append(associated, ConditionFinding{Condition: kc, Entries: entries})
		}
		if kc.Differential != nil {
			differentials = append(differentials, ConditionFinding{Condition: kc, Entries: entries})
		}
	}
	return associated, differentials
}
