// Package population runs a topic's service over a whole population in
// silent mode: every patient of a FHIR Bulk Data export (or a directory of
// Bundles) is evaluated by exactly the service's rules and card renderer, and
// the run writes what a CDS committee asks for before go-live (how many
// patients would see cards, how many cards, and what the topic counts) and a
// worklist. The topic says what it counts and lists (Topic); the runner
// knows no topic.
//
// A run writes, in its output directory:
//
//   - worklist.csv: one row per patient with at least one card, sorted by
//     the patient's (hashed or plain) id;
//   - summary.json: the counts behind the report, which Merge adds up;
//   - problems.csv: every input line or entry skipped, with file and line;
//   - report.html: the summary with server-side SVG charts, no external assets.
//
// Memory is bounded whatever the population: patients are read one at a
// time (fhir/bulk), evaluated by a fixed number of workers, and the worklist
// is ordered by an external sort.
package population

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/fhir/bulk"
)

// Output file names in a run's directory.
const (
	WorklistFile = "worklist.csv"
	SummaryFile  = "summary.json"
	ProblemsFile = "problems.csv"
	ReportFile   = "report.html"
)

// PrefetchTypes returns the resource types the services' prefetch templates
// read, for Config.Read.Types: a run reads from an export exactly what the
// services read from an EHR (their orders too, so that a test already ordered
// is not proposed again).
func PrefetchTypes(defs []cdshooks.ServiceDefinition) []string {
	templates := map[string]string{}
	for i, d := range defs {
		for key, t := range d.Prefetch {
			templates[fmt.Sprint(i, "/", key)] = t
		}
	}
	return fhir.TemplateTypes(templates)
}

// Progress is told how the run advances. Its calls never overlap: Start
// comes once before any Done, and Finish last.
type Progress interface {
	// Start gives the number of patients to evaluate, -1 when unknown.
	Start(total int)
	// Done counts n more patients evaluated.
	Done(n int)
	// Finish ends the display.
	Finish()
}

// Config is one population run.
type Config struct {
	// In is the input directory (NDJSON export or Bundles); Out is created
	// if needed and receives the outputs.
	In, Out string
	// Topic is the service's evaluation and what a run lists and counts of
	// it (its Evaluate is required).
	Topic Topic
	// Run describes the run in summary.json: evaluation time, trigger,
	// knowledge version, id mode, shard.
	Run RunInfo
	// IDs turns a patient id into the worklist's id (required).
	IDs IDs
	// Read tunes the input reader; its Shard must equal Run's.
	Read bulk.Options
	// Workers evaluate patients in parallel; 0 is GOMAXPROCS.
	Workers int
	// Progress, when set, is told how the run advances.
	Progress Progress
	// Logger receives the input problems (file, line, reason, never record
	// content) and the run's start and end; nil discards.
	Logger *slog.Logger
}

// RunInfo says what a run was, so that only runs that agree are merged.
type RunInfo struct {
	AsOf      time.Time `json:"as_of"`
	Trigger   string    `json:"trigger"`
	Knowledge string    `json:"knowledge"`
	IDs       string    `json:"ids"`
	// IDKeyCheck tells hashed-id keys apart without revealing them (see
	// KeyCheck), so that shards pseudonymised with different keys are never
	// merged.
	IDKeyCheck string `json:"id_key_check,omitempty"`
	// Shard is "I/N", "" for the whole population.
	Shard string `json:"shard,omitempty"`
}

// maxLoggedProblems bounds the problems logged one by one; all of them are
// in problems.csv.
const maxLoggedProblems = 100

// Run evaluates every patient of cfg.In's shard and writes the outputs to
// cfg.Out. Input problems are reported and skipped; Run fails only when the
// input cannot be read at all, an output cannot be written, an evaluation
// fails, or ctx ends.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if cfg.Topic.Evaluate == nil || cfg.IDs == nil {
		return nil, errors.New("population: no evaluator or no id mode")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("population: creating the output directory: %w", err)
	}
	out := newOutputs(cfg.Read.TempDir, cfg.Run, cfg.Topic)
	defer out.close()

	start := time.Now()
	cfg.Logger.Info("population run started", slog.String("shard", cfg.Run.Shard), slog.Int("workers", cfg.Workers))
	if err := evaluateAll(ctx, cfg, out); err != nil {
		return nil, err
	}
	if err := out.write(cfg.Out); err != nil {
		return nil, err
	}
	s := out.tally.summary()
	cfg.Logger.Info("population run finished", slog.Int("patients", s.Patients), slog.Int("patients_with_cards", s.PatientsWithCards),
		slog.Int("problems", s.Problems), slog.Duration("elapsed", time.Since(start).Round(time.Millisecond)),
		slog.String("report", filepath.Join(cfg.Out, ReportFile)))
	return &s, nil
}

// event is what the workers and the reader tell the collector.
type event struct {
	patient  bool // a patient was evaluated or skipped
	row      *Row // nil when the patient was skipped
	problems []bulk.Problem
}

// evaluateAll reads the patients, evaluates them on cfg.Workers goroutines,
// and collects rows and problems on one goroutine.
func evaluateAll(ctx context.Context, cfg Config, out *outputs) error {
	g, ctx := errgroup.WithContext(ctx)
	patients := make(chan *bulk.Patient, cfg.Workers)
	events := make(chan event, cfg.Workers)
	progress := cfg.Progress
	if progress == nil {
		progress = noProgress{}
	}
	send := func(e event) error {
		select {
		case events <- e:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	read := cfg.Read
	read.Logger = cfg.Logger
	read.OnTotal = progress.Start
	read.OnProblem = func(p bulk.Problem) { send(event{problems: []bulk.Problem{p}}) }
	g.Go(func() error {
		defer close(patients)
		return bulk.Read(ctx, cfg.In, read, func(p *bulk.Patient) error {
			select {
			case patients <- p:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	})
	workers := make(chan struct{})
	for range cfg.Workers {
		g.Go(func() error {
			defer func() { workers <- struct{}{} }()
			for p := range patients {
				row, problems, err := evaluatePatient(ctx, cfg, p)
				if err != nil {
					return err
				}
				if err := send(event{patient: true, row: row, problems: problems}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		for range cfg.Workers {
			<-workers
		}
		close(events)
		return nil
	})
	g.Go(func() error {
		defer progress.Finish()
		logged := 0
		for e := range events {
			for _, p := range e.problems {
				if logged++; logged <= maxLoggedProblems {
					cfg.Logger.Warn("input skipped", slog.String("file", p.File), slog.Int("line", p.Line), slog.String("reason", p.Reason))
				}
			}
			if err := out.add(e.row, e.problems); err != nil {
				return err
			}
			if e.patient {
				progress.Done(1)
			}
		}
		if logged > maxLoggedProblems {
			cfg.Logger.Warn("more input was skipped than logged: problems.csv lists all", slog.Int("problems", logged))
		}
		return nil
	})
	return g.Wait()
}

// evaluatePatient reads one patient's Record and evaluates it. A patient
// whose resources do not read is a problem, not an error.
func evaluatePatient(ctx context.Context, cfg Config, p *bulk.Patient) (*Row, []bulk.Problem, error) {
	rec, problems, err := p.Record()
	if err != nil {
		return nil, []bulk.Problem{{Reason: "a patient's resources do not read: skipped"}}, nil
	}
	o, err := cfg.Topic.Evaluate(ctx, rec, p.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("population: evaluating a patient: %w", err)
	}
	row, err := cfg.Topic.newRow(cfg.IDs(p.ID), o)
	if err != nil {
		return nil, nil, err
	}
	return &row, problems, nil
}

type noProgress struct{}

func (noProgress) Start(int) {}
func (noProgress) Done(int)  {}
func (noProgress) Finish()   {}
