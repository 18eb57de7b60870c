package cdshooks_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/fhir"
)

func TestDraftOrdersAreReadOnceWithTheirReferences(t *testing.T) {
	t.Parallel()
	var req cdshooks.Request
	body := `{"hook":"order-sign","hookInstance":"1","context":{"userId":"Practitioner/1","patientId":"p1",
		"draftOrders":{"resourceType":"Bundle","entry":[
			{"fullUrl":"urn:uuid:a","resource":{"resourceType":"MedicationRequest","id":"m1"}},
			{"resource":{"resourceType":"ServiceRequest"}}]}}}`
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	if err := req.Validate(fhir.ValidID, fhir.EachDraftOrder); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	drafts, err := req.DraftOrders()
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		Index              int
		FullURL, Type, Ref string
	}
	var got []view
	for _, d := range drafts {
		got = append(got, view{d.Index, d.FullURL, d.ResourceType, d.Ref()})
	}
	want := []view{{0, "urn:uuid:a", "MedicationRequest", "MedicationRequest/m1"}, {1, "", "ServiceRequest", ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("drafts (-want +got):\n%s", diff)
	}
	// The Bundle Validate read is the one the service gets: not decoded again.
	req.Context["draftOrders"] = json.RawMessage(`{"resourceType":"Bundle","entry":[]}`)
	if again, _ := req.DraftOrders(); len(again) != 2 {
		t.Errorf("second DraftOrders gave %d entries, want the 2 read first", len(again))
	}
}

func TestUnreadableDraftOrdersAreInvalid(t *testing.T) {
	t.Parallel()
	var req cdshooks.Request
	body := `{"hook":"order-sign","hookInstance":"1","context":{"draftOrders":{"resourceType":"Bundle","entry":[{"fullUrl":"x"}]}}}`
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	_ = req.Validate(fhir.ValidID, fhir.EachDraftOrder) // reads draftOrders
	_, err := req.DraftOrders()
	if cdshooks.ErrorCode(err) != cdshooks.EINVALID || !strings.Contains(err.Error(), "context.draftOrders.entry[0].resource is required") {
		t.Errorf("DraftOrders error %v, want an invalid error naming entry[0].resource", err)
	}
}
