// Package feedback is what a CDS service remembers between calls: the cards
// it issued, the feedback clinicians sent about them, and the snoozes that
// feedback caused, so that advice a clinician dismissed for a patient is not
// repeated until something changes. It also reports on that history (cards
// issued, accepted, overridden and why) for a hospital's CDS committee.
//
// It serves any CDS service: it knows card uuids, topic codes and service
// ids as strings, never a product's clinical content. The policy (which
// override reason snoozes what, and for how long) is the product's; this
// package stores the Snooze the product decided on.
//
// At rest there is no patient identifier, name or clinical text: a patient is
// an HMAC of fhirServer|patientId under a secret Key, and what a card is about
// is a keyed fingerprint, so neither can be read back without the key.
//
// A Store is SQLite (one file, the default) or PostgreSQL (several replicas
// sharing one database); Open picks one from a DSN. Services do not call a
// Store directly but a Recorder, which writes asynchronously and fails open.
package feedback

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Card is one card as issued: who it was for and what it was about, in a form
// that reveals neither.
type Card struct {
	// UUID is the card's uuid as sent to the client; feedback names it.
	UUID string
	// Service is the id of the CDS service that issued it.
	Service string
	// Topic is the card's source.topic code.
	Topic string
	// KnowledgeVersion is the version of the content the card was made from.
	KnowledgeVersion string
	// Fingerprint is Key.Fingerprint of what the card is about.
	Fingerprint string
	// Patient is Key.Patient of the caller, the request's fhirServer and
	// patient id.
	Patient string
	// Issuer is the caller the card was issued to (the verified JWT iss,
	// "" without authentication): only that caller's feedback about the
	// card is accepted (see Recorder.RecordFeedback).
	Issuer string
	// Suggestions are the uuids of the card's suggestions (at most
	// MaxSuggestions): only these snooze when accepted.
	Suggestions []string
	// Reasons are the override reasons the card offered (at most
	// MaxReasons): an override naming another is stored as ReasonOther.
	Reasons []Coding
	// IssuedAt is when the card was sent.
	IssuedAt time.Time
}

// Coding is an override reason as a card offers it and feedback names it.
type Coding struct {
	System, Code string
}

// IssuedCard is what the store remembers of a card for the caller it was
// issued to: what feedback about it may name.
type IssuedCard struct {
	Topic       string
	Suggestions []string
	Reasons     []Coding
}

// ReasonOther is the reason code stored for an override whose reason the
// card did not offer: only the product's own codes are stored, never what a
// caller typed.
const ReasonOther = "other"

// Outcome is one feedback item as stored: no user comment, which may hold
// anything the clinician typed.
type Outcome struct {
	// Card is the uuid the feedback names.
	Card    string
	Service string
	// Topic is the topic the product read from the card uuid ("" when the
	// uuid is not one of the product's).
	Topic string
	// Outcome is "accepted" or "overridden".
	Outcome string
	// ReasonSystem and ReasonCode are the override reason chosen, if any.
	ReasonSystem, ReasonCode string
	// AcceptedSuggestions is how many suggestions were accepted.
	AcceptedSuggestions int
	// At is the feedback's outcomeTimestamp; ReceivedAt when we got it.
	At, ReceivedAt time.Time
}

// Snooze silences one card or suggestion uuid until a time: the product
// decides on it from feedback, and asks Snoozed before showing a card.
type Snooze struct {
	// ID is the card or suggestion uuid that is not to be shown again.
	ID string
	// Card is the uuid of the card whose feedback caused the snooze (ID
	// itself for a card; the suggestion's card for a suggestion).
	Card    string
	Service string
	Topic   string
	// Reason is why: an override reason code, or "accepted".
	Reason string
	// From and Until bound the snooze; it is in force while now < Until.
	From, Until time.Time
}

// SnoozeEnd is what a Recorder keeps in memory of a snooze in force: which
// uuid, and until when.
type SnoozeEnd struct {
	ID    string
	Until time.Time
}

// Batch is what one write stores, in one transaction: cards first, so
// feedback and snoozes in the same batch find the card they name.
type Batch struct {
	Cards    []Card
	Outcomes []Outcome
	Snoozes  []Snooze
}

// Empty reports whether b holds nothing to write.
func (b Batch) Empty() bool { return len(b.Cards)+len(b.Outcomes)+len(b.Snoozes) == 0 }

// Store keeps the history. Every method is safe for concurrent use; a
// context deadline bounds each call.
type Store interface {
	// Write stores a batch in one transaction. A snooze replaces an
	// earlier one for the same ID. A row the store cannot take (a field
	// over its cap, text that is not valid UTF-8 or holds NUL, a statement
	// the database refuses) is left out on its own, never with the rest of
	// the batch: the others are stored and a *RejectedError counts it.
	Write(ctx context.Context, b Batch) error
	// Issued returns, of the card uuids given, those issued to issuer,
	// with what their feedback may name.
	Issued(ctx context.Context, issuer string, cards []string) (map[string]IssuedCard, error)
	// Snoozed returns which of ids have a snooze in force at now.
	Snoozed(ctx context.Context, ids []string, now time.Time) (map[string]bool, error)
	// SnoozesInForce lists the snoozes in force at now written at or after
	// since (all of them for the zero time), at most limit of them: what a
	// Recorder keeps in memory, loaded whole and then refreshed with what
	// was written since its last look.
	SnoozesInForce(ctx context.Context, now, since time.Time, limit int) ([]SnoozeEnd, error)
	// Report aggregates the history since a time (see Report).
	Report(ctx context.Context, since, now time.Time) (*Report, error)
	// Purge deletes cards and feedback older than before, and snoozes no
	// longer in force at now.
	Purge(ctx context.Context, before, now time.Time) error
	// Close releases the database.
	Close() error
}

// Open opens the store a DSN names, and applies the migrations it lacks:
//   - "sqlite:PATH": a SQLite file (created if missing, with its directory);
//   - "postgres://…" or "postgresql://…": a PostgreSQL database (a pgx
//     connection string; host=/path for a Unix socket).
//
// "none" is not a store: callers check for it (see ParseDSN) and run
// without one.
//
// A PostgreSQL password may come from a file instead of the DSN (see
// WithPasswordFile), so that no secret needs to be a flag.
func Open(ctx context.Context, dsn string, opts ...OpenOption) (*SQL, error) {
	kind, target, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	var o openOptions
	for _, opt := range opts {
		opt(&o)
	}
	switch kind {
	case KindSQLite:
		return openSQLite(ctx, target)
	case KindPostgres:
		return openPostgres(ctx, target, o)
	default:
		return nil, errors.New("feedback: store \"none\" cannot be opened")
	}
}

// OpenOption is an option of Open.
type OpenOption func(*openOptions)

type openOptions struct {
	passwordFile string
}

// WithPasswordFile makes Open read the PostgreSQL password from a file (its
// first line; for example a mounted Secret) rather than the DSN. A file
// others may write is refused. SQLite ignores it.
func WithPasswordFile(path string) OpenOption {
	return func(o *openOptions) { o.passwordFile = path }
}

// Kinds of store a DSN can name.
const (
	KindNone     = "none"
	KindSQLite   = "sqlite"
	KindPostgres = "postgres"
)

// ParseDSN tells which kind of store dsn names and what to open: the file
// path for SQLite, the whole DSN for PostgreSQL, "" for none. Its errors
// never repeat the DSN, which may hold a password.
func ParseDSN(dsn string) (kind, target string, err error) {
	switch {
	case dsn == KindNone:
		return KindNone, "", nil
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return "", "", errors.New("store sqlite: needs a file path, like sqlite:./cramp-cds.db")
		}
		return KindSQLite, path, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return KindPostgres, dsn, nil
	default:
		return "", "", fmt.Errorf("store must be sqlite:PATH, postgres://… or none (got something starting %q)", prefix(dsn))
	}
}

// prefix is the start of s up to its first colon, safe to show in an error.
func prefix(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[:i+1]
	}
	if len(s) > 8 {
		return s[:8] + "…"
	}
	return s
}
