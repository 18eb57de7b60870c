package cdshooks_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

// TestNoSniffOnEveryAnswer: browsers must never guess a content type, on
// success, error, preflight and unknown routes alike, and on the health
// handler the admin listener serves.
func TestNoSniffOnEveryAnswer(t *testing.T) {
	t.Parallel()
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{Documents: map[string]http.Handler{"/knowledge": jsonDocument(`{}`)}})
	tests := []struct {
		method, path, body string
		handler            http.Handler
	}{
		{"GET", "/cds-services", "", h.h},
		{"POST", "/cds-services/" + sampleID, validBody, h.h},
		{"POST", "/cds-services/" + sampleID, "{", h.h},
		{"POST", "/cds-services/" + sampleID + "/feedback", `{}`, h.h},
		{"GET", "/knowledge", "", h.h},
		{"GET", "/no/such/route", "", h.h},
		{"OPTIONS", "/cds-services/" + sampleID, "", h.h},
		{"GET", "/healthz", "", h.h},
		{"GET", "/readyz", "", h.srv.HealthHandler()},
		{"GET", "/metrics", "", cdshooks.NoSniff(http.NotFoundHandler())},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.path, nil)
		if tt.body != "" {
			req = httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		tt.handler.ServeHTTP(w, req)
		if got, want := w.Header().Get("X-Content-Type-Options"), "nosniff"; got != want {
			t.Errorf("%s %s (status %d): X-Content-Type-Options = %q, want %q", tt.method, tt.path, w.Code, got, want)
		}
	}
}

// TestHeadOnGetRoutes: HEAD is answered wherever GET is, with GET's status
// and headers and no body (RFC 9110 9.3.2), over a real connection.
func TestHeadOnGetRoutes(t *testing.T) {
	t.Parallel()
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{
		Documents:     map[string]http.Handler{"/knowledge": jsonDocument(`{"k":1}`)},
		FHIRDocuments: map[string][]byte{"/fhir/ValueSet/x": []byte(`{"resourceType":"ValueSet"}`)},
	})
	srv := httptest.NewServer(h.h)
	defer srv.Close()
	for _, path := range []string{"/cds-services", "/knowledge", "/fhir/ValueSet/x", "/healthz", "/readyz"} {
		get, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		_ = get.Body.Close()
		head, err := http.Head(srv.URL + path)
		if err != nil {
			t.Fatalf("HEAD %s: %v", path, err)
		}
		body, _ := io.ReadAll(head.Body)
		_ = head.Body.Close()
		if got, want := head.StatusCode, get.StatusCode; got != want {
			t.Errorf("HEAD %s: status = %d, want GET's %d", path, got, want)
		}
		if got, want := head.Header.Get("Content-Type"), get.Header.Get("Content-Type"); got != want {
			t.Errorf("HEAD %s: Content-Type = %q, want GET's %q", path, got, want)
		}
		if len(body) != 0 {
			t.Errorf("HEAD %s: %d bytes of body, want none", path, len(body))
		}
	}
	// HEAD is not a way around a POST-only route.
	if got, want := h.do("HEAD", "/cds-services/"+sampleID, "").Code, http.StatusMethodNotAllowed; got != want {
		t.Errorf("HEAD on a service: status = %d, want %d", got, want)
	}
}

// jsonDocument is a document page answering body as JSON.
func jsonDocument(body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	})
}
