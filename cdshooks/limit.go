package cdshooks

import (
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
)

// inFlightMemory is the memory the default in-flight limit lets service
// calls hold together: what a 256 MiB pod (the Helm chart's limit) has left
// after the process itself (about 50 MiB: runtime, knowledge base, caches).
const inFlightMemory = 200 << 20

// callMemoryPerBodyByte is what one call may hold per byte of its body at
// worst: 40 parallel order-sign calls of 5 MB each took the process to 952 MB
// RSS, about 4.8 times the body per call.
const callMemoryPerBodyByte = 5

// DefaultMaxInFlight is the in-flight limit when Config.MaxInFlight is zero:
// as many calls of maxBody bytes as inFlightMemory holds at the measured cost
// of a call (8 at the default 5 MiB), never fewer than 2 nor more than 64.
func DefaultMaxInFlight(maxBody int64) int {
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	return int(min(max(inFlightMemory/(callMemoryPerBodyByte*maxBody), 2), 64))
}

// retryAfterSeconds is what a shed caller is told to wait: calls take tens of
// milliseconds to a few seconds, so a slot is usually free by then.
const retryAfterSeconds = "1"

// limitInFlight holds every service and feedback call to one of
// Config.MaxInFlight slots, so that the bodies being read and the answers
// being built fit in memory however many calls arrive at once. A call that
// finds no free slot is refused at once (503, Retry-After, counted) rather
// than queued: a queue would hold its body too, and an EHR gives up on a
// slow answer anyway. It runs after authentication, so callers without a
// valid token never take a slot.
func (s *Server) limitInFlight(c *gin.Context) {
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
		c.Next()
	default:
		// Read what the caller is sending (into nothing, at most MaxBody)
		// before answering: a server that answers and closes with a body
		// unread resets the connection, and the caller sees a reset instead
		// of the 503.
		_, _ = io.Copy(io.Discard, http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxBody))
		s.metrics.RequestShed(c.Request.Context(), s.serviceLabel(c))
		c.Header("Retry-After", retryAfterSeconds)
		c.Abort()
		s.writeError(c, Errorf(EUNAVAILABLE, "too many calls in progress; retry in %s s", retryAfterSeconds))
	}
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
