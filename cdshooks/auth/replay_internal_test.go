package auth

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// TestReplayCacheDoesNotKeepTheJTI: what the cache holds per token does not
// grow with the jti, which the caller chooses (up to 256 bytes; before that
// limit, up to 16 KB, and 100,000 such entries came to about 1 GB). 2,000
// entries of 16 KB jti would keep 32 MB if the jti were stored.
// Not parallel: the heap is measured.
func TestReplayCacheDoesNotKeepTheJTI(t *testing.T) {
	const entries, jtiBytes = 2000, 16 << 10
	now := time.Unix(1_700_000_000, 0)
	c := newReplayCache(entries)
	before := heapAlloc()
	for i := range entries {
		jti := fmt.Sprintf("%0*d", jtiBytes, i)
		if replayed, _ := c.seen("https://ehr.example.test", jti, now.Add(time.Minute), now); replayed {
			t.Fatalf("entry %d reported as a replay", i)
		}
	}
	grown := int64(heapAlloc()) - int64(before)
	runtime.KeepAlive(c)
	if limit := int64(entries * 256); grown > limit {
		t.Errorf("the cache grew the heap by %d bytes for %d entries of %d-byte jti (%d a token), want at most %d",
			grown, entries, jtiBytes, grown/entries, limit)
	}
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
