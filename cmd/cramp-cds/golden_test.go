package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update rewrites the golden files. A rewritten file must be read against
// the example's record and the knowledge data before it is committed: the
// golden files are the record of what the responses should be, not of what
// the program happens to print.
var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// TestExamplesGolden answers every file in examples/ through `cramp-cds
// evaluate` (which runs the server's own pipeline: see
// TestEvaluatePrintsTheServersBytes) as of a fixed date and public URL, and
// compares the body byte for byte with testdata/golden/<example>.json. The
// patient without leg cramps is also answered in screening mode, so every
// card topic of patient-view is covered by some golden file.
func TestExamplesGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.json"))
	if err != nil || len(files) < 5 {
		t.Fatalf("examples: %v (%d files)", err, len(files))
	}
	type run struct {
		golden string
		args   []string
	}
	var runs []run
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		runs = append(runs, run{name, []string{file}})
	}
	runs = append(runs, run{"patient-view-no-leg-cramps.trigger-always",
		[]string{"--trigger=always", filepath.Join("..", "..", "examples", "patient-view-no-leg-cramps.json")}})
	for _, r := range runs {
		t.Run(r.golden, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--now", "2025-06-02", "--public-url", "https://cds.example.org"}, r.args...)
			got, err := runEval(t, nil, args...)
			if err != nil {
				t.Fatalf("evaluate: %v\n%s", err, got)
			}
			path := filepath.Join("testdata", "golden", r.golden+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("response differs from %s:\ngot  %s\nwant %s", path, got, want)
			}
		})
	}
}
