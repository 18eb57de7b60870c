package fhir

// This file is the decoder that decode.go replaced, kept frozen as the
// reference the equivalence tests compare the one-pass decoder with: the
// prefetch, page and Bundle envelopes with encoding/json, a peek at each
// resource's head, then golang-fhir-models for each resource. Only the
// names changed (a legacy prefix), and the patient and id rules of issue 13,
// which both decoders share (references.go). It is an internal test file
// because what it is compared with is unexported.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	models "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// resource is one entry read from a prefetch value, a fetched page or a
// Bundle: the few envelope facts needed to route it, and its raw JSON, which
// is decoded into golang-fhir-models types only when the Record is built.
type legacyResource struct {
	source  string // prefetch key, or "entry N" of a Bundle file
	fullURL string
	head    legacyResourceHead
	raw     json.RawMessage
}

// legacyResourceHead is the peek every resource gets before its typed decode.
type legacyResourceHead struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Subject      struct {
		Reference string `json:"reference"`
	} `json:"subject"`
}

func (h legacyResourceHead) ref() string {
	if h.ID == "" {
		return ""
	}
	return h.ResourceType + "/" + h.ID
}

// legacyPendingMedication is a medicationReference that no resource at hand resolves.
type legacyPendingMedication struct {
	source    string // where the referencing entry came from
	entryRef  string // the referencing entry, e.g. "MedicationRequest/7"
	reference string // the reference as written
}

// legacyAssembler collects resources from any number of sources, in order, and
// builds a Record from them. It is not safe for concurrent use.
type legacyAssembler struct {
	resources []legacyResource
	skipped   []Skipped
	seen      map[string]bool // "Type/id" or fullUrl of resources already added
}

func legacyNewAssembler() *legacyAssembler { return &legacyAssembler{seen: map[string]bool{}} }

func (a *legacyAssembler) skip(source, ref, reason string) {
	a.skipped = append(a.skipped, Skipped{Source: source, Ref: ref, Reason: reason})
}

// add records one resource. A resource without a resourceType is skipped;
// one already added (same Type/id or fullUrl, e.g. from two prefetch keys) is
// ignored.
func (a *legacyAssembler) add(source, fullURL string, raw json.RawMessage) {
	var h legacyResourceHead
	err := json.Unmarshal(raw, &h)
	a.addPeeked(source, fullURL, raw, h, err)
}

// addPeeked is add for a resource whose head has already been peeked (with
// peekErr the peek's error), saving a scan of its JSON.
func (a *legacyAssembler) addPeeked(source, fullURL string, raw json.RawMessage, h legacyResourceHead, peekErr error) {
	if peekErr != nil || h.ResourceType == "" {
		a.skip(source, "", "entry is not a FHIR resource (no readable resourceType)")
		return
	}
	if h.ID != "" && !ValidID(h.ID) {
		// Never repeated: the id could carry markup into a card.
		a.skip(source, "", "id is not a FHIR id")
		return
	}
	id := h.ref()
	if id == "" {
		id = fullURL
	}
	if id != "" {
		if a.seen[id] {
			return
		}
		a.seen[id] = true
	}
	a.resources = append(a.resources, legacyResource{source: source, fullURL: fullURL, head: h, raw: raw})
}

// legacyBundleLink is one Bundle.link.
type legacyBundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// legacyRawBundle is a Bundle read by our own envelope type rather than
// golang-fhir-models': its strict enums (Bundle.type, search.mode,
// request.method) would otherwise fail the whole Bundle for one odd code,
// and entries stay raw so that one bad entry costs only itself.
type legacyRawBundle struct {
	ResourceType string             `json:"resourceType"`
	Type         string             `json:"type"`
	Link         []legacyBundleLink `json:"link"`
	Entry        []json.RawMessage  `json:"entry"`
}

type legacyRawEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Search   *struct {
		Mode string `json:"mode"`
	} `json:"search"`
}

// next returns the Bundle's next-page link, or "".
func (b *legacyRawBundle) next() string {
	for _, l := range b.Link {
		if l.Relation == "next" {
			return l.URL
		}
	}
	return ""
}

// addBundle adds the Bundle's entries under source and reports whether the
// Bundle says the search failed: an OperationOutcome entry (search mode
// "outcome", or any OperationOutcome) with an error or fatal issue. Warnings
// alone, which servers add for ignored parameters, do not fail it.
func (a *legacyAssembler) addBundle(source string, b *legacyRawBundle) (failed bool) {
	for i, rawE := range b.Entry {
		var e legacyRawEntry
		if err := json.Unmarshal(rawE, &e); err != nil {
			a.skip(source, "", fmt.Sprintf("Bundle entry %d is malformed", i))
			continue
		}
		if len(e.Resource) == 0 || string(e.Resource) == "null" {
			continue // e.g. a transaction-response entry, or a deleted legacyResource in a history
		}
		var h legacyResourceHead
		peekErr := json.Unmarshal(e.Resource, &h)
		if h.ResourceType == "OperationOutcome" || (e.Search != nil && e.Search.Mode == "outcome") {
			if legacyOutcomeFails(e.Resource) {
				failed = true
			}
			continue
		}
		entrySource := source
		if entrySource == "" {
			entrySource = fmt.Sprintf("entry %d", i)
		}
		a.addPeeked(entrySource, e.FullURL, e.Resource, h, peekErr)
	}
	return failed
}

// legacyOutcomeFails reports whether an OperationOutcome has an error or fatal
// issue (an unreadable one counts as failed).
func legacyOutcomeFails(raw json.RawMessage) bool {
	var oo struct {
		Issue []struct {
			Severity string `json:"severity"`
		} `json:"issue"`
	}
	if err := json.Unmarshal(raw, &oo); err != nil {
		return true
	}
	for _, is := range oo.Issue {
		if is.Severity == "error" || is.Severity == "fatal" {
			return true
		}
	}
	return false
}

// build normalises every resource added so far into a Record. Resources that
// patient says are not about the current patient are skipped: data about the
// wrong patient is worse than none. Medication entries whose
// medicationReference no contained, added or fetched Medication resolves are
// left out and returned as pending, for the caller to fetch or report.
func (a *legacyAssembler) build(patient patientMatcher) (*Record, []legacyPendingMedication) {
	rec := &Record{Skipped: append([]Skipped(nil), a.skipped...)}
	meds := a.medicationIndex()
	var pending []legacyPendingMedication
	for _, r := range a.resources {
		if !legacyAbout(patient, r) {
			rec.Skipped = append(rec.Skipped, Skipped{Source: r.source, Ref: r.head.ref(), Reason: "about another patient than the request's"})
			continue
		}
		var err error
		switch r.head.ResourceType {
		case "Patient":
			var p *Patient
			if p, err = legacyNormalisePatient(r.raw); err == nil && rec.Patient == nil {
				rec.Patient = p
			}
		case "MedicationRequest", "MedicationStatement", "MedicationAdministration":
			var m Medication
			var ref string
			m, ref, err = legacyResolveMedication(r, meds)
			switch {
			case err == nil && ref != "":
				pending = append(pending, legacyPendingMedication{source: r.source, entryRef: legacyRefOr(r), reference: ref})
			case err == nil:
				rec.Medications = append(rec.Medications, m)
			}
		case "Condition":
			var c Condition
			if c, err = legacyNormaliseCondition(r.raw); err == nil {
				rec.Conditions = append(rec.Conditions, c)
			}
		case "Observation":
			var o Observation
			if o, err = legacyNormaliseObservation(r.raw); err == nil {
				rec.Observations = append(rec.Observations, o)
			}
		case "ServiceRequest":
			var sr ServiceRequest
			if sr, err = legacyNormaliseServiceRequest(r.raw); err == nil {
				rec.ServiceRequests = append(rec.ServiceRequests, sr)
			}
		}
		if err != nil {
			rec.Skipped = append(rec.Skipped, Skipped{Source: r.source, Ref: legacyRefOr(r), Reason: err.Error()})
		}
	}
	return rec, pending
}

// legacyRefOr names a resource for Skipped: its "Type/id", else its fullUrl when
// that is a reference of a known shape (never arbitrary sender text).
func legacyRefOr(r legacyResource) string {
	if ref := r.head.ref(); ref != "" {
		return ref
	}
	if validReference(r.fullURL) {
		return r.fullURL
	}
	return ""
}

// medicationIndex maps the fullUrl and the "Medication/id" of every added
// Medication to its raw JSON.
func (a *legacyAssembler) medicationIndex() map[string]json.RawMessage {
	idx := map[string]json.RawMessage{}
	for _, r := range a.resources {
		if r.head.ResourceType != "Medication" {
			continue
		}
		if r.fullURL != "" {
			idx[r.fullURL] = r.raw
		}
		if ref := r.head.ref(); ref != "" {
			idx[ref] = r.raw
		}
	}
	return idx
}

// legacyResolveMedication normalises a MedicationRequest or MedicationStatement and
// resolves its drug: medicationCodeableConcept, a contained Medication
// ("#id", read from the raw JSON since golang-fhir-models drops contained), or
// a Medication among the added resources. When none of these resolves the
// reference, it returns the reference for the caller to fetch.
func legacyResolveMedication(r legacyResource, meds map[string]json.RawMessage) (Medication, string, error) {
	var e legacyMedicationEntry
	var err error
	switch r.head.ResourceType {
	case "MedicationRequest":
		e, err = legacyNormaliseMedicationRequest(r.raw)
	case "MedicationAdministration":
		e, err = legacyNormaliseMedicationAdministration(r.raw)
	default:
		e, err = legacyNormaliseMedicationStatement(r.raw)
	}
	if err != nil {
		return Medication{}, "", err
	}
	m := e.med
	if e.drug.reference != "" && !validReference(e.drug.reference) {
		return Medication{}, "", errors.New("medicationReference is not a FHIR reference")
	}
	if e.drug.reference == "" {
		m.Drug = legacyConceptOf(e.drug.concept)
		return m, "", nil
	}
	var target json.RawMessage
	if strings.HasPrefix(e.drug.reference, "#") {
		if target = legacyContainedMedication(r.raw, e.drug.reference[1:]); target == nil {
			return Medication{}, "", errors.New("medicationReference to a contained Medication that is not there")
		}
	} else {
		target = meds[e.drug.reference]
		if target == nil {
			if typ, id := splitRef(e.drug.reference); typ == "Medication" {
				target = meds["Medication/"+id]
			}
		}
	}
	if target == nil {
		return Medication{}, e.drug.reference, nil
	}
	if m.Drug, m.Ingredients, err = legacyDrugFromMedication(target); err != nil {
		return Medication{}, "", err
	}
	if m.Drug.Text == "" && e.drug.display != "" {
		m.Drug.Text = e.drug.display
	}
	return m, "", nil
}

// legacyContainedMedication returns the contained Medication with the given id, or nil.
func legacyContainedMedication(raw json.RawMessage, id string) json.RawMessage {
	var c struct {
		Contained []json.RawMessage `json:"contained"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return nil
	}
	for _, cr := range c.Contained {
		var h legacyResourceHead
		if json.Unmarshal(cr, &h) == nil && h.ResourceType == "Medication" && h.ID == id {
			return cr
		}
	}
	return nil
}

// bundlePatient is the patient of a whole-patient Bundle: its first Patient.
func (a *legacyAssembler) bundlePatient() patientMatcher {
	for _, r := range a.resources {
		if r.head.ResourceType == "Patient" {
			return patientMatcher{id: r.head.ID, fullURL: r.fullURL, check: true}
		}
	}
	return patientMatcher{}
}

// legacyDecodeInto decodes raw into a golang-fhir-models type, keeping the error
// short: it becomes a Skipped reason.
func legacyDecodeInto[T any](raw json.RawMessage) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("does not decode as FHIR R4: %s", legacyShorten(err.Error()))
	}
	return v, nil
}

func legacyShorten(s string) string {
	const max = 160
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

func legacyNormalisePatient(raw json.RawMessage) (*Patient, error) {
	p, err := legacyDecodeInto[models.Patient](raw)
	if err != nil {
		return nil, err
	}
	out := &Patient{Ref: legacyRelRef("Patient", p.Id)}
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
		if out.DeceasedAt, err = startOf(*p.DeceasedDateTime); err != nil {
			return nil, fmt.Errorf("deceasedDateTime: %w", err)
		}
		out.Deceased = true
	case p.DeceasedBoolean != nil:
		out.Deceased = *p.DeceasedBoolean
	}
	return out, nil
}

// legacyDrugSource is where a medication entry names its drug: a concept, or a
// reference that the caller must resolve to a Medication.
type legacyDrugSource struct {
	concept   models.CodeableConcept
	reference string // "" when the concept is used
	display   string
}

func (d legacyDrugSource) hasConcept() bool {
	return len(d.concept.Coding) > 0 || d.concept.Text != nil
}

func legacyDrugOf(cc models.CodeableConcept, ref models.Reference) (legacyDrugSource, error) {
	if ref.Reference != nil && *ref.Reference != "" {
		d := legacyDrugSource{reference: *ref.Reference}
		if ref.Display != nil {
			d.display = *ref.Display
		}
		return d, nil
	}
	d := legacyDrugSource{concept: cc}
	if !d.hasConcept() {
		return d, errors.New("names no medication (neither medicationCodeableConcept nor medicationReference)")
	}
	return d, nil
}

// legacyMedicationEntry is a medication entry before its drug is resolved.
type legacyMedicationEntry struct {
	med  Medication
	drug legacyDrugSource
}

func legacyNormaliseMedicationRequest(raw json.RawMessage) (legacyMedicationEntry, error) {
	r, err := legacyDecodeInto[models.MedicationRequest](raw)
	if err != nil {
		return legacyMedicationEntry{}, err
	}
	if requestNeverHappened[r.Status] {
		return legacyMedicationEntry{}, errDropped{"status " + r.Status}
	}
	if r.DoNotPerform != nil && *r.DoNotPerform {
		// A "do not give this drug" order must never read as the patient taking it.
		return legacyMedicationEntry{}, errDropped{"doNotPerform request"}
	}
	m := Medication{Ref: legacyRelRef("MedicationRequest", r.Id), Status: r.Status, Intent: r.Intent}
	if m.Asserted, err = legacyStartOf(r.AuthoredOn); err != nil {
		return legacyMedicationEntry{}, fmt.Errorf("authoredOn: %w", err)
	}
	if dr := r.DispenseRequest; dr != nil && dr.ValidityPeriod != nil {
		if m.Effective, err = legacyPeriodOf(dr.ValidityPeriod); err != nil {
			return legacyMedicationEntry{}, fmt.Errorf("dispenseRequest.validityPeriod: %w", err)
		}
	}
	drug, err := legacyDrugOf(r.MedicationCodeableConcept, r.MedicationReference)
	return legacyMedicationEntry{med: m, drug: drug}, err
}

func legacyNormaliseMedicationStatement(raw json.RawMessage) (legacyMedicationEntry, error) {
	s, err := legacyDecodeInto[models.MedicationStatement](raw)
	if err != nil {
		return legacyMedicationEntry{}, err
	}
	if statementNeverHappened[s.Status] {
		return legacyMedicationEntry{}, errDropped{"status " + s.Status}
	}
	m := Medication{Ref: legacyRelRef("MedicationStatement", s.Id), Status: s.Status}
	if m.Asserted, err = legacyStartOf(s.DateAsserted); err != nil {
		return legacyMedicationEntry{}, fmt.Errorf("dateAsserted: %w", err)
	}
	switch {
	case s.EffectivePeriod != nil:
		m.Effective, err = legacyPeriodOf(s.EffectivePeriod)
	case s.EffectiveDateTime != nil:
		// A single time is when taking started (or was observed); the end stays open.
		m.Effective.Start, err = legacyStartOf(s.EffectiveDateTime)
	}
	if err != nil {
		return legacyMedicationEntry{}, fmt.Errorf("effective: %w", err)
	}
	drug, err := legacyDrugOf(s.MedicationCodeableConcept, s.MedicationReference)
	return legacyMedicationEntry{med: m, drug: drug}, err
}

func legacyNormaliseMedicationAdministration(raw json.RawMessage) (legacyMedicationEntry, error) {
	a, err := legacyDecodeInto[models.MedicationAdministration](raw)
	if err != nil {
		return legacyMedicationEntry{}, err
	}
	if administrationNeverHappened[a.Status] {
		return legacyMedicationEntry{}, errDropped{"status " + a.Status}
	}
	m := Medication{Ref: legacyRelRef("MedicationAdministration", a.Id), Status: a.Status}
	switch {
	case a.EffectivePeriod.Start != nil || a.EffectivePeriod.End != nil:
		m.Effective, err = legacyPeriodOf(&a.EffectivePeriod)
	case a.EffectiveDateTime != "":
		m.Effective.Start, err = legacyStartOf(&a.EffectiveDateTime)
		m.Effective.End = m.Effective.Start
	}
	if err != nil {
		return legacyMedicationEntry{}, fmt.Errorf("effective: %w", err)
	}
	drug, err := legacyDrugOf(a.MedicationCodeableConcept, a.MedicationReference)
	return legacyMedicationEntry{med: m, drug: drug}, err
}

// legacyDrugFromMedication fills a medication entry's drug from a Medication resource.
func legacyDrugFromMedication(raw json.RawMessage) (Concept, []Concept, error) {
	md, err := legacyDecodeInto[models.Medication](raw)
	if err != nil {
		return Concept{}, nil, err
	}
	var drug Concept
	if md.Code != nil {
		drug = legacyConceptOf(*md.Code)
	}
	var ingredients []Concept
	for _, in := range md.Ingredient {
		if c := legacyConceptOf(in.ItemCodeableConcept); len(c.Codings) > 0 || c.Text != "" {
			ingredients = append(ingredients, c)
		}
	}
	if len(drug.Codings) == 0 && drug.Text == "" && len(ingredients) == 0 {
		return Concept{}, nil, errors.New("referenced Medication has neither code nor ingredients")
	}
	return drug, ingredients, nil
}

func legacyNormaliseCondition(raw json.RawMessage) (Condition, error) {
	c, err := legacyDecodeInto[models.Condition](raw)
	if err != nil {
		return Condition{}, err
	}
	out := Condition{
		Ref:                legacyRelRef("Condition", c.Id),
		ClinicalStatus:     legacyStatusCode(c.ClinicalStatus, "http://terminology.hl7.org/CodeSystem/condition-clinical"),
		VerificationStatus: legacyStatusCode(c.VerificationStatus, "http://terminology.hl7.org/CodeSystem/condition-ver-status"),
	}
	if conditionNeverHappened[out.VerificationStatus] {
		return Condition{}, errDropped{"verificationStatus " + out.VerificationStatus}
	}
	if c.Code == nil {
		return Condition{}, errors.New("Condition has no code")
	}
	out.Code = legacyConceptOf(*c.Code)
	for _, cc := range c.Category {
		for _, cd := range cc.Coding {
			if cd.Code != nil && *cd.Code != "" {
				out.Categories = append(out.Categories, *cd.Code)
			}
		}
	}
	switch {
	case c.OnsetDateTime != nil:
		out.Onset, err = legacyStartOf(c.OnsetDateTime)
	case c.OnsetPeriod != nil:
		out.Onset, err = legacyStartOf(c.OnsetPeriod.Start)
	}
	if err != nil {
		return Condition{}, fmt.Errorf("onset: %w", err)
	}
	switch {
	case c.AbatementDateTime != nil:
		out.Abatement, err = legacyStartOf(c.AbatementDateTime)
	case c.AbatementPeriod != nil:
		out.Abatement, err = legacyStartOf(c.AbatementPeriod.Start)
	}
	if err != nil {
		return Condition{}, fmt.Errorf("abatement: %w", err)
	}
	if out.Recorded, err = legacyStartOf(c.RecordedDate); err != nil {
		return Condition{}, fmt.Errorf("recordedDate: %w", err)
	}
	return out, nil
}

func legacyNormaliseObservation(raw json.RawMessage) (Observation, error) {
	o, err := legacyDecodeInto[models.Observation](raw)
	if err != nil {
		return Observation{}, err
	}
	// The library decodes a missing status as its zero value ("registered"),
	// which would read as pending: a result without a status is no result.
	status := o.Status.Code()
	var peek struct {
		Status *string `json:"status"`
	}
	if json.Unmarshal(raw, &peek) != nil || peek.Status == nil {
		status = ""
	}
	if !IsResultStatus(status) && !IsPendingStatus(status) {
		return Observation{}, errDropped{"status " + status + " is not a result"}
	}
	out := Observation{Ref: legacyRelRef("Observation", o.Id), Code: legacyConceptOf(o.Code), Status: status}
	switch {
	case o.EffectiveDateTime != nil:
		out.Effective, err = legacyStartOf(o.EffectiveDateTime)
	case o.EffectivePeriod != nil && o.EffectivePeriod.Start != nil:
		out.Effective, err = legacyStartOf(o.EffectivePeriod.Start)
	case o.EffectiveInstant != nil:
		out.Effective, err = legacyStartOf(o.EffectiveInstant)
	default:
		out.Effective, err = legacyStartOf(o.Issued)
	}
	if err != nil {
		return Observation{}, fmt.Errorf("effective: %w", err)
	}
	if o.ValueQuantity != nil {
		if out.Value, err = legacyQuantityOf(o.ValueQuantity); err != nil {
			return Observation{}, fmt.Errorf("valueQuantity: %w", err)
		}
	}
	for _, cc := range o.Interpretation {
		out.Interpretation = append(out.Interpretation, legacyConceptOf(cc).Codings...)
	}
	for _, rr := range o.ReferenceRange {
		var r Range
		if r.Low, err = legacyQuantityOf(rr.Low); err == nil {
			r.High, err = legacyQuantityOf(rr.High)
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

// legacyRelRef builds "Type/id", or "" when the resource has no id.
// legacyServiceRequest is the part of a ServiceRequest the rules read, as
// the cards branch decoded it before the one-pass decoder (with
// encoding/json, since golang-fhir-models reads a missing status as "draft").
type legacyServiceRequest struct {
	ID           *string                 `json:"id"`
	Status       string                  `json:"status"`
	Code         *models.CodeableConcept `json:"code"`
	AuthoredOn   *string                 `json:"authoredOn"`
	DoNotPerform *bool                   `json:"doNotPerform"`
}

func legacyNormaliseServiceRequest(raw json.RawMessage) (ServiceRequest, error) {
	r, err := legacyDecodeInto[legacyServiceRequest](raw)
	if err != nil {
		return ServiceRequest{}, err
	}
	if !pendingRequestStatus[r.Status] {
		return ServiceRequest{}, errDropped{"status " + strconv.Quote(r.Status) + " is not a pending order"}
	}
	if r.DoNotPerform != nil && *r.DoNotPerform {
		return ServiceRequest{}, errDropped{"doNotPerform request"}
	}
	out := ServiceRequest{Ref: legacyRelRef("ServiceRequest", r.ID), Status: r.Status}
	if r.Code != nil {
		out.Code = legacyConceptOf(*r.Code)
	}
	if out.Authored, err = legacyStartOf(r.AuthoredOn); err != nil {
		return ServiceRequest{}, fmt.Errorf("authoredOn: %w", err)
	}
	return out, nil
}

func legacyRelRef(typ string, id *string) string {
	if id == nil || *id == "" {
		return ""
	}
	return typ + "/" + *id
}

func legacyConceptOf(cc models.CodeableConcept) Concept {
	var c Concept
	if cc.Text != nil {
		c.Text = *cc.Text
	}
	for _, cd := range cc.Coding {
		c.Codings = append(c.Codings, Coding{System: legacyDeref(cd.System), Code: legacyDeref(cd.Code), Display: legacyDeref(cd.Display)})
	}
	return c
}

// legacyStatusCode picks the code of a status CodeableConcept, preferring the
// coding from the expected system.
func legacyStatusCode(cc *models.CodeableConcept, system string) string {
	if cc == nil {
		return ""
	}
	first := ""
	for _, cd := range cc.Coding {
		if cd.Code == nil {
			continue
		}
		if legacyDeref(cd.System) == system {
			return *cd.Code
		}
		if first == "" {
			first = *cd.Code
		}
	}
	return first
}

func legacyQuantityOf(q *models.Quantity) (*Quantity, error) {
	if q == nil || q.Value == nil {
		return nil, nil
	}
	v, err := q.Value.Float64()
	if err != nil {
		return nil, errors.New("value is not a decimal")
	}
	out := &Quantity{Value: v, Unit: legacyDeref(q.Unit), System: legacyDeref(q.System), Code: legacyDeref(q.Code)}
	if q.Comparator != nil {
		out.Comparator = q.Comparator.Code()
	}
	return out, nil
}

func legacyPeriodOf(p *models.Period) (Period, error) {
	start, err := legacyStartOf(p.Start)
	if err != nil {
		return Period{}, err
	}
	end, err := legacyEndOf(p.End)
	return Period{Start: start, End: end}, err
}

func legacyDeref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func legacyAbout(p patientMatcher, r legacyResource) bool {
	if !p.check {
		return true
	}
	switch {
	case r.head.ResourceType == "Patient":
		return p.id != "" && r.head.ID == p.id || p.fullURL != "" && r.fullURL == p.fullURL
	case hasSubject[r.head.ResourceType]:
		return p.names(r.head.Subject.Reference)
	}
	return true
}

func legacyStartOf(s *string) (time.Time, error) {
	if s == nil {
		return time.Time{}, nil
	}
	return startOf(*s)
}

func legacyEndOf(s *string) (time.Time, error) {
	if s == nil {
		return time.Time{}, nil
	}
	return endOf(*s)
}

// legacyParsePage is parsePage as it was.
func legacyParsePage(body []byte) (*legacyRawBundle, json.RawMessage, error) {
	var b legacyRawBundle
	if err := json.Unmarshal(body, &b); err == nil && b.ResourceType == "Bundle" {
		return &b, nil, nil
	}
	var h legacyResourceHead
	if err := json.Unmarshal(body, &h); err != nil || h.ResourceType == "" {
		return nil, nil, failf("response is not a FHIR resource")
	}
	switch h.ResourceType {
	case "OperationOutcome":
		return nil, nil, errOutcome
	case "Bundle":
		return nil, nil, failf("response Bundle is malformed")
	default:
		return nil, body, nil
	}
}

// legacyReadBundle is ReadBundle as it was, from bytes.
func legacyReadBundle(data []byte) (*Record, error) {
	var b legacyRawBundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("reading FHIR Bundle: %w", err)
	}
	if b.ResourceType != "Bundle" {
		return nil, errors.New("reading FHIR Bundle: resourceType is not Bundle")
	}
	a := legacyNewAssembler()
	a.addBundle("", &b)
	rec, pending := a.build(a.bundlePatient())
	for _, p := range pending {
		rec.Skipped = append(rec.Skipped, Skipped{Source: p.source, Ref: p.entryRef, Reason: ErrUnresolvedReference.Error()})
	}
	return rec, nil
}
