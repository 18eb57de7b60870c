package auth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/auth"
)

func TestMain(m *testing.M) {
	// Close must stop every key-refresh goroutine.
	goleak.VerifyTestMain(m)
}

// Shared test vocabulary: the EHR we trust and the endpoint it calls.
const (
	testIss      = "https://ehr.example.test"
	testAudience = "https://cds.example.test/cds-services/nocturnal-leg-cramps"
)

// testNow is the fixed clock of most tests.
var testNow = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

// signer is a key pair generated for one test.
type signer struct {
	kid    string
	method jwt.SigningMethod
	key    crypto.Signer
}

func newSigner(t testing.TB, kid string, method jwt.SigningMethod) signer {
	t.Helper()
	var (
		key crypto.Signer
		err error
	)
	switch method {
	case jwt.SigningMethodES384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case jwt.SigningMethodES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jwt.SigningMethodRS384, jwt.SigningMethodRS256:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("no key for %s", method.Alg())
	}
	if err != nil {
		t.Fatal(err)
	}
	return signer{kid: kid, method: method, key: key}
}

// jwk is the public JWK of the signer, as an EHR would publish it.
func (s signer) jwk(t testing.TB) jwkset.JWKMarshal {
	t.Helper()
	j, err := jwkset.NewJWKFromKey(s.key.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
		KID: s.kid, ALG: jwkset.ALG(s.method.Alg()), USE: jwkset.UseSig,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return j.Marshal()
}

func jwksJSON(t testing.TB, signers ...signer) []byte {
	t.Helper()
	var set jwkset.JWKSMarshal
	for _, s := range signers {
		set.Keys = append(set.Keys, s.jwk(t))
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sign makes a compact JWT with the given claims and extra header fields
// (typ JWT and the signer's kid unless overridden; a nil value deletes).
func (s signer) sign(t testing.TB, claims jwt.MapClaims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(s.method, claims)
	tok.Header["kid"] = s.kid
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
			continue
		}
		tok.Header[k] = v
	}
	raw, err := tok.SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// claims returns valid CDS Hooks claims at testNow, with a fresh jti.
func claims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": testIss,
		"aud": testAudience,
		"iat": testNow.Unix(),
		"exp": testNow.Add(5 * time.Minute).Unix(),
		"jti": uuid.NewString(),
	}
}

func request(authorization ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/cds-services/nocturnal-leg-cramps", nil)
	for _, a := range authorization {
		r.Header.Add("Authorization", a)
	}
	return r
}

func mustVerifier(t testing.TB, trustYAML string, opts auth.Options) *auth.Verifier {
	t.Helper()
	trust, err := auth.ParseTrust([]byte(trustYAML), t.TempDir())
	if err != nil {
		t.Fatalf("ParseTrust: %v\n%s", err, trustYAML)
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	v, err := auth.NewVerifier(t.Context(), trust, opts)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	t.Cleanup(v.Close)
	return v
}

// reason is the AuthFailure reason of err, "" for nil, or a marker when err is
// not an AuthFailure at all (which the server would not map to 401).
func reason(err error) string {
	if err == nil {
		return ""
	}
	var f *cdshooks.AuthFailure
	if !errors.As(err, &f) {
		return fmt.Sprintf("<not an AuthFailure: %v>", err)
	}
	return f.Reason
}

// logBuffer collects log output safely from several goroutines.
type logBuffer struct{ fixtures.LogBuffer }

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
