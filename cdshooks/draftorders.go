package cdshooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// DraftOrder is one entry of an order hook's context.draftOrders Bundle,
// peeked but not decoded as FHIR: what it is, which draft it is, and its
// resource as the client sent it.
type DraftOrder struct {
	// Index is the entry's position in draftOrders, for messages.
	Index int
	// FullURL is the entry's fullUrl, "" when absent.
	FullURL string
	// ResourceType and ID are the resource's; ID is "" when it has none.
	ResourceType string
	ID           string
	// Resource is the entry's resource, raw.
	Resource json.RawMessage
}

// Ref is the draft's own reference, "ResourceType/id" (what order-select's
// selections name and a delete action's resourceId holds), or "" for a
// resource without an id.
func (d DraftOrder) Ref() string {
	if d.ID == "" {
		return ""
	}
	return d.ResourceType + "/" + d.ID
}

// draftOrders is context.draftOrders read once per request: Validate and the
// services share it.
type draftOrders struct {
	read     bool
	entries  []DraftOrder
	problems []string
}

// DraftOrders returns the entries of context.draftOrders in Bundle order. A
// draftOrders that is absent, null or not a Bundle, or a Bundle without
// entries, has none (for the order hooks Validate has already refused the
// first three). An entry without a resource, or whose resource has no
// resourceType, gives an invalid *Error naming the entry. The Bundle is
// decoded once per Request, however often this is called: a Request is not
// safe for concurrent use.
func (r *Request) DraftOrders() ([]DraftOrder, error) {
	d := r.readDraftOrders()
	if len(d.problems) > 0 {
		return nil, Errorf(EINVALID, "%s", strings.Join(d.problems, "; "))
	}
	return d.entries, nil
}

func (r *Request) readDraftOrders() *draftOrders {
	if r.drafts.read {
		return &r.drafts
	}
	r.drafts = draftOrders{read: true}
	r.drafts.entries, r.drafts.problems = decodeDraftOrders(r.Context["draftOrders"])
	return &r.drafts
}

// decodeDraftOrders peeks at every entry of a draftOrders Bundle, returning
// the problems that make it unreadable, each naming the entry.
func decodeDraftOrders(raw json.RawMessage) ([]DraftOrder, []string) {
	if len(raw) == 0 || IsNull(raw) {
		return nil, nil
	}
	var b struct {
		ResourceType string          `json:"resourceType"`
		Entry        json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(raw, &b); err != nil || b.ResourceType != "Bundle" {
		return nil, nil // the context field check reports it
	}
	if len(b.Entry) == 0 || IsNull(b.Entry) {
		return nil, nil
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(b.Entry, &raws); err != nil {
		return nil, []string{"context.draftOrders.entry must be an array"}
	}
	entries := make([]DraftOrder, len(raws))
	var problems []string
	for i, re := range raws {
		at := fmt.Sprintf("context.draftOrders.entry[%d]", i)
		var e struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		}
		if err := json.Unmarshal(re, &e); err != nil || !isObject(re) {
			problems = append(problems, at+" must be an object with a resource")
			continue
		}
		if len(e.Resource) == 0 || IsNull(e.Resource) {
			problems = append(problems, at+".resource is required (the draft order)")
			continue
		}
		var head struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		}
		if err := json.Unmarshal(e.Resource, &head); err != nil || !isObject(e.Resource) || head.ResourceType == "" {
			problems = append(problems, at+".resource must be a FHIR resource with a resourceType and a string id")
			continue
		}
		entries[i] = DraftOrder{Index: i, FullURL: e.FullURL, ResourceType: head.ResourceType, ID: head.ID, Resource: e.Resource}
	}
	return entries, problems
}

// isObject reports whether raw JSON is an object.
func isObject(raw json.RawMessage) bool {
	t := bytes.TrimLeft(raw, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

// checkDraftOrders checks what CDS Hooks says of an order hook's drafts:
// draftOrders holds readable resources whose ids, when they have one, are
// FHIR ids (isFHIRID: a draft's id is what a delete suggestion names, and
// what a card may show), and on order-select each selection is a reference
// ("MedicationRequest/123") to one of them. It returns the problems found,
// naming entries, never echoing an id.
func checkDraftOrders(r *Request, isFHIRID func(string) bool) []string {
	d := r.readDraftOrders()
	if len(d.problems) > 0 {
		return d.problems
	}
	var problems []string
	for _, e := range d.entries {
		if e.ID != "" && !isFHIRID(e.ID) {
			problems = append(problems, fmt.Sprintf("context.draftOrders.entry[%d].resource.id must be a FHIR id (letters, digits, '-' and '.', at most 64)", e.Index))
		}
	}
	if r.Hook != HookOrderSelect || len(problems) > 0 {
		return problems
	}
	selections, _, err := r.ContextStrings("selections")
	if err != nil {
		return nil // Validate reports the type of selections
	}
	for i, sel := range selections {
		if !slices.ContainsFunc(d.entries, func(e DraftOrder) bool { return e.Ref() != "" && e.Ref() == sel }) {
			problems = append(problems, fmt.Sprintf("context.selections[%d] must reference an entry of context.draftOrders (as ResourceType/id)", i))
		}
	}
	return problems
}
