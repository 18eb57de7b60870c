package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// examplesAsOf is the day the files in examples/ were written for: their
// records make sense as of this date (the README's text views use
// --now 2025-06-02). Moved to another day, every date in them moves by the
// same number of days, so the cards stay the ones the README shows instead of
// falling out of the look-back windows as time passes.
var examplesAsOf = time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)

// jsonDate is a JSON string that starts with a FHIR date or dateTime
// (YYYY-MM-DD, then the end of the string or a time).
var jsonDate = regexp.MustCompile(`"(\d{4}-\d{2}-\d{2})(["T])`)

// shiftDates moves every date and dateTime in a JSON document by days
// (times of day and zones are kept). Anything that is not a valid date is
// left as it is.
func shiftDates(doc []byte, days int) []byte {
	if days == 0 {
		return doc
	}
	return jsonDate.ReplaceAllFunc(doc, func(m []byte) []byte {
		sub := jsonDate.FindSubmatch(m)
		d, err := time.Parse(time.DateOnly, string(sub[1]))
		if err != nil {
			return m
		}
		return []byte(`"` + d.AddDate(0, 0, days).Format(time.DateOnly) + string(sub[2]))
	})
}

// daysSinceExamples is how far the examples move to be as of today: the
// whole days from examplesAsOf to today's date (UTC).
func daysSinceExamples(today time.Time) int {
	y, m, d := today.UTC().Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(examplesAsOf).Hours() / 24)
}

// exampleFiles lists the requests in dir, sorted.
func exampleFiles(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.json example in %s", dir)
	}
	return files, nil
}

const examplesUsage = `Usage: cramp-cds examples [--in DIR] [--today DATE] --out DIR

Writes each example request of --in (examples/) to --out with every date moved
by the days from 2025-06-02 (the day they were written for) to --today
(default: today), so that sending them to a running server gives the cards the
README shows, whatever the day.

`

// runExamples is `cramp-cds examples`.
func runExamples(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("examples", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, examplesUsage); fs.PrintDefaults() }
	in := fs.String("in", "examples", "directory of the example requests")
	out := fs.String("out", "", "directory to write the dated copies to (required)")
	todayFlag := fs.String("today", "", "the day to date them for (2006-01-02; default: today)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		fs.Usage()
		return errors.New("examples: want --out DIR and no other argument")
	}
	today := time.Now()
	if *todayFlag != "" {
		t, err := time.Parse(time.DateOnly, *todayFlag)
		if err != nil {
			return fmt.Errorf("examples: --today %q is not a date (2006-01-02)", *todayFlag)
		}
		today = t
	}
	files, err := exampleFiles(*in)
	if err != nil {
		return fmt.Errorf("examples: %w", err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("examples: %w", err)
	}
	days := daysSinceExamples(today)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("examples: %w", err)
		}
		dst := filepath.Join(*out, filepath.Base(f))
		if err := os.WriteFile(dst, shiftDates(data, days), 0o644); err != nil {
			return fmt.Errorf("examples: %w", err)
		}
	}
	_, err = fmt.Fprintf(stdout, "%d examples written to %s, dated as of %s (%+d days)\n",
		len(files), *out, today.Format(time.DateOnly), days)
	return err
}
