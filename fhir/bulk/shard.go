package bulk

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard selects the patients whose id hashes to Index among Count shards, so
// that Count copies of a run (e.g. a Kubernetes Indexed Job) split one export
// between them without talking to each other. The zero Shard is the whole
// population.
type Shard struct {
	Index int
	Count int
}

// ParseShard reads "I/N" (0 <= I < N). "" is the whole population.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	i, n, ok := strings.Cut(s, "/")
	index, err1 := strconv.Atoi(i)
	count, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || count < 1 || index < 0 || index >= count {
		return Shard{}, fmt.Errorf("shard %q: want I/N with 0 <= I < N", s)
	}
	return Shard{Index: index, Count: count}, nil
}

// Whole reports whether the shard is the whole population.
func (s Shard) Whole() bool { return s.Count <= 1 }

// Has reports whether the patient with this id (the bare Patient.id) belongs
// to the shard. The hash is FNV-1a, fixed forever: changing it would move
// patients between the shards of runs that are merged together.
func (s Shard) Has(patientID string) bool {
	if s.Whole() {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(patientID))
	return h.Sum64()%uint64(s.Count) == uint64(s.Index)
}

// String is "I/N", or "" for the whole population.
func (s Shard) String() string {
	if s.Whole() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}
