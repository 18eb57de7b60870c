package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/cramp-cds/cramp-cds/internal/jsonscan"
)

// ErrTooLarge reports input larger than the caller's size cap.
var ErrTooLarge = errors.New("FHIR input larger than the size cap")

// ErrUnresolvedReference reports a medicationReference that names a
// Medication the input does not contain.
var ErrUnresolvedReference = errors.New("medicationReference does not resolve within the input")

// ReadBundle reads a whole-patient FHIR R4 Bundle (transaction, collection,
// searchset, or any other type) of at most maxBytes bytes and normalises it
// into a Record. Entries are decoded one by one: a malformed or unusable entry
// is listed in Record.Skipped, never fatal. Medication references resolve to
// contained Medications and to Medications elsewhere in the Bundle; one that
// resolves to neither is skipped with its reason. The Bundle's first Patient
// is the patient: a resource whose subject names anyone else (or no one),
// and any other Patient, is skipped; a subject names the patient by its
// fullUrl (urn:uuid) or "Patient/id". A Bundle without a Patient (draft
// orders) has its subjects left to the caller to check. It returns an error only
// when the input is not a Bundle at all, is not JSON, or exceeds maxBytes
// (wrapping ErrTooLarge).
func ReadBundle(r io.Reader, maxBytes int64) (*Record, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading FHIR Bundle: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("reading FHIR Bundle: %w (%d bytes)", ErrTooLarge, maxBytes)
	}
	d, err := readDocument(data)
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading FHIR Bundle: %w", err)
	case d.typ != "Bundle":
		return nil, errors.New("reading FHIR Bundle: resourceType is not Bundle")
	case d.malformed:
		return nil, errors.New("reading FHIR Bundle: its members have the wrong JSON types")
	}
	a := newAssembler()
	a.addBundle("", d.bundle)
	rec, pending := a.build(a.bundlePatient())
	for _, p := range pending {
		rec.Skipped = append(rec.Skipped, Skipped{Source: p.source, Ref: p.entryRef, Reason: ErrUnresolvedReference.Error()})
	}
	return rec, nil
}

// DraftMedication reads the drug of one draft MedicationRequest of an order
// hook's context.draftOrders
// (https://cds-hooks.hl7.org/2.0/#hooks, order-select and order-sign): its
// medicationCodeableConcept, or the Medication its medicationReference names,
// contained in it ("#id") or elsewhere in draftOrders (medications holds
// their raw JSON by fullUrl and by "Medication/id"). Only the fields a
// MedicationRequest's rules read are decoded: a draft is judged by its drug,
// and the CDS Hooks sandbox sends other fields (category as an object) in
// shapes FHIR R4 does not allow. The Medication's Ref is the draft's own
// reference. A reference nothing resolves gives ErrUnresolvedReference; a
// drug that cannot be read, an error saying why.
func DraftMedication(raw json.RawMessage, medications map[string]json.RawMessage) (Medication, error) {
	d := decoder{r: jsonscan.New(raw)}
	if d.r.Kind() != jsonscan.Object {
		return Medication{}, errors.New("does not decode as FHIR R4: not a JSON object")
	}
	r, _ := d.resourceAs("MedicationRequest", true, true)
	if !d.r.End() {
		return Medication{}, errors.New("does not decode as FHIR R4: not valid JSON")
	}
	if r.unreadable && r.id == "" && r.subject == "" {
		r.unreadable = false // resourceType is not the draft's business here
	}
	if err := errBody(r); err != nil {
		return Medication{}, err
	}
	b := r.med
	e := medicationEntry{med: Medication{Ref: relRef("MedicationRequest", r.id), Status: b.status}}
	switch {
	case b.drugRef != "":
		e.drug = drugSource{reference: b.drugRef, display: b.drugDisplay}
	case len(b.drugConcept.Codings) == 0 && !b.drugConcept.hasText:
		return Medication{}, errors.New("names no medication (neither medicationCodeableConcept nor medicationReference)")
	default:
		e.drug = drugSource{concept: b.drugConcept}
	}
	m, unresolved, err := resolveDrug(e, r, func(ref string) *resource {
		raw := medications[ref]
		if raw == nil {
			if typ, id := splitRef(ref); typ == "Medication" {
				raw = medications["Medication/"+id]
			}
		}
		if raw == nil {
			return nil
		}
		if md, err := readDocument(raw); err == nil && md.typ == "Medication" && !md.malformed {
			return &md.res
		}
		return &resource{bad: "referenced Medication is not a readable FHIR resource"}
	})
	switch {
	case err != nil:
		return Medication{}, err
	case unresolved != "":
		return Medication{}, ErrUnresolvedReference
	}
	return m, nil
}
