package feedback

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Caps on what one row may hold (without them, 40 feedback calls write
// 217 MB). The product's own values are far shorter: a uuid is 36 bytes, a
// topic or reason code a few dozen. A row over a cap is not stored (see
// RejectedError); it is never cut, which could merge two values.
const (
	// MaxSuggestions is how many suggestion uuids a card keeps, and how
	// many accepted suggestions one feedback item may name.
	MaxSuggestions = 20
	// MaxReasons is how many override reasons a card keeps.
	MaxReasons = 10

	maxIDLength      = 64  // a card or suggestion uuid, a pseudonym, a fingerprint
	maxNameLength    = 128 // a service id, a topic code, a knowledge version, an outcome
	maxCodeLength    = 64  // an override reason code
	maxSystemLength  = 256 // an override reason's system URL
	maxIssuerLength  = 512 // a JWT iss (a URL)
	codingSeparator  = " "
	listSeparator    = "\n"
	reasonsSeparator = "\n"
)

// RejectedError is what Write returns when it stored the batch but left
// rows out: each one on its own, the rest of the batch stored.
type RejectedError struct {
	// Rows counts the rows left out; First is why the first one was.
	Rows  int
	First error
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("%d rows left out of a write (the first: %v)", e.Rows, e.First)
}

func (e *RejectedError) Unwrap() error { return e.First }

// rejections gathers the rows one write leaves out.
type rejections struct {
	rows  int
	first error
}

func (r *rejections) add(err error) {
	if r.rows == 0 {
		r.first = err
	}
	r.rows++
}

func (r *rejections) err() error {
	if r.rows == 0 {
		return nil
	}
	return &RejectedError{Rows: r.rows, First: r.first}
}

// checkText refuses a value over max bytes, not valid UTF-8 or holding NUL
// (which PostgreSQL refuses in text, failing the whole statement).
func checkText(what, s string, max int) error {
	switch {
	case len(s) > max:
		return fmt.Errorf("%s is %d bytes, over its cap of %d", what, len(s), max)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not valid UTF-8", what)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%s holds a NUL character", what)
	}
	return nil
}

// checkToken is checkText for a value stored in a list, which must also be
// free of the list's separators.
func checkToken(what, s string, max int) error {
	if s == "" || strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("%s is empty or holds white space", what)
	}
	return checkText(what, s, max)
}

func checkCard(c Card) error {
	return errors.Join(
		checkText("card uuid", c.UUID, maxIDLength),
		checkText("service", c.Service, maxNameLength),
		checkText("topic", c.Topic, maxNameLength),
		checkText("knowledge version", c.KnowledgeVersion, maxNameLength),
		checkText("fingerprint", c.Fingerprint, maxIDLength),
		checkText("patient", c.Patient, maxIDLength),
		checkText("issuer", c.Issuer, maxIssuerLength),
		checkList(c.Suggestions, c.Reasons),
	)
}

func checkList(suggestions []string, reasons []Coding) error {
	if len(suggestions) > MaxSuggestions || len(reasons) > MaxReasons {
		return fmt.Errorf("a card carries %d suggestions and %d override reasons, over the caps of %d and %d",
			len(suggestions), len(reasons), MaxSuggestions, MaxReasons)
	}
	var errs []error
	for _, s := range suggestions {
		errs = append(errs, checkToken("suggestion uuid", s, maxIDLength))
	}
	for _, r := range reasons {
		errs = append(errs, checkToken("override reason system", r.System, maxSystemLength),
			checkToken("override reason code", r.Code, maxCodeLength))
	}
	return errors.Join(errs...)
}

func checkOutcome(o Outcome) error {
	var reason error
	if o.ReasonSystem != "" || o.ReasonCode != "" {
		reason = errors.Join(checkText("override reason system", o.ReasonSystem, maxSystemLength),
			checkText("override reason code", o.ReasonCode, maxCodeLength))
	}
	var count error
	if o.AcceptedSuggestions < 0 || o.AcceptedSuggestions > MaxSuggestions {
		count = fmt.Errorf("%d accepted suggestions, over the cap of %d", o.AcceptedSuggestions, MaxSuggestions)
	}
	return errors.Join(
		checkText("card uuid", o.Card, maxIDLength),
		checkText("service", o.Service, maxNameLength),
		checkText("topic", o.Topic, maxNameLength),
		checkText("outcome", o.Outcome, maxNameLength),
		reason, count,
	)
}

func checkSnooze(z Snooze) error {
	return errors.Join(
		checkText("snoozed uuid", z.ID, maxIDLength),
		checkText("card uuid", z.Card, maxIDLength),
		checkText("service", z.Service, maxNameLength),
		checkText("topic", z.Topic, maxNameLength),
		checkText("snooze reason", z.Reason, maxCodeLength),
	)
}

// joinCodings and splitCodings store a card's override reasons in one column.
func joinCodings(cs []Coding) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.System + codingSeparator + c.Code
	}
	return strings.Join(parts, reasonsSeparator)
}

func splitCodings(s string) []Coding {
	var out []Coding
	for _, line := range splitList(s, reasonsSeparator) {
		if system, code, ok := strings.Cut(line, codingSeparator); ok {
			out = append(out, Coding{System: system, Code: code})
		}
	}
	return out
}

func splitList(s, sep string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, sep)
}
