package cdshooks_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

// TestValueSetRoute: GET /knowledge/ValueSet/{id} serves the resource as FHIR JSON without authentication,
// and an unknown id is a 404 with a JSON body saying what was wrong.
func TestValueSetRoute(t *testing.T) {
	t.Parallel()
	body := []byte(`{"resourceType":"ValueSet","id":"lab-magnesium"}`)
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{ValueSets: map[string][]byte{"lab-magnesium": body}})
	w := h.do(http.MethodGet, "/knowledge/ValueSet/lab-magnesium", "")
	if w.Code != http.StatusOK || w.Body.String() != string(body) {
		t.Errorf("GET lab-magnesium = %d %q, want 200 and the resource", w.Code, w.Body.String())
	}
	if got, want := w.Header().Get("Content-Type"), "application/fhir+json"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	w = h.do(http.MethodGet, "/knowledge/ValueSet/lab-sodium", "")
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "lab-sodium") {
		t.Errorf("GET lab-sodium = %d %q, want 404 naming the id", w.Code, w.Body.String())
	}
}
