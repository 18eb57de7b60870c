package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks/kit/population"
	crampspopulation "github.com/cramp-cds/cramp-cds/cdshooks/legcramps/population"
	"github.com/cramp-cds/cramp-cds/fhir/bulk"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// Identifier modes of the worklist (--ids).
const (
	IDsHashed = "hashed"
	IDsPlain  = "plain"
)

// envIDKey names the environment variable holding the key of hashed ids:
// a secret, so never a flag (flags show in process lists and manifests).
const envIDKey = "CRAMP_CDS_ID_KEY"

// progressInterval is how often progress is logged when stderr is not a terminal.
const progressInterval = 10 * time.Second

// populationOptions are population's flags.
type populationOptions struct {
	in, out, tempDir string
	now              time.Time
	trigger          string
	shard            bulk.Shard
	workers          int
	ids              string
	idKey            []byte
	memory           byteSize
	// allAges is --all-ages: cards for patients under 18 too, as serve and
	// evaluate give them with the same flag.
	allAges bool
}

const populationUsage = `Usage: cramp-cds population --in PATH --out DIR [flags]
       cramp-cds population merge --out DIR SHARD_DIR...

Runs the nocturnal-leg-cramps patient-view service in silent mode over every
patient of PATH: a FHIR Bulk Data export (NDJSON per resource type, optionally
.ndjson.gz) or a directory of whole-patient Bundles (Synthea). Each patient is
evaluated exactly as by evaluate. DIR receives worklist.csv (one row per
patient with at least one card), summary.json, problems.csv (input skipped,
by file and line) and report.html.

merge combines the outputs of the shards of one run (--shard 0/N ... N-1/N)
into DIR, as if the run had not been sharded.

`

func parsePopulation(args []string, getenv func(string) string, stderr io.Writer) (populationOptions, error) {
	opts := populationOptions{ids: IDsHashed, workers: runtime.GOMAXPROCS(0), memory: bulk.DefaultMemoryBudget}
	fs := flag.NewFlagSet("population", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, populationUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&opts.in, "in", "", "input directory: a Bulk Data NDJSON export or whole-patient Bundles (required)")
	fs.StringVar(&opts.out, "out", "", "output directory, created if needed (required)")
	now := fs.String("now", "", "evaluate as of this date (2006-01-02, midnight UTC) or RFC 3339 time (default: the current time)")
	shard := fs.String("shard", "", "I/N: only the patients whose id hashes to shard I of N (default: all)")
	fs.IntVar(&opts.workers, "workers", opts.workers, "patients evaluated in parallel")
	fs.StringVar(&opts.ids, "ids", opts.ids, "worklist ids: hashed (a keyed pseudonym; key in env "+envIDKey+") or plain (the Patient.id)")
	fs.StringVar(&opts.tempDir, "temp-dir", "", "directory for the spill of the grouping sort, about the size of the input (default: the system's)")
	fs.Var(&opts.memory, "memory", "bytes of input held in memory while grouping by patient, e.g. 64MiB")
	shared := DefaultConfig()
	sharedOpts := shared.bind(fs, "trigger", "all-ages")
	describe(fs, sharedOpts)
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	if err := applyEnv(fs, sharedOpts, getenv); err != nil {
		return opts, fmt.Errorf("population: %w", err)
	}
	opts.trigger, opts.allAges = shared.Trigger, shared.AllAges
	if fs.NArg() != 0 {
		fs.Usage()
		return opts, fmt.Errorf("population: unexpected argument %q", fs.Arg(0))
	}
	opts.now = time.Now()
	if *now != "" {
		t, err := parseNow(*now)
		if err != nil {
			return opts, err
		}
		opts.now = t
	}
	var err error
	if opts.shard, err = bulk.ParseShard(*shard); err != nil {
		return opts, fmt.Errorf("population: --%w", err)
	}
	opts.idKey = []byte(getenv(envIDKey))
	switch {
	case opts.in == "" || opts.out == "":
		return opts, errors.New("population: --in and --out are required")
	case opts.trigger != TriggerLegCramps && opts.trigger != TriggerAlways:
		return opts, fmt.Errorf("population: --trigger %q must be %s or %s", opts.trigger, TriggerLegCramps, TriggerAlways)
	case opts.ids != IDsHashed && opts.ids != IDsPlain:
		return opts, fmt.Errorf("population: --ids %q must be %s or %s", opts.ids, IDsHashed, IDsPlain)
	case opts.workers < 1:
		return opts, fmt.Errorf("population: --workers %d must be at least 1", opts.workers)
	}
	return opts, nil
}

// runPopulation is `cramp-cds population` and `cramp-cds population merge`.
func runPopulation(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "merge" {
		return runPopulationMerge(ctx, args[1:], stdout, stderr)
	}
	opts, err := parsePopulation(args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return populate(ctx, opts, stdout, stderr)
}

// populate runs the population as opts say.
func populate(ctx context.Context, opts populationOptions, stdout, stderr io.Writer) error {
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	kb, err := knowledge.Load()
	if err != nil {
		return fmt.Errorf("loading the knowledge base: %w", err)
	}
	topic, types, err := populationTopic(kb, opts)
	if err != nil {
		return err
	}
	ids, run := population.PlainIDs(), population.RunInfo{
		AsOf: opts.now.UTC(), Trigger: opts.trigger, Knowledge: kb.Version(), IDs: opts.ids, Shard: opts.shard.String(),
	}
	if opts.ids == IDsHashed {
		if len(opts.idKey) == 0 {
			logger.Warn("population: hashed ids without a key (" + envIDKey + "): anyone with the patient ids can recompute them")
		}
		ids, run.IDKeyCheck = population.HashedIDs(opts.idKey), population.KeyCheck(opts.idKey)
	}
	s, err := population.Run(ctx, population.Config{
		In: opts.in, Out: opts.out, Topic: topic, IDs: ids, Workers: opts.workers,
		Run: run,
		Read: bulk.Options{
			Types: types, Shard: opts.shard, TempDir: opts.tempDir, MemoryBudget: int(opts.memory),
			MaxPatientBytes: maxEvaluateInput,
		},
		Progress: newProgress(stderr, logger, progressInterval),
		Logger:   logger,
	})
	if err != nil {
		return err
	}
	return printRunResult(stdout, opts.out, s)
}

func printRunResult(stdout io.Writer, out string, s *population.Summary) error {
	_, err := fmt.Fprintf(stdout, "%d patients evaluated, %d with cards (%d cards); %d input problems.\nReport: %s\n",
		s.Patients, s.PatientsWithCards, s.Cards, s.Problems, reportPath(out))
	return err
}

func reportPath(out string) string {
	p := filepath.Join(out, population.ReportFile)
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// runPopulationMerge is `cramp-cds population merge --out DIR SHARD_DIR...`.
func runPopulationMerge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("population merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, populationUsage)
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "output directory for the merged run (required)")
	tempDir := fs.String("temp-dir", "", "directory for the merge's sort spill (default: the system's)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		fs.Usage()
		return errors.New("population merge: want --out DIR and at least one shard directory")
	}
	s, err := population.Merge(ctx, crampspopulation.Topic(), *out, *tempDir, fs.Args())
	if err != nil {
		return err
	}
	return printRunResult(stdout, *out, s)
}

// populationTopic builds the services as evaluate does (no FHIR server is
// ever read) and returns the patient-view service's population topic (its
// evaluation, what the run lists and counts) and the resource types its
// prefetch templates read, which the run reads.
func populationTopic(kb *knowledge.Base, opts populationOptions) (population.Topic, []string, error) {
	cfg := DefaultConfig()
	cfg.Trigger = opts.trigger
	cfg.AllAges = opts.allAges
	cfg.FHIRAllow = nil
	if err := cfg.validateEvaluate(); err != nil {
		return population.Topic{}, nil, err
	}
	now := func() time.Time { return opts.now }
	svcs, err := services(cfg, serviceDeps{Knowledge: kb, Now: now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return population.Topic{}, nil, fmt.Errorf("building the services: %w", err)
	}
	pv, err := patientViewService(svcs)
	if err != nil {
		return population.Topic{}, nil, fmt.Errorf("population: %w", err)
	}
	return crampspopulation.PatientView(pv), population.PrefetchTypes(pv.Definitions()), nil
}
