package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// maxJWKSBytes bounds a fetched JWK Set; real ones hold a few keys (a few KB).
const maxJWKSBytes = 1 << 20

// issuer is a trusted issuer ready for verification.
type issuer struct {
	iss         string
	keys        jwkset.Storage
	algs        []string
	jku         []string
	tenants     []string
	fhirServers []string
	anyFHIR     bool
}

func newIssuer(ctx context.Context, ti *Issuer, opts Options) (*issuer, error) {
	is := &issuer{
		iss:         ti.Iss,
		algs:        opts.Algorithms,
		jku:         slices.Clone(ti.JKU),
		tenants:     ti.Tenants,
		fhirServers: ti.FHIRServers,
		anyFHIR:     ti.anyFHIRServer(),
	}
	if len(ti.Algorithms) > 0 {
		is.algs = ti.Algorithms
	}
	if is.anyFHIR {
		is.fhirServers = nil
	}
	if ti.JWKSURI == "" {
		keys, err := parseJWKS(ti.staticJWKS())
		if err != nil {
			return nil, err
		}
		is.keys = keys
		return is, nil
	}

	// The key set's own URL is a jku its tokens may name.
	is.jku = append(is.jku, ti.JWKSURI)
	logger := opts.Logger.With("iss", ti.Iss)
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{ti.JWKSURI}, keyfunc.Override{
		Client:            keyFetchClient(opts.HTTPClient),
		HTTPTimeout:       5 * time.Second,
		RefreshInterval:   opts.KeyRefreshInterval,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(opts.UnknownKIDRefreshInterval), 1),
		// A request naming an unknown kid waits at most this long for the
		// limiter and the fetch, instead of keyfunc's default minute.
		RateLimitWaitMax: time.Second,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				logger.WarnContext(ctx, "fetching JWKS failed", "jwks_uri", u, "error", err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("jwks_uri: %w", err)
	}
	is.keys = kf.Storage()
	return is, nil
}

// keyFetchClient copies base so that a key-set response is cut at
// maxJWKSBytes (keyfunc decodes the body unbounded) and a redirect never leads
// off https, the same rule as for jwks_uri itself.
func keyFetchClient(base *http.Client) *http.Client {
	c := *base
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = limitBody{next: next}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		return checkKeyURL(req.URL.String())
	}
	return &c
}

// limitBody is an http.RoundTripper whose response bodies end after maxJWKSBytes.
type limitBody struct{ next http.RoundTripper }

func (l limitBody) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.LimitReader(resp.Body, maxJWKSBytes), resp.Body}
	return resp, nil
}

// key returns the issuer's public key named by the token's kid. For a jwks_uri
// issuer an unknown kid triggers a rate-limited re-fetch of that URL (and only
// that URL), which is how rotated keys are picked up without a restart.
func (is *issuer) key(ctx context.Context, t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	jwk, err := is.keys.KeyRead(ctx, kid)
	if err != nil {
		return nil, failure(ReasonUnknownKID, "no key %s for %s", clip(kid), is.iss)
	}
	if a := string(jwk.Marshal().ALG); a != "" && a != t.Method.Alg() {
		return nil, failure(ReasonBadAlg, "key %s is for %s, token says %s", clip(kid), a, t.Method.Alg())
	}
	if u := jwk.Marshal().USE; u != "" && u != jwkset.UseSig {
		return nil, failure(ReasonUnknownKID, "key %s is not a signing key", clip(kid))
	}
	key := jwk.Key()
	if pk, ok := key.(interface{ Public() crypto.PublicKey }); ok {
		key = pk.Public() // a private key published by mistake: use only its public half
	}
	switch key.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
		return key, nil
	}
	return nil, failure(ReasonUnknownKID, "key %s has an unsupported type %T", clip(kid), key)
}
