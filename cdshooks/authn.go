package cdshooks

import (
	"net/http"
	"strings"
)

// Caller is who called us, as established by an Authenticator.
type Caller struct {
	// Issuer is the verified JWT iss (empty when authentication is disabled).
	Issuer string
	// Tenant is the verified tenant claim, if any.
	Tenant string
	// FHIRServers lists the fhirServer base URLs this caller may ask us to
	// fetch from. AnyFHIRServer lifts that restriction (only for trying us out).
	FHIRServers   []string
	AnyFHIRServer bool
}

// Authenticator verifies the caller of one request. audience is the exact URL
// the caller must have addressed the token to (one of Config.PublicURLs plus
// the path); it is "" when no public URL is configured, and then every token
// must be refused.
//
// On failure it returns an *AuthFailure; the server then answers 401 and never
// reveals the reason to the caller.
type Authenticator interface {
	Authenticate(r *http.Request, audience string) (Caller, error)
}

// PendingAuthenticator is an Authenticator part of whose verdict may come
// after the request is let through: a check that takes a round trip (a
// replay cache shared by replicas) runs while the call is evaluated, off its
// critical path. When the Server's Authenticator is one, the Server calls
// AuthenticatePending instead of Authenticate, and calls confirm (once)
// before it writes any answer and before it acts on feedback. If confirm
// fails, the caller gets the 401 Authenticate would have given and nothing
// of what the call produced: the evaluation's work is done, its answer is
// never sent.
//
// confirm must return within a bound of its own (the shared check's read
// timeout) and, when the late check cannot tell, return nil: the checks
// made before AuthenticatePending returned stand.
type PendingAuthenticator interface {
	Authenticator
	AuthenticatePending(r *http.Request, audience string) (caller Caller, confirm func() error, err error)
}

// AuthFailure is an authentication failure. Reason is a short, low-cardinality
// label (for example "expired", "unknown_issuer") that is safe to log and to
// use as a metric attribute: it never contains token material.
type AuthFailure struct {
	Reason string
	Err    error
}

func (e *AuthFailure) Error() string {
	if e.Err != nil {
		return "authentication failed: " + e.Reason + ": " + e.Err.Error()
	}
	return "authentication failed: " + e.Reason
}

func (e *AuthFailure) Unwrap() error { return e.Err }

// FHIRServerAllowed returns the check of whether one request's fhirServer may
// be read: when the caller's trust entry allows any server or lists it, or
// when the operator's allow list (--fhir-allow) does. Base URLs compare
// without trailing slashes. entry is the configuration entry that allowed it
// ("*" for any server, else the listed URL as configured), a bounded label
// for metrics: never the request's own URL.
func FHIRServerAllowed(caller Caller, allowList []string) func(base string) (entry string, ok bool) {
	return func(base string) (string, bool) {
		if caller.AnyFHIRServer {
			return anyFHIRServer, true
		}
		base = strings.TrimRight(base, "/")
		for _, lists := range [][]string{caller.FHIRServers, allowList} {
			for _, s := range lists {
				if strings.TrimRight(s, "/") == base {
					return s, true
				}
			}
		}
		return "", false
	}
}

// anyFHIRServer labels a server allowed by a trust entry that allows any
// (the trust file's "*").
const anyFHIRServer = "*"
