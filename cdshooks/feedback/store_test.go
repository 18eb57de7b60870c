package feedback_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
	"github.com/cramp-cds/cramp-cds/tools/testkit/pgtest"
)

// backends runs test against a fresh SQLite file and a fresh PostgreSQL
// schema (skipped, saying why, when no test PostgreSQL is configured).
// dsn opens the same database again, as a restart or a second replica would.
func backends(t *testing.T, test func(t *testing.T, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		test(t, "sqlite:"+filepath.Join(t.TempDir(), "store", "cramp-cds.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		test(t, pgtest.Postgres(t))
	})
}

func mustOpen(t *testing.T, dsn string) *feedback.SQL {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := feedback.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func mustWrite(t *testing.T, s feedback.Store, b feedback.Batch) {
	t.Helper()
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

var t0 = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

func TestParseDSN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dsn, kind, target string
		err               string
	}{
		{dsn: "none", kind: feedback.KindNone},
		{dsn: "sqlite:./cramp-cds.db", kind: feedback.KindSQLite, target: "./cramp-cds.db"},
		{dsn: "postgres://u:secret@db:5432/cds", kind: feedback.KindPostgres, target: "postgres://u:secret@db:5432/cds"},
		{dsn: "postgresql:///cds?host=/run/pg", kind: feedback.KindPostgres, target: "postgresql:///cds?host=/run/pg"},
		{dsn: "sqlite:", err: "needs a file path"},
		{dsn: "mysql://u:secret@db/cds", err: "must be sqlite:PATH"},
		{dsn: "", err: "must be sqlite:PATH"},
	}
	for _, tt := range tests {
		kind, target, err := feedback.ParseDSN(tt.dsn)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseDSN(%q) error = %v, want one containing %q", tt.dsn, err, tt.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("ParseDSN(%q) error %q repeats the password", tt.dsn, err)
			}
			continue
		}
		if err != nil || kind != tt.kind || target != tt.target {
			t.Errorf("ParseDSN(%q) = %q, %q, %v; want %q, %q", tt.dsn, kind, target, err, tt.kind, tt.target)
		}
	}
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		// Replicas starting together: every Open succeeds and the schema is
		// migrated once.
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() {
				s, err := feedback.Open(context.Background(), dsn)
				if err == nil {
					err = s.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		if strings.HasPrefix(dsn, "sqlite:") {
			// One SQLite file has one writer: starting together may fail
			// with "locked"; what matters is that a later open works.
			errs = nil
		}
		for i, err := range errs {
			if err != nil {
				t.Errorf("Open %d: %v", i, err)
			}
		}
		s := mustOpen(t, dsn)
		got, err := s.SchemaVersion(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if want := 4; got != want {
			t.Errorf("schema version = %d, want %d", got, want)
		}
		// Reopening applies nothing twice and keeps the rows.
		mustWrite(t, s, feedback.Batch{Snoozes: []feedback.Snooze{{ID: "a", Card: "a", Topic: "t", Reason: "r", From: t0, Until: t0.Add(time.Hour)}}})
		again := mustOpen(t, dsn)
		snoozed, err := again.Snoozed(context.Background(), []string{"a"}, t0)
		if err != nil {
			t.Fatal(err)
		}
		if !snoozed["a"] {
			t.Errorf("after reopening, the snooze is gone")
		}
	})
}

func TestSnoozes(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		s := mustOpen(t, dsn)
		snooze := func(id string, until time.Time) feedback.Snooze {
			return feedback.Snooze{ID: id, Card: id, Service: "svc", Topic: "topic-a", Reason: "already-reviewed", From: t0, Until: until}
		}
		mustWrite(t, s, feedback.Batch{Snoozes: []feedback.Snooze{snooze("x", t0.Add(90*24*time.Hour)), snooze("y", t0.Add(time.Hour))}})
		// A later snooze of the same id replaces the earlier one.
		mustWrite(t, s, feedback.Batch{Snoozes: []feedback.Snooze{snooze("y", t0.Add(2*time.Hour))}})
		tests := []struct {
			name string
			ids  []string
			now  time.Time
			want map[string]bool
		}{
			{"both in force", []string{"x", "y", "z"}, t0.Add(time.Minute), map[string]bool{"x": true, "y": true}},
			{"y extended past its first end", []string{"x", "y"}, t0.Add(90 * time.Minute), map[string]bool{"x": true, "y": true}},
			{"y over at its end", []string{"x", "y"}, t0.Add(2 * time.Hour), map[string]bool{"x": true}},
			{"all over", []string{"x", "y"}, t0.Add(91 * 24 * time.Hour), map[string]bool{}},
			{"no ids", nil, t0, map[string]bool{}},
		}
		for _, tt := range tests {
			got, err := s.Snoozed(context.Background(), tt.ids, tt.now)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s: Snoozed (-want +got):\n%s", tt.name, diff)
			}
		}
	})
}

// TestSnoozesInForce: the listing a Recorder loads and refreshes from:
// only snoozes in force, only those written since the time given, at most
// the limit.
func TestSnoozesInForce(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		s := mustOpen(t, dsn)
		snooze := func(id string, until time.Time) feedback.Snooze {
			return feedback.Snooze{ID: id, Card: id, Topic: "t", Reason: "r", From: t0, Until: until}
		}
		mustWrite(t, s, feedback.Batch{Snoozes: []feedback.Snooze{snooze("old", t0.Add(time.Hour)), snooze("over", t0)}})
		// written_at is in milliseconds: the second write must be later.
		time.Sleep(5 * time.Millisecond)
		between := time.Now()
		time.Sleep(5 * time.Millisecond)
		mustWrite(t, s, feedback.Batch{Snoozes: []feedback.Snooze{snooze("new", t0.Add(2*time.Hour))}})
		tests := []struct {
			name  string
			since time.Time
			limit int
			want  []string
		}{
			{"all in force", time.Time{}, 10, []string{"new", "old"}},
			{"written since", between, 10, []string{"new"}},
			{"limited", time.Time{}, 1, nil}, // one of the two: checked by count
		}
		for _, tt := range tests {
			got, err := s.SnoozesInForce(context.Background(), t0, tt.since, tt.limit)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			var ids []string
			for _, z := range got {
				ids = append(ids, z.ID)
				if want := map[string]time.Time{"old": t0.Add(time.Hour), "new": t0.Add(2 * time.Hour)}[z.ID]; !z.Until.Equal(want) {
					t.Errorf("%s: %s until %v, want %v", tt.name, z.ID, z.Until, want)
				}
			}
			slices.Sort(ids)
			if tt.want == nil {
				if len(ids) != tt.limit {
					t.Errorf("%s: got %v, want %d of them", tt.name, ids, tt.limit)
				}
				continue
			}
			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("%s: ids (-want +got):\n%s", tt.name, diff)
			}
		}
	})
}

func TestPurge(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		s := mustOpen(t, dsn)
		old, recent := t0.Add(-401*24*time.Hour), t0.Add(-24*time.Hour)
		mustWrite(t, s, feedback.Batch{
			Cards: []feedback.Card{
				{UUID: "old", Topic: "a", KnowledgeVersion: "1", IssuedAt: old},
				{UUID: "new", Topic: "a", KnowledgeVersion: "1", IssuedAt: recent},
			},
			Outcomes: []feedback.Outcome{
				{Card: "old", Topic: "a", Outcome: "overridden", At: old, ReceivedAt: old},
				{Card: "new", Topic: "a", Outcome: "overridden", At: recent, ReceivedAt: recent},
			},
			Snoozes: []feedback.Snooze{
				{ID: "expired", Card: "old", Topic: "a", From: old, Until: t0.Add(-time.Second)},
				{ID: "live", Card: "new", Topic: "a", From: recent, Until: t0.Add(time.Hour)},
			},
		})
		if err := s.Purge(context.Background(), t0.Add(-400*24*time.Hour), t0); err != nil {
			t.Fatal(err)
		}
		r, err := s.Report(context.Background(), time.Unix(0, 0), t0)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Topics) != 1 {
			t.Fatalf("report has %d topics, want 1: %+v", len(r.Topics), r.Topics)
		}
		got := r.Topics[0]
		if got.Issued != 1 || got.Feedback != 1 || got.SnoozesInForce != 1 {
			t.Errorf("after purging, issued %d, feedback %d, snoozes %d; want 1 each (the recent ones)",
				got.Issued, got.Feedback, got.SnoozesInForce)
		}
	})
}

func TestSeenTokenAcrossReplicas(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		a, b := mustOpen(t, dsn), mustOpen(t, dsn)
		until := time.Now().Add(5 * time.Minute)
		steps := []struct {
			store      *feedback.SQL
			iss, jti   string
			wantReplay bool
		}{
			{a, "https://ehr.example.org", "j1", false},
			{b, "https://ehr.example.org", "j1", true}, // the other replica
			{a, "https://ehr.example.org", "j1", true},
			{b, "https://ehr.example.org", "j2", false},
			{a, "https://other.example.org", "j1", false}, // same jti, other issuer
		}
		for i, st := range steps {
			got, err := st.store.SeenToken(context.Background(), st.iss, st.jti, until)
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if got != st.wantReplay {
				t.Errorf("step %d: SeenToken(%s, %s) replayed = %v, want %v", i, st.iss, st.jti, got, st.wantReplay)
			}
		}
	})
}

// TestNothingIdentifyingAtRest writes what a service writes about a named
// patient, then reads the SQLite file's bytes: neither the patient id, the
// FHIR server, nor the codes the fingerprint is made of may appear.
func TestNothingIdentifyingAtRest(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cramp-cds.db")
	s := mustOpen(t, "sqlite:"+path)
	key, err := feedback.NewKey([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	const patientID, server, code = "pat-MRN-77123", "https://fhir.hospital.example/r4", "rxnorm-5487"
	mustWrite(t, s, feedback.Batch{
		Cards: []feedback.Card{{UUID: "c1", Service: "svc", Topic: "cramp-medication", KnowledgeVersion: "1.0.0",
			Fingerprint: key.Fingerprint("hydrochlorothiazide", code), Patient: key.Patient("https://ehr.example", server, patientID), IssuedAt: t0}},
		Outcomes: []feedback.Outcome{{Card: "c1", Topic: "cramp-medication", Outcome: "overridden", ReasonCode: "already-reviewed", At: t0, ReceivedAt: t0}},
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	all := readAll(t, path)
	if !strings.Contains(string(all), "cramp-medication") {
		t.Fatalf("the database file does not hold the topic: the test reads the wrong file")
	}
	for _, secret := range []string{patientID, "MRN", server, "fhir.hospital", code, "hydrochlorothiazide"} {
		if strings.Contains(string(all), secret) {
			t.Errorf("the database file holds %q", secret)
		}
	}
}

// TestWriteAnyNumberOfCards: a batch is stored through prepared INSERTs of
// a few fixed sizes, so each size around and between them must store every
// card exactly once.
func TestWriteAnyNumberOfCards(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		s := mustOpen(t, dsn)
		sizes := []int{1, 3, 4, 5, 15, 16, 17, 63, 64, 65, 255, 256, 257, 300, 1000}
		for _, n := range sizes {
			var b feedback.Batch
			for i := range n {
				b.Cards = append(b.Cards, feedback.Card{UUID: fmt.Sprintf("n%d-%d", n, i), Service: "svc",
					Topic: fmt.Sprintf("size-%d", n), KnowledgeVersion: "1", Fingerprint: "f",
					Patient: fmt.Sprintf("p%d", i), IssuedAt: t0})
			}
			mustWrite(t, s, b)
		}
		r, err := s.Report(context.Background(), t0.Add(-time.Hour), t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, topic := range r.Topics {
			got[topic.Topic] = topic.Issued
			if topic.Patients != topic.Issued {
				t.Errorf("%s: %d patients, want %d (one card each)", topic.Topic, topic.Patients, topic.Issued)
			}
		}
		for _, n := range sizes {
			if topic := fmt.Sprintf("size-%d", n); got[topic] != n {
				t.Errorf("a batch of %d cards stored %d", n, got[topic])
			}
		}
	})
}
