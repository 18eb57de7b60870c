package fhir

import (
	"encoding/json"
	"errors"
	"fmt"

	models "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// errDropped marks a resource that decoded fine but whose status says it did
// not happen (or is not a result); its message is the Skipped reason.
type errDropped struct{ reason string }

func (e errDropped) Error() string { return e.reason }

// decodeInto decodes raw into a golang-fhir-models type, keeping the error
// short: it becomes a Skipped reason.
func decodeInto[T any](raw json.RawMessage) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("does not decode as FHIR R4: %s", shorten(err.Error()))
	}
	return v, nil
}

func shorten(s string) string {
	const max = 160
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

func normalisePatient(raw json.RawMessage) (*Patient, error) {
	p, err := decodeInto[models.Patient](raw)
	if err != nil {
		return nil, err
	}
	out := &Patient{Ref: relRef("Patient", p.Id)}
	if p.BirthDate != nil {
		if _, _, err := parseDateTime(*p.BirthDate); err != nil {
			return nil, fmt.Errorf("birthDate: %w", err)
		}
		out.BirthDate = *p.BirthDate
	}
	if p.Gender != nil {
		out.Gender = p.Gender.Code()
	}
	switch {
	case p.DeceasedDateTime != nil:
		if out.DeceasedAt, err = startOf(p.DeceasedDateTime); err != nil {
			return nil, fmt.Errorf("deceasedDateTime: %w", err)
		}
		out.Deceased = true
	case p.DeceasedBoolean != nil:
		out.Deceased = *p.DeceasedBoolean
	}
	return out, nil
}

// drugSource is where a medication entry names its drug: a concept, or a
// reference that the caller must resolve to a Medication.
type drugSource struct {
	concept   models.CodeableConcept
	reference string // "" when the concept is used
	display   string
}

func (d drugSource) hasConcept() bool {
	return len(d.concept.Coding) > 0 || d.concept.Text != nil
}

func drugOf(cc models.CodeableConcept, ref models.Reference) (drugSource, error) {
	if ref.Reference != nil && *ref.Reference != "" {
		d := drugSource{reference: *ref.Reference}
		if ref.Display != nil {
			d.display = *ref.Display
		}
		return d, nil
	}
	d := drugSource{concept: cc}
	if !d.hasConcept() {
		return d, errors.New("names no medication (neither medicationCodeableConcept nor medicationReference)")
	}
	return d, nil
}

// medicationEntry is a medication entry before its drug is resolved.
type medicationEntry struct {
	med  Medication
	drug drugSource
}

func normaliseMedicationRequest(raw json.RawMessage) (medicationEntry, error) {
	r, err := decodeInto[models.MedicationRequest](raw)
	if err != nil {
		return medicationEntry{}, err
	}
	if requestNeverHappened[r.Status] {
		return medicationEntry{}, errDropped{"status " + r.Status}
	}
	if r.DoNotPerform != nil && *r.DoNotPerform {
		// A "do not give this drug" order must never read as the patient taking it.
		return medicationEntry{}, errDropped{"doNotPerform request"}
	}
	m := Medication{Ref: relRef("MedicationRequest", r.Id), Status: r.Status, Intent: r.Intent}
	if m.Asserted, err = startOf(r.AuthoredOn); err != nil {
		return medicationEntry{}, fmt.Errorf("authoredOn: %w", err)
	}
	if dr := r.DispenseRequest; dr != nil && dr.ValidityPeriod != nil {
		if m.Effective, err = periodOf(dr.ValidityPeriod); err != nil {
			return medicationEntry{}, fmt.Errorf("dispenseRequest.validityPeriod: %w", err)
		}
	}
	drug, err := drugOf(r.MedicationCodeableConcept, r.MedicationReference)
	return medicationEntry{med: m, drug: drug}, err
}

func normaliseMedicationStatement(raw json.RawMessage) (medicationEntry, error) {
	s, err := decodeInto[models.MedicationStatement](raw)
	if err != nil {
		return medicationEntry{}, err
	}
	if statementNeverHappened[s.Status] {
		return medicationEntry{}, errDropped{"status " + s.Status}
	}
	m := Medication{Ref: relRef("MedicationStatement", s.Id), Status: s.Status}
	if m.Asserted, err = startOf(s.DateAsserted); err != nil {
		return medicationEntry{}, fmt.Errorf("dateAsserted: %w", err)
	}
	switch {
	case s.EffectivePeriod != nil:
		m.Effective, err = periodOf(s.EffectivePeriod)
	case s.EffectiveDateTime != nil:
		// A single time is when taking started (or was observed); the end stays open.
		m.Effective.Start, err = startOf(s.EffectiveDateTime)
	}
	if err != nil {
		return medicationEntry{}, fmt.Errorf("effective: %w", err)
	}
	drug, err := drugOf(s.MedicationCodeableConcept, s.MedicationReference)
	return medicationEntry{med: m, drug: drug}, err
}

func normaliseMedicationAdministration(raw json.RawMessage) (medicationEntry, error) {
	a, err := decodeInto[models.MedicationAdministration](raw)
	if err != nil {
		return medicationEntry{}, err
	}
	if administrationNeverHappened[a.Status] {
		return medicationEntry{}, errDropped{"status " + a.Status}
	}
	m := Medication{Ref: relRef("MedicationAdministration", a.Id), Status: a.Status}
	switch {
	case a.EffectivePeriod.Start != nil || a.EffectivePeriod.End != nil:
		m.Effective, err = periodOf(&a.EffectivePeriod)
	case a.EffectiveDateTime != "":
		// One instant: the drug was given then.
		m.Effective.Start, err = startOf(&a.EffectiveDateTime)
		m.Effective.End = m.Effective.Start
	}
	if err != nil {
		return medicationEntry{}, fmt.Errorf("effective: %w", err)
	}
	drug, err := drugOf(a.MedicationCodeableConcept, a.MedicationReference)
	return medicationEntry{med: m, drug: drug}, err
}

// drugFromMedication fills a medication entry's drug from a Medication resource.
func drugFromMedication(raw json.RawMessage) (Concept, []Concept, error) {
	md, err := decodeInto[models.Medication](raw)
	if err != nil {
		return Concept{}, nil, err
	}
	var drug Concept
	if md.Code != nil {
		drug = conceptOf(*md.Code)
	}
	var ingredients []Concept
	for _, in := range md.Ingredient {
		if c := conceptOf(in.ItemCodeableConcept); len(c.Codings) > 0 || c.Text != "" {
			ingredients = append(ingredients, c)
		}
	}
	if len(drug.Codings) == 0 && drug.Text == "" && len(ingredients) == 0 {
		return Concept{}, nil, errors.New("referenced Medication has neither code nor ingredients")
	}
	return drug, ingredients, nil
}

func normaliseCondition(raw json.RawMessage) (Condition, error) {
	c, err := decodeInto[models.Condition](raw)
	if err != nil {
		return Condition{}, err
	}
	out := Condition{
		Ref:                relRef("Condition", c.Id),
		ClinicalStatus:     statusCode(c.ClinicalStatus, "http://terminology.hl7.org/CodeSystem/condition-clinical"),
		VerificationStatus: statusCode(c.VerificationStatus, "http://terminology.hl7.org/CodeSystem/condition-ver-status"),
	}
	if conditionNeverHappened[out.VerificationStatus] {
		return Condition{}, errDropped{"verificationStatus " + out.VerificationStatus}
	}
	if c.Code == nil {
		return Condition{}, errors.New("Condition has no code")
	}
	out.Code = conceptOf(*c.Code)
	for _, cc := range c.Category {
		for _, cd := range cc.Coding {
			if cd.Code != nil && *cd.Code != "" {
				out.Categories = append(out.Categories, *cd.Code)
			}
		}
	}
	switch {
	case c.OnsetDateTime != nil:
		out.Onset, err = startOf(c.OnsetDateTime)
	case c.OnsetPeriod != nil:
		out.Onset, err = startOf(c.OnsetPeriod.Start)
	}
	if err != nil {
		return Condition{}, fmt.Errorf("onset: %w", err)
	}
	switch {
	case c.AbatementDateTime != nil:
		out.Abatement, err = startOf(c.AbatementDateTime)
	case c.AbatementPeriod != nil:
		out.Abatement, err = startOf(c.AbatementPeriod.Start)
	}
	if err != nil {
		return Condition{}, fmt.Errorf("abatement: %w", err)
	}
	if out.Recorded, err = startOf(c.RecordedDate); err != nil {
		return Condition{}, fmt.Errorf("recordedDate: %w", err)
	}
	return out, nil
}

func normaliseObservation(raw json.RawMessage) (Observation, error) {
	o, err := decodeInto[models.Observation](raw)
	if err != nil {
		return Observation{}, err
	}
	// The library decodes a missing status as its zero value ("registered"),
	// which would read as pending: a result without a status is no result.
	status := o.Status.Code()
	if status == "registered" && !hasStatus(raw) {
		status = ""
	}
	if !IsResultStatus(status) && !IsPendingStatus(status) {
		return Observation{}, errDropped{"status " + status + " is not a result"}
	}
	out := Observation{Ref: relRef("Observation", o.Id), Code: conceptOf(o.Code), Status: status}
	switch {
	case o.EffectiveDateTime != nil:
		out.Effective, err = startOf(o.EffectiveDateTime)
	case o.EffectivePeriod != nil && o.EffectivePeriod.Start != nil:
		out.Effective, err = startOf(o.EffectivePeriod.Start)
	case o.EffectiveInstant != nil:
		out.Effective, err = startOf(o.EffectiveInstant)
	default:
		out.Effective, err = startOf(o.Issued)
	}
	if err != nil {
		return Observation{}, fmt.Errorf("effective: %w", err)
	}
	if o.ValueQuantity != nil {
		if out.Value, err = quantityOf(o.ValueQuantity); err != nil {
			return Observation{}, fmt.Errorf("valueQuantity: %w", err)
		}
	}
	for _, cc := range o.Interpretation {
		out.Interpretation = append(out.Interpretation, conceptOf(cc).Codings...)
	}
	for _, rr := range o.ReferenceRange {
		var r Range
		if r.Low, err = quantityOf(rr.Low); err == nil {
			r.High, err = quantityOf(rr.High)
		}
		if err != nil {
			return Observation{}, fmt.Errorf("referenceRange: %w", err)
		}
		if r.Low != nil || r.High != nil {
			out.ReferenceRange = append(out.ReferenceRange, r)
		}
	}
	return out, nil
}

// relRef builds "Type/id", or "" when the resource has no id.
func relRef(typ string, id *string) string {
	if id == nil || *id == "" {
		return ""
	}
	return typ + "/" + *id
}

func conceptOf(cc models.CodeableConcept) Concept {
	var c Concept
	if cc.Text != nil {
		c.Text = *cc.Text
	}
	for _, cd := range cc.Coding {
		c.Codings = append(c.Codings, Coding{System: deref(cd.System), Code: deref(cd.Code), Display: deref(cd.Display)})
	}
	return c
}

// statusCode picks the code of a status CodeableConcept, preferring the
// coding from the expected system.
func statusCode(cc *models.CodeableConcept, system string) string {
	if cc == nil {
		return ""
	}
	first := ""
	for _, cd := range cc.Coding {
		if cd.Code == nil {
			continue
		}
		if deref(cd.System) == system {
			return *cd.Code
		}
		if first == "" {
			first = *cd.Code
		}
	}
	return first
}

func quantityOf(q *models.Quantity) (*Quantity, error) {
	if q == nil || q.Value == nil {
		return nil, nil
	}
	v, err := q.Value.Float64()
	if err != nil {
		return nil, errors.New("value is not a decimal")
	}
	out := &Quantity{Value: v, Unit: deref(q.Unit), System: deref(q.System), Code: deref(q.Code)}
	if q.Comparator != nil {
		out.Comparator = q.Comparator.Code()
	}
	return out, nil
}

func periodOf(p *models.Period) (Period, error) {
	start, err := startOf(p.Start)
	if err != nil {
		return Period{}, err
	}
	end, err := endOf(p.End)
	return Period{Start: start, End: end}, err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// hasStatus reports whether a resource's JSON carries a status at all.
func hasStatus(raw json.RawMessage) bool {
	var s struct {
		Status *string `json:"status"`
	}
	return json.Unmarshal(raw, &s) == nil && s.Status != nil
}
