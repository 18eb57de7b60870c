package feedback

import (
	"context"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// MetricFeedbackIgnored counts feedback a Recorder did not store (Prometheus:
// cramp_cds_feedback_ignored_total), by why: "unknown_card" (a card uuid not
// issued to the caller), "unknown_suggestion" (a suggestion uuid not on that
// card), "duplicate" (the same card and outcome again in one call),
// "unverified" (the store could not say what was issued: nothing is stored
// rather than something forged). Never rename it: alerts use it.
const MetricFeedbackIgnored = "cramp_cds.feedback.ignored"

// issuedWait bounds how long RecordFeedback waits for cards still queued
// (issued moments ago) to be written before it looks again.
const issuedWait = time.Second

// RecordFeedback queues feedback from one caller (issuer, the verified JWT
// iss) and the snoozes the product decided on, keeping only what that
// caller may say: feedback about cards issued to that caller,
// each card and outcome once; snoozes of those cards, or of suggestions those
// cards carried; an override reason as the card offered it (with its
// system), or ReasonOther. The rest is ignored and counted
// (MetricFeedbackIgnored). It waits for the store's answer (at most the
// read timeout, and issuedWait for cards still queued); when the store
// cannot tell, nothing is recorded.
func (r *Recorder) RecordFeedback(ctx context.Context, issuer string, outcomes []Outcome, snoozes []Snooze) {
	if r == nil || len(outcomes)+len(snoozes) == 0 {
		return
	}
	// Each card is looked up once: a call naming one card in many outcomes and
	// snoozes (or repeating a forged uuid) must not cost a query per mention.
	var cards []string
	for _, o := range outcomes {
		cards = append(cards, o.Card)
	}
	for _, z := range snoozes {
		cards = append(cards, z.Card)
	}
	slices.Sort(cards)
	cards = slices.Compact(cards)
	issued, err := r.issued(ctx, issuer, cards)
	if err != nil {
		r.ignored(ctx, "unverified", len(outcomes)+len(snoozes))
		return
	}
	keptOutcomes := make([]Outcome, 0, len(outcomes))
	decided := map[[2]string]bool{}
	for _, o := range outcomes {
		card, ok := issued[o.Card]
		switch {
		case !ok:
			r.ignored(ctx, "unknown_card", 1)
			continue
		case decided[[2]string{o.Card, o.Outcome}]:
			r.ignored(ctx, "duplicate", 1)
			continue
		}
		decided[[2]string{o.Card, o.Outcome}] = true
		o.Topic = card.Topic
		if o.ReasonSystem != "" || o.ReasonCode != "" {
			o.ReasonSystem, o.ReasonCode = offered(card, o.ReasonSystem, o.ReasonCode)
		}
		o.AcceptedSuggestions = min(max(o.AcceptedSuggestions, 0), MaxSuggestions)
		keptOutcomes = append(keptOutcomes, o)
	}
	keptSnoozes := make([]Snooze, 0, len(snoozes))
	snoozed := map[string]bool{}
	for _, z := range snoozes {
		card, ok := issued[z.Card]
		switch {
		case !ok:
			r.ignored(ctx, "unknown_card", 1)
			continue
		case z.ID != z.Card && !contains(card.Suggestions, z.ID):
			r.ignored(ctx, "unknown_suggestion", 1)
			continue
		case z.ID == z.Card && !offersCode(card, z.Reason):
			r.ignored(ctx, "unknown_reason", 1)
			continue
		case snoozed[z.ID]:
			continue
		}
		snoozed[z.ID] = true
		z.Topic = card.Topic
		keptSnoozes = append(keptSnoozes, z)
	}
	r.Record(keptOutcomes, keptSnoozes)
}

// issued asks the store which cards were issued to issuer. Cards issued
// moments ago may still be queued: when some are not found, the queue is
// flushed (for at most issuedWait) and the store asked again.
func (r *Recorder) issued(ctx context.Context, issuer string, cards []string) (map[string]IssuedCard, error) {
	ask := func() (map[string]IssuedCard, error) {
		var got map[string]IssuedCard
		err := r.read(ctx, func(ctx context.Context) error {
			var err error
			got, err = r.store.Issued(ctx, issuer, cards)
			return err
		})
		return got, err
	}
	got, err := ask()
	if err != nil {
		return nil, err
	}
	for _, c := range cards {
		if _, ok := got[c]; !ok {
			wait, cancel := context.WithTimeout(ctx, issuedWait)
			ferr := r.Flush(wait)
			cancel()
			if ferr != nil {
				return got, nil
			}
			return ask()
		}
	}
	return got, nil
}

// offered is the override reason to store: the one the card offered with
// this code (and this system, when the caller sent one: the sandbox sends
// the code alone), else ReasonOther.
func offered(card IssuedCard, system, code string) (string, string) {
	for _, c := range card.Reasons {
		if c.Code == code && (system == "" || system == c.System) {
			return c.System, c.Code
		}
	}
	return "", ReasonOther
}

// offersCode reports whether the card offered an override reason with this code.
func offersCode(card IssuedCard, code string) bool {
	for _, c := range card.Reasons {
		if c.Code == code {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ignored counts n feedback items or snoozes not stored, and why.
func (r *Recorder) ignored(ctx context.Context, why string, n int) {
	r.ignoredFeedback.Add(ctx, int64(n), metric.WithAttributes(attribute.String("why", why)))
}
