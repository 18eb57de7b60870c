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
	// hold, when set, makes each check wait for it to close first: a round
	// trip that has not come back yet.
	hold chan struct{}
}

func (s *sharedTokens) SeenToken(_ context.Context, issuer, jti string, _ time.Time) (bool, error) {
	s.mu.Lock()
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		<-hold
	}
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

// twoPods is two verifiers sharing one replay cache, and a token already
// used on pod A.
func twoPods(t *testing.T) (k testKeys, shared *sharedTokens, podA, podB *auth.Verifier, token string) {
	t.Helper()
	k = newTestKeys(t)
	shared = &sharedTokens{seen: map[string]bool{}}
	podA = mustVerifier(t, k.trustYAML(t), auth.Options{SharedReplay: shared})
	podB = mustVerifier(t, k.trustYAML(t), auth.Options{SharedReplay: shared})
	token = k.es.sign(t, claims(), nil)
	if err := tryAuth(podA, token); err != nil {
		t.Fatalf("first use on pod A: %v", err)
	}
	return k, shared, podA, podB, token
}

func TestSharedReplayAcrossReplicas(t *testing.T) {
	t.Parallel()
	k, _, _, podB, token := twoPods(t)
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

// TestSharedReplayOverlapsTheCall: AuthenticatePending returns while the
// shared check is still out, every other check done; its confirm waits for
// the shared answer and refuses a token another replica accepted with the
// same reason as Authenticate.
func TestSharedReplayOverlapsTheCall(t *testing.T) {
	t.Parallel()
	k, shared, podA, podB, token := twoPods(t)
	shared.mu.Lock()
	shared.hold = make(chan struct{})
	shared.mu.Unlock()
	caller, confirm, err := podB.AuthenticatePending(request("Bearer "+token), testAudience)
	if err != nil {
		t.Fatalf("AuthenticatePending with the shared check out: %v, want it to wait for confirm", err)
	}
	if caller.Issuer == "" {
		t.Errorf("AuthenticatePending: caller %+v, want the issuer", caller)
	}
	confirmed := make(chan error, 1)
	go func() { confirmed <- confirm() }()
	select {
	case err := <-confirmed:
		t.Fatalf("confirm returned %v before the shared check answered", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(shared.hold)
	if got, want := reason(<-confirmed), auth.ReasonReplayed; got != want {
		t.Errorf("confirm of a token pod A accepted: reason %q, want %q", got, want)
	}
	if got, want := reason(confirm()), auth.ReasonReplayed; got != want {
		t.Errorf("confirm called again: reason %q, want %q", got, want)
	}
	// A local replay needs no shared answer: refused at once.
	if _, _, err := podA.AuthenticatePending(request("Bearer "+token), testAudience); reason(err) != auth.ReasonReplayed {
		t.Errorf("replay to pod A: %v, want %q from AuthenticatePending itself", err, auth.ReasonReplayed)
	}
	fresh := k.es.sign(t, claims(), nil)
	_, confirm, err = podB.AuthenticatePending(request("Bearer "+fresh), testAudience)
	if err == nil {
		err = confirm()
	}
	if err != nil {
		t.Errorf("a fresh token: %v, want it accepted", err)
	}
}
