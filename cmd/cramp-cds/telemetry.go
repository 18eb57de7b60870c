package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/internal/version"
)

// serviceName is the OpenTelemetry service.name unless OTEL_SERVICE_NAME or
// OTEL_RESOURCE_ATTRIBUTES says otherwise.
const serviceName = "cramp-cds"

// telemetry is where traces and metrics go, built from the standard OTEL_*
// environment variables:
//   - metrics always feed a Prometheus registry, served at /metrics on the
//     admin listener, and also go over OTLP/HTTP when OTEL_* asks for it;
//   - traces go over OTLP/HTTP when OTEL_* asks for it. Otherwise spans are
//     never recorded, but trace ids still exist (the caller's, from its
//     traceparent, or new ones) so that log lines carry one.
//
// Unset, nothing is exported and nothing is sent anywhere.
type telemetry struct {
	tracerProvider *sdktrace.TracerProvider
	meterProvider  *sdkmetric.MeterProvider
	propagator     propagation.TextMapPropagator
	registry       *prometheus.Registry
	metrics        *cdshooks.Metrics
	// traces and otlpMetrics name the exporter in use: "otlp" or "none".
	traces, otlpMetrics string
}

// openTelemetry builds the providers. getenv decides which OTLP exporters to
// create (the exporters themselves read OTEL_EXPORTER_OTLP_* from the
// process environment, as every OpenTelemetry SDK does). It fails on an
// exporter or protocol it does not support, rather than silently export nothing.
func openTelemetry(ctx context.Context, getenv func(string) string) (*telemetry, error) {
	wantTraces, err := otlpWanted(getenv, "TRACES")
	if err != nil {
		return nil, err
	}
	wantMetrics, err := otlpWanted(getenv, "METRICS")
	if err != nil {
		return nil, err
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", serviceName),
			attribute.String("service.version", version.Version())),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // last, so that OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil {
		return nil, fmt.Errorf("reading OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}

	t := &telemetry{
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		registry:   prometheus.NewRegistry(),
		traces:     "none",
		// Prometheus is always there, so OTLP metrics are an addition.
		otlpMetrics: "none",
	}

	traceOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if wantTraces {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("creating the OTLP trace exporter: %w", err)
		}
		// The sampler comes from OTEL_TRACES_SAMPLER (default: parent-based, always on).
		traceOpts = append(traceOpts, sdktrace.WithBatcher(redactingExporter{exp}))
		t.traces = "otlp"
	} else {
		// No exporter: record nothing, but keep the caller's sampling
		// decision for the FHIR server we call on its behalf.
		traceOpts = append(traceOpts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())))
	}
	t.tracerProvider = sdktrace.NewTracerProvider(traceOpts...)

	promExp, err := otelprom.New(otelprom.WithRegisterer(t.registry))
	if err != nil {
		_ = t.tracerProvider.Shutdown(ctx)
		return nil, fmt.Errorf("creating the Prometheus exporter: %w", err)
	}
	// The Go runtime and process metrics platform teams expect beside ours.
	t.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	meterOpts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promExp), sdkmetric.WithView(boundedClientMetrics)}
	if wantMetrics {
		exp, err := otlpmetrichttp.New(ctx)
		if err != nil {
			_ = t.tracerProvider.Shutdown(ctx)
			return nil, fmt.Errorf("creating the OTLP metric exporter: %w", err)
		}
		// The interval comes from OTEL_METRIC_EXPORT_INTERVAL (default 60 s).
		meterOpts = append(meterOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
		t.otlpMetrics = "otlp"
	}
	t.meterProvider = sdkmetric.NewMeterProvider(meterOpts...)

	t.metrics, err = cdshooks.NewMetrics(t.meterProvider.Meter("github.com/cramp-cds/cramp-cds/cdshooks"))
	if err != nil {
		_ = t.shutdown(ctx)
		return nil, err
	}
	return t, nil
}

// otlpWanted reports whether signal ("TRACES" or "METRICS") is to be exported
// over OTLP: OTEL_{signal}_EXPORTER=otlp, or, when that is unset, an OTLP
// endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_{signal}_ENDPOINT).
// OTEL_SDK_DISABLED=true turns OTLP off. Only the http/protobuf protocol is
// built in; asking for another is an error.
func otlpWanted(getenv func(string) string, signal string) (bool, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false, nil
	}
	exporterVar := "OTEL_" + signal + "_EXPORTER"
	want := false
	if v := strings.TrimSpace(getenv(exporterVar)); v != "" {
		for _, name := range strings.Split(v, ",") {
			switch name = strings.TrimSpace(name); {
			case name == "otlp":
				want = true
			case name == "none", name == "prometheus" && signal == "METRICS": // /metrics is always served
			default:
				return false, fmt.Errorf("%s=%q: only otlp and none are supported", exporterVar, v)
			}
		}
	} else {
		want = getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_"+signal+"_ENDPOINT") != ""
	}
	if !want {
		return false, nil
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_" + signal + "_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := strings.TrimSpace(getenv(name)); p != "" {
			if p != "http/protobuf" {
				return false, fmt.Errorf("%s=%q: only http/protobuf is supported", name, p)
			}
			break // the signal's own setting wins
		}
	}
	return true, nil
}

// server returns what the CDS Hooks server reports to.
func (t *telemetry) server() cdshooks.Telemetry {
	return cdshooks.Telemetry{
		TracerProvider: t.tracerProvider,
		MeterProvider:  t.meterProvider,
		Propagator:     t.propagator,
		Metrics:        t.metrics,
	}
}

// fhirClient returns the HTTP client for FHIR fallback reads over base (nil:
// a clone of http.DefaultTransport): a client span per request (named
// "GET Observation", its URL stripped of ids and query before export), the
// caller's trace context passed on, and http.client.request.duration by
// status and by the allow-list entry that allowed the server (fhir.server).
func (t *telemetry) fhirClient(base http.RoundTripper) *http.Client {
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &http.Client{Transport: otelhttp.NewTransport(base,
		otelhttp.WithTracerProvider(t.tracerProvider),
		otelhttp.WithMeterProvider(t.meterProvider),
		otelhttp.WithPropagators(t.propagator),
		otelhttp.WithMetricAttributesFn(func(r *http.Request) []attribute.KeyValue {
			return []attribute.KeyValue{attribute.String("fhir.server", fhir.ServerLabel(r.Context()))}
		}),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if rt := resourceType(r.URL.Path); rt != "" {
				return r.Method + " " + rt
			}
			return r.Method
		}),
	)}
}

// boundedClientMetrics drops the server address and port from the FHIR
// client's metrics: the fhirServer comes from the caller, and with
// fhir_servers ["*"] each new port would make a new series. The
// fhir.server attribute (fhir.ServerLabel: the allow-list entry) names the
// server instead.
var boundedClientMetrics = sdkmetric.NewView(
	sdkmetric.Instrument{Name: "http.client.*"},
	sdkmetric.Stream{AttributeFilter: attribute.NewDenyKeysFilter("server.address", "server.port", "url.full")},
)

// adminHandler serves /metrics beside the health endpoints.
func (t *telemetry) adminHandler(health http.Handler, errorLog *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(errorLog.Handler(), slog.LevelWarn),
	}))
	mux.Handle("/", health)
	return mux
}

// shutdown flushes what is buffered to the OTLP exporters and stops the
// providers, within ctx.
func (t *telemetry) shutdown(ctx context.Context) error {
	var errs []error
	if err := t.tracerProvider.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("flushing traces: %w", err))
	}
	if err := t.meterProvider.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("flushing metrics: %w", err))
	}
	return errors.Join(errs...)
}

// redactingExporter strips from spans, before they leave the process, what
// could identify a patient: a FHIR read's URL holds the patient's id in its
// path or query (url.full), and a raw request path may hold anything a
// caller sent (url.path). The route pattern and the resource type are kept,
// which is what a trace needs; the request log never carries URLs either.
type redactingExporter struct {
	sdktrace.SpanExporter
}

// ExportSpans exports redacted copies of spans.
func (e redactingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		out[i] = redactSpan(s)
	}
	return e.SpanExporter.ExportSpans(ctx, out)
}

// redactedSpan is a span with its attributes replaced.
type redactedSpan struct {
	sdktrace.ReadOnlySpan
	attrs []attribute.KeyValue
}

// Attributes returns the redacted attributes.
func (s redactedSpan) Attributes() []attribute.KeyValue { return s.attrs }

// redactSpan replaces url.full by its scheme, host and path up to the
// resource type, and url.path by the route pattern ("unmatched" if none).
func redactSpan(s sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	in := s.Attributes()
	route := "unmatched"
	for _, kv := range in {
		if kv.Key == "http.route" && kv.Value.AsString() != "" {
			route = kv.Value.AsString()
		}
	}
	attrs := make([]attribute.KeyValue, len(in))
	changed := false
	for i, kv := range in {
		switch kv.Key {
		case "url.full":
			kv, changed = attribute.String("url.full", redactURL(kv.Value.AsString())), true
		case "url.path":
			kv, changed = attribute.String("url.path", route), true
		case "url.query":
			kv, changed = attribute.String("url.query", "redacted"), true
		}
		attrs[i] = kv
	}
	if !changed {
		return s
	}
	return redactedSpan{ReadOnlySpan: s, attrs: attrs}
}

// resourceTypeSegment looks like a FHIR resource type: "Patient", "MedicationRequest".
// A FHIR id that happens to look like one comes after its type, never before.
var resourceTypeSegment = regexp.MustCompile(`^[A-Z][a-z][A-Za-z]*$`)

// resourceType returns the first path segment that looks like a FHIR
// resource type, "" if none does.
func resourceType(path string) string {
	for seg := range strings.SplitSeq(path, "/") {
		if resourceTypeSegment.MatchString(seg) {
			return seg
		}
	}
	return ""
}

// redactURL keeps a URL's scheme, host and path up to its resource type
// ("https://fhir.example.org/r4/Observation"); ids, query, fragment and user
// info go. A URL whose path names no resource type keeps only scheme and host.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "redacted"
	}
	kept := url.URL{Scheme: u.Scheme, Host: u.Host}
	segs := strings.Split(u.Path, "/")
	for i, seg := range segs {
		if resourceTypeSegment.MatchString(seg) {
			kept.Path = strings.Join(segs[:i+1], "/")
			break
		}
	}
	return kept.String()
}

// traceLogHandler adds the trace and span ids of the record's context to
// every log line, so that a request's log line leads to its trace.
type traceLogHandler struct {
	slog.Handler
}

// Handle adds trace_id and span_id when ctx carries a span.
func (h traceLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the trace ids on the derived handler.
func (h traceLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceLogHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the trace ids on the derived handler.
func (h traceLogHandler) WithGroup(name string) slog.Handler {
	return traceLogHandler{h.Handler.WithGroup(name)}
}
