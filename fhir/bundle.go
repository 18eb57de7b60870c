package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// DecodeMedication normalises one raw MedicationRequest or
// MedicationStatement (e.g. a draft order of an order-select hook), applying
// the same rules as a Record. Its medicationReference may point only to a
// Medication contained in it; any other reference gives an error wrapping
// ErrUnresolvedReference (use ReadBundle for a Bundle whose entries refer to
// each other). A resource that is malformed, of another type, or whose status
// says it never happened (entered-in-error, cancelled, not-taken, or a
// doNotPerform request) gives an error saying why.
func DecodeMedication(raw json.RawMessage) (Medication, error) {
	d, err := readDocument(raw)
	a := newAssembler()
	if err == nil && d.typ != "Bundle" {
		a.add("draft order", "", d.res)
	}
	if len(a.resources) == 0 {
		return Medication{}, errors.New("not a FHIR resource (no readable resourceType)")
	}
	if t := a.resources[0].typ; t != "MedicationRequest" && t != "MedicationStatement" {
		return Medication{}, errors.New("resourceType is not MedicationRequest or MedicationStatement")
	}
	// A draft names its patient in its subject; the caller checks it.
	rec, pending := a.build(patientMatcher{})
	switch {
	case len(pending) > 0:
		return Medication{}, ErrUnresolvedReference
	case len(rec.Medications) == 0 && len(rec.Skipped) > 0:
		return Medication{}, errors.New(rec.Skipped[0].Reason)
	}
	return rec.Medications[0], nil
}
