package fhir_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/fhir"
)

// TestCaseVariantMembersAreReadAlikeEverywhere: FHIR JSON member names are
// case-sensitive, and every entry point reads them with one reader. A draft
// MedicationRequest with "Status":"cancelled" beside "status":"active" (which
// encoding/json, folding case, once read as cancelled) is unreadable for the
// same reason as a prefetch value, a fetched page, a Bundle file, an order
// hook's draftOrders and an NDJSON line.
func TestCaseVariantMembersAreReadAlikeEverywhere(t *testing.T) {
	t.Parallel()
	mr := `{"resourceType":"MedicationRequest","id":"mr-1","status":"active","Status":"cancelled","intent":"order",` + furosemideCC +
		`,"subject":{"reference":"Patient/` + patientID + `"},"authoredOn":"2023-05-01"}`
	const reason = "member status is spelt in another letter case"
	templates := map[string]string{"medicationRequests": crampTemplates["medicationRequests"]}

	skippedFor := func(t *testing.T, entryPoint string, rec *fhir.Record) {
		t.Helper()
		if len(rec.Medications) != 0 {
			t.Errorf("%s: read medications %+v, want none", entryPoint, rec.Medications)
		}
		if len(rec.Skipped) != 1 || rec.Skipped[0].Reason != reason {
			t.Errorf("%s: skipped %+v, want MedicationRequest/mr-1 for %q", entryPoint, rec.Skipped, reason)
		}
	}
	t.Run("prefetch", func(t *testing.T) {
		t.Parallel()
		rec, _, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
			Templates: templates,
			Prefetch:  map[string]json.RawMessage{"medicationRequests": json.RawMessage(searchset(mr))},
		})
		if err != nil {
			t.Fatal(err)
		}
		skippedFor(t, "prefetch", rec)
	})
	t.Run("fetched page", func(t *testing.T) {
		t.Parallel()
		srv := newFakeFHIR(t, map[string]http.HandlerFunc{"MedicationRequest": serveJSON(searchset(mr))})
		rec, _, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
			Templates: templates, FHIRServer: srv.base(), AllowedServer: allowAll,
		})
		if err != nil {
			t.Fatal(err)
		}
		skippedFor(t, "fetched page", rec)
	})
	t.Run("Bundle", func(t *testing.T) {
		t.Parallel()
		rec, err := fhir.ReadBundle(strings.NewReader(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":`+patientJSON+`},{"resource":`+mr+`}]}`), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		skippedFor(t, "Bundle", rec)
	})
	t.Run("draftOrders", func(t *testing.T) {
		t.Parallel()
		var drafts []string
		isBundle, problems := fhir.EachDraftOrder([]byte(`{"resourceType":"Bundle","entry":[{"resource":`+mr+`}]}`),
			func(_ int, _, typ, id string, resource []byte) { drafts = append(drafts, typ+"/"+id) })
		if !isBundle || len(problems) != 0 || len(drafts) != 1 {
			t.Fatalf("EachDraftOrder: Bundle %v, problems %q, drafts %q; want the one draft", isBundle, problems, drafts)
		}
		d, err := fhir.ReadDraftRequest([]byte(mr), patientID, nil)
		if err == nil || err.Error() != reason {
			t.Errorf("ReadDraftRequest = %+v, %v; want the error %q", d, err, reason)
		}
	})
	t.Run("NDJSON line", func(t *testing.T) {
		t.Parallel()
		h, err := fhir.ReadHead([]byte(mr))
		if err != nil || h.Problem != reason {
			t.Errorf("ReadHead = %+v, %v; want the problem %q", h, err, reason)
		}
	})
}

// TestDraftOrdersEnvelopeIsReadAsABundle: the entries of draftOrders are
// read as a Bundle's are: "Resource" is no resource, and "ResourceType" no
// resourceType.
func TestDraftOrdersEnvelopeIsReadAsABundle(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, raw string
		isBundle  bool
		problems  []string
	}{
		{"absent", ``, true, nil},
		{"null", `null`, true, nil},
		{"an array", `[]`, false, nil},
		{"resourceType in another case", `{"ResourceType":"Bundle","entry":[]}`, false, nil},
		{"entry in another case", `{"resourceType":"Bundle","Entry":[]}`, false, nil},
		{"entry not an array", `{"resourceType":"Bundle","entry":{}}`, true, []string{"context.draftOrders.entry must be an array"}},
		{"resource in another case", `{"resourceType":"Bundle","entry":[{"Resource":{"resourceType":"MedicationRequest"}}]}`, true,
			[]string{"context.draftOrders.entry[0] must be an object with a resource"}},
		{"no resource", `{"resourceType":"Bundle","entry":[{"fullUrl":"urn:uuid:1"}]}`, true,
			[]string{"context.draftOrders.entry[0].resource is required (the draft order)"}},
		{"resourceType of the resource in another case", `{"resourceType":"Bundle","entry":[{"resource":{"ResourceType":"MedicationRequest"}}]}`, true,
			[]string{"context.draftOrders.entry[0].resource must be a FHIR resource with a resourceType and a string id"}},
		{"id a number", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"MedicationRequest","id":7}}]}`, true,
			[]string{"context.draftOrders.entry[0].resource must be a FHIR resource with a resourceType and a string id"}},
	} {
		isBundle, problems := fhir.EachDraftOrder([]byte(tc.raw), func(int, string, string, string, []byte) {})
		if isBundle != tc.isBundle || strings.Join(problems, "|") != strings.Join(tc.problems, "|") {
			t.Errorf("%s: Bundle %v, problems %q; want %v, %q", tc.name, isBundle, problems, tc.isBundle, tc.problems)
		}
	}
}
