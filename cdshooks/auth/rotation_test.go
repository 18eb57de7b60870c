package auth_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cramp-cds/cramp-cds/cdshooks/auth"
)

// jwksServer is an EHR's key endpoint whose JWK Set can change while we run.
type jwksServer struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	body   []byte
	hits   map[string]int // requests per path
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	s := &jwksServer{status: http.StatusOK, body: body, hits: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.hits[r.URL.Path]++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		_, _ = w.Write(s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) publish(status int, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body = status, body
}

func (s *jwksServer) hitsOn(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func jwksURITrust(url string) string {
	return fmt.Sprintf(`
issuers:
  - iss: %s
    jwks_uri: %s
`, testIss, url)
}

// TestKeyRotation changes the JWK Set behind a jwks_uri while the verifier
// runs: a token signed with a new kid is accepted without a restart, and a
// further unknown kid within the rate limit does not cause another fetch.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	k1 := newSigner(t, "2026-01", jwt.SigningMethodRS384)
	k2 := newSigner(t, "2026-02", jwt.SigningMethodES384)
	k3 := newSigner(t, "2026-03", jwt.SigningMethodES384)
	srv := newJWKSServer(t, jwksJSON(t, k1))
	uri := srv.URL + "/jwks.json"
	v := mustVerifier(t, jwksURITrust(uri), auth.Options{HTTPClient: srv.Client()})

	if err := tryAuth(v, k1.sign(t, claims(), nil)); err != nil {
		t.Fatalf("key 1: %v", err)
	}
	if got, want := srv.hitsOn("/jwks.json"), 1; got != want {
		t.Errorf("fetches after start = %d, want %d", got, want)
	}

	srv.publish(http.StatusOK, jwksJSON(t, k2)) // k1 retired, k2 in use
	if err := tryAuth(v, k2.sign(t, claims(), map[string]any{"jku": uri})); err != nil {
		t.Fatalf("key 2 after rotation: %v", err)
	}
	if got, want := srv.hitsOn("/jwks.json"), 2; got != want {
		t.Errorf("fetches after rotation = %d, want %d", got, want)
	}
	if got, want := reason(tryAuth(v, k1.sign(t, claims(), nil))), auth.ReasonUnknownKID; got != want {
		t.Errorf("retired key 1: reason = %q, want %q", got, want)
	}

	srv.publish(http.StatusOK, jwksJSON(t, k2, k3))
	if got, want := reason(tryAuth(v, k3.sign(t, claims(), nil))), auth.ReasonUnknownKID; got != want {
		t.Errorf("key 3 within the rate limit: reason = %q, want %q", got, want)
	}
	if got, want := srv.hitsOn("/jwks.json"), 2; got != want {
		t.Errorf("fetches within the rate limit = %d, want %d", got, want)
	}
}

// TestJKUNeverFetched checks that a jku header, listed or not, never makes us
// fetch anything: keys come only from the configured jwks_uri.
func TestJKUNeverFetched(t *testing.T) {
	t.Parallel()
	k := newSigner(t, "k", jwt.SigningMethodES384)
	srv := newJWKSServer(t, jwksJSON(t, k))
	uri := srv.URL + "/jwks.json"
	v := mustVerifier(t, jwksURITrust(uri)+"    jku: ["+srv.URL+"/listed.json]\n", auth.Options{HTTPClient: srv.Client()})

	tests := []struct {
		jku  string
		want string
	}{
		{srv.URL + "/listed.json", ""},
		{srv.URL + "/evil.json", auth.ReasonJKUNotAllowed},
		{"https://evil.example.test/jwks.json", auth.ReasonJKUNotAllowed},
	}
	for _, tt := range tests {
		if got := reason(tryAuth(v, k.sign(t, claims(), map[string]any{"jku": tt.jku}))); got != tt.want {
			t.Errorf("jku %s: reason = %q, want %q", tt.jku, got, tt.want)
		}
	}
	for _, path := range []string{"/listed.json", "/evil.json"} {
		if got := srv.hitsOn(path); got != 0 {
			t.Errorf("%s fetched %d times, want never", path, got)
		}
	}
}

// TestKeyServerDownAtStart checks that an unreachable JWKS does not stop the
// server from starting, is logged, and is retried when a token needs it.
func TestKeyServerDownAtStart(t *testing.T) {
	t.Parallel()
	k := newSigner(t, "k", jwt.SigningMethodES384)
	srv := newJWKSServer(t, nil)
	srv.publish(http.StatusServiceUnavailable, []byte("down"))
	var logs logBuffer
	v := mustVerifier(t, jwksURITrust(srv.URL+"/jwks.json"), auth.Options{HTTPClient: srv.Client(), Logger: logs.logger()})
	if got := logs.String(); !strings.Contains(got, "fetching JWKS failed") || !strings.Contains(got, testIss) {
		t.Errorf("log = %q, want a fetch failure naming the issuer", got)
	}

	srv.publish(http.StatusOK, jwksJSON(t, k))
	if err := tryAuth(v, k.sign(t, claims(), nil)); err != nil {
		t.Errorf("after the key server came back: %v", err)
	}
}

// TestKeyFetchLimits checks that a key server cannot hand us a huge body or
// redirect us off https.
func TestKeyFetchLimits(t *testing.T) {
	t.Parallel()
	k := newSigner(t, "k", jwt.SigningMethodES384)
	keys := string(jwksJSON(t, k))
	padded := keys[:1] + strings.Repeat(" ", 2<<20) + keys[1:] // valid JSON, 2 MiB
	big := newJWKSServer(t, []byte(padded))

	// Every host name resolves to this server, so that only our redirect rule
	// can stop the fetch of http://keys.example.test/.
	mux := http.NewServeMux()
	mux.Handle("/redirect", http.RedirectHandler("http://keys.example.test/jwks.json", http.StatusFound))
	mux.Handle("/jwks.json", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(keys)) }))
	anyHost := httptest.NewServer(mux)
	t.Cleanup(anyHost.Close)
	transport := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, anyHost.Listener.Addr().String())
	}}
	t.Cleanup(transport.CloseIdleConnections)

	tests := []struct {
		name   string
		uri    string
		client *http.Client
	}{
		{"2 MiB body", big.URL + "/jwks.json", big.Client()},
		{"redirect to plain http", anyHost.URL + "/redirect", &http.Client{Transport: transport}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs logBuffer
			v := mustVerifier(t, jwksURITrust(tt.uri), auth.Options{HTTPClient: tt.client, Logger: logs.logger()})
			if got, want := reason(tryAuth(v, k.sign(t, claims(), nil))), auth.ReasonUnknownKID; got != want {
				t.Errorf("reason = %q, want %q", got, want)
			}
			if !strings.Contains(logs.String(), "fetching JWKS failed") {
				t.Errorf("log = %q, want a fetch failure", logs.String())
			}
		})
	}
}
