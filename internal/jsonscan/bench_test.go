package jsonscan_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/cramp-cds/cramp-cds/internal/jsonscan"
)

// BenchmarkSkip compares the Reader's validating skip with json.Valid over
// a Synthea patient (file given by JSONSCAN_BENCH, else a small sample).
func BenchmarkSkip(b *testing.B) {
	data := []byte(samples[2])
	if f := os.Getenv("JSONSCAN_BENCH"); f != "" {
		var err error
		if data, err = os.ReadFile(f); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			json.Valid(data)
		}
	})
	b.Run("Skip", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			r := jsonscan.New(data)
			r.Skip()
			if !r.End() {
				b.Fatal(r.Err())
			}
		}
	})
}
