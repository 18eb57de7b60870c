package kit

import (
	"context"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
)

// This file is the services' memory policy: which feedback snoozes what, for
// how long. The store itself (cdshooks/feedback) knows none of it; what
// makes two cards "the same card" is each topic's fingerprint (see CardIDs).

// AcceptedFor is how long an accepted suggestion (a proposed order) is not
// proposed again to the same patient: the order is on its way.
const AcceptedFor = 30 * 24 * time.Hour

// Memory is what the services remember with. A nil *Memory remembers
// nothing: card uuids then come from the hookInstance and nothing is snoozed.
type Memory struct {
	// Recorder stores issued cards, feedback and snoozes, and answers which
	// are in force (failing open).
	Recorder *feedback.Recorder
	// Key pseudonymises patients and fingerprints (required).
	Key feedback.Key
	// Snooze is how long a card overridden as already reviewed with the
	// patient stays hidden for that patient; SnoozeNotRelevant, as not
	// relevant for the patient.
	Snooze, SnoozeNotRelevant time.Duration
}

// snoozeFor is how long an override with this reason hides its card; 0 for
// a reason that snoozes nothing (the clinician disagreed, or said nothing).
func (m *Memory) snoozeFor(reason *cdshooks.OverrideReason) (string, time.Duration) {
	if reason == nil || reason.Reason == nil {
		return "", 0
	}
	r := reason.Reason
	// The sandbox sends a reason's code without its system: ours are known by code.
	if r.System != "" && r.System != OverrideReasonSystem {
		return r.Code, 0
	}
	switch r.Code {
	case OverrideAlreadyReviewed:
		return r.Code, m.Snooze
	case OverrideNotRelevant:
		return r.Code, m.SnoozeNotRelevant
	}
	return r.Code, 0
}

// record records feedback from issuer about the cards of service, and the
// snoozes it causes: a card overridden as already reviewed or not relevant,
// and each suggestion accepted. Items about uuids the registry's topics did
// not make are left out (the server's metric still counts them); the
// recorder then keeps only what issuer may say (cards issued to it, their
// own suggestions, the reasons they offered).
func (m *Memory) record(ctx context.Context, topics *Registry, service string, items []cdshooks.Feedback, issuer string, now time.Time) {
	if m == nil {
		return
	}
	var outcomes []feedback.Outcome
	var snoozes []feedback.Snooze
	for _, item := range items {
		topic, ok := topics.TopicOf(item.Card)
		if !ok {
			continue
		}
		at, err := time.Parse(time.RFC3339, item.OutcomeTimestamp)
		if err != nil {
			at = now // validated already; a parse failure here would be ours
		}
		o := feedback.Outcome{Card: item.Card, Service: service, Topic: topic, Outcome: string(item.Outcome),
			AcceptedSuggestions: len(item.AcceptedSuggestions), At: at, ReceivedAt: now}
		if r := item.OverrideReason; r != nil && r.Reason != nil {
			o.ReasonSystem, o.ReasonCode = r.Reason.System, r.Reason.Code
		}
		outcomes = append(outcomes, o)
		switch item.Outcome {
		case cdshooks.OutcomeOverridden:
			if code, d := m.snoozeFor(item.OverrideReason); d > 0 {
				snoozes = append(snoozes, feedback.Snooze{ID: item.Card, Card: item.Card, Service: service, Topic: topic,
					Reason: code, From: now, Until: now.Add(d)})
			}
		case cdshooks.OutcomeAccepted:
			for _, s := range item.AcceptedSuggestions {
				if _, ours := topics.TopicOf(s.ID); ours {
					snoozes = append(snoozes, feedback.Snooze{ID: s.ID, Card: item.Card, Service: service, Topic: topic,
						Reason: "accepted", From: now, Until: now.Add(AcceptedFor)})
				}
			}
		}
	}
	m.Recorder.RecordFeedback(ctx, issuer, outcomes, snoozes)
}

// ReportNames are the names the cards give their topics and override
// reasons, for the feedback report a CDS committee reads (feedback.Report.Name).
func ReportNames(topics *Registry, reasons ...Reasons) feedback.Names {
	names := feedback.Names{Topics: map[string]string{}, Reasons: map[string]string{}}
	for _, t := range topics.topics {
		names.Topics[t.Code] = t.Display
	}
	for _, rs := range reasons {
		for _, r := range rs.all {
			names.Reasons[r.Code] = r.Display
		}
	}
	return names
}
