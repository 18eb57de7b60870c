package fhir_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/fhir"
)

// labelRecorder is a transport that records the ServerLabel of every
// request it sends: what an instrumented transport would label metrics with.
type labelRecorder struct {
	mu     sync.Mutex
	labels map[string]int
}

func (l *labelRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.labels[fhir.ServerLabel(r.Context())]++
	l.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// With fhir_servers ["*"], every caller-chosen fhirServer (here two ports)
// must be labelled by the allow-list entry, never by its URL or port
// (issue 13, item 8).
func TestGatherLabelsServersByAllowListEntry(t *testing.T) {
	t.Parallel()
	rec := &labelRecorder{labels: map[string]int{}}
	opts := fhir.GathererOptions{HTTPClient: &http.Client{Transport: rec}}
	var reported []string
	for range 2 {
		srv := newFakeFHIR(t, fullServer())
		_, rep, err := gather(t, opts, fhir.GatherInput{FHIRServer: srv.base(), AllowedServer: func(string) (string, bool) { return "*", true }})
		if err != nil {
			t.Fatalf("Gather: %v", err)
		}
		reported = append(reported, rep.Server)
	}
	for name, in := range map[string]fhir.GatherInput{
		"none":  {},
		"other": {FHIRServer: "https://evil.example:4444/fhir", AllowedServer: func(string) (string, bool) { return "", false }},
	} {
		_, rep, _ := gather(t, opts, in)
		if rep.Server != name {
			t.Errorf("%s: report.Server = %q, want %q", name, rep.Server, name)
		}
	}
	if diff := cmp.Diff([]string{"*", "*"}, reported); diff != "" {
		t.Errorf("report.Server (-want +got):\n%s", diff)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.labels) != 1 || rec.labels["*"] == 0 {
		t.Errorf("request labels = %v, want only the entry *", rec.labels)
	}
	if got := fhir.ServerLabel(t.Context()); got != fhir.ServerOther {
		t.Errorf("ServerLabel of another context = %q, want %q", got, fhir.ServerOther)
	}
}
