package legcramps_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
)

// clock is a settable clock for the recorder's reads.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) get() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// newMemory is a Memory over a fresh SQLite store, its reads as of clk.
func newMemory(t *testing.T, clk *clock) *kit.Memory {
	t.Helper()
	store, err := feedback.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	rec, err := feedback.NewRecorder(feedback.Options{Store: store, Now: clk.get})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rec.Close(context.Background()) })
	key, err := feedback.NewKey([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return &kit.Memory{Recorder: rec, Key: key, Snooze: 90 * 24 * time.Hour, SnoozeNotRelevant: 365 * 24 * time.Hour}
}

func postFeedback(t *testing.T, srv *cdshooks.Server, body string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/cds-services/"+legcramps.PatientViewID+"/feedback", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("feedback: %d %s", w.Code, w.Body)
	}
}

// TestSnoozePolicy: which override reasons snooze a card, and for how long.
func TestSnoozePolicy(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	tests := []struct {
		name   string
		reason string // the overrideReason member, "" for none
		snooze time.Duration
	}{
		{"already reviewed", `{"reason":{"system":"https://cramp-cds.org/override-reason","code":"already-reviewed"}}`, 90 * day},
		{"not relevant", `{"reason":{"system":"https://cramp-cds.org/override-reason","code":"not-relevant"}}`, 365 * day},
		// The sandbox sends a reason's code without its system.
		{"already reviewed, no system", `{"reason":{"code":"already-reviewed"}}`, 90 * day},
		{"benefit outweighs the risk", `{"reason":{"system":"https://cramp-cds.org/override-reason","code":"benefit-outweighs-risk"}}`, 0},
		{"another system's code", `{"reason":{"system":"https://example.org/reasons","code":"already-reviewed"}}`, 0},
		{"a comment only", `{"userComment":"seen"}`, 0},
		{"no reason", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := &clock{now: testNow}
			m := newMemory(t, clk)
			srv := newServer(t, serverOptions{memory: m})
			cards := patientViewCards(t, srv, lcRequest(t, everyCardPrefetch()))
			card := cards[0].UUID
			item := `{"card":"` + card + `","outcome":"overridden","outcomeTimestamp":"2025-06-01T12:00:00Z"`
			if tt.reason != "" {
				item += `,"overrideReason":` + tt.reason
			}
			postFeedback(t, srv, `{"feedback":[`+item+`}]}`)
			if err := m.Recorder.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, at := range []struct {
				offset time.Duration
				want   bool
			}{{time.Minute, tt.snooze > 0}, {tt.snooze - time.Hour, tt.snooze > 0}, {tt.snooze + time.Hour, false}} {
				if tt.snooze == 0 && at.offset <= 0 {
					continue
				}
				clk.set(testNow.Add(at.offset))
				if got := m.Recorder.Snoozed(context.Background(), []string{card})[card]; got != at.want {
					t.Errorf("snoozed %v after the override = %v, want %v", at.offset, got, at.want)
				}
			}
		})
	}
}

// TestCardUUIDsWithAMemory: with a memory the same card for the same patient
// keeps its uuid across hookInstances, and differs for another patient.
func TestCardUUIDsWithAMemory(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{memory: newMemory(t, &clock{now: testNow})})
	first := patientViewCards(t, srv, lcRequest(t, everyCardPrefetch()))
	body := strings.Replace(string(lcRequest(t, everyCardPrefetch())), lcHookInstance, "0f7b5a6e-7c1e-4a57-9d44-2a1d3c9e8b10", 1)
	second := patientViewCards(t, srv, []byte(body))
	if len(first) == 0 || len(first) != len(second) {
		t.Fatalf("%d then %d cards", len(first), len(second))
	}
	for i := range first {
		if first[i].UUID != second[i].UUID {
			t.Errorf("card %d (%s): uuid %s then %s under a new hookInstance, want the same", i, first[i].Summary, first[i].UUID, second[i].UUID)
		}
		if topic, ok := legcrampsTopics(t).TopicOf(first[i].UUID); !ok || topic != first[i].Source.Topic.Code {
			t.Errorf("card %d: TopicOfCard = %q, %v; want %q", i, topic, ok, first[i].Source.Topic.Code)
		}
	}
	without := patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, everyCardPrefetch()))
	if without[0].UUID == first[0].UUID {
		t.Errorf("the uuid with a memory equals the one from the hookInstance")
	}
}
