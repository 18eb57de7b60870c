package auth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks/auth"
)

// sandboxExchange is one request captured from the CDS Hooks sandbox.
type sandboxExchange struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	JWT     struct {
		Claims struct {
			IssuedAt int64 `json:"iat"`
		} `json:"claims"`
	} `json:"jwt"`
}

// sandboxBase is where the capture's stub CDS service listened; the sandbox
// addressed its tokens to URLs under it.
const sandboxBase = "http://127.0.0.1:8082"

func loadSandboxExchanges(t *testing.T) []sandboxExchange {
	t.Helper()
	data, err := os.ReadFile("../../testdata/sandbox/sample-patient-view-exchange.json")
	if err != nil {
		t.Fatal(err)
	}
	var capture struct {
		Exchanges []sandboxExchange `json:"exchanges"`
	}
	if err := json.Unmarshal(data, &capture); err != nil {
		t.Fatal(err)
	}
	var withToken []sandboxExchange
	for _, ex := range capture.Exchanges {
		if ex.Headers["authorization"] != "" {
			withToken = append(withToken, ex)
		}
	}
	if len(withToken) == 0 {
		t.Fatal("no exchange with an Authorization header in the capture")
	}
	return withToken
}

// TestSandboxToken verifies the real tokens the sandbox sent (ES384, its
// public key from deploy/trust/sandbox.yaml) at the time they were issued, and
// checks they are refused later and at another endpoint.
func TestSandboxToken(t *testing.T) {
	t.Parallel()
	trust, err := auth.LoadTrustFile("../../deploy/trust/sandbox.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range loadSandboxExchanges(t) {
		t.Run(ex.Method+" "+ex.URL, func(t *testing.T) {
			t.Parallel()
			issued := time.Unix(ex.JWT.Claims.IssuedAt, 0)
			audience := sandboxBase + ex.URL
			verifierAt := func(now time.Time) *auth.Verifier {
				v, err := auth.NewVerifier(t.Context(), trust, auth.Options{Now: func() time.Time { return now }})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(v.Close)
				return v
			}
			req := func() *http.Request {
				r := httptest.NewRequest(ex.Method, ex.URL, nil)
				r.Header.Set("Authorization", ex.Headers["authorization"])
				return r
			}

			caller, err := verifierAt(issued).Authenticate(req(), audience)
			if err != nil {
				t.Fatalf("at iat: %v", err)
			}
			if got, want := caller.Issuer, "https://sandbox.cds-hooks.org"; got != want {
				t.Errorf("Issuer = %q, want %q", got, want)
			}
			if !caller.AnyFHIRServer {
				t.Error("AnyFHIRServer = false, want true (sandbox.yaml allows any fhirServer)")
			}

			if _, err := verifierAt(time.Now()).Authenticate(req(), audience); reason(err) != auth.ReasonExpired {
				t.Errorf("now: reason = %q, want %q (err: %v)", reason(err), auth.ReasonExpired, err)
			}
			other := sandboxBase + "/cds-services/another-service"
			if _, err := verifierAt(issued).Authenticate(req(), other); reason(err) != auth.ReasonBadAudience {
				t.Errorf("another endpoint: reason = %q, want %q", reason(err), auth.ReasonBadAudience)
			}
		})
	}
}

// TestSandboxTrustMatchesPublishedKey checks that sandbox.yaml carries the
// sandbox's published key, byte for byte in the members that matter.
func TestSandboxTrustMatchesPublishedKey(t *testing.T) {
	t.Parallel()
	published, err := os.ReadFile("../../testdata/sandbox/sandbox-jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	trust, err := auth.LoadTrustFile("../../deploy/trust/sandbox.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type jwks struct {
		Keys []map[string]string `json:"keys"`
	}
	var want, got jwks
	if err := json.Unmarshal(published, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(trust.Issuers[0].JWKS, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Keys) != 1 || len(want.Keys) != 1 {
		t.Fatalf("keys: got %d, want 1 in both", len(got.Keys))
	}
	for _, m := range []string{"kty", "crv", "kid", "x", "y", "alg"} {
		if got.Keys[0][m] != want.Keys[0][m] {
			t.Errorf("%s = %q, want %q", m, got.Keys[0][m], want.Keys[0][m])
		}
	}
}
