package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
)

// The patient of the observability tests. Every value is distinctive, so that
// finding it anywhere in the log is a leak, not a coincidence.
const (
	obsPatientID   = "pt-7f3c9e1a"
	obsFamily      = "Quackenbush"
	obsGiven       = "Zebulon"
	obsMRN         = "MRN-55501234"
	obsBirthDate   = "1946-02-17"
	obsAccessToken = "fhir-token-Zq8RkV2pLxW7"
	obsComment     = "Zebulon stopped the tablets last week"
)

// obsClinicalData are codes, values and resource ids of the record: clinical
// data that must never reach the log either.
var obsClinicalData = []string{
	"449918009", "cond-31337", // the leg-cramp condition (fetched from the FHIR server)
	"310798", "Hydrochlorothiazide", "medreq-88123", // the thiazide
	"2823-3", "3.17", "obs-k-55120", // the low potassium
}

// obsPrefetch is what the EHR prefetched: the patient, medication requests,
// laboratory results (a potassium of 3.17 mmol/L three days ago), and no
// medication statements (null). Conditions are absent, so the service reads
// them from the FHIR server.
func obsPrefetch() string {
	when := time.Now().UTC().AddDate(0, 0, -3).Format(time.RFC3339)
	return `{
 "patient": {"resourceType":"Patient","id":"pt-7f3c9e1a",
   "identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":"urn:oid:1.2.36.146.595.217.0.1","value":"MRN-55501234"}],
   "name":[{"family":"Quackenbush","given":["Zebulon"]}],"gender":"male","birthDate":"1946-02-17"},
 "medicationRequests": {"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"MedicationRequest","id":"medreq-88123",
   "status":"active","intent":"order",
   "medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"310798","display":"Hydrochlorothiazide 25 MG Oral Tablet"}]},
   "subject":{"reference":"Patient/pt-7f3c9e1a"},"authoredOn":"2026-01-10"}}]},
 "medicationStatements": null,
 "serviceRequests": {"resourceType":"Bundle","type":"searchset","total":0},
 "observations": {"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Observation","id":"obs-k-55120","status":"final",
   "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
   "code":{"coding":[{"system":"http://loinc.org","code":"2823-3","display":"Potassium [Moles/volume] in Serum or Plasma"}]},
   "subject":{"reference":"Patient/pt-7f3c9e1a"},"effectiveDateTime":"` + when + `",
   "valueQuantity":{"value":3.17,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}}]}
}`
}

// obsConditions is the FHIR server's answer to the conditions search: leg cramps.
const obsConditions = `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Condition","id":"cond-31337",
 "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
 "verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]},
 "code":{"coding":[{"system":"http://snomed.info/sct","code":"449918009","display":"Cramp in lower leg"}]},
 "subject":{"reference":"Patient/pt-7f3c9e1a"},"onsetDateTime":"2026-05-02"}}]}`

// fakeFHIR is the EHR's FHIR server: it answers the conditions search for
// the patient when given the access token, and records what it was asked.
type fakeFHIR struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string // method and path, e.g. "GET /Condition"
}

func newFakeFHIR(t *testing.T) *fakeFHIR {
	t.Helper()
	f := &fakeFHIR{}
	f.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/fhir+json")
		if r.Header.Get("Authorization") != "Bearer "+obsAccessToken {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login"}]}`)
			return
		}
		if r.URL.Path != "/Condition" || r.URL.Query().Get("patient") != obsPatientID {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}`)
			return
		}
		_, _ = io.WriteString(w, obsConditions)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeFHIR) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// testIssuer is an EHR that signs CDS Hooks JWTs with its own ES384 key.
type testIssuer struct {
	iss, kid string
	key      *ecdsa.PrivateKey
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &testIssuer{iss: "https://ehr.observability.test", kid: "obs-2026", key: key}
}

// trustFile writes a trust file trusting this issuer's public key, inline,
// and letting it name fhirServer; it returns the path.
func (i *testIssuer) trustFile(t *testing.T, fhirServer string) string {
	t.Helper()
	jwk, err := jwkset.NewJWKFromKey(&i.key.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
		KID: i.kid, ALG: jwkset.AlgES384, USE: jwkset.UseSig,
	}})
	if err != nil {
		t.Fatal(err)
	}
	trust, err := json.Marshal(map[string]any{"issuers": []any{map[string]any{
		"iss":          i.iss,
		"jwks":         map[string]any{"keys": []any{jwk.Marshal()}},
		"fhir_servers": []string{fhirServer},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "trust.json")
	if err := os.WriteFile(path, trust, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// token signs a fresh JWT for the endpoint URL aud with key (nil: the
// issuer's own key).
func (i *testIssuer) token(t *testing.T, aud string, key *ecdsa.PrivateKey) string {
	t.Helper()
	if key == nil {
		key = i.key
	}
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodES384, jwt.MapClaims{
		"iss": i.iss, "aud": aud, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": uuid.NewString(),
	})
	tok.Header["kid"] = i.kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// slogJSON is the logger runServe builds, writing to w.
func slogJSON(w io.Writer, cfg Config) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: cfg.LogLevel}))
}

// clearOTEL unsets every OTEL_* variable that could make the server export,
// so that the tests see the defaults whatever the machine sets. Tests that
// call it cannot run in parallel.
func clearOTEL(t *testing.T) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "OTEL_") {
			t.Setenv(name, "")
		}
	}
}

// session is one real server with a trusted EHR and its FHIR server.
type session struct {
	main   *Main
	logs   *fixtures.LogBuffer
	fhir   *fakeFHIR
	issuer *testIssuer
	stop   func() error
	// secrets are the credentials the session used, for the leak scan.
	secrets []string
}

// startSession opens the whole program, debug logging included, with the
// real services and JWT verification.
func startSession(t *testing.T) *session {
	t.Helper()
	s := &session{logs: &fixtures.LogBuffer{}, fhir: newFakeFHIR(t), issuer: newTestIssuer(t)}
	cfg := testConfig()
	cfg.InsecureNoAuth = false
	cfg.TrustFile = s.issuer.trustFile(t, s.fhir.URL)
	cfg.PublicURLs = []string{obsPublicURL}
	cfg.LogLevel = slog.LevelDebug // everything any package logs is scanned
	s.main = &Main{
		Config:        cfg,
		Logger:        slogJSON(s.logs, cfg),
		FHIRTransport: s.fhir.Client().Transport,
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.main.Open(ctx); err != nil {
		cancel()
		t.Fatalf("Open: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.main.Run(ctx) }()
	var once sync.Once
	var stopErr error
	s.stop = func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s
}

// post sends body to path with a JWT (and optional extra headers) and
// returns the status and body.
func (s *session) post(t *testing.T, path, jwtToken, body string, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", "http://"+s.main.Addr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+jwtToken)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	s.secrets = append(s.secrets, jwtToken)
	return send(t, req)
}

// send does req and returns the status and body of the answer.
func send(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// serviceURL is the endpoint URL the JWTs are addressed to: under the public
// URL the server is given, not the address it listens on.
func (s *session) serviceURL(path string) string { return obsPublicURL + path }

// obsPublicURL is the server's --public-url in these sessions.
const obsPublicURL = "https://cds.example.test"

const (
	servicePath  = "/cds-services/nocturnal-leg-cramps"
	feedbackPath = servicePath + "/feedback"
	// obsTraceID is the trace the EHR's traceparent starts.
	obsTraceID = "0af7651916cd43dd8448eb211c80319c"
)

// run plays one EHR session: a patient-view call (conditions fetched from
// the FHIR server), a call with a forged JWT, and feedback overriding the
// medication card. It returns the cards of the first call.
func (s *session) run(t *testing.T) []cdshooks.Card {
	t.Helper()
	body := `{"hook":"patient-view","hookInstance":"3f1c1a4e-0b7d-4d8e-9d55-2b4c1f0e7a61",
	 "fhirServer":"` + s.fhir.URL + `",
	 "fhirAuthorization":{"access_token":"` + obsAccessToken + `","token_type":"Bearer","expires_in":300,
	   "scope":"patient/Patient.read patient/Observation.read","subject":"cds-service"},
	 "context":{"userId":"Practitioner/dr-4711","patientId":"` + obsPatientID + `"},
	 "prefetch":` + obsPrefetch() + `}`
	s.secrets = append(s.secrets, obsAccessToken)

	status, respBody := s.post(t, servicePath, s.issuer.token(t, s.serviceURL(servicePath), nil), body,
		"traceparent", "00-"+obsTraceID+"-b7ad6b7169203331-01")
	if status != http.StatusOK {
		t.Fatalf("service call: %d %s\nlog:\n%s", status, respBody, s.logs)
	}
	var resp cdshooks.Response
	if err := json.Unmarshal(respBody, &resp); err != nil {
		t.Fatalf("decoding the cards: %v", err)
	}
	if got, want := s.fhir.got(), []string{"GET /Condition"}; !equalStrings(got, want) {
		t.Errorf("FHIR server was asked %q, want %q (conditions were not prefetched)", got, want)
	}

	forger, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if status, b := s.post(t, servicePath, s.issuer.token(t, s.serviceURL(servicePath), forger), body); status != http.StatusUnauthorized {
		t.Fatalf("forged JWT: %d %s, want 401", status, b)
	}

	medication := findCard(t, resp.Cards, legcramps.TopicMedication)
	if len(medication.OverrideReasons) == 0 {
		t.Fatalf("the medication card offers no override reasons: %+v", medication)
	}
	feedback := fmt.Sprintf(`{"feedback":[{"card":%q,"outcome":"overridden",
	 "overrideReason":{"reason":{"system":%q,"code":%q},"userComment":%q},"outcomeTimestamp":%q}]}`,
		medication.UUID, medication.OverrideReasons[0].System, medication.OverrideReasons[0].Code, obsComment,
		time.Now().UTC().Format(time.RFC3339))
	if status, b := s.post(t, feedbackPath, s.issuer.token(t, s.serviceURL(feedbackPath), nil), feedback); status != http.StatusOK {
		t.Fatalf("feedback: %d %s", status, b)
	}
	return resp.Cards
}

// forbidden lists what must never leave the process in logs or telemetry:
// the credentials the session used (a JWT also part by part: header, claims,
// signature), the patient's identity, the clinician's comment, and the
// record's codes, values and resource ids.
func (s *session) forbidden() []string {
	out := []string{obsPatientID, obsFamily, obsGiven, obsMRN, obsBirthDate, obsComment}
	out = append(out, obsClinicalData...)
	for _, secret := range s.secrets {
		out = append(out, secret)
		out = append(out, strings.Split(secret, ".")...)
	}
	return out
}

func findCard(t *testing.T, cards []cdshooks.Card, topic string) cdshooks.Card {
	t.Helper()
	for _, c := range cards {
		if c.Source.Topic != nil && c.Source.Topic.Code == topic {
			return c
		}
	}
	t.Fatalf("no %s card among %d cards", topic, len(cards))
	return cdshooks.Card{}
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}

// scrape returns the admin listener's /metrics, parsed as Prometheus does,
// and the raw text.
func (s *session) scrape(t *testing.T) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+s.main.AdminAddr()+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	status, raw := send(t, req)
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d %s", status, raw)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("/metrics is not valid Prometheus text: %v\n%s", err, raw)
	}
	return families, string(raw)
}

// value returns a counter's value, or a histogram's count, for the series of
// family name whose labels include want.
func value(families map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := families[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		if h := m.GetHistogram(); h != nil {
			return float64(h.GetSampleCount()), true
		}
		return m.GetCounter().GetValue(), true
	}
	return 0, false
}

// TestMetricsEndpointAfterOneSession is the acceptance test of /metrics: after
// one call, one rejected call and one feedback, the admin listener shows
// every metric the service promises, with the expected labels and counts.
//
// Not parallel: it clears OTEL_* (t.Setenv).
func TestMetricsEndpointAfterOneSession(t *testing.T) {
	clearOTEL(t)
	s := startSession(t)
	cards := s.run(t)
	families, raw := s.scrape(t)

	type series struct {
		name   string
		labels map[string]string
		value  float64 // 0: any value above zero
	}
	svc := legcramps.PatientViewID
	want := []series{
		// Request duration by route and status (otelgin).
		{"http_server_request_duration_seconds", map[string]string{"http_route": "/cds-services/:id", "http_response_status_code": "200", "http_request_method": "POST"}, 1},
		{"http_server_request_duration_seconds", map[string]string{"http_route": "/cds-services/:id", "http_response_status_code": "401"}, 1},
		{"http_server_request_duration_seconds", map[string]string{"http_route": "/cds-services/:id/feedback", "http_response_status_code": "200"}, 1},
		// FHIR fetch latency (otelhttp on the Gatherer's client).
		// Labelled by the trust file's entry, never by address or port (issue 13, item 8).
		{"http_client_request_duration_seconds", map[string]string{"http_request_method": "GET", "http_response_status_code": "200", "fhir_server": s.fhir.URL}, 1},
		// Cards by topic: one medication card, from the thiazide.
		{"cramp_cds_cards_returned_total", map[string]string{"service": svc, "topic": legcramps.TopicMedication}, 1},
		// Prefetch keys: used, null, fetched.
		{"cramp_cds_prefetch_keys_total", map[string]string{"key": "patient", "status": "prefetched"}, 1},
		{"cramp_cds_prefetch_keys_total", map[string]string{"key": "medicationStatements", "status": "null"}, 1},
		{"cramp_cds_prefetch_keys_total", map[string]string{"key": "conditions", "status": "fetched"}, 1},
		// The forged JWT.
		{"cramp_cds_jwt_rejections_total", map[string]string{"reason": "bad_signature"}, 1},
		// The feedback, attributed to the medication card's topic.
		{"cramp_cds_feedback_outcomes_total", map[string]string{"service": svc, "topic": legcramps.TopicMedication, "outcome": "overridden"}, 1},
	}
	for _, w := range want {
		got, ok := value(families, w.name, w.labels)
		switch {
		case !ok:
			t.Errorf("/metrics lacks %s%v", w.name, w.labels)
		case w.value != 0 && got != w.value:
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.value)
		}
	}
	// Every card returned is counted under its topic.
	var counted float64
	for _, m := range families["cramp_cds_cards_returned_total"].GetMetric() {
		counted += m.GetCounter().GetValue()
	}
	if got, want := counted, float64(len(cards)); got != want {
		t.Errorf("cards counted = %v, want %v (the cards returned)", got, want)
	}
	// The caller chooses fhirServer: its address and port never become labels.
	for _, m := range families["http_client_request_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "server_address" || l.GetName() == "server_port" {
				t.Errorf("http_client_request_duration_seconds has the label %s=%q", l.GetName(), l.GetValue())
			}
		}
	}
	// Probes are not measured: the kubelet's calls would drown the API's.
	if _, ok := value(families, "http_server_request_duration_seconds", map[string]string{"http_route": "/healthz"}); ok {
		t.Errorf("/healthz is measured")
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", raw)
	}
}

// TestLogOfOneSessionLeaksNothing runs one full session at debug level and
// scans the whole log for the access token, the JWTs (whole and each part),
// the patient's id, name, MRN and birth date, the override comment, and the
// codes, values and resource ids of the record. None may appear. It also
// checks that the request line carries the caller's trace id and the route
// pattern.
//
// Not parallel: it clears OTEL_* (t.Setenv).
func TestLogOfOneSessionLeaksNothing(t *testing.T) {
	clearOTEL(t)
	s := startSession(t)
	s.run(t)
	if err := s.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	logs := s.logs.String()

	var serviceLine map[string]any
	var scanned strings.Builder
	lines := 0
	for line := range strings.SplitSeq(strings.TrimSpace(logs), "\n") {
		lines++
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if rec["msg"] == "request" && rec["route"] == "/cds-services/:id" && rec["status"] == float64(200) {
			serviceLine = rec
		}
		// Fields that only ever hold numbers and ids we generate are left
		// out of the scan: a timestamp or a random trace id could contain
		// "3.17" or "310798" by chance, and the test would flake.
		rest := maps.Clone(rec)
		for _, k := range []string{"time", "duration", "duration_ms", "trace_id", "span_id"} {
			delete(rest, k)
		}
		b, _ := json.Marshal(rest)
		scanned.Write(b)
		scanned.WriteByte('\n')
	}
	for _, f := range s.forbidden() {
		if strings.Contains(strings.ToLower(scanned.String()), strings.ToLower(f)) {
			t.Errorf("the log contains %q", f)
		}
	}
	if serviceLine == nil {
		t.Fatalf("no request line for the service call in:\n%s", logs)
	}
	if got, want := serviceLine["trace_id"], obsTraceID; got != want {
		t.Errorf("request line trace_id = %v, want the caller's %v", got, want)
	}
	if id, _ := serviceLine["span_id"].(string); len(id) != 16 {
		t.Errorf("request line span_id = %v, want 16 hex digits", serviceLine["span_id"])
	}
	if _, ok := serviceLine["duration_ms"].(float64); !ok {
		t.Errorf("request line has no duration_ms: %v", serviceLine)
	}
	if t.Failed() {
		t.Logf("log (%d lines):\n%s", lines, logs)
	}
}

// TestStartsWithoutExportersWhenOTELUnset: with no OTEL_* variable the
// server starts, exports nothing (no OTLP exporter exists), says so once in
// the log, and logs no error.
//
// Not parallel: it clears OTEL_* (t.Setenv).
func TestStartsWithoutExportersWhenOTELUnset(t *testing.T) {
	clearOTEL(t)
	logs := &fixtures.LogBuffer{}
	cfg := testConfig()
	m := &Main{Config: cfg, Logger: slogJSON(logs, cfg)}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	resp, err := http.Post("http://"+m.Addr()+servicePath, "application/json", strings.NewReader(patientView))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	if got, want := m.telemetry.traces, "none"; got != want {
		t.Errorf("trace exporter = %q, want %q", got, want)
	}
	if got, want := m.telemetry.otlpMetrics, "none"; got != want {
		t.Errorf("OTLP metric exporter = %q, want %q", got, want)
	}
	want := `"msg":"telemetry","traces":"none","metrics":"prometheus","otlp_metrics":"none"`
	if got := logs.String(); !strings.Contains(got, want) {
		t.Errorf("log lacks %s:\n%s", want, got)
	}
	if got := logs.String(); strings.Contains(got, `"level":"ERROR"`) {
		t.Errorf("errors logged:\n%s", got)
	}
}

// collector is an OTLP/HTTP collector: it keeps every export request it
// receives, decoded from protobuf.
type collector struct {
	*httptest.Server
	mu      sync.Mutex
	traces  []*coltracepb.ExportTraceServiceRequest
	metrics []*colmetricpb.ExportMetricsServiceRequest
}

func newCollector(t *testing.T) *collector {
	t.Helper()
	c := &collector{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost || len(body) == 0 {
			http.Error(w, "want a POST with a body", http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		switch r.URL.Path {
		case "/v1/traces":
			req := &coltracepb.ExportTraceServiceRequest{}
			err = proto.Unmarshal(body, req)
			c.traces = append(c.traces, req)
		case "/v1/metrics":
			req := &colmetricpb.ExportMetricsServiceRequest{}
			err = proto.Unmarshal(body, req)
			c.metrics = append(c.metrics, req)
		default:
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(c.Close)
	return c
}

// spans returns every span received, with the service.name of its resource.
func (c *collector) spans() (spans []*tracepb.Span, services []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, req := range c.traces {
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				spans = append(spans, ss.GetSpans()...)
			}
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.GetKey() == "service.name" {
					services = append(services, kv.GetValue().GetStringValue())
				}
			}
		}
	}
	return spans, services
}

// metricNames returns the names of every metric received.
func (c *collector) metricNames() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := map[string]bool{}
	for _, req := range c.metrics {
		for _, rm := range req.GetResourceMetrics() {
			for _, sm := range rm.GetScopeMetrics() {
				for _, m := range sm.GetMetrics() {
					names[m.GetName()] = true
				}
			}
		}
	}
	return names
}

// TestOTLPExportToCollector is the acceptance test of OTLP export: with
// OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local collector, one session's
// spans and metrics arrive by the time the server has shut down (which
// flushes), the spans continue the EHR's trace, and no span attribute holds
// anything the log may not hold either.
//
// Not parallel: it sets OTEL_* (t.Setenv).
func TestOTLPExportToCollector(t *testing.T) {
	clearOTEL(t)
	col := newCollector(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.URL)
	t.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "3600000") // only the flush at shutdown exports
	s := startSession(t)
	if got, want := s.main.telemetry.traces+","+s.main.telemetry.otlpMetrics, "otlp,otlp"; got != want {
		t.Fatalf("exporters (traces,metrics) = %s, want %s", got, want)
	}
	s.run(t)
	if err := s.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	spans, services := col.spans()
	byName := map[string]*tracepb.Span{}
	for _, sp := range spans {
		byName[sp.GetName()] = sp
	}
	for _, name := range []string{"POST /cds-services/:id", "evaluate nocturnal-leg-cramps", "GET Condition", "POST /cds-services/:id/feedback"} {
		if byName[name] == nil {
			t.Errorf("no span %q arrived (got %d spans)", name, len(spans))
		}
	}
	if sp := byName["evaluate nocturnal-leg-cramps"]; sp != nil {
		if got := fmt.Sprintf("%x", sp.GetTraceId()); got != obsTraceID {
			t.Errorf("evaluation span trace id = %s, want the EHR's %s", got, obsTraceID)
		}
	}
	if sp := byName["GET Condition"]; sp != nil {
		if got, want := attr(sp, "url.full"), s.fhir.URL+"/Condition"; got != want {
			t.Errorf("FHIR client span url.full = %q, want %q", got, want)
		}
	}
	for _, svc := range services {
		if svc != "cramp-cds" {
			t.Errorf("resource service.name = %q, want cramp-cds", svc)
		}
	}
	forbidden := s.forbidden()
	for _, sp := range spans {
		for _, kv := range sp.GetAttributes() {
			v := kv.GetValue().String()
			for _, f := range forbidden {
				if strings.Contains(strings.ToLower(v), strings.ToLower(f)) {
					t.Errorf("span %q attribute %s holds %q", sp.GetName(), kv.GetKey(), f)
				}
			}
		}
	}

	names := col.metricNames()
	for _, name := range []string{
		"http.server.request.duration", "http.client.request.duration",
		cdshooks.MetricCardsReturned, cdshooks.MetricPrefetchKeys, cdshooks.MetricJWTRejections, cdshooks.MetricFeedbackOutcomes,
	} {
		if !names[name] {
			t.Errorf("metric %s did not arrive (got %v)", name, slices.Sorted(maps.Keys(names)))
		}
	}
}

// attr returns a span's string attribute, "" when absent.
func attr(sp *tracepb.Span, key string) string {
	for _, kv := range sp.GetAttributes() {
		if kv.GetKey() == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}
