package legcramps

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// This file is the services' memory policy: which feedback snoozes what, for
// how long, and what makes two cards "the same card" (the fingerprint). The
// store itself (cdshooks/feedback) knows none of it.

// AcceptedFor is how long an accepted suggestion (a proposed lab order) is
// not proposed again to the same patient: the order is on its way.
const AcceptedFor = 30 * 24 * time.Hour

// Memory is what the leg-cramp services remember with. A nil *Memory
// remembers nothing: card uuids then come from the hookInstance and nothing
// is snoozed.
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

// feedback records feedback about the cards of service, and the snoozes it
// causes: a card overridden as already reviewed or not relevant, and each
// suggestion accepted. Items about uuids these services did not make are
// left out (the server's metric still counts them).
func (m *Memory) feedback(service string, items []cdshooks.Feedback, now time.Time) {
	if m == nil {
		return
	}
	var outcomes []feedback.Outcome
	var snoozes []feedback.Snooze
	for _, item := range items {
		topic, ok := TopicOfCard(item.Card)
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
				if _, ours := TopicOfCard(s.ID); ours {
					snoozes = append(snoozes, feedback.Snooze{ID: s.ID, Card: item.Card, Service: service, Topic: topic,
						Reason: "accepted", From: now, Until: now.Add(AcceptedFor)})
				}
			}
		}
	}
	m.Recorder.Record(outcomes, snoozes)
}

// cardIDs makes the card and suggestion uuids of one response.
//
// With a Memory, a card's uuid is derived from the patient's pseudonym, the
// topic and the card's fingerprint (what it is about), so the same card for
// the same patient has the same uuid in every response, on every replica:
// feedback names that uuid, a snooze is kept against it, and checking whether
// a card is snoozed is one lookup of the uuids a response would carry. When
// what the card is about changes (a new drug, a newly abnormal result), the
// fingerprint and so the uuid change, and the card is shown. A suggestion's
// uuid is derived from the patient and what it proposes, so an accepted lab
// order is recognised however the card around it changed.
//
// Without a Memory, uuids come from the hookInstance as before: the same
// request always gives the same response (`cramp-cds evaluate`, golden files).
type cardIDs struct {
	hookInstance string
	memory       *Memory
	patient      string // the pseudonym, with a Memory
	cards        map[string]feedback.Card
	suggestions  []string
	// snoozed are the uuids not to show in this response.
	snoozed map[string]bool
}

func newCardIDs(m *Memory, hookInstance, fhirServer, patientID string) *cardIDs {
	ids := &cardIDs{hookInstance: hookInstance, memory: m, cards: map[string]feedback.Card{}}
	if m != nil {
		ids.patient = m.Key.Patient(fhirServer, patientID)
	}
	return ids
}

// card returns the uuid of a card of topic. legacyKey names the card within
// one request (the uuid without a Memory); about is what makes it the same
// card for the patient (its fingerprint). Two cards of one response about the
// same thing (two drafts of the same drug) are told apart by legacyKey.
func (x *cardIDs) card(topic, legacyKey string, about ...string) string {
	if x.memory == nil {
		return CardUUID(x.hookInstance, topic, legacyKey)
	}
	fp := x.memory.Key.Fingerprint(append([]string{topic}, about...)...)
	u := derivedUUID("card", x.patient, topic, fp)
	if _, dup := x.cards[u]; dup {
		fp = x.memory.Key.Fingerprint(append([]string{topic, legacyKey}, about...)...)
		u = derivedUUID("card", x.patient, topic, fp)
	}
	x.cards[u] = feedback.Card{UUID: u, Topic: topic, Fingerprint: fp, Patient: x.patient}
	return u
}

// suggestion returns the uuid of a suggestion (about suggestionKey) of a
// card of topic named cardKey in the request.
func (x *cardIDs) suggestion(topic, cardKey, suggestionKey string) string {
	if x.memory == nil {
		return SuggestionUUID(x.hookInstance, topic, cardKey, suggestionKey)
	}
	u := derivedUUID("suggestion", x.patient, topic, cardKey, suggestionKey)
	x.suggestions = append(x.suggestions, u)
	return u
}

// shown reports whether the card or suggestion uuid may be shown.
func (x *cardIDs) shown(uuid string) bool { return !x.snoozed[uuid] }

// all lists every uuid made so far, cards and suggestions.
func (x *cardIDs) all() []string {
	return append(slices.Collect(maps.Keys(x.cards)), x.suggestions...)
}

// reset forgets the uuids made, keeping what is snoozed, before rendering again.
func (x *cardIDs) reset() {
	clear(x.cards)
	x.suggestions = x.suggestions[:0]
}

// lookupSnoozes asks the recorder which of the uuids made so far are
// snoozed; it reports whether any is, in which case the caller renders
// again. The recorder answers from memory (the snoozes in force, refreshed
// in the background); only beyond its cap does it ask the store, waiting at
// most its read timeout and, failing, snoozing nothing.
func (x *cardIDs) lookupSnoozes(ctx context.Context) bool {
	if x.memory == nil {
		return false
	}
	x.snoozed = x.memory.Recorder.Snoozed(ctx, x.all())
	return len(x.snoozed) > 0
}

// issue records the cards a response carries.
func (x *cardIDs) issue(service, knowledgeVersion string, cards []cdshooks.Card, now time.Time) {
	if x.memory == nil || len(cards) == 0 {
		return
	}
	issued := make([]feedback.Card, 0, len(cards))
	for _, c := range cards {
		if rec, ok := x.cards[c.UUID]; ok {
			rec.Service, rec.KnowledgeVersion, rec.IssuedAt = service, knowledgeVersion, now
			issued = append(issued, rec)
		}
	}
	x.memory.Recorder.Issue(issued)
}

// withSnoozeReasons adds to every card, after its own override reasons, the
// two that snooze it: already reviewed with the patient, not relevant for
// this patient.
func withSnoozeReasons(cards []cdshooks.Card) {
	for i := range cards {
		for _, code := range []string{OverrideAlreadyReviewed, OverrideNotRelevant} {
			if !slices.ContainsFunc(cards[i].OverrideReasons, func(c cdshooks.Coding) bool { return c.Code == code }) {
				cards[i].OverrideReasons = append(cards[i].OverrideReasons, OverrideReasons(code)...)
			}
		}
	}
}

// Fingerprints: what makes a card the same card for a patient. Each lists
// parts in a canonical order; Key.Fingerprint hashes them.

// medicationAbout is the ingredient (or class) and every current drug that
// holds it, as recognised: a new drug with the ingredient is a new card.
func medicationAbout(m knowledge.MedicationFinding) []string {
	drugs := make([]string, 0, len(m.Entries))
	for _, e := range m.Entries {
		drugs = append(drugs, fmt.Sprint(e.Match.Kind)+":"+e.Match.Matched)
	}
	slices.Sort(drugs)
	return append([]string{m.Key()}, slices.Compact(drugs)...)
}

// medicationsAbout is the fingerprint of the one medication card: every
// ingredient (or class) with its drugs, sorted, so a new drug with any of
// them makes a new card.
func medicationsAbout(ms []knowledge.MedicationFinding) []string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, medicationAbout(m)...)
	}
	slices.Sort(parts)
	return slices.Compact(parts)
}

// abnormalLabsAbout is the fingerprint of a results card: each result's
// analyte, direction, threshold and date, sorted (see abnormalLabAbout).
func abnormalLabsAbout(as []knowledge.AbnormalLabFinding) []string {
	parts := make([]string, 0, len(as))
	for _, a := range as {
		parts = append(parts, strings.Join(abnormalLabAbout(a), "|"))
	}
	slices.Sort(parts)
	return parts
}

// abnormalLabAbout is the analyte, which way it is abnormal, and when the
// result was taken: a newer abnormal result is a new card.
func abnormalLabAbout(a knowledge.AbnormalLabFinding) []string {
	return []string{a.Lab.ID, a.Threshold.Op, a.Threshold.Finding, a.Result.Observation.Effective.UTC().Format(time.RFC3339)}
}

// missingLabsAbout is the set of work-ups without a recent result.
func missingLabsAbout(ms []knowledge.MissingLabFinding) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.Workup.ID
	}
	slices.Sort(ids)
	return ids
}

// conditionsAbout is the set of conditions a card names.
func conditionsAbout(cs []knowledge.ConditionFinding) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.Condition.ID
	}
	slices.Sort(ids)
	return ids
}

// orderAbout is the set of cramp-inducing ingredients (or classes) of a draft.
func orderAbout(o orderedDrug) []string {
	ids := make([]string, 0, len(o.matches))
	for _, m := range o.matches {
		if m.Ingredient != nil {
			ids = append(ids, "ingredient:"+m.Ingredient.ID)
		} else {
			ids = append(ids, "class:"+m.Class.ID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// ReportNames are the names the cards give their topics and override
// reasons, for the feedback report a CDS committee reads (feedback.Report.Name).
func ReportNames() feedback.Names {
	names := feedback.Names{Topics: map[string]string{}, Reasons: map[string]string{}}
	for _, t := range topics() {
		names.Topics[t.Code] = t.Display
	}
	for _, r := range overrideReasons() {
		names.Reasons[r.Code] = r.Display
	}
	return names
}
