package feedback_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
)

const (
	issuerA      = "https://ehr-a.example"
	issuerB      = "https://ehr-b.example"
	reasonSystem = "https://cramp-cds.org/override-reason"
)

var offeredReasons = []feedback.Coding{{System: reasonSystem, Code: "already-reviewed"}, {System: reasonSystem, Code: "not-relevant"}}

// ignoredFeedback returns MetricFeedbackIgnored by why.
func (h *recorderHarness) ignoredFeedback(t *testing.T) map[string]int64 {
	return h.counter(t, feedback.MetricFeedbackIgnored, "why")
}

// override records, from issuer, an override of card with reason code,
// snoozing it.
func (h *recorderHarness) override(issuer, card, code string) {
	now := time.Now()
	h.rec.RecordFeedback(context.Background(), issuer,
		[]feedback.Outcome{{Card: card, Service: "svc", Outcome: "overridden", ReasonCode: code, At: now, ReceivedAt: now}},
		[]feedback.Snooze{{ID: card, Card: card, Service: "svc", Reason: code, From: now, Until: now.Add(365 * 24 * time.Hour)}})
}

// TestFeedbackOnlyFromTheIssuer (issue 27, finding 1): a caller overriding
// a card issued to another caller snoozes nothing and stores nothing; the
// item is counted as ignored. The card's own caller still can.
func TestFeedbackOnlyFromTheIssuer(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, feedback.Options{})
	h.rec.Issue([]feedback.Card{{UUID: "b-card", Service: "svc", Topic: "t", KnowledgeVersion: "1",
		Issuer: issuerB, Reasons: offeredReasons, IssuedAt: time.Now()}})
	h.override(issuerA, "b-card", "not-relevant")
	h.override(issuerA, "never-issued", "not-relevant")
	if err := h.rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.rec.Snoozed(context.Background(), []string{"b-card", "never-issued"}); len(got) != 0 {
		t.Errorf("another caller's override snoozed %v", got)
	}
	if got := h.ignoredFeedback(t)["unknown_card"]; got != 4 {
		t.Errorf("ignored unknown_card = %d, want 4 (two outcomes, two snoozes)", got)
	}
	h.override(issuerB, "b-card", "not-relevant")
	if got := h.rec.Snoozed(context.Background(), []string{"b-card"}); !got["b-card"] {
		t.Errorf("the card's own caller could not snooze it")
	}
}

// TestFeedbackRightAfterIssue: a card still waiting in the writer's queue
// (issued moments ago) is found: the feedback waits for the write.
func TestFeedbackRightAfterIssue(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, feedback.Options{WriteDelay: 500 * time.Millisecond})
	h.rec.Issue([]feedback.Card{{UUID: "c", Service: "svc", Topic: "t", Issuer: issuerA, Reasons: offeredReasons, IssuedAt: time.Now()}})
	h.override(issuerA, "c", "already-reviewed")
	if got := h.rec.Snoozed(context.Background(), []string{"c"}); !got["c"] {
		t.Errorf("an override right after the card was issued snoozed nothing; ignored = %v", h.ignoredFeedback(t))
	}
}

// TestOnlyIssuedSuggestionsSnooze (issue 27, finding 3): an accepted item
// naming 100,000 made-up suggestion uuids snoozes none of them, and the
// card's own suggestion is snoozed.
func TestOnlyIssuedSuggestionsSnooze(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, feedback.Options{})
	h.rec.Issue([]feedback.Card{{UUID: "c", Service: "svc", Topic: "t", Issuer: issuerA, Suggestions: []string{"s1"}, IssuedAt: time.Now()}})
	now := time.Now()
	snoozes := []feedback.Snooze{{ID: "s1", Card: "c", Reason: "accepted", From: now, Until: now.Add(time.Hour)}}
	for i := range 100_000 {
		snoozes = append(snoozes, feedback.Snooze{ID: fmt.Sprintf("forged-%d", i), Card: "c", Reason: "accepted", From: now, Until: now.Add(time.Hour)})
	}
	h.rec.RecordFeedback(context.Background(), issuerA,
		[]feedback.Outcome{{Card: "c", Outcome: "accepted", AcceptedSuggestions: len(snoozes), At: now, ReceivedAt: now}}, snoozes)
	if err := h.rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.rec.Snoozed(context.Background(), []string{"s1", "forged-0", "forged-99999"}); len(got) != 1 || !got["s1"] {
		t.Errorf("Snoozed = %v, want s1 only", got)
	}
	if got := h.ignoredFeedback(t)["unknown_suggestion"]; got != 100_000 {
		t.Errorf("ignored unknown_suggestion = %d, want 100000", got)
	}
}

// TestOnlyOfferedReasonsStored (issue 27, finding 2): an override reason the
// card offered is stored with its system (the sandbox sends the code
// alone); anything else, a name and MRN typed into the code say, as other.
// A card repeated in one call counts once.
func TestOnlyOfferedReasonsStored(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, "sqlite:"+t.TempDir()+"/r.db")
	h := newRecorderOver(t, s, feedback.Options{})
	var cards []feedback.Card
	for _, c := range []string{"c1", "c2", "c3"} {
		cards = append(cards, feedback.Card{UUID: c, Service: "svc", Topic: "t", KnowledgeVersion: "1", Issuer: issuerA,
			Reasons: offeredReasons, IssuedAt: time.Now()})
	}
	h.rec.Issue(cards)
	now := time.Now()
	o := func(card, system, code string) feedback.Outcome {
		return feedback.Outcome{Card: card, Service: "svc", Outcome: "overridden", ReasonSystem: system, ReasonCode: code, At: now, ReceivedAt: now}
	}
	outcomes := []feedback.Outcome{o("c1", "", "not-relevant"), o("c2", "urn:other", "not-relevant"), o("c3", "", "Jane Doe MRN 77123")}
	for range 100 {
		outcomes = append(outcomes, o("c1", "", "not-relevant"))
	}
	h.rec.RecordFeedback(context.Background(), issuerA, outcomes, nil)
	if err := h.rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	r, err := s.Report(context.Background(), now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Topics) != 1 {
		t.Fatalf("report topics = %+v", r.Topics)
	}
	got := map[string]int{}
	for _, reason := range r.Topics[0].Reasons {
		got[reason.Code] = reason.Count
	}
	if want := map[string]int{"not-relevant": 1, feedback.ReasonOther: 2}; fmt.Sprint(got) != fmt.Sprint(want) || r.Topics[0].Overridden != 3 {
		t.Errorf("reasons = %v, overridden %d; want %v, 3", got, r.Topics[0].Overridden, want)
	}
	if d := h.ignoredFeedback(t)["duplicate"]; d != 100 {
		t.Errorf("ignored duplicate = %d, want 100", d)
	}
}
