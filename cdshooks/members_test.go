package cdshooks_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

// CDS Hooks member names are case-sensitive, and encoding/json folds case: a
// "HOOK" beside "hook" would win, and "Hook" alone would be read as "hook".
// Another parser in the path (a gateway, an audit log) reads them exactly, so
// the two would disagree on what was asked. Every case variant of a member we
// read is refused.
func TestCaseVariantsOfKnownMembersAreRefused(t *testing.T) {
	t.Parallel()
	svc := &fakeService{defs: []cdshooks.ServiceDefinition{
		{Hook: cdshooks.HookPatientView, ID: "svc", Description: "d"},
	}}
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{Services: []cdshooks.Service{svc}})
	const ctx = `"context":{"userId":"Practitioner/example","patientId":"1288992"}`
	const inst = `"hookInstance":"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"`
	tests := []struct {
		name, body, known string
	}{
		{"HOOK beside hook", `{"hook":"patient-view","HOOK":"order-sign",` + inst + `,` + ctx + `}`, "hook"},
		{"Hook alone", `{"Hook":"patient-view",` + inst + `,` + ctx + `}`, "hook"},
		{"HookInstance", `{"hook":"patient-view","HookInstance":"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",` + ctx + `}`, "hookInstance"},
		{"FHIRSERVER", `{"hook":"patient-view",` + inst + `,"FHIRSERVER":"https://ehr.example.org/fhir",` + ctx + `}`, "fhirServer"},
		{"Context", `{"hook":"patient-view",` + inst + `,"Context":{"userId":"Practitioner/example","patientId":"1288992"}}`, "context"},
		{"escaped variant", `{"hook":"patient-view",` + inst + `,"\u0046hirServer":"https://ehr.example.org/fhir",` + ctx + `}`, "fhirServer"},
		{"in fhirAuthorization", `{"hook":"patient-view",` + inst + `,"fhirServer":"https://ehr.example.org/fhir",` + ctx +
			`,"fhirAuthorization":{"access_token":"t","Access_Token":"u","token_type":"Bearer","expires_in":300,"scope":"s","subject":"c"}}`, "access_token"},
		{"in context", `{"hook":"patient-view",` + inst + `,"context":{"userId":"Practitioner/example","patientId":"1288992","PatientId":"other-999"}}`, "patientId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := h.do(http.MethodPost, "/cds-services/svc", tt.body)
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400: %s", w.Code, w.Body)
			}
			var oo cdshooks.OperationOutcome
			if err := json.Unmarshal(w.Body.Bytes(), &oo); err != nil || len(oo.Issue) == 0 {
				t.Fatalf("body is not an OperationOutcome (%v): %s", err, w.Body)
			}
			if got, want := oo.Issue[0].Diagnostics, `case variant of "`+tt.known+`"`; !strings.Contains(got, want) {
				t.Errorf("diagnostics = %q, want it to contain %q", got, want)
			}
		})
	}

	// The exact names, and members we do not know in any case, still pass.
	w := h.do(http.MethodPost, "/cds-services/svc", `{"hook":"patient-view",`+inst+`,`+ctx+`,"HOOKX":1,"Extension2":{}}`)
	if w.Code != http.StatusOK {
		t.Fatalf("exact names: status = %d, want 200: %s", w.Code, w.Body)
	}
}

func TestCaseVariantsInFeedbackAreRefused(t *testing.T) {
	t.Parallel()
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{Services: []cdshooks.Service{&fakeService{
		defs: []cdshooks.ServiceDefinition{{Hook: cdshooks.HookPatientView, ID: "svc", Description: "d"}},
	}}})
	const card = `"card":"4e0a3a1e-3283-4575-ab82-028d55fe2719"`
	const ts = `"outcomeTimestamp":"2025-06-02T10:00:00Z"`
	tests := []struct{ name, body, known string }{
		{"Feedback", `{"Feedback":[]}`, "feedback"},
		{"Card", `{"feedback":[{"Card":"4e0a3a1e-3283-4575-ab82-028d55fe2719","outcome":"overridden",` + ts + `}]}`, "card"},
		{"OUTCOME beside outcome", `{"feedback":[{` + card + `,"outcome":"overridden","OUTCOME":"accepted",` + ts + `}]}`, "outcome"},
		{"in overrideReason.reason", `{"feedback":[{` + card + `,"outcome":"overridden",` + ts + `,"overrideReason":{"reason":{"code":"x","CODE":"y"}}}]}`, "code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := h.do(http.MethodPost, "/cds-services/svc/feedback", tt.body)
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `case variant of \"`+tt.known+`\"`) {
				t.Fatalf("got %d %s, want 400 naming a case variant of %q", w.Code, w.Body, tt.known)
			}
		})
	}
}

// A draft order's id is what a delete suggestion names and what an
// order-select selection points at, and the product shows it: one outside
// the FHIR id grammar (a blank line and an <img> once became an HTML block in
// the card) is refused, never echoed.
func TestDraftOrderIDsMustBeFHIRIDs(t *testing.T) {
	t.Parallel()
	svc := &fakeService{defs: []cdshooks.ServiceDefinition{{Hook: cdshooks.HookOrderSign, ID: "svc", Description: "d"}}}
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{Services: []cdshooks.Service{svc}})
	body := func(id string) string {
		b, err := json.Marshal(map[string]any{
			"hook": "order-sign", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
			"context": map[string]any{"userId": "Practitioner/1", "patientId": "p1", "draftOrders": map[string]any{
				"resourceType": "Bundle", "entry": []any{map[string]any{"resource": map[string]any{"resourceType": "MedicationRequest", "id": id}}},
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, id := range []string{"x\n\n<img src=x onerror=alert(2)>", "a/b", "", strings.Repeat("a", 65), "request 123"} {
		w := h.do(http.MethodPost, "/cds-services/svc", body(id))
		want := id == ""
		if got := w.Code == http.StatusOK; got != want {
			t.Errorf("draft id %q: status %d, want 200 %v: %s", id, w.Code, want, w.Body)
		}
		if !want && (!strings.Contains(w.Body.String(), "context.draftOrders.entry[0].resource.id must be a FHIR id") || strings.Contains(w.Body.String(), "img")) {
			t.Errorf("draft id %q: body %s, want it to name the entry and not echo the id", id, w.Body)
		}
	}
	if w := h.do(http.MethodPost, "/cds-services/svc", body("request-123.v2")); w.Code != http.StatusOK {
		t.Errorf("a FHIR id: status %d: %s", w.Code, w.Body)
	}
}
