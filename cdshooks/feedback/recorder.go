package feedback

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// MetricStoreFailures counts what the store could not do (Prometheus:
// cramp_cds_store_failures_total), by op: "read" (a snooze lookup or token
// check answered without the store), "write" (a batch lost), "enqueue" (the
// write queue was full), "refresh" (the snoozes in memory could not be
// refreshed: snoozes other replicas recorded meanwhile are not seen),
// "rejected" (rows a write left out, each on its own: over a cap, invalid
// text, refused by the database), "snooze_cache_full" (more snoozes are in force than Options.SnoozeCacheSize:
// counted once each time the cache fills, after which lookups of uuids not in
// memory ask the store). Never rename it: alerts use it.
const MetricStoreFailures = "cramp_cds.store.failures"

// Defaults of Options.
const (
	DefaultQueueSize   = 10000
	DefaultReadTimeout = 250 * time.Millisecond
	DefaultRetention   = 400 * 24 * time.Hour
	DefaultPurgeEvery  = time.Hour
	// DefaultBackoff is how long reads skip a store that just failed, so
	// that a store that is down costs each request nothing, not a timeout.
	DefaultBackoff = 5 * time.Second
	// writeTimeout bounds one batch; a store slower than this loses it.
	writeTimeout = 5 * time.Second
	// maxBatch bounds how many queued writes go into one transaction.
	maxBatch = 256
	// DefaultWriteDelay is how long the writer gathers writes after the
	// first before making them: at 200 calls a second, one transaction for
	// about ten calls' cards instead of one each, which is most of what the
	// store costs the cores (measured: BenchmarkRequestPath). Only issued
	// cards wait for it: feedback and snoozes are written at once (a snooze
	// that does not fit in memory is answered by the store, which must have
	// it), and Flush and Close skip it.
	DefaultWriteDelay = 50 * time.Millisecond
	// maxWriteDelay bounds WriteDelay: the writer serves nothing else while
	// it gathers, and the queue must not fill meanwhile.
	maxWriteDelay = time.Second
	// logEvery is how often a failing store is logged, at most.
	logEvery = time.Minute

	// DefaultSnoozeCacheSize bounds the snoozes kept in memory: about 55
	// bytes each with the map's own overhead (measured: 13 MiB for 250,000).
	DefaultSnoozeCacheSize = 250_000
	// DefaultRefreshEvery is how often the snoozes in memory are refreshed
	// from the store: a snooze recorded by another replica sharing a
	// PostgreSQL database is honoured here within this interval.
	DefaultRefreshEvery = 2 * time.Second
	// DefaultReloadEvery is how often the refresh is a full load rather than
	// the rows written since the last one, which catches the rows of a
	// replica whose clock lags by more than refreshOverlap.
	DefaultReloadEvery = 5 * time.Minute
	// refreshOverlap is how far before the last refresh the next one reads
	// (rows are stamped by the writing replica's clock, and a transaction
	// commits after it stamped its rows): reading a row twice is harmless.
	refreshOverlap = 30 * time.Second
	// loadTimeout bounds one load or refresh of the snoozes in memory.
	loadTimeout = 10 * time.Second
)

// Options configure a Recorder. Only Store is needed.
type Options struct {
	// Store is where history goes. Nil makes a Recorder that remembers
	// nothing (the "none" store).
	Store Store
	// Logger receives a line when the store fails (at most one a minute)
	// and when it recovers; nil discards.
	Logger *slog.Logger
	// Meter receives MetricStoreFailures; nil counts nothing.
	Meter metric.Meter
	// QueueSize is how many writes may wait; beyond it writes are dropped
	// (and counted). Default DefaultQueueSize.
	QueueSize int
	// ReadTimeout bounds each read a request waits for. Default DefaultReadTimeout.
	ReadTimeout time.Duration
	// Backoff is how long reads skip the store after a failure. Default DefaultBackoff.
	Backoff time.Duration
	// Retention is how long cards and feedback are kept. Default DefaultRetention.
	Retention time.Duration
	// WriteDelay is how long queued writes are gathered into one
	// transaction. Default DefaultWriteDelay, at most a second; negative
	// writes what is queued at once.
	WriteDelay time.Duration
	// PurgeEvery is how often old rows are deleted. Default DefaultPurgeEvery.
	PurgeEvery time.Duration
	// SnoozeCacheSize bounds the snoozes kept in memory. Default DefaultSnoozeCacheSize.
	SnoozeCacheSize int
	// RefreshEvery is how often the snoozes in memory are refreshed from
	// the store. Default DefaultRefreshEvery.
	RefreshEvery time.Duration
	// ReloadEvery is how often that refresh is a full load. Default DefaultReloadEvery.
	ReloadEvery time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Recorder is what a CDS service talks to: it queues writes and makes them
// in the background, and answers what is snoozed from memory, without a
// round trip to the store. The snoozes in force are loaded when it starts,
// refreshed from the store every RefreshEvery (so a snooze another replica
// recorded is honoured here within that interval), and a snooze recorded
// through this Recorder is honoured at once, before its write lands.
//
// It fails open: when the store is slow or down, writes are dropped and the
// snoozes in memory keep being honoured until they expire (a snooze is never
// lifted early, so what memory holds stays true; it only misses what other
// replicas record meanwhile). Reads that do reach the store (token checks;
// snooze lookups before the first load succeeded or beyond SnoozeCacheSize)
// are bounded by ReadTimeout and, failing, answer "nothing snoozed" (the cards
// are shown). Each failure is counted in MetricStoreFailures and logged at
// most once a minute. A nil *Recorder remembers nothing, so callers without a
// store need no check.
type Recorder struct {
	store    Store
	logger   *slog.Logger
	failures metric.Int64Counter
	// ignoredFeedback counts MetricFeedbackIgnored.
	ignoredFeedback metric.Int64Counter
	readTimeout     time.Duration
	backoff         time.Duration
	retention       time.Duration
	writeDelay      time.Duration
	now             func() time.Time
	snoozes         *snoozeCache

	mu     sync.RWMutex // guards closed against sends on a closed queue
	closed bool
	queue  chan item
	// flushNow cuts short the writer's gathering (WriteDelay): feedback and
	// Flush signal it (Close cancels stopping instead); one pending signal
	// is enough.
	flushNow chan struct{}
	done     chan struct{}
	// stopping is cancelled by Close: the refresh ends, and a load under way
	// stops waiting for the store.
	stopping  context.Context
	stop      context.CancelFunc
	refreshed chan struct{} // closed when the refresh has ended

	downUntil atomic.Int64 // Unix ns until which reads skip the store
	failing   atomic.Bool  // the store failed since it last worked
	lastLog   atomic.Int64 // Unix ns of the last failure logged
	unlogged  atomic.Int64 // failures since that line
}

// item is one queued write, or (with done set) a flush barrier.
type item struct {
	batch Batch
	done  chan struct{}
}

// NewRecorder loads the snoozes in force (waiting at most loadTimeout, 10 s:
// a store that fails it is asked on each lookup until a refresh succeeds),
// then starts a Recorder's writer, its periodic purge and the refresh of the
// snoozes; Close stops them. Without a Store it returns a nil *Recorder,
// which remembers nothing.
func NewRecorder(opts Options) (*Recorder, error) {
	if opts.Store == nil {
		return nil, nil
	}
	queueSize := opts.QueueSize
	if queueSize <= 0 {
		queueSize = DefaultQueueSize
	}
	r := &Recorder{
		store:       opts.Store,
		logger:      opts.Logger,
		readTimeout: orDefault(opts.ReadTimeout, DefaultReadTimeout),
		backoff:     orDefault(opts.Backoff, DefaultBackoff),
		retention:   orDefault(opts.Retention, DefaultRetention),
		now:         opts.Now,
		snoozes:     newSnoozeCache(cmp.Or(max(opts.SnoozeCacheSize, 0), DefaultSnoozeCacheSize)),
		writeDelay:  opts.WriteDelay,
		queue:       make(chan item, queueSize),
		flushNow:    make(chan struct{}, 1),
		done:        make(chan struct{}),
		refreshed:   make(chan struct{}),
	}
	r.stopping, r.stop = context.WithCancel(context.Background())
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.writeDelay == 0 {
		r.writeDelay = DefaultWriteDelay
	}
	r.writeDelay = min(r.writeDelay, maxWriteDelay)
	meter := opts.Meter
	if meter == nil {
		meter = noop.NewMeterProvider().Meter("")
	}
	var err error
	r.failures, err = meter.Int64Counter(MetricStoreFailures, metric.WithUnit("{operation}"),
		metric.WithDescription("Store operations that failed open, by op: read (answered without the store), write (a batch lost), enqueue (queue full)."))
	if err != nil {
		return nil, fmt.Errorf("creating the store metric: %w", err)
	}
	r.ignoredFeedback, err = meter.Int64Counter(MetricFeedbackIgnored, metric.WithUnit("{item}"),
		metric.WithDescription("Feedback items and snoozes not stored, by why: unknown_card, unknown_suggestion, unknown_reason, duplicate, unverified."))
	if err != nil {
		return nil, fmt.Errorf("creating the feedback metric: %w", err)
	}
	// The first load is waited for, so the first calls are answered from
	// memory; if it fails, lookups ask the store until a refresh succeeds.
	loadedAt := time.Now()
	if r.loadSnoozes(time.Time{}) != nil {
		loadedAt = time.Time{}
	}
	go r.run(orDefault(opts.PurgeEvery, DefaultPurgeEvery))
	go r.refresh(orDefault(opts.RefreshEvery, DefaultRefreshEvery), orDefault(opts.ReloadEvery, DefaultReloadEvery), loadedAt)
	return r, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Issue queues cards issued; it never blocks.
func (r *Recorder) Issue(cards []Card) {
	r.enqueue(Batch{Cards: cards})
}

// Record queues feedback and the snoozes the product decided on, which
// Snoozed honours from now on; it never blocks.
func (r *Recorder) Record(outcomes []Outcome, snoozes []Snooze) {
	if r != nil && len(snoozes) > 0 {
		ends := make([]SnoozeEnd, len(snoozes))
		for i, z := range snoozes {
			ends[i] = SnoozeEnd{ID: z.ID, Until: z.Until}
		}
		r.noteTruncated(r.snoozes.add(ends))
	}
	if r.enqueue(Batch{Outcomes: outcomes, Snoozes: snoozes}) {
		r.writeNow() // feedback is rare, and a snooze memory could not hold must reach the store
	}
}

// writeNow cuts short the writer's gathering; one pending signal is enough.
func (r *Recorder) writeNow() {
	select {
	case r.flushNow <- struct{}{}:
	default:
	}
}

// enqueue queues b unless it is empty, the Recorder is closed or the queue
// is full (counted); it reports whether b was queued.
func (r *Recorder) enqueue(b Batch) bool {
	if r == nil || b.Empty() {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return false
	}
	select {
	case r.queue <- item{batch: b}:
		return true
	default:
		r.failed(context.Background(), "enqueue", errors.New("the write queue is full"))
		return false
	}
}

// Snoozed returns which of ids have a snooze in force, from memory. Only
// when memory cannot tell (the first load has not succeeded yet, or more
// snoozes are in force than SnoozeCacheSize) does it ask the store about the
// ids memory lacks; when the store does not answer within ReadTimeout, or
// failed less than Backoff ago, those ids are not snoozed: their cards are
// shown.
func (r *Recorder) Snoozed(ctx context.Context, ids []string) map[string]bool {
	if r == nil || len(ids) == 0 {
		return map[string]bool{}
	}
	now := r.now()
	got, complete := r.snoozes.lookup(ids, now)
	if complete {
		return got
	}
	var rest []string
	for _, id := range ids {
		if !got[id] {
			rest = append(rest, id)
		}
	}
	if len(rest) == 0 {
		return got
	}
	_ = r.read(ctx, func(ctx context.Context) error {
		more, err := r.store.Snoozed(ctx, rest, now)
		for id := range more {
			got[id] = true
		}
		return err
	})
	return got
}

// loadSnoozes reads into memory the snoozes in force written since a time
// (all of them, replacing what memory holds, for the zero time).
func (r *Recorder) loadSnoozes(since time.Time) error {
	ctx, cancel := context.WithTimeout(r.stopping, loadTimeout)
	defer cancel()
	now := r.now()
	// One more than fits, to know whether there are more.
	got, err := r.store.SnoozesInForce(ctx, now, since, r.snoozes.max+1)
	if err != nil {
		if r.stopping.Err() == nil { // not a failure: Close cut it short
			r.failed(ctx, "refresh", err)
		}
		return err
	}
	if since.IsZero() {
		r.noteTruncated(r.snoozes.reload(got, now))
	} else {
		r.noteTruncated(r.snoozes.add(got))
	}
	r.recovered(ctx)
	return nil
}

// refresh keeps the snoozes in memory up to date until Close: every
// interval it reads the rows written since shortly before its last
// successful look (a full load every reloadEvery, or while none has
// succeeded since the start, lastFull zero).
func (r *Recorder) refresh(interval, reloadEvery time.Duration, lastFull time.Time) {
	defer close(r.refreshed)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	last := lastFull
	for {
		select {
		case <-r.stopping.Done():
			return
		case <-tick.C:
		}
		start := time.Now()
		since := last.Add(-refreshOverlap)
		full := lastFull.IsZero() || start.Sub(lastFull) >= reloadEvery
		if full {
			since = time.Time{}
		}
		if r.loadSnoozes(since) != nil {
			continue
		}
		last = start
		if full {
			lastFull = start
		}
	}
}

// noteTruncated counts and logs the moment the snoozes in force outgrow
// memory.
func (r *Recorder) noteTruncated(becameTruncated bool) {
	if !becameTruncated {
		return
	}
	ctx := context.Background()
	r.failures.Add(ctx, 1, metric.WithAttributes(attribute.String("op", "snooze_cache_full")))
	r.logger.WarnContext(ctx, "more snoozes in force than memory holds: asking the store about the others on each call until they fit",
		"snooze_cache_size", r.snoozes.max)
}

// SeenToken checks a token id against the ids every replica accepted (see
// SQL.SeenToken), within ReadTimeout; it fits auth.ReplayCache. When the
// store cannot tell it returns the error, and the caller's own per-process
// check stands. A store without a shared token table always errs.
func (r *Recorder) SeenToken(ctx context.Context, issuer, jti string, until time.Time) (bool, error) {
	if r == nil {
		return false, errNoTokenStore
	}
	tokens, ok := r.store.(tokenStore)
	if !ok {
		return false, errNoTokenStore
	}
	var replayed bool
	err := r.read(ctx, func(ctx context.Context) error {
		var err error
		replayed, err = tokens.SeenToken(ctx, issuer, jti, until)
		return err
	})
	return replayed, err
}

// tokenStore is a Store that also keeps accepted token ids (SQL does).
type tokenStore interface {
	SeenToken(ctx context.Context, issuer, jti string, until time.Time) (bool, error)
}

var errNoTokenStore = errors.New("no shared token store")

// errBackingOff is returned while reads skip a store that just failed.
var errBackingOff = errors.New("the store failed moments ago; not asking it")

// read runs one bounded read, skipping the store while it backs off.
func (r *Recorder) read(ctx context.Context, f func(context.Context) error) error {
	if time.Now().UnixNano() < r.downUntil.Load() {
		r.failures.Add(ctx, 1, metric.WithAttributes(attribute.String("op", "read")))
		return errBackingOff
	}
	ctx, cancel := context.WithTimeout(ctx, r.readTimeout)
	defer cancel()
	if err := f(ctx); err != nil {
		r.downUntil.Store(time.Now().Add(r.backoff).UnixNano())
		r.failed(ctx, "read", err)
		return err
	}
	r.recovered(ctx)
	return nil
}

// failed counts a failure and logs it, at most once per logEvery.
func (r *Recorder) failed(ctx context.Context, op string, err error) {
	r.failures.Add(ctx, 1, metric.WithAttributes(attribute.String("op", op)))
	r.failing.Store(true)
	now := time.Now().UnixNano()
	last := r.lastLog.Load()
	if now-last < int64(logEvery) || !r.lastLog.CompareAndSwap(last, now) {
		r.unlogged.Add(1)
		return
	}
	r.logger.WarnContext(ctx, "store unavailable: serving cards without snoozes until it answers",
		"op", op, "error", err.Error(), "failures_not_logged", r.unlogged.Swap(0))
}

// recovered logs once when the store works again after failing.
func (r *Recorder) recovered(ctx context.Context) {
	if r.failing.CompareAndSwap(true, false) {
		r.logger.InfoContext(ctx, "store available again")
	}
}

// run writes queued batches, several per transaction, and purges old rows
// at start and every purgeEvery, until Close.
func (r *Recorder) run(purgeEvery time.Duration) {
	defer close(r.done)
	r.purge()
	tick := time.NewTicker(purgeEvery)
	defer tick.Stop()
	backlog := false // the last batch was full: more is waiting, write it now
	for {
		select {
		case it, ok := <-r.queue:
			if !ok {
				return
			}
			if !backlog {
				r.gather()
			}
			backlog = r.writeFrom(it)
		case <-tick.C:
			r.purge()
		}
	}
}

// gather lets writes accumulate for writeDelay, or until a Flush or Close
// asks for them.
func (r *Recorder) gather() {
	if r.writeDelay < 0 {
		return
	}
	t := time.NewTimer(r.writeDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.flushNow:
	case <-r.stopping.Done():
	}
}

// writeFrom writes it and whatever else is queued (up to maxBatch items) in
// one transaction, then releases the flush barriers among them. It reports
// whether the batch was full.
func (r *Recorder) writeFrom(first item) (full bool) {
	var b Batch
	var barriers []chan struct{}
	add := func(it item) {
		b.Cards = append(b.Cards, it.batch.Cards...)
		b.Outcomes = append(b.Outcomes, it.batch.Outcomes...)
		b.Snoozes = append(b.Snoozes, it.batch.Snoozes...)
		if it.done != nil {
			barriers = append(barriers, it.done)
		}
	}
	add(first)
	n := 1
drain:
	for ; n < maxBatch; n++ {
		select {
		case it, ok := <-r.queue:
			if !ok {
				break drain
			}
			add(it)
		default:
			break drain
		}
	}
	if !b.Empty() {
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		var rejected *RejectedError
		if err := r.store.Write(ctx, b); errors.As(err, &rejected) {
			// Stored, but without some rows: the store works.
			r.failures.Add(ctx, int64(rejected.Rows), metric.WithAttributes(attribute.String("op", "rejected")))
			r.recovered(ctx)
		} else if err != nil {
			r.failed(ctx, "write", err)
		} else {
			r.recovered(ctx)
		}
		cancel()
	}
	for _, d := range barriers {
		close(d)
	}
	return n == maxBatch
}

func (r *Recorder) purge() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := r.now()
	if err := r.store.Purge(ctx, now.Add(-r.retention), now); err != nil {
		r.failed(ctx, "write", fmt.Errorf("purging old rows: %w", err))
	}
}

// Flush waits until every write queued before it has been made (or failed).
func (r *Recorder) Flush(ctx context.Context) error {
	if r == nil {
		return nil
	}
	done := make(chan struct{})
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return errors.New("recorder closed")
	}
	select {
	case r.queue <- item{done: done}:
	case <-ctx.Done():
		r.mu.RUnlock()
		return ctx.Err()
	}
	r.mu.RUnlock()
	r.writeNow()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued (until ctx is done) and stops the writer. It
// does not close the Store, which belongs to whoever opened it.
func (r *Recorder) Close(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.queue)
		r.stop()
	}
	r.mu.Unlock()
	select {
	case <-r.done:
	case <-ctx.Done():
		return fmt.Errorf("writing the queued history: %w", ctx.Err())
	}
	select {
	case <-r.refreshed:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stopping the refresh of the snoozes: %w", ctx.Err())
	}
}
