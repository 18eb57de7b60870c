package cdshooks

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// logRequests writes one line per request: method, route pattern, service id,
// status, duration and error code. Never the raw path, query, headers or body,
// which may carry tokens or patient data.
func (s *Server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := routeOf(c)
	level := slog.LevelInfo
	if route == "/healthz" || route == "/readyz" {
		level = slog.LevelDebug // probes would drown everything else
	}
	attrs := []slog.Attr{
		slog.String("method", LogString(c.Request.Method)),
		slog.String("route", route),
		slog.Int("status", c.Writer.Status()),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
	}
	if c.Param("id") != "" {
		attrs = append(attrs, slog.String("service", s.serviceLabel(c)))
	}
	if code, ok := c.Get(errorCodeKey); ok {
		attrs = append(attrs, slog.Any("error", code))
	}
	s.logger.LogAttrs(c.Request.Context(), level, "request", attrs...)
}

// recoverPanics turns a panic in any later handler into a logged internal
// error and a 500, and keeps serving.
func (s *Server) recoverPanics(c *gin.Context) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
			panic(v) // net/http's way to abort a response on purpose
		}
		err := fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		c.Abort()
		if c.Writer.Written() {
			c.Set(errorCodeKey, EINTERNAL)
			s.logger.ErrorContext(c.Request.Context(), "internal error after the response started", "route", routeOf(c), "error", logError(err))
			return
		}
		s.writeError(c, err)
	}()
	c.Next()
}

// CORS settings: the CDS Hooks sandbox (a browser app) sends Authorization and
// Content-Type, which both need a preflight.
const (
	corsAllowMethods = "GET, POST, OPTIONS"
	corsAllowHeaders = "Authorization, Content-Type, Accept"
	corsMaxAge       = "600"
)

// cors answers every OPTIONS request itself, without authentication (browsers
// never send credentials on a preflight), and adds the CORS headers for
// allowed origins, including Chrome's Private Network Access grant so that a
// public web page (the sandbox) may call us on localhost or a hospital network.
func (s *Server) cors(c *gin.Context) {
	origin := c.GetHeader("Origin")
	allowed := origin != "" && s.originAllowed(origin)
	if !s.anyOrig {
		c.Writer.Header().Add("Vary", "Origin")
	}
	if allowed {
		if s.anyOrig {
			c.Header("Access-Control-Allow-Origin", "*")
		} else {
			c.Header("Access-Control-Allow-Origin", origin)
		}
	}
	if c.Request.Method != http.MethodOptions {
		c.Next()
		return
	}
	c.Header("Allow", corsAllowMethods)
	if allowed && c.GetHeader("Access-Control-Request-Method") != "" {
		c.Header("Access-Control-Allow-Methods", corsAllowMethods)
		c.Header("Access-Control-Allow-Headers", corsAllowHeaders)
		c.Header("Access-Control-Max-Age", corsMaxAge)
		if strings.EqualFold(c.GetHeader("Access-Control-Request-Private-Network"), "true") {
			c.Header("Access-Control-Allow-Private-Network", "true")
		}
	}
	c.AbortWithStatus(http.StatusNoContent)
}

func (s *Server) originAllowed(origin string) bool {
	if s.anyOrig {
		return true
	}
	for _, o := range s.cfg.CORSOrigins {
		if strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	return false
}

// authenticate lets a request through only if the Authenticator accepts its
// caller for this endpoint's URL, and hands the Caller to the handler. With no
// Authenticator (--insecure-no-auth) every request passes, loudly. A
// PendingAuthenticator's late check is left running: confirmed awaits it.
func (s *Server) authenticate(c *gin.Context) {
	if s.auth == nil {
		s.logger.WarnContext(c.Request.Context(), "authentication is disabled (--insecure-no-auth): caller not verified", "route", routeOf(c))
		c.Set(callerKey, Caller{})
		return
	}
	audience := s.audience(c.Request)
	var caller Caller
	var confirm func() error
	var err error
	if pa, ok := s.auth.(PendingAuthenticator); ok {
		caller, confirm, err = pa.AuthenticatePending(c.Request, audience)
	} else {
		caller, err = s.auth.Authenticate(c.Request, audience)
	}
	if err != nil {
		s.refuse(c, err)
		return
	}
	c.Set(callerKey, caller)
	if confirm != nil {
		c.Set(confirmKey, confirm)
	}
}

// confirmed waits for what a PendingAuthenticator left running, the first
// time it is called in a request. It reports whether the caller is
// confirmed; if not, it has answered 401.
func (s *Server) confirmed(c *gin.Context) bool {
	v, ok := c.Get(confirmKey)
	if !ok {
		return true
	}
	confirm, _ := v.(func() error)
	if confirm == nil {
		return true
	}
	c.Set(confirmKey, nil) // the 401 below is written through writeJSON too
	if err := confirm(); err != nil {
		s.refuse(c, err)
		return false
	}
	return true
}

// refuse answers an authentication failure with 401, counted by reason.
func (s *Server) refuse(c *gin.Context, err error) {
	var af *AuthFailure
	if errors.As(err, &af) {
		s.metrics.JWTRejected(c.Request.Context(), af.Reason)
	}
	c.Abort()
	s.writeError(c, err)
}

// publicURL is one of Config.PublicURLs: the base as written (without a
// trailing slash) and its host, which the request's Host is compared with.
type publicURL struct {
	base, host string
}

// parsePublicURLs checks and parses Config.PublicURLs: each must be an
// absolute http(s) URL without query or fragment.
func parsePublicURLs(urls []string) ([]publicURL, error) {
	out := make([]publicURL, 0, len(urls))
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("public URL %q is not an absolute http(s) URL without query or fragment", raw)
		}
		out = append(out, publicURL{base: strings.TrimRight(raw, "/"), host: u.Host})
	}
	return out, nil
}

// audience is the URL the caller must have addressed its token to: the
// public URL whose host is the request's Host (else the first) plus the
// path. The Host header only picks among the configured URLs, and
// X-Forwarded-* headers are never looked at. Without public URLs it is "",
// which no Authenticator accepts.
func (s *Server) audience(r *http.Request) string {
	if len(s.publicURLs) == 0 {
		return ""
	}
	base := s.publicURLs[0].base
	for _, p := range s.publicURLs {
		if strings.EqualFold(p.host, r.Host) {
			base = p.base
			break
		}
	}
	return base + r.URL.Path
}
