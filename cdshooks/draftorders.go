package cdshooks

import (
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

// DraftOrdersReader reads an order hook's context.draftOrders with the FHIR
// reader the caller gives (fhir.EachDraftOrder): the protocol reads no FHIR
// itself, so one reader, with one rule for member names and types, reads every
// resource a request holds. isBundle is false when raw is present but not a
// FHIR Bundle; fn gets each entry that holds a resource with a resourceType;
// problems name each entry that does not, never echoing its content.
type DraftOrdersReader func(raw []byte, fn func(index int, fullURL, resourceType, id string, resource []byte)) (isBundle bool, problems []string)

// noDraftOrders reads every draftOrders as a Bundle without entries, for a
// server none of whose services serves an order hook.
func noDraftOrders([]byte, func(int, string, string, string, []byte)) (bool, []string) {
	return true, nil
}

// draftOrders is context.draftOrders read once per request: Validate and the
// services share it.
type draftOrders struct {
	read     bool
	isBundle bool
	entries  []DraftOrder
	problems []string
}

// DraftOrders returns the entries of context.draftOrders in Bundle order, as
// Validate read them. A draftOrders that is absent, null or not a Bundle, or
// a Bundle without entries, has none (for the order hooks Validate has
// already refused the first three). An entry without a resource, or whose
// resource has no resourceType, gives an invalid *Error naming the entry. It
// fails with an internal *Error when Validate has not read them.
func (r *Request) DraftOrders() ([]DraftOrder, error) {
	if !r.drafts.read {
		return nil, Errorf(EINTERNAL, "context.draftOrders read before the request was validated")
	}
	if len(r.drafts.problems) > 0 {
		return nil, Errorf(EINVALID, "%s", strings.Join(r.drafts.problems, "; "))
	}
	return r.drafts.entries, nil
}

// readDraftOrders reads context.draftOrders once with read.
func (r *Request) readDraftOrders(read DraftOrdersReader) *draftOrders {
	if r.drafts.read {
		return &r.drafts
	}
	r.drafts = draftOrders{read: true}
	r.drafts.isBundle, r.drafts.problems = read(r.Context["draftOrders"], func(index int, fullURL, resourceType, id string, resource []byte) {
		r.drafts.entries = append(r.drafts.entries, DraftOrder{Index: index, FullURL: fullURL, ResourceType: resourceType, ID: id, Resource: resource})
	})
	if !r.drafts.isBundle {
		r.drafts.entries, r.drafts.problems = nil, nil
	}
	return &r.drafts
}

// checkDraftOrders checks what CDS Hooks says of an order hook's drafts:
// draftOrders holds readable resources whose ids, when they have one, are
// FHIR ids (isFHIRID: a draft's id is what a delete suggestion names, and
// what a card may show), and on order-select each selection is a reference
// ("MedicationRequest/123") to one of them. It returns the problems found,
// naming entries, never echoing an id.
func checkDraftOrders(r *Request, isFHIRID func(string) bool, read DraftOrdersReader) []string {
	d := r.readDraftOrders(read)
	if !d.isBundle {
		return nil // the context field check reports it
	}
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
