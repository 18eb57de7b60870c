package feedback_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
	"github.com/cramp-cds/cramp-cds/internal/fixtures"
)

// BenchmarkRequestPath measures what the store adds to one service call,
// offered at a fixed 200 calls per second (open loop: a call starts every
// 5 ms whether or not the previous one finished, as an EHR's traffic does):
// the snooze lookup of the uuids one response carries (8), queueing the 6
// cards issued, and with PostgreSQL the shared check of the call's token.
// The background writer stores the cards meanwhile, so reads compete with
// writes as in the server. One iteration is one second of calls; run it with
// -benchtime 10x or more. It reports the added latency's p50, p99 and max.
func BenchmarkRequestPath(b *testing.B) {
	for _, backend := range []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		// The same calls without a store: the pacing and scheduling noise of
		// the machine, to read the others against.
		{"none", func(*testing.B) string { return feedback.KindNone }},
		{"sqlite", func(b *testing.B) string { return "sqlite:" + filepath.Join(b.TempDir(), "bench.db") }},
		{"postgres", func(b *testing.B) string { return fixtures.Postgres(b) }},
	} {
		b.Run(backend.name, func(b *testing.B) {
			var rec *feedback.Recorder // nil: no store
			shared := false
			if dsn := backend.dsn(b); dsn != feedback.KindNone {
				store, err := feedback.Open(context.Background(), dsn)
				if err != nil {
					b.Fatal(err)
				}
				defer store.Close()
				if rec, err = feedback.NewRecorder(feedback.Options{Store: store}); err != nil {
					b.Fatal(err)
				}
				defer rec.Close(context.Background())
				shared = store.Kind() == feedback.KindPostgres
			}
			key, err := feedback.NewKey([]byte("bench-key-0123456789abcdef0123456789"))
			if err != nil {
				b.Fatal(err)
			}
			// Some snoozes in force, as after a while of feedback.
			var snoozes []feedback.Snooze
			for i := range 1000 {
				id := fmt.Sprintf("snoozed-%d", i)
				snoozes = append(snoozes, feedback.Snooze{ID: id, Card: id, Topic: "t", Reason: "already-reviewed",
					From: time.Now(), Until: time.Now().Add(24 * time.Hour)})
			}
			rec.Record(nil, snoozes)
			if err := rec.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}

			const rate = 200
			var mu sync.Mutex
			var lat []time.Duration
			call := func(n int) {
				start := time.Now()
				patient := key.Patient("https://fhir.example.org/r4", fmt.Sprint("p", n%500))
				ids := make([]string, 8)
				cards := make([]feedback.Card, 6)
				for i := range ids {
					ids[i] = key.Fingerprint(patient, fmt.Sprint(i))
				}
				for i := range cards {
					cards[i] = feedback.Card{UUID: ids[i], Service: "svc", Topic: "cramp-medication", KnowledgeVersion: "1",
						Fingerprint: ids[i], Patient: patient, IssuedAt: start}
				}
				if shared {
					_, _ = rec.SeenToken(context.Background(), "https://ehr.example.org", fmt.Sprint("jti-", n, "-", start.UnixNano()), start.Add(5*time.Minute))
				}
				rec.Snoozed(context.Background(), ids)
				rec.Issue(cards)
				d := time.Since(start)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
			b.ResetTimer()
			var wg sync.WaitGroup
			tick := time.NewTicker(time.Second / rate)
			n := 0
			for range b.N * rate {
				<-tick.C
				n++
				wg.Go(func() { call(n) })
			}
			tick.Stop()
			wg.Wait()
			b.StopTimer()
			slices.Sort(lat)
			at := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(at(0.50), "p50-ms")
			b.ReportMetric(at(0.99), "p99-ms")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
			b.ReportMetric(0, "ns/op") // one op is a second of paced calls: its time says nothing
		})
	}
}
