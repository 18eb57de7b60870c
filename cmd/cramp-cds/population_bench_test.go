package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
)

// benchNow is the generated patients' "as of" and the run's --now.
var benchNow = time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)

// BenchmarkPopulation runs the real binary (`cramp-cds population`, as an
// operator would) over generated Bulk Data exports of typical patients
// (tools/testkit/fixtures.Typical: 20 conditions, 15 medications, 60 labs), at
// two population sizes ten times apart, and reports patients per second
// per core (patients over the child's user+system CPU seconds), wall-clock
// patients per second, and the child's peak RSS. Memory must not grow with
// the population: the benchmark fails when the larger run's peak RSS
// exceeds the smaller's by more than 20%.
//
// BENCH_POPULATION_SIZES overrides the sizes, e.g. "200,2000" for a quick run.
func BenchmarkPopulation(b *testing.B) {
	sizes := []int{2000, 20000}
	if s := os.Getenv("BENCH_POPULATION_SIZES"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("BENCH_POPULATION_SIZES %q: want sizes like 2000,20000", s)
			}
			sizes = append(sizes, n)
		}
	}
	bin := filepath.Join(b.TempDir(), "cramp-cds")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	peak := map[int]float64{}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("patients=%d", n), func(b *testing.B) {
			export := b.TempDir()
			writeGeneratedExport(b, export, n)
			var rss float64
			var cpu, wall time.Duration
			runs := 0
			for b.Loop() {
				out := b.TempDir()
				cmd := exec.Command(bin, "population", "--in", export, "--out", out, "--temp-dir", b.TempDir(),
					"--now", benchNow.Format(time.DateOnly), "--trigger", "always", "--ids", "plain")
				cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(runtime.GOMAXPROCS(0)))
				start := time.Now()
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("population: %v\n%s", err, out)
				}
				wall += time.Since(start)
				cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
				rss = max(rss, float64(ru.Maxrss)/1024) // KiB on Linux
				runs++
			}
			b.ReportMetric(float64(n*runs)/cpu.Seconds(), "patients/s/core")
			b.ReportMetric(float64(n*runs)/wall.Seconds(), "patients/s")
			b.ReportMetric(rss, "peak-RSS-MiB")
			b.ReportMetric(0, "ns/op")
			peak[n] = rss
		})
	}
	if len(sizes) >= 2 {
		small, large := peak[sizes[0]], peak[sizes[len(sizes)-1]]
		if small > 0 && large > 1.2*small {
			b.Errorf("peak RSS grew from %.0f MiB (%d patients) to %.0f MiB (%d patients): more than 20%%",
				small, sizes[0], large, sizes[len(sizes)-1])
		}
	}
}

// writeGeneratedExport writes n generated typical patients as an NDJSON export.
func writeGeneratedExport(b *testing.B, dir string, n int) {
	b.Helper()
	w, err := fixtures.NewBulkWriter(dir, false, uint64(n))
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if err := w.Add(fixtures.Generate(uint64(i+1), fixtures.Typical, benchNow).Bundle(), ""); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}
