package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"sigs.k8s.io/yaml"
)

// The local development issuer: a key pair generated on this machine, never
// committed (.gitignore lists the directory), trusted by `make run` and used
// by `cramp-cds demo` and `cramp-cds token`. It stands in for an EHR, so a
// newcomer can call the service with curl without the sandbox's public key.
const (
	devDir       = ".cramp-cds-dev"
	devKeyFile   = "dev-signing-key.pem"
	devTrustFile = "trust.yaml"
	// devIssuer is the iss of the development tokens: an address no EHR has.
	devIssuer = "https://dev.cramp-cds.invalid"
	// devTokenLifetime is what CDS Hooks recommends for a client's JWT.
	devTokenLifetime = 5 * time.Minute
)

// devKey is the development key pair and where its files are.
type devKey struct {
	dir string
	key *ecdsa.PrivateKey
	kid string
}

// loadOrCreateDevKey reads dir's key, generating it (P-384, for ES384, mode
// 0600) the first time.
func loadOrCreateDevKey(dir string) (*devKey, error) {
	path := filepath.Join(dir, devKeyFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createDevKey(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the development key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s holds no PKCS #8 private key; delete it to generate a new one", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P384() {
		return nil, fmt.Errorf("%s is not a P-384 key; delete it to generate a new one", path)
	}
	return newDevKey(dir, key)
}

func createDevKey(dir string) (*devKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the development key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding the development key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	path := filepath.Join(dir, devKeyFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("writing the development key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return newDevKey(dir, key)
}

// newDevKey names the key by a hash of its public half, so a new key gets a
// new kid.
func newDevKey(dir string, key *ecdsa.PrivateKey) (*devKey, error) {
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encoding the development public key: %w", err)
	}
	sum := sha256.Sum256(pub)
	return &devKey{dir: dir, key: key, kid: "dev-" + hex.EncodeToString(sum[:8])}, nil
}

// publicJWK is the key's public half as a JWK (RFC 7518 §6.2.1).
func (k *devKey) publicJWK() (map[string]string, error) {
	pub, err := k.key.PublicKey.ECDH()
	if err != nil {
		return nil, fmt.Errorf("reading the development public key: %w", err)
	}
	point := pub.Bytes() // 0x04 || X || Y, each 48 bytes for P-384
	b64 := base64.RawURLEncoding.EncodeToString
	return map[string]string{
		"kty": "EC", "crv": "P-384", "use": "sig", "alg": "ES384", "kid": k.kid,
		"x": b64(point[1:49]), "y": b64(point[49:]),
	}, nil
}

// writeTrust writes a trust file at path trusting the development key,
// followed by the issuers of each file in also (the sandbox's, for `make
// run`). It is written as JSON, which is YAML, so the JWK member "y" needs no
// quoting rule.
func (k *devKey) writeTrust(path string, also ...string) error {
	jwk, err := k.publicJWK()
	if err != nil {
		return err
	}
	issuers := []any{map[string]any{
		"iss":  devIssuer,
		"jwks": map[string]any{"keys": []any{jwk}},
		// The examples name a fhirServer, and a caller may name only the
		// ones it is granted; any, as the sandbox's, for this local key.
		"fhir_servers": []string{"*"},
	}}
	for _, file := range also {
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("reading %s: %w", file, err)
		}
		var other struct {
			Issuers []json.RawMessage `json:"issuers"`
		}
		if err := yaml.Unmarshal(data, &other); err != nil {
			return fmt.Errorf("reading %s: %w", file, err)
		}
		for _, is := range other.Issuers {
			issuers = append(issuers, is)
		}
	}
	out, err := json.MarshalIndent(map[string]any{"issuers": issuers}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the development trust file: %w", err)
	}
	header := "# Generated by cramp-cds: trusts the local development key" +
		" (and the issuers of the files it was given). Never for production.\n"
	if err := os.WriteFile(path, append([]byte(header), append(out, '\n')...), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// token signs a JWT as an EHR would for a call to aud (the full URL called).
func (k *devKey) token(aud string, now time.Time) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodES384, jwt.MapClaims{
		"iss": devIssuer,
		"aud": aud,
		"iat": now.Unix(),
		"exp": now.Add(devTokenLifetime).Unix(),
		"jti": uuid.NewString(),
	})
	t.Header["kid"] = k.kid
	s, err := t.SignedString(k.key)
	if err != nil {
		return "", fmt.Errorf("signing the development token: %w", err)
	}
	return s, nil
}

const tokenUsage = `Usage: cramp-cds token [--dir DIR] URL
       cramp-cds token [--dir DIR] --trust-out FILE [--trust-also FILE]...

Prints a JWT for a call to URL (the exact URL called, e.g.
http://localhost:8080/cds-services/nocturnal-leg-cramps), signed by the local
development key in DIR (generated there the first time), valid for 5
minutes. ` + "`make run`" + ` trusts that key. Never for production.
With --trust-out, writes a trust file trusting the key (and the issuers of
each --trust-also file) instead.

`

// runToken is `cramp-cds token`.
func runToken(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, tokenUsage); fs.PrintDefaults() }
	dir := fs.String("dir", devDir, "directory of the development key and its trust file")
	trustOut := fs.String("trust-out", "", "write a trust file trusting the key here (and print no token)")
	var also stringsFlag
	fs.Var(&also, "trust-also", "with --trust-out: a trust file whose issuers it lists too (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	key, err := loadOrCreateDevKey(*dir)
	if err != nil {
		return err
	}
	if *trustOut != "" {
		if fs.NArg() != 0 {
			return errors.New("token: --trust-out prints no token: give no URL")
		}
		return key.writeTrust(*trustOut, also...)
	}
	if len(also) > 0 {
		return errors.New("token: --trust-also needs --trust-out")
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("token: want exactly one URL")
	}
	tok, err := key.token(fs.Arg(0), time.Now())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return fmt.Sprint(*s) }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }
