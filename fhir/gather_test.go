package fhir_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/fhir"
)

const patientID = "pat-1"

// crampTemplates are the nocturnal-leg-cramps service's prefetch templates.
var crampTemplates = map[string]string{
	"patient":              "Patient/{{context.patientId}}",
	"conditions":           "Condition?patient={{context.patientId}}",
	"medicationStatements": "MedicationStatement?patient={{context.patientId}}",
	"medicationRequests":   "MedicationRequest?patient={{context.patientId}}",
	"observations":         "Observation?patient={{context.patientId}}",
}

var hookContext = map[string]string{"patientId": patientID, "userId": "Practitioner/doc-1"}

func allowAll(string) (string, bool) { return "*", true }

// fakeFHIR is an httptest FHIR server whose answers are set per resource
// type ("Patient", "Observation", ...); it records what it receives.
type fakeFHIR struct {
	*httptest.Server
	mu       sync.Mutex
	handlers map[string]http.HandlerFunc
	requests []*http.Request
	bodies   []string
}

func newFakeFHIR(t *testing.T, handlers map[string]http.HandlerFunc) *fakeFHIR {
	t.Helper()
	f := &fakeFHIR{handlers: handlers}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.requests = append(f.requests, r)
		f.bodies = append(f.bodies, string(body))
		f.mu.Unlock()
		typ, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/fhir/"), "/")
		h, ok := f.handlers[typ]
		if !ok {
			http.Error(w, "no handler for "+typ, http.StatusTeapot)
			return
		}
		h(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeFHIR) base() string { return f.URL + "/fhir" }

func (f *fakeFHIR) count(typ string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if strings.HasPrefix(r.URL.Path, "/fhir/"+typ) {
			n++
		}
	}
	return n
}

func (f *fakeFHIR) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func serveJSON(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = io.WriteString(w, body)
	}
}

func searchset(entries ...string) string {
	var es []string
	for _, e := range entries {
		es = append(es, `{"resource":`+e+`,"search":{"mode":"match"}}`)
	}
	return `{"resourceType":"Bundle","type":"searchset","entry":[` + strings.Join(es, ",") + `]}`
}

func observation(id, status string) string {
	return `{"resourceType":"Observation","id":"` + id + `","status":"` + status + `","code":{"coding":[{"system":"http://loinc.org","code":"2823-3"}]},` +
		`"subject":{"reference":"Patient/` + patientID + `"},"effectiveDateTime":"2024-01-10","valueQuantity":{"value":3.1,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}`
}

func medRequest(id, status, medication string) string {
	return `{"resourceType":"MedicationRequest","id":"` + id + `","status":"` + status + `","intent":"order",` + medication +
		`,"subject":{"reference":"Patient/` + patientID + `"},"authoredOn":"2023-05-01"}`
}

const furosemideCC = `"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"310429","display":"furosemide 20 MG Oral Tablet"}]}`

const patientJSON = `{"resourceType":"Patient","id":"` + patientID + `","gender":"female","birthDate":"1950-04-12"}`

const errorOutcome = `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"query failed"}]}`

const emptyBundle = `{"resourceType":"Bundle","type":"searchset","total":0}`

// fullServer answers every search of the cramp templates with one resource.
func fullServer() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"Patient":             serveJSON(patientJSON),
		"Condition":           serveJSON(emptyBundle),
		"MedicationStatement": serveJSON(emptyBundle),
		"MedicationRequest":   serveJSON(searchset(medRequest("mr-1", "active", furosemideCC))),
		"Observation":         serveJSON(searchset(observation("obs-1", "final"))),
	}
}

func gather(t *testing.T, opts fhir.GathererOptions, in fhir.GatherInput) (*fhir.Record, *fhir.GatherReport, error) {
	t.Helper()
	if in.Templates == nil {
		in.Templates = crampTemplates
	}
	if in.Context == nil {
		in.Context = hookContext
	}
	opts.AllowHTTP = true
	return fhir.NewGatherer(opts).Gather(context.Background(), in)
}

func statuses(rep *fhir.GatherReport) map[string]fhir.KeyStatus {
	out := map[string]fhir.KeyStatus{}
	for _, k := range rep.Keys {
		out[k.Key] = k.Status
	}
	return out
}

func TestGatherPrefetchStates(t *testing.T) {
	t.Parallel()
	srv := newFakeFHIR(t, fullServer())
	outcomeBundle := `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":` + errorOutcome + `,"search":{"mode":"outcome"}}]}`
	rec, rep, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
		Prefetch: map[string]json.RawMessage{
			"patient":              json.RawMessage(patientJSON),
			"conditions":           json.RawMessage("null"),
			"medicationRequests":   json.RawMessage(errorOutcome),
			"medicationStatements": json.RawMessage(outcomeBundle),
			// observations absent
		},
		FHIRServer: srv.base(), AllowedServer: allowAll,
	})
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	want := map[string]fhir.KeyStatus{
		"patient": fhir.KeyPrefetched, "conditions": fhir.KeyNull,
		"medicationRequests": fhir.KeyFetched, "medicationStatements": fhir.KeyFetched, "observations": fhir.KeyFetched,
	}
	if diff := cmp.Diff(want, statuses(rep)); diff != "" {
		t.Errorf("key statuses (-want +got):\n%s", diff)
	}
	for typ, want := range map[string]int{"Patient": 0, "Condition": 0, "MedicationRequest": 1, "MedicationStatement": 1, "Observation": 1} {
		if got := srv.count(typ); got != want {
			t.Errorf("%s requests = %d, want %d", typ, got, want)
		}
	}
	if got, want := len(rec.Medications), 1; got != want {
		t.Fatalf("medications = %d, want %d", got, want)
	}
	if got, want := rec.Medications[0].Drug.Codings[0].Code, "310429"; got != want {
		t.Errorf("drug = %q, want %q", got, want)
	}
	if got, want := len(rec.Observations), 1; got != want {
		t.Errorf("observations = %d, want %d", got, want)
	}
	if rec.Patient == nil || rec.Patient.Ref != "Patient/"+patientID {
		t.Errorf("patient = %+v, want Patient/%s", rec.Patient, patientID)
	}
}

func TestGatherWarningOutcomeIsNotAFailure(t *testing.T) {
	t.Parallel()
	warning := `{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"not-supported","diagnostics":"_sort ignored"}]}`
	bundle := `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":` + observation("o1", "final") + `,"search":{"mode":"match"}},{"resource":` + warning + `,"search":{"mode":"outcome"}}]}`
	rec, rep, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
		Templates: map[string]string{"observations": crampTemplates["observations"]},
		Prefetch:  map[string]json.RawMessage{"observations": json.RawMessage(bundle)},
	})
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	if got, want := rep.Keys[0].Status, fhir.KeyPrefetched; got != want {
		t.Errorf("status = %q, want %q", got, want)
	}
	if got, want := len(rec.Observations), 1; got != want {
		t.Errorf("observations = %d, want %d", got, want)
	}
}

func TestGatherPagination(t *testing.T) {
	t.Parallel()
	var srv *fakeFHIR
	srv = newFakeFHIR(t, map[string]http.HandlerFunc{
		"Observation": func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Query().Get("page") {
			case "":
				// a relative next link, resolved against the page URL
				io.WriteString(w, `{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"Observation?patient=pat-1&page=2"}],"entry":[{"resource":`+observation("o1", "final")+`}]}`)
			case "2":
				io.WriteString(w, `{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"`+srv.base()+`/Observation?patient=pat-1&page=3"}],"entry":[{"resource":`+observation("o2", "final")+`}]}`)
			default:
				io.WriteString(w, searchset(observation("o3", "amended")))
			}
		},
	})
	tmpl := map[string]string{"observations": crampTemplates["observations"]}
	rec, rep, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{Templates: tmpl, FHIRServer: srv.base(), AllowedServer: allowAll})
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	var refs []string
	for _, o := range rec.Observations {
		refs = append(refs, o.Ref)
	}
	if diff := cmp.Diff([]string{"Observation/o1", "Observation/o2", "Observation/o3"}, refs); diff != "" {
		t.Errorf("observations (-want +got):\n%s", diff)
	}
	if got, want := rep.Keys[0].Requests, 3; got != want {
		t.Errorf("requests = %d, want %d", got, want)
	}

	t.Run("page cap", func(t *testing.T) {
		t.Parallel()
		_, _, err := gather(t, fhir.GathererOptions{MaxPages: 2}, fhir.GatherInput{Templates: tmpl, FHIRServer: srv.base(), AllowedServer: allowAll})
		wantUnavailable(t, err, "observations", "more than 2 pages")
	})

	t.Run("prefetched first page", func(t *testing.T) {
		t.Parallel()
		first := `{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"` + srv.base() + `/Observation?patient=pat-1&page=2"}],"entry":[{"resource":` + observation("o1", "final") + `}]}`
		rec, rep, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{Templates: tmpl, FHIRServer: srv.base(), AllowedServer: allowAll,
			Prefetch: map[string]json.RawMessage{"observations": json.RawMessage(first)}})
		if err != nil {
			t.Fatalf("Gather: %v", err)
		}
		if got, want := len(rec.Observations), 3; got != want {
			t.Errorf("observations = %d, want %d", got, want)
		}
		if got, want := rep.Keys[0].Prefetch, "paged"; got != want {
			t.Errorf("prefetch = %q, want %q", got, want)
		}
	})
}

// wantUnavailable checks that err is an *UnavailableError naming key with a reason containing reason.
func wantUnavailable(t *testing.T, err error, key, reason string) {
	t.Helper()
	var ue *fhir.UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *UnavailableError", err)
	}
	found := false
	for _, k := range ue.Keys {
		found = found || k == key
	}
	if !found {
		t.Fatalf("unavailable keys = %v, want %q among them", ue.Keys, key)
	}
	if got := ue.Reasons[key]; !strings.Contains(got, reason) {
		t.Errorf("reason for %s = %q, want it to contain %q", key, got, reason)
	}
}

func TestGatherServerFailures(t *testing.T) {
	t.Parallel()
	other := newFakeFHIR(t, fullServer()) // a host that must never be reached
	tests := map[string]struct {
		handler http.HandlerFunc
		opts    fhir.GathererOptions
		reason  string
	}{
		"401": {handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) }, reason: "HTTP 401"},
		"403": {handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(403) }, reason: "HTTP 403"},
		"404": {handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(404)
			io.WriteString(w, errorOutcome)
		}, reason: "HTTP 404"},
		"500":                        {handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, reason: "HTTP 500"},
		"503 every time":             {handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }, reason: "HTTP 503"},
		"malformed JSON":             {handler: serveJSON(`{"resourceType":"Bundle","entry":[`), reason: "not a FHIR resource"},
		"not FHIR":                   {handler: serveJSON(`[1,2,3]`), reason: "not a FHIR resource"},
		"operation outcome with 200": {handler: serveJSON(errorOutcome), reason: "OperationOutcome"},
		"outcome entry in fetched bundle": {
			handler: serveJSON(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":` + errorOutcome + `,"search":{"mode":"outcome"}}]}`),
			reason:  "error OperationOutcome"},
		"oversized": {
			handler: serveJSON(searchset(strings.Repeat(observation("o", "final")+",", 50) + observation("o", "final"))),
			opts:    fhir.GathererOptions{MaxBytes: 2000}, reason: "larger than 2000 bytes"},
		"oversized without content length": {
			handler: func(w http.ResponseWriter, r *http.Request) {
				for range 50 {
					io.WriteString(w, strings.Repeat(" ", 100))
					w.(http.Flusher).Flush()
				}
			},
			opts: fhir.GathererOptions{MaxBytes: 2000}, reason: "larger than 2000 bytes"},
		"redirect to another host": {
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.base()+"/Observation?patient=pat-1", http.StatusFound)
			}, reason: "redirect"},
		"next link to another host": {
			handler: serveJSON(`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"` + other.base() + `/Observation?page=2"}]}`),
			reason:  "next link leads off the FHIR server"},
		"next link outside the base path": {
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, `{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"http://`+r.Host+`/other/Observation"}]}`)
			},
			reason: "next link leads off the FHIR server"},
		"slower than the deadline": {
			handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			opts:    fhir.GathererOptions{Timeout: 50 * time.Millisecond}, reason: "timed out"},
		"429 with retry-after beyond the deadline": {
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "30")
				w.WriteHeader(429)
			}, reason: "retrying would pass the deadline"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newFakeFHIR(t, map[string]http.HandlerFunc{"Observation": tt.handler})
			_, _, err := gather(t, tt.opts, fhir.GatherInput{
				Templates:  map[string]string{"observations": crampTemplates["observations"]},
				FHIRServer: srv.base(), AllowedServer: allowAll,
			})
			wantUnavailable(t, err, "observations", tt.reason)
		})
	}
	if got := other.total(); got != 0 {
		t.Errorf("the other host received %d requests, want 0", got)
	}
}

func TestGatherRetries(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		fail         func(w http.ResponseWriter)
		wantRequests int
	}{
		"429 with Retry-After": {fail: func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
		}, wantRequests: 2},
		"502": {fail: func(w http.ResponseWriter) { w.WriteHeader(502) }, wantRequests: 2},
		"504": {fail: func(w http.ResponseWriter) { w.WriteHeader(504) }, wantRequests: 2},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			var firstAt, secondAt time.Time
			srv := newFakeFHIR(t, map[string]http.HandlerFunc{"Observation": func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					firstAt = time.Now()
					tt.fail(w)
					return
				}
				secondAt = time.Now()
				serveJSON(searchset(observation("o1", "final")))(w, r)
			}})
			rec, rep, err := gather(t, fhir.GathererOptions{Timeout: 5 * time.Second}, fhir.GatherInput{
				Templates:  map[string]string{"observations": crampTemplates["observations"]},
				FHIRServer: srv.base(), AllowedServer: allowAll,
			})
			if err != nil {
				t.Fatalf("Gather: %v", err)
			}
			if got, want := rep.Keys[0].Requests, tt.wantRequests; got != want {
				t.Errorf("requests = %d, want %d", got, want)
			}
			if got, want := len(rec.Observations), 1; got != want {
				t.Errorf("observations = %d, want %d", got, want)
			}
			if name == "429 with Retry-After" && secondAt.Sub(firstAt) < time.Second {
				// Not a timing target: Retry-After is a lower bound the client must respect.
				t.Errorf("retried after %v, want at least the 1 s Retry-After", secondAt.Sub(firstAt))
			}
		})
	}

	t.Run("POST is not retried", func(t *testing.T) {
		t.Parallel()
		srv := newFakeFHIR(t, map[string]http.HandlerFunc{"Observation": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }})
		_, rep, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
			Templates:  map[string]string{"observations": longTemplate()},
			FHIRServer: srv.base(), AllowedServer: allowAll,
		})
		wantUnavailable(t, err, "observations", "HTTP 503")
		if got, want := rep.Keys[0].Requests, 1; got != want {
			t.Errorf("requests = %d, want %d", got, want)
		}
	})
}

// longTemplate is an Observation search whose URL exceeds 8 KB.
func longTemplate() string {
	codes := make([]string, 1200)
	for i := range codes {
		codes[i] = fmt.Sprintf("%d-1", 10000+i)
	}
	return "Observation?patient={{context.patientId}}&code=" + strings.Join(codes, ",")
}

func TestGatherPostSearchForLongURLs(t *testing.T) {
	t.Parallel()
	srv := newFakeFHIR(t, map[string]http.HandlerFunc{"Observation": serveJSON(searchset(observation("o1", "final")))})
	rec, _, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
		Templates:  map[string]string{"observations": longTemplate()},
		FHIRServer: srv.base(), AllowedServer: allowAll,
	})
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	if got, want := len(rec.Observations), 1; got != want {
		t.Errorf("observations = %d, want %d", got, want)
	}
	r := srv.requests[0]
	if got, want := r.Method+" "+r.URL.Path, "POST /fhir/Observation/_search"; got != want {
		t.Errorf("request = %q, want %q", got, want)
	}
	if got, want := r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	if got := srv.bodies[0]; !strings.HasPrefix(got, "patient="+patientID+"&code=10000-1,") {
		t.Errorf("form body starts %q, want the search parameters", got[:40])
	}
}

func TestGatherRefusesServers(t *testing.T) {
	t.Parallel()
	srv := newFakeFHIR(t, fullServer())
	tests := map[string]struct {
		server    string
		allowed   func(string) (string, bool)
		allowHTTP bool
		reason    string
	}{
		"not on the allow list": {server: srv.base(), allowed: func(string) (string, bool) { return "", false }, allowHTTP: true, reason: "not on the allow list"},
		"no allow list":         {server: srv.base(), allowHTTP: true, reason: "not on the allow list"},
		"plain http":            {server: srv.base(), allowed: allowAll, reason: "not https"},
		"no fhirServer":         {allowed: allowAll, allowHTTP: true, reason: "no fhirServer"},
		"credentials in URL":    {server: strings.Replace(srv.base(), "http://", "http://u:p@", 1), allowed: allowAll, allowHTTP: true, reason: "not a usable base URL"},
		"not http":              {server: "ftp://files.example/fhir", allowed: allowAll, allowHTTP: true, reason: "not an http(s) URL"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			g := fhir.NewGatherer(fhir.GathererOptions{AllowHTTP: tt.allowHTTP})
			rec, rep, err := g.Gather(context.Background(), fhir.GatherInput{
				Templates: crampTemplates, Context: hookContext,
				Prefetch:   map[string]json.RawMessage{"patient": json.RawMessage(patientJSON)},
				FHIRServer: tt.server, AllowedServer: tt.allowed, AccessToken: "tok",
			})
			var ue *fhir.UnavailableError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want *UnavailableError", err)
			}
			if diff := cmp.Diff([]string{"conditions", "medicationRequests", "medicationStatements", "observations"}, ue.Keys); diff != "" {
				t.Errorf("unavailable keys (-want +got):\n%s", diff)
			}
			if got := ue.Reasons["conditions"]; !strings.Contains(got, tt.reason) {
				t.Errorf("reason = %q, want it to contain %q", got, tt.reason)
			}
			if got, want := statuses(rep)["patient"], fhir.KeyPrefetched; got != want {
				t.Errorf("patient status = %q, want %q", got, want)
			}
			if rec == nil || rec.Patient == nil {
				t.Errorf("partial record lost the prefetched patient")
			}
		})
	}
	if got := srv.total(); got != 0 {
		t.Errorf("server received %d requests, want 0", got)
	}
}

func TestGatherTokenReachesServerAndNoLog(t *testing.T) {
	t.Parallel()
	const token = "s3cr3t-access-token"
	srv := newFakeFHIR(t, fullServer())
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, _, err := gather(t, fhir.GathererOptions{Logger: logger}, fhir.GatherInput{FHIRServer: srv.base(), AllowedServer: allowAll, AccessToken: token})
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	if got, want := srv.total(), 5; got != want {
		t.Fatalf("server received %d requests, want %d", got, want)
	}
	for _, r := range srv.requests {
		if got, want := r.Header.Get("Authorization"), "Bearer "+token; got != want {
			t.Errorf("%s Authorization = %q, want %q", r.URL.Path, got, want)
		}
		if got, want := r.Header.Get("Accept"), "application/fhir+json"; got != want {
			t.Errorf("Accept = %q, want %q", got, want)
		}
	}
	if logs.Len() == 0 {
		t.Fatal("no log lines captured: the test would prove nothing")
	}
	for _, secret := range []string{token, patientID} {
		if bytes.Contains(logs.Bytes(), []byte(secret)) {
			t.Errorf("logs contain %q:\n%s", secret, logs.String())
		}
	}
}

func TestGatherFetchesKeysInParallel(t *testing.T) {
	t.Parallel()
	// Each request waits until four are in flight (or gives up after a
	// while), so a sequential client would see at most one at a time.
	var inFlight, maxInFlight atomic.Int32
	allIn := make(chan struct{})
	var once sync.Once
	slow := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
			}
			if n == 4 {
				once.Do(func() { close(allIn) })
			}
			select {
			case <-allIn:
			case <-time.After(time.Second):
			}
			serveJSON(body)(w, r)
		}
	}
	srv := newFakeFHIR(t, map[string]http.HandlerFunc{
		"Condition": slow(emptyBundle), "MedicationStatement": slow(emptyBundle),
		"MedicationRequest": slow(emptyBundle), "Observation": slow(emptyBundle),
	})
	_, _, err := gather(t, fhir.GathererOptions{Timeout: 5 * time.Second}, fhir.GatherInput{
		Prefetch:   map[string]json.RawMessage{"patient": json.RawMessage(patientJSON)},
		FHIRServer: srv.base(), AllowedServer: allowAll,
	})
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	if got, want := maxInFlight.Load(), int32(4); got != want {
		t.Errorf("requests in flight at once = %d, want %d", got, want)
	}
}

func TestGatherMedicationReferences(t *testing.T) {
	t.Parallel()
	medication := func(id, code string) string {
		return `{"resourceType":"Medication","id":"` + id + `","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"` + code + `"}]}}`
	}
	contained := `{"resourceType":"MedicationRequest","id":"mr-c","status":"active","intent":"order","contained":[` + medication("m1", "1111") + `],` +
		`"medicationReference":{"reference":"#m1"},"subject":{"reference":"Patient/pat-1"}}`
	sameBundle := searchset(medRequest("mr-b", "active", `"medicationReference":{"reference":"Medication/m2"}`), medication("m2", "2222"))
	otherKey := medRequest("mr-k", "active", `"medicationReference":{"reference":"Medication/m3"}`)
	fetched := medRequest("mr-f", "active", `"medicationReference":{"reference":"Medication/m4"}`)

	srv := newFakeFHIR(t, map[string]http.HandlerFunc{"Medication": func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fhir/Medication/m4" {
			serveJSON(medication("m4", "4444"))(w, r)
			return
		}
		w.WriteHeader(404)
	}})
	rec, rep, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
		Templates: map[string]string{"a": "MedicationRequest?patient={{context.patientId}}", "b": "MedicationRequest?_id=x", "c": "Medication?x=y", "d": "MedicationRequest?_id=f"},
		Prefetch: map[string]json.RawMessage{
			"a": json.RawMessage(searchset(contained) /* contained */),
			"b": json.RawMessage(sameBundle),
			"c": json.RawMessage(searchset(medication("m3", "3333"), otherKey)),
			"d": json.RawMessage(fetched),
		},
		FHIRServer: srv.base(), AllowedServer: allowAll,
	})
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	got := map[string]string{}
	for _, m := range rec.Medications {
		got[m.Ref] = m.Drug.Codings[0].Code
	}
	want := map[string]string{"MedicationRequest/mr-c": "1111", "MedicationRequest/mr-b": "2222", "MedicationRequest/mr-k": "3333", "MedicationRequest/mr-f": "4444"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("drugs by entry (-want +got):\n%s", diff)
	}
	if got, want := srv.count("Medication/"), 1; got != want {
		t.Errorf("Medication reads = %d, want %d", got, want)
	}
	if got, want := statuses(rep)["d"], fhir.KeyPrefetched; got != want {
		t.Errorf("status of d = %q, want %q", got, want)
	}

	t.Run("unreadable medication fails its key", func(t *testing.T) {
		t.Parallel()
		_, _, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
			Templates:  map[string]string{"d": "MedicationRequest?_id=f"},
			Prefetch:   map[string]json.RawMessage{"d": json.RawMessage(medRequest("mr-x", "active", `"medicationReference":{"reference":"Medication/gone"}`))},
			FHIRServer: srv.base(), AllowedServer: allowAll,
		})
		wantUnavailable(t, err, "d", "HTTP 404")
	})
	t.Run("no server to read it from", func(t *testing.T) {
		t.Parallel()
		_, _, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
			Templates: map[string]string{"d": "MedicationRequest?_id=f"},
			Prefetch:  map[string]json.RawMessage{"d": json.RawMessage(fetched)},
		})
		wantUnavailable(t, err, "d", "no fhirServer")
	})
	t.Run("reference to another server", func(t *testing.T) {
		t.Parallel()
		_, _, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
			Templates:  map[string]string{"d": "MedicationRequest?_id=f"},
			Prefetch:   map[string]json.RawMessage{"d": json.RawMessage(medRequest("mr-y", "active", `"medicationReference":{"reference":"https://elsewhere.example/fhir/Medication/m4"}`))},
			FHIRServer: srv.base(), AllowedServer: allowAll,
		})
		wantUnavailable(t, err, "d", "not a Medication on the FHIR server")
	})
}

func TestGatherSkipsBadResourcesOnly(t *testing.T) {
	t.Parallel()
	bundle := searchset(
		observation("ok", "final"),
		observation("amended", "amended"),
		observation("eie", "entered-in-error"),
		observation("cancelled", "cancelled"),
		observation("prelim", "preliminary"),
		observation("registered", "registered"),
		observation("partial", "partial"), // a DiagnosticReport code, not R4 Observation: refused
		observation("unknown", "unknown"),
		`{"resourceType":"Observation","id":"no-status","code":{},"subject":{"reference":"Patient/`+patientID+`"},"effectiveDateTime":"2024-01-10"}`,
		observation("draft", "draft"), // not an R4 code: refused, and never repeated
		`{"resourceType":"Observation","id":"bad-value","status":"final","code":{},"subject":{"reference":"Patient/pat-1"},"valueQuantity":{"value":"high"}}`,
		`{"resourceType":"Observation","id":"bad-date","status":"final","code":{},"subject":{"reference":"Patient/pat-1"},"effectiveDateTime":"last tuesday"}`,
		`{"resourceType":"Observation","id":"other-patient","status":"final","code":{},"subject":{"reference":"Patient/someone-else"}}`,
		`{"id":"no-type"}`,
	)
	rec, _, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
		Templates: map[string]string{"observations": crampTemplates["observations"]},
		Prefetch:  map[string]json.RawMessage{"observations": json.RawMessage(bundle)},
	})
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	var kept []string
	for _, o := range rec.Observations {
		kept = append(kept, o.Ref)
	}
	// Pending results are kept (a rule tells them from missing ones); a
	// status-less one, which the library would read as registered, is not.
	want := []string{"Observation/ok", "Observation/amended", "Observation/prelim", "Observation/registered"}
	if diff := cmp.Diff(want, kept); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	skipped := map[string]string{}
	for _, s := range rec.Skipped {
		skipped[s.Ref] = s.Reason
		if s.Source != "observations" {
			t.Errorf("skipped %q source = %q, want the key", s.Ref, s.Source)
		}
	}
	for ref, reason := range map[string]string{
		"Observation/eie": "entered-in-error", "Observation/cancelled": "cancelled", "Observation/unknown": "unknown",
		"Observation/no-status": "not a result", "Observation/partial": "status",
		"Observation/draft": "value set", "Observation/bad-value": "R4", "Observation/bad-date": "malformed",
		"Observation/other-patient": "another patient", "": "resourceType",
	} {
		if got, ok := skipped[ref]; !ok || !strings.Contains(got, reason) {
			t.Errorf("skipped[%q] = %q, want a reason containing %q", ref, got, reason)
		}
	}
	for _, s := range rec.Skipped {
		if strings.Contains(s.Reason, "last tuesday") {
			t.Errorf("reason %q repeats record data", s.Reason)
		}
	}
}

func TestGatherSandboxPrefetch(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../testdata/sandbox/sample-patient-view-exchange.json")
	if err != nil {
		t.Fatal(err)
	}
	var capture struct {
		Exchanges []struct {
			Method string `json:"method"`
			Body   *struct {
				FHIRServer string                     `json:"fhirServer"`
				Context    map[string]string          `json:"context"`
				Prefetch   map[string]json.RawMessage `json:"prefetch"`
			} `json:"body"`
		} `json:"exchanges"`
	}
	if err := json.Unmarshal(data, &capture); err != nil {
		t.Fatal(err)
	}
	var in fhir.GatherInput
	for _, e := range capture.Exchanges {
		if e.Method == "POST" && e.Body != nil {
			in = fhir.GatherInput{Prefetch: e.Body.Prefetch, Context: e.Body.Context, FHIRServer: e.Body.FHIRServer}
		}
	}
	// The sandbox service's keys, as that capture's discovery defined them.
	in.Templates = map[string]string{
		"patient": "Patient/{{context.patientId}}", "conditions": "Condition?patient={{context.patientId}}",
		"medications": "MedicationStatement?patient={{context.patientId}}", "hba1c": "Observation?patient={{context.patientId}}&code=4548-4",
	}
	rec, rep, err := fhir.NewGatherer(fhir.GathererOptions{}).Gather(context.Background(), in)
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, k := range rep.Keys {
		if k.Status != fhir.KeyPrefetched {
			t.Errorf("key %s status = %q, want prefetched", k.Key, k.Status)
		}
	}
	// Values from the capture: Ada, born 1950-04-12; diabetes and hypertension; metformin and lisinopril; HbA1c 8.1 %.
	if rec.Patient == nil || rec.Patient.BirthDate != "1950-04-12" || rec.Patient.Gender != "female" {
		t.Errorf("patient = %+v", rec.Patient)
	}
	if got, want := len(rec.Conditions), 2; got != want {
		t.Errorf("conditions = %d, want %d", got, want)
	}
	if got, want := len(rec.Medications), 2; got != want {
		t.Errorf("medications = %d, want %d", got, want)
	}
	if len(rec.Observations) != 1 || rec.Observations[0].Value == nil || rec.Observations[0].Value.Value != 8.1 {
		t.Errorf("observations = %+v, want one HbA1c of 8.1", rec.Observations)
	}
	asOf := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, m := range rec.Medications {
		if !m.ActiveAt(asOf) {
			t.Errorf("%s ActiveAt(%v) = false, want true", m.Ref, asOf)
		}
	}
	for _, c := range rec.Conditions {
		if !c.PresentAt(asOf) {
			t.Errorf("%s PresentAt(%v) = false, want true", c.Ref, asOf)
		}
	}
}

func TestGatherMalformedPrefetchIsFetched(t *testing.T) {
	t.Parallel()
	srv := newFakeFHIR(t, fullServer())
	for name, value := range map[string]string{"string": `"oops"`, "array": `[]`, "no resourceType": `{"entry":[]}`} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec, rep, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
				Templates:  map[string]string{"observations": crampTemplates["observations"]},
				Prefetch:   map[string]json.RawMessage{"observations": json.RawMessage(value)},
				FHIRServer: srv.base(), AllowedServer: allowAll,
			})
			if err != nil {
				t.Fatalf("Gather: %v", err)
			}
			if got, want := rep.Keys[0].Prefetch+"/"+string(rep.Keys[0].Status), "malformed/fetched"; got != want {
				t.Errorf("key = %q, want %q", got, want)
			}
			if got, want := len(rec.Observations), 1; got != want {
				t.Errorf("observations = %d, want %d", got, want)
			}
		})
	}
}

func TestGatherTemplateWithoutValueIsUnavailable(t *testing.T) {
	t.Parallel()
	srv := newFakeFHIR(t, fullServer())
	_, _, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
		Templates:  map[string]string{"encounterObservations": "Observation?encounter={{context.encounterId}}"},
		FHIRServer: srv.base(), AllowedServer: allowAll,
	})
	wantUnavailable(t, err, "encounterObservations", "no value in the request context")
	if got := srv.total(); got != 0 {
		t.Errorf("server received %d requests, want 0", got)
	}
}

// A search whose query names a code system ("code=http://loinc.org|...") is
// still a relative search on fhirServer, not a link to another server.
func TestGatherTokenSearchWithSystemURIIsRelative(t *testing.T) {
	t.Parallel()
	srv := newFakeFHIR(t, fullServer())
	templates := map[string]string{
		"observations": "Observation?patient={{context.patientId}}&code=http://loinc.org|2823-3,http://loinc.org|6298-4",
	}
	rec, rep, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
		Templates:     templates,
		FHIRServer:    srv.base(),
		AllowedServer: allowAll,
	})
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	if got, want := statuses(rep)["observations"], fhir.KeyFetched; got != want {
		t.Errorf("observations status = %q, want %q", got, want)
	}
	if got, want := srv.count("Observation"), 1; got != want {
		t.Fatalf("Observation requests = %d, want %d", got, want)
	}
	srv.mu.Lock()
	q := srv.requests[0].URL.Query().Get("code")
	srv.mu.Unlock()
	if want := "http://loinc.org|2823-3,http://loinc.org|6298-4"; q != want {
		t.Errorf("code parameter = %q, want %q", q, want)
	}
	if got, want := len(rec.Observations), 1; got != want {
		t.Errorf("observations read = %d, want %d", got, want)
	}
}
