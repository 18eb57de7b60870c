package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/cdshooks/panel"
	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// maxEvaluateInput caps the file evaluate reads: a whole Synthea patient is a
// few MB.
const maxEvaluateInput = 64 << 20

// evaluateOptions are evaluate's flags.
type evaluateOptions struct {
	// cfg holds the settings evaluate shares with serve (--trigger,
	// --all-ages, --public-url), bound through the same table and environment variables.
	cfg     Config
	now     time.Time
	format  string
	service string
	file    string
}

const evaluateUsage = `Usage: cramp-cds evaluate [flags] FILE|-

Runs the services on FILE (- for stdin) without HTTP and prints exactly the
body the server would send, or with --format=text the cards for a human.
FILE is either a CDS Hooks request (any hook a service serves; absent prefetch
keys are not fetched and give the server's 412 answer), or a FHIR Bundle
holding a whole patient (evaluated as patient-view for nocturnal-leg-cramps).
The exit status is not zero when the answer is not 200.

`

func parseEvaluate(args []string, getenv func(string) string, stderr io.Writer) (evaluateOptions, error) {
	opts := evaluateOptions{cfg: DefaultConfig(), format: "json"}
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	shared := opts.cfg.bind(fs, "trigger", "all-ages", "public-url")
	describe(fs, shared)
	fs.Usage = func() {
		fmt.Fprint(stderr, evaluateUsage)
		fs.PrintDefaults()
	}
	now := fs.String("now", "", "evaluate as of this date (2006-01-02, midnight UTC) or RFC 3339 time (default: the current time)")
	fs.StringVar(&opts.format, "format", opts.format, "json: the response body; text: the cards for a human")
	fs.StringVar(&opts.service, "service", "", "service id to call (default: the one service serving the request's hook)")
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	if err := applyEnv(fs, shared, getenv); err != nil {
		return opts, fmt.Errorf("evaluate: %w", err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return opts, errors.New("evaluate: want exactly one FILE (or - for stdin)")
	}
	opts.file = fs.Arg(0)
	opts.now = time.Now()
	if *now != "" {
		t, err := parseNow(*now)
		if err != nil {
			return opts, err
		}
		opts.now = t
	}
	if opts.format != "json" && opts.format != "text" {
		return opts, fmt.Errorf("evaluate: --format %q must be json or text", opts.format)
	}
	return opts, nil
}

// parseNow reads --now: a date (midnight UTC at its start) or an RFC 3339 time.
func parseNow(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("evaluate: --now %q is neither a date (2006-01-02) nor an RFC 3339 time", s)
	}
	return t, nil
}

// runEvaluate is `cramp-cds evaluate`.
func runEvaluate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	opts, err := parseEvaluate(args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	input, err := readInput(opts.file, stdin)
	if err != nil {
		return err
	}
	status, body, err := evaluate(ctx, opts, input)
	if err != nil {
		return err
	}
	if opts.format == "text" {
		if err := writeText(stdout, status, body); err != nil {
			return err
		}
	} else if _, err := stdout.Write(body); err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("evaluate: the service answered %d %s", status, http.StatusText(status))
	}
	return nil
}

func readInput(file string, stdin io.Reader) ([]byte, error) {
	r := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxEvaluateInput+1))
	if err != nil {
		return nil, fmt.Errorf("evaluate: reading %s: %w", file, err)
	}
	if len(data) > maxEvaluateInput {
		return nil, fmt.Errorf("evaluate: %s is larger than %d bytes", file, maxEvaluateInput)
	}
	return data, nil
}

// evaluate answers one input: the status and body the server would send.
func evaluate(ctx context.Context, opts evaluateOptions, input []byte) (int, []byte, error) {
	var head struct {
		ResourceType string `json:"resourceType"`
		Hook         string `json:"hook"`
	}
	if err := json.Unmarshal(input, &head); err != nil {
		return 0, nil, fmt.Errorf("evaluate: %s is not a JSON object: %w", opts.file, err)
	}
	kb, err := knowledge.Load()
	if err != nil {
		return 0, nil, fmt.Errorf("loading the knowledge base: %w", err)
	}
	cfg := opts.cfg
	// No --fhir-allow and no caller: evaluate never reads a FHIR server.
	cfg.FHIRAllow = nil
	if err := cfg.validateEvaluate(); err != nil {
		return 0, nil, err
	}
	logger := slog.New(slog.DiscardHandler)
	svcs, err := services(cfg, serviceDeps{Knowledge: kb, Now: func() time.Time { return opts.now }, Logger: logger})
	if err != nil {
		return 0, nil, fmt.Errorf("building the services: %w", err)
	}

	if head.ResourceType == "Bundle" {
		return evaluateBundle(ctx, svcs, input)
	}
	if head.ResourceType != "" {
		return 0, nil, fmt.Errorf("evaluate: %s is a FHIR %s; want a CDS Hooks request or a Bundle", opts.file, head.ResourceType)
	}
	srv, err := cdshooks.NewServer(cdshooks.Config{PublicURLs: cfg.PublicURLs, MaxBody: maxEvaluateInput},
		cdshooks.Deps{Services: svcs, Logger: logger, IsFHIRID: fhir.ValidID, ReadDraftOrders: fhir.EachDraftOrder})
	if err != nil {
		return 0, nil, fmt.Errorf("building the server: %w", err)
	}
	id := opts.service
	if id == "" {
		if id, err = srv.ServiceFor(head.Hook); err != nil {
			return 0, nil, fmt.Errorf("evaluate: %w (use --service)", err)
		}
	}
	return srv.Invoke(ctx, id, input)
}

// validateEvaluate checks the settings evaluate uses.
func (c Config) validateEvaluate() error {
	c.InsecureNoAuth = true // evaluate has no callers to authenticate
	return c.Validate()
}

// evaluateBundle evaluates a whole-patient Bundle as a patient-view call of
// nocturnal-leg-cramps. Card uuids derive from the Bundle's bytes, so the same
// file gives the same output.
func evaluateBundle(ctx context.Context, svcs []cdshooks.Service, input []byte) (int, []byte, error) {
	patientView, err := patientViewService(svcs)
	if err != nil {
		return 0, nil, fmt.Errorf("evaluate: %w", err)
	}
	rec, err := fhir.ReadBundle(bytes.NewReader(input), maxEvaluateInput)
	if err != nil {
		return 0, nil, fmt.Errorf("evaluate: %w", err)
	}
	if rec.Patient == nil {
		return 0, nil, errors.New("evaluate: the Bundle holds no Patient")
	}
	patientID := strings.TrimPrefix(rec.Patient.Ref, "Patient/")
	hookInstance := uuid.NewSHA1(uuid.NameSpaceURL, input).String()
	body, err := cdshooks.EncodeResponse(patientView.Respond(ctx, rec, "", hookInstance, "", patientID))
	if err != nil {
		return 0, nil, fmt.Errorf("evaluate: %w", err)
	}
	return http.StatusOK, body, nil
}

// patientViewService returns the nocturnal-leg-cramps service among svcs:
// what evaluate runs a Bundle through, and population every patient.
func patientViewService(svcs []cdshooks.Service) (*legcramps.PatientView, error) {
	for _, s := range svcs {
		if pv, ok := s.(*legcramps.PatientView); ok {
			return pv, nil
		}
	}
	return nil, errors.New("the nocturnal-leg-cramps service is not configured")
}

// writeText prints a response as the panel shows it (or an error answer) for a human.
func writeText(w io.Writer, status int, body []byte) error {
	if status != http.StatusOK {
		var oo cdshooks.OperationOutcome
		if err := json.Unmarshal(body, &oo); err != nil {
			return fmt.Errorf("evaluate: reading the error answer: %w", err)
		}
		fmt.Fprintf(w, "%d %s\n", status, http.StatusText(status))
		for _, is := range oo.Issue {
			fmt.Fprintf(w, "  %s\n", is.Diagnostics)
		}
		return nil
	}
	var resp cdshooks.Response
	if err := json.Unmarshal(body, &resp); err != nil {
		return fmt.Errorf("evaluate: reading the response: %w", err)
	}
	if err := panel.WriteText(w, resp.Cards); err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	return nil
}
