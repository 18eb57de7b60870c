package cdshooks_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

// TestFHIRDocuments: a FHIR document (a value set at /knowledge/ValueSet/{id}) is served as FHIR JSON
// without authentication, and an unknown id is a 404 with a JSON body.
func TestFHIRDocuments(t *testing.T) {
	t.Parallel()
	body := []byte(`{"resourceType":"ValueSet","id":"lab-magnesium"}`)
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{FHIRDocuments: map[string][]byte{"/knowledge/ValueSet/lab-magnesium": body}})
	w := h.do(http.MethodGet, "/knowledge/ValueSet/lab-magnesium", "")
	if w.Code != http.StatusOK || w.Body.String() != string(body) {
		t.Errorf("GET lab-magnesium = %d %q, want 200 and the resource", w.Code, w.Body.String())
	}
	if got, want := w.Header().Get("Content-Type"), "application/fhir+json"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	w = h.do(http.MethodGet, "/knowledge/ValueSet/lab-sodium", "")
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "OperationOutcome") {
		t.Errorf("GET lab-sodium = %d %q, want a 404 OperationOutcome", w.Code, w.Body.String())
	}
}
