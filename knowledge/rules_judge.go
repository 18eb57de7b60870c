package knowledge

import (
	"slices"
	"strings"
	"time"

	"github.com/cramp-cds/cramp-cds/fhir"
)

// This file judges one result: the laboratory's flag and range, our
// thresholds and critical limits, the albumin correction of calcium, and the
// drugs on record that move the analyte. rules_labs.go gathers the results a
// record holds and decides what is missing; knowledge/README.md states each
// rule in words with its source.

// interpretationSystem is the HL7 v3 ObservationInterpretation code system.
const interpretationSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

// labFlag is the laboratory's own interpretation of a result.
type labFlag struct {
	code      string // "N", "L", "LL", "H", "HH", "A", "AA"; "" when none
	direction string // "low", "high" or ""
	critical  bool
}

// flagOf reads the first interpretation the rules understand (v3
// ObservationInterpretation, or a bare code).
func flagOf(cs []fhir.Coding) labFlag {
	for _, c := range cs {
		if c.System != interpretationSystem && c.System != "" {
			continue
		}
		switch c.Code {
		case "N":
			return labFlag{code: "N"}
		case "L", "LU":
			return labFlag{code: c.Code, direction: "low"}
		case "LL":
			return labFlag{code: "LL", direction: "low", critical: true}
		case "H", "HU":
			return labFlag{code: c.Code, direction: "high"}
		case "HH":
			return labFlag{code: "HH", direction: "high", critical: true}
		case "A":
			return labFlag{code: "A"}
		case "AA":
			return labFlag{code: "AA", critical: true}
		}
	}
	return labFlag{}
}

func isLow(op string) bool { return op == "<" || op == "<=" }

// threshold returns our threshold of the lab on a side ("low" or "high") for
// the patient's sex: one for everyone or for that sex, or when the sex is
// unknown the least sensitive sex-specific one (the highest high limit, the
// lowest low limit), so an unknown sex never over-calls.
func (l *Lab) threshold(direction, sex string) (Threshold, bool) {
	var best Threshold
	found := false
	for _, t := range l.Thresholds {
		if isLow(t.Op) != (direction == "low") {
			continue
		}
		switch {
		case t.Sex == "" || t.Sex == sex:
			return t, true
		case sex == "" && (!found || lessSensitive(t, best)):
			best, found = t, true
		}
	}
	return best, found
}

// lessSensitive reports whether t calls fewer results abnormal than u (same side).
func lessSensitive(t, u Threshold) bool {
	if isLow(t.Op) {
		return t.Value < u.Value
	}
	return t.Value > u.Value
}

// ownBound returns the result's own reference-range bound on a side, in the
// lab's canonical unit; a bound without a unit is taken in the result's unit,
// and one we cannot convert tells nothing.
func ownBound(lab *Lab, o fhir.Observation, direction string) (float64, bool) {
	for _, r := range o.ReferenceRange {
		bound := r.High
		if direction == "low" {
			bound = r.Low
		}
		if bound == nil {
			continue
		}
		q := *bound
		if q.Code == "" && q.Unit == "" {
			q.Code, q.Unit = o.Value.Code, o.Value.Unit
		}
		if v, err := lab.ToCanonical(q); err == nil {
			return v, true
		}
	}
	return 0, false
}

// judge decides whether one result is abnormal or critical. In order:
//   - A value beyond one of the lab's critical limits is critical, whatever
//     the laboratory says (its Basis is BasisCriticalLimit).
//   - The laboratory's flag decides when present: N is normal; L/LL low and
//     H/HH high; A/AA abnormal, its side found from the range or our
//     thresholds; LL, HH and AA are critical. For a calcium corrected for
//     albumin the flags (about the measured value) are not used, except that
//     LL, HH and AA still make it critical.
//   - Else the result's own reference range decides on each side it bounds.
//   - Else our threshold on that side decides (a comparator value counts only
//     if every value it allows is beyond).
//
// A non-critical result is reported only on a side we hold a threshold for
// (low potassium matters for cramps, high does not), and not when a condition
// the threshold is KnownBy is present (an HbA1c in the diabetes range with
// diabetes on the problem list). A critical result is reported on any side.
// A result without a value, or in a unit we cannot convert, is never abnormal.
func (b *Base) judge(lab *Lab, o fhir.Observation, ctx *labContext) (AbnormalLabFinding, bool) {
	if o.Value == nil {
		return AbnormalLabFinding{}, false
	}
	measured, err := lab.ToCanonical(*o.Value)
	if err != nil {
		return AbnormalLabFinding{}, false
	}
	a := AbnormalLabFinding{
		Lab:       lab,
		Result:    ObservationEntry{Entry: entryOf(o), Observation: o},
		Value:     measured,
		Converted: !lab.isCanonical(*o.Value),
		Severity:  SeverityAbnormal,
	}
	v := measured
	comparator := o.Value.Comparator
	if lab.NeverCorrected {
		a.Calcium = &CalciumBasis{Ionized: true}
	}
	if c := lab.AlbuminCorrection; c != nil {
		a.Calcium = &CalciumBasis{WithinDays: c.WithinDays}
		if alb, albV, ok := b.nearestAlbumin(c, o, ctx); ok {
			e := &ObservationEntry{Entry: entryOf(alb), Observation: alb}
			a.Calcium.AlbuminValue = albV
			if albV >= c.Reference {
				// The correction is meant for hypoalbuminaemia: with an albumin
				// that is not low the measured value is judged.
				a.Calcium.NormalAlbumin = e
			} else {
				a.Calcium.Albumin = e
				a.Calcium.Corrected = measured + c.Factor*(c.Reference-albV)
				v = a.Calcium.Corrected
				comparator = correctedComparator(comparator, alb.Value.Comparator)
			}
		}
	}
	corrected := a.Calcium != nil && a.Calcium.Albumin != nil

	flag := flagOf(o.Interpretation)
	for _, t := range lab.Critical {
		// A corrected value alone never makes a result critical: the
		// measured value must be beyond the limit too.
		if surelyCrossed(t, comparator, v) && (!corrected || surelyCrossed(t, o.Value.Comparator, measured)) {
			t := t
			a.Critical, a.Severity, a.Basis = &t, SeverityCritical, BasisCriticalLimit
			a.Direction, a.Finding = direction(t), t.Finding
			break
		}
	}
	if a.Critical == nil {
		if flag.critical {
			a.Severity = SeverityCritical
		}
		dir, basis, ok := decide(lab, o, v, comparator, flag, corrected, ctx.patient.sex)
		if !ok && !flag.critical {
			return AbnormalLabFinding{}, false
		}
		if !ok { // a critical flag the value does not explain: trust the laboratory
			dir, basis = flag.direction, BasisFlag
		}
		a.Direction, a.Basis = dir, basis
	}
	t, onThresholdSide := lab.threshold(a.Direction, ctx.patient.sex)
	if onThresholdSide {
		a.Threshold = t
	}
	if a.Severity != SeverityCritical {
		if !onThresholdSide {
			return AbnormalLabFinding{}, false
		}
		if t.Strict && !surelyCrossed(t, comparator, v) {
			return AbnormalLabFinding{}, false
		}
		for _, id := range t.KnownBy {
			if _, known := ctx.present[b.condByID[id]]; known {
				return AbnormalLabFinding{}, false
			}
		}
	}
	if a.Finding == "" {
		a.Finding = findingName(lab, a, t, onThresholdSide, v, comparator)
	}
	if lab.Chronic != nil && a.Direction == "low" {
		a.Chronic = b.chronic(lab, o, ctx)
	}
	a.SuspectedDrugs = suspects(lab, a.Direction, ctx.meds)
	a.OtherDrugs = movingDrugs(lab, a.Direction, ctx)
	return a, true
}

// movingDrugs returns the current medications of the record that one of the
// lab's MovedBy groups names for that side: by an ATC code under one of its
// prefixes, or by one of its names as a word of the medication's text or
// codings' displays. Each medication once, in record order.
func movingDrugs(lab *Lab, direction string, ctx *labContext) []Entry {
	if len(lab.MovedBy) == 0 || ctx.record == nil || direction == "" {
		return nil
	}
	var out []Entry
	for _, m := range ctx.record.Medications {
		if !m.ActiveAt(ctx.asOf) {
			continue
		}
		for _, g := range lab.MovedBy {
			if g.Direction == direction && drugIn(g, m.Drug) {
				out = append(out, Entry{Ref: m.Ref, Text: ConceptText(m.Drug)})
				break
			}
		}
	}
	return out
}

// drugIn reports whether a medication concept belongs to the group g.
func drugIn(g LabDrugs, c fhir.Concept) bool {
	texts := []string{c.Text}
	for _, cd := range c.Codings {
		if systemOf(cd.System) == sysATC {
			for _, p := range g.ATC {
				if strings.HasPrefix(cd.Code, p) {
					return true
				}
			}
		}
		texts = append(texts, cd.Display)
	}
	return slices.ContainsFunc(texts, func(t string) bool { return hasWord(t, g.Names) })
}

// decide finds the abnormal side of a result from the laboratory's flag, its
// range, or our thresholds, in that order (see judge).
func decide(lab *Lab, o fhir.Observation, v float64, comparator string, flag labFlag, corrected bool, sex string) (string, Basis, bool) {
	if corrected && flag.code == "N" {
		// The laboratory called the measured value normal; a correction,
		// which only raises it, never makes it low.
		return "", 0, false
	}
	if !corrected && flag.code != "" {
		switch {
		case flag.code == "N":
			return "", 0, false
		case flag.direction != "":
			return flag.direction, BasisFlag, true
		}
		// A or AA: the side from the range or our thresholds.
		if dir, _, ok := beyond(lab, o, v, comparator, sex); ok {
			return dir, BasisFlag, true
		}
		return "", BasisFlag, flag.critical
	}
	return beyond(lab, o, v, comparator, sex)
}

// beyond checks each side against the result's own bound, else our threshold.
func beyond(lab *Lab, o fhir.Observation, v float64, comparator string, sex string) (string, Basis, bool) {
	for _, dir := range []string{"low", "high"} {
		if bound, ok := ownBound(lab, o, dir); ok {
			t := Threshold{Op: "<", Value: bound}
			if dir == "high" {
				t.Op = ">"
			}
			if surelyCrossed(t, comparator, v) {
				return dir, BasisReferenceRange, true
			}
			continue
		}
		if t, ok := lab.threshold(dir, sex); ok && surelyCrossed(t, comparator, v) {
			return dir, BasisThreshold, true
		}
	}
	return "", 0, false
}

func direction(t Threshold) string {
	if isLow(t.Op) {
		return "low"
	}
	return "high"
}

// findingName names the abnormality: our threshold's finding when the value
// is beyond it too, else the lab's side in words.
func findingName(lab *Lab, a AbnormalLabFinding, t Threshold, haveT bool, v float64, comparator string) string {
	if haveT && surelyCrossed(t, comparator, v) {
		return t.Finding
	}
	switch {
	case a.Severity == SeverityCritical && a.Direction == "low":
		return "critically low " + lowerFirst(lab.Name)
	case a.Severity == SeverityCritical && a.Direction == "high":
		return "critically high " + lowerFirst(lab.Name)
	case a.Severity == SeverityCritical:
		return "critical " + lowerFirst(lab.Name)
	case a.Direction == "low":
		return lowerFirst(lab.Name) + " below the laboratory's reference range"
	default:
		return lowerFirst(lab.Name) + " above the laboratory's reference range"
	}
}

// lowerFirst lowercases the first letter of a name unless its first word is
// an abbreviation ("TSH", "HbA1c", "eGFR"): only a capital followed by
// lower-case letters is lowered.
func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	for i := 1; i < len(s) && s[i] != ' '; i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return s
		}
	}
	return string(s[0]+'a'-'A') + s[1:]
}

// correctedComparator is the comparator of a calcium corrected with an
// albumin that has one. An albumin below its bound ("<1.5") makes the
// corrected value at least what the bound gives (">"); a calcium with a
// comparator of its own the other way leaves nothing sure ("?", never beyond
// any limit).
func correctedComparator(calcium, albumin string) string {
	switch albumin {
	case "":
		return calcium
	case "<", "<=":
		bound := ">="
		if albumin == "<" {
			bound = ">"
		}
		switch calcium {
		case "":
			return bound
		case ">", ">=":
			return calcium
		}
		return "?"
	}
	// An albumin above a bound: the corrected value is at most the bound's.
	bound := "<="
	if albumin == ">" {
		bound = "<"
	}
	switch calcium {
	case "":
		return bound
	case "<", "<=":
		return calcium
	}
	return "?"
}

// nearestAlbumin finds the albumin result closest in time to a calcium
// result, within the correction's window either side, converted to g/dL. An
// albumin with a comparator ("<1.5") counts with its bound.
func (b *Base) nearestAlbumin(c *AlbuminCorrection, ca fhir.Observation, ctx *labContext) (fhir.Observation, float64, bool) {
	albLab := b.labByID[c.Albumin]
	window := time.Duration(c.WithinDays) * 24 * time.Hour
	var best fhir.Observation
	var bestV float64
	found := false
	for _, o := range ctx.results[albLab] {
		if o.Value == nil {
			continue
		}
		d := o.Effective.Sub(ca.Effective).Abs()
		if d > window {
			continue
		}
		v, err := albLab.ToCanonical(*o.Value)
		if err != nil || v <= 0 {
			continue
		}
		if !found || d < best.Effective.Sub(ca.Effective).Abs() {
			best, bestV, found = o, v, true
		}
	}
	return best, bestV, found
}

// chronic decides whether a reduced result is chronic disease: a coded
// diagnosis present, or an earlier reduced result at least Months before with
// none normal between.
func (b *Base) chronic(lab *Lab, latest fhir.Observation, ctx *labContext) *ChronicBasis {
	ch := lab.Chronic
	for _, id := range ch.Conditions {
		if es, ok := ctx.present[b.condByID[id]]; ok {
			return &ChronicBasis{Finding: ch.Finding, Diagnosis: &es[0]}
		}
	}
	t, ok := lab.threshold("low", ctx.patient.sex)
	if !ok {
		return nil
	}
	for _, o := range ctx.results[lab] {
		if !o.Effective.Before(latest.Effective) || o.Value == nil {
			continue
		}
		v, err := lab.ToCanonical(*o.Value)
		if err != nil {
			continue
		}
		if !surelyCrossed(t, o.Value.Comparator, v) {
			return nil // a normal result between: not persistent
		}
		if !o.Effective.AddDate(0, ch.Months, 0).After(latest.Effective) {
			return &ChronicBasis{Finding: ch.Finding, Earlier: &ObservationEntry{Entry: entryOf(o), Observation: o}}
		}
	}
	return nil
}

// suspects returns the current drugs whose class is known to move the lab to
// that side.
func suspects(lab *Lab, direction string, meds []MedicationFinding) []MedicationFinding {
	var out []MedicationFinding
	for _, m := range meds {
		for _, e := range m.Class.LabEffects {
			if e.Lab == lab.ID && e.Direction == direction {
				out = append(out, m)
				break
			}
		}
	}
	return out
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

// isCanonical reports whether q is recorded in the lab's canonical unit.
func (l *Lab) isCanonical(q fhir.Quantity) bool {
	u, ok := l.unit(q.Code)
	if !ok {
		u, ok = l.unit(q.Unit)
	}
	return ok && u.Code == l.CanonicalUnit
}
