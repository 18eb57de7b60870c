package auth_test

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/auth"
)

const (
	tenantIss = "https://tenant-ehr.example.test"
	es256Iss  = "https://es256-ehr.example.test"
	testJKU   = "https://ehr.example.test/.well-known/jwks.json"
)

// testKeys are the keys of the trust used by TestAuthenticate.
type testKeys struct {
	es, rs, tenant, es256 signer
}

func newTestKeys(t *testing.T) testKeys {
	return testKeys{
		es:     newSigner(t, "es-1", jwt.SigningMethodES384),
		rs:     newSigner(t, "rs-1", jwt.SigningMethodRS384),
		tenant: newSigner(t, "tenant-1", jwt.SigningMethodES384),
		es256:  newSigner(t, "es256-1", jwt.SigningMethodES256),
	}
}

// trustYAML trusts three issuers; inline JWK Sets are JSON, which is YAML.
func (k testKeys) trustYAML(t *testing.T) string {
	return fmt.Sprintf(`
issuers:
  - iss: %s
    jwks: %s
    jku: [%s]
    fhir_servers: [https://fhir.example.test/r4]
  - iss: %s
    jwks: %s
    tenants: [north]
    fhir_servers: ["*"]
  - iss: %s
    jwks: %s
    algorithms: [ES256]
`, testIss, jwksJSON(t, k.es, k.rs), testJKU,
		tenantIss, jwksJSON(t, k.tenant),
		es256Iss, jwksJSON(t, k.es256))
}

// with returns claims() changed by edits; a nil value deletes the claim.
func with(edits jwt.MapClaims) jwt.MapClaims {
	c := claims()
	for k, v := range edits {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t)
	trust := k.trustYAML(t)
	impostor := newSigner(t, k.es.kid, jwt.SigningMethodES384) // same kid, other key
	unlisted := newSigner(t, "es-2", jwt.SigningMethodES384)   // kid not in the trust

	// The classic alg-confusion token: HS256 "signed" with the RSA public key.
	pub, err := x509.MarshalPKIXPublicKey(k.rs.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims())
	hs.Header["kid"] = k.rs.kid
	hsToken, err := hs.SignedString(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	none := jwt.NewWithClaims(jwt.SigningMethodNone, claims())
	none.Header["kid"] = k.es.kid
	noneToken, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}

	bearer := func(tok string) []string { return []string{"Bearer " + tok} }
	tests := []struct {
		name   string
		header []string // Authorization header values
		want   string   // AuthFailure reason; "" = accepted
	}{
		{"valid ES384", bearer(k.es.sign(t, claims(), nil)), ""},
		{"valid RS384", bearer(k.rs.sign(t, claims(), nil)), ""},
		{"listed jku", bearer(k.es.sign(t, claims(), map[string]any{"jku": testJKU})), ""},
		{"aud array holding the URL called", bearer(k.es.sign(t, with(jwt.MapClaims{"aud": []string{"https://other.test", testAudience}}), nil)), ""},
		{"expired within leeway", bearer(k.es.sign(t, with(jwt.MapClaims{"iat": testNow.Add(-5 * time.Minute).Unix(), "exp": testNow.Add(-10 * time.Second).Unix()}), nil)), ""},
		{"lowercase bearer scheme", []string{"bearer " + k.es.sign(t, claims(), nil)}, ""},
		{"sub is not required, and is ignored", bearer(k.es.sign(t, with(jwt.MapClaims{"sub": "whoever"}), nil)), ""},
		{"tenant listed", bearer(k.tenant.sign(t, with(jwt.MapClaims{"iss": tenantIss, "tenant": "north"}), nil)), ""},
		{"per-issuer algorithm ES256", bearer(k.es256.sign(t, with(jwt.MapClaims{"iss": es256Iss}), nil)), ""},

		{"missing header", nil, auth.ReasonMissingToken},
		{"not Bearer", []string{"Basic dXNlcjpwYXNz"}, auth.ReasonNotBearer},
		{"token without a scheme", []string{k.es.sign(t, claims(), nil)}, auth.ReasonNotBearer},
		{"two Authorization headers", []string{"Bearer " + k.es.sign(t, claims(), nil), "Bearer x"}, auth.ReasonMalformed},
		{"empty bearer", []string{"Bearer "}, auth.ReasonMalformed},
		{"malformed token", bearer("not-a-jwt"), auth.ReasonMalformed},
		{"malformed segments", bearer("eyJhbGciOiJFUzM4NCJ9.%%%.abc"), auth.ReasonMalformed},
		{"oversized token", bearer(strings.Repeat("a", 20000)), auth.ReasonMalformed},
		{"tenant not a string", bearer(k.tenant.sign(t, with(jwt.MapClaims{"iss": tenantIss, "tenant": 7}), nil)), auth.ReasonMalformed},
		{"alg none", bearer(noneToken), auth.ReasonBadAlg},
		{"HS256 signed with the public key", bearer(hsToken), auth.ReasonBadAlg},
		{"ES256 where the issuer allows only the defaults", bearer(k.es256.sign(t, claims(), nil)), auth.ReasonBadAlg},
		{"ES384 where the issuer allows only ES256", bearer(k.tenant.sign(t, with(jwt.MapClaims{"iss": es256Iss}), nil)), auth.ReasonBadAlg},
		{"typ missing", bearer(k.es.sign(t, claims(), map[string]any{"typ": nil})), auth.ReasonBadTyp},
		{"typ not JWT", bearer(k.es.sign(t, claims(), map[string]any{"typ": "at+jwt"})), auth.ReasonBadTyp},
		{"crit header", bearer(k.es.sign(t, claims(), map[string]any{"crit": []string{"exp"}})), auth.ReasonMalformed},
		{"kid missing", bearer(k.es.sign(t, claims(), map[string]any{"kid": nil})), auth.ReasonMissingKID},
		{"unknown iss", bearer(k.es.sign(t, with(jwt.MapClaims{"iss": "https://evil.example.test"}), nil)), auth.ReasonUnknownIssuer},
		{"iss missing", bearer(k.es.sign(t, with(jwt.MapClaims{"iss": nil}), nil)), auth.ReasonUnknownIssuer},
		{"jku not on the issuer's list", bearer(k.es.sign(t, claims(), map[string]any{"jku": "https://evil.example.test/jwks.json"})), auth.ReasonJKUNotAllowed},
		{"jku not a string", bearer(k.es.sign(t, claims(), map[string]any{"jku": 3})), auth.ReasonJKUNotAllowed},
		{"unknown kid", bearer(unlisted.sign(t, claims(), nil)), auth.ReasonUnknownKID},
		{"kid of another issuer", bearer(k.tenant.sign(t, claims(), nil)), auth.ReasonUnknownKID},
		{"RS384 token naming an ES384 key", bearer(newSigner(t, k.es.kid, jwt.SigningMethodRS384).sign(t, claims(), nil)), auth.ReasonBadAlg},
		{"signature by another key with the right kid", bearer(impostor.sign(t, claims(), nil)), auth.ReasonBadSignature},
		{"tampered payload", bearer(tamper(t, k.es.sign(t, claims(), nil))), auth.ReasonBadSignature},
		{"wrong aud", bearer(k.es.sign(t, with(jwt.MapClaims{"aud": "https://evil.example.test/cds-services/x"}), nil)), auth.ReasonBadAudience},
		{"aud of another endpoint", bearer(k.es.sign(t, with(jwt.MapClaims{"aud": "https://cds.example.test/cds-services/other"}), nil)), auth.ReasonBadAudience},
		{"aud of discovery used on a service", bearer(k.es.sign(t, with(jwt.MapClaims{"aud": "https://cds.example.test/cds-services"}), nil)), auth.ReasonBadAudience},
		{"aud missing", bearer(k.es.sign(t, with(jwt.MapClaims{"aud": nil}), nil)), auth.ReasonBadAudience},
		{"expired", bearer(k.es.sign(t, with(jwt.MapClaims{"iat": testNow.Add(-10 * time.Minute).Unix(), "exp": testNow.Add(-31 * time.Second).Unix()}), nil)), auth.ReasonExpired},
		{"exp missing", bearer(k.es.sign(t, with(jwt.MapClaims{"exp": nil}), nil)), auth.ReasonMissingExp},
		{"iat in the future", bearer(k.es.sign(t, with(jwt.MapClaims{"iat": testNow.Add(2 * time.Minute).Unix()}), nil)), auth.ReasonIatFuture},
		{"iat missing", bearer(k.es.sign(t, with(jwt.MapClaims{"iat": nil}), nil)), auth.ReasonMissingIat},
		{"nbf in the future", bearer(k.es.sign(t, with(jwt.MapClaims{"nbf": testNow.Add(2 * time.Minute).Unix()}), nil)), auth.ReasonNotYetValid},
		{"lifetime over an hour", bearer(k.es.sign(t, with(jwt.MapClaims{"exp": testNow.Add(2 * time.Hour).Unix()}), nil)), auth.ReasonLifetimeTooLong},
		{"jti missing", bearer(k.es.sign(t, with(jwt.MapClaims{"jti": nil}), nil)), auth.ReasonMissingJTI},
		{"jti over 256 bytes", bearer(k.es.sign(t, with(jwt.MapClaims{"jti": strings.Repeat("j", 257)}), nil)), auth.ReasonLongJTI},
		{"jti of 10 KB", bearer(k.es.sign(t, with(jwt.MapClaims{"jti": strings.Repeat("j", 10<<10)}), nil)), auth.ReasonLongJTI},
		{"wrong tenant", bearer(k.tenant.sign(t, with(jwt.MapClaims{"iss": tenantIss, "tenant": "south"}), nil)), auth.ReasonBadTenant},
		{"tenant missing where tenants are listed", bearer(k.tenant.sign(t, with(jwt.MapClaims{"iss": tenantIss}), nil)), auth.ReasonBadTenant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := mustVerifier(t, trust, auth.Options{})
			_, err := v.Authenticate(request(tt.header...), testAudience)
			if got := reason(err); got != tt.want {
				t.Fatalf("Authenticate reason = %q, want %q (err: %v)", got, tt.want, err)
			}
			for _, h := range tt.header {
				tok := h[strings.LastIndex(h, " ")+1:]
				sig := tok[strings.LastIndex(tok, ".")+1:]
				if err != nil && len(tok) > 20 && (strings.Contains(err.Error(), tok[:20]) || sig != "" && strings.Contains(err.Error(), sig)) {
					t.Errorf("error %q contains token material", err)
				}
			}
		})
	}
}

// tamper changes one claim of a signed token without re-signing it.
func tamper(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	var p jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &p); err != nil {
		t.Fatal(err)
	}
	p["jti"] = "tampered"
	forged, err := jwt.NewWithClaims(jwt.SigningMethodES384, p).SigningString()
	if err != nil {
		t.Fatal(err)
	}
	_, payload, _ := strings.Cut(forged, ".")
	return parts[0] + "." + payload + "." + parts[2]
}

// TestAuthenticateNoAudience checks that a server bug (no audience to compare
// with) fails closed instead of accepting any aud.
func TestAuthenticateNoAudience(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t)
	v := mustVerifier(t, k.trustYAML(t), auth.Options{})
	token := k.es.sign(t, with(jwt.MapClaims{"aud": ""}), nil)
	_, err := v.Authenticate(request("Bearer "+token), "")
	if got, want := reason(err), auth.ReasonBadAudience; got != want {
		t.Errorf("reason = %q, want %q", got, want)
	}
}

func TestAuthenticateCaller(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t)
	v := mustVerifier(t, k.trustYAML(t), auth.Options{})
	tests := []struct {
		name  string
		token string
		want  cdshooks.Caller
	}{
		{
			name:  "listed FHIR servers",
			token: k.es.sign(t, claims(), nil),
			want:  cdshooks.Caller{Issuer: testIss, FHIRServers: []string{"https://fhir.example.test/r4"}},
		},
		{
			name:  "tenant and any FHIR server",
			token: k.tenant.sign(t, with(jwt.MapClaims{"iss": tenantIss, "tenant": "north"}), nil),
			want:  cdshooks.Caller{Issuer: tenantIss, Tenant: "north", AnyFHIRServer: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := v.Authenticate(request("Bearer "+tt.token), testAudience)
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Caller mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuthenticateReplay(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t)
	v := mustVerifier(t, k.trustYAML(t), auth.Options{})
	c := claims()
	token := k.es.sign(t, c, nil)
	if _, err := v.Authenticate(request("Bearer "+token), testAudience); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if got, want := reason(tryAuth(v, token)), auth.ReasonReplayed; got != want {
		t.Errorf("second use: reason = %q, want %q", got, want)
	}
	// A new token with the same jti is a replay too, even with a new signature.
	if got, want := reason(tryAuth(v, k.rs.sign(t, c, nil))), auth.ReasonReplayed; got != want {
		t.Errorf("same jti, other key: reason = %q, want %q", got, want)
	}
	// The same jti from another issuer is a different token.
	other := with(jwt.MapClaims{"iss": tenantIss, "tenant": "north", "jti": c["jti"]})
	if err := tryAuth(v, k.tenant.sign(t, other, nil)); err != nil {
		t.Errorf("same jti, other issuer: %v", err)
	}
}

// TestAuthenticateReplayOfLongestJTI: a jti of the longest accepted length
// is accepted once and refused the second time, and one that differs from it
// only in its last byte is another token.
func TestAuthenticateReplayOfLongestJTI(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t)
	v := mustVerifier(t, k.trustYAML(t), auth.Options{})
	jti := strings.Repeat("j", 255)
	token := k.es.sign(t, with(jwt.MapClaims{"jti": jti + "a"}), nil)
	if err := tryAuth(v, token); err != nil {
		t.Fatalf("first use of a 256-byte jti: %v", err)
	}
	if got, want := reason(tryAuth(v, token)), auth.ReasonReplayed; got != want {
		t.Errorf("second use: reason = %q, want %q", got, want)
	}
	if err := tryAuth(v, k.es.sign(t, with(jwt.MapClaims{"jti": jti + "b"}), nil)); err != nil {
		t.Errorf("a jti differing in its last byte: %v", err)
	}
}

func tryAuth(v *auth.Verifier, token string) error {
	_, err := v.Authenticate(request("Bearer "+token), testAudience)
	return err
}

// TestReplayCacheBounds checks that a full cache keeps accepting valid tokens,
// says so in the log, and that expired entries free their room silently.
func TestReplayCacheBounds(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t)
	var logs logBuffer
	now := testNow
	v := mustVerifier(t, k.trustYAML(t), auth.Options{
		ReplayCacheSize: 1,
		Logger:          logs.logger(),
		Now:             func() time.Time { return now },
	})

	first, second := claims(), claims()
	if err := tryAuth(v, k.es.sign(t, first, nil)); err != nil {
		t.Fatal(err)
	}
	if err := tryAuth(v, k.es.sign(t, second, nil)); err != nil {
		t.Fatalf("valid token refused when the replay cache is full: %v", err)
	}
	if got := logs.String(); !strings.Contains(got, "replay cache full") {
		t.Errorf("log = %q, want a replay-cache-full warning", got)
	}
	if got, want := reason(tryAuth(v, k.es.sign(t, second, nil))), auth.ReasonReplayed; got != want {
		t.Errorf("replay of the kept entry: reason = %q, want %q", got, want)
	}

	// Six minutes on, the kept entry has expired: its room is free.
	now = testNow.Add(6 * time.Minute)
	before := strings.Count(logs.String(), "replay cache full")
	later := with(jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()})
	if err := tryAuth(v, k.es.sign(t, later, nil)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(logs.String(), "replay cache full"); got != before {
		t.Errorf("eviction warnings = %d, want %d: an expired entry should have made room", got, before)
	}
}

func TestNewVerifierOptions(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t)
	trust, err := auth.ParseTrust([]byte(k.trustYAML(t)), "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    auth.Options
		wantErr string
	}{
		{"defaults", auth.Options{}, ""},
		{"add ES256 and PS384", auth.Options{Algorithms: []string{"ES384", "RS384", "ES256", "PS384"}}, ""},
		{"none", auth.Options{Algorithms: []string{"ES384", "none"}}, `"none" is never allowed`},
		{"HS256", auth.Options{Algorithms: []string{"HS256"}}, "symmetric"},
		{"unknown alg", auth.Options{Algorithms: []string{"XS999"}}, "not supported"},
		{"empty list", auth.Options{Algorithms: []string{}}, "empty"},
		{"negative leeway", auth.Options{Leeway: -time.Second}, "Leeway"},
		{"huge leeway", auth.Options{Leeway: time.Hour}, "Leeway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := auth.NewVerifier(t.Context(), trust, tt.opts)
			if err == nil {
				v.Close()
			}
			if got := errString(err); tt.wantErr == "" && got != "" || !strings.Contains(got, tt.wantErr) {
				t.Errorf("NewVerifier error = %q, want it to contain %q", got, tt.wantErr)
			}
		})
	}
	if _, err := auth.NewVerifier(t.Context(), nil, auth.Options{}); err == nil {
		t.Error("NewVerifier(nil trust) succeeded")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestNoTokenInLogsOrErrors runs failing and passing tokens through a verifier
// whose log is captured, and checks that no token (nor its signature) shows up.
func TestNoTokenInLogsOrErrors(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t)
	var logs logBuffer
	v := mustVerifier(t, k.trustYAML(t), auth.Options{ReplayCacheSize: 1, Logger: logs.logger()})
	impostor := newSigner(t, k.es.kid, jwt.SigningMethodES384)
	valid := k.es.sign(t, claims(), nil)
	tokens := []string{
		valid, valid, // the second is a replay
		k.rs.sign(t, claims(), nil), // evicts, so the cache-full warning is logged
		impostor.sign(t, claims(), nil),
		k.es.sign(t, with(jwt.MapClaims{"iss": "https://evil.example.test"}), nil),
		k.es.sign(t, claims(), map[string]any{"jku": "https://evil.example.test/jwks.json"}),
		k.es.sign(t, with(jwt.MapClaims{"aud": "https://evil.example.test"}), nil),
		"eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.",
	}
	var errs []string
	for _, tok := range tokens {
		if err := tryAuth(v, tok); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if got, want := len(errs), 6; got != want {
		t.Fatalf("%d tokens refused, want %d: %q", got, want, errs)
	}
	if !strings.Contains(logs.String(), "replay cache full") {
		t.Fatalf("nothing logged; the scan below would prove nothing")
	}
	everything := logs.String() + strings.Join(errs, "\n")
	for _, tok := range tokens {
		sig := tok[strings.LastIndex(tok, ".")+1:]
		if strings.Contains(everything, tok) || len(sig) > 0 && strings.Contains(everything, sig) {
			t.Errorf("token %.20s... appears in logs or errors:\n%s", tok, everything)
		}
	}
}

// BenchmarkAuthenticate measures the per-request cost of verifying an ES384
// and an RS384 token (inline keys). Tokens are pre-signed; once the set is
// used up they fail as replays, after the same full verification.
func BenchmarkAuthenticate(b *testing.B) {
	for _, method := range []jwt.SigningMethod{jwt.SigningMethodES384, jwt.SigningMethodRS384} {
		b.Run(method.Alg(), func(b *testing.B) {
			s := newSigner(b, "k", method)
			v := mustVerifier(b, fmt.Sprintf("issuers: [{iss: %s, jwks: %s}]", testIss, jwksJSON(b, s)), auth.Options{})
			reqs := make([]*http.Request, 1000)
			for i := range reqs {
				reqs[i] = request("Bearer " + s.sign(b, claims(), nil))
			}
			i := 0
			for b.Loop() {
				_, _ = v.Authenticate(reqs[i%len(reqs)], testAudience)
				i++
			}
		})
	}
}
