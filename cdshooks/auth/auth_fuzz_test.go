package auth_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"sigs.k8s.io/yaml"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/auth"
)

// reasons are every AuthFailure reason the verifier documents.
var reasons = []string{
	auth.ReasonMissingToken, auth.ReasonNotBearer, auth.ReasonMalformed, auth.ReasonBadAlg, auth.ReasonBadTyp,
	auth.ReasonMissingKID, auth.ReasonUnknownIssuer, auth.ReasonJKUNotAllowed, auth.ReasonUnknownKID,
	auth.ReasonBadSignature, auth.ReasonBadAudience, auth.ReasonMissingExp, auth.ReasonExpired, auth.ReasonMissingIat,
	auth.ReasonIatFuture, auth.ReasonNotYetValid, auth.ReasonLifetimeTooLong, auth.ReasonMissingJTI,
	auth.ReasonReplayed, auth.ReasonBadTenant,
}

// FuzzAuthenticate hands the verifier arbitrary Authorization headers (one,
// or two when second is not empty). Whatever arrives: no panic; a refusal is
// an *AuthFailure with a documented reason; the error never contains the
// credential; and only a token signed by the trusted key is accepted, once.
// Seeds minted here are valid tokens and near misses; the committed ones
// under testdata/fuzz/FuzzAuthenticate are fixed strings (the sandbox's
// real token among them).
func FuzzAuthenticate(f *testing.F) {
	s := newSigner(f, "es-1", jwt.SigningMethodES384)
	v := mustVerifier(f, fmt.Sprintf("issuers: [{iss: %s, jwks: %s, jku: [%s]}]", testIss, jwksJSON(f, s), testJKU), auth.Options{})
	valid := s.sign(f, claims(), nil)
	f.Add("Bearer "+valid, "")
	f.Add("bearer  "+valid+" ", "")
	f.Add("Bearer "+valid, "Bearer "+valid)
	f.Add("Bearer "+s.sign(f, claims(), map[string]any{"jku": "https://evil.example.test/jwks"}), "")
	f.Add("Bearer "+s.sign(f, with(jwt.MapClaims{"aud": []string{"x", testAudience}}), nil), "")
	f.Add("Bearer "+s.sign(f, with(jwt.MapClaims{"exp": "soon"}), nil), "")
	f.Add("Bearer "+unsigned(`{"alg":"none","typ":"JWT","kid":"es-1"}`, claims()), "")
	f.Add("Bearer "+unsigned(`{"alg":"HS384","typ":"JWT","kid":"es-1"}`, claims())+"c2ln", "")
	f.Fuzz(func(t *testing.T, first, second string) {
		headers := []string{first}
		if second != "" {
			headers = append(headers, second)
		}
		caller, err := v.Authenticate(request(headers...), testAudience)
		if err == nil {
			// Accepted: it must be the trusted issuer's, and must not pass twice.
			if got, want := caller.Issuer, testIss; got != want {
				t.Fatalf("accepted a token of issuer %q, want %q", got, want)
			}
			if _, err := v.Authenticate(request(headers...), testAudience); reason(err) != auth.ReasonReplayed {
				t.Fatalf("the same token again: reason %q, want %q", reason(err), auth.ReasonReplayed)
			}
			return
		}
		var af *cdshooks.AuthFailure
		if !errors.As(err, &af) {
			t.Fatalf("Authenticate error %T (%v) is not an *AuthFailure", err, err)
		}
		if !slices.Contains(reasons, af.Reason) {
			t.Fatalf("undocumented reason %q", af.Reason)
		}
		for _, h := range headers {
			_, credential, _ := strings.Cut(strings.TrimSpace(h), " ")
			for _, secret := range []string{strings.TrimSpace(h), strings.TrimSpace(credential)} {
				if len(secret) >= 12 && strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q contains the credential", err)
				}
			}
		}
	})
}

// unsigned builds a compact JWT with the given header and claims and an empty
// signature, as an attacker would send alg none.
func unsigned(header string, claims jwt.MapClaims) string {
	body, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(body) + "."
}

// plainName is a jwks_file the trust fuzz lets ParseTrust read: a file name
// in the (empty) temporary directory, so no input makes it read /dev/zero.
var plainName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// FuzzParseTrust parses arbitrary trust files. Whatever arrives: no panic;
// and a Trust that ParseTrust accepts holds distinct, non-empty issuers with
// exactly one key source each, and builds a Verifier (unless it names a
// jwks_uri, which the fuzz never fetches). Seeds are under
// testdata/fuzz/FuzzParseTrust: the shipped examples and near misses.
func FuzzParseTrust(f *testing.F) {
	s := newSigner(f, "es-1", jwt.SigningMethodES384)
	f.Add([]byte(fmt.Sprintf("issuers: [{iss: %s, jwks: %s}]", testIss, jwksJSON(f, s))))
	dir := f.TempDir() // empty: no jwks_file resolves
	f.Fuzz(func(t *testing.T, data []byte) {
		if !safeJWKSFiles(data) {
			t.Skip("names a jwks_file outside the temporary directory")
		}
		trust, err := auth.ParseTrust(data, dir)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		fetches := false
		for i, is := range trust.Issuers {
			if is.Iss == "" || seen[is.Iss] {
				t.Fatalf("issuer %d: iss %q is empty or repeated, yet accepted", i, is.Iss)
			}
			seen[is.Iss] = true
			sources := 0
			for _, set := range []bool{is.JWKSURI != "", len(is.JWKS) > 0, is.JWKSFile != ""} {
				if set {
					sources++
				}
			}
			if sources != 1 {
				t.Fatalf("issuer %q has %d key sources, yet accepted", is.Iss, sources)
			}
			fetches = fetches || is.JWKSURI != ""
		}
		if fetches {
			return
		}
		v, err := auth.NewVerifier(t.Context(), trust, auth.Options{})
		if err != nil {
			t.Fatalf("ParseTrust accepted a trust that NewVerifier refuses: %v", err)
		}
		v.Close()
	})
}

// safeJWKSFiles reports whether every jwks_file the data names is a plain
// file name. Data that does not decode into a list of issuer mappings is
// safe: ParseTrust refuses it before reading any file.
func safeJWKSFiles(data []byte) bool {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return true
	}
	var t struct {
		Issuers []map[string]any `json:"issuers"`
	}
	if err := json.Unmarshal(js, &t); err != nil {
		return true
	}
	for _, is := range t.Issuers {
		for k, v := range is {
			if !strings.EqualFold(k, "jwks_file") {
				continue
			}
			if name, ok := v.(string); !ok || !plainName.MatchString(name) || strings.Contains(name, "..") {
				return false
			}
		}
	}
	return true
}
