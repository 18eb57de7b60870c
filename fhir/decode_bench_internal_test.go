package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkDecodePaths compares, over the same bytes and interleaved in one
// run, the one-pass decoder with the golang-fhir-models decoder it replaced
// and with a generic map[string]any decode: on a Synthea patient's Bundle
// (ReadBundle), and on the prefetch of the request bodies in
// $CRAMP_BENCH_DIR (typical.json, heavy.json, written by the fixtures),
// when set.
func BenchmarkDecodePaths(b *testing.B) {
	files, _ := filepath.Glob("../testdata/synthea/Abdul_Koepp_*.json")
	synthea, err := os.ReadFile(files[0])
	if err != nil {
		b.Fatal(err)
	}
	type input struct {
		name     string
		bundle   []byte
		prefetch map[string]json.RawMessage
		size     int
	}
	inputs := []input{{name: "synthea", bundle: synthea, size: len(synthea)}}
	if dir := os.Getenv("CRAMP_BENCH_DIR"); dir != "" {
		for _, n := range []string{"typical", "heavy"} {
			body, err := os.ReadFile(filepath.Join(dir, n+".json"))
			if err != nil {
				b.Fatal(err)
			}
			var req request
			if err := json.Unmarshal(body, &req); err != nil {
				b.Fatal(err)
			}
			size := 0
			for _, v := range req.Prefetch {
				size += len(v)
			}
			inputs = append(inputs, input{name: n, prefetch: req.Prefetch, size: size})
		}
	}
	g := NewGatherer(GathererOptions{})
	for _, in := range inputs {
		keys := make([]string, 0, len(in.prefetch))
		templates := map[string]string{}
		for k := range in.prefetch {
			keys = append(keys, k)
			templates[k] = "Observation?patient={{context.patientId}}"
		}
		paths := map[string]func(){
			"one-pass": func() {
				if in.bundle != nil {
					_, _ = ReadBundle(bytesReader(in.bundle), int64(len(in.bundle)))
					return
				}
				_, _, _ = g.Gather(context.Background(), GatherInput{Prefetch: in.prefetch, Templates: templates, Context: map[string]string{"patientId": "pat-1"}})
			},
			"golang-fhir-models": func() {
				if in.bundle != nil {
					_, _ = legacyReadBundle(in.bundle)
					return
				}
				legacyPrefetch(in.prefetch, keys, "pat-1")
			},
			"map": func() {
				var v any
				if in.bundle != nil {
					_ = json.Unmarshal(in.bundle, &v)
					return
				}
				for _, raw := range in.prefetch {
					_ = json.Unmarshal(raw, &v)
				}
			},
			"json.Valid": func() {
				if in.bundle != nil {
					json.Valid(in.bundle)
					return
				}
				for _, raw := range in.prefetch {
					json.Valid(raw)
				}
			},
		}
		for _, name := range []string{"json.Valid", "map", "golang-fhir-models", "one-pass"} {
			f := paths[name]
			b.Run(in.name+"/"+name, func(b *testing.B) {
				b.SetBytes(int64(in.size))
				b.ReportAllocs()
				for b.Loop() {
					f()
				}
			})
		}
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
