package knowledge

import (
	"time"

	"github.com/cramp-cds/cramp-cds/fhir"
)

// Findings are what the rules found in one patient's record as of one time.
// Every finding names the record entries it is about; none is made from
// nothing. Each list is in a stable order (knowledge data order, then record
// order), so the same record and time always give the same Findings.
type Findings struct {
	AsOf time.Time
	// Age is the patient's age in whole years at AsOf, -1 when unknown.
	Age int
	// UnderAge is true when the rules kept silent because the patient is
	// younger than AdultAge and Options.AllAges is off.
	UnderAge bool
	// Deceased is true when the rules kept silent because the patient has
	// died: Patient.deceasedBoolean true, or a deceasedDateTime on or
	// before AsOf.
	Deceased bool
	// Triggered is true when the rules spoke: the patient has a present
	// leg-cramp condition, or screening was on. When false every list below
	// is empty.
	Triggered bool
	// Triggers are the present leg-cramp conditions of the record (possibly
	// none in screening mode).
	Triggers []ConditionEntry
	// Medications: current drugs that can cause cramps, one finding per
	// ingredient (or per class when only an ATC class root is known).
	Medications []MedicationFinding
	// AbnormalLabs: per analyte, the latest in-window result when it is
	// abnormal on a cramp-relevant side, or critical on any side; critical
	// findings first, then data order. A work-up with several analytes of one
	// draw (creatinine and eGFR) gives one finding.
	AbnormalLabs []AbnormalLabFinding
	// MissingLabs: work-up tests with no result inside their look-back window.
	MissingLabs []MissingLabFinding
	// PendingLabs: work-up tests with no result inside their look-back
	// window but a pending one (registered, preliminary or partial): they
	// are not missing and are not to be ordered again.
	PendingLabs []PendingLabFinding
	// Associated: present conditions the seeds associate with cramps.
	Associated []ConditionFinding
	// Differentials: present conditions that mimic cramps.
	Differentials []ConditionFinding
	// DrugWarnings: current medications warned against for leg cramps
	// (quinine), one finding per warning.
	DrugWarnings []DrugWarningFinding
}

// DrugWarningFinding is a drug warned against, with the record's current
// entries holding it.
type DrugWarningFinding struct {
	Warning *DrugWarning
	Entries []Entry
}

// Entry names one entry of the patient's record.
type Entry struct {
	// Ref is the entry's relative reference, e.g. "MedicationRequest/42" ("" if the resource had no id).
	Ref string
	// Text is how the record names it: the concept's text, else its first
	// coding's display, else its first code.
	Text string
}

// MedicationEntry is one current medication entry holding a cramp-inducing drug.
type MedicationEntry struct {
	Entry
	Medication fhir.Medication
	// Match says how the drug was recognised in this entry.
	Match MedicationMatch
	// LastTaken is set when the entry counts only because it was given
	// recently (an infusion within DrugClass.RecentDays); zero for a current entry.
	LastTaken time.Time
}

// UnconfirmedCode reports whether the entry was recognised through a code
// (RxNorm or ATC) that the data marks unverified: a card should say the
// code is unconfirmed for this entry. A match by name is not one (see
// MedicationMatch.LowConfidence).
func (e MedicationEntry) UnconfirmedCode() bool { return e.Match.UnverifiedCode }

// MedicationFinding is one cramp-inducing ingredient (or class) the patient
// currently takes, with every record entry that holds it: a combination
// product appears under each of its cramp-inducing ingredients.
type MedicationFinding struct {
	Class *DrugClass
	// Ingredient is nil when only the class is known (an ATC code under a class root).
	Ingredient *Ingredient
	Entries    []MedicationEntry
}

// Key identifies the finding among a record's medication findings: the
// ingredient id, or "class:" and the class id.
func (f MedicationFinding) Key() string {
	if f.Ingredient != nil {
		return f.Ingredient.ID
	}
	return "class:" + f.Class.ID
}

// LowConfidence reports whether every entry was recognised only by its name
// or through an unverified code: a card should say so.
func (f MedicationFinding) LowConfidence() bool {
	for _, e := range f.Entries {
		if !e.Match.LowConfidence {
			return false
		}
	}
	return true
}

// Evidence is the citations that make the drug cramp-inducing.
func (f MedicationFinding) Evidence() []Citation { return f.Class.Evidence }

// Strength is the strength of evidence of the drug's class.
func (f MedicationFinding) Strength() Strength { return f.Class.Strength }

// MayRemove reports whether a card may propose stopping or removing the drug:
// only for a strongly associated class that the seeds do not also list as a
// treatment for cramps.
func (f MedicationFinding) MayRemove() bool { return f.Class.MayRemove() }

// MayRemove reports whether a card may propose removing a drug of the class:
// strong evidence, and not also a cramp treatment (calcium channel blockers).
func (c *DrugClass) MayRemove() bool {
	return c.Strength == StrengthStrong && len(c.AlsoTreatment) == 0
}

// ObservationEntry is one result of the record.
type ObservationEntry struct {
	Entry
	Observation fhir.Observation
}

// Severity is how urgent an abnormal result is.
type Severity uint8

// The severities, least urgent first.
const (
	// SeverityAbnormal: beyond the reference range or our threshold.
	SeverityAbnormal Severity = iota + 1
	// SeverityCritical: a critical value (the laboratory's LL, HH or AA, or
	// beyond one of the lab's critical limits).
	SeverityCritical
)

// String returns "abnormal" or "critical".
func (s Severity) String() string {
	if s == SeverityCritical {
		return "critical"
	}
	return "abnormal"
}

// Basis says what decided that a result is abnormal.
type Basis uint8

// The bases, in the order they are consulted.
const (
	// BasisFlag: the laboratory's own interpretation (L, LL, H, HH, A, AA).
	BasisFlag Basis = iota + 1
	// BasisReferenceRange: outside the result's own reference range.
	BasisReferenceRange
	// BasisThreshold: beyond our threshold (the lab gave neither flag nor range).
	BasisThreshold
	// BasisCriticalLimit: beyond one of our critical limits, whatever the laboratory says.
	BasisCriticalLimit
)

// String returns "flag", "reference range", "threshold" or "critical limit".
func (b Basis) String() string {
	switch b {
	case BasisFlag:
		return "flag"
	case BasisReferenceRange:
		return "reference range"
	case BasisThreshold:
		return "threshold"
	case BasisCriticalLimit:
		return "critical limit"
	}
	return "unknown"
}

// AbnormalLabFinding is the latest in-window result of an analyte that is
// abnormal on a side that matters for cramps, or critical on any side.
type AbnormalLabFinding struct {
	Lab    *Lab
	Result ObservationEntry
	// Value is the result in Lab.CanonicalUnit, as measured (before any
	// albumin correction). With a comparator
	// (Result.Observation.Value.Comparator) it is the converted bound.
	Value float64
	// Converted is true when the recorded unit is not the canonical unit.
	Converted bool
	// Direction is "low" or "high"; "" when only the laboratory's A or AA says it is abnormal.
	Direction string
	// Severity is SeverityCritical for a critical value, else SeverityAbnormal.
	Severity Severity
	// Basis says what decided it.
	Basis Basis
	// Finding names the abnormality ("hypokalemia", "reduced eGFR", ...).
	Finding string
	// Threshold is our threshold on the result's side (its Finding, Op and
	// Value); zero when the lab has none on that side (a critical high potassium).
	Threshold Threshold
	// Critical is the critical limit crossed, nil when none is (the flag may still make it critical).
	Critical *Threshold
	// Calcium says which calcium was judged: set for total and ionized calcium.
	Calcium *CalciumBasis
	// Related are results of the same draw folded into this finding (the
	// creatinine behind an eGFR): one finding per result set.
	Related []ObservationEntry
	// Chronic is set when a reduced eGFR is chronic kidney disease (Lab.Chronic).
	Chronic *ChronicBasis
	// SuspectedDrugs are the patient's current drugs whose class is known to
	// cause this abnormality (a diuretic with low potassium).
	SuspectedDrugs []MedicationFinding
	// OtherDrugs are the patient's current medications, outside the
	// cramp-inducing classes, known to move the analyte to this side
	// (Lab.MovedBy: an ACE inhibitor with high potassium).
	OtherDrugs []Entry
}

// JudgedValue is the value that was judged: the corrected calcium when an
// albumin correction was applied, else Value.
func (f AbnormalLabFinding) JudgedValue() float64 {
	if f.Calcium != nil && f.Calcium.Albumin != nil {
		return f.Calcium.Corrected
	}
	return f.Value
}

// CalciumBasis says which calcium a finding judged.
type CalciumBasis struct {
	// Ionized is true for ionized calcium, which is never corrected.
	Ionized bool
	// Albumin is the albumin result used for the correction; nil when the
	// total calcium was judged as measured (no albumin within WithinDays).
	Albumin *ObservationEntry
	// NormalAlbumin is an albumin within WithinDays that is not low (at or
	// above the correction's reference, 4.0 g/dL): the correction is meant for
	// hypoalbuminaemia, so the measured value was judged.
	NormalAlbumin *ObservationEntry
	// AlbuminValue is the albumin (Albumin or NormalAlbumin) in g/dL; with a
	// comparator, its bound.
	AlbuminValue float64
	// Corrected is measured + factor x (reference - albumin), in mg/dL.
	Corrected float64
	// WithinDays is the pairing window the albumin had to fall in.
	WithinDays int
}

// ChronicBasis is what makes a reduced eGFR chronic kidney disease.
type ChronicBasis struct {
	// Finding names it (Lab.Chronic.Finding).
	Finding string
	// Earlier is an earlier reduced result at least Lab.Chronic.Months
	// before, with none normal between; nil when a diagnosis decided.
	Earlier *ObservationEntry
	// Diagnosis is the coded CKD or ESRD entry present in the record; nil when the results decided.
	Diagnosis *ConditionEntry
}

// Evidence is the citations for checking this analyte in cramps (its work-up's evidence).
func (f AbnormalLabFinding) Evidence() []Citation { return f.Lab.Workup.Evidence }

// MissingLabFinding is a work-up test with no result in its look-back window.
type MissingLabFinding struct {
	Workup *Workup
	// Since is the start of the window: a result effective at or after Since
	// (and not after AsOf) would have satisfied the work-up.
	Since time.Time
	// Last is the most recent result of the work-up before the window, nil
	// when the record holds none.
	Last *ObservationEntry
	// Recommended is true when something in the record points to this test
	// for this patient (Workup.RecommendWhen); RecommendedBy names what.
	Recommended   bool
	RecommendedBy []Entry
	// Ordered is an order of the test still on its way (of its own code or of
	// a panel covering it), nil when none: the test is then not proposed again.
	Ordered *ServiceRequestEntry
}

// ServiceRequestEntry is one order of a test in the record.
type ServiceRequestEntry struct {
	Entry
	ServiceRequest fhir.ServiceRequest
}

// Evidence is the citations for ordering the test.
func (f MissingLabFinding) Evidence() []Citation { return f.Workup.Evidence }

// PendingLabFinding is a work-up test whose only in-window result is still
// pending: the latest such entry, with its status and date.
type PendingLabFinding struct {
	Workup *Workup
	// Result is the latest pending entry (Result.Observation.Status says
	// which status, Result.Observation.Effective when).
	Result ObservationEntry
}

// ConditionEntry is one condition entry of the record.
type ConditionEntry struct {
	Entry
	Condition fhir.Condition
}

// ConditionFinding is one associated condition or differential of the
// knowledge base with the present record entries that code for it.
type ConditionFinding struct {
	Condition *Condition
	Entries   []ConditionEntry
}

// Evidence is the citations for the finding: the condition's evidence for an
// associated condition, and its distinguishing features' evidence for a
// differential.
func (f ConditionFinding) Evidence(differential bool) []Citation {
	if !differential || f.Condition.Differential == nil {
		return f.Condition.Evidence
	}
	var cs []Citation
	for _, s := range f.Condition.Differential.Features {
		cs = append(cs, s.Evidence...)
	}
	if q := f.Condition.Differential.Question; q != nil {
		cs = append(cs, q.Evidence...)
	}
	return cs
}
