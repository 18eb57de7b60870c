package main

import (
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseOptions(t *testing.T) {
	t.Parallel()
	o, err := parseOptions([]string{"--rates", "10, 20", "--duration", "2s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(o.rates), 2; got != want || o.rates[0] != 10 || o.rates[1] != 20 {
		t.Errorf("rates = %v, want [10 20]", o.rates)
	}
	if got, want := o.duration, 2*time.Second; got != want {
		t.Errorf("duration = %v, want %v", got, want)
	}
	for _, args := range [][]string{
		{"--rates", "50,x"},
		{"--rates", "0"},
		{"--duration", "0s"},
		{"--duration", "6m"}, // runs are bounded
		{"--faults", "1h"},
	} {
		if _, err := parseOptions(args, io.Discard); err == nil {
			t.Errorf("parseOptions(%q) accepted it", args)
		}
	}
}

// TestTokenPoolHandsOutEachTokenOnce takes tokens from many goroutines, more
// than were minted: every one must be distinct (the server's replay cache
// refuses a second use), and the extra ones counted as signed on the fly.
func TestTokenPoolHandsOutEachTokenOnce(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	signed := 0
	pool := &tokenPool{tokens: []string{"t0", "t1", "t2"}, sign: func() (string, error) {
		mu.Lock()
		defer mu.Unlock()
		signed++
		return "extra" + strings.Repeat("x", signed), nil
	}}
	var wg sync.WaitGroup
	got := make([]string, 10)
	for i := range got {
		wg.Go(func() {
			tok, err := pool.take()
			if err != nil {
				t.Error(err)
			}
			got[i] = tok
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, tok := range got {
		if seen[tok] {
			t.Errorf("token %q handed out twice", tok)
		}
		seen[tok] = true
	}
	if got, want := pool.minted.Load(), int64(7); got != want {
		t.Errorf("minted = %d, want %d", got, want)
	}
}
