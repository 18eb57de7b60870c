// Command cramp-load measures the real cramp-cds server under load.
//
// It starts the server binary as a separate process, with JWT verification
// on (a test issuer generated for the run, trusted through a trust file) and
// a fake FHIR server over TLS on loopback that serves the generated patient
// and whose certificate the server is told to trust (SSL_CERT_FILE). Then it
// drives the server with vegeta, phase after phase, each for a bounded time:
// the typical request at fixed rates and at saturation, the heavy request
// at a low rate and at saturation,
// the FHIR fallback (four prefetch keys absent, each read delayed), and the
// FHIR server failing (slow, 500s, connection resets) under load. Every
// request carries a token with a fresh jti, as the replay cache requires.
//
// It prints a Markdown report: latency percentiles, throughput, status
// codes, errors, the server's CPU per request and its resident memory
// (VmRSS sampled during each phase, VmHWM at the end), its goroutines before
// and after the faults, and whether each target was met.
//
//	cramp-load --server bin/cramp-cds [--duration 10s] [--rates 50,200] ...
//
// The typical request at 200/s and at saturation is also sent, the same way,
// to a floor server (cramp-load floor: JWT verification and a
// map[string]any decode, nothing else), so that cramp-cds is judged against
// what any service must do, in the same run on the same machine.
//
// Only loopback addresses are ever contacted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cramp-load:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	server             string
	duration           time.Duration
	rates              []int
	saturation         time.Duration
	saturationWorkers  int
	heavyRate          int
	heavy              time.Duration
	heavySaturation    time.Duration
	heavyWorkers       int
	fallbackRate       int
	fallback           time.Duration
	fhirDelay          time.Duration
	faults             time.Duration
	faultsRate         int
	seed               uint64
	saturationTokenCap int
	baselineSaturation float64
	// overload is the length of each phase of the overload curve (0 skips
	// it); curve lists the offered rates as multiples of capacity, the
	// saturation phase's throughput unless given.
	overload time.Duration
	curve    []float64
	capacity float64
	// floor drives the floor server too.
	floor bool
	// store is the server's --store: none by default, so the other figures
	// stay comparable; sqlite:PATH or postgres://… measures what the store
	// costs (a store key is generated for the run).
	store string
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	o := options{}
	fs := flag.NewFlagSet("cramp-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.server, "server", "bin/cramp-cds", "the cramp-cds binary to start")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each fixed-rate phase of the typical request")
	rates := fs.String("rates", "50,200", "comma-separated fixed rates (requests per second) for the typical request")
	fs.DurationVar(&o.saturation, "saturation", 10*time.Second, "length of the saturation phase (0 skips it)")
	fs.IntVar(&o.saturationWorkers, "saturation-workers", 16, "concurrent requests at saturation")
	fs.IntVar(&o.saturationTokenCap, "saturation-tokens", 40000, "tokens minted for the saturation phase (it ends early when they run out)")
	fs.IntVar(&o.heavyRate, "heavy-rate", 2, "requests per second of the heavy request")
	fs.DurationVar(&o.heavy, "heavy", 10*time.Second, "length of the heavy phase (0 skips it)")
	fs.DurationVar(&o.heavySaturation, "heavy-saturation", 10*time.Second, "length of the heavy saturation phase, the worst case for memory (0 skips it)")
	fs.IntVar(&o.heavyWorkers, "heavy-workers", 4, "concurrent heavy requests at saturation")
	fs.IntVar(&o.fallbackRate, "fallback-rate", 20, "requests per second in the FHIR fallback phase")
	fs.DurationVar(&o.fallback, "fallback", 10*time.Second, "length of the FHIR fallback phase (0 skips it)")
	fs.DurationVar(&o.fhirDelay, "fhir-delay", 100*time.Millisecond, "delay the fake FHIR server adds to every query in the fallback phase")
	fs.DurationVar(&o.faults, "faults", 5*time.Second, "length of each fault phase (0 skips them)")
	fs.IntVar(&o.faultsRate, "faults-rate", 50, "requests per second during the fault phases")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated patients")
	fs.Float64Var(&o.baselineSaturation, "baseline-saturation", 0, "saturation throughput (requests/s) of the previous binary, measured on this machine, to judge the 3× target against (0: not judged)")
	fs.DurationVar(&o.overload, "overload", 6*time.Second, "length of each phase of the overload curve (0 skips it)")
	curve := fs.String("curve", "0.5,2", "offered rates of the overload curve, as multiples of the capacity")
	fs.Float64Var(&o.capacity, "capacity", 0, "capacity (requests/s) the overload curve multiplies; 0: the saturation phase's throughput in this run")
	fs.BoolVar(&o.floor, "floor", true, "drive the floor server too (at 200/s and at saturation)")
	fs.StringVar(&o.store, "store", "none", "the server's --store (none, sqlite:PATH or postgres://…): what remembering feedback costs")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, r := range strings.Split(*rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n <= 0 {
			return o, fmt.Errorf("--rates: %q is not a positive number", r)
		}
		o.rates = append(o.rates, n)
	}
	for _, f := range strings.Split(*curve, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || x <= 0 || x > 10 {
			return o, fmt.Errorf("--curve: %q is not a multiple of capacity between 0 and 10", f)
		}
		o.curve = append(o.curve, x)
	}
	if o.overload > 0 && o.saturation <= 0 && o.capacity <= 0 {
		return o, errors.New("the overload curve needs a capacity: give --capacity or keep the saturation phase")
	}
	if o.duration <= 0 || o.heavyRate <= 0 || o.fallbackRate <= 0 || o.faultsRate <= 0 || o.saturationWorkers <= 0 || o.heavyWorkers <= 0 {
		return o, errors.New("durations, rates and workers must be positive")
	}
	// Bounded runs only: this tool is for a developer machine, not a soak test.
	for _, d := range []time.Duration{o.duration, o.saturation, o.heavy, o.heavySaturation, o.fallback, o.faults, o.overload} {
		if d > 5*time.Minute {
			return o, fmt.Errorf("a phase of %v is longer than the 5m this tool allows", d)
		}
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "floor" {
		return runFloor(ctx, args[1:], stdout, stderr)
	}
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	env, err := newEnvironment(ctx, o, stderr)
	if err != nil {
		return err
	}
	defer env.close()
	rep, err := env.runPhases(ctx, o)
	if err != nil {
		return err
	}
	rep.write(stdout)
	return nil
}
