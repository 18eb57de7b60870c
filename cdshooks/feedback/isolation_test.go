package feedback_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
)

// TestOneBadRowNeverFailsTheBatch (issue 27, findings 2 and 4): a batch
// gathers many callers' writes; a feedback item with a NUL character (which
// PostgreSQL refuses in text) or a reason code of a megabyte is left out on
// its own, and every other row of the batch is stored.
func TestOneBadRowNeverFailsTheBatch(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		s := mustOpen(t, dsn)
		until := t0.Add(time.Hour)
		good := feedback.Outcome{Card: "good", Service: "svc", Topic: "a", Outcome: "overridden",
			ReasonSystem: "https://cramp-cds.org/override-reason", ReasonCode: "not-relevant", At: t0, ReceivedAt: t0}
		nul, huge := good, good
		nul.Card, nul.ReasonCode = "nul", "not\x00relevant"
		huge.Card, huge.ReasonCode = "huge", strings.Repeat("Jane Doe MRN 77123 ", 55_000)
		badSnooze := feedback.Snooze{ID: "bad\x00", Card: "nul", Service: "svc", Topic: "a", Reason: "x", From: t0, Until: until}
		err := s.Write(context.Background(), feedback.Batch{
			Cards: []feedback.Card{
				{UUID: "good", Service: "svc", Topic: "a", KnowledgeVersion: "1", IssuedAt: t0},
				{UUID: "bad-card", Service: "svc", Topic: "a\x00", KnowledgeVersion: "1", IssuedAt: t0},
			},
			Outcomes: []feedback.Outcome{nul, huge, good},
			Snoozes: []feedback.Snooze{badSnooze,
				{ID: "good", Card: "good", Service: "svc", Topic: "a", Reason: "not-relevant", From: t0, Until: until}},
		})
		var rejected *feedback.RejectedError
		if !errors.As(err, &rejected) || rejected.Rows != 4 {
			t.Fatalf("Write = %v, want a *RejectedError counting 4 rows (the card, two outcomes, the snooze)", err)
		}
		if strings.Contains(err.Error(), "Jane") {
			t.Errorf("the error repeats the rejected value: %v", err)
		}
		snoozed, err := s.Snoozed(context.Background(), []string{"good"}, t0)
		if err != nil || !snoozed["good"] {
			t.Errorf("the good snooze was not stored beside the bad rows: %v, %v", snoozed, err)
		}
		r, err := s.Report(context.Background(), t0.Add(-time.Hour), t0)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Topics) != 1 || r.Topics[0].Issued != 1 || r.Topics[0].Overridden != 1 ||
			len(r.Topics[0].Reasons) != 1 || r.Topics[0].Reasons[0].Code != "not-relevant" {
			t.Errorf("report = %+v, want the good card and its one override alone", r.Topics)
		}
	})
}

// TestEveryStoredFieldIsCapped: each field of each row, over its cap, is
// refused on its own (issue 27: 40 feedback calls once wrote 217 MB).
func TestEveryStoredFieldIsCapped(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, "sqlite:"+filepath.Join(t.TempDir(), "caps.db"))
	long := strings.Repeat("x", 4096)
	card := feedback.Card{UUID: "c", Service: "svc", Topic: "a", KnowledgeVersion: "1", Fingerprint: "f", Patient: "p", IssuedAt: t0}
	outcome := feedback.Outcome{Card: "c", Service: "svc", Topic: "a", Outcome: "overridden", At: t0, ReceivedAt: t0}
	snooze := feedback.Snooze{ID: "c", Card: "c", Service: "svc", Topic: "a", Reason: "r", From: t0, Until: t0.Add(time.Hour)}
	var suggestions []string
	for range feedback.MaxSuggestions + 1 {
		suggestions = append(suggestions, "s")
	}
	tests := []struct {
		name string
		b    feedback.Batch
	}{
		{"card uuid", feedback.Batch{Cards: []feedback.Card{with(card, func(c *feedback.Card) { c.UUID = long })}}},
		{"card service", feedback.Batch{Cards: []feedback.Card{with(card, func(c *feedback.Card) { c.Service = long })}}},
		{"card topic", feedback.Batch{Cards: []feedback.Card{with(card, func(c *feedback.Card) { c.Topic = long })}}},
		{"card version", feedback.Batch{Cards: []feedback.Card{with(card, func(c *feedback.Card) { c.KnowledgeVersion = long })}}},
		{"card fingerprint", feedback.Batch{Cards: []feedback.Card{with(card, func(c *feedback.Card) { c.Fingerprint = long })}}},
		{"card patient", feedback.Batch{Cards: []feedback.Card{with(card, func(c *feedback.Card) { c.Patient = long })}}},
		{"card issuer", feedback.Batch{Cards: []feedback.Card{with(card, func(c *feedback.Card) { c.Issuer = long })}}},
		{"card suggestions", feedback.Batch{Cards: []feedback.Card{with(card, func(c *feedback.Card) { c.Suggestions = suggestions })}}},
		{"card suggestion uuid", feedback.Batch{Cards: []feedback.Card{with(card, func(c *feedback.Card) { c.Suggestions = []string{long} })}}},
		{"card reason", feedback.Batch{Cards: []feedback.Card{with(card, func(c *feedback.Card) { c.Reasons = []feedback.Coding{{System: "s", Code: long}} })}}},
		{"outcome card", feedback.Batch{Outcomes: []feedback.Outcome{with(outcome, func(o *feedback.Outcome) { o.Card = long })}}},
		{"outcome service", feedback.Batch{Outcomes: []feedback.Outcome{with(outcome, func(o *feedback.Outcome) { o.Service = long })}}},
		{"outcome topic", feedback.Batch{Outcomes: []feedback.Outcome{with(outcome, func(o *feedback.Outcome) { o.Topic = long })}}},
		{"outcome", feedback.Batch{Outcomes: []feedback.Outcome{with(outcome, func(o *feedback.Outcome) { o.Outcome = long })}}},
		{"outcome reason system", feedback.Batch{Outcomes: []feedback.Outcome{with(outcome, func(o *feedback.Outcome) { o.ReasonSystem = long })}}},
		{"outcome reason code", feedback.Batch{Outcomes: []feedback.Outcome{with(outcome, func(o *feedback.Outcome) { o.ReasonCode = long })}}},
		{"outcome accepted suggestions", feedback.Batch{Outcomes: []feedback.Outcome{with(outcome, func(o *feedback.Outcome) { o.AcceptedSuggestions = 100_000 })}}},
		{"snooze id", feedback.Batch{Snoozes: []feedback.Snooze{with(snooze, func(z *feedback.Snooze) { z.ID = long })}}},
		{"snooze card", feedback.Batch{Snoozes: []feedback.Snooze{with(snooze, func(z *feedback.Snooze) { z.Card = long })}}},
		{"snooze service", feedback.Batch{Snoozes: []feedback.Snooze{with(snooze, func(z *feedback.Snooze) { z.Service = long })}}},
		{"snooze topic", feedback.Batch{Snoozes: []feedback.Snooze{with(snooze, func(z *feedback.Snooze) { z.Topic = long })}}},
		{"snooze reason", feedback.Batch{Snoozes: []feedback.Snooze{with(snooze, func(z *feedback.Snooze) { z.Reason = long })}}},
		{"invalid UTF-8", feedback.Batch{Outcomes: []feedback.Outcome{with(outcome, func(o *feedback.Outcome) { o.ReasonCode = "\xff\xfe" })}}},
	}
	for _, tt := range tests {
		err := s.Write(context.Background(), tt.b)
		var rejected *feedback.RejectedError
		if !errors.As(err, &rejected) || rejected.Rows != 1 {
			t.Errorf("%s over its cap: Write = %v, want the row rejected", tt.name, err)
		}
	}
	if err := s.Write(context.Background(), feedback.Batch{Cards: []feedback.Card{card}, Outcomes: []feedback.Outcome{outcome},
		Snoozes: []feedback.Snooze{snooze}}); err != nil {
		t.Errorf("rows within every cap: Write = %v", err)
	}
}

func with[T any](v T, change func(*T)) T {
	change(&v)
	return v
}

// TestIssuedOnlyToTheIssuer: a card is known only to the caller it was
// issued to, with the suggestions and reasons it carried.
func TestIssuedOnlyToTheIssuer(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		s := mustOpen(t, dsn)
		reasons := []feedback.Coding{{System: "https://cramp-cds.org/override-reason", Code: "not-relevant"}}
		mustWrite(t, s, feedback.Batch{Cards: []feedback.Card{
			{UUID: "c1", Service: "svc", Topic: "a", KnowledgeVersion: "1", Issuer: "https://a.example", IssuedAt: t0,
				Suggestions: []string{"s1", "s2"}, Reasons: reasons},
		}})
		got, err := s.Issued(context.Background(), "https://b.example", []string{"c1"})
		if err != nil || len(got) != 0 {
			t.Errorf("Issued to another issuer = %v, %v; want nothing", got, err)
		}
		got, err = s.Issued(context.Background(), "https://a.example", []string{"c1", "unknown"})
		if err != nil {
			t.Fatal(err)
		}
		c, ok := got["c1"]
		if len(got) != 1 || !ok || c.Topic != "a" || strings.Join(c.Suggestions, ",") != "s1,s2" ||
			len(c.Reasons) != 1 || c.Reasons[0] != reasons[0] {
			t.Errorf("Issued to its issuer = %+v, want c1 with its suggestions and reason", got)
		}
	})
}

// TestPurgedRowsAreGoneFromTheFile (issue 27, finding 8): after retention
// purges a card, its bytes are no longer in the SQLite file.
func TestPurgedRowsAreGoneFromTheFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "purge.db")
	s := mustOpen(t, "sqlite:"+path)
	const marker = "c0ffee00-purged-card-uuid-0000000001"
	old := t0.Add(-500 * 24 * time.Hour)
	mustWrite(t, s, feedback.Batch{
		Cards:    []feedback.Card{{UUID: marker, Service: "svc", Topic: "a", KnowledgeVersion: "1", IssuedAt: old}},
		Outcomes: []feedback.Outcome{{Card: marker, Service: "svc", Topic: "a", Outcome: "overridden", At: old, ReceivedAt: old}},
	})
	if err := s.Close(); err != nil { // checkpoints the log into the file
		t.Fatal(err)
	}
	if !strings.Contains(string(readAll(t, path)), marker) {
		t.Fatal("the card is not in the file before the purge: the test reads the wrong file")
	}
	s = mustOpen(t, "sqlite:"+path)
	if err := s.Purge(context.Background(), t0.Add(-400*24*time.Hour), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(readAll(t, path)), marker) {
		t.Errorf("the purged card's uuid is still readable in the database file")
	}
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	var all []byte
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// TestDatabaseFilesOwnerOnly (issue 27, finding 8): the database and its
// -wal and -shm files are 0600, whatever the umask, and a file an earlier
// version left 0644 is tightened.
func TestDatabaseFilesOwnerOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	loose := filepath.Join(dir, "loose.db")
	if err := os.WriteFile(loose, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "new", "fresh.db"), loose} {
		s := mustOpen(t, "sqlite:"+path)
		mustWrite(t, s, feedback.Batch{Cards: []feedback.Card{{UUID: "c", Topic: "a", IssuedAt: t0}}})
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			info, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if perm := info.Mode().Perm(); perm != 0o600 {
				t.Errorf("%s has mode %04o, want 0600", filepath.Base(p), perm)
			}
		}
	}
}
