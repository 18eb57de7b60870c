package legcramps_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
	"github.com/cramp-cds/cramp-cds/tools/testkit/pgtest"
)

// BenchmarkWholePathWithStore is the typical patient-view call's whole path
// without a store and with each store: what remembering costs a call in the
// service itself (pseudonyms, card uuids, the snooze lookup in memory, the
// queueing of the issued cards) and, in cpu-ms/op, the process's CPU per
// call including the background writer (flushed before the count). The
// PostgreSQL row leaves out the shared token check (BenchmarkRequestPath in
// cdshooks/feedback has it) and PostgreSQL's own CPU. Run the rows
// interleaved (-count) and compare them with each other, not across runs.
func BenchmarkWholePathWithStore(b *testing.B) {
	p := fixtures.Generate(1, fixtures.Typical, benchNow)
	body := p.Request(fixtures.RequestOptions{})
	for _, backend := range []struct {
		name string
		dsn  func(testing.TB) string
	}{
		{"none", nil},
		{"sqlite", func(tb testing.TB) string { return "sqlite:" + filepath.Join(tb.TempDir(), "bench.db") }},
		{"postgres", pgtest.Postgres},
	} {
		b.Run(backend.name, func(b *testing.B) {
			opts := serverOptions{now: benchNow, config: cdshooks.Config{PublicURLs: []string{testPublicURL}, MaxBody: benchMaxBody}}
			if backend.dsn != nil {
				opts.memory = benchMemory(b, backend.dsn(b))
			}
			srv := newServer(b, opts)
			requireRuleCards(b, wholePath(b, srv, body))
			before, err := fixtures.ProcessCPU()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			calls := 0
			for b.Loop() {
				wholePath(b, srv, body)
				calls++
			}
			if opts.memory != nil {
				if err := opts.memory.Recorder.Flush(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			after, err := fixtures.ProcessCPU()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64((after-before).Microseconds())/1000/float64(calls), "cpu-ms/op")
		})
	}
}

// benchMemory is a Memory over the store dsn names, as the server wires it.
func benchMemory(b *testing.B, dsn string) *kit.Memory {
	b.Helper()
	store, err := feedback.Open(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	rec, err := feedback.NewRecorder(feedback.Options{Store: store})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rec.Close(context.Background()) })
	key, err := feedback.NewKey([]byte("bench-key-0123456789abcdef0123456789"))
	if err != nil {
		b.Fatal(err)
	}
	return &kit.Memory{Recorder: rec, Key: key, Snooze: 90 * 24 * time.Hour, SnoozeNotRelevant: 365 * 24 * time.Hour}
}
