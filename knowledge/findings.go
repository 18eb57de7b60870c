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
	// beyond a cramp-relevant threshold.
	AbnormalLabs []AbnormalLabFinding
	// MissingLabs: work-up tests with no result inside their look-back window.
	MissingLabs []MissingLabFinding
	// Associated: present conditions the seeds associate with cramps.
	Associated []ConditionFinding
	// Differentials: present conditions that mimic cramps.
	Differentials []ConditionFinding
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
}

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

// ObservationEntry is one result of the record.
type ObservationEntry struct {
	Entry
	Observation fhir.Observation
}

// AbnormalLabFinding is the latest in-window result of an analyte, beyond a
// threshold that matters for cramps.
type AbnormalLabFinding struct {
	Lab    *Lab
	Result ObservationEntry
	// Value is the result in Lab.CanonicalUnit. With a comparator
	// (Result.Observation.Value.Comparator) it is the converted bound.
	Value float64
	// Converted is true when the recorded unit is not the canonical unit.
	Converted bool
	// Threshold is the threshold crossed (its Finding names the abnormality).
	Threshold Threshold
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
}

// Evidence is the citations for ordering the test.
func (f MissingLabFinding) Evidence() []Citation { return f.Workup.Evidence }

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
