package feedback_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
	"github.com/cramp-cds/cramp-cds/internal/fixtures"
)

// faultyStore is a Store that can hang or fail, wrapping a real one.
type faultyStore struct {
	feedback.Store
	mu     sync.Mutex
	hang   chan struct{} // when set, calls wait on it (or their context)
	broken bool
	reads  int
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
	h := &recorderHarness{
		store:  &faultyStore{Store: mustOpen(t, "sqlite:"+t.TempDir()+"/r.db")},
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
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != feedback.MetricStoreFailures {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				op, _ := dp.Attributes.Value("op")
				out[op.AsString()] += dp.Value
			}
		}
	}
	return out
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

// TestRecorderFailsOpen: a store that hangs costs a read at most
// ReadTimeout, then nothing while it backs off; a store that errs answers
// "nothing snoozed" at once. Each is counted, and logged once a minute.
func TestRecorderFailsOpen(t *testing.T) {
	t.Parallel()
	const readTimeout = 50 * time.Millisecond
	h := newRecorder(t, feedback.Options{ReadTimeout: readTimeout, Backoff: time.Hour})
	h.rec.Record(nil, []feedback.Snooze{snoozeOf("c1")})
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
	// Backing off: the next reads do not even ask the store.
	for range 5 {
		start = time.Now()
		h.rec.Snoozed(context.Background(), []string{"c1"})
		if elapsed := time.Since(start); elapsed > readTimeout/2 {
			t.Errorf("read while backing off took %v: it asked the store", elapsed)
		}
	}
	h.store.mu.Lock()
	reads := h.store.reads
	h.store.mu.Unlock()
	if reads != 1 {
		t.Errorf("store asked %d times, want 1", reads)
	}
	if got, want := h.failures(t)["read"], int64(6); got != want {
		t.Errorf("read failures counted = %d, want %d", got, want)
	}
	if got := strings.Count(h.logs.String(), "store unavailable"); got != 1 {
		t.Errorf("%d store-unavailable lines, want 1 (once a minute):\n%s", got, h.logs)
	}
}

func TestRecorderRecovers(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, feedback.Options{Backoff: time.Millisecond})
	h.rec.Record(nil, []feedback.Snooze{snoozeOf("c1")})
	if err := h.rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.store.set(func(s *faultyStore) { s.broken = true })
	if got := h.rec.Snoozed(context.Background(), []string{"c1"}); len(got) != 0 {
		t.Errorf("Snoozed from a broken store = %v, want nothing", got)
	}
	h.store.set(func(s *faultyStore) { s.broken = false })
	time.Sleep(5 * time.Millisecond) // past the backoff
	if got := h.rec.Snoozed(context.Background(), []string{"c1"}); !got["c1"] {
		t.Errorf("Snoozed after recovery = %v, want c1", got)
	}
	if !strings.Contains(h.logs.String(), "store available again") {
		t.Errorf("no recovery line in the log:\n%s", h.logs)
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
