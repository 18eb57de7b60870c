package cdshooks

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	models "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Error codes: the one vocabulary every handler and service uses to say what
// went wrong. writeError maps each to its HTTP status, in one place.
const (
	EINVALID            = "invalid"                // 400: malformed JSON, missing or wrong fields, wrong hook
	ENOTFOUND           = "not_found"              // 404: unknown route or service id
	EMETHODNOTALLOWED   = "method_not_allowed"     // 405
	EUNSUPPORTEDMEDIA   = "unsupported_media_type" // 415: body is not JSON
	ETOOLARGE           = "too_large"              // 413: body over the configured maximum
	EUNAUTHORIZED       = "unauthorized"           // 401: caller not authenticated
	EFORBIDDEN          = "forbidden"              // 403: the caller may not name this (a fhirServer not on its allow-list)
	EPRECONDITIONFAILED = "precondition_failed"    // 412: needed prefetch data is missing and cannot be fetched
	EUNAVAILABLE        = "unavailable"            // 503: too many calls in progress, or the answer deadline passed; retry later
	ETIMEOUT            = "timeout"                // 408: the request body did not arrive before the answer deadline
	EINTERNAL           = "internal"               // 500: our fault; details logged, never returned
)

// Error is an error the caller may be told about: a code from the vocabulary
// above and a message that is safe to return. Messages name fields, never
// their values, so they carry no patient data.
type Error struct {
	Code    string
	Message string
	// Missing lists the prefetch keys a precondition_failed error is about.
	Missing []string
}

// Error returns the message prefixed by the code.
func (e *Error) Error() string {
	return e.Code + ": " + e.Message
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// MissingPrefetch returns the precondition_failed error a service answers when
// data it needs was not prefetched and cannot be fetched from the FHIR server.
func MissingPrefetch(keys ...string) *Error {
	return &Error{
		Code:    EPRECONDITIONFAILED,
		Message: "prefetch data missing and the FHIR server cannot be read: " + strings.Join(keys, ", "),
		Missing: keys,
	}
}

// ErrorCode returns the code of err: the *Error's own code (internal if that
// code is not in the vocabulary), unauthorized for an *AuthFailure, and
// internal for every other error; nil gives "".
func ErrorCode(err error) string {
	var e *Error
	var af *AuthFailure
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		if _, known := statusOf[e.Code]; !known {
			return EINTERNAL
		}
		return e.Code
	case errors.As(err, &af):
		return EUNAUTHORIZED
	default:
		return EINTERNAL
	}
}

// statusOf maps each error code to its HTTP status.
var statusOf = map[string]int{
	EINVALID:            http.StatusBadRequest,
	ENOTFOUND:           http.StatusNotFound,
	EMETHODNOTALLOWED:   http.StatusMethodNotAllowed,
	EUNSUPPORTEDMEDIA:   http.StatusUnsupportedMediaType,
	ETOOLARGE:           http.StatusRequestEntityTooLarge,
	EUNAUTHORIZED:       http.StatusUnauthorized,
	EFORBIDDEN:          http.StatusForbidden,
	EPRECONDITIONFAILED: http.StatusPreconditionFailed,
	EUNAVAILABLE:        http.StatusServiceUnavailable,
	ETIMEOUT:            http.StatusRequestTimeout,
	EINTERNAL:           http.StatusInternalServerError,
}

// issueTypeOf maps each error code to a FHIR IssueType code for the
// OperationOutcome body (http://hl7.org/fhir/valueset-issue-type.html).
var issueTypeOf = map[string]models.IssueType{
	EINVALID:            models.IssueTypeInvalid,
	ENOTFOUND:           models.IssueTypeNotFound,
	EMETHODNOTALLOWED:   models.IssueTypeNotSupported,
	EUNSUPPORTEDMEDIA:   models.IssueTypeNotSupported,
	ETOOLARGE:           models.IssueTypeTooCostly,
	EUNAUTHORIZED:       models.IssueTypeLogin,
	EFORBIDDEN:          models.IssueTypeForbidden,
	EPRECONDITIONFAILED: models.IssueTypeProcessing,
	EUNAVAILABLE:        models.IssueTypeTransient,
	ETIMEOUT:            models.IssueTypeTimeout,
	EINTERNAL:           models.IssueTypeException,
}

// OperationOutcome is an error answer's body as a client reads it: every
// error answer is a FHIR R4 OperationOutcome, as the CDS Hooks 3.0 ballot
// recommends for non-2xx responses. The server builds them with the typed
// OperationOutcome of golang-fhir-models (see outcome), so their severity and
// issue type codes are R4's by construction.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// Issue is one problem reported in an OperationOutcome.
type Issue struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics,omitempty"`
}

// outcome builds the status and body for err. Internal errors and
// authentication failures get a fixed message: their detail is only logged.
// The body is golang-fhir-models' OperationOutcome, whose JSON
// (TestErrorBodiesAreR4OperationOutcomes checks it) has every issue's
// severity, code and diagnostics, and its resourceType last.
func outcome(err error) (int, models.OperationOutcome) {
	code := ErrorCode(err)
	var messages []string
	var e *Error
	switch {
	case code == EINTERNAL:
		messages = []string{"internal error"}
	case code == EUNAUTHORIZED:
		messages = []string{"unauthorized"}
	case code == EPRECONDITIONFAILED && errors.As(err, &e) && len(e.Missing) > 0:
		for _, key := range e.Missing {
			messages = append(messages, fmt.Sprintf("prefetch key %q is missing and the FHIR server cannot be read", key))
		}
	case errors.As(err, &e):
		messages = []string{e.Message}
	}
	// issue is required (1..*), and the library writes an empty one as null.
	oo := models.OperationOutcome{Issue: []models.OperationOutcomeIssue{}}
	for _, m := range messages {
		oo.Issue = append(oo.Issue, models.OperationOutcomeIssue{Severity: models.IssueSeverityError, Code: issueTypeOf[code], Diagnostics: &m})
	}
	return statusOf[code], oo
}

// MaxLoggedRunes is how much of a caller's string LogString keeps.
const MaxLoggedRunes = 64

// LogString returns a string the caller sent (a method, a service id, a
// feedback code, a claim) as it may be logged: whole when at most
// MaxLoggedRunes runes, else cut there and marked with its full length in
// bytes, so a hostile caller cannot flood the logs. It never returns more
// than about 100 bytes of the caller's text (invalid UTF-8 included).
// Error bodies never carry caller values at all: this is for logs only.
func LogString(s string) string { return clipRunes(s, MaxLoggedRunes) }

// maxLoggedErrorRunes is how much of an internal error's text is logged:
// enough for a wrapped chain of our own messages, bounded so that an error
// quoting a large input cannot flood the logs (or carry much of a record).
const maxLoggedErrorRunes = 400

// logError is err's text as it may be logged (see maxLoggedErrorRunes).
func logError(err error) string { return clipRunes(err.Error(), maxLoggedErrorRunes) }

// clipRunes is s cut after max runes and marked with its full length in bytes.
func clipRunes(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut, n := 0, 0
	for cut < len(s) && n < max {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
		n++
	}
	if cut == len(s) {
		return s
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}
