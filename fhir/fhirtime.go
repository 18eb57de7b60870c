package fhir

import (
	"fmt"
	"time"
)

// parseDateTime reads a FHIR date, dateTime or instant. It returns the first
// instant the value denotes and the first instant after it at the value's
// precision ("2020-03" gives March 1st and April 1st), so that a partial date
// used as a period end still covers the whole month or day it names.
// A value without a time zone is read as UTC.
func parseDateTime(s string) (start, next time.Time, err error) {
	switch len(s) {
	case 4:
		start, err = time.Parse("2006", s)
		return start, start.AddDate(1, 0, 0), wrapDateErr(s, err)
	case 7:
		start, err = time.Parse("2006-01", s)
		return start, start.AddDate(0, 1, 0), wrapDateErr(s, err)
	case 10:
		start, err = time.Parse(time.DateOnly, s)
		return start, start.AddDate(0, 0, 1), wrapDateErr(s, err)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if start, err = time.Parse(layout, s); err == nil {
			return start, start.Add(time.Second), nil
		}
	}
	return time.Time{}, time.Time{}, wrapDateErr(s, err)
}

func wrapDateErr(s string, err error) error {
	if err == nil {
		return nil
	}
	// The value itself is left out of the message: dates of a record are patient data.
	return fmt.Errorf("malformed FHIR date or dateTime (%d characters)", len(s))
}

// startOf parses an optional dateTime as the start of what it denotes; ""
// (absent) gives the zero time.
func startOf(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	start, _, err := parseDateTime(s)
	return start, err
}

// endOf parses an optional dateTime as an exclusive upper bound; "" (absent)
// gives the zero time.
func endOf(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	_, next, err := parseDateTime(s)
	return next, err
}
