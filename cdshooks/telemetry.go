package cdshooks

import (
	"context"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Telemetry says where the server sends traces and metrics. Each field may be
// nil; the zero value records nothing and adds no middleware. The server never
// reads OpenTelemetry's global providers.
type Telemetry struct {
	// TracerProvider receives a server span per request (named after the gin
	// route, e.g. "POST /cds-services/:id") and an evaluation span around
	// each service call.
	TracerProvider trace.TracerProvider
	// MeterProvider receives the HTTP server metrics, among them
	// http.server.request.duration by route and status.
	MeterProvider metric.MeterProvider
	// Propagator reads the caller's trace context (traceparent); nil means
	// W3C Trace Context.
	Propagator propagation.TextMapPropagator
	// Metrics counts cards, JWT rejections and feedback.
	Metrics *Metrics
}

// scopeName names this package as the instrumentation scope of its spans.
const scopeName = "github.com/cramp-cds/cramp-cds/cdshooks"

// tracer returns the tracer for the evaluation spans: a no-op one when no
// TracerProvider is set.
func (t Telemetry) tracer() trace.Tracer {
	if t.TracerProvider == nil {
		return tracenoop.NewTracerProvider().Tracer(scopeName)
	}
	return t.TracerProvider.Tracer(scopeName)
}

// middleware returns otelgin's server spans and request metrics, or nil when
// neither a tracer nor a meter provider is set. Probes are left out: the
// kubelet calls them every few seconds and they say nothing about the service.
func (t Telemetry) middleware() gin.HandlerFunc {
	if t.TracerProvider == nil && t.MeterProvider == nil {
		return nil
	}
	tp, mp, prop := t.TracerProvider, t.MeterProvider, t.Propagator
	// otelgin falls back on the global providers for nil ones: give it
	// no-ops instead, so that only what we were handed is used.
	if tp == nil {
		tp = tracenoop.NewTracerProvider()
	}
	if mp == nil {
		mp = metricnoop.NewMeterProvider()
	}
	if prop == nil {
		prop = propagation.TraceContext{}
	}
	return otelgin.Middleware("cramp-cds",
		otelgin.WithTracerProvider(tp),
		otelgin.WithMeterProvider(mp),
		otelgin.WithPropagators(prop),
		otelgin.WithGinFilter(func(c *gin.Context) bool {
			route := c.FullPath()
			return route != "/healthz" && route != "/readyz"
		}),
	)
}

// traceEvaluation starts the "evaluate {id}" span around a service call;
// end closes it with the call's outcome. Its status on failure is the error
// code only: an error's text may name what a record held.
func (s *Server) traceEvaluation(ctx context.Context, id, hook string) (_ context.Context, end func(*Response, error)) {
	ctx, span := s.tracer.Start(ctx, "evaluate "+id, trace.WithAttributes(
		attribute.String("cds.service", id),
		attribute.String("cds.hook", hook),
	))
	return ctx, func(resp *Response, err error) {
		switch {
		case err != nil:
			span.SetStatus(codes.Error, string(ErrorCode(err)))
		case resp != nil:
			span.SetAttributes(attribute.Int("cds.cards", len(resp.Cards)))
		}
		span.End()
	}
}
