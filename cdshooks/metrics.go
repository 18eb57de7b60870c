package cdshooks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Names of the service's own metrics, as OpenTelemetry instruments. The
// Prometheus exporter turns dots into underscores and adds _total to
// counters: cramp_cds.cards.returned is scraped as cramp_cds_cards_returned_total.
// Dashboards and alerts use these names: never rename one.
const (
	MetricCardsReturned    = "cramp_cds.cards.returned"
	MetricPrefetchKeys     = "cramp_cds.prefetch.keys"
	MetricJWTRejections    = "cramp_cds.jwt.rejections"
	MetricFeedbackOutcomes = "cramp_cds.feedback.outcomes"
	MetricRequestsShed     = "cramp_cds.requests.shed"
	MetricAdmissionWait    = "cramp_cds.admission.wait"
)

// Label values for what the metrics cannot tell.
const (
	// topicNone labels a returned card without a source.topic.
	topicNone = "none"
	// topicUnknown labels feedback about a card uuid we did not make.
	topicUnknown = "unknown"
)

// Metrics counts what the service does: cards returned by topic, prefetch
// keys by how their data was obtained, JWT rejections by reason, and feedback
// outcomes by card topic, and calls shed by service. Every label value is drawn from a small fixed set
// (topic codes, prefetch keys and statuses, rejection reasons, service ids),
// never from patient data or tokens. A nil *Metrics counts nothing, so callers
// need no check.
type Metrics struct {
	cards         metric.Int64Counter
	prefetchKeys  metric.Int64Counter
	jwtRejections metric.Int64Counter
	feedback      metric.Int64Counter
	shed          metric.Int64Counter
	wait          metric.Float64Histogram
}

// NewMetrics creates the instruments on meter. It fails only if the meter
// refuses an instrument (a name clash with a different kind).
func NewMetrics(meter metric.Meter) (*Metrics, error) {
	var m Metrics
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	m.cards = counter(MetricCardsReturned, "{card}",
		"Cards returned to CDS clients, by service and card topic (source.topic.code; none when absent).")
	m.prefetchKeys = counter(MetricPrefetchKeys, "{key}",
		"Prefetch keys gathered, by key and status: prefetched, null (the EHR found nothing), fetched from the FHIR server, or failed.")
	m.jwtRejections = counter(MetricJWTRejections, "{request}",
		"Requests refused with 401 because their JWT failed verification, by reason.")
	m.feedback = counter(MetricFeedbackOutcomes, "{feedback}",
		"Feedback items received, by service, card topic (unknown when the card uuid is not ours) and outcome.")
	m.shed = counter(MetricRequestsShed, "{request}",
		"Service and feedback calls refused with 503, by service and reason: time (could not start within its queue budget, "+
			"or its answer deadline passed), count (the waiting room was full) or memory (its body did not fit the in-flight memory budget "+
			"or its issuer's share).")
	wait, err := meter.Float64Histogram(MetricAdmissionWait, metric.WithUnit("s"),
		metric.WithDescription("Time service and feedback calls waited for a slot, by service and outcome (admitted or refused)."),
		metric.WithExplicitBucketBoundaries(0, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1))
	m.wait = wait
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("creating metrics: %w", err)
	}
	return &m, nil
}

// CardsReturned counts the cards of one response by topic.
func (m *Metrics) CardsReturned(ctx context.Context, service string, cards []Card) {
	if m == nil {
		return
	}
	for _, c := range cards {
		topic := topicNone
		if c.Source.Topic != nil && c.Source.Topic.Code != "" {
			topic = c.Source.Topic.Code
		}
		m.cards.Add(ctx, 1, metric.WithAttributes(attribute.String("service", service), attribute.String("topic", topic)))
	}
}

// PrefetchKey counts one prefetch key a service gathered, by key and by how
// its data was obtained (status: prefetched, null, fetched or failed). Both
// must come from a small fixed set: they become metric labels.
func (m *Metrics) PrefetchKey(ctx context.Context, key, status string) {
	if m == nil {
		return
	}
	m.prefetchKeys.Add(ctx, 1, metric.WithAttributes(attribute.String("key", key), attribute.String("status", status)))
}

// JWTRejected counts one request refused for the given AuthFailure reason.
func (m *Metrics) JWTRejected(ctx context.Context, reason string) {
	if m == nil {
		return
	}
	m.jwtRejections.Add(ctx, 1, metric.WithAttributes(attribute.String("reason", reason)))
}

// FeedbackReceived counts one feedback item by the topic its card uuid
// carries (see Deps.Topics; "unknown" for a uuid no service made) and
// outcome.
func (m *Metrics) FeedbackReceived(ctx context.Context, service, topic string, outcome Outcome) {
	if m == nil {
		return
	}
	m.feedback.Add(ctx, 1, metric.WithAttributes(
		attribute.String("service", service),
		attribute.String("topic", topic),
		attribute.String("outcome", string(outcome)),
	))
}

// RequestShed counts one call refused with 503; service is one of ours or
// "unknown", reason time, count or memory.
func (m *Metrics) RequestShed(ctx context.Context, service, reason string) {
	if m == nil {
		return
	}
	m.shed.Add(ctx, 1, metric.WithAttributes(attribute.String("service", service), attribute.String("reason", reason)))
}

// AdmissionWait records how long one call waited for a slot, and whether it
// was then admitted.
func (m *Metrics) AdmissionWait(ctx context.Context, service string, waited time.Duration, admitted bool) {
	if m == nil {
		return
	}
	outcome := "refused"
	if admitted {
		outcome = "admitted"
	}
	m.wait.Record(ctx, waited.Seconds(), metric.WithAttributes(attribute.String("service", service), attribute.String("outcome", outcome)))
}
