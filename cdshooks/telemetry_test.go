package cdshooks_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/fhir"
)

// telemetryHarness is the real server reporting to in-memory providers.
type telemetryHarness struct {
	harness
	spans   *tracetest.InMemoryExporter
	reader  *sdkmetric.ManualReader
	metrics *cdshooks.Metrics
}

func mustTelemetryServer(t *testing.T, deps cdshooks.Deps) telemetryHarness {
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
	return telemetryHarness{harness: mustServer(t, cdshooks.Config{PublicURLs: []string{"https://cds.example.org"}}, deps), spans: spans, reader: reader, metrics: metrics}
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
		c.Source.Topic = &cdshooks.Coding{System: cdshooks.TopicSystem, Code: topic}
	}
	return c
}

// TestTelemetryOfOneSession drives a service call, a rejected call,
// feedback and a probe through the real server, and checks every span and
// count they must leave, and none they must not.
func TestTelemetryOfOneSession(t *testing.T) {
	t.Parallel()
	svc := &fakeService{
		defs: []cdshooks.ServiceDefinition{cdshooks.NocturnalLegCrampsDefinition(nil)},
		fn: func(context.Context, *cdshooks.Request, cdshooks.Caller) (*cdshooks.Response, error) {
			return &cdshooks.Response{Cards: []cdshooks.Card{
				card("Hydrochlorothiazide can cause leg cramps", cdshooks.TopicMedication),
				card("Furosemide can cause leg cramps", cdshooks.TopicMedication),
				card("A card without a topic", ""),
			}}, nil
		},
	}
	h := mustTelemetryServer(t, cdshooks.Deps{Authenticator: &fakeAuth{token: "good"}, Services: []cdshooks.Service{svc}})
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	ourCard := cdshooks.CardUUID("d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", cdshooks.TopicMissingLabs, "")

	if w := h.do("POST", "/cds-services/nocturnal-leg-cramps", validBody,
		"Authorization", "Bearer good", "traceparent", "00-"+traceID+"-00f067aa0ba902b7-01"); w.Code != 200 {
		t.Fatalf("service call: %d %s", w.Code, w.Body)
	}
	if w := h.do("POST", "/cds-services/nocturnal-leg-cramps", validBody, "Authorization", "Bearer forged"); w.Code != 401 {
		t.Fatalf("forged call: %d %s", w.Code, w.Body)
	}
	feedback := `{"feedback":[
		{"card":"` + ourCard + `","outcome":"accepted","acceptedSuggestions":[{"id":"s1"}],"outcomeTimestamp":"2026-11-21T10:05:31Z"},
		{"card":"9368d37b-283f-44a0-93ea-547cebab93ed","outcome":"overridden","outcomeTimestamp":"2026-11-21T10:05:31Z"}]}`
	if w := h.do("POST", "/cds-services/nocturnal-leg-cramps/feedback", feedback, "Authorization", "Bearer good"); w.Code != 200 {
		t.Fatalf("feedback: %d %s", w.Code, w.Body)
	}
	if w := h.do("GET", "/healthz", ""); w.Code != 200 {
		t.Fatalf("healthz: %d", w.Code)
	}

	t.Run("counters", func(t *testing.T) {
		const svcAttr = "service=nocturnal-leg-cramps"
		for _, tt := range []struct {
			name string
			want map[string]int64
		}{
			{cdshooks.MetricCardsReturned, map[string]int64{
				svcAttr + ",topic=cramp-medication": 2,
				svcAttr + ",topic=none":             1,
			}},
			{cdshooks.MetricJWTRejections, map[string]int64{"reason=bad_token": 1}},
			{cdshooks.MetricFeedbackOutcomes, map[string]int64{
				"outcome=accepted," + svcAttr + ",topic=cramp-missing-labs": 1,
				"outcome=overridden," + svcAttr + ",topic=unknown":          1,
			}},
		} {
			if diff := cmp.Diff(tt.want, h.counters(t, tt.name)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.name, diff)
			}
		}
	})

	t.Run("request duration by route and status", func(t *testing.T) {
		got := map[string]uint64{}
		for _, p := range h.metric(t, "http.server.request.duration") {
			dp := p.(metricdata.HistogramDataPoint[float64])
			route, _ := dp.Attributes.Value("http.route")
			status, _ := dp.Attributes.Value("http.response.status_code")
			got[route.Emit()+" "+status.Emit()] += dp.Count
		}
		want := map[string]uint64{
			"/cds-services/:id 200":          1,
			"/cds-services/:id 401":          1,
			"/cds-services/:id/feedback 200": 1,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("http.server.request.duration counts (-want +got):\n%s", diff)
		}
	})

	t.Run("spans", func(t *testing.T) {
		var names []string
		var evaluate, call sdktrace.ReadOnlySpan
		for _, s := range h.spans.GetSpans().Snapshots() {
			names = append(names, s.Name())
			switch {
			case s.Name() == "evaluate nocturnal-leg-cramps":
				evaluate = s
			case s.Name() == "POST /cds-services/:id" && s.SpanContext().TraceID().String() == traceID:
				call = s
			}
		}
		want := []string{"evaluate nocturnal-leg-cramps", "POST /cds-services/:id", "POST /cds-services/:id", "POST /cds-services/:id/feedback"}
		if diff := cmp.Diff(want, names); diff != "" {
			t.Fatalf("span names (-want +got), in the order they ended; probes are not traced:\n%s", diff)
		}
		if call == nil {
			t.Fatalf("no server span continues the caller's trace %s", traceID)
		}
		if got, want := evaluate.Parent().SpanID(), call.SpanContext().SpanID(); got != want {
			t.Errorf("evaluation span's parent = %s, want the server span %s", got, want)
		}
		attrs := attribute.NewSet(evaluate.Attributes()...)
		if v, _ := attrs.Value("cds.cards"); v.AsInt64() != 3 {
			t.Errorf("evaluation span cds.cards = %v, want 3", v.Emit())
		}
	})
}

func TestEvaluationSpanRecordsOnlyTheErrorCode(t *testing.T) {
	t.Parallel()
	svc := &fakeService{
		defs: []cdshooks.ServiceDefinition{cdshooks.NocturnalLegCrampsDefinition(nil)},
		fn: func(context.Context, *cdshooks.Request, cdshooks.Caller) (*cdshooks.Response, error) {
			return nil, errors.New("reading Observation for patient 1288992: boom")
		},
	}
	h := mustTelemetryServer(t, cdshooks.Deps{Services: []cdshooks.Service{svc}})
	if w := h.do("POST", "/cds-services/nocturnal-leg-cramps", validBody); w.Code != 500 {
		t.Fatalf("status = %d, want 500", w.Code)
	}
	for _, s := range h.spans.GetSpans().Snapshots() {
		if s.Name() != "evaluate nocturnal-leg-cramps" {
			continue
		}
		if got, want := s.Status(), (sdktrace.Status{Code: codes.Error, Description: "internal"}); got != want {
			t.Errorf("evaluation span status = %+v, want %+v", got, want)
		}
		return
	}
	t.Fatal("no evaluation span")
}

func TestPrefetchGatheredCountsKeysByStatus(t *testing.T) {
	t.Parallel()
	h := mustTelemetryServer(t, cdshooks.Deps{})
	report := &fhir.GatherReport{Keys: []fhir.KeyReport{
		{Key: "patient", Status: fhir.KeyPrefetched},
		{Key: "medicationStatements", Status: fhir.KeyNull},
		{Key: "observations", Status: fhir.KeyFetched, Requests: 2},
		{Key: "conditions", Status: fhir.KeyFailed, Reason: "fhirServer is not on the allow list"},
	}}
	// The command hands this method to the clinical service as its OnGather.
	onGather := h.metrics.PrefetchGathered
	onGather(context.Background(), report)
	onGather(context.Background(), &fhir.GatherReport{Keys: report.Keys[:1]})
	onGather(context.Background(), nil)
	want := map[string]int64{
		"key=patient,status=prefetched":        2,
		"key=medicationStatements,status=null": 1,
		"key=observations,status=fetched":      1,
		"key=conditions,status=failed":         1,
	}
	if diff := cmp.Diff(want, h.counters(t, cdshooks.MetricPrefetchKeys)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", cdshooks.MetricPrefetchKeys, diff)
	}
}

// TestNilMetricsCountsNothing: a server or service built without metrics
// calls the same methods on a nil *Metrics; that must not panic.
func TestNilMetricsCountsNothing(t *testing.T) {
	t.Parallel()
	var m *cdshooks.Metrics
	ctx := context.Background()
	m.CardsReturned(ctx, "s", []cdshooks.Card{card("x", "")})
	m.PrefetchGathered(ctx, &fhir.GatherReport{Keys: []fhir.KeyReport{{Key: "patient"}}})
	m.JWTRejected(ctx, "expired")
	m.FeedbackReceived(ctx, "s", cdshooks.Feedback{Card: "c"})
}

// BenchmarkServiceCallTelemetry measures what telemetry adds to one service
// call through the real server: none at all, against what the command wires
// when OTEL_* is unset (spans not recorded, metrics kept for Prometheus).
func BenchmarkServiceCallTelemetry(b *testing.B) {
	svc := &fakeService{
		defs: []cdshooks.ServiceDefinition{cdshooks.NocturnalLegCrampsDefinition(nil)},
		fn: func(context.Context, *cdshooks.Request, cdshooks.Caller) (*cdshooks.Response, error) {
			return &cdshooks.Response{Cards: []cdshooks.Card{card("Hydrochlorothiazide can cause leg cramps", cdshooks.TopicMedication)}}, nil
		},
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	metrics, err := cdshooks.NewMetrics(mp.Meter("bench"))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		tel  cdshooks.Telemetry
	}{
		{"none", cdshooks.Telemetry{}},
		{"unset OTEL", cdshooks.Telemetry{
			TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample()))),
			MeterProvider:  mp,
			Metrics:        metrics,
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv, err := cdshooks.NewServer(cdshooks.Config{}, cdshooks.Deps{Services: []cdshooks.Service{svc}, Telemetry: bc.tel})
			if err != nil {
				b.Fatal(err)
			}
			h := harness{h: srv.Handler()}
			b.ReportAllocs()
			for b.Loop() {
				if w := h.do("POST", "/cds-services/nocturnal-leg-cramps", validBody); w.Code != 200 {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
