package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestOTLPWanted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		signal  string
		want    bool
		wantErr string
	}{
		{name: "nothing set", env: nil, signal: "TRACES", want: false},
		{name: "common endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, signal: "TRACES", want: true},
		{name: "common endpoint, metrics", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, signal: "METRICS", want: true},
		{name: "traces endpoint only enables traces", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c/v1/traces"}, signal: "METRICS", want: false},
		{name: "traces endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c/v1/traces"}, signal: "TRACES", want: true},
		{name: "exporter none beats an endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_TRACES_EXPORTER": "none"}, signal: "TRACES", want: false},
		{name: "exporter otlp without endpoint (SDK default localhost:4318)", env: map[string]string{"OTEL_METRICS_EXPORTER": "otlp"}, signal: "METRICS", want: true},
		{name: "metrics exporter prometheus: /metrics is served anyway", env: map[string]string{"OTEL_METRICS_EXPORTER": "prometheus", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, signal: "METRICS", want: false},
		{name: "list with otlp", env: map[string]string{"OTEL_METRICS_EXPORTER": "prometheus, otlp"}, signal: "METRICS", want: true},
		{name: "SDK disabled", env: map[string]string{"OTEL_SDK_DISABLED": "TRUE", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, signal: "TRACES", want: false},
		{name: "explicit http/protobuf", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, signal: "TRACES", want: true},
		{name: "signal protocol wins over the common one", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, signal: "TRACES", want: true},
		{name: "grpc refused", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, signal: "TRACES", wantErr: "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{name: "grpc irrelevant when not exporting", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, signal: "TRACES", want: false},
		{name: "console refused", env: map[string]string{"OTEL_TRACES_EXPORTER": "console"}, signal: "TRACES", wantErr: "OTEL_TRACES_EXPORTER"},
		{name: "prometheus is not a trace exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "prometheus"}, signal: "TRACES", wantErr: "OTEL_TRACES_EXPORTER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := otlpWanted(env(tt.env), tt.signal)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("otlpWanted = %v, %v; want an error naming %s", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("otlpWanted: %v", err)
			}
			if got != tt.want {
				t.Errorf("otlpWanted = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://fhir.example.org/r4/Observation?patient=1288992&category=laboratory", "https://fhir.example.org/r4/Observation"},
		{"https://fhir.example.org/r4/Patient/1288992", "https://fhir.example.org/r4/Patient"},
		{"https://fhir.example.org/Medication/abc-123", "https://fhir.example.org/Medication"},
		// An id that looks like a resource type comes after its type.
		{"https://fhir.example.org/Patient/Smith", "https://fhir.example.org/Patient"},
		// A base path in capitals is not a resource type.
		{"https://fhir.example.org/FHIR/R4/Condition?patient=9", "https://fhir.example.org/FHIR/R4/Condition"},
		// A paging link with no resource type in its path keeps only the host.
		{"https://fhir.example.org/r4?_getpages=8f1c&_getpagesoffset=50", "https://fhir.example.org"},
		{"https://user:secret@fhir.example.org:8443/Patient/1#x", "https://fhir.example.org:8443/Patient"},
		{"not a url", "redacted"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestRedactingExporter checks what leaves the process: a FHIR client span's
// URL without ids or query, a server span's path replaced by its route, every
// other attribute untouched.
func TestRedactingExporter(t *testing.T) {
	t.Parallel()
	mem := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(redactingExporter{mem}))
	tracer := tp.Tracer("test")
	_, client := tracer.Start(context.Background(), "GET Observation")
	client.SetAttributes(attribute.String("url.full", "https://fhir.example.org/Observation?patient=1288992"), attribute.Int("http.response.status_code", 200))
	client.End()
	_, server := tracer.Start(context.Background(), "POST /cds-services/:id")
	server.SetAttributes(attribute.String("url.path", "/cds-services/1288992"), attribute.String("http.route", "/cds-services/:id"))
	server.End()
	_, unmatched := tracer.Start(context.Background(), "HTTP GET route not found")
	unmatched.SetAttributes(attribute.String("url.path", "/Patient/1288992"))
	unmatched.End()

	want := map[string]map[attribute.Key]string{
		"GET Observation":          {"url.full": "https://fhir.example.org/Observation", "http.response.status_code": "200"},
		"POST /cds-services/:id":   {"url.path": "/cds-services/:id", "http.route": "/cds-services/:id"},
		"HTTP GET route not found": {"url.path": "unmatched"},
	}
	spans := mem.GetSpans()
	if got, want := len(spans), len(want); got != want {
		t.Fatalf("%d spans exported, want %d", got, want)
	}
	for _, s := range spans {
		got := map[attribute.Key]string{}
		for _, kv := range s.Attributes {
			got[kv.Key] = kv.Value.Emit()
		}
		for k, v := range want[s.Name] {
			if got[k] != v {
				t.Errorf("span %q: %s = %q, want %q", s.Name, k, got[k], v)
			}
		}
		for _, kv := range s.Attributes {
			if strings.Contains(kv.Value.Emit(), "1288992") {
				t.Errorf("span %q: %s still holds the patient id: %q", s.Name, kv.Key, kv.Value.Emit())
			}
		}
	}
}

func TestTraceLogHandlerAddsIDs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(traceLogHandler{slog.NewJSONHandler(&buf, nil)}).With("listener", "api")
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))

	logger.InfoContext(ctx, "request")
	logger.InfoContext(context.Background(), "no span")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), buf.String())
	}
	var with, without map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &with); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &without); err != nil {
		t.Fatal(err)
	}
	if got, want := with["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736"; got != want {
		t.Errorf("trace_id = %v, want %v", got, want)
	}
	if got, want := with["span_id"], "00f067aa0ba902b7"; got != want {
		t.Errorf("span_id = %v, want %v", got, want)
	}
	if got, want := with["listener"], "api"; got != want {
		t.Errorf("listener = %v, want %v (attributes of With survive)", got, want)
	}
	if _, ok := without["trace_id"]; ok {
		t.Errorf("a line logged without a span has a trace_id: %s", lines[1])
	}
}
