package kit

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

// TopicSystem is the code system of every card's source.topic. It is ours:
// the codes are part of the product's interface (EHR analytics and feedback
// reports group cards by them), so a code is never renamed.
const TopicSystem = "https://cramp-cds.org/card-topic"

// Registry is every card topic of a binary's services, in a fixed order. The
// position of a topic is written into its cards' uuids (see CardUUID), so
// the order is part of the uuids: topics are appended, never reordered, and
// a topic package's list comes after the lists registered before it.
//
// It implements cdshooks.TopicReader: the server reads feedback's topics
// from it. A Registry is immutable and safe for concurrent use.
type Registry struct {
	topics []cdshooks.Coding
}

// maxTopics is how many topics a uuid's one topic byte can name (0 is none).
const maxTopics = 255

// NewRegistry registers the topics of each list, in order. Each topic is a
// Coding of TopicSystem with a code and a display. It fails on a duplicate
// or empty code, another system, or more topics than a uuid can name.
func NewRegistry(lists ...[]cdshooks.Coding) (*Registry, error) {
	r := &Registry{}
	seen := map[string]bool{}
	for _, list := range lists {
		for _, t := range list {
			switch {
			case t.Code == "" || t.Display == "":
				return nil, errors.New("kit: a topic without a code or display")
			case t.System != TopicSystem:
				return nil, fmt.Errorf("kit: topic %q is not of %s", t.Code, TopicSystem)
			case seen[t.Code]:
				return nil, fmt.Errorf("kit: topic %q registered twice", t.Code)
			}
			seen[t.Code] = true
			r.topics = append(r.topics, t)
		}
	}
	if len(r.topics) > maxTopics {
		return nil, fmt.Errorf("kit: %d topics; a card uuid names at most %d", len(r.topics), maxTopics)
	}
	return r, nil
}

// Topics returns a topic Coding for each (code, display) pair, in order: a
// topic package's list for NewRegistry.
func Topics(pairs ...[2]string) []cdshooks.Coding {
	return Codings(TopicSystem, pairs...)
}

// Codings returns the Codings of system for (code, display) pairs, in order.
func Codings(system string, pairs ...[2]string) []cdshooks.Coding {
	out := make([]cdshooks.Coding, len(pairs))
	for i, p := range pairs {
		out[i] = cdshooks.Coding{System: system, Code: p[0], Display: p[1]}
	}
	return out
}

// All returns every registered topic, in order.
func (r *Registry) All() []cdshooks.Coding {
	return append([]cdshooks.Coding(nil), r.topics...)
}

// index returns the 1-based position of a topic code, 0 when unknown.
func (r *Registry) index(code string) int {
	for i, t := range r.topics {
		if t.Code == code {
			return i + 1
		}
	}
	return 0
}

// Topic returns the Coding of a topic code, with its display. ok is false for
// a code that is not registered.
func (r *Registry) Topic(code string) (cdshooks.Coding, bool) {
	i := r.index(code)
	if i == 0 {
		return cdshooks.Coding{}, false
	}
	return r.topics[i-1], true
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
// CardIDs). Either way they are attributable: feedback carries only the card
// uuid, and TopicOf reads the topic back from it.
//
// Layout (16 bytes): bytes 0-13 are the hash, with the version (8) in the
// high nibble of byte 6 and the RFC 9562 variant in the top bits of byte 8;
// byte 14 is uuidMagic; byte 15 is the topic's 1-based position in the
// registry.
const uuidMagic = 0xC5

// CardUUID returns the uuid of the card of the given topic about key (for
// example an ingredient id, or "" for a topic's only card) in the request
// hookInstance. It panics on an unregistered topic: a programming error any
// test of the card catches.
func (r *Registry) CardUUID(hookInstance, topic, key string) string {
	return r.derivedUUID("card", hookInstance, topic, key)
}

// SuggestionUUID returns the uuid of a suggestion (about suggestionKey) of the
// card CardUUID(hookInstance, topic, cardKey).
func (r *Registry) SuggestionUUID(hookInstance, topic, cardKey, suggestionKey string) string {
	return r.derivedUUID("suggestion", hookInstance, topic, cardKey, suggestionKey)
}

func (r *Registry) derivedUUID(kind, subject, topic string, keys ...string) string {
	idx := r.index(topic)
	if idx == 0 {
		panic("kit: unknown card topic " + strconv.Quote(topic))
	}
	h := sha256.New()
	// Length-prefixed fields: no two different inputs hash the same bytes.
	var buf []byte
	for _, f := range append([]string{"cramp-cds/v1", kind, subject, topic}, keys...) {
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

// TopicOf returns the topic code written into a card (or suggestion) uuid
// made by CardUUID. ok is false for any other string, including uuids some
// other software made (unless one happens to match our layout: 1 in 2^8 of
// random UUIDv8s with a valid topic byte, and no random UUIDv4).
func (r *Registry) TopicOf(id string) (topic string, ok bool) {
	u, err := uuid.Parse(id)
	if err != nil || len(id) != 36 || u.Version() != 8 || u.Variant() != uuid.RFC4122 || u[14] != uuidMagic {
		return "", false
	}
	if u[15] == 0 || int(u[15]) > len(r.topics) {
		return "", false
	}
	return r.topics[u[15]-1].Code, true
}
