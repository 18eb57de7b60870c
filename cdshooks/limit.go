package cdshooks

import (
	"io"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
)

// DefaultInFlightMemory is the memory service and feedback calls may hold
// together when Config.InFlightMemory is zero: what a 256 MiB pod (the Helm
// chart's limit) has left after the process itself (about 50 MiB: runtime,
// knowledge base, caches).
const DefaultInFlightMemory = 200 << 20

// DefaultMaxInFlight is the number of calls in progress at once when
// Config.MaxInFlight is zero. Memory is bounded by InFlightMemory; this
// bounds the goroutines, the open FHIR fallbacks and the CPU queue, and is
// high enough that a FHIR server stalled for the whole 2 s fallback deadline
// at 60 calls/s does not turn into refusals (a load run at 50/s with the
// first value, 64, answered 74 of 250 such calls 503).
const DefaultMaxInFlight = 128

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

// inFlight counts the calls in progress and the memory they are charged,
// each against its limit. It never queues: a call either fits now or not.
type inFlight struct {
	mu                 sync.Mutex
	calls, memory      int64
	maxCalls, maxBytes int64
}

// acquire charges one call of n bytes, or reports that it does not fit.
// A call larger than the whole budget is charged the whole budget, so that
// it runs alone rather than never.
func (l *inFlight) acquire(n int64) (charged int64, ok bool) {
	n = min(n, l.maxBytes)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls >= l.maxCalls || l.memory+n > l.maxBytes {
		return 0, false
	}
	l.calls++
	l.memory += n
	return n, true
}

// release undoes one acquire.
func (l *inFlight) release(charged int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls--
	l.memory -= charged
}

// callCharge is the memory a call with this declared body length is charged:
// callMemoryPerBodyByte times its body, at least minCallBody. A body of
// unknown length (chunked) may be as large as maxBody, and is charged so.
func callCharge(contentLength, maxBody int64) int64 {
	body := maxBody
	if contentLength >= 0 && contentLength < maxBody {
		body = contentLength
	}
	return callMemoryPerBodyByte * max(body, minCallBody)
}

// limitInFlight holds every service and feedback call to Config.MaxInFlight
// calls and Config.InFlightMemory bytes, each call charged by the size of
// its body, so that the bodies being read and the answers being built fit in
// memory however many calls arrive at once, and a burst of small calls is
// not refused for the sake of the largest body the server accepts (8 calls
// of 5 MiB, or 128 of the usual 100 KB, by default). A call that does not fit
// is refused at once (503, Retry-After, counted) rather than queued: a queue
// would hold its body too, and an EHR gives up on a slow answer anyway. It
// runs after authentication, so callers without a valid token are never
// charged.
func (s *Server) limitInFlight(c *gin.Context) {
	charged, ok := s.inFlight.acquire(callCharge(c.Request.ContentLength, s.cfg.MaxBody))
	if ok {
		defer s.inFlight.release(charged)
		c.Next()
		return
	}
	// Read what the caller is sending (into nothing, at most MaxBody) before
	// answering: a server that answers and closes with a body unread resets
	// the connection, and the caller sees a reset instead of the 503.
	_, _ = io.Copy(io.Discard, http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxBody))
	s.metrics.RequestShed(c.Request.Context(), s.serviceLabel(c))
	c.Header("Retry-After", retryAfterSeconds)
	c.Abort()
	s.writeError(c, Errorf(EUNAVAILABLE, "too many calls in progress; retry in %s s", retryAfterSeconds))
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
