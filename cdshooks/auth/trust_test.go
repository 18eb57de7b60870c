package auth_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/cdshooks/auth"
)

// testJWKS is a valid public JWK Set (the CDS Hooks sandbox's key).
const testJWKS = `{"keys":[{"kty":"EC","use":"sig","crv":"P-384","kid":"k1","alg":"ES384",` +
	`"x":"dw_JGR8nB2I6XveNxUOl2qk699ZPLM2nYI5STSdiEl9avAkrm3CkfYMbrrjr8laB",` +
	`"y":"Sm3mLE-n1zYNla_aiE3cb3nZsL51RbC7ysw3q8aJLxGm-hx79RPMYpITDjp7kgzy"}]}`

// jwksWith returns testJWKS with extra members added to its key.
func jwksWith(extra string) string {
	return strings.Replace(testJWKS, `"kty":"EC",`, `"kty":"EC",`+extra+`,`, 1)
}

func TestParseTrust(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keys.json"), []byte(testJWKS), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		yaml    string
		wantErr []string // substrings of the error; none = valid
	}{
		{name: "inline JWK Set", yaml: `
issuers:
  - iss: https://ehr.test
    jwks: ` + testJWKS},
		{name: "inline JWK Set as a YAML mapping", yaml: `
issuers:
  - iss: https://ehr.test
    jwks:
      keys:
        - {kty: EC, crv: P-384, kid: k1, x: dw_JGR8nB2I6XveNxUOl2qk699ZPLM2nYI5STSdiEl9avAkrm3CkfYMbrrjr8laB, "y": Sm3mLE-n1zYNla_aiE3cb3nZsL51RbC7ysw3q8aJLxGm-hx79RPMYpITDjp7kgzy}`},
		{name: "bare y in a YAML key", yaml: `
issuers:
  - iss: https://ehr.test
    jwks:
      keys:
        - {kty: EC, crv: P-384, kid: k1, x: dw_JGR8nB2I6XveNxUOl2qk699ZPLM2nYI5STSdiEl9avAkrm3CkfYMbrrjr8laB, y: Sm3mLE-n1zYNla_aiE3cb3nZsL51RbC7ysw3q8aJLxGm-hx79RPMYpITDjp7kgzy}`,
			wantErr: []string{`quote the member "y"`}},
		{name: "bare n in a YAML key", yaml: `
issuers:
  - iss: https://ehr.test
    jwks:
      keys:
        - {kty: RSA, kid: r1, n: 0sIYk3FF6ihBqAQZkdavljgHG9SjWDnjM1RxIWJvc_VOzgAOMvDqLnnMtxGomPxExDqY7PaNjTgZ, e: AQAB}`,
			wantErr: []string{`quote the member "n"`}},
		{name: "inline JWK Set as a JSON string", yaml: `
issuers:
  - iss: https://ehr.test
    jwks: '` + testJWKS + `'`},
		{name: "jwks_file relative to the trust file", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_file: keys.json`},
		{name: "jwks_uri and every optional field", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_uri: https://ehr.test/jwks.json
    jku: [https://ehr.test/jwks.json, https://ehr.test/other.json]
    tenants: [north, south]
    fhir_servers: [https://fhir.ehr.test/r4, http://fhir.internal:8080/fhir]
    algorithms: [ES256, RS256, PS384]`},
		{name: "http allowed on loopback only", yaml: `
issuers:
  - iss: a
    jwks_uri: http://127.0.0.1:9999/jwks.json
    jku: [http://localhost/jwks.json, "http://[::1]/jwks.json"]`},
		{name: "any FHIR server", yaml: `
issuers:
  - iss: https://sandbox.test
    jwks: ` + testJWKS + `
    fhir_servers: ["*"]`},
		{name: "JSON trust file", yaml: `{"issuers":[{"iss":"https://ehr.test","jwks_uri":"https://ehr.test/k"}]}`},

		{name: "empty file", yaml: ``, wantErr: []string{"issuers"}},
		{name: "no issuers", yaml: `issuers: []`, wantErr: []string{"at least one issuer"}},
		{name: "issuers not a list", yaml: `issuers: {iss: x}`, wantErr: []string{"list"}},
		{name: "unknown top-level field", yaml: `
issuer:
  - iss: https://ehr.test`, wantErr: []string{`unknown field(s) ["issuer"]`}},
		{name: "unknown issuer field", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_url: https://ehr.test/jwks.json`, wantErr: []string{`issuers[0] (https://ehr.test)`, `unknown field(s) ["jwks_url"]`}},
		{name: "field in the wrong case", yaml: `
issuers:
  - ISS: https://ehr.test
    jwks_uri: https://ehr.test/jwks.json`, wantErr: []string{`unknown field(s) ["ISS"]`}},
		{name: "duplicate key", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_uri: https://ehr.test/a.json
    jwks_uri: https://ehr.test/b.json`, wantErr: []string{"jwks_uri"}},
		{name: "two key sources", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_uri: https://ehr.test/jwks.json
    jwks: ` + testJWKS, wantErr: []string{"issuers[0] (https://ehr.test)", "exactly one of jwks_uri, jwks, jwks_file", `["jwks_uri" "jwks"]`}},
		{name: "no key source", yaml: `
issuers:
  - iss: https://ehr.test`, wantErr: []string{"exactly one of jwks_uri, jwks, jwks_file is required, got 0"}},
		{name: "null jwks is no key source", yaml: `
issuers:
  - iss: https://ehr.test
    jwks: null`, wantErr: []string{"got 0"}},
		{name: "missing iss", yaml: `
issuers:
  - jwks_uri: https://ehr.test/jwks.json`, wantErr: []string{"issuers[0]: iss: is required"}},
		{name: "iss with a trailing space", yaml: `
issuers:
  - iss: "https://ehr.test "
    jwks_uri: https://ehr.test/jwks.json`, wantErr: []string{"iss: has leading or trailing spaces"}},
		{name: "duplicate iss", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_uri: https://ehr.test/a.json
  - iss: https://ehr.test
    jwks_uri: https://ehr.test/b.json`, wantErr: []string{"issuers[1] (https://ehr.test): iss is already listed as issuers[0]"}},
		{name: "jwks_uri over http", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_uri: http://ehr.test/jwks.json`, wantErr: []string{"jwks_uri: must use https"}},
		{name: "jwks_uri relative", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_uri: /jwks.json`, wantErr: []string{"jwks_uri: must be an absolute URL"}},
		{name: "jwks_uri with credentials", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_uri: https://user:pw@ehr.test/jwks.json`, wantErr: []string{"jwks_uri: must not contain credentials"}},
		{name: "jwks_uri of another scheme", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_uri: file:///etc/jwks.json`, wantErr: []string{"jwks_uri"}},
		{name: "jku over http", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_uri: https://ehr.test/jwks.json
    jku: [http://ehr.test/jwks.json]`, wantErr: []string{`jku: "http://ehr.test/jwks.json": must use https`}},
		{name: "HS256 in algorithms", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_uri: https://ehr.test/jwks.json
    algorithms: [ES384, HS256]`, wantErr: []string{`algorithms: "HS256" is symmetric`}},
		{name: "none in algorithms", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_uri: https://ehr.test/jwks.json
    algorithms: [none]`, wantErr: []string{`algorithms: "none" is never allowed`}},
		{name: "private key inline", yaml: `
issuers:
  - iss: https://ehr.test
    jwks: ` + jwksWith(`"d":"AAAA"`), wantErr: []string{"jwks: key 0: contains private key material"}},
		{name: "symmetric key inline", yaml: `
issuers:
  - iss: https://ehr.test
    jwks: {"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0"}]}`, wantErr: []string{"symmetric (oct) keys are not allowed"}},
		{name: "key without kid", yaml: `
issuers:
  - iss: https://ehr.test
    jwks: ` + strings.Replace(testJWKS, `"kid":"k1",`, "", 1), wantErr: []string{"key 0: kid is required"}},
		{name: "encryption key", yaml: `
issuers:
  - iss: https://ehr.test
    jwks: ` + strings.Replace(testJWKS, `"use":"sig"`, `"use":"enc"`, 1), wantErr: []string{`use is "enc", want sig`}},
		{name: "duplicate kid", yaml: `
issuers:
  - iss: https://ehr.test
    jwks: {"keys":[` + testJWKS[9:len(testJWKS)-2] + `,` + testJWKS[9:len(testJWKS)-2] + `]}`, wantErr: []string{`kid "k1" is used twice`}},
		{name: "empty key set", yaml: `
issuers:
  - iss: https://ehr.test
    jwks: {"keys": []}`, wantErr: []string{`JWK Set has no "keys"`}},
		{name: "bad key", yaml: `
issuers:
  - iss: https://ehr.test
    jwks: {"keys":[{"kty":"EC","crv":"P-384","kid":"k","x":"AA","y":"AA"}]}`, wantErr: []string{"jwks: reading JWK Set"}},
		{name: "missing jwks_file", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_file: nope.json`, wantErr: []string{"issuers[0] (https://ehr.test): jwks_file:", "nope.json"}},
		{name: "any FHIR server mixed with others", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_uri: https://ehr.test/jwks.json
    fhir_servers: ["*", https://fhir.ehr.test]`, wantErr: []string{`fhir_servers: "*" (any FHIR server) must be the only entry`}},
		{name: "relative FHIR server", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_uri: https://ehr.test/jwks.json
    fhir_servers: [fhir.ehr.test/r4]`, wantErr: []string{"must be an absolute http(s) URL"}},
		{name: "FHIR server with a query", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_uri: https://ehr.test/jwks.json
    fhir_servers: ["https://fhir.ehr.test/r4?x=1"]`, wantErr: []string{"must be a base URL"}},
		{name: "empty tenant", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_uri: https://ehr.test/jwks.json
    tenants: [""]`, wantErr: []string{"tenants: entries must not be empty"}},
		{name: "wrong type", yaml: `
issuers:
  - iss: https://ehr.test
    jwks_uri: https://ehr.test/jwks.json
    tenants: north`, wantErr: []string{"tenants"}},
		{name: "every problem reported at once", yaml: `
issuers:
  - iss: https://a.test
    jwks_uri: http://a.test/jwks.json
    algorithms: [HS512]
  - iss: https://b.test`, wantErr: []string{"issuers[0] (https://a.test): jwks_uri", `"HS512" is symmetric`, "issuers[1] (https://b.test): keys"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			trust, err := auth.ParseTrust([]byte(tt.yaml), dir)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("ParseTrust: %v", err)
				}
				if got, want := len(trust.Issuers), 1; got != want {
					t.Errorf("got %d issuers, want %d", got, want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseTrust succeeded, want an error containing %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not contain %q", err, want)
				}
			}
		})
	}
}

func TestLoadTrustFileShipped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path        string
		wantIssuers []string
	}{
		{"../../deploy/trust/sandbox.yaml", []string{"https://sandbox.cds-hooks.org"}},
		{"../../deploy/trust/example.yaml", []string{
			"https://fhir.hospital.example.org/interconnect-fhir-oauth",
			"https://ehr.clinic.example.org",
			"https://cds-client.partner.example.org",
		}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			t.Parallel()
			trust, err := auth.LoadTrustFile(tt.path)
			if err != nil {
				t.Fatalf("LoadTrustFile: %v", err)
			}
			var got []string
			for _, is := range trust.Issuers {
				got = append(got, is.Iss)
			}
			if diff := cmp.Diff(tt.wantIssuers, got); diff != "" {
				t.Errorf("issuers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadTrustFileErrors(t *testing.T) {
	t.Parallel()
	if _, err := auth.LoadTrustFile(filepath.Join(t.TempDir(), "absent.yaml")); err == nil || !strings.Contains(err.Error(), "reading trust file") {
		t.Errorf("LoadTrustFile(absent) error = %v, want a read error", err)
	}
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("issuers: []"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.LoadTrustFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("LoadTrustFile(bad) error = %v, want it to name %s", err, path)
	}
}

// TestTrustBuiltInCode checks that a Trust not made by ParseTrust is validated
// by NewVerifier too.
func TestTrustBuiltInCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		trust   auth.Trust
		wantErr string
	}{
		{"no issuers", auth.Trust{}, "at least one issuer"},
		{"jwks_file never read", auth.Trust{Issuers: []auth.Issuer{{Iss: "x", JWKSFile: "k.json"}}}, "was not read"},
		{"HS256", auth.Trust{Issuers: []auth.Issuer{{Iss: "x", JWKS: []byte(testJWKS), Algorithms: []string{"HS256"}}}}, "symmetric"},
		{"valid", auth.Trust{Issuers: []auth.Issuer{{Iss: "x", JWKS: []byte(testJWKS)}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := auth.NewVerifier(t.Context(), &tt.trust, auth.Options{})
			if err == nil {
				v.Close()
			}
			if got := errString(err); tt.wantErr == "" && got != "" || !strings.Contains(got, tt.wantErr) {
				t.Errorf("NewVerifier error = %q, want it to contain %q", got, tt.wantErr)
			}
		})
	}
}
