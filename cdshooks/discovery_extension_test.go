package cdshooks_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

// The software's version reaches discovery only inside "extension" (CDS Hooks
// 2.0 §11: the one place for fields the spec does not define); every other
// member of an entry is one the spec lists.
func TestDiscoveryExtensionStaysInsideExtension(t *testing.T) {
	t.Parallel()
	ext := cdshooks.Extension{"org.cramp-cds.version": json.RawMessage(`{"software":"9.9.9"}`)}
	h := mustServer(t, cdshooks.Config{DiscoveryExtension: ext}, cdshooks.Deps{})
	w := h.do("GET", "/cds-services", "")
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d: %s", w.Code, w.Body)
	}
	var d struct {
		Services []map[string]json.RawMessage `json:"services"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	specFields := map[string]bool{"hook": true, "title": true, "description": true, "id": true,
		"prefetch": true, "usageRequirements": true, "extension": true}
	for _, s := range d.Services {
		for k := range s {
			if !specFields[k] {
				t.Errorf("discovery entry has member %q, which CDS Hooks 2.0 does not define", k)
			}
		}
		var got map[string]any
		if err := json.Unmarshal(s["extension"], &got); err != nil {
			t.Fatalf("extension: %v (%s)", err, s["extension"])
		}
		want := map[string]any{"org.cramp-cds.version": map[string]any{"software": "9.9.9"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("extension (-want +got):\n%s", diff)
		}
	}
}
