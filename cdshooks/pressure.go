package cdshooks

import (
	"runtime/metrics"
	"sync"
	"time"
)

// schedLatencies is the Go runtime's histogram of the time goroutines spent
// runnable before running: how long work waits for a CPU.
const schedLatencies = "/sched/latencies:seconds"

// schedPressure reports, at each call, the 90th percentile of the time
// goroutines waited for a CPU since the previous call: the admission's
// signal that the calls running compete for the processor. Goroutines
// blocked on the network (a slow FHIR server) are not runnable and do not
// count. It returns 0 when nothing was scheduled in between.
type schedPressure struct {
	mu     sync.Mutex
	sample []metrics.Sample
	prev   []uint64
}

func newSchedPressure() *schedPressure {
	return &schedPressure{sample: []metrics.Sample{{Name: schedLatencies}}}
}

func (p *schedPressure) read() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	metrics.Read(p.sample)
	if p.sample[0].Value.Kind() != metrics.KindFloat64Histogram {
		return 0 // a runtime without the metric: no pressure is ever seen
	}
	h := p.sample[0].Value.Float64Histogram()
	delta := make([]uint64, len(h.Counts))
	for i, c := range h.Counts {
		delta[i] = c
		if i < len(p.prev) {
			delta[i] -= p.prev[i]
		}
	}
	p.prev = append(p.prev[:0], h.Counts...)
	return quantile(delta, h.Buckets, 0.9)
}

// quantile is the q-quantile of a histogram of counts whose bucket i spans
// buckets[i] to buckets[i+1] seconds: the lower bound of the bucket it
// falls in (0 for an empty histogram).
func quantile(counts []uint64, buckets []float64, q float64) time.Duration {
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := uint64(q * float64(total))
	var seen uint64
	for i, c := range counts {
		seen += c
		if seen > rank {
			lower := buckets[i]
			if lower < 0 {
				lower = 0 // the first bucket opens at -Inf
			}
			return time.Duration(lower * float64(time.Second))
		}
	}
	return time.Duration(buckets[len(buckets)-1] * float64(time.Second))
}
