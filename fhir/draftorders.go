package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cramp-cds/cramp-cds/internal/jsonscan"
)

// This file reads an order hook's context.draftOrders
// (https://cds-hooks.hl7.org/2.0/#hooks, order-select and order-sign) with
// the reader of prefetch values, fetched pages and Bundles: member names
// match exactly there too, so a "Status" beside or instead of "status" makes
// a draft as unreadable as it makes a prefetched resource.

// EachDraftOrder reads context.draftOrders. isBundle is false when raw is
// present but not a FHIR Bundle (absent and null are no drafts, and a
// Bundle). For each entry that holds a resource with a resourceType it calls
// fn with the entry's index, its fullUrl, the resource's type and id ("" when
// none) and the resource's JSON; problems name each entry that cannot be read
// that way, never echoing its content. Its signature is the one the protocol
// package takes (cdshooks.DraftOrdersReader), so that cdshooks reads no FHIR
// itself.
func EachDraftOrder(raw []byte, fn func(index int, fullURL, resourceType, id string, resource []byte)) (isBundle bool, problems []string) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return true, nil
	}
	d := decoder{r: jsonscan.New(raw)}
	if d.r.Null() {
		return true, nil
	}
	if d.r.Kind() != jsonscan.Object {
		return false, nil
	}
	m := d.r.Mark()
	if typ, ok := d.resourceType(); !ok || typ != "Bundle" || d.r.Err() != nil {
		return false, nil
	}
	d.r.Reset(m)
	var entries []byte // the last entry member, raw
	ok := true
	d.r.BeginObject()
	for d.r.More() {
		name := d.r.Name()
		switch string(name) {
		case "entry":
			entries = d.r.Raw()
		case "resourceType", "type", "link":
			d.r.Skip()
		default:
			for _, k := range bundleNames {
				ok = ok && !bytes.EqualFold(name, []byte(k))
			}
			d.r.Skip()
		}
	}
	if !ok || d.r.Err() != nil {
		return false, nil
	}
	d = decoder{r: jsonscan.New(entries)}
	if len(entries) == 0 || d.r.Null() {
		return true, nil
	}
	if !d.r.BeginArray() {
		return true, []string{"context.draftOrders.entry must be an array"}
	}
	for i := 0; d.r.More(); i++ {
		at := fmt.Sprintf("context.draftOrders.entry[%d]", i)
		fullURL, resource, ok := draftEntry(&d)
		switch {
		case !ok:
			problems = append(problems, at+" must be an object with a resource")
			continue
		case resource == nil:
			problems = append(problems, at+".resource is required (the draft order)")
			continue
		}
		head, err := readDocument(resource)
		if err != nil || head.typ == "" || head.malformed {
			problems = append(problems, at+".resource must be a FHIR resource with a resourceType and a string id")
			continue
		}
		fn(i, fullURL, head.typ, head.res.id, resource)
	}
	return true, problems
}

// draftEntry reads one entry of draftOrders: its fullUrl and its resource's
// JSON (nil when absent or null). ok is false when the entry is not an
// object, or a member it reads has the wrong type or letter case.
func draftEntry(d *decoder) (fullURL string, resource []byte, ok bool) {
	if d.r.Kind() != jsonscan.Object {
		d.r.Skip()
		return "", nil, false
	}
	ok = true
	d.r.BeginObject()
	for d.r.More() {
		name := d.r.Name()
		switch string(name) {
		case "fullUrl":
			d.bad = ""
			d.str(&fullURL, fresh, "fullUrl")
			ok = ok && d.bad == ""
		case "resource":
			if d.r.Null() {
				resource = nil
				continue
			}
			resource = d.r.Raw()
		default:
			for _, k := range entryNames {
				ok = ok && !bytes.EqualFold(name, []byte(k))
			}
			d.r.Skip()
		}
	}
	return fullURL, resource, ok
}

// DraftRequest is a draft MedicationRequest of context.draftOrders as the
// order rules read it.
type DraftRequest struct {
	// Medication is the drug ordered, Ref the draft's own reference.
	Medication Medication
	// Ordered is false when the draft is not an order being placed
	// (DraftBeingOrdered) or names no drug yet: there is nothing to judge.
	Ordered bool
}

// ErrOtherPatient reports a draft whose subject is another patient than the
// hook's.
var ErrOtherPatient = errors.New("subject is another patient than the hook's")

// DraftFieldError reports a member of a draft, one that decides whether it
// is being ordered, with the wrong JSON type.
type DraftFieldError struct{ Field string }

func (e *DraftFieldError) Error() string { return e.Field + " has the wrong JSON type" }

// ReadDraftRequest reads one draft MedicationRequest of context.draftOrders
// for the hook's patient: whether it is being ordered and names a drug,
// and its drug (DraftMedication). An unreadable draft is an error saying why:
// a *DraftFieldError for its status, doNotPerform or subject, ErrOtherPatient
// when it is about someone else, else the reason its body cannot be read,
// as a prefetched MedicationRequest would be skipped for.
func ReadDraftRequest(raw []byte, patientID string, medications map[string]json.RawMessage) (DraftRequest, error) {
	d, err := readDocument(raw)
	switch {
	case err != nil:
		return DraftRequest{}, fmt.Errorf("does not decode as FHIR R4: %w", err)
	case d.malformed || d.res.med == nil:
		// The envelope was read before (EachDraftOrder): what is left is a
		// subject of the wrong type.
		return DraftRequest{}, &DraftFieldError{Field: "subject"}
	}
	r := d.res
	for _, f := range []string{"status", "doNotPerform"} {
		if r.bad == wrongType(f) {
			return DraftRequest{}, &DraftFieldError{Field: f}
		}
	}
	if !AboutPatient(r.subject, patientID) {
		return DraftRequest{}, ErrOtherPatient
	}
	if err := errBody(r); err != nil {
		return DraftRequest{}, err
	}
	b := r.med
	if !b.conceptGiven && !b.referenceGiven || !DraftBeingOrdered(b.status, b.doNotPerform) {
		return DraftRequest{}, nil
	}
	m, err := DraftMedication(raw, medications)
	if err != nil {
		return DraftRequest{}, err
	}
	return DraftRequest{Medication: m, Ordered: true}, nil
}
