package cdshooks_test

import (
	"encoding/json"
	"net/http"
	"testing"

	models "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

// TestErrorBodiesAreR4OperationOutcomes: error answers are built with
// golang-fhir-models' OperationOutcome; its JSON is checked here rather than
// trusted (it writes resourceType last, and an empty issue list as null):
// resourceType, and one issue per problem with R4's severity and issue type
// codes and the diagnostics, readable by the library's strict code tables.
func TestErrorBodiesAreR4OperationOutcomes(t *testing.T) {
	t.Parallel()
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{})
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"unknown service", http.MethodPost, "/cds-services/nobody", `{}`, http.StatusNotFound, "not-found"},
		{"not JSON", http.MethodPost, "/cds-services/" + sampleDefinition().ID, `{"hook":`, http.StatusBadRequest, "invalid"},
	} {
		w := h.do(tc.method, tc.path, tc.body)
		if w.Code != tc.status {
			t.Fatalf("%s: status %d, want %d: %s", tc.name, w.Code, tc.status, w.Body)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
			t.Fatalf("%s: body is not a JSON object: %s", tc.name, w.Body)
		}
		if string(raw["resourceType"]) != `"OperationOutcome"` {
			t.Errorf("%s: resourceType %s, want OperationOutcome", tc.name, raw["resourceType"])
		}
		var issues []map[string]any
		if err := json.Unmarshal(raw["issue"], &issues); err != nil || len(issues) != 1 {
			t.Fatalf("%s: issue %s, want an array of one issue", tc.name, raw["issue"])
		}
		if got := issues[0]; got["severity"] != "error" || got["code"] != tc.code || got["diagnostics"] == "" || len(got) != 3 {
			t.Errorf("%s: issue %v, want severity error, code %s and diagnostics only", tc.name, got, tc.code)
		}
		if _, err := models.UnmarshalOperationOutcome(w.Body.Bytes()); err != nil {
			t.Errorf("%s: golang-fhir-models does not read the body: %v", tc.name, err)
		}
	}
}
