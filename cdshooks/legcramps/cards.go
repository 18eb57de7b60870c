package legcramps

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// This file holds what every card of the leg-cramp services shares: the
// topic codes, the source (label, evidence URL, topic), the override reasons,
// citation formatting, and the card and suggestion uuids.

// TopicSystem is the code system of every card's source.topic. It is ours:
// the codes below are part of the product's interface (EHR analytics and
// feedback reports group cards by them), so a code is never renamed.
const TopicSystem = "https://cramp-cds.org/card-topic"

// The card topic codes. Each is listed in topics.
const (
	TopicMedication          = "cramp-medication"
	TopicMissingLabs         = "cramp-missing-labs"
	TopicAbnormalLab         = "cramp-abnormal-lab"
	TopicAssociatedCondition = "cramp-associated-condition"
	TopicDifferential        = "cramp-differential"
	TopicInducingOrder       = "cramp-inducing-order"
)

// topics lists every topic code with its display, one line each. The
// position of a topic is written into its cards' uuids (see CardUUID):
// append new topics at the end, never reorder.
func topics() []cdshooks.Coding {
	return codings(TopicSystem, [][2]string{
		{TopicMedication, "Medications that can cause leg cramps"},
		{TopicMissingLabs, "Work-up labs without a recent result"},
		{TopicAbnormalLab, "Results that may worsen leg cramps"},
		{TopicAssociatedCondition, "Conditions associated with leg cramps"},
		{TopicDifferential, "Disorders that mimic leg cramps"},
		{TopicInducingOrder, "Ordered drug that can cause leg cramps"},
	})
}

// codings returns the Codings of system for (code, display) pairs, in order.
func codings(system string, pairs [][2]string) []cdshooks.Coding {
	out := make([]cdshooks.Coding, len(pairs))
	for i, p := range pairs {
		out[i] = cdshooks.Coding{System: system, Code: p[0], Display: p[1]}
	}
	return out
}

// topicIndex returns the 1-based position of a topic code, 0 when unknown.
func topicIndex(code string) int {
	for i, t := range topics() {
		if t.Code == code {
			return i + 1
		}
	}
	return 0
}

// Topic returns the Coding of a topic code, with its display. ok is false for
// a code that is not one of the Topic constants.
func Topic(code string) (cdshooks.Coding, bool) {
	i := topicIndex(code)
	if i == 0 {
		return cdshooks.Coding{}, false
	}
	return topics()[i-1], true
}

// SourceBuilder makes the source of every card: a label naming cramp-cds and
// its knowledge version, a URL to the evidence, and the topic.
type SourceBuilder struct {
	// KnowledgeVersion is knowledge.Base.Version().
	KnowledgeVersion string
	// KnowledgeURL is where the knowledge base is served read-only, e.g.
	// "https://cds.example.org/knowledge" (GET /knowledge on the API
	// listener). Empty leaves source.url out: without a public URL
	// (--public-url) we cannot name an address the clinician's browser
	// resolves, and a wrong URL is worse than none.
	KnowledgeURL string
}

// NewSourceBuilder returns the SourceBuilder for a knowledge base served under
// publicURL ("" when unknown: the cards then carry no source.url).
func NewSourceBuilder(kb *knowledge.Base, publicURL string) SourceBuilder {
	sb := SourceBuilder{KnowledgeVersion: kb.Version()}
	if publicURL != "" {
		sb.KnowledgeURL = strings.TrimRight(publicURL, "/") + KnowledgePath
	}
	return sb
}

// KnowledgePath is the route serving the knowledge page (HTML, or JSON on request).
const KnowledgePath = "/knowledge"

// Label returns the source label, "cramp-cds knowledge <version>".
func (b SourceBuilder) Label() string {
	return "cramp-cds knowledge " + b.KnowledgeVersion
}

// Source returns the source of a card of the given topic whose evidence is the
// knowledge item anchor (a fragment such as "class-thiazide-diuretics"; "" for
// the whole base). It panics on an unknown topic: that is a programming error
// every test of the card would catch.
func (b SourceBuilder) Source(topic, anchor string) cdshooks.Source {
	t, ok := Topic(topic)
	if !ok {
		panic("legcramps: unknown card topic " + strconv.Quote(topic))
	}
	s := cdshooks.Source{Label: b.Label(), Topic: &t}
	if b.KnowledgeURL != "" {
		s.URL = b.KnowledgeURL
		if anchor != "" {
			s.URL += "#" + anchor
		}
	}
	return s
}

// OverrideReasonSystem is the code system of the override reasons cramp-cds offers.
const OverrideReasonSystem = "https://cramp-cds.org/override-reason"

// The override reason codes. Feedback reports count them: never rename one.
const (
	OverrideBenefitOutweighsRisk = "benefit-outweighs-risk"
	OverrideAlreadyReviewed      = "already-reviewed"
	OverridePatientNotTaking     = "patient-not-taking"
	OverrideNotRelevant          = "not-relevant"
	OverrideOrderedElsewhere     = "already-ordered"
)

// overrideReasons lists every override reason code with its display, one
// line each.
func overrideReasons() []cdshooks.Coding {
	return codings(OverrideReasonSystem, [][2]string{
		{OverrideBenefitOutweighsRisk, "Benefit outweighs the risk of cramps"},
		{OverrideAlreadyReviewed, "Already reviewed with the patient"},
		{OverridePatientNotTaking, "Patient is not taking it"},
		{OverrideNotRelevant, "Not relevant for this patient"},
		{OverrideOrderedElsewhere, "Already ordered or done elsewhere"},
	})
}

// OverrideReasons returns the override reason Codings for the given codes, in
// that order, each with its display. It panics on an unknown code (a
// programming error any test of the card catches).
func OverrideReasons(codes ...string) []cdshooks.Coding {
	all := overrideReasons()
	out := make([]cdshooks.Coding, 0, len(codes))
	for _, code := range codes {
		i := slices.IndexFunc(all, func(c cdshooks.Coding) bool { return c.Code == code })
		if i < 0 {
			panic("legcramps: unknown override reason " + strconv.Quote(code))
		}
		out = append(out, all[i])
	}
	return out
}

// MedicationOverrideReasons are the reasons offered on a card about a drug the
// patient takes; already reviewed and not relevant snooze the card (every
// card offers those two: see withSnoozeReasons).
func MedicationOverrideReasons() []cdshooks.Coding {
	return OverrideReasons(OverrideBenefitOutweighsRisk, OverrideAlreadyReviewed, OverridePatientNotTaking, OverrideNotRelevant)
}

// Card and suggestion uuids are UUIDv8 (RFC 9562 section 5.8) derived from
// SHA-256 over (kind, subject, topic, key...). Without a Memory the subject
// is the hookInstance (CardUUID, SuggestionUUID), so they are:
//   - deterministic and stateless: the same request gives the same uuids in
//     the server and in `cramp-cds evaluate` (byte-identical responses), on
//     any replica, with nothing stored;
//   - distinct per request (hookInstance is a fresh UUID per hook call) and
//     per card within it (the key names what the card is about).
//
// With a Memory the subject is the patient's pseudonym and the key the card's
// fingerprint, so the same card for the same patient keeps its uuid (see
// cardIDs). Either way they are attributable: feedback carries only the card
// uuid, and TopicOfCard reads the topic back from it.
//
// Layout (16 bytes): bytes 0-13 are the hash, with the version (8) in the
// high nibble of byte 6 and the RFC 9562 variant in the top bits of byte 8;
// byte 14 is uuidMagic; byte 15 is the topic's 1-based index in topics().
const uuidMagic = 0xC5

// CardUUID returns the uuid of the card of the given topic about key (for
// example an ingredient id, or "" for a topic's only card) in the request
// hookInstance.
func CardUUID(hookInstance, topic, key string) string {
	return derivedUUID("card", hookInstance, topic, key)
}

// SuggestionUUID returns the uuid of a suggestion (about suggestionKey) of the
// card CardUUID(hookInstance, topic, cardKey).
func SuggestionUUID(hookInstance, topic, cardKey, suggestionKey string) string {
	return derivedUUID("suggestion", hookInstance, topic, cardKey, suggestionKey)
}

func derivedUUID(kind, hookInstance, topic string, keys ...string) string {
	idx := topicIndex(topic)
	if idx == 0 {
		panic("legcramps: unknown card topic " + strconv.Quote(topic))
	}
	h := sha256.New()
	// Length-prefixed fields: no two different inputs hash the same bytes.
	var buf []byte
	for _, f := range append([]string{"cramp-cds/v1", kind, hookInstance, topic}, keys...) {
		buf = binary.AppendUvarint(buf[:0], uint64(len(f)))
		h.Write(buf)
		h.Write([]byte(f))
	}
	var u uuid.UUID
	copy(u[:14], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x80 // version 8
	u[8] = u[8]&0x3f | 0x80 // variant 10xx
	u[14] = uuidMagic
	u[15] = byte(idx)
	return u.String()
}

// TopicOfCard returns the topic code written into a card (or suggestion) uuid
// made by CardUUID. ok is false for any other string, including uuids some
// other software made (unless one happens to match our layout: 1 in 2^8 of
// random UUIDv8s with a valid topic byte, and no random UUIDv4).
func TopicOfCard(id string) (topic string, ok bool) {
	u, err := uuid.Parse(id)
	if err != nil || len(id) != 36 || u.Version() != 8 || u.Variant() != uuid.RFC4122 || u[14] != uuidMagic {
		return "", false
	}
	ts := topics()
	if u[15] == 0 || int(u[15]) > len(ts) {
		return "", false
	}
	return ts[u[15]-1].Code, true
}

// distinctTexts collects distinct texts for a card, the first max of them, and
// counts the rest, so one card names a bounded number of record entries
// however long the record is.
type distinctTexts struct {
	max   int
	texts []string
	more  int
}

// add keeps t unless it is already listed or the list is full (then it is
// counted among the rest; a repeat is never counted).
func (l *distinctTexts) add(t string) {
	switch {
	case slices.Contains(l.texts, t):
	case len(l.texts) == l.max:
		l.more++
	default:
		l.texts = append(l.texts, t)
	}
}

// join lists the texts with sep, then "and N <rest>" when some were left out.
func (l *distinctTexts) join(sep, rest string) string {
	parts := l.texts
	if l.more > 0 {
		parts = append(slices.Clip(parts), fmt.Sprintf("and %d %s", l.more, rest))
	}
	return strings.Join(parts, sep)
}
