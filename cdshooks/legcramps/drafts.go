package legcramps

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/fhir"
)

// This file reads the MedicationRequests of an order hook's draftOrders
// (cdshooks.Request.DraftOrders), normalised by the fhir package exactly as
// the patient's own medications are.

// draftOrder is one draft MedicationRequest of an order hook, normalised.
type draftOrder struct {
	// Index is the entry's position in draftOrders, for messages.
	Index int
	// Ref is the draft's own reference ("MedicationRequest/request-123"),
	// the resourceId of the delete action; "" when the draft has no id.
	Ref string
	// Medication is the draft as the fhir package normalises it: the drug's
	// concept, and its ingredients when it names a Medication.
	Medication fhir.Medication
}

// draftMedicationRequest is the part of a draft MedicationRequest the order
// hooks read. Decoding through it, rather than the whole resource, keeps a
// field we never look at from hiding the drug: the CDS Hooks sandbox sends
// category as an object where FHIR R4 has an array, which golang-fhir-models
// refuses.
type draftMedicationRequest struct {
	ResourceType              string          `json:"resourceType"`
	ID                        string          `json:"id,omitempty"`
	Status                    string          `json:"status,omitempty"`
	DoNotPerform              *bool           `json:"doNotPerform,omitempty"`
	Subject                   *draftReference `json:"subject,omitempty"`
	MedicationCodeableConcept json.RawMessage `json:"medicationCodeableConcept,omitempty"`
	MedicationReference       json.RawMessage `json:"medicationReference,omitempty"`
	Contained                 json.RawMessage `json:"contained,omitempty"`
}

type draftReference struct {
	Reference string `json:"reference"`
}

// notBeingOrdered lists the MedicationRequest statuses under which a draft
// is no longer an order being placed: withdrawn (cancelled), recorded by
// mistake, or already over. order-sign also fires on "re-sign" after a
// revision, so active and on-hold drafts are still being ordered.
var notBeingOrdered = map[string]bool{"cancelled": true, "entered-in-error": true, "stopped": true, "completed": true}

// draftMedications returns the MedicationRequests of draftOrders that are
// being ordered and name a drug, in Bundle order. Drafts that name no drug
// yet (the sandbox's Rx View fires before one is picked), that are not
// being ordered (see notBeingOrdered), or that order a drug not to be given
// (doNotPerform) are left out: there is nothing to warn about. Other
// resource types (ServiceRequest...) are left out too. A MedicationRequest
// that cannot be read, names a Medication that is neither contained nor in
// draftOrders, or is about another patient than context.patientId, gives an
// invalid *Error naming the entry.
func draftMedications(r *cdshooks.Request) ([]draftOrder, error) {
	entries, err := r.DraftOrders()
	if err != nil {
		return nil, err
	}
	// The drafts are normalised together, with the Bundle's Medications, so
	// that a medicationReference to one of them resolves. Each draft gets a
	// positional id there: drafts without an id (or with the same one) stay
	// apart, and the Record's entries map back to the Bundle's.
	var bundle struct {
		ResourceType string           `json:"resourceType"`
		Entry        []map[string]any `json:"entry"`
	}
	bundle.ResourceType = "Bundle"
	var picked []draftOrder
	for i, e := range entries {
		switch e.ResourceType {
		case "Medication":
			bundle.Entry = append(bundle.Entry, map[string]any{"fullUrl": e.FullURL, "resource": e.Resource})
			continue
		case "MedicationRequest":
		default:
			continue
		}
		at := fmt.Sprintf("context.draftOrders.entry[%d].resource", i)
		var mr draftMedicationRequest
		if err := json.Unmarshal(e.Resource, &mr); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) && typeErr.Field != "" {
				return nil, cdshooks.Errorf(cdshooks.EINVALID, "%s.%s has the wrong JSON type", at, typeErr.Field)
			}
			return nil, cdshooks.Errorf(cdshooks.EINVALID, "%s is not a readable MedicationRequest", at)
		}
		if mr.Subject != nil && !fhir.AboutPatient(mr.Subject.Reference, r.PatientID()) {
			return nil, cdshooks.Errorf(cdshooks.EINVALID, "%s.subject is another patient than context.patientId", at)
		}
		named := len(mr.MedicationCodeableConcept) > 0 && !cdshooks.IsNull(mr.MedicationCodeableConcept) ||
			len(mr.MedicationReference) > 0 && !cdshooks.IsNull(mr.MedicationReference)
		if !named || notBeingOrdered[mr.Status] || (mr.DoNotPerform != nil && *mr.DoNotPerform) {
			continue
		}
		mr.ID, mr.Subject, mr.DoNotPerform = draftID(i), nil, nil
		bundle.Entry = append(bundle.Entry, map[string]any{"resource": mr})
		picked = append(picked, draftOrder{Index: i, Ref: e.Ref()})
	}
	if len(picked) == 0 {
		return nil, nil
	}
	data, err := json.Marshal(bundle)
	if err != nil {
		return nil, fmt.Errorf("re-encoding draft orders: %w", err)
	}
	rec, err := fhir.ReadBundle(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("reading draft orders: %w", err)
	}
	byRef := make(map[string]fhir.Medication, len(rec.Medications))
	for _, m := range rec.Medications {
		byRef[m.Ref] = m
	}
	for _, s := range rec.Skipped {
		if i, ok := draftIndex(s.Ref); ok {
			return nil, cdshooks.Errorf(cdshooks.EINVALID, "context.draftOrders.entry[%d].resource cannot be read as a MedicationRequest: %s", i, s.Reason)
		}
	}
	for k := range picked {
		m, ok := byRef["MedicationRequest/"+draftID(picked[k].Index)]
		if !ok {
			return nil, fmt.Errorf("draft order entry %d vanished while normalising", picked[k].Index)
		}
		m.Ref = picked[k].Ref
		picked[k].Medication = m
	}
	return picked, nil
}

// draftIDPrefix starts the positional ids drafts get while normalised.
const draftIDPrefix = "cramp-cds-draft-"

func draftID(i int) string { return fmt.Sprintf("%s%d", draftIDPrefix, i) }

// draftIndex is the entry index of a positional draft reference.
func draftIndex(ref string) (int, bool) {
	var i int
	if _, err := fmt.Sscanf(ref, "MedicationRequest/"+draftIDPrefix+"%d", &i); err != nil {
		return 0, false
	}
	return i, true
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
