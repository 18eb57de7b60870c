package cdshooks

// The admission's decisions on a fake clock: who runs, who waits, who is
// refused and why, in what order waiting issuers are served, and how the
// running limit adapts. Internal because the state machine is; no test here
// sleeps or measures time.

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC)} }

// outcomeOf is a waiter's outcome if it has one: ("", true) started,
// (reason, true) refused, ("", false) still waiting.
func outcomeOf(t *testing.T, w *waiter) (string, bool) {
	t.Helper()
	select {
	case r := <-w.outcome:
		return r, true
	default:
		return "", false
	}
}

// mustRun arrives a call that must run at once.
func mustRun(t *testing.T, a *admission, issuer string) {
	t.Helper()
	if w, reason := a.arrive(issuer, time.Second); w != nil || reason != "" {
		t.Fatalf("call of %s: waits %v, refused %q; want it to run at once", issuer, w != nil, reason)
	}
}

// mustWait arrives a call that must wait.
func mustWait(t *testing.T, a *admission, issuer string, budget time.Duration) *waiter {
	t.Helper()
	w, reason := a.arrive(issuer, budget)
	if w == nil {
		t.Fatalf("call of %s: refused %q, want it to wait", issuer, reason)
	}
	return w
}

func TestAdmissionRunsWaitsAndRefuses(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := newAdmission(clock.now, nil, 1, 2, 2)
	mustRun(t, a, "A")
	mustRun(t, a, "A")
	// Nothing finished yet: no prediction, the budget alone bounds the wait.
	w1 := mustWait(t, a, "A", 100*time.Millisecond)
	w2 := mustWait(t, a, "A", 100*time.Millisecond)
	if _, reason := a.arrive("A", time.Second); reason != refusedCount {
		t.Errorf("a call beyond the waiting room: reason %q, want %q", reason, refusedCount)
	}
	if _, reason := a.arrive("B", 0); reason != refusedTime {
		t.Errorf("a call with no budget: reason %q, want %q", reason, refusedTime)
	}

	clock.advance(40 * time.Millisecond)
	a.done("A")
	if r, ok := outcomeOf(t, w1); !ok || r != "" {
		t.Fatalf("first waiter after a departure: outcome %q (settled %v), want started", r, ok)
	}
	if _, ok := outcomeOf(t, w2); ok {
		t.Fatalf("second waiter started with no slot free")
	}
	// The second waiter's budget runs out before the next departure: it
	// is refused, not started late.
	clock.advance(61 * time.Millisecond)
	a.done("A")
	if r, ok := outcomeOf(t, w2); !ok || r != refusedTime {
		t.Errorf("waiter past its budget at a departure: outcome %q (settled %v), want %q", r, ok, refusedTime)
	}
	if a.running != 1 || a.waiting != 0 {
		t.Errorf("running %d, waiting %d; want 1 and 0", a.running, a.waiting)
	}
}

// learnGap runs one call of issuer and two departures with calls waiting,
// gap apart: the admission learns that a slot frees every gap.
func learnGap(t *testing.T, a *admission, clock *fakeClock, issuer string, gap time.Duration) {
	t.Helper()
	mustRun(t, a, issuer)
	for range 2 {
		w := mustWait(t, a, issuer, time.Hour)
		clock.advance(gap)
		a.done(issuer)
		if r, ok := outcomeOf(t, w); !ok || r != "" {
			t.Fatalf("waiter after a departure: outcome %q (settled %v), want started", r, ok)
		}
	}
}

// TestAdmissionPredictsTheWait refuses at once the call that would wait
// longer than its budget, from the calls ahead of it and the time between
// departures; but never an issuer's first waiting call, which only its
// budget bounds.
func TestAdmissionPredictsTheWait(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := newAdmission(clock.now, nil, 1, 1, 100)
	learnGap(t, a, clock, "A", 10*time.Millisecond)
	// The 1st waiter is predicted to wait 10 ms, the 5th 50 ms.
	for range 4 {
		mustWait(t, a, "A", 45*time.Millisecond)
	}
	if w, reason := a.arrive("A", 45*time.Millisecond); w != nil || reason != refusedTime {
		t.Errorf("5th waiter, predicted 50 ms against a 45 ms budget: waits %v, reason %q; want refused for time at once", w != nil, reason)
	}
	if w, _ := a.arrive("A", 55*time.Millisecond); w == nil {
		t.Errorf("5th waiter with a 55 ms budget refused")
	}
	// Another issuer's first call is predicted 20 ms (it is served at the
	// next turn, not behind A's five), yet waits even on a shorter budget.
	if w, reason := a.arrive("B", 5*time.Millisecond); w == nil {
		t.Errorf("another issuer's first call refused (%q), want it to wait its budget", reason)
	}
}

// TestAdmissionIsFairAcrossIssuers floods from one issuer: the flooder is
// refused once its own queue would outlast its budget, while another
// issuer's call is started at the next free turn, ahead of the flood.
func TestAdmissionIsFairAcrossIssuers(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := newAdmission(clock.now, nil, 1, 1, 100)
	learnGap(t, a, clock, "flood", 10*time.Millisecond) // one at a time, a departure every 10 ms
	var flood []*waiter
	for range 9 {
		flood = append(flood, mustWait(t, a, "flood", 95*time.Millisecond))
	}
	if _, reason := a.arrive("flood", 95*time.Millisecond); reason != refusedTime {
		t.Errorf("flooder's 10th waiting call: reason %q, want %q", reason, refusedTime)
	}
	quiet := mustWait(t, a, "quiet", 25*time.Millisecond)

	clock.advance(10 * time.Millisecond)
	a.done("flood")
	// The flood's first waiter had its turn first (it was first in line).
	if r, ok := outcomeOf(t, flood[0]); !ok || r != "" {
		t.Fatalf("flood's first waiter: outcome %q (settled %v), want started", r, ok)
	}
	clock.advance(10 * time.Millisecond)
	a.done("flood")
	if r, ok := outcomeOf(t, quiet); !ok || r != "" {
		t.Errorf("quiet issuer's call after two departures: outcome %q (settled %v), want started ahead of the flood", r, ok)
	}
	if _, ok := outcomeOf(t, flood[1]); ok {
		t.Errorf("flood's second waiter settled in the quiet issuer's turn")
	}
	clock.advance(10 * time.Millisecond)
	a.done("flood")
	if r, ok := outcomeOf(t, flood[1]); !ok || r != "" {
		t.Errorf("flood's second waiter at the next departure: outcome %q (settled %v), want started", r, ok)
	}
}

// TestAdmissionGiveUp takes a waiter out when its caller stops waiting,
// and hands over a slot given meanwhile instead of losing it.
func TestAdmissionGiveUp(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := newAdmission(clock.now, nil, 1, 1, 10)
	mustRun(t, a, "A")
	gone := mustWait(t, a, "A", time.Second)
	next := mustWait(t, a, "B", time.Second)
	if got := a.giveUp(gone); got != refusedTime {
		t.Errorf("giveUp of a waiting call = %q, want %q", got, refusedTime)
	}
	if a.waiting != 1 {
		t.Errorf("waiting = %d after one gave up, want 1", a.waiting)
	}
	a.done("A")
	// next was started by the departure before its caller gave up: the
	// slot is its own.
	if got := a.giveUp(next); got != "" {
		t.Errorf("giveUp of a call already started = %q, want \"\" (run it)", got)
	}
	if a.running != 1 {
		t.Errorf("running = %d, want 1", a.running)
	}
	a.done("B")
	if a.running != 0 || len(a.issuers) != 0 || len(a.ring) != 0 {
		t.Errorf("after every call: running %d, issuers %v, ring %v; want nothing left", a.running, a.issuers, a.ring)
	}
}

// TestAdmissionAdapts shrinks the running limit while goroutines wait for
// a CPU and grows it while calls queue and the CPU has room, within bounds
// and at most every adjustEvery.
func TestAdmissionAdapts(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var pressure time.Duration
	a := newAdmission(clock.now, func() time.Duration { return pressure }, 4, 64, 1000)
	if got := a.currentLimit(); got != 4 {
		t.Fatalf("start limit %d, want the minimum 4", got)
	}
	a.limit = 16 // as if it had grown there

	step := func() {
		clock.advance(adjustEvery)
		mustRun(t, a, "A")
		a.done("A")
	}

	pressure = 3 * pressureTarget
	step()
	if got, want := a.currentLimit(), 12; got != want {
		t.Errorf("limit after one step under pressure: %d, want %d", got, want)
	}
	mustRun(t, a, "A")
	a.done("A") // a departure within adjustEvery changes nothing
	if got, want := a.currentLimit(), 12; got != want {
		t.Errorf("limit after a second departure in the same interval: %d, want %d", got, want)
	}
	for range 20 {
		step()
	}
	if got, want := a.currentLimit(), 4; got != want {
		t.Errorf("limit after long pressure: %d, want the minimum %d", got, want)
	}

	// No pressure, but nothing waits: the limit stays.
	pressure = 0
	step()
	if got, want := a.currentLimit(), 4; got != want {
		t.Errorf("limit without pressure or queue: %d, want %d", got, want)
	}
	// Calls queue and the CPU has room: it grows, up to the maximum.
	for range 4 {
		mustRun(t, a, "A")
	}
	mustWait(t, a, "A", time.Hour)
	for range 200 { // two arrivals for each departure: the queue comes back whenever the limit grows
		clock.advance(adjustEvery)
		a.arrive("A", time.Hour)
		a.arrive("A", time.Hour)
		a.done("A")
	}
	if got, want := a.currentLimit(), 64; got != want {
		t.Errorf("limit after calls queued without pressure: %d, want the maximum %d", got, want)
	}
}

func TestQuantile(t *testing.T) {
	t.Parallel()
	buckets := []float64{-1e308, 0.001, 0.01, 0.1, 1e308}
	for _, tt := range []struct {
		counts []uint64
		want   time.Duration
	}{
		{[]uint64{0, 0, 0, 0}, 0},
		{[]uint64{100, 0, 0, 0}, 0},
		{[]uint64{10, 81, 9, 0}, time.Millisecond},
		{[]uint64{10, 70, 20, 0}, 10 * time.Millisecond},
	} {
		if got := quantile(tt.counts, buckets, 0.9); got != tt.want {
			t.Errorf("quantile(%v, 0.9) = %v, want %v", tt.counts, got, tt.want)
		}
	}
}

// TestMemoryBudgetFairShare: an issuer alone may take the whole budget;
// with others holding some, at most its share.
func TestMemoryBudgetFairShare(t *testing.T) {
	t.Parallel()
	b := &memoryBudget{max: 100, byIssuer: map[string]int64{}}
	if !b.take("A", 60) {
		t.Fatal("A alone could not take 60 of 100")
	}
	if b.take("B", 51) {
		t.Error("B took 51 while A holds 60: over the budget and over its half")
	}
	if !b.take("B", 40) {
		t.Error("B could not take the 40 left")
	}
	b.give("B", 30)
	if b.take("A", 30) {
		t.Error("A grew to 90 while B holds some: over its half")
	}
	b.give("B", 10)
	if !b.take("A", 30) {
		t.Error("A alone again could not grow to 90")
	}
	b.give("A", 90)
	if b.used != 0 || len(b.byIssuer) != 0 {
		t.Errorf("after every give: used %d, issuers %v; want nothing", b.used, b.byIssuer)
	}
}

// TestChargedBody charges a body as it is read, refuses the bytes that do
// not fit, and refuses a body read whole after its deadline.
func TestChargedBody(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	const size = 2 * minCallBody
	// The budget has room for A's body, but B holds other: over it when
	// other is more than 5 × size.
	read := func(other int64, late bool) (*chargedBody, error) {
		b := &memoryBudget{max: 2 * callMemoryPerBodyByte * size, byIssuer: map[string]int64{"B": other}, used: other}
		if !b.take("A", callCharge) {
			t.Fatalf("B holding %d: no room for the admission charge", other)
		}
		deadline := clock.t.Add(time.Second)
		if late {
			deadline = clock.t.Add(-time.Millisecond)
		}
		body := &chargedBody{body: io.NopCloser(strings.NewReader(strings.Repeat("x", size))), budget: b, issuer: "A",
			charged: callCharge, deadline: deadline, now: clock.now}
		_, err := io.ReadAll(body)
		return body, err
	}

	body, err := read(callMemoryPerBodyByte*size, false)
	if err != nil || body.charged != callMemoryPerBodyByte*size || body.refused != "" {
		t.Errorf("body that fits: err %v, charged %d, refused %q; want nil, %d, none", err, body.charged, body.refused, callMemoryPerBodyByte*size)
	}
	body, err = read(callMemoryPerBodyByte*size+1, false)
	var e *Error
	if !errors.As(err, &e) || e.Code != EUNAVAILABLE || body.refused != refusedMemory || body.charged >= callMemoryPerBodyByte*size {
		t.Errorf("body over the budget: err %v, refused %q, charged %d; want unavailable, memory, within the budget", err, body.refused, body.charged)
	}
	body, err = read(0, true)
	if !errors.As(err, &e) || e.Code != EUNAVAILABLE || body.refused != refusedTime {
		t.Errorf("body read whole after its deadline: err %v, refused %q; want unavailable, time", err, body.refused)
	}
}
