package feedback

import (
	"crypto/sha256"
	"sync"
	"time"
)

// snoozeCache is a Recorder's copy of the snoozes in force, so that a
// service call asks memory, not the database, what is snoozed. It holds at
// most max entries: past that it is truncated, a miss no longer means "not
// snoozed", and the Recorder asks the store about misses until a full load
// fits again.
//
// An entry is a 128-bit hash of the uuid and the snooze's end: fixed-size
// whatever the uuid, and a map without pointers, which the garbage
// collector does not scan.
type snoozeCache struct {
	mu        sync.RWMutex
	ends      map[snoozeKey]int64 // Unix ms of each snooze's end
	max       int
	loaded    bool // a full load has succeeded
	truncated bool // some snooze in force is not in ends
}

type snoozeKey [16]byte

func keyOfSnooze(id string) snoozeKey {
	sum := sha256.Sum256([]byte(id))
	return snoozeKey(sum[:16])
}

func newSnoozeCache(max int) *snoozeCache {
	return &snoozeCache{ends: make(map[snoozeKey]int64), max: max}
}

// lookup returns which of ids are snoozed at now by what the cache holds,
// and whether that is the whole answer (loaded and not truncated). An
// expired entry is never honoured, even before a sweep removes it.
func (c *snoozeCache) lookup(ids []string, now time.Time) (snoozed map[string]bool, complete bool) {
	snoozed = make(map[string]bool)
	at := millis(now)
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, id := range ids {
		if end, ok := c.ends[keyOfSnooze(id)]; ok && at < end {
			snoozed[id] = true
		}
	}
	return snoozed, c.loaded && !c.truncated
}

// add puts snoozes in the cache (replacing earlier ends of the same ids),
// as far as there is room; it reports whether the cache became truncated.
func (c *snoozeCache) add(snoozes []SnoozeEnd) (becameTruncated bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	was := c.truncated
	c.put(snoozes)
	return c.truncated && !was
}

func (c *snoozeCache) put(snoozes []SnoozeEnd) {
	for _, z := range snoozes {
		k := keyOfSnooze(z.ID)
		if _, ok := c.ends[k]; !ok && len(c.ends) >= c.max {
			c.truncated = true
			continue
		}
		c.ends[k] = millis(z.Until)
	}
}

// reload takes in a full load: every snooze in force, unless more than max
// (the store was asked for max+1, so more means there are more). Entries
// the load lacks are kept while in force: they are snoozes this replica
// recorded whose write has not landed (no snooze is ever lifted early, so
// nothing else can be missing). Expired entries go. It reports whether the
// cache became truncated.
func (c *snoozeCache) reload(snoozes []SnoozeEnd, now time.Time) (becameTruncated bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	was := c.truncated
	at := millis(now)
	for k, end := range c.ends {
		if end <= at {
			delete(c.ends, k)
		}
	}
	c.truncated = len(snoozes) > c.max
	c.put(snoozes) // truncates if kept entries and the load do not fit together
	c.loaded = true
	return c.truncated && !was
}
