package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

// Reasons put in cdshooks.AuthFailure. They are stable, low-cardinality labels
// for logs and metrics and never contain token material.
const (
	ReasonMissingToken    = "missing_token"     // no Authorization header
	ReasonNotBearer       = "not_bearer"        // Authorization is not "Bearer <token>"
	ReasonMalformed       = "malformed"         // not a decodable JWS compact JWT
	ReasonBadAlg          = "bad_alg"           // alg not allowed for the issuer (none, HS*, ...)
	ReasonBadTyp          = "bad_typ"           // typ header is not JWT
	ReasonMissingKID      = "missing_kid"       // kid header absent or empty
	ReasonUnknownIssuer   = "unknown_issuer"    // iss absent or not in the trust file
	ReasonJKUNotAllowed   = "jku_not_allowed"   // jku header not on the issuer's list
	ReasonUnknownKID      = "unknown_kid"       // no usable key with that kid, even after a refresh
	ReasonBadSignature    = "bad_signature"     // signature does not verify
	ReasonBadAudience     = "bad_audience"      // aud absent or not the URL called
	ReasonMissingExp      = "missing_exp"       // no exp claim
	ReasonExpired         = "expired"           // exp (plus leeway) has passed
	ReasonMissingIat      = "missing_iat"       // no iat claim
	ReasonIatFuture       = "iat_future"        // iat (minus leeway) is in the future
	ReasonNotYetValid     = "not_yet_valid"     // nbf (minus leeway) is in the future
	ReasonLifetimeTooLong = "lifetime_too_long" // exp - iat exceeds Options.MaxLifetime
	ReasonMissingJTI      = "missing_jti"       // no jti claim
	ReasonLongJTI         = "jti_too_long"      // jti longer than maxJTIBytes
	ReasonReplayed        = "replayed"          // this iss|jti was already accepted
	ReasonBadTenant       = "bad_tenant"        // tenant absent or not listed for the issuer
)

// maxJTIBytes bounds the jti we accept: a uuid is 36 bytes, and the replay
// cache's entries stay small whatever a caller sends (it keeps a hash).
const maxJTIBytes = 256

// maxTokenBytes bounds the bearer token we are willing to parse; CDS Hooks
// tokens are well under 2 KB.
const maxTokenBytes = 16 << 10

// Options tune a Verifier. The zero value gives the defaults documented on
// each field.
type Options struct {
	// Algorithms is the server-wide JWS algorithm allow-list (default
	// DefaultAlgorithms: ES384, RS384). An issuer's own algorithms replace it.
	Algorithms []string
	// Leeway tolerates clock skew on exp, iat and nbf (default 30s, at most 5m).
	Leeway time.Duration
	// MaxLifetime refuses tokens whose exp - iat is longer (default 1h, the
	// CDS Hooks best practice); it also bounds how long the replay cache holds
	// an entry.
	MaxLifetime time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// HTTPClient fetches jwks_uri key sets (default: a plain http.Client; pass
	// one with an otelhttp transport to trace the fetches).
	HTTPClient *http.Client
	// ReplayCacheSize caps the number of remembered jti (default 100000).
	ReplayCacheSize int
	// SharedReplay, when set, is asked too about every token this process
	// has not seen, so a token replayed to another replica is caught. Its
	// answer is awaited by Authenticate, and by the confirm that
	// AuthenticatePending returns: so a server may evaluate the call while
	// the shared check's round trip is under way.
	SharedReplay ReplayCache
	// KeyRefreshInterval is how often jwks_uri key sets are re-fetched
	// (default 15m).
	KeyRefreshInterval time.Duration
	// UnknownKIDRefreshInterval is the least time between two re-fetches of an
	// issuer's jwks_uri caused by tokens naming an unknown kid (default 30s),
	// so garbage tokens cannot make us hammer the EHR.
	UnknownKIDRefreshInterval time.Duration
	// Logger receives key-refresh failures and replay-cache warnings (default:
	// discard). Tokens are never logged.
	Logger *slog.Logger
}

// Verifier authenticates CDS Hooks requests against a Trust. It implements
// cdshooks.Authenticator and is safe for concurrent use.
type Verifier struct {
	issuers     map[string]*issuer
	parser      *jwt.Parser
	algs        []string // union of all issuers' algorithms
	leeway      time.Duration
	maxLifetime time.Duration
	now         func() time.Time
	replay      *replayCache
	shared      ReplayCache
	logger      *slog.Logger
	lastWarn    atomic.Int64 // unix seconds of the last replay-cache-full warning
	cancel      context.CancelFunc
}

var _ cdshooks.PendingAuthenticator = (*Verifier)(nil)

// NewVerifier builds a Verifier for t. It fetches each jwks_uri once before
// returning (a failed fetch is logged, not fatal: the EHR's key server may be
// briefly down, and an unknown kid triggers a rate-limited re-fetch), then keeps
// refreshing until ctx is done or Close is called.
func NewVerifier(ctx context.Context, t *Trust, opts Options) (*Verifier, error) {
	if t == nil {
		return nil, errors.New("no trust given")
	}
	if err := t.validate(); err != nil {
		return nil, fmt.Errorf("invalid trust: %w", err)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithCancel(ctx)
	v := &Verifier{
		issuers:     make(map[string]*issuer, len(t.Issuers)),
		leeway:      opts.Leeway,
		maxLifetime: opts.MaxLifetime,
		now:         opts.Now,
		replay:      newReplayCache(opts.ReplayCacheSize),
		shared:      opts.SharedReplay,
		logger:      opts.Logger,
		cancel:      cancel,
	}
	for i := range t.Issuers {
		is, err := newIssuer(ctx, &t.Issuers[i], opts)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("%s: %w", t.Issuers[i].label(i), err)
		}
		v.issuers[is.iss] = is
		for _, a := range is.algs {
			if !slices.Contains(v.algs, a) {
				v.algs = append(v.algs, a)
			}
		}
	}
	// Claims are checked by checkClaims after the signature, so that each
	// failure gets its own reason and iat is required (jwt only checks it).
	v.parser = jwt.NewParser(jwt.WithValidMethods(v.algs), jwt.WithoutClaimsValidation())
	return v, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Algorithms == nil {
		o.Algorithms = DefaultAlgorithms()
	}
	if len(o.Algorithms) == 0 {
		return o, errors.New("options: Algorithms is empty")
	}
	if err := checkAlgorithms(o.Algorithms); err != nil {
		return o, fmt.Errorf("options: Algorithms: %w", err)
	}
	if o.Leeway == 0 {
		o.Leeway = 30 * time.Second
	}
	if o.Leeway < 0 || o.Leeway > 5*time.Minute {
		return o, fmt.Errorf("options: Leeway %v must be between 0 and 5m", o.Leeway)
	}
	if o.MaxLifetime <= 0 {
		o.MaxLifetime = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.ReplayCacheSize <= 0 {
		o.ReplayCacheSize = 100_000
	}
	if o.KeyRefreshInterval <= 0 {
		o.KeyRefreshInterval = 15 * time.Minute
	}
	if o.UnknownKIDRefreshInterval <= 0 {
		o.UnknownKIDRefreshInterval = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// Close stops the background refresh of jwks_uri key sets. It is safe to call
// more than once.
func (v *Verifier) Close() { v.cancel() }

// tokenClaims are the claims CDS Hooks defines; sub is deliberately not read.
type tokenClaims struct {
	jwt.RegisteredClaims
	Tenant string `json:"tenant,omitempty"`
}

// Authenticate verifies the request's bearer JWT for audience, the exact URL
// the caller must have addressed (built from the public base URL, never from
// the Host header). On failure it returns a *cdshooks.AuthFailure whose Reason
// is one of the Reason constants; neither it nor anything logged contains the
// token. It waits for the shared replay check, if any.
func (v *Verifier) Authenticate(r *http.Request, audience string) (cdshooks.Caller, error) {
	caller, confirm, err := v.AuthenticatePending(r, audience)
	if err == nil {
		err = confirm()
	}
	if err != nil {
		return cdshooks.Caller{}, err
	}
	return caller, nil
}

// AuthenticatePending is Authenticate without waiting for the shared replay
// check (Options.SharedReplay): every other check, the process's own replay
// cache included, is done when it returns; the shared one has started, and
// confirm waits for it, returning the same ReasonReplayed failure as
// Authenticate when another replica had accepted the token. confirm never
// fails when the shared cache cannot tell (the process's own check stands),
// and waits no longer than the shared cache takes to answer or give up (the
// store's Recorder gives up after its ReadTimeout). It may be called more
// than once.
func (v *Verifier) AuthenticatePending(r *http.Request, audience string) (cdshooks.Caller, func() error, error) {
	raw, fail := bearerToken(r.Header)
	if fail != nil {
		return cdshooks.Caller{}, nil, fail
	}

	// The keyfunc runs after the token is decoded and before the signature is
	// checked: it picks the issuer by the still unverified iss and checks the
	// header against that issuer's rules before any key lookup, so a token can
	// never make us fetch a URL of its choosing.
	var claims tokenClaims
	var is *issuer
	tok, err := v.parser.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		var f *cdshooks.AuthFailure
		if is, f = v.issuerFor(t, &claims); f != nil {
			return nil, f
		}
		return is.key(r.Context(), t)
	})
	if err != nil {
		return cdshooks.Caller{}, nil, v.classify(tok, err)
	}

	// The signature is valid: from here on every reason describes a token
	// really issued by a trusted EHR, which makes these counts worth reading.
	now := v.now()
	if f := v.checkClaims(is, &claims, audience, now); f != nil {
		return cdshooks.Caller{}, nil, f
	}
	until := claims.ExpiresAt.Add(v.leeway)
	replayed, evicted := v.replay.seen(is.iss, claims.ID, until, now)
	if evicted {
		v.warnReplayCacheFull(r.Context(), now)
	}
	if replayed {
		return cdshooks.Caller{}, nil, replayFailure(is.iss, claims.ID)
	}
	confirm := func() error { return nil }
	if v.shared != nil {
		confirm = v.checkShared(r.Context(), is.iss, claims.ID, until)
	}
	return cdshooks.Caller{
		Issuer:        is.iss,
		Tenant:        claims.Tenant,
		FHIRServers:   slices.Clone(is.fhirServers),
		AnyFHIRServer: is.anyFHIR,
	}, confirm, nil
}

// checkShared starts asking the shared replay cache about a token this
// process had not seen, and returns what waits for the answer. The check
// runs to its end even if the caller goes away, so that the token is
// recorded as used whatever happens to the request.
func (v *Verifier) checkShared(ctx context.Context, iss, jti string, until time.Time) func() error {
	replayed := make(chan bool, 1)
	ctx = context.WithoutCancel(ctx)
	go func() {
		// An error means the shared cache could not tell: this process's
		// own check stands (the implementation counts and logs its failures).
		seen, _ := v.shared.SeenToken(ctx, iss, jti, until)
		replayed <- seen
	}()
	return sync.OnceValue(func() error {
		if <-replayed {
			return replayFailure(iss, jti)
		}
		return nil
	})
}

func replayFailure(iss, jti string) *cdshooks.AuthFailure {
	return failure(ReasonReplayed, "jti %s of %s was already used", clip(jti), iss)
}

// bearerToken extracts the token from "Authorization: Bearer <token>".
func bearerToken(h http.Header) (string, *cdshooks.AuthFailure) {
	values := h.Values("Authorization")
	switch {
	case len(values) == 0 || values[0] == "":
		return "", failure(ReasonMissingToken, "no Authorization header")
	case len(values) > 1:
		return "", failure(ReasonMalformed, "%d Authorization headers", len(values))
	}
	scheme, token, _ := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		// The scheme is not echoed: without a space it is the whole credential.
		return "", failure(ReasonNotBearer, "Authorization scheme is not Bearer")
	}
	token = strings.TrimSpace(token)
	switch {
	case token == "":
		return "", failure(ReasonMalformed, "empty bearer token")
	case len(token) > maxTokenBytes:
		return "", failure(ReasonMalformed, "bearer token of %d bytes is too long", len(token))
	}
	return token, nil
}

// issuerFor checks the JOSE header and picks the trusted issuer named by the
// (not yet verified) iss claim.
func (v *Verifier) issuerFor(t *jwt.Token, c *tokenClaims) (*issuer, *cdshooks.AuthFailure) {
	if typ, _ := t.Header["typ"].(string); !strings.EqualFold(typ, "JWT") {
		return nil, failure(ReasonBadTyp, "typ header %s is not JWT", clip(fmt.Sprint(t.Header["typ"])))
	}
	if _, ok := t.Header["crit"]; ok {
		// RFC 7515 4.1.11: extensions named in crit must be understood; we know none.
		return nil, failure(ReasonMalformed, "crit header names extensions we do not support")
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, failure(ReasonMissingKID, "no kid header")
	}
	is, ok := v.issuers[c.Issuer]
	if !ok {
		return nil, failure(ReasonUnknownIssuer, "iss %s is not in the trust file", clip(c.Issuer))
	}
	if alg := t.Method.Alg(); !slices.Contains(is.algs, alg) {
		return nil, failure(ReasonBadAlg, "alg %s is not allowed for %s", alg, is.iss)
	}
	if jku, present := t.Header["jku"]; present {
		s, _ := jku.(string)
		if !slices.Contains(is.jku, s) {
			return nil, failure(ReasonJKUNotAllowed, "jku %s is not listed for %s", clip(fmt.Sprint(jku)), is.iss)
		}
	}
	return is, nil
}

// classify turns a jwt parse error into an AuthFailure.
func (v *Verifier) classify(tok *jwt.Token, err error) *cdshooks.AuthFailure {
	var f *cdshooks.AuthFailure
	switch {
	case errors.As(err, &f):
		return f
	case errors.Is(err, jwt.ErrTokenMalformed):
		return &cdshooks.AuthFailure{Reason: ReasonMalformed, Err: err}
	case tok != nil && !slices.Contains(v.algs, headerAlg(tok)):
		return failure(ReasonBadAlg, "alg %s is not allowed", clip(headerAlg(tok)))
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return &cdshooks.AuthFailure{Reason: ReasonBadSignature, Err: err}
	}
	return &cdshooks.AuthFailure{Reason: ReasonMalformed, Err: err}
}

func headerAlg(t *jwt.Token) string {
	alg, _ := t.Header["alg"].(string)
	return alg
}

// checkClaims checks the claims of a token whose signature is valid, in the
// order of the CDS Hooks best practices.
func (v *Verifier) checkClaims(is *issuer, c *tokenClaims, audience string, now time.Time) *cdshooks.AuthFailure {
	switch {
	case audience == "" || !slices.Contains(c.Audience, audience):
		return failure(ReasonBadAudience, "aud %s does not name %s", clip(strings.Join(c.Audience, " ")), audience)
	case c.ExpiresAt == nil:
		return failure(ReasonMissingExp, "no exp claim")
	case !now.Before(c.ExpiresAt.Add(v.leeway)):
		return failure(ReasonExpired, "expired at %s", c.ExpiresAt.UTC().Format(time.RFC3339))
	case c.IssuedAt == nil:
		return failure(ReasonMissingIat, "no iat claim")
	case now.Before(c.IssuedAt.Add(-v.leeway)):
		return failure(ReasonIatFuture, "issued in the future, at %s", c.IssuedAt.UTC().Format(time.RFC3339))
	case c.NotBefore != nil && now.Before(c.NotBefore.Add(-v.leeway)):
		return failure(ReasonNotYetValid, "not valid before %s", c.NotBefore.UTC().Format(time.RFC3339))
	case c.ExpiresAt.Sub(c.IssuedAt.Time) > v.maxLifetime:
		return failure(ReasonLifetimeTooLong, "lifetime %v exceeds %v", c.ExpiresAt.Sub(c.IssuedAt.Time), v.maxLifetime)
	case c.ID == "":
		return failure(ReasonMissingJTI, "no jti claim")
	case len(c.ID) > maxJTIBytes:
		return failure(ReasonLongJTI, "jti of %d bytes is longer than %d", len(c.ID), maxJTIBytes)
	case len(is.tenants) > 0 && !slices.Contains(is.tenants, c.Tenant):
		return failure(ReasonBadTenant, "tenant %s is not listed for %s", clip(c.Tenant), is.iss)
	}
	return nil
}

// warnReplayCacheFull logs at most once a minute that live entries are being
// evicted, which weakens replay protection until the cache is made larger.
func (v *Verifier) warnReplayCacheFull(ctx context.Context, now time.Time) {
	last := v.lastWarn.Load()
	if now.Unix()-last < 60 || !v.lastWarn.CompareAndSwap(last, now.Unix()) {
		return
	}
	v.logger.WarnContext(ctx, "replay cache full: forgetting the jti closest to expiry; raise the replay cache size")
}

func failure(reason, format string, args ...any) *cdshooks.AuthFailure {
	return &cdshooks.AuthFailure{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// clip quotes an untrusted value for a message, cut short so that a hostile
// header or claim cannot flood the logs.
func clip(s string) string {
	return fmt.Sprintf("%q", cdshooks.LogString(s))
}
