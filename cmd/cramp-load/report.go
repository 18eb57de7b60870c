package main

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"
)

// snapshot is the server's state at one moment.
type snapshot struct {
	goroutines int
	rss        int64 // KiB
}

// report is everything one run measured.
type report struct {
	options                                 options
	typicalBytes, heavyBytes, fallbackBytes int
	results                                 []result
	beforeFaults, afterFaults               snapshot
	peakRSS                                 int64 // VmHWM at the end, KiB
	logWarn, logError                       int64
}

// The performance targets a run is judged against (BENCHMARKS.md): p99 at
// 200 requests/s, the heavy request, resident memory, and the FHIR fallback.
const (
	targetP99At200     = 20 * time.Millisecond
	targetP99VsFloor   = 1.5 // cramp-cds's p99 at 200/s over the floor's
	targetSaturationX  = 3.0 // saturation throughput over the previous binary's
	targetHeavy        = 500 * time.Millisecond
	targetRSS          = 150 << 10 // KiB
	targetFallback     = 150 * time.Millisecond
	fhirTimeout        = 2 * time.Second // the --fhir-timeout given to the server
	faultAnswerAllowed = fhirTimeout + time.Second
)

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

func kib(bytes int) float64 { return float64(bytes) / 1024 }

func mib(kib int64) string { return fmt.Sprintf("%.0f MiB", float64(kib)/1024) }

// write prints the report as Markdown.
func (r *report) write(w io.Writer) {
	fmt.Fprintf(w, "## cramp-load, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "Machine: %d CPUs (GOMAXPROCS of the load generator %d), %s/%s, %s. The load generator shares the CPUs with the server.\n\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(w, "Bodies: typical %.1f KiB, heavy %.1f KiB, fallback %.1f KiB. Every request carries a freshly signed ES384 JWT (unique jti) "+
		"that the server verifies; tokens are signed before each phase.\n\n", kib(r.typicalBytes), kib(r.heavyBytes), kib(r.fallbackBytes))

	fmt.Fprintln(w, "| phase | requests | throughput | p50 | p95 | p99 | max | errors | status codes | server CPU / request | peak RSS |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
	for _, res := range r.results {
		m := res.metrics
		perRequest := time.Duration(0)
		if m.Requests > 0 {
			perRequest = res.cpu / time.Duration(m.Requests)
		}
		codes := slices.Sorted(maps.Keys(m.StatusCodes))
		var cs []string
		for _, c := range codes {
			cs = append(cs, fmt.Sprintf("%s×%d", c, m.StatusCodes[c]))
		}
		name := res.phase.name
		if res.minted > 0 {
			name += fmt.Sprintf(" (%d tokens signed during the attack)", res.minted)
		}
		fmt.Fprintf(w, "| %s | %d | %.0f/s | %s | %s | %s | %s | %d | %s | %s | %s |\n",
			name, m.Requests, m.Rate, ms(m.Latencies.P50), ms(m.Latencies.P95), ms(m.Latencies.P99), ms(m.Latencies.Max),
			res.errors, strings.Join(cs, " "), ms(perRequest), mib(res.peakRSS))
	}
	for _, res := range r.results {
		// vegeta lists every non-2xx status as an error; expected ones are not.
		var unexpected []string
		for _, e := range res.metrics.Errors {
			if !slices.ContainsFunc(res.phase.expect, func(code int) bool { return strings.HasPrefix(e, fmt.Sprint(code)+" ") }) {
				unexpected = append(unexpected, e)
			}
		}
		if len(unexpected) > 0 {
			fmt.Fprintf(w, "\nErrors in %s: %s\n", res.phase.name, strings.Join(unexpected, "; "))
		}
	}
	fmt.Fprintf(w, "\nServer peak RSS over the whole run (VmHWM): %s. Server log: %d warnings, %d errors.\n", mib(r.peakRSS), r.logWarn, r.logError)
	if r.beforeFaults.goroutines > 0 {
		fmt.Fprintf(w, "Faults: server goroutines %d before, %d after (3 s after the last phase); RSS %s before, %s after.\n",
			r.beforeFaults.goroutines, r.afterFaults.goroutines, mib(r.beforeFaults.rss), mib(r.afterFaults.rss))
	}
	fmt.Fprintln(w)
	r.writeTargets(w)
}

// kindResult returns the first result of a phase kind, or nil.
func (r *report) kindResult(k phaseKind) *result {
	for i := range r.results {
		if r.results[i].phase.kind == k {
			return &r.results[i]
		}
	}
	return nil
}

// writeTargets judges each target the run measured.
func (r *report) writeTargets(w io.Writer) {
	fmt.Fprintln(w, "### Targets")
	judge := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	for _, res := range r.results {
		m := res.metrics
		switch res.phase.kind {
		case floorAt200:
			if ours := r.kindResult(typicalAt200); ours != nil {
				ratio := float64(ours.metrics.Latencies.P99) / float64(m.Latencies.P99)
				fmt.Fprintf(w, "- p99 at 200/s at most %.1f× the floor's, zero errors: %s (p99 %s against the floor's %s: %.2f×, %d errors)\n",
					targetP99VsFloor, judge(ratio <= targetP99VsFloor && ours.errors == 0), ms(ours.metrics.Latencies.P99), ms(m.Latencies.P99), ratio, ours.errors)
			}
		case floorSaturation:
			if ours := r.kindResult(saturation); ours != nil {
				fmt.Fprintf(w, "- saturation throughput: %.0f requests/s, the floor's %.0f (%.2f× the floor)\n",
					ours.metrics.Throughput, m.Throughput, ours.metrics.Throughput/m.Throughput)
				if b := r.options.baselineSaturation; b > 0 {
					fmt.Fprintf(w, "- saturation at least %.0f× the previous binary's %.0f requests/s: %s (%.2f×)\n",
						targetSaturationX, b, judge(ours.metrics.Throughput >= targetSaturationX*b), ours.metrics.Throughput/b)
				}
			}
		case typicalAt200:
			fmt.Fprintf(w, "- p99 under %v at 200/s, typical request, JWT on, zero errors: %s (p99 %s, %d errors)\n",
				targetP99At200, judge(m.Latencies.P99 < targetP99At200 && res.errors == 0), ms(m.Latencies.P99), res.errors)
		case saturation:
			fmt.Fprintf(w, "- RSS under 150 MiB at saturation: %s (peak %s at %.0f requests/s)\n",
				judge(res.peakRSS < targetRSS), mib(res.peakRSS), m.Throughput)
		case heavyKind:
			fmt.Fprintf(w, "- heavy request well inside 500 ms: %s (p50 %s, p99 %s, max %s)\n",
				judge(m.Latencies.Max < targetHeavy && res.errors == 0), ms(m.Latencies.P50), ms(m.Latencies.P99), ms(m.Latencies.Max))
		case heavySaturationKind:
			fmt.Fprintf(w, "- (no target) heavy requests at saturation: peak RSS %s at %.1f requests/s, p99 %s\n",
				mib(res.peakRSS), m.Throughput, ms(m.Latencies.P99))
		case fallbackKind:
			fmt.Fprintf(w, "- four-key fallback under 150 ms (parallel, not 4 × %v): %s (p50 %s, p99 %s, %d errors)\n",
				r.options.fhirDelay, judge(m.Latencies.P99 < targetFallback && res.errors == 0), ms(m.Latencies.P50), ms(m.Latencies.P99), res.errors)
		case faultKind:
			answered := res.errors == 0 && m.Latencies.Max < faultAnswerAllowed
			fmt.Fprintf(w, "- %s: every call answered (200 or 412) within --fhir-timeout + 1 s: %s (max %s, 412×%d, %d errors)\n",
				res.phase.name, judge(answered), ms(m.Latencies.Max), m.StatusCodes[fmt.Sprint(http.StatusPreconditionFailed)], res.errors)
		}
	}
}
