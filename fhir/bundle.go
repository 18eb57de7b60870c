package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	models "github.com/samply/golang-fhir-models/fhir-models/fhir"
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
// resolves to neither is skipped with its reason. It returns an error only
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
	var b rawBundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("reading FHIR Bundle: %w", err)
	}
	if b.ResourceType != "Bundle" {
		return nil, fmt.Errorf("reading FHIR Bundle: resourceType is %q, want Bundle", b.ResourceType)
	}
	a := newAssembler()
	a.addBundle("", &b)
	rec, pending := a.build("")
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
// their raw JSON by fullUrl and by "Medication/id"). Only
// medication[x] is decoded: a draft is judged by its drug, and the CDS Hooks
// sandbox sends other fields (category as an object) in shapes FHIR R4 does
// not allow. The Medication's Ref is the draft's own reference. A reference
// nothing resolves gives ErrUnresolvedReference; a drug that cannot be read,
// an error saying why.
func DraftMedication(raw json.RawMessage, medications map[string]json.RawMessage) (Medication, error) {
	var d struct {
		ID                        *string                `json:"id"`
		Status                    string                 `json:"status"`
		MedicationCodeableConcept models.CodeableConcept `json:"medicationCodeableConcept"`
		MedicationReference       models.Reference       `json:"medicationReference"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return Medication{}, fmt.Errorf("does not decode as FHIR R4: %s", shorten(err.Error()))
	}
	drug, err := drugOf(d.MedicationCodeableConcept, d.MedicationReference)
	if err != nil {
		return Medication{}, err
	}
	e := medicationEntry{med: Medication{Ref: relRef("MedicationRequest", d.ID), Status: d.Status}, drug: drug}
	m, unresolved, err := resolveDrug(e, raw, lookupIn(medications))
	switch {
	case err != nil:
		return Medication{}, err
	case unresolved != "":
		return Medication{}, ErrUnresolvedReference
	}
	return m, nil
}
