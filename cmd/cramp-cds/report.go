package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
)

// reportTimeout bounds the queries behind one report.
const reportTimeout = 30 * time.Second

// adminReportTimeout bounds them on the admin listener: well within its
// write timeout, so that a report that cannot finish is answered 503 with
// Retry-After instead of the connection being dropped.
const adminReportTimeout = writeTimeout * 2 / 3

// reportRetryAfter is what a caller whose report timed out is told to wait.
const reportRetryAfter = "60"

// htmlCSP is the Content-Security-Policy of every HTML answer of the admin
// listener: the report's own inline style and nothing else, no scripts, no
// framing.
const htmlCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// runReport is `cramp-cds report`: the history of a store, per topic and
// knowledge version, as HTML (with charts), CSV or JSON on stdout.
func runReport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cramp-cds report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// --store and CRAMP_CDS_STORE as serve reads them, but with no default:
	// a report names the store it reports on.
	var shared Config
	sharedOpts := shared.bind(fs, "store")
	fs.Lookup("store").Usage = "the store to report on: sqlite:PATH or postgres://… (env CRAMP_CDS_STORE)"
	sinceText := fs.String("since", "", "first day reported, YYYY-MM-DD (default: everything kept)")
	format := fs.String("format", feedback.FormatHTML, "html, csv or json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: cramp-cds report --store sqlite:PATH|postgres://… [--since DATE] [--format html|csv|json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := applyEnv(fs, sharedOpts, getenv); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	since, err := parseSince(*sinceText)
	if err != nil {
		return err
	}
	kind, _, err := feedback.ParseDSN(shared.Store)
	if err != nil || kind == feedback.KindNone {
		return errors.New("report: give the store with --store sqlite:PATH or postgres://… (or CRAMP_CDS_STORE)")
	}
	ctx, cancel := context.WithTimeout(ctx, reportTimeout)
	defer cancel()
	store, err := feedback.Open(ctx, shared.Store)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer store.Close()
	r, err := store.Report(ctx, since, time.Now())
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	names, err := reportNames()
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	r.Name(names)
	return r.Write(stdout, *format)
}

// parseSince reads a --since or ?since= date (midnight UTC); "" is the
// beginning of time, which retention bounds anyway.
func parseSince(s string) (time.Time, error) {
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("since %q is not a date like 2026-01-31", s)
	}
	return t, nil
}

// reportHandler serves GET /admin/report[?since=DATE][&format=html|csv|json]
// on the admin listener. It holds no patient data (counts per topic), which
// is why the unauthenticated admin listener may serve it; without a store it
// answers 404 saying so.
//
// A report that cannot finish within timeout (a large or busy database) is
// answered 503 with Retry-After.
func reportHandler(store feedback.Store, logger *slog.Logger, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if store == nil {
			http.Error(w, "no store: cramp-cds runs with --store none, so there is nothing to report", http.StatusNotFound)
			return
		}
		q := r.URL.Query()
		since, err := parseSince(q.Get("since"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		format := q.Get("format")
		if format == "" {
			format = feedback.FormatHTML
		}
		if format != feedback.FormatHTML && format != feedback.FormatCSV && format != feedback.FormatJSON {
			http.Error(w, "format must be html, csv or json", http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		rep, err := store.Report(ctx, since, time.Now())
		var body bytes.Buffer
		var names feedback.Names
		if err == nil {
			names, err = reportNames()
		}
		if err == nil {
			rep.Name(names)
			err = rep.Write(&body, format)
		}
		if err != nil {
			logger.ErrorContext(ctx, "report failed", "error", err.Error())
			w.Header().Set("Retry-After", reportRetryAfter)
			msg := "the store could not be read; see the log"
			if errors.Is(err, context.DeadlineExceeded) {
				msg = "the report did not finish in time; retry later, or ask for a shorter period (?since=)"
			}
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
		if format == feedback.FormatHTML {
			w.Header().Set("Content-Security-Policy", htmlCSP)
		}
		w.Header().Set("Content-Type", feedback.ContentType(format))
		_, _ = w.Write(body.Bytes())
	})
}
