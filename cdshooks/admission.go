package cdshooks

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Why a call was refused (the reason label of MetricRequestsShed).
const (
	// refusedTime: the call could not start within its queue budget, or its
	// answer deadline passed before it was answered.
	refusedTime = "time"
	// refusedCount: the waiting room was full.
	refusedCount = "count"
	// refusedMemory: its body did not fit in the in-flight memory budget
	// (or its issuer's fair share of it).
	refusedMemory = "memory"
)

// Adaptive limit settings (see admission.adjust).
const (
	// minRunning is the least the running limit adapts down to, and where it
	// starts. Fewer refused calls at half the capacity on a busy machine and
	// would make 8 parallel calls waiting on a slow FHIR server queue; 16
	// let calls pile up before admission at twice the capacity
	// (BENCHMARKS.md, "Overload").
	minRunning = 8
	// adjustEvery is how often the running limit is reconsidered.
	adjustEvery = 100 * time.Millisecond
	// pressureTarget is the scheduling latency (90th percentile, see
	// schedPressure) above which the CPU is taken to be oversubscribed:
	// more calls running at once would only make each one slower.
	pressureTarget = 5 * time.Millisecond
)

// admission decides, for each service and feedback call, whether it runs
// now, waits, or is refused at once. It is a pure state machine over an
// injected clock: acquire is the only part that blocks.
//
// Calls run up to a limit. Above it they wait, one queue per issuer, and a
// freed slot goes to the issuers in turn (round robin), so that an issuer
// flooding the service waits behind its own calls while every other issuer
// still gets a slot at the next departure. A call is refused at once when
// the wait predicted for it (the calls ahead of it in that order, times the
// mean time between departures while calls waited) exceeds its budget, and
// refused when it has waited its whole budget all the same: the queue is
// bounded by time, not only by length. The first waiting call of an issuer
// is never refused by prediction, only by its budget: an issuer that sends
// little always gets its turn, and a stale prediction (departures were slow
// a while ago) cannot refuse everyone.
//
// The limit adapts (when pressure is set): it shrinks when goroutines wait
// for a CPU (the calls running compete for the processor, so more of them
// only makes each slower) and grows while calls queue and the CPU has room.
// A call waiting on a slow FHIR server uses no CPU, so such calls do not
// shrink the limit, as a limit driven by answer times would.
type admission struct {
	mu sync.Mutex
	// now is the clock (time.Now outside tests).
	now func() time.Time
	// pressure reports the CPU scheduling latency since its last call; nil
	// keeps the limit fixed at maxLimit.
	pressure func() time.Duration

	limit, minLimit, maxLimit int
	// maxWaiting bounds the waiting room by count as well.
	maxWaiting int

	running, waiting int
	issuers          map[string]*issuerCalls
	// ring lists the issuers with waiting calls in turn order; next is the
	// index of the one served next.
	ring []string
	next int
	// gap is the mean time between departures while calls waited
	// (exponentially weighted); lastDeparture is the latest departure.
	gap           time.Duration
	lastDeparture time.Time
	lastAdjust    time.Time
}

// issuerCalls are one issuer's calls: those waiting, in arrival order, and
// how many run.
type issuerCalls struct {
	waiting []*waiter
	running int
}

// waiter is a call waiting for a slot.
type waiter struct {
	issuer string
	since  time.Time
	// until is when it stops waiting: refused if not started by then.
	until time.Time
	// outcome receives "" when the call may run, else the refusal reason;
	// settled is set when it has been sent (under admission.mu).
	outcome chan string
	settled bool
}

// newAdmission returns an admission running at most maxLimit calls at once
// (starting from minLimit and adapting when pressure is not nil, never
// below it) with at most maxWaiting calls waiting.
func newAdmission(now func() time.Time, pressure func() time.Duration, minLimit, maxLimit, maxWaiting int) *admission {
	minLimit = max(1, min(minLimit, maxLimit))
	limit := maxLimit
	if pressure != nil {
		limit = minLimit
	}
	return &admission{
		now: now, pressure: pressure,
		limit: limit, minLimit: minLimit, maxLimit: maxLimit, maxWaiting: maxWaiting,
		issuers: map[string]*issuerCalls{}, lastAdjust: now(),
	}
}

// arrive admits a call of issuer that may wait at most budget: it runs now
// (w nil, reason ""), waits (w set: its outcome tells when it may run), or
// is refused (reason set).
func (a *admission) arrive(issuer string, budget time.Duration) (w *waiter, reason string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if budget <= 0 {
		return nil, refusedTime
	}
	calls := a.issuer(issuer)
	if a.running < a.limit && a.waiting == 0 {
		a.start(calls)
		return nil, ""
	}
	if a.waiting >= a.maxWaiting {
		return nil, refusedCount
	}
	if len(calls.waiting) > 0 && a.predictedWait(issuer) > budget {
		return nil, refusedTime
	}
	now := a.now()
	w = &waiter{issuer: issuer, since: now, until: now.Add(budget), outcome: make(chan string, 1)}
	if len(calls.waiting) == 0 {
		a.ring = append(a.ring, issuer)
	}
	calls.waiting = append(calls.waiting, w)
	a.waiting++
	return w, ""
}

// refuses reports, without admitting anything, why a call of issuer that
// may wait at most budget would be refused now ("" if it would not be): the
// early check that spares a hopeless call its JWT verification.
func (a *admission) refuses(issuer string, budget time.Duration) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case budget <= 0:
		return refusedTime
	case a.running < a.limit && a.waiting == 0:
		return ""
	case a.waiting >= a.maxWaiting:
		return refusedCount
	case a.issuers[issuer] != nil && len(a.issuers[issuer].waiting) > 0 && a.predictedWait(issuer) > budget:
		return refusedTime
	}
	return ""
}

// predictedWait is how long one more call of issuer would wait: the calls
// that would start before it (its issuer's waiting calls, and up to as many
// of each other issuer's, served in turn), plus itself, times the mean time
// between departures. Before calls have waited it is zero: the budget alone
// bounds the wait.
func (a *admission) predictedWait(issuer string) time.Duration {
	own := len(a.issuers[issuer].waiting) + 1
	ahead := own
	for _, other := range a.ring {
		if other != issuer {
			ahead += min(len(a.issuers[other].waiting), own)
		}
	}
	return time.Duration(ahead) * a.gap
}

// done ends a running call of issuer and gives the slot to the next
// waiting call.
func (a *admission) done(issuer string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	calls := a.issuers[issuer]
	calls.running--
	a.running--
	a.forget(issuer)
	if a.waiting > 0 && !a.lastDeparture.IsZero() {
		gap := now.Sub(a.lastDeparture)
		if a.gap == 0 {
			a.gap = gap
		} else {
			a.gap += (gap - a.gap) / 8
		}
	}
	a.lastDeparture = now
	a.adjust(now)
	a.dispatch(now)
}

// giveUp takes w out of the queue when it stops waiting on its own (its
// budget spent or its caller gone) and reports its outcome: "" when it was
// given a slot meanwhile (the caller must then run or release it),
// refusedTime otherwise.
func (a *admission) giveUp(w *waiter) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if w.settled {
		return <-w.outcome
	}
	calls := a.issuers[w.issuer]
	calls.waiting = slices.DeleteFunc(calls.waiting, func(x *waiter) bool { return x == w })
	a.waiting--
	if len(calls.waiting) == 0 {
		a.leaveRing(w.issuer)
	}
	a.forget(w.issuer)
	w.settled = true
	return refusedTime
}

// dispatch starts waiting calls, issuers in turn, while slots are free;
// a call whose wait has run out is refused instead.
func (a *admission) dispatch(now time.Time) {
	for a.running < a.limit && a.waiting > 0 {
		a.next %= len(a.ring)
		issuer := a.ring[a.next]
		calls := a.issuers[issuer]
		w := calls.waiting[0]
		calls.waiting = calls.waiting[1:]
		a.waiting--
		if len(calls.waiting) == 0 {
			a.leaveRing(issuer) // the next issuer moves to a.next
		} else {
			a.next++
		}
		w.settled = true
		if now.After(w.until) {
			w.outcome <- refusedTime
			a.forget(issuer)
			continue
		}
		a.start(calls)
		w.outcome <- ""
	}
}

// adjust reconsiders the running limit, at most every adjustEvery: a
// quarter less while goroutines wait for a CPU longer than pressureTarget,
// an eighth more (at least one) while calls queue and they wait less than
// half of it.
func (a *admission) adjust(now time.Time) {
	if a.pressure == nil || now.Sub(a.lastAdjust) < adjustEvery {
		return
	}
	a.lastAdjust = now
	switch p := a.pressure(); {
	case p > pressureTarget:
		a.limit = max(a.minLimit, a.limit-max(1, a.limit/4))
	case p < pressureTarget/2 && a.waiting > 0:
		a.limit = min(a.maxLimit, a.limit+max(1, a.limit/8))
	}
}

// issuer returns issuer's calls, creating the entry.
func (a *admission) issuer(issuer string) *issuerCalls {
	calls, ok := a.issuers[issuer]
	if !ok {
		calls = &issuerCalls{}
		a.issuers[issuer] = calls
	}
	return calls
}

// start counts one more running call.
func (a *admission) start(calls *issuerCalls) {
	calls.running++
	a.running++
}

// forget drops an issuer with no call left, so the map holds only issuers
// with calls.
func (a *admission) forget(issuer string) {
	if calls := a.issuers[issuer]; calls.running == 0 && len(calls.waiting) == 0 {
		delete(a.issuers, issuer)
	}
}

// leaveRing takes issuer out of the turn order.
func (a *admission) leaveRing(issuer string) {
	i := slices.Index(a.ring, issuer)
	a.ring = slices.Delete(a.ring, i, i+1)
	if i < a.next {
		a.next--
	}
}

// acquire waits for admission of a call of issuer, at most budget, or less
// if ctx ends first. It returns the time waited and either a release func
// (to call when the call ends) or the refusal reason.
func (a *admission) acquire(ctx context.Context, issuer string, budget time.Duration) (release func(), waited time.Duration, reason string) {
	arrived := a.now()
	w, reason := a.arrive(issuer, budget)
	if reason != "" {
		return nil, 0, reason
	}
	if w != nil {
		timer := time.NewTimer(budget)
		select {
		case reason = <-w.outcome:
		case <-timer.C:
			reason = a.giveUp(w)
		case <-ctx.Done():
			reason = a.giveUp(w)
		}
		timer.Stop()
	}
	waited = a.now().Sub(arrived)
	if reason != "" {
		return nil, waited, reason
	}
	return func() { a.done(issuer) }, waited, ""
}

// limit is the running limit now (for tests and logs).
func (a *admission) currentLimit() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.limit
}
