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

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/fhir"
)

// TestTelemetryOfOneSession drives a service call, a rejected call,
// feedback and a probe through the real server, and checks every span and
// count they must leave, and none they must not.
func TestTelemetryOfOneSession(t *testing.T) {
	t.Parallel()
	svc := &fakeService{
		defs: []cdshooks.ServiceDefinition{sampleDefinition()},
		fn: func(context.Context, *cdshooks.Request, cdshooks.Caller) (*cdshooks.Response, error) {
			return &cdshooks.Response{Cards: []cdshooks.Card{
				card("Hydrochlorothiazide can cause leg cramps", "alpha"),
				card("Furosemide can cause leg cramps", "alpha"),
				card("A card without a topic", ""),
			}}, nil
		},
	}
	h := mustTelemetryServer(t, cdshooks.Deps{Authenticator: &fakeAuth{token: "good"}, Services: []cdshooks.Service{svc}})
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	ourCard := sampleBetaCard

	if w := h.do("POST", "/cds-services/"+sampleID, validBody,
		"Authorization", "Bearer good", "traceparent", "00-"+traceID+"-00f067aa0ba902b7-01"); w.Code != 200 {
		t.Fatalf("service call: %d %s", w.Code, w.Body)
	}
	if w := h.do("POST", "/cds-services/"+sampleID, validBody, "Authorization", "Bearer forged"); w.Code != 401 {
		t.Fatalf("forged call: %d %s", w.Code, w.Body)
	}
	feedback := `{"feedback":[
		{"card":"` + ourCard + `","outcome":"accepted","acceptedSuggestions":[{"id":"s1"}],"outcomeTimestamp":"2026-11-21T10:05:31Z"},
		{"card":"9368d37b-283f-44a0-93ea-547cebab93ed","outcome":"overridden","outcomeTimestamp":"2026-11-21T10:05:31Z"}]}`
	if w := h.do("POST", "/cds-services/"+sampleID+"/feedback", feedback, "Authorization", "Bearer good"); w.Code != 200 {
		t.Fatalf("feedback: %d %s", w.Code, w.Body)
	}
	if w := h.do("GET", "/healthz", ""); w.Code != 200 {
		t.Fatalf("healthz: %d", w.Code)
	}

	t.Run("counters", func(t *testing.T) {
		const svcAttr = "service=" + sampleID
		for _, tt := range []struct {
			name string
			want map[string]int64
		}{
			{cdshooks.MetricCardsReturned, map[string]int64{
				svcAttr + ",topic=alpha": 2,
				svcAttr + ",topic=none":  1,
			}},
			{cdshooks.MetricJWTRejections, map[string]int64{"reason=bad_token": 1}},
			{cdshooks.MetricFeedbackOutcomes, map[string]int64{
				"outcome=accepted," + svcAttr + ",topic=beta":      1,
				"outcome=overridden," + svcAttr + ",topic=unknown": 1,
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
			case s.Name() == "evaluate "+sampleID:
				evaluate = s
			case s.Name() == "POST /cds-services/:id" && s.SpanContext().TraceID().String() == traceID:
				call = s
			}
		}
		want := []string{"evaluate " + sampleID, "POST /cds-services/:id", "POST /cds-services/:id", "POST /cds-services/:id/feedback"}
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
		defs: []cdshooks.ServiceDefinition{sampleDefinition()},
		fn: func(context.Context, *cdshooks.Request, cdshooks.Caller) (*cdshooks.Response, error) {
			return nil, errors.New("reading Observation for patient 1288992: boom")
		},
	}
	h := mustTelemetryServer(t, cdshooks.Deps{Services: []cdshooks.Service{svc}})
	if w := h.do("POST", "/cds-services/"+sampleID, validBody); w.Code != 500 {
		t.Fatalf("status = %d, want 500", w.Code)
	}
	for _, s := range h.spans.GetSpans().Snapshots() {
		if s.Name() != "evaluate "+sampleID {
			continue
		}
		if got, want := s.Status(), (sdktrace.Status{Code: codes.Error, Description: "internal"}); got != want {
			t.Errorf("evaluation span status = %+v, want %+v", got, want)
		}
		return
	}
	t.Fatal("no evaluation span")
}

func TestPrefetchKeyCountsKeysByStatus(t *testing.T) {
	t.Parallel()
	h := mustTelemetryServer(t, cdshooks.Deps{})
	ctx := context.Background()
	for _, k := range [][2]string{
		{"patient", "prefetched"}, {"medicationStatements", "null"}, {"observations", "fetched"},
		{"conditions", "failed"}, {"patient", "prefetched"},
	} {
		h.metrics.PrefetchKey(ctx, k[0], k[1])
	}
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
	m.PrefetchKey(ctx, "patient", "prefetched")
	m.JWTRejected(ctx, "expired")
	m.FeedbackReceived(ctx, "s", "unknown", cdshooks.OutcomeOverridden)
}

// BenchmarkServiceCallTelemetry measures what telemetry adds to one service
// call through the real server: none at all, against what the command wires
// when OTEL_* is unset (spans not recorded, metrics kept for Prometheus).
func BenchmarkServiceCallTelemetry(b *testing.B) {
	svc := &fakeService{
		defs: []cdshooks.ServiceDefinition{sampleDefinition()},
		fn: func(context.Context, *cdshooks.Request, cdshooks.Caller) (*cdshooks.Response, error) {
			return &cdshooks.Response{Cards: []cdshooks.Card{card("Hydrochlorothiazide can cause leg cramps", "alpha")}}, nil
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
			srv, err := cdshooks.NewServer(cdshooks.Config{}, cdshooks.Deps{Services: []cdshooks.Service{svc}, Telemetry: bc.tel, IsFHIRID: fhir.ValidID})
			if err != nil {
				b.Fatal(err)
			}
			h := harness{h: srv.Handler()}
			b.ReportAllocs()
			for b.Loop() {
				if w := h.do("POST", "/cds-services/"+sampleID, validBody); w.Code != 200 {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
