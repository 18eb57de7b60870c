package kit

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
)

// CardIDs makes the card and suggestion uuids of one response, and knows
// which of them are snoozed. Start one per response with Env.CardIDs.
//
// With a Memory, a card's uuid is derived from the patient's pseudonym, the
// topic and the card's fingerprint (what it is about), so the same card for
// the same patient has the same uuid in every response, on every replica:
// feedback names that uuid, a snooze is kept against it, and checking whether
// a card is snoozed is one lookup of the uuids a response would carry. When
// what the card is about changes, the fingerprint and so the uuid change, and
// the card is shown. A suggestion's uuid is derived from the patient and what
// it proposes, so an accepted order is recognised however the card around it
// changed.
//
// Without a Memory, uuids come from the hookInstance: the same request always
// gives the same response (`cramp-cds evaluate`, golden files).
type CardIDs struct {
	topics       *Registry
	hookInstance string
	memory       *Memory
	issuer       string // the caller's verified JWT iss, with a Memory
	patient      string // the pseudonym, with a Memory
	cards        map[string]feedback.Card
	suggestions  []string
	// snoozed are the uuids not to show in this response.
	snoozed map[string]bool
}

// newCardIDs starts the uuids of one response to the caller issuer about
// patientID on fhirServer. With a Memory the issuer is part of the patient's
// pseudonym, so of every uuid (issue 27: one hospital naming another's
// fhirServer and patient id got the uuids that hospital's clinicians see).
func newCardIDs(topics *Registry, m *Memory, issuer, hookInstance, fhirServer, patientID string) *CardIDs {
	ids := &CardIDs{topics: topics, hookInstance: hookInstance, memory: m, cards: map[string]feedback.Card{}}
	if m != nil {
		ids.issuer = issuer
		ids.patient = m.Key.Patient(issuer, fhirServer, patientID)
	}
	return ids
}

// Card returns the uuid of a card of topic. legacyKey names the card within
// one request (the uuid without a Memory); about is what makes it the same
// card for the patient (its fingerprint). Two cards of one response about the
// same thing (two drafts of the same order) are told apart by legacyKey.
func (x *CardIDs) Card(topic, legacyKey string, about ...string) string {
	if x.memory == nil {
		return x.topics.CardUUID(x.hookInstance, topic, legacyKey)
	}
	fp := x.memory.Key.Fingerprint(append([]string{topic}, about...)...)
	u := x.topics.derivedUUID("card", x.patient, topic, fp)
	if _, dup := x.cards[u]; dup {
		fp = x.memory.Key.Fingerprint(append([]string{topic, legacyKey}, about...)...)
		u = x.topics.derivedUUID("card", x.patient, topic, fp)
	}
	x.cards[u] = feedback.Card{UUID: u, Topic: topic, Fingerprint: fp, Patient: x.patient}
	return u
}

// Suggestion returns the uuid of a suggestion (about suggestionKey) of a
// card of topic named cardKey in the request.
func (x *CardIDs) Suggestion(topic, cardKey, suggestionKey string) string {
	if x.memory == nil {
		return x.topics.SuggestionUUID(x.hookInstance, topic, cardKey, suggestionKey)
	}
	u := x.topics.derivedUUID("suggestion", x.patient, topic, cardKey, suggestionKey)
	x.suggestions = append(x.suggestions, u)
	return u
}

// Shown reports whether the card or suggestion uuid may be shown.
func (x *CardIDs) Shown(uuid string) bool { return !x.snoozed[uuid] }

// all lists every uuid made so far, cards and suggestions.
func (x *CardIDs) all() []string {
	return append(slices.Collect(maps.Keys(x.cards)), x.suggestions...)
}

// Reset forgets the uuids made, keeping what is snoozed, before rendering again.
func (x *CardIDs) Reset() {
	clear(x.cards)
	x.suggestions = x.suggestions[:0]
}

// LookupSnoozes asks the recorder which of the uuids made so far are
// snoozed; it reports whether any is, in which case the caller renders
// again (Reset, then the same uuids, now leaving out what is not Shown). The
// recorder answers from memory (the snoozes in force, refreshed in the
// background); only beyond its cap does it ask the store, waiting at most
// its read timeout and, failing, snoozing nothing.
func (x *CardIDs) LookupSnoozes(ctx context.Context) bool {
	if x.memory == nil {
		return false
	}
	x.snoozed = x.memory.Recorder.Snoozed(ctx, x.all())
	return len(x.snoozed) > 0
}

// Respond makes a response's cards with render, which names every card and
// suggestion through x and leaves out those not Shown: it renders, asks which
// of the uuids made are snoozed and, when any is, renders again without them;
// then it adds to each card the override reasons that snooze it, and records
// the cards as issued by service from knowledge of the given version at now.
func (x *CardIDs) Respond(ctx context.Context, service, knowledgeVersion string, now time.Time, render func() []cdshooks.Card) []cdshooks.Card {
	cards := render()
	if x.LookupSnoozes(ctx) {
		x.Reset()
		cards = render()
	}
	WithSnoozeReasons(cards)
	x.Issue(service, knowledgeVersion, cards, now)
	return cards
}

// Issue records the cards a response carries, as issued by service from
// knowledge of the given version at now, to the caller: with the uuids of
// their suggestions and the override reasons they offer (call it once the
// cards are final, after WithSnoozeReasons), which is all the feedback about
// them may name.
func (x *CardIDs) Issue(service, knowledgeVersion string, cards []cdshooks.Card, now time.Time) {
	if x.memory == nil || len(cards) == 0 {
		return
	}
	issued := make([]feedback.Card, 0, len(cards))
	for _, c := range cards {
		rec, ok := x.cards[c.UUID]
		if !ok {
			continue
		}
		rec.Service, rec.KnowledgeVersion, rec.IssuedAt, rec.Issuer = service, knowledgeVersion, now, x.issuer
		for _, s := range c.Suggestions {
			if s.UUID != "" && len(rec.Suggestions) < feedback.MaxSuggestions {
				rec.Suggestions = append(rec.Suggestions, s.UUID)
			}
		}
		for _, r := range c.OverrideReasons[:min(len(c.OverrideReasons), feedback.MaxReasons)] {
			rec.Reasons = append(rec.Reasons, feedback.Coding{System: r.System, Code: r.Code})
		}
		issued = append(issued, rec)
	}
	x.memory.Recorder.Issue(issued)
}
