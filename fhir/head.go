package fhir

import (
	"errors"
	"fmt"
)

// Head is what routes one resource read on its own, such as a line of a
// Bulk Data NDJSON export: its type and id, the patient it is about, and the
// Medication it names.
type Head struct {
	Type, ID string
	// Subject is subject.reference, "" when absent.
	Subject string
	// MedicationRef is medicationReference.reference of a medication
	// entry (MedicationRequest, MedicationStatement,
	// MedicationAdministration), "" when absent.
	MedicationRef string
	// Problem is why the resource's body will not be read ("" when it will):
	// a field the rules read has the wrong JSON type or an unknown code, or
	// a member is spelt in another letter case. The resource is still routed
	// by its Head; the Record reader skips it for this reason.
	Problem string
}

// ErrNotJSON reports input that is not JSON at all.
var ErrNotJSON = errors.New("not valid JSON")

// ReadHead reads one resource with the reader of prefetch values, fetched
// pages and Bundles, so its member names match exactly as there: a
// "Subject" beside or instead of "subject" is no subject. It fails with
// ErrNotJSON when data is not JSON, and with an error saying why when data is
// not a resource (no resourceType, an id or subject of the wrong type).
func ReadHead(data []byte) (Head, error) {
	d, err := readDocument(data)
	switch {
	case err != nil:
		return Head{}, fmt.Errorf("%w: %w", ErrNotJSON, err)
	case d.typ == "" && firstByte(data) != '{':
		// The words of the encoding/json peek this replaced.
		return Head{}, errors.New("not a FHIR resource (a field has the wrong JSON type)")
	case d.typ == "":
		return Head{}, errors.New("not a FHIR resource (no resourceType)")
	case d.malformed:
		return Head{}, errors.New("not a FHIR resource (a field has the wrong JSON type)")
	case d.bundle != nil:
		return Head{Type: d.typ}, nil
	}
	h := Head{Type: d.typ, ID: d.res.id, Subject: d.res.subject, Problem: d.res.bad}
	if d.res.med != nil {
		h.MedicationRef = d.res.med.drugRef
	}
	return h, nil
}

// ErrNoPatient reports a Bundle without a Patient that has an id.
var ErrNoPatient = errors.New("the Bundle holds no Patient with an id")

// BundlePatientID returns the id of a Bundle's first readable Patient that
// has one, read as ReadBundle reads the Bundle. It fails when data is not a
// readable Bundle, and with ErrNoPatient when no entry is such a Patient.
func BundlePatientID(data []byte) (string, error) {
	d, err := readDocument(data)
	switch {
	case err != nil:
		return "", fmt.Errorf("%w: %w", ErrNotJSON, err)
	case d.typ != "Bundle" || d.malformed:
		return "", errors.New("not a FHIR Bundle")
	}
	for _, e := range d.bundle.entries {
		if e.res != nil && !e.res.unreadable && e.res.typ == "Patient" && e.res.id != "" {
			return e.res.id, nil
		}
	}
	return "", ErrNoPatient
}

// firstByte is the first byte of data that is not JSON white space, 0 when none.
func firstByte(data []byte) byte {
	for _, c := range data {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			return c
		}
	}
	return 0
}
