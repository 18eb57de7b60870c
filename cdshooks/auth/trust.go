// Package auth verifies the JWT that CDS Hooks 2.0 clients (EHRs, the sandbox)
// send with every call, against a trust file that lists the issuers we accept.
//
// The trust file is operated by the hospital: one entry per EHR (issuer), each
// with exactly one source of public keys, the jku URLs its tokens may name, the
// tenants it may speak for, and the FHIR servers it may ask us to read from.
// Nothing is ever fetched from a URL taken from a token: keys come only from the
// trust file or from the jwks_uri it names.
package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/MicahParks/jwkset"
	"sigs.k8s.io/yaml"
)

// AnyFHIRServer is the fhir_servers entry that allows an issuer to name any
// fhirServer. It must be the only entry; use it only for trying us out.
const AnyFHIRServer = "*"

// Trust is a validated trust file: the issuers whose tokens we accept.
// A Trust returned by ParseTrust or LoadTrustFile has passed every check
// described on Issuer.
type Trust struct {
	Issuers []Issuer `json:"issuers"`
}

// Issuer is one trusted CDS client (an EHR or the sandbox), identified by the
// exact iss claim of its tokens. Exactly one of JWKSURI, JWKS and JWKSFile
// gives its public keys.
type Issuer struct {
	// Iss must equal the token's iss claim exactly.
	Iss string `json:"iss"`
	// JWKSURI is fetched at start, refreshed periodically and on an unknown
	// kid (rate-limited). https, or http on a loopback host only.
	JWKSURI string `json:"jwks_uri,omitempty"`
	// JWKS is an inline JWK Set (a YAML mapping, or a string holding JSON).
	JWKS json.RawMessage `json:"jwks,omitempty"`
	// JWKSFile names a file holding a JWK Set, relative to the trust file.
	JWKSFile string `json:"jwks_file,omitempty"`
	// JKU lists the jku header values a token may carry (JWKSURI is always
	// accepted too). A token without jku is accepted: the spec then says keys
	// were exchanged out of band. jku URLs are never fetched.
	JKU []string `json:"jku,omitempty"`
	// Tenants, when non-empty, lists the tenant claims accepted from this issuer;
	// a token without a tenant is then refused.
	Tenants []string `json:"tenants,omitempty"`
	// FHIRServers lists the fhirServer base URLs this issuer may ask us to fetch
	// from, or the single entry "*" (AnyFHIRServer) for any.
	FHIRServers []string `json:"fhir_servers,omitempty"`
	// Algorithms, when non-empty, replaces the server-wide algorithm allow-list
	// (Options.Algorithms) for this issuer. none and HS* are refused.
	Algorithms []string `json:"algorithms,omitempty"`

	// fileJWKS holds the contents of JWKSFile, read by ParseTrust.
	fileJWKS []byte
}

// LoadTrustFile reads and validates the trust file at path; a jwks_file in it
// is read relative to the trust file's directory.
func LoadTrustFile(path string) (*Trust, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading trust file: %w", err)
	}
	t, err := ParseTrust(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("trust file %s: %w", path, err)
	}
	return t, nil
}

// ParseTrust decodes and validates a trust file (YAML or JSON). Unknown fields,
// fields in the wrong case and duplicate keys are errors, so a typo never
// silently weakens a check. jwks_file paths are read relative to baseDir; when
// no issuer uses jwks_file, ParseTrust does no I/O.
func ParseTrust(data []byte, baseDir string) (*Trust, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("decoding YAML: %w", err)
	}
	if err := checkFieldNames(js); err != nil {
		return nil, err
	}
	var t Trust
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("decoding trust file: %w", err)
	}
	for i := range t.Issuers {
		is := &t.Issuers[i]
		if is.JWKSFile == "" {
			continue
		}
		p := is.JWKSFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(baseDir, p)
		}
		if is.fileJWKS, err = os.ReadFile(p); err != nil {
			return nil, fmt.Errorf("%s: jwks_file: %w", is.label(i), err)
		}
	}
	if err := t.validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

// checkFieldNames rejects field names that are not ours. encoding/json matches
// names case-insensitively, so "ISS" or "Jwks_Uri" would otherwise slip through.
func checkFieldNames(js []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil {
		return fmt.Errorf("trust file must be a mapping with an issuers list: %w", err)
	}
	if err := unknownFields(top, reflect.TypeFor[Trust]()); err != nil {
		return err
	}
	var issuers []map[string]json.RawMessage
	if err := json.Unmarshal(top["issuers"], &issuers); err != nil {
		return fmt.Errorf("issuers must be a list of mappings: %w", err)
	}
	var errs []error
	for i, m := range issuers {
		if err := unknownFields(m, reflect.TypeFor[Issuer]()); err != nil {
			var iss string
			_ = json.Unmarshal(m["iss"], &iss) // only for the message
			errs = append(errs, fmt.Errorf("%s: %w", (&Issuer{Iss: iss}).label(i), err))
		}
	}
	return errors.Join(errs...)
}

// unknownFields names the keys of m that are not exactly a json tag of t.
func unknownFields(m map[string]json.RawMessage, t reflect.Type) error {
	known := make(map[string]bool, t.NumField())
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" {
			known[name] = true
		}
	}
	var unknown []string
	for k := range m {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return fmt.Errorf("unknown field(s) %q", unknown)
}

// validate checks every issuer and reports all problems at once, so an operator
// fixes the file in one go.
func (t *Trust) validate() error {
	if len(t.Issuers) == 0 {
		return errors.New("issuers: at least one issuer is required")
	}
	var errs []error
	seen := make(map[string]int, len(t.Issuers))
	for i := range t.Issuers {
		is := &t.Issuers[i]
		if err := is.validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", is.label(i), err))
		}
		if j, dup := seen[is.Iss]; dup && is.Iss != "" {
			errs = append(errs, fmt.Errorf("%s: iss is already listed as issuers[%d]", is.label(i), j))
		}
		seen[is.Iss] = i
	}
	return errors.Join(errs...)
}

// label names an issuer in error messages by position and iss.
func (is *Issuer) label(i int) string {
	if is.Iss == "" {
		return fmt.Sprintf("issuers[%d]", i)
	}
	return fmt.Sprintf("issuers[%d] (%s)", i, is.Iss)
}

func (is *Issuer) validate() error {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}

	switch {
	case is.Iss == "":
		fail("iss", "is required")
	case strings.TrimSpace(is.Iss) != is.Iss:
		fail("iss", "has leading or trailing spaces (it must equal the token's iss exactly)")
	}

	var sources []string
	if is.JWKSURI != "" {
		sources = append(sources, "jwks_uri")
		if err := checkKeyURL(is.JWKSURI); err != nil {
			fail("jwks_uri", "%v", err)
		}
	}
	if is.hasInlineJWKS() {
		sources = append(sources, "jwks")
	}
	if is.JWKSFile != "" {
		sources = append(sources, "jwks_file")
		if is.fileJWKS == nil {
			fail("jwks_file", "was not read (load the trust with LoadTrustFile or ParseTrust)")
		}
	}
	if len(sources) != 1 {
		fail("keys", "exactly one of jwks_uri, jwks, jwks_file is required, got %d %q", len(sources), sources)
	}
	if raw := is.staticJWKS(); raw != nil {
		if _, err := parseJWKS(raw); err != nil {
			fail(sources[0], "%v", err)
		}
	}

	for _, u := range is.JKU {
		if err := checkKeyURL(u); err != nil {
			fail("jku", "%q: %v", u, err)
		}
	}
	for _, tn := range is.Tenants {
		if tn == "" {
			fail("tenants", "entries must not be empty")
		}
	}
	if err := checkFHIRServers(is.FHIRServers); err != nil {
		fail("fhir_servers", "%v", err)
	}
	if err := checkAlgorithms(is.Algorithms); err != nil {
		fail("algorithms", "%v", err)
	}
	return errors.Join(errs...)
}

func (is *Issuer) hasInlineJWKS() bool {
	raw := bytes.TrimSpace(is.JWKS)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// staticJWKS is the issuer's JWK Set when it is given inline or in a file, and
// nil when its keys are fetched (or not configured).
func (is *Issuer) staticJWKS() []byte {
	switch {
	case is.hasInlineJWKS() && is.JWKSFile == "":
		return is.JWKS
	case is.JWKSFile != "" && !is.hasInlineJWKS():
		return is.fileJWKS
	}
	return nil
}

// StaticJWKS is the issuer's JWK Set as the trust file gives it, inline (a
// JSON object, or a JSON string holding one) or in its jwks_file; nil when its
// keys are fetched. The server reads it to warn about keys known to be public.
func (is *Issuer) StaticJWKS() []byte { return is.staticJWKS() }

// anyFHIRServer reports whether the issuer may name any fhirServer.
func (is *Issuer) anyFHIRServer() bool {
	return len(is.FHIRServers) == 1 && is.FHIRServers[0] == AnyFHIRServer
}

// parseJWKS decodes a JWK Set given inline or in a file. It refuses private and
// symmetric keys (a trust file must only ever hold public keys) and keys
// without a kid (CDS Hooks tokens always name their key).
func parseJWKS(raw []byte) (jwkset.Storage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' { // a string holding the JSON
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("decoding JWK Set string: %w", err)
		}
		raw = []byte(s)
	}
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("decoding JWK Set: %w", err)
	}
	if err := checkYAMLBooleanKeys(raw); err != nil {
		return nil, err
	}
	if len(set.Keys) == 0 {
		return nil, errors.New(`JWK Set has no "keys"`)
	}
	kids := make(map[string]bool, len(set.Keys))
	for i, k := range set.Keys {
		switch {
		case k.KTY == jwkset.KtyOct:
			return nil, fmt.Errorf("key %d: symmetric (oct) keys are not allowed", i)
		case k.D != "" || k.P != "" || k.Q != "":
			return nil, fmt.Errorf("key %d: contains private key material; put only the public key here", i)
		case k.KID == "":
			return nil, fmt.Errorf("key %d: kid is required", i)
		case kids[k.KID]:
			return nil, fmt.Errorf("key %d: kid %q is used twice", i, k.KID)
		case k.USE != "" && k.USE != jwkset.UseSig:
			return nil, fmt.Errorf("key %d (kid %q): use is %q, want sig", i, k.KID, k.USE)
		}
		kids[k.KID] = true
	}
	store, err := set.ToStorage()
	if err != nil {
		return nil, fmt.Errorf("reading JWK Set: %w", err)
	}
	return store, nil
}

// checkYAMLBooleanKeys catches a trap of YAML 1.1 (which sigs.k8s.io/yaml
// follows): the unquoted mapping keys y (an EC coordinate) and n (an RSA
// modulus) read as the booleans true and false, so the key loses that member.
func checkYAMLBooleanKeys(raw []byte) error {
	var set struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return fmt.Errorf("decoding JWK Set: %w", err)
	}
	for i, k := range set.Keys {
		for boolean, member := range map[string]string{"true": "y", "false": "n"} {
			if _, ok := k[boolean]; ok {
				return fmt.Errorf("key %d: in YAML, quote the member %q (a bare %s means %s in YAML 1.1)", i, member, member, boolean)
			}
		}
	}
	return nil
}

// checkKeyURL accepts an absolute https URL, or http on a loopback host (tests
// and a JWKS served by a sidecar): key material must not travel in clear text.
func checkKeyURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	if !u.IsAbs() || u.Host == "" {
		return errors.New("must be an absolute URL")
	}
	if u.User != nil {
		return errors.New("must not contain credentials")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return errors.New("must use https (http is allowed only for localhost)")
	}
	return fmt.Errorf("scheme %q is not https", u.Scheme)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkFHIRServers accepts either "*" alone or absolute http(s) base URLs.
func checkFHIRServers(servers []string) error {
	for _, s := range servers {
		if s == AnyFHIRServer {
			if len(servers) != 1 {
				return errors.New(`"*" (any FHIR server) must be the only entry`)
			}
			continue
		}
		u, err := url.Parse(s)
		if err != nil {
			return fmt.Errorf("%q is not a URL: %w", s, err)
		}
		if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%q must be an absolute http(s) URL", s)
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("%q must be a base URL (no credentials, query or fragment)", s)
		}
	}
	return nil
}
