package legcramps

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/fhir"
)

// This file reads the MedicationRequests of an order hook's draftOrders
// (cdshooks.Request.DraftOrders): which drafts are being ordered, for this
// patient, and their drug as the fhir package reads it.

// draftOrder is one draft MedicationRequest of an order hook, normalised.
type draftOrder struct {
	// Index is the entry's position in draftOrders, for messages.
	Index int
	// Ref is the draft's own reference ("MedicationRequest/request-123"),
	// the resourceId of the delete action; "" when the draft has no id.
	Ref string
	// Medication is the draft's drug as the fhir package reads it: the
	// drug's concept, and its ingredients when it names a Medication.
	Medication fhir.Medication
}

// draftMedications returns the MedicationRequests of draftOrders that are
// being ordered and name a drug, in Bundle order, read by the fhir reader
// (fhir.ReadDraftRequest) with the member-name and status rules of every
// other FHIR it reads. Drafts that name no drug yet (the sandbox's Rx View
// fires before one is picked), or that are not being ordered
// (fhir.DraftBeingOrdered) are left out: there is nothing to warn about.
// Other resource types (ServiceRequest...) are left out too. A
// MedicationRequest that cannot be read, names a Medication that is neither
// contained nor in draftOrders, or is about another patient than
// context.patientId, gives an invalid *Error naming the entry.
func draftMedications(r *cdshooks.Request) ([]draftOrder, error) {
	entries, err := r.DraftOrders()
	if err != nil {
		return nil, err
	}
	medications := draftMedicationIndex(entries)
	var picked []draftOrder
	for _, e := range entries {
		if e.ResourceType != "MedicationRequest" {
			continue
		}
		at := fmt.Sprintf("context.draftOrders.entry[%d].resource", e.Index)
		d, err := fhir.ReadDraftRequest(e.Resource, r.PatientID(), medications)
		var fieldErr *fhir.DraftFieldError
		switch {
		case errors.As(err, &fieldErr):
			return nil, cdshooks.Errorf(cdshooks.EINVALID, "%s.%s has the wrong JSON type", at, fieldErr.Field)
		case errors.Is(err, fhir.ErrOtherPatient):
			return nil, cdshooks.Errorf(cdshooks.EINVALID, "%s.subject is another patient than context.patientId", at)
		case err != nil:
			return nil, cdshooks.Errorf(cdshooks.EINVALID, "%s cannot be read as a MedicationRequest: %s", at, err)
		case !d.Ordered:
			continue
		}
		picked = append(picked, draftOrder{Index: e.Index, Ref: e.Ref(), Medication: d.Medication})
	}
	return picked, nil
}

// draftMedicationIndex maps each Medication of draftOrders to its raw JSON,
// by its fullUrl and by "Medication/id", as fhir.DraftMedication looks them up.
func draftMedicationIndex(entries []cdshooks.DraftOrder) map[string]json.RawMessage {
	idx := map[string]json.RawMessage{}
	for _, e := range entries {
		if e.ResourceType != "Medication" {
			continue
		}
		if e.FullURL != "" {
			idx[e.FullURL] = e.Resource
		}
		if ref := e.Ref(); ref != "" {
			idx[ref] = e.Resource
		}
	}
	return idx
}

// orderedDrafts picks the drafts the hook is about: on order-select the
// selected ones, on order-sign all of them.
func orderedDrafts(r *cdshooks.Request, drafts []draftOrder) []draftOrder {
	if r.Hook != cdshooks.HookOrderSelect {
		return drafts
	}
	selections, _, _ := r.ContextStrings("selections")
	var out []draftOrder
	for _, d := range drafts {
		if d.Ref != "" && slices.Contains(selections, d.Ref) {
			out = append(out, d)
		}
	}
	return out
}
