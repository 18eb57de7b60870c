package cdshooks

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/cramp-cds/cramp-cds/knowledge"
)

// This file holds what every card of every cramp-cds service shares: the
// topic codes, the source (label, evidence URL, topic), the override reasons,
// citation and markdown formatting, and the card and suggestion uuids.

// TopicSystem is the code system of every card's source.topic. It is ours:
// the codes below are part of the product's interface (EHR analytics and
// feedback reports group cards by them), so a code is never renamed.
const TopicSystem = "https://cramp-cds.org/card-topic"

// The card topic codes (see the card topics table in the design).
const (
	TopicMedication          = "cramp-medication"
	TopicMissingLabs         = "cramp-missing-labs"
	TopicAbnormalLab         = "cramp-abnormal-lab"
	TopicAssociatedCondition = "cramp-associated-condition"
	TopicDifferential        = "cramp-differential"
	TopicInducingOrder       = "cramp-inducing-order"
)

// topics lists every topic code with its display. The position of a topic
// is written into its cards' uuids (see CardUUID): append new topics at the
// end, never reorder.
func topics() [6]Coding {
	return [...]Coding{
		{System: TopicSystem, Code: TopicMedication, Display: "Medications that can cause leg cramps"},
		{System: TopicSystem, Code: TopicMissingLabs, Display: "Work-up labs without a recent result"},
		{System: TopicSystem, Code: TopicAbnormalLab, Display: "Results that can explain leg cramps"},
		{System: TopicSystem, Code: TopicAssociatedCondition, Display: "Conditions associated with leg cramps"},
		{System: TopicSystem, Code: TopicDifferential, Display: "Disorders that mimic leg cramps"},
		{System: TopicSystem, Code: TopicInducingOrder, Display: "Ordered drug that can cause leg cramps"},
	}
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
func Topic(code string) (Coding, bool) {
	i := topicIndex(code)
	if i == 0 {
		return Coding{}, false
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

// KnowledgePath is the route serving the knowledge base as JSON.
const KnowledgePath = "/knowledge"

// Label returns the source label, "cramp-cds knowledge <version>".
func (b SourceBuilder) Label() string {
	return "cramp-cds knowledge " + b.KnowledgeVersion
}

// Source returns the source of a card of the given topic whose evidence is the
// knowledge item anchor (a fragment such as "class-thiazide-diuretics"; "" for
// the whole base). It panics on an unknown topic: that is a programming error
// every test of the card would catch.
func (b SourceBuilder) Source(topic, anchor string) Source {
	t, ok := Topic(topic)
	if !ok {
		panic("cdshooks: unknown card topic " + strconv.Quote(topic))
	}
	s := Source{Label: b.Label(), Topic: &t}
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

// OverrideReasons returns the override reason Codings for the given codes, in
// that order, each with its display. It panics on an unknown code (a
// programming error any test of the card catches).
func OverrideReasons(codes ...string) []Coding {
	out := make([]Coding, 0, len(codes))
	for _, code := range codes {
		var display string
		switch code {
		case OverrideBenefitOutweighsRisk:
			display = "Benefit outweighs the risk of cramps"
		case OverrideAlreadyReviewed:
			display = "Already reviewed with the patient"
		case OverridePatientNotTaking:
			display = "Patient is not taking it"
		case OverrideNotRelevant:
			display = "Not relevant for this patient"
		case OverrideOrderedElsewhere:
			display = "Already ordered or done elsewhere"
		default:
			panic("cdshooks: unknown override reason " + strconv.Quote(code))
		}
		out = append(out, Coding{System: OverrideReasonSystem, Code: code, Display: display})
	}
	return out
}

// MedicationOverrideReasons are the reasons offered on a card about a drug the
// patient takes or is being ordered.
func MedicationOverrideReasons() []Coding {
	return OverrideReasons(OverrideBenefitOutweighsRisk, OverrideAlreadyReviewed, OverridePatientNotTaking)
}

// Evidence formats citations as markdown lines for a narrow panel, one per
// (seed, reference), in the order given:
//
//   - *What are the causes of nocturnal leg cramps?*, ref 2 (Nocturnal leg cramps.), seed `001_ef64482ccbaa6c09.txt` line 14
//
// It returns "" for no citations.
func Evidence(cs []knowledge.Citation) string {
	var sb strings.Builder
	seen := make(map[[2]string]bool, len(cs))
	for _, c := range cs {
		key := [2]string{c.Seed, c.Ref}
		if seen[key] {
			continue
		}
		seen[key] = true
		sb.WriteString("- *")
		sb.WriteString(Markdown(c.SourceTitle))
		sb.WriteString("*, ")
		ref := c.Ref
		if _, err := strconv.Atoi(ref); err == nil {
			ref = "ref " + ref
		}
		sb.WriteString(Markdown(ref))
		if c.RefTitle != "" {
			sb.WriteString(" (" + Markdown(c.RefTitle) + ")")
		}
		// Seed names are ours (no backticks): a code span shows them as written.
		fmt.Fprintf(&sb, ", seed `%s` line %d\n", c.Seed, c.Line)
	}
	return sb.String()
}

// Markdown escapes text from a patient record or the knowledge base so that
// it shows as written in GitHub-flavoured markdown (no emphasis, links, HTML
// or headings sneak in), and folds line breaks into spaces.
func Markdown(s string) string {
	if !strings.ContainsAny(s, "\\`*_[]()<>#+-.|~&\r\n") {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s) + 8)
	for i, r := range s {
		switch r {
		case '\r', '\n':
			sb.WriteByte(' ')
			continue
		case '_':
			// GFM never reads an underscore inside a word as emphasis.
			if !(i > 0 && isWordByte(s[i-1]) && i+1 < len(s) && isWordByte(s[i+1])) {
				sb.WriteByte('\\')
			}
		case '\\', '`', '*', '[', ']', '<', '>', '|', '~', '&':
			sb.WriteByte('\\')
		case '#', '+', '-', '.', '(', ')':
			// Only special at the start of a line (heading, list) or
			// after "]" (link target): escape them at the start.
			if i == 0 {
				sb.WriteByte('\\')
			}
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

func isWordByte(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// Summary returns s cut to fit a card summary (at most 139 runes), ending in
// "…" when cut.
func Summary(s string) string {
	const max = 139
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	runes := []rune(s)
	return strings.TrimRight(string(runes[:max-1]), " ,;:") + "…"
}

// Card and suggestion uuids are UUIDv8 (RFC 9562 section 5.8) derived from
// SHA-256 over (kind, hookInstance, topic, key...), so they are:
//   - deterministic and stateless: the same request gives the same uuids in
//     the server and in `cramp-cds evaluate` (byte-identical responses), on
//     any replica, with nothing stored;
//   - distinct per request (hookInstance is a fresh UUID per hook call) and
//     per card within it (the key names what the card is about);
//   - attributable: feedback carries only the card uuid, and TopicOfCard
//     reads the topic back from it.
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
		panic("cdshooks: unknown card topic " + strconv.Quote(topic))
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
