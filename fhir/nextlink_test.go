package fhir_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/fhir"
)

func TestGatherNextLinkStaysUnderTheBase(t *testing.T) {
	t.Parallel()
	var srv *fakeFHIR
	var next string
	admin := 0
	srv = newFakeFHIR(t, map[string]http.HandlerFunc{
		"Observation": func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.EscapedPath(), "admin") || strings.Contains(r.URL.Path, "..") {
				srv.mu.Lock()
				admin++
				srv.mu.Unlock()
				return
			}
			io.WriteString(w, `{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"`+strings.ReplaceAll(next, `\`, `\\`)+`"}]}`)
		},
	})
	for _, link := range []string{
		"/../admin/Observation",
		"/%2e%2e/admin/Observation",
		"/%2E%2E/admin/Observation",
		"/.%2e/admin/Observation",
		"/Observation/../../admin/Observation",
		"/Observation/%2e%2e/%2e%2e/admin/Observation",
		"/Observation/..%2f..%2fadmin",
		"/Observation/..%5c..%5cadmin",
		"/Observation\\..\\..\\admin",
	} {
		t.Run(link, func(t *testing.T) {
			srv.mu.Lock()
			next = srv.base() + link
			srv.mu.Unlock()
			_, rep, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
				Templates:   map[string]string{"observations": crampTemplates["observations"]},
				FHIRServer:  srv.base(),
				AccessToken: "secret-token", AllowedServer: allowAll,
			})
			wantUnavailable(t, err, "observations", "next link leads off the FHIR server")
			if got, want := rep.Keys[0].Requests, 1; got != want {
				t.Errorf("requests = %d, want %d (the first page only)", got, want)
			}
		})
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if admin != 0 {
		t.Errorf("%d requests left the base path", admin)
	}
}

// A next link with dot segments that stay under the base is followed,
// resolved.
func TestGatherNextLinkDotSegmentsInsideTheBase(t *testing.T) {
	t.Parallel()
	var srv *fakeFHIR
	var paths []string
	srv = newFakeFHIR(t, map[string]http.HandlerFunc{
		"Observation": func(w http.ResponseWriter, r *http.Request) {
			srv.mu.Lock()
			paths = append(paths, r.URL.EscapedPath())
			srv.mu.Unlock()
			if r.URL.Query().Get("page") == "" {
				io.WriteString(w, `{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"`+srv.base()+`/Observation/x/%2e%2e/./?page=2"}]}`)
				return
			}
			io.WriteString(w, searchset(observation("o2", "final")))
		},
	})
	rec, _, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
		Templates: map[string]string{"observations": crampTemplates["observations"]}, FHIRServer: srv.base(), AllowedServer: allowAll,
	})
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	if len(rec.Observations) != 1 {
		t.Errorf("observations = %+v, want o2", rec.Observations)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if diff := cmp.Diff([]string{"/fhir/Observation", "/fhir/Observation/"}, paths); diff != "" {
		t.Errorf("paths requested (-want +got):\n%s", diff)
	}
}
