package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
)

// e2e is the real server started in-process with JWT verification on (a
// generated issuer that may name the fake FHIR server), the real services,
// and a fake FHIR server over TLS serving a generated typical patient.
type e2e struct {
	main    *Main
	fhir    *fixtures.FHIRServer
	fhirURL string
	issuer  *fixtures.Issuer
	patient *fixtures.Patient
	client  *http.Client
}

const (
	e2ePublicURL = "https://cds.example.test"
	e2eFHIRToken = "fhir-access-token"
)

// startE2E starts everything; cleanups stop it in reverse order.
func startE2E(t *testing.T, fhirTimeout time.Duration) *e2e {
	t.Helper()
	p := fixtures.Generate(11, fixtures.Typical, time.Now())
	fake := fixtures.NewFHIRServer(p, e2eFHIRToken)
	fhirSrv := httptest.NewTLSServer(fake)
	t.Cleanup(fhirSrv.Close)

	is, err := fixtures.NewIssuer("https://ehr.example.test")
	if err != nil {
		t.Fatal(err)
	}
	trust, err := is.TrustFile(fhirSrv.URL + "/r4")
	if err != nil {
		t.Fatal(err)
	}
	trustFile := filepath.Join(t.TempDir(), "trust.yaml")
	if err := os.WriteFile(trustFile, trust, 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.AdminAddr = ""
	cfg.TrustFile = trustFile
	cfg.PublicURLs = []string{e2ePublicURL}
	cfg.FHIRTimeout = fhirTimeout
	// The answer deadline bounds the FHIR reads too: past fhirTimeout, so
	// that it is the one cut short.
	cfg.AnswerDeadline = fhirTimeout + time.Second
	cfg.Store = "none"
	m := &Main{Config: cfg, FHIRTransport: fhirSrv.Client().Transport}
	if err := m.Open(t.Context()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	return &e2e{main: m, fhir: fake, fhirURL: fhirSrv.URL + "/r4", issuer: is, patient: p, client: client}
}

// call posts body to nocturnal-leg-cramps with a fresh token.
func (e *e2e) call(t *testing.T, body []byte) (int, []byte) {
	t.Helper()
	path := "/cds-services/" + legcramps.PatientViewID
	tok, err := e.issuer.Token(e2ePublicURL+path, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+e.main.Addr()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, got
}

// TestFaultsUnderLoad keeps calling the real server with four prefetch keys
// absent, so every call reads the FHIR server, while that server turns slow
// (slower than --fhir-timeout, 1.5 s), then answers 500, then resets
// connections, then recovers. Every call must be answered: 412 naming the four keys while
// the data cannot be had (a 412 while the server is slow proves the deadline
// cut the reads short: the fake would have answered 200 after 5 s), 200 once
// it is back. No goroutine may outlive the test, and the heap must not grow.
//
// Not parallel: the leak and heap checks look at the whole process.
func TestFaultsUnderLoad(t *testing.T) {
	// Registered first, so it runs last: after startE2E's cleanups stop everything.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	// The deadline leaves room for a -race run on two cores shared with other
	// test binaries (make test runs packages in parallel; 1.5 s was hit at load
	// average 15, 3 s at 18): a healthy read must never hit it. The slow phase's 8 s
	// delay stays well past it.
	e := startE2E(t, 5*time.Second)
	absent := []string{legcramps.PrefetchConditions, legcramps.PrefetchMedicationRequests, legcramps.PrefetchMedicationStatements, legcramps.PrefetchObservations} // sorted
	body := e.patient.Request(fixtures.RequestOptions{FHIRServer: e.fhirURL, AccessToken: e2eFHIRToken, Omit: absent})

	phases := []struct {
		name  string
		fault fixtures.Fault
		delay time.Duration
		calls int // made 8 at a time; the slow phase waits the deadline once
		want  int
	}{
		{"healthy", fixtures.Healthy, 0, 24, http.StatusOK},
		{"slow", fixtures.Healthy, 8 * time.Second, 8, http.StatusPreconditionFailed},
		{"500s", fixtures.Fail500, 0, 24, http.StatusPreconditionFailed},
		{"resets", fixtures.Reset, 0, 24, http.StatusPreconditionFailed},
		{"recovered", fixtures.Healthy, 0, 24, http.StatusOK},
	}
	var heapBefore uint64
	for i, ph := range phases {
		e.fhir.SetFault(ph.fault)
		e.fhir.SetDelay(ph.delay)
		statuses := e.burst(t, body, ph.calls, 8)
		for j, s := range statuses {
			if s.status != ph.want {
				t.Errorf("%s: call %d: status %d, want %d: %.300s", ph.name, j, s.status, ph.want, s.body)
				continue
			}
			if ph.want == http.StatusPreconditionFailed {
				if got := missingKeys(t, s.body); !slices.Equal(got, absent) {
					t.Errorf("%s: call %d: the 412 names %v, want %v", ph.name, j, got, absent)
				}
			}
		}
		if i == 0 {
			heapBefore = liveHeap()
		}
	}
	if grown := int64(liveHeap()) - int64(heapBefore); grown > 16<<20 {
		t.Errorf("the live heap grew by %d MiB over the faults, want it flat", grown>>20)
	}
}

// missingKeys returns the prefetch keys a 412 OperationOutcome names, sorted.
func missingKeys(t *testing.T, body []byte) []string {
	t.Helper()
	var oo cdshooks.OperationOutcome
	if err := json.Unmarshal(body, &oo); err != nil {
		t.Fatalf("412 body is not an OperationOutcome: %v: %s", err, body)
	}
	var keys []string
	for _, issue := range oo.Issue {
		var key string
		if _, err := fmt.Sscanf(issue.Diagnostics, "prefetch key %q", &key); err == nil {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	return keys
}

type answer struct {
	status int
	body   []byte
}

// burst makes n calls, at most parallel at a time, and returns the answers.
func (e *e2e) burst(t *testing.T, body []byte, n, parallel int) []answer {
	t.Helper()
	answers := make([]answer, n)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range answers {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			answers[i].status, answers[i].body = e.call(t, body)
		})
	}
	wg.Wait()
	return answers
}

// liveHeap is the heap still in use after a full collection.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestEndToEndTimeoutsAreSet checks that the API listener has the read
// timeouts the slow-client defence relies on (cdshooks' hostile tests show
// what they do, with short values).
func TestEndToEndTimeoutsAreSet(t *testing.T) {
	t.Parallel()
	e := startE2E(t, time.Second)
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": e.main.api.ReadHeaderTimeout,
		"ReadTimeout":       e.main.api.ReadTimeout,
		"WriteTimeout":      e.main.api.WriteTimeout,
		"IdleTimeout":       e.main.api.IdleTimeout,
	} {
		if d <= 0 || d > 2*time.Minute {
			t.Errorf("%s = %v, want set and at most 2m", name, d)
		}
	}
}

// TestHostileEndToEnd sends hostile requests to the real listener with JWT
// verification on: each is refused with the right 4xx, and the server keeps
// serving.
func TestHostileEndToEnd(t *testing.T) {
	t.Parallel()
	e := startE2E(t, time.Second)
	deep := []byte(`{"hook":"patient-view","hookInstance":"x","context":` + strings.Repeat("[", 100_000))
	huge := e.patient.Request(fixtures.RequestOptions{HookInstance: strings.Repeat("x", 6<<20)})
	wrongTypes, err := json.Marshal(map[string]any{"hook": 1, "hookInstance": []int{1}, "context": "patient"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		body []byte
		want int
	}{
		{"nesting beyond the decoder's limit", deep, http.StatusBadRequest},
		{"body over the 5 MiB default", huge, http.StatusRequestEntityTooLarge},
		{"invalid UTF-8 outside strings", []byte("{\"hook\":\xff}"), http.StatusBadRequest},
		{"numbers and arrays where strings belong", wrongTypes, http.StatusBadRequest},
	} {
		if status, body := e.call(t, tt.body); status != tt.want {
			t.Errorf("%s: status %d, want %d: %.300s", tt.name, status, tt.want, body)
		}
	}

	// Without a token, even the hostile body is refused before it is read.
	resp, err := e.client.Post("http://"+e.main.Addr()+"/cds-services/"+legcramps.PatientViewID, "application/json", bytes.NewReader(deep))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusUnauthorized; got != want {
		t.Errorf("no token: status %d, want %d", got, want)
	}

	if status, body := e.call(t, e.patient.Request(fixtures.RequestOptions{})); status != http.StatusOK {
		t.Errorf("a normal call after the hostile ones: status %d: %.300s", status, body)
	}
}
