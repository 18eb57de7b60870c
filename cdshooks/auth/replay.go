package auth

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"
)

// ReplayCache is a record of accepted tokens shared by every replica (the
// store's PostgreSQL table, wired in by the command), consulted after the
// process's own cache so that a token is usable once across replicas.
type ReplayCache interface {
	// SeenToken records that the token with this iss and jti was accepted,
	// until the time it could no longer be accepted anyway, and reports
	// whether it had been recorded before. An error means it cannot tell.
	// ctx is not cancelled when the request ends (the token must be
	// recorded whatever happens to it): the implementation bounds its own
	// time, as the store's Recorder does with its ReadTimeout.
	SeenToken(ctx context.Context, issuer, jti string, until time.Time) (replayed bool, err error)
}

// replayCache remembers every accepted token, by a SHA-256 hash of its iss
// and jti, until that token could no longer be accepted anyway (exp plus
// leeway), so a token is usable once. The hash keeps an entry's size fixed
// whatever jti the caller chose.
//
// It lives in one process: with several replicas, a token replayed to another
// pod is caught only by a shared ReplayCache (Options.SharedReplay). The cache
// is bounded; when full it forgets the entry closest to its expiry, the one an
// attacker has the least time left to replay.
type replayCache struct {
	mu    sync.Mutex
	max   int
	live  map[replayKey]struct{}
	queue expiryQueue
}

// replayKey is what the cache holds of a token: a SHA-256 hash of its iss and
// jti, the iss prefixed by its length so that no two pairs share a key.
type replayKey [sha256.Size]byte

func keyOf(iss, jti string) replayKey {
	h := sha256.New()
	_, _ = h.Write(binary.AppendUvarint(nil, uint64(len(iss))))
	_, _ = h.Write([]byte(iss))
	_, _ = h.Write([]byte(jti))
	var k replayKey
	h.Sum(k[:0])
	return k
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, live: make(map[replayKey]struct{})}
}

// seen records the token iss|jti until the given time and reports whether it
// was already recorded (a replay), and whether a live entry had to be evicted
// to make room.
func (c *replayCache) seen(iss, jti string, until, now time.Time) (replayed, evicted bool) {
	key := keyOf(iss, jti)
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.queue) > 0 && !c.queue[0].until.After(now) {
		delete(c.live, heap.Pop(&c.queue).(entry).key)
	}
	if _, ok := c.live[key]; ok {
		return true, false
	}
	if len(c.queue) >= c.max {
		delete(c.live, heap.Pop(&c.queue).(entry).key)
		evicted = true
	}
	heap.Push(&c.queue, entry{key: key, until: until})
	c.live[key] = struct{}{}
	return false, evicted
}

type entry struct {
	key   replayKey
	until time.Time
}

// expiryQueue is a min-heap of entries by expiry (container/heap).
type expiryQueue []entry

func (q expiryQueue) Len() int           { return len(q) }
func (q expiryQueue) Less(i, j int) bool { return q[i].until.Before(q[j].until) }
func (q expiryQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *expiryQueue) Push(x any)        { *q = append(*q, x.(entry)) }
func (q *expiryQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}
