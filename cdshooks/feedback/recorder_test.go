package feedback_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
)

// faultyStore is a Store that can hang or fail, wrapping a real one.
type faultyStore struct {
	feedback.Store
	mu     sync.Mutex
	hang   chan struct{} // when set, calls wait on it (or their context)
	broken bool
	reads  int // Snoozed calls
	loads  int // SnoozesInForce calls
	writes int // Write calls begun
}

func (s *faultyStore) fault(ctx context.Context) error {
	s.mu.Lock()
	hang, broken := s.hang, s.broken
	s.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if broken {
		return errors.New("connection refused")
	}
	return nil
}

func (s *faultyStore) Write(ctx context.Context, b feedback.Batch) error {
	s.mu.Lock()
	s.writes++
	s.mu.Unlock()
	if err := s.fault(ctx); err != nil {
		return err
	}
	return s.Store.Write(ctx, b)
}

func (s *faultyStore) Snoozed(ctx context.Context, ids []string, now time.Time) (map[string]bool, error) {
	s.mu.Lock()
	s.reads++
	s.mu.Unlock()
	if err := s.fault(ctx); err != nil {
		return nil, err
	}
	return s.Store.Snoozed(ctx, ids, now)
}

func (s *faultyStore) SnoozesInForce(ctx context.Context, now, since time.Time, limit int) ([]feedback.SnoozeEnd, error) {
	s.mu.Lock()
	s.loads++
	s.mu.Unlock()
	if err := s.fault(ctx); err != nil {
		return nil, err
	}
	return s.Store.SnoozesInForce(ctx, now, since, limit)
}

func (s *faultyStore) counts() (reads, loads, writes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads, s.loads, s.writes
}

func (s *faultyStore) set(f func(*faultyStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// recorderHarness is a Recorder over a faultyStore over SQLite, with its
// log and metrics readable.
type recorderHarness struct {
	rec    *feedback.Recorder
	store  *faultyStore
	logs   *fixtures.LogBuffer
	reader *sdkmetric.ManualReader
}

func newRecorder(t *testing.T, opts feedback.Options) *recorderHarness {
	t.Helper()
	return newRecorderOver(t, mustOpen(t, "sqlite:"+t.TempDir()+"/r.db"), opts)
}

// newRecorderOver is newRecorder over a given store. Unless opts say
// otherwise the background refresh waits an hour, so that the tests decide
// when the store is asked.
func newRecorderOver(t *testing.T, store feedback.Store, opts feedback.Options) *recorderHarness {
	t.Helper()
	if opts.RefreshEvery == 0 {
		opts.RefreshEvery = time.Hour
	}
	h := &recorderHarness{
		store:  &faultyStore{Store: store},
		logs:   &fixtures.LogBuffer{},
		reader: sdkmetric.NewManualReader(),
	}
	opts.Store = h.store
	opts.Logger = slog.New(slog.NewJSONHandler(h.logs, nil))
	opts.Meter = sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader)).Meter("test")
	rec, err := feedback.NewRecorder(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.rec = rec
	t.Cleanup(func() {
		h.store.set(func(s *faultyStore) {
			if s.hang != nil {
				close(s.hang)
				s.hang = nil
			}
		})
		_ = rec.Close(context.Background())
	})
	return h
}

// failures returns MetricStoreFailures by op.
func (h *recorderHarness) failures(t *testing.T) map[string]int64 {
	return h.counter(t, feedback.MetricStoreFailures, "op")
}

// counter returns the counter name by the values of its attribute attr.
func (h *recorderHarness) counter(t *testing.T, name, attr string) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				v, _ := dp.Attributes.Value(attribute.Key(attr))
				out[v.AsString()] += dp.Value
			}
		}
	}
	return out
}

// check asserts how often lookups asked the store, how often op was
// counted in MetricStoreFailures, and that logLine was logged once.
func (h *recorderHarness) check(t *testing.T, wantReads int, op string, wantFailures int64, logLine string) {
	t.Helper()
	if reads, _, _ := h.store.counts(); reads != wantReads {
		t.Errorf("lookups asked the store %d times, want %d", reads, wantReads)
	}
	if got := h.failures(t)[op]; got != wantFailures {
		t.Errorf("%s failures counted = %d, want %d", op, got, wantFailures)
	}
	if got := strings.Count(h.logs.String(), logLine); got != 1 {
		t.Errorf("%d lines %q, want 1:\n%s", got, logLine, h.logs)
	}
}

func snoozeOf(id string) feedback.Snooze {
	return feedback.Snooze{ID: id, Card: id, Topic: "t", Reason: "already-reviewed", From: time.Now(), Until: time.Now().Add(time.Hour)}
}

func TestRecorderWritesAndReads(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, feedback.Options{})
	h.rec.Issue([]feedback.Card{{UUID: "c1", Topic: "t", KnowledgeVersion: "1", IssuedAt: time.Now()}})
	h.rec.Record([]feedback.Outcome{{Card: "c1", Topic: "t", Outcome: "overridden", At: time.Now(), ReceivedAt: time.Now()}},
		[]feedback.Snooze{snoozeOf("c1")})
	if err := h.rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.rec.Snoozed(context.Background(), []string{"c1", "c2"}); !got["c1"] || got["c2"] {
		t.Errorf("Snoozed = %v, want c1 only", got)
	}
	if got := h.failures(t); len(got) != 0 {
		t.Errorf("failures = %v, want none", got)
	}
}

// TestRecorderServesSnoozesFromMemory: once loaded, a lookup never asks
// the store, and a store that hangs changes nothing: the snoozes in memory
// are still honoured (none is ever lifted early).
func TestRecorderServesSnoozesFromMemory(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, feedback.Options{})
	h.rec.Record(nil, []feedback.Snooze{snoozeOf("c1")})
	if err := h.rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.store.set(func(s *faultyStore) { s.hang = make(chan struct{}) })
	got := h.rec.Snoozed(context.Background(), []string{"c1", "c2"})
	if want := map[string]bool{"c1": true}; !maps.Equal(got, want) {
		t.Errorf("Snoozed = %v, want %v", got, want)
	}
	if reads, _, _ := h.store.counts(); reads != 0 {
		t.Errorf("store asked %d times, want 0", reads)
	}
}

// TestRecorderHonoursLocalSnoozeAtOnce: a snooze recorded here is honoured
// before its write lands, here while the writer is stuck on the store.
func TestRecorderHonoursLocalSnoozeAtOnce(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, feedback.Options{})
	h.store.set(func(s *faultyStore) { s.hang = make(chan struct{}) })
	h.rec.Record(nil, []feedback.Snooze{snoozeOf("c1")})
	if got := h.rec.Snoozed(context.Background(), []string{"c1"}); !got["c1"] {
		t.Errorf("Snoozed right after Record = %v, want c1", got)
	}
	if n, err := h.store.Store.Snoozed(context.Background(), []string{"c1"}, time.Now()); err != nil || n["c1"] {
		t.Errorf("the store already had the snooze (%v, %v): the test proves nothing", n, err)
	}
}

// TestRecorderNeverHonoursExpiredSnoozes: neither a snooze recorded here
// nor one loaded from the store is honoured once its end has passed,
// though no refresh has run since.
func TestRecorderNeverHonoursExpiredSnoozes(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	store := mustOpen(t, "sqlite:"+t.TempDir()+"/r.db")
	mustWrite(t, store, feedback.Batch{Snoozes: []feedback.Snooze{
		{ID: "stored", Card: "stored", Topic: "t", Reason: "r", From: t0, Until: t0.Add(time.Hour)},
	}})
	h := newRecorderOver(t, store, feedback.Options{Now: clock})
	h.rec.Record(nil, []feedback.Snooze{{ID: "local", Card: "local", Topic: "t", Reason: "r", From: t0, Until: t0.Add(2 * time.Hour)}})
	for _, tt := range []struct {
		at   time.Duration
		want map[string]bool
	}{
		{0, map[string]bool{"stored": true, "local": true}},
		{time.Hour, map[string]bool{"local": true}},
		{2 * time.Hour, map[string]bool{}},
	} {
		mu.Lock()
		now = t0.Add(tt.at)
		mu.Unlock()
		if got := h.rec.Snoozed(context.Background(), []string{"stored", "local"}); !maps.Equal(got, tt.want) {
			t.Errorf("at t0+%v: Snoozed = %v, want %v", tt.at, got, tt.want)
		}
	}
}

// TestRecorderCacheFallsBackToStore: with more snoozes in force than memory
// holds, lookups of the others ask the store, which still knows them; the
// moment is counted and logged once.
func TestRecorderCacheFallsBackToStore(t *testing.T) {
	t.Parallel()
	store := mustOpen(t, "sqlite:"+t.TempDir()+"/r.db")
	mustWrite(t, store, feedback.Batch{Snoozes: []feedback.Snooze{snoozeOf("a"), snoozeOf("b"), snoozeOf("c")}})
	h := newRecorderOver(t, store, feedback.Options{SnoozeCacheSize: 2})
	h.rec.Record(nil, []feedback.Snooze{snoozeOf("d")})
	if err := h.rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"a": true, "b": true, "c": true, "d": true}
	if got := h.rec.Snoozed(context.Background(), []string{"a", "b", "c", "d", "e"}); !maps.Equal(got, want) {
		t.Errorf("Snoozed = %v, want %v", got, want)
	}
	// Once: the ids memory lacks.
	h.check(t, 1, "snooze_cache_full", 1, "more snoozes in force than memory holds")
}

// TestRecorderFailsOpen: when memory cannot tell (here: more snoozes than
// it holds), a store that hangs costs a lookup at most ReadTimeout, then
// nothing while it backs off; each is counted, and logged once a minute.
func TestRecorderFailsOpen(t *testing.T) {
	t.Parallel()
	const readTimeout = 50 * time.Millisecond
	h := newRecorder(t, feedback.Options{ReadTimeout: readTimeout, Backoff: time.Hour, SnoozeCacheSize: 1})
	h.rec.Record(nil, []feedback.Snooze{snoozeOf("c0"), snoozeOf("c1")}) // c1 does not fit
	if err := h.rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.store.set(func(s *faultyStore) { s.hang = make(chan struct{}) })

	start := time.Now()
	got := h.rec.Snoozed(context.Background(), []string{"c1"})
	if elapsed := time.Since(start); elapsed > readTimeout+time.Second {
		t.Errorf("a hanging store held the read %v, want about %v", elapsed, readTimeout)
	}
	if len(got) != 0 {
		t.Errorf("Snoozed from a hanging store = %v, want nothing snoozed", got)
	}
	// Backing off: the next reads do not even ask the store (counted
	// below, not timed: a busy machine makes any time bound flaky).
	for range 5 {
		h.rec.Snoozed(context.Background(), []string{"c1"})
	}
	h.check(t, 1, "read", 6, "store unavailable") // logged once a minute
}

// TestRecorderRecovers: a refresh that fails is counted; the next one that
// works brings in what was written meanwhile, and the recovery is logged.
func TestRecorderRecovers(t *testing.T) {
	t.Parallel()
	store := mustOpen(t, "sqlite:"+t.TempDir()+"/r.db")
	h := newRecorderOver(t, store, feedback.Options{RefreshEvery: 10 * time.Millisecond})
	h.store.set(func(s *faultyStore) { s.broken = true })
	waitFor(t, "a failed refresh", func() bool { return h.failures(t)["refresh"] > 0 })
	// Another replica records a snooze while this one cannot see the store.
	mustWrite(t, store, feedback.Batch{Snoozes: []feedback.Snooze{snoozeOf("c1")}})
	if got := h.rec.Snoozed(context.Background(), []string{"c1"}); len(got) != 0 {
		t.Errorf("Snoozed while the store is broken = %v, want nothing", got)
	}
	h.store.set(func(s *faultyStore) { s.broken = false })
	waitFor(t, "c1 snoozed after recovery", func() bool {
		return h.rec.Snoozed(context.Background(), []string{"c1"})["c1"]
	})
	if !strings.Contains(h.logs.String(), "store available again") {
		t.Errorf("no recovery line in the log:\n%s", h.logs)
	}
}

// waitFor polls cond for up to 10 s (a bound, not a measurement).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
	}
}

// TestRecorderQueueIsBounded: with the writer stuck, writes beyond the queue
// are dropped and counted, and Issue never blocks.
func TestRecorderQueueIsBounded(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, feedback.Options{QueueSize: 4})
	h.store.set(func(s *faultyStore) { s.hang = make(chan struct{}) })
	// The writer takes a first batch and hangs writing it.
	h.rec.Issue([]feedback.Card{{UUID: "first", Topic: "t", IssuedAt: time.Now()}})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		h.store.mu.Lock()
		writes := h.store.writes
		h.store.mu.Unlock()
		if writes > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the writer never began writing")
		}
	}
	start := time.Now()
	for range 20 {
		h.rec.Issue([]feedback.Card{{UUID: "c", Topic: "t", IssuedAt: time.Now()}})
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("Issue blocked for %v", elapsed)
	}
	// 4 wait in the queue; the other 16 are dropped and counted.
	if got, want := h.failures(t)["enqueue"], int64(16); got != want {
		t.Errorf("enqueue failures = %d, want %d", got, want)
	}
}

// TestRecorderGathersWrites: the writes of calls made within WriteDelay of
// each other go to the store in one Write, which is what keeps the store's
// cost per call low; Flush and Close do not wait for the delay.
func TestRecorderGathersWrites(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, feedback.Options{WriteDelay: 300 * time.Millisecond})
	for i := range 5 {
		h.rec.Issue([]feedback.Card{{UUID: fmt.Sprint("gathered-", i), Topic: "t", IssuedAt: time.Now()}})
	}
	waitFor(t, "the first write", func() bool { _, _, writes := h.store.counts(); return writes > 0 })
	if err := h.rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, writes := h.store.counts(); writes != 1 {
		t.Errorf("5 calls' cards took %d writes, want 1", writes)
	}

	h = newRecorder(t, feedback.Options{WriteDelay: time.Hour})
	h.rec.Issue([]feedback.Card{{UUID: "flushed", Topic: "t", IssuedAt: time.Now()}})
	// An hour is cut to the longest delay allowed, a second: Flush and
	// Close must not wait for it.
	ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
	defer cancel()
	if err := h.rec.Flush(ctx); err != nil {
		t.Fatalf("Flush waited for the write delay: %v", err)
	}
	if _, _, writes := h.store.counts(); writes != 1 {
		t.Errorf("after Flush %d writes, want 1", writes)
	}
	h.rec.Issue([]feedback.Card{{UUID: "closed", Topic: "t", IssuedAt: time.Now()}})
	if err := h.rec.Close(ctx); err != nil {
		t.Fatalf("Close waited for the write delay: %v", err)
	}
	if _, _, writes := h.store.counts(); writes != 2 {
		t.Errorf("after Close %d writes, want 2: the queued card was not written", writes)
	}
}

// TestRecorderWritesSnoozesAtOnce: feedback does not wait for the write
// delay, so a snooze memory has no room for is in the store (which answers
// for it) moments after it was recorded, not a delay later.
func TestRecorderWritesSnoozesAtOnce(t *testing.T) {
	t.Parallel()
	// An hour is cut to the longest delay allowed, a second: the snooze
	// must be answered well before that.
	h := newRecorder(t, feedback.Options{WriteDelay: time.Hour, SnoozeCacheSize: 1})
	h.rec.Record(nil, []feedback.Snooze{snoozeOf("fits")})
	start := time.Now()
	h.rec.Record(nil, []feedback.Snooze{snoozeOf("beyond-memory")})
	waitFor(t, "the snooze beyond memory to be answered", func() bool {
		return h.rec.Snoozed(context.Background(), []string{"beyond-memory"})["beyond-memory"]
	})
	if waited := time.Since(start); waited >= 800*time.Millisecond {
		t.Errorf("the snooze reached the store after %v: it waited for the write delay", waited)
	}
}

func TestNilRecorderRemembersNothing(t *testing.T) {
	t.Parallel()
	rec, err := feedback.NewRecorder(feedback.Options{})
	if err != nil || rec != nil {
		t.Fatalf("NewRecorder without a store = %v, %v; want nil, nil", rec, err)
	}
	rec.Issue([]feedback.Card{{UUID: "c"}})
	rec.Record(nil, []feedback.Snooze{snoozeOf("c")})
	if got := rec.Snoozed(context.Background(), []string{"c"}); len(got) != 0 {
		t.Errorf("Snoozed = %v, want nothing", got)
	}
	if _, err := rec.SeenToken(context.Background(), "iss", "jti", time.Now()); err == nil {
		t.Errorf("SeenToken without a store did not say it cannot tell")
	}
	if err := errors.Join(rec.Flush(context.Background()), rec.Close(context.Background())); err != nil {
		t.Errorf("Flush, Close: %v", err)
	}
}

// TestSnoozeReachesOtherReplicas: a snooze recorded through one Recorder
// is honoured by a second one on the same database after its next refresh,
// with nothing asked of the store on the lookups themselves.
func TestSnoozeReachesOtherReplicas(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, dsn string) {
		const every = 50 * time.Millisecond
		podA := newRecorderOver(t, mustOpen(t, dsn), feedback.Options{RefreshEvery: every})
		podB := newRecorderOver(t, mustOpen(t, dsn), feedback.Options{RefreshEvery: every})
		if got := podB.rec.Snoozed(context.Background(), []string{"c1"}); len(got) != 0 {
			t.Fatalf("pod B before: Snoozed = %v, want nothing", got)
		}
		podA.rec.Record(nil, []feedback.Snooze{snoozeOf("c1")})
		if err := podA.rec.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, err := podA.store.Store.Snoozed(context.Background(), []string{"c1"}, time.Now()); err != nil || !got["c1"] {
			t.Fatalf("pod A's write did not land (%v, %v):\n%s", got, err, podA.logs)
		}
		_, loadsBefore, _ := podB.store.counts()
		waitFor(t, "pod B to honour pod A's snooze", func() bool {
			return podB.rec.Snoozed(context.Background(), []string{"c1"})["c1"]
		})
		// Seen by a refresh, not a lookup: the refresh interval bounds it.
		if reads, loads, _ := podB.store.counts(); reads != 0 || loads <= loadsBefore {
			t.Errorf("pod B asked the store %d times on lookups and refreshed %d times, want 0 and at least once", reads, loads-loadsBefore)
		}
	})
}
