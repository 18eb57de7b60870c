package extsort_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/internal/extsort"
)

type rec struct{ key, value string }

// TestSortsStably checks key order and insertion order among equal keys,
// in memory and across many spilled runs (more than one merge level).
func TestSortsStably(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		n      int
		budget int
	}{
		{"in memory", 500, 1 << 20},
		{"a few runs", 2000, 4 << 10},
		{"more runs than one merge takes", 20000, 2 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := extsort.New(dir, tc.budget)
			rng := rand.New(rand.NewPCG(1, uint64(tc.n)))
			var want []rec
			for i := range tc.n {
				r := rec{fmt.Sprintf("k%03d", rng.IntN(tc.n/10)), fmt.Sprintf("v%d", i)}
				want = append(want, r)
				if err := s.Add([]byte(r.key), []byte(r.value)); err != nil {
					t.Fatal(err)
				}
			}
			slices.SortStableFunc(want, func(a, b rec) int { return strings.Compare(a.key, b.key) })
			var got []rec
			if err := s.Each(func(k, v []byte) error {
				got = append(got, rec{string(k), string(v)})
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %d records, want %d, or out of order", len(got), len(want))
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("Close left %d entries in the temp dir", len(left))
			}
		})
	}
}

func TestEachStopsAtTheCallbacksError(t *testing.T) {
	t.Parallel()
	s := extsort.New(t.TempDir(), 1<<10)
	defer s.Close()
	for i := range 200 {
		s.Add([]byte(fmt.Sprint(i)), make([]byte, 20))
	}
	calls := 0
	stop := fmt.Errorf("stop")
	if err := s.Each(func(k, v []byte) error { calls++; return stop }); err != stop {
		t.Errorf("got error %v, want the callback's", err)
	}
	if calls != 1 {
		t.Errorf("got %d calls, want 1", calls)
	}
	if err := s.Add([]byte("x"), nil); err == nil {
		t.Error("Add after Each: got no error")
	}
}
