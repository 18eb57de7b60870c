package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
)

// servicePath is the endpoint every request calls.
const servicePath = "/cds-services/nocturnal-leg-cramps"

// phase is one bounded attack.
type phase struct {
	name     string
	kind     phaseKind
	body     []byte
	rate     int // requests per second; 0 means as fast as workers allow
	workers  int // with rate 0: concurrent requests
	duration time.Duration
	// expect lists the statuses that are answers, not errors.
	expect []int
	// before prepares the fake FHIR server.
	before func()
	// floor sends the phase to the floor server instead of cramp-cds.
	floor bool
	// factor, for a phase of the overload curve, is its offered rate as a
	// multiple of the capacity; the rate is set when it starts.
	factor float64
}

// phaseKind says which target, if any, a phase is judged against.
type phaseKind int

const (
	plain phaseKind = iota
	typicalAt200
	saturation
	heavyKind
	heavySaturationKind
	fallbackKind
	faultKind
	floorAt200
	floorSaturation
	overloadKind
)

// Overload phases: what an EHR waits, and what counts as late.
const (
	// lateAfter is when a 200 is too late to show: CDS Hooks asks for
	// answers in about 500 ms.
	lateAfter = 500 * time.Millisecond
	// overloadClientTimeout is when the load generator gives up on a call
	// of the overload curve (counted as no answer, hence late).
	overloadClientTimeout = 2 * time.Second
)

// split is an overload phase's calls sorted by outcome: latencies of the
// answered (200) and refused (503) calls, the late ones (a 200 after
// lateAfter, or no answer) and any other status.
type split struct {
	answered, refused []time.Duration
	late, noAnswer    int
	other             int
}

// result is what one phase measured.
type result struct {
	phase    phase
	metrics  vegeta.Metrics
	errors   int // results with a status outside expect, or no answer at all
	peakRSS  int64
	cpu      time.Duration
	minted   int64 // tokens signed during the attack, when the pool ran dry
	finished time.Duration
	split    split // overload phases only
}

// runPhases runs every phase the options ask for, in order, and gathers the report.
func (env *environment) runPhases(ctx context.Context, o options) (*report, error) {
	typical := env.typical.Request(fixtures.RequestOptions{})
	heavy := env.heavy.Request(fixtures.RequestOptions{})
	absent := []string{legcramps.PrefetchConditions, legcramps.PrefetchMedicationStatements, legcramps.PrefetchMedicationRequests, legcramps.PrefetchObservations}
	fallback := env.typical.Request(fixtures.RequestOptions{FHIRServer: env.fhirBase, AccessToken: fhirToken, Omit: absent})
	healthy := func(delay time.Duration) func() {
		return func() { env.fhir.SetFault(fixtures.Healthy); env.fhir.SetDelay(delay) }
	}
	ok := []int{http.StatusOK}
	rep := &report{options: o, typicalBytes: len(typical), heavyBytes: len(heavy), fallbackBytes: len(fallback)}

	phases := []phase{{name: "warm-up (not reported)", body: typical, rate: 50, duration: 3 * time.Second, expect: ok, before: healthy(0)}}
	for _, r := range o.rates {
		kind := plain
		if r == 200 {
			kind = typicalAt200
		}
		phases = append(phases, phase{name: fmt.Sprintf("typical @ %d/s", r), kind: kind, body: typical, rate: r, duration: o.duration, expect: ok, before: healthy(0)})
		if r == 200 && o.floor {
			phases = append(phases, phase{name: "floor (JWT + map decode): typical @ 200/s", kind: floorAt200, body: typical, rate: r, duration: o.duration, expect: ok, before: healthy(0), floor: true})
		}
	}
	if o.saturation > 0 {
		phases = append(phases, phase{name: fmt.Sprintf("typical, saturation (%d concurrent)", o.saturationWorkers), kind: saturation,
			body: typical, workers: o.saturationWorkers, duration: o.saturation, expect: ok, before: healthy(0)})
		if o.floor {
			phases = append(phases, phase{name: fmt.Sprintf("floor (JWT + map decode): typical, saturation (%d concurrent)", o.saturationWorkers), kind: floorSaturation,
				body: typical, workers: o.saturationWorkers, duration: o.saturation, expect: ok, before: healthy(0), floor: true})
		}
	}
	if o.overload > 0 {
		// 503 is an answer here: refusing fast is what is measured.
		for _, f := range o.curve {
			phases = append(phases, phase{kind: overloadKind, factor: f, body: typical, duration: o.overload,
				expect: []int{http.StatusOK, http.StatusServiceUnavailable}, before: healthy(0)})
		}
	}
	if o.heavy > 0 {
		phases = append(phases, phase{name: fmt.Sprintf("heavy @ %d/s", o.heavyRate), kind: heavyKind, body: heavy, rate: o.heavyRate, duration: o.heavy, expect: ok, before: healthy(0)})
	}
	if o.heavySaturation > 0 {
		phases = append(phases, phase{name: fmt.Sprintf("heavy, saturation (%d concurrent)", o.heavyWorkers), kind: heavySaturationKind,
			body: heavy, workers: o.heavyWorkers, duration: o.heavySaturation, expect: ok, before: healthy(0)})
	}
	if o.fallback > 0 {
		phases = append(phases, phase{name: fmt.Sprintf("fallback, 4 keys fetched, +%v per query @ %d/s", o.fhirDelay, o.fallbackRate), kind: fallbackKind,
			body: fallback, rate: o.fallbackRate, duration: o.fallback, expect: ok, before: healthy(o.fhirDelay)})
	}
	if o.faults > 0 {
		// During a fault a call may still finish with 200 if it started
		// before the switch: both are answers; anything else is an error.
		answered := []int{http.StatusOK, http.StatusPreconditionFailed}
		set := func(f fixtures.Fault, delay time.Duration) func() {
			return func() { env.fhir.SetFault(f); env.fhir.SetDelay(delay) }
		}
		phases = append(phases,
			phase{name: "fault: FHIR healthy (baseline)", kind: faultKind, body: fallback, rate: o.faultsRate, duration: o.faults, expect: answered, before: set(fixtures.Healthy, 0)},
			phase{name: "fault: FHIR slow (3 s > --fhir-timeout 2 s)", kind: faultKind, body: fallback, rate: o.faultsRate, duration: o.faults, expect: answered, before: set(fixtures.Healthy, 3*time.Second)},
			phase{name: "fault: FHIR answers 500", kind: faultKind, body: fallback, rate: o.faultsRate, duration: o.faults, expect: answered, before: set(fixtures.Fail500, 0)},
			phase{name: "fault: FHIR resets connections", kind: faultKind, body: fallback, rate: o.faultsRate, duration: o.faults, expect: answered, before: set(fixtures.Reset, 0)},
			phase{name: "fault: FHIR recovered", kind: faultKind, body: fallback, rate: o.faultsRate, duration: o.faults, expect: answered, before: set(fixtures.Healthy, 0)},
		)
	}

	for i, ph := range phases {
		if ph.kind == overloadKind {
			capacity := o.capacity
			if sat := rep.kindResult(saturation); capacity <= 0 && sat != nil {
				capacity = sat.metrics.Throughput
			}
			ph.rate = max(1, int(ph.factor*capacity+0.5))
			ph.name = fmt.Sprintf("overload: %.1f× capacity (%.0f/s) = %d/s", ph.factor, capacity, ph.rate)
		}
		if ph.kind == faultKind && rep.beforeFaults.goroutines == 0 {
			if err := env.snapshot(ctx, &rep.beforeFaults); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(env.progress, "phase %d/%d: %s for %v\n", i+1, len(phases), ph.name, ph.duration)
		res, err := env.attack(ctx, ph, o)
		if err != nil {
			return nil, fmt.Errorf("phase %q: %w", ph.name, err)
		}
		if i > 0 {
			rep.results = append(rep.results, res)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	if o.faults > 0 {
		// Let the slow phase's abandoned FHIR reads and idle connections
		// wind down before counting what is left.
		time.Sleep(3 * time.Second)
		if err := env.snapshot(ctx, &rep.afterFaults); err != nil {
			return nil, err
		}
	}
	var err error
	_, rep.peakRSS, err = env.procStatus()
	rep.logWarn, rep.logError = env.logs.warn.Load(), env.logs.error.Load()
	return rep, err
}

// snapshot records the server's goroutines and memory now.
func (env *environment) snapshot(ctx context.Context, s *snapshot) error {
	var err error
	if s.goroutines, err = env.goroutines(ctx); err != nil {
		return err
	}
	s.rss, _, err = env.procStatus()
	return err
}

// attack runs one phase: mints its tokens, attacks, and samples the
// server's memory while it runs.
func (env *environment) attack(ctx context.Context, ph phase, o options) (result, error) {
	ph.before()
	n := ph.rate*int(ph.duration/time.Second) + ph.rate + 16
	switch {
	case ph.rate == 0 && ph.kind == heavySaturationKind:
		n = 50 * int(ph.duration/time.Second) // far above what 2 cores get through
	case ph.rate == 0:
		n = o.saturationTokenCap
	}
	pool, err := env.mint(n)
	if err != nil {
		return result{}, err
	}
	server := env.process
	if ph.floor {
		server = env.floor
	}

	var peak atomic.Int64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, _, err := server.procStatus(); err == nil && rss > peak.Load() {
				peak.Store(rss)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})

	cpuBefore, err := server.cpuTime()
	if err != nil {
		return result{}, err
	}
	// Our own transport, so that the phase's connections can be closed when
	// it ends: the next phase starts fresh, and the server's goroutine count
	// is not inflated by idle keep-alive connections.
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 256,
		DisableCompression:  true,
	}
	defer transport.CloseIdleConnections()
	timeout := 15 * time.Second
	if ph.kind == overloadKind {
		timeout = overloadClientTimeout
	}
	opts := []func(*vegeta.Attacker){vegeta.Client(&http.Client{Timeout: timeout, Transport: transport})}
	pacer := vegeta.Pacer(vegeta.Rate{Freq: ph.rate, Per: time.Second})
	if ph.rate == 0 {
		pacer = vegeta.Rate{Freq: 0}
		opts = append(opts, vegeta.Workers(uint64(ph.workers)), vegeta.MaxWorkers(uint64(ph.workers)))
	}
	atk := vegeta.NewAttacker(opts...)
	res := result{phase: ph}
	start := time.Now()
	results := atk.Attack(targeter(server.apiAddr, ph.body, pool), pacer, ph.duration, ph.name)
	for r := range results {
		res.metrics.Add(r)
		if ph.kind == overloadKind {
			res.split.add(r)
		}
		if r.Code == 0 || !slices.Contains(ph.expect, int(r.Code)) {
			res.errors++
		}
		if ctx.Err() != nil {
			atk.Stop()
		}
	}
	res.metrics.Close()
	res.finished = time.Since(start)
	close(stop)
	sampler.Wait()
	cpuAfter, err := server.cpuTime()
	if err != nil {
		return result{}, err
	}
	res.cpu, res.peakRSS, res.minted = cpuAfter-cpuBefore, peak.Load(), pool.minted.Load()
	return res, nil
}

// tokenPool hands out pre-signed tokens, each once, and signs more when it
// runs dry (counted, since signing then competes with the server for CPU).
type tokenPool struct {
	tokens []string
	next   atomic.Int64
	minted atomic.Int64
	sign   func() (string, error)
}

func (p *tokenPool) take() (string, error) {
	if i := p.next.Add(1) - 1; int(i) < len(p.tokens) {
		return p.tokens[i], nil
	}
	p.minted.Add(1)
	return p.sign()
}

// mint signs n tokens for the service's audience on every core, before the
// attack starts, so that signing does not compete with the server for CPU.
func (env *environment) mint(n int) (*tokenPool, error) {
	aud := publicURL + servicePath
	sign := func() (string, error) { return env.issuer.Token(aud, time.Now()) }
	pool := &tokenPool{tokens: make([]string, n), sign: sign}
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if pool.tokens[i], errs[w] = sign(); errs[w] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return pool, nil
}

// targeter builds each request to the server at addr: the body, and a
// token used by no other.
func targeter(addr string, body []byte, pool *tokenPool) vegeta.Targeter {
	url := "http://" + addr + servicePath
	return func(t *vegeta.Target) error {
		tok, err := pool.take()
		if err != nil {
			return err
		}
		t.Method, t.URL, t.Body = http.MethodPost, url, body
		t.Header = http.Header{
			"Content-Type":  {"application/json"},
			"Authorization": {"Bearer " + tok},
		}
		return nil
	}
}

// add sorts one overload call by its outcome.
func (s *split) add(r *vegeta.Result) {
	switch r.Code {
	case http.StatusOK:
		s.answered = append(s.answered, r.Latency)
		if r.Latency > lateAfter {
			s.late++
		}
	case http.StatusServiceUnavailable:
		s.refused = append(s.refused, r.Latency)
	case 0:
		s.noAnswer++
		s.late++
	default:
		s.other++
	}
}

// percentile is the p-th percentile (0..1) of ds, sorting it; 0 for none.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(p*float64(len(ds))))]
}
