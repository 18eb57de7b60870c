package auth_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks/auth"
)

// sharedTokens is an in-memory auth.ReplayCache standing for the table that
// replicas share, with a switch to make it fail.
type sharedTokens struct {
	mu     sync.Mutex
	seen   map[string]bool
	broken bool
	calls  int
}

func (s *sharedTokens) SeenToken(_ context.Context, issuer, jti string, _ time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.broken {
		return false, errors.New("database down")
	}
	key := issuer + "|" + jti
	replayed := s.seen[key]
	s.seen[key] = true
	return replayed, nil
}

func TestSharedReplayAcrossReplicas(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t)
	shared := &sharedTokens{seen: map[string]bool{}}
	podA := mustVerifier(t, k.trustYAML(t), auth.Options{SharedReplay: shared})
	podB := mustVerifier(t, k.trustYAML(t), auth.Options{SharedReplay: shared})

	token := k.es.sign(t, claims(), nil)
	if err := tryAuth(podA, token); err != nil {
		t.Fatalf("first use on pod A: %v", err)
	}
	if got, want := reason(tryAuth(podB, token)), auth.ReasonReplayed; got != want {
		t.Errorf("replayed to pod B: reason = %q, want %q", got, want)
	}
	// Without the shared cache, pod B alone would have accepted it.
	alone := mustVerifier(t, k.trustYAML(t), auth.Options{})
	if err := tryAuth(alone, k.es.sign(t, claims(), nil)); err != nil {
		t.Fatalf("a fresh token on a lone pod: %v", err)
	}
}

// TestSharedReplayFailsOpen: when the shared cache cannot answer, valid
// tokens are still accepted and the pod's own cache still refuses replays.
func TestSharedReplayFailsOpen(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t)
	shared := &sharedTokens{seen: map[string]bool{}, broken: true}
	v := mustVerifier(t, k.trustYAML(t), auth.Options{SharedReplay: shared})
	token := k.es.sign(t, claims(), nil)
	if err := tryAuth(v, token); err != nil {
		t.Fatalf("valid token refused while the shared cache is down: %v", err)
	}
	if got, want := reason(tryAuth(v, token)), auth.ReasonReplayed; got != want {
		t.Errorf("replay to the same pod: reason = %q, want %q", got, want)
	}
	if shared.calls != 1 {
		t.Errorf("shared cache asked %d times, want 1 (a local replay needs no shared check)", shared.calls)
	}
}
