package cdshooks

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// DefaultInFlightMemory is the memory service and feedback calls may hold
// together when Config.InFlightMemory is zero: what a 256 MiB pod (the Helm
// chart's limit) has left after the process itself (about 50 MiB: runtime,
// knowledge base, caches).
const DefaultInFlightMemory = 200 << 20

// DefaultMaxInFlight is the most calls in progress at once when
// Config.MaxInFlight is zero, and the most waiting for a slot. Below it the
// admission adapts the number running to the CPU (see admission); it is
// high enough that a FHIR server stalled for the whole fallback deadline at
// 60 calls/s does not turn into refusals (a load run at 50/s with the first
// value, 64, answered 74 of 250 such calls 503).
const DefaultMaxInFlight = 128

// DefaultAnswerDeadline is the time a call has to be answered, from its
// arrival, when Config.AnswerDeadline is zero and the request carries no
// trusted deadline of its own: as long as the default FHIR fallback
// deadline (--fhir-timeout, 2 s), which it bounds.
const DefaultAnswerDeadline = 2 * time.Second

// queueBudgetShare is the part of a call's answer deadline it may spend
// waiting for a slot when Config.QueueBudget is zero: 1/20, 100 ms of the
// default 2 s. Past it, the call is refused rather than answered late.
const queueBudgetShare = 20

// maxTrustedDeadline bounds a deadline read from Config.DeadlineHeader: the
// HTTP server's own write timeout is 30 s.
const maxTrustedDeadline = 25 * time.Second

// writeGrace is how long after its answer deadline a call may still be
// writing its answer (a 412 cut short by the deadline, say) before the
// connection's write deadline stops it: a caller that does not read its
// answer holds nothing longer.
const writeGrace = time.Second

// refusalDrain bounds the time spent reading a refused call's body: a
// sender slower than that gets its 503 and a closed connection.
const refusalDrain = 100 * time.Millisecond

// callMemoryPerBodyByte is what one call may hold per byte of its body at
// worst: 40 parallel order-sign calls of 5 MB each took the process to 952 MB
// RSS, about 4.8 times the body per call.
const callMemoryPerBodyByte = 5

// minCallBody is the body size a call is charged at least: whatever it
// sends, it holds its record, its cards and its answer.
const minCallBody = 256 << 10

// retryAfterSeconds is what a shed caller is told to wait: calls take tens of
// milliseconds to a few seconds, so a slot is usually free by then.
const retryAfterSeconds = "1"

// memoryBudget is the memory the calls in progress are charged, against a
// limit, and what each issuer holds of it. An issuer may hold at most a
// fair share: the budget divided among the issuers holding some (itself
// included), so that one issuer's calls, however many or slow, leave the
// others their part.
type memoryBudget struct {
	mu       sync.Mutex
	used     int64
	max      int64
	byIssuer map[string]int64
}

// take charges issuer n more bytes, or reports that they do not fit in the
// budget or in the issuer's share.
func (b *memoryBudget) take(issuer string, n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	held, holding := b.byIssuer[issuer]
	holders := int64(len(b.byIssuer))
	if !holding {
		holders++
	}
	if b.used+n > b.max || held+n > b.max/holders {
		return false
	}
	b.used += n
	b.byIssuer[issuer] = held + n
	return true
}

// give returns n bytes issuer was charged.
func (b *memoryBudget) give(issuer string, n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	if held := b.byIssuer[issuer] - n; held > 0 {
		b.byIssuer[issuer] = held
	} else {
		delete(b.byIssuer, issuer)
	}
}

// chargedBody is a request body charged to the memory budget as it
// arrives: callMemoryPerBodyByte per byte read, at least minCallBody's
// worth (charged at admission), at most the whole budget. It fails with an
// EUNAVAILABLE error (503) when the next bytes do not fit or when the
// deadline has passed by the time it is read whole, and with ETIMEOUT (408)
// when the body has not arrived by the call's deadline (the connection's
// read deadline): the caller was too slow.
type chargedBody struct {
	body     io.ReadCloser
	budget   *memoryBudget
	issuer   string
	read     int64
	charged  int64
	deadline time.Time
	now      func() time.Time
	// refused is the reason the body was refused, "" if it was not.
	refused string
}

func (b *chargedBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.read += int64(n)
	if need := min(callMemoryPerBodyByte*max(b.read, minCallBody), b.budget.max) - b.charged; need > 0 {
		if !b.budget.take(b.issuer, need) {
			b.refused = refusedMemory
			return n, Errorf(EUNAVAILABLE, "too much is in progress to read this request now; retry in %s s", retryAfterSeconds)
		}
		b.charged += need
	}
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.refused = refusedTime
		return n, Errorf(ETIMEOUT, "the request body did not arrive before the answer deadline")
	case errors.Is(err, io.EOF) && b.now().After(b.deadline):
		b.refused = refusedTime
		return n, Errorf(EUNAVAILABLE, "the answer deadline passed before the request was read; retry in %s s", retryAfterSeconds)
	}
	return n, err
}

func (b *chargedBody) Close() error { return b.body.Close() }

// callCharge is the memory a call is charged at admission, before any of
// its body is read.
const callCharge = callMemoryPerBodyByte * minCallBody

// arrivedKey holds when a call arrived (see gate).
const arrivedKey = "cdshooks.arrived"

// gate runs first for every service and feedback call: it records when the
// call arrived (its answer deadline counts from then) and refuses at once a
// call the admission would refuse anyway (see admission.refuses), before
// its token is verified: under overload, verifying an ES384 signature costs
// more CPU than refusing, and it would be spent on calls refused after all.
// The issuer it checks is the one the token claims, unverified: a forged
// claim can only get its own call refused early, since only verified calls
// enter an issuer's queue (limitInFlight).
func (s *Server) gate(c *gin.Context) {
	arrived := s.now()
	c.Set(arrivedKey, arrived)
	timeout := s.callDeadline(c.Request)
	if reason := s.admission.refuses(claimedIssuer(c.Request), s.queueBudget(timeout)); reason != "" {
		s.shed(c, reason, arrived.Add(timeout))
	}
}

// claimedIssuer is the iss a request's bearer token claims, unverified ("" when
// there is none or it cannot be read).
func claimedIssuer(r *http.Request) string {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	_, rest, ok := strings.Cut(token, ".")
	payload, _, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || len(payload) > maxClaimedPayload {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return ""
	}
	var claims struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return ""
	}
	return claims.Iss
}

// maxClaimedPayload bounds the token payload claimedIssuer decodes: a CDS
// Hooks token's claims are a few hundred bytes.
const maxClaimedPayload = 8 << 10

// callDeadline is the time a call has to be answered: the one its trusted
// deadline header carries (Config.DeadlineHeader, whole milliseconds, at
// most maxTrustedDeadline), else Config.AnswerDeadline.
func (s *Server) callDeadline(r *http.Request) time.Duration {
	if s.cfg.DeadlineHeader == "" {
		return s.cfg.AnswerDeadline
	}
	ms, err := strconv.ParseInt(r.Header.Get(s.cfg.DeadlineHeader), 10, 64)
	if err != nil || ms <= 0 {
		return s.cfg.AnswerDeadline
	}
	return min(time.Duration(ms)*time.Millisecond, maxTrustedDeadline)
}

// queueBudget is how long a call with this deadline may wait for a slot:
// Config.QueueBudget for the configured deadline, in proportion for a
// deadline of the call's own.
func (s *Server) queueBudget(deadline time.Duration) time.Duration {
	return time.Duration(float64(s.cfg.QueueBudget) * min(1, float64(deadline)/float64(s.cfg.AnswerDeadline)))
}

// limitInFlight admits each service and feedback call (see admission): it
// runs now, waits for a slot at most its queue budget, or is refused at
// once with 503, Retry-After and an OperationOutcome (transient), counted
// by reason. An admitted call gets its answer deadline everywhere: in its
// context (the FHIR fallback and the store stop at it), as the connection's
// read deadline (its body must have arrived by then: this replaces the HTTP
// server's own read timeout, 15 s in cramp-cds serve) and, writeGrace later,
// as the write deadline. Its body is charged to the in-flight memory budget
// as it arrives (see chargedBody): a slow sender holds only what it sent.
// It runs after authentication, so callers without a valid token are never
// charged, and issuers are told apart by their verified iss.
func (s *Server) limitInFlight(c *gin.Context) {
	arrived, ok := c.Value(arrivedKey).(time.Time)
	if !ok {
		arrived = s.now()
	}
	timeout := s.callDeadline(c.Request)
	deadline := arrived.Add(timeout)
	budget := min(s.queueBudget(timeout), deadline.Sub(s.now()))
	issuer := callerOf(c).Issuer
	ctx := c.Request.Context()
	if ctx.Err() != nil {
		// The caller has gone (net/http cancels the context when the
		// connection closes): nobody would read the answer.
		s.metrics.RequestShed(ctx, s.serviceLabel(c), refusedTime)
		c.Abort()
		return
	}

	if !s.memory.take(issuer, callCharge) {
		s.metrics.AdmissionWait(ctx, s.serviceLabel(c), 0, false)
		s.shed(c, refusedMemory, deadline)
		return
	}
	charged := &chargedBody{body: c.Request.Body, budget: s.memory, issuer: issuer, charged: callCharge, deadline: deadline, now: s.now}
	defer func() { s.memory.give(issuer, charged.charged) }()
	rc := http.NewResponseController(c.Writer)
	_ = rc.SetReadDeadline(deadline) // not every writer supports it (tests, Invoke)
	_ = rc.SetWriteDeadline(deadline.Add(writeGrace))

	// The body is read before the call takes a slot: a slow sender holds
	// the memory it sent, never a slot others could run in.
	body, err := readBody(c.Request, charged, s.cfg.MaxBody)
	var ours *Error
	if errors.As(err, &ours) {
		s.metrics.RequestShed(ctx, s.serviceLabel(c), charged.refused)
		c.Abort()
		s.writeError(c, ours)
		return
	}
	c.Request.Body = body // other read errors (too large, cut short) are the decoder's to answer

	budget = min(budget, deadline.Sub(s.now()))
	release, waited, reason := s.admission.acquire(ctx, issuer, budget)
	s.metrics.AdmissionWait(ctx, s.serviceLabel(c), waited, reason == "")
	if reason != "" {
		s.shed(c, reason, deadline)
		return
	}
	defer release()

	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// readBody reads r's body whole through charged, at most maxBody bytes (a
// buffer sized by the declared length), and returns a body that replays
// it, then the error the read ended with, if any.
func readBody(r *http.Request, charged *chargedBody, maxBody int64) (io.ReadCloser, error) {
	if r.ContentLength > maxBody {
		return charged, nil // the decoder refuses it (413) unread
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(max(r.ContentLength, 0), maxBody)+bytes.MinRead))
	_, err := buf.ReadFrom(io.LimitReader(charged, maxBody+1))
	if err == nil && int64(buf.Len()) > maxBody {
		err = &http.MaxBytesError{Limit: maxBody}
	}
	replay := io.Reader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		replay = io.MultiReader(replay, errReader{err})
	}
	return io.NopCloser(replay), err
}

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// shed refuses a call that was not admitted. It reads what the caller is
// sending first (into nothing, at most MaxBody, for at most refusalDrain):
// a server that answers and closes with a body unread resets the
// connection, and the caller sees a reset instead of the 503.
func (s *Server) shed(c *gin.Context, reason string, deadline time.Time) {
	drainUntil := s.now().Add(refusalDrain)
	if deadline.Before(drainUntil) {
		drainUntil = deadline
	}
	_ = http.NewResponseController(c.Writer).SetReadDeadline(drainUntil)
	_, _ = io.Copy(io.Discard, http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxBody))
	s.metrics.RequestShed(c.Request.Context(), s.serviceLabel(c), reason)
	c.Abort()
	msg := "too many calls in progress; retry in %s s"
	if reason == refusedTime {
		msg = "this call cannot start within its deadline; retry in %s s"
	}
	s.writeError(c, Errorf(EUNAVAILABLE, msg, retryAfterSeconds))
}

// serviceLabel is the service id of the path when it is one of ours, else
// "unknown": a caller must not mint log fields or metric series.
func (s *Server) serviceLabel(c *gin.Context) string {
	id := c.Param("id")
	if _, ours := s.services[id]; !ours {
		return "unknown"
	}
	return id
}

// NoSniff adds X-Content-Type-Options: nosniff to every answer of h, so that
// no browser guesses a type other than the one we send (an error body taken
// for HTML, say). The server's handlers have it; the admin listener wraps
// its own with it.
func NoSniff(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}
