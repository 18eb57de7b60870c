package cdshooks_test

// This file is the one test harness of the package: the real server built
// with fakes (service, authenticator) and, for telemetry, in-memory
// providers; a sample service definition and card topics that stand for
// whatever product a deployment serves.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
)

// sampleID is the id of the sample service the tests call.
const sampleID = "sample-service"

// sampleDefinition is a patient-view discovery entry shaped like a real
// one, prefetch templates included.
func sampleDefinition() cdshooks.ServiceDefinition {
	return cdshooks.ServiceDefinition{
		Hook:        cdshooks.HookPatientView,
		ID:          sampleID,
		Title:       "Sample service",
		Description: "A patient-view service that stands for any product.",
		Prefetch: map[string]string{
			"patient":              "Patient/{{context.patientId}}",
			"conditions":           "Condition?patient={{context.patientId}}",
			"medicationStatements": "MedicationStatement?patient={{context.patientId}}",
			"medicationRequests":   "MedicationRequest?patient={{context.patientId}}",
			"observations":         "Observation?patient={{context.patientId}}&category=laboratory",
		},
		UsageRequirements: "Uses the prefetched patient.",
	}
}

// sampleTopicSystem is the code system of the sample cards' topics.
const sampleTopicSystem = "https://example.org/card-topic"

// sampleBetaCard is a card uuid the sample service issued, of topic "beta".
const sampleBetaCard = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"

// sampleTopics is the harness's Deps.Topics: sampleBetaCard carries topic
// beta; any other uuid is not the sample service's.
type sampleTopics struct{}

func (sampleTopics) TopicOf(card string) (string, bool) {
	if card == sampleBetaCard {
		return "beta", true
	}
	return "", false
}

// fakeService is a Service whose answer a test chooses; it records what it got.
type fakeService struct {
	defs []cdshooks.ServiceDefinition
	fn   func(ctx context.Context, req *cdshooks.Request, caller cdshooks.Caller) (*cdshooks.Response, error)

	mu     sync.Mutex
	req    *cdshooks.Request
	caller cdshooks.Caller
	calls  int
}

func (f *fakeService) Definitions() []cdshooks.ServiceDefinition { return f.defs }

func (f *fakeService) Evaluate(ctx context.Context, req *cdshooks.Request, caller cdshooks.Caller) (*cdshooks.Response, error) {
	f.mu.Lock()
	f.req, f.caller, f.calls = req, caller, f.calls+1
	f.mu.Unlock()
	if f.fn == nil {
		return &cdshooks.Response{}, nil
	}
	return f.fn(ctx, req, caller)
}

func (f *fakeService) got() (*cdshooks.Request, cdshooks.Caller, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.req, f.caller, f.calls
}

// fakeAuth is an Authenticator that accepts exactly one token, for any
// audience but none (as the real one refuses every token without one).
type fakeAuth struct {
	token  string
	caller cdshooks.Caller

	mu        sync.Mutex
	audiences []string
}

func (a *fakeAuth) Authenticate(r *http.Request, audience string) (cdshooks.Caller, error) {
	a.mu.Lock()
	a.audiences = append(a.audiences, audience)
	a.mu.Unlock()
	if audience == "" {
		return cdshooks.Caller{}, &cdshooks.AuthFailure{Reason: "bad_audience", Err: errors.New("no audience")}
	}
	if r.Header.Get("Authorization") != "Bearer "+a.token {
		return cdshooks.Caller{}, &cdshooks.AuthFailure{Reason: "bad_token", Err: errors.New("token mismatch")}
	}
	return a.caller, nil
}

func (a *fakeAuth) lastAudience() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.audiences) == 0 {
		return ""
	}
	return a.audiences[len(a.audiences)-1]
}

type harness struct {
	srv  *cdshooks.Server
	h    http.Handler
	logs *fixtures.LogBuffer
}

// mustServer builds the real server. With no services given it serves the
// sample definition with no cards; without an id grammar or a card topic
// reader it uses fhir.ValidID and sampleTopics.
func mustServer(t *testing.T, cfg cdshooks.Config, deps cdshooks.Deps) harness {
	t.Helper()
	if deps.Services == nil {
		deps.Services = []cdshooks.Service{cdshooks.NoCards{Defs: []cdshooks.ServiceDefinition{sampleDefinition()}}}
	}
	if deps.IsFHIRID == nil {
		deps.IsFHIRID = fhir.ValidID
	}
	if deps.ReadDraftOrders == nil {
		deps.ReadDraftOrders = fhir.EachDraftOrder
	}
	if deps.Topics == nil {
		deps.Topics = sampleTopics{}
	}
	logs := &fixtures.LogBuffer{}
	deps.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := cdshooks.NewServer(cfg, deps)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	return harness{srv: srv, h: srv.Handler(), logs: logs}
}

func (h harness) do(method, path, body string, header ...string) *httptest.ResponseRecorder {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, req)
	return w
}

// telemetryHarness is the real server reporting to in-memory providers.
type telemetryHarness struct {
	harness
	spans   *tracetest.InMemoryExporter
	reader  *sdkmetric.ManualReader
	metrics *cdshooks.Metrics
}

func mustTelemetryServer(t *testing.T, deps cdshooks.Deps) telemetryHarness {
	t.Helper()
	return mustTelemetryServerWith(t, cdshooks.Config{PublicURLs: []string{"https://cds.example.org"}}, deps)
}

// mustTelemetryServerWith is mustTelemetryServer with the given Config.
func mustTelemetryServerWith(t *testing.T, cfg cdshooks.Config, deps cdshooks.Deps) telemetryHarness {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	reader := sdkmetric.NewManualReader()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	metrics, err := cdshooks.NewMetrics(mp.Meter("test"))
	if err != nil {
		t.Fatalf("NewMetrics: %v", err)
	}
	deps.Telemetry = cdshooks.Telemetry{TracerProvider: tp, MeterProvider: mp, Metrics: metrics}
	return telemetryHarness{harness: mustServer(t, cfg, deps), spans: spans, reader: reader, metrics: metrics}
}

// counters returns the sums of the counter name by attribute set, each set
// written "k=v,k=v" in key order.
func (h telemetryHarness) counters(t *testing.T, name string) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	for _, dp := range h.metric(t, name) {
		sum, ok := dp.(metricdata.DataPoint[int64])
		if !ok {
			t.Fatalf("%s is %T, not an int64 counter", name, dp)
		}
		got[sum.Attributes.Encoded(attribute.DefaultEncoder())] += sum.Value
	}
	return got
}

// metric returns the data points of the metric name (nil when absent).
func (h telemetryHarness) metric(t *testing.T, name string) []any {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collecting metrics: %v", err)
	}
	var points []any
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					points = append(points, dp)
				}
			case metricdata.Histogram[float64]:
				for _, dp := range data.DataPoints {
					points = append(points, dp)
				}
			default:
				t.Fatalf("%s has unexpected data %T", name, data)
			}
		}
	}
	return points
}

func card(summary, topic string) cdshooks.Card {
	c := cdshooks.Card{Summary: summary, Indicator: cdshooks.IndicatorInfo, Source: cdshooks.Source{Label: "test"}}
	if topic != "" {
		c.Source.Topic = &cdshooks.Coding{System: sampleTopicSystem, Code: topic}
	}
	return c
}
