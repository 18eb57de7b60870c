package cdshooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cramp-cds/cramp-cds/fhir"
)

// This file reads the order hooks' draftOrders Bundle: first its shape (any
// order hook, from Request.Validate), then its MedicationRequests, normalised
// by the fhir package exactly as the patient's own medications are.

// draftEntry is one entry of context.draftOrders as the order hooks see it
// before any FHIR decoding.
type draftEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
}

// draftHead is the peek every draft entry gets: what it is and which draft it is.
type draftHead struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
}

// ref is "Type/id", or "" for a resource without an id.
func (h draftHead) ref() string {
	if h.ID == "" {
		return ""
	}
	return h.ResourceType + "/" + h.ID
}

// draftEntries returns the entries of context.draftOrders with their peeked
// heads, or the problems that make the Bundle unreadable, each naming the
// entry. A Bundle without entries has no drafts. A draftOrders that is
// absent or not a Bundle has none either: the context field checks of
// Validate report those.
func draftEntries(r *Request) ([]draftEntry, []draftHead, []string) {
	raw, ok := r.ContextRaw("draftOrders")
	if !ok || IsNull(raw) {
		return nil, nil, nil // Validate has already said it is required
	}
	var b struct {
		ResourceType string          `json:"resourceType"`
		Entry        json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(raw, &b); err != nil || b.ResourceType != "Bundle" {
		return nil, nil, nil // the context field check reports it
	}
	if len(b.Entry) == 0 || IsNull(b.Entry) {
		return nil, nil, nil
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(b.Entry, &raws); err != nil {
		return nil, nil, []string{"context.draftOrders.entry must be an array"}
	}
	entries := make([]draftEntry, len(raws))
	heads := make([]draftHead, len(raws))
	var problems []string
	for i, re := range raws {
		at := fmt.Sprintf("context.draftOrders.entry[%d]", i)
		if err := json.Unmarshal(re, &entries[i]); err != nil || !isObject(re) {
			problems = append(problems, at+" must be an object with a resource")
			continue
		}
		res := entries[i].Resource
		if len(res) == 0 || IsNull(res) {
			problems = append(problems, at+".resource is required (the draft order)")
			continue
		}
		if err := json.Unmarshal(res, &heads[i]); err != nil || !isObject(res) || heads[i].ResourceType == "" {
			problems = append(problems, at+".resource must be a FHIR resource with a resourceType and a string id")
		}
	}
	return entries, heads, problems
}

// isObject reports whether raw JSON is an object.
func isObject(raw json.RawMessage) bool {
	t := bytes.TrimLeft(raw, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

// checkDraftOrders checks what CDS Hooks says of an order hook's drafts:
// draftOrders holds readable resources, and on order-select each selection
// is a reference ("MedicationRequest/123") to one of them. It returns the
// problems found.
func checkDraftOrders(r *Request) []string {
	_, heads, problems := draftEntries(r)
	if r.Hook != HookOrderSelect || len(problems) > 0 {
		return problems
	}
	selections, _, err := r.ContextStrings("selections")
	if err != nil {
		return nil // Validate reports the type of selections
	}
	for i, sel := range selections {
		if !slices.ContainsFunc(heads, func(h draftHead) bool { return h.ref() != "" && h.ref() == sel }) {
			problems = append(problems, fmt.Sprintf("context.selections[%d] must reference an entry of context.draftOrders (as ResourceType/id)", i))
		}
	}
	return problems
}

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
func draftMedications(r *Request) ([]draftOrder, error) {
	entries, heads, problems := draftEntries(r)
	if len(problems) > 0 {
		return nil, Errorf(EINVALID, "%s", strings.Join(problems, "; "))
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
		switch heads[i].ResourceType {
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
				return nil, Errorf(EINVALID, "%s.%s has the wrong JSON type", at, typeErr.Field)
			}
			return nil, Errorf(EINVALID, "%s is not a readable MedicationRequest", at)
		}
		if !aboutPatient(mr.Subject, r.PatientID()) {
			return nil, Errorf(EINVALID, "%s.subject is another patient than context.patientId", at)
		}
		named := len(mr.MedicationCodeableConcept) > 0 && !IsNull(mr.MedicationCodeableConcept) ||
			len(mr.MedicationReference) > 0 && !IsNull(mr.MedicationReference)
		if !named || notBeingOrdered[mr.Status] || (mr.DoNotPerform != nil && *mr.DoNotPerform) {
			continue
		}
		mr.ID, mr.Subject, mr.DoNotPerform = draftID(i), nil, nil
		bundle.Entry = append(bundle.Entry, map[string]any{"resource": mr})
		picked = append(picked, draftOrder{Index: i, Ref: heads[i].ref()})
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
			return nil, Errorf(EINVALID, "context.draftOrders.entry[%d].resource cannot be read as a MedicationRequest: %s", i, s.Reason)
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

// aboutPatient reports whether a draft's subject may be the patient
// patientID: true unless it is a Patient reference (relative or absolute)
// to another id. The EHR puts the drafts of the patient in context there;
// one about someone else is a bug we must not reason on.
func aboutPatient(subject *draftReference, patientID string) bool {
	if subject == nil || subject.Reference == "" || patientID == "" {
		return true
	}
	ref, _, _ := strings.Cut(subject.Reference, "/_history/")
	parts := strings.Split(ref, "/")
	if len(parts) < 2 || parts[len(parts)-2] != "Patient" {
		return true
	}
	return parts[len(parts)-1] == patientID
}

// orderedDrafts picks the drafts the hook is about: on order-select the
// selected ones, on order-sign all of them.
func orderedDrafts(r *Request, drafts []draftOrder) []draftOrder {
	if r.Hook != HookOrderSelect {
		return drafts
	}
	selections, _, _ := r.ContextStrings("selections")
	var out []draftOrder
	for _, d := range drafts {
		for _, sel := range selections {
			if d.Ref != "" && d.Ref == sel {
				out = append(out, d)
				break
			}
		}
	}
	return out
}
