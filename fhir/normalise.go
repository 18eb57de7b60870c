package fhir

import (
	"errors"
	"fmt"
	"strconv"
)

// This file turns the bodies read by decode_resource.go into Record facts,
// applying the status rules of status.go, in the order the checks have
// always been made (so that a resource with several faults keeps its reason).

// errDropped marks a resource that decoded fine but whose status says it did
// not happen (or is not a result); its message is the Skipped reason.
type errDropped struct{ reason string }

func (e errDropped) Error() string { return e.reason }

// errBody is the reason a resource whose body could not be read is skipped.
func errBody(r resource) error {
	if r.bad != "" {
		return errors.New(r.bad)
	}
	return nil
}

func normalisePatient(r resource) (*Patient, error) {
	if err := errBody(r); err != nil {
		return nil, err
	}
	p := r.patient
	out := &Patient{Ref: r.ref()}
	if p.birthDate.has {
		if _, _, err := parseDateTime(p.birthDate.v); err != nil {
			return nil, fmt.Errorf("birthDate: %w", err)
		}
		out.BirthDate = p.birthDate.v
	}
	out.Gender = p.gender.v
	switch {
	case p.deceasedDateTime.has:
		var err error
		if out.DeceasedAt, err = startOf(p.deceasedDateTime.v); err != nil {
			return nil, fmt.Errorf("deceasedDateTime: %w", err)
		}
		out.Deceased = true
	case p.deceasedBoolean:
		out.Deceased = true
	}
	return out, nil
}

// drugSource is where a medication entry names its drug: a concept, or a
// reference that the caller must resolve to a Medication.
type drugSource struct {
	concept   concept
	reference string // "" when the concept is used
	display   string
}

// medicationEntry is a medication entry before its drug is resolved.
type medicationEntry struct {
	med  Medication
	drug drugSource
}

func normaliseMedicationEntry(r resource) (medicationEntry, error) {
	if err := errBody(r); err != nil {
		return medicationEntry{}, err
	}
	b := r.med
	request, administration := r.typ == "MedicationRequest", r.typ == "MedicationAdministration"
	never := statementNeverHappened
	switch {
	case request:
		never = requestNeverHappened
	case administration:
		never = administrationNeverHappened
	}
	if never[b.status] {
		return medicationEntry{}, errDropped{"status " + b.status}
	}
	if request && b.doNotPerform {
		// A "do not give this drug" order must never read as the patient taking it.
		return medicationEntry{}, errDropped{"doNotPerform request"}
	}
	m := Medication{Ref: r.ref(), Status: b.status, Intent: b.intent}
	var err error
	if m.Asserted, err = startOf(b.asserted.v); err != nil {
		if request {
			return medicationEntry{}, fmt.Errorf("authoredOn: %w", err)
		}
		return medicationEntry{}, fmt.Errorf("dateAsserted: %w", err)
	}
	switch {
	case administration && b.effectivePeriod != nil && (b.effectivePeriod.start.has || b.effectivePeriod.end.has):
		m.Effective, err = periodOf(b.effectivePeriod)
	case administration && b.effectiveDateTime.v != "":
		// One instant: the drug was given then.
		m.Effective.Start, err = startOf(b.effectiveDateTime.v)
		m.Effective.End = m.Effective.Start
	case administration:
	case request && b.validity != nil:
		if m.Effective, err = periodOf(b.validity); err != nil {
			return medicationEntry{}, fmt.Errorf("dispenseRequest.validityPeriod: %w", err)
		}
	case !request && b.effectivePeriod != nil:
		m.Effective, err = periodOf(b.effectivePeriod)
	case !request && b.effectiveDateTime.has:
		// A single time is when taking started (or was observed); the end stays open.
		m.Effective.Start, err = startOf(b.effectiveDateTime.v)
	}
	if err != nil {
		return medicationEntry{}, fmt.Errorf("effective: %w", err)
	}
	if b.drugRef != "" {
		return medicationEntry{med: m, drug: drugSource{reference: b.drugRef, display: b.drugDisplay}}, nil
	}
	if len(b.drugConcept.Codings) == 0 && !b.drugConcept.hasText {
		return medicationEntry{}, errors.New("names no medication (neither medicationCodeableConcept nor medicationReference)")
	}
	return medicationEntry{med: m, drug: drugSource{concept: b.drugConcept}}, nil
}

// drugFromMedication fills a medication entry's drug from a Medication resource.
func drugFromMedication(r resource) (Concept, []Concept, error) {
	if err := errBody(r); err != nil {
		return Concept{}, nil, err
	}
	md := r.medication
	var drug Concept
	if md.code != nil {
		drug = md.code.Concept
	}
	var ingredients []Concept
	for _, in := range md.ingredients {
		if len(in.Codings) > 0 || in.Text != "" {
			ingredients = append(ingredients, in.Concept)
		}
	}
	if len(drug.Codings) == 0 && drug.Text == "" && len(ingredients) == 0 {
		return Concept{}, nil, errors.New("referenced Medication has neither code nor ingredients")
	}
	return drug, ingredients, nil
}

func normaliseCondition(r resource) (Condition, error) {
	if err := errBody(r); err != nil {
		return Condition{}, err
	}
	c := r.condition
	out := Condition{Ref: r.ref(), ClinicalStatus: c.clinicalStatus, VerificationStatus: c.verificationStatus}
	if conditionNeverHappened[out.VerificationStatus] {
		return Condition{}, errDropped{"verificationStatus " + out.VerificationStatus}
	}
	if c.code == nil {
		return Condition{}, errors.New("Condition has no code")
	}
	out.Code = c.code.Concept
	for _, cc := range c.categories {
		for _, cd := range cc.Codings {
			if cd.Code != "" {
				out.Categories = append(out.Categories, cd.Code)
			}
		}
	}
	var err error
	switch {
	case c.onsetDateTime.has:
		out.Onset, err = startOf(c.onsetDateTime.v)
	case c.onsetPeriod != nil:
		out.Onset, err = startOf(c.onsetPeriod.start.v)
	}
	if err != nil {
		return Condition{}, fmt.Errorf("onset: %w", err)
	}
	switch {
	case c.abatementDateTime.has:
		out.Abatement, err = startOf(c.abatementDateTime.v)
	case c.abatementPeriod != nil:
		out.Abatement, err = startOf(c.abatementPeriod.start.v)
	}
	if err != nil {
		return Condition{}, fmt.Errorf("abatement: %w", err)
	}
	if out.Recorded, err = startOf(c.recordedDate.v); err != nil {
		return Condition{}, fmt.Errorf("recordedDate: %w", err)
	}
	return out, nil
}

func normaliseObservation(r resource) (Observation, error) {
	if err := errBody(r); err != nil {
		return Observation{}, err
	}
	o := r.observation
	// A missing status reads as "registered", which would be pending: a
	// result without a status is no result.
	status := o.status
	if !o.hasStatus {
		status = ""
	}
	if !IsResultStatus(status) && !IsPendingStatus(status) {
		return Observation{}, errDropped{"status " + status + " is not a result"}
	}
	out := Observation{Ref: r.ref(), Code: o.code.Concept, Status: o.status}
	var err error
	switch {
	case o.effectiveDateTime.has:
		out.Effective, err = startOf(o.effectiveDateTime.v)
	case o.effectivePeriod != nil && o.effectivePeriod.start.has:
		out.Effective, err = startOf(o.effectivePeriod.start.v)
	case o.effectiveInstant.has:
		out.Effective, err = startOf(o.effectiveInstant.v)
	default:
		out.Effective, err = startOf(o.issued.v)
	}
	if err != nil {
		return Observation{}, fmt.Errorf("effective: %w", err)
	}
	// One block holds the value and the range limits: one allocation where
	// there would be three, none when there are none.
	var block []Quantity
	if o.value != nil || len(o.referenceRange) > 0 {
		block = make([]Quantity, 0, 1+2*len(o.referenceRange))
	}
	if out.Value, err = quantityOf(o.value, &block); err != nil {
		return Observation{}, fmt.Errorf("valueQuantity: %w", err)
	}
	for _, cc := range o.interpretation {
		out.Interpretation = append(out.Interpretation, cc.Codings...)
	}
	for _, rr := range o.referenceRange {
		var rg Range
		if rg.Low, err = quantityOf(rr[0], &block); err == nil {
			rg.High, err = quantityOf(rr[1], &block)
		}
		if err != nil {
			return Observation{}, fmt.Errorf("referenceRange: %w", err)
		}
		if rg.Low != nil || rg.High != nil {
			out.ReferenceRange = append(out.ReferenceRange, rg)
		}
	}
	return out, nil
}

// pendingRequestStatus are the ServiceRequest statuses of a test on its way.
// A missing status is none of them (golang-fhir-models read it as "draft").
var pendingRequestStatus = map[string]bool{"active": true, "on-hold": true, "draft": true}

func normaliseServiceRequest(r resource) (ServiceRequest, error) {
	if err := errBody(r); err != nil {
		return ServiceRequest{}, err
	}
	sr := r.service
	if !pendingRequestStatus[sr.status] {
		return ServiceRequest{}, errDropped{"status " + strconv.Quote(sr.status) + " is not a pending order"}
	}
	if sr.doNotPerform {
		return ServiceRequest{}, errDropped{"doNotPerform request"}
	}
	out := ServiceRequest{Ref: r.ref(), Status: sr.status}
	if sr.code != nil {
		out.Code = sr.code.Concept
	}
	var err error
	if out.Authored, err = startOf(sr.authoredOn.v); err != nil {
		return ServiceRequest{}, fmt.Errorf("authoredOn: %w", err)
	}
	return out, nil
}

// relRef builds "Type/id", or "" when the resource has no id.
func relRef(typ, id string) string {
	if id == "" {
		return ""
	}
	return typ + "/" + id
}

// quantityOf returns q as a Quantity placed in block (nil when q has no
// value); block has room for every quantity it is asked for, so earlier
// ones never move.
func quantityOf(q *quantity, block *[]Quantity) (*Quantity, error) {
	if q == nil || !q.hasValue {
		return nil, nil
	}
	v, err := strconv.ParseFloat(q.value, 64)
	if err != nil {
		return nil, errors.New("value is not a decimal")
	}
	*block = append(*block, Quantity{Value: v, Comparator: q.comparator, Unit: q.unit, System: q.system, Code: q.code})
	return &(*block)[len(*block)-1], nil
}

func periodOf(p *period) (Period, error) {
	start, err := startOf(p.start.v)
	if err != nil {
		return Period{}, err
	}
	end, err := endOf(p.end.v)
	return Period{Start: start, End: end}, err
}
