// Command valuesets rebuilds the FHIR ValueSets in knowledge/data/valuesets from local copies of their
// public sources, following recipes.yaml, so that a terminology update is a reviewable diff:
//
//	go run ./knowledge/cmd/valuesets -sources DIR [-recipes FILE] [-data DIR]
//
// DIR holds the source copies under the names recipes.yaml gives (for example
// DIR/ecqm-content-qicore-2024/input/vocabulary/valueset/external/valueset-<OID>.json); nothing is fetched.
// The output is deterministic: the same sources and recipes give the same bytes. `make test` never runs
// this command; it checks the files it wrote.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "valuesets:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("valuesets", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sources := fs.String("sources", "", "directory holding the local copies of the sources (required)")
	recipes := fs.String("recipes", filepath.Join("knowledge", "cmd", "valuesets", "recipes.yaml"), "the recipes file")
	data := fs.String("data", filepath.Join("knowledge", "data"), "the knowledge data directory (medications.yaml is read, valuesets/ written)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sources == "" || fs.NArg() > 0 {
		return fmt.Errorf("usage: valuesets -sources DIR [-recipes FILE] [-data DIR]")
	}
	rf, err := readRecipes(*recipes)
	if err != nil {
		return err
	}
	src, err := openSources(*sources, rf.Sources)
	if err != nil {
		return err
	}
	meds, err := readMedications(filepath.Join(*data, "medications.yaml"))
	if err != nil {
		return err
	}
	out := filepath.Join(*data, "valuesets")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", out, err)
	}
	written := map[string]bool{}
	for _, r := range rf.ValueSets {
		vs, err := build(r, src, meds)
		if err != nil {
			return fmt.Errorf("value set %s: %w", r.ID, err)
		}
		b, err := encode(vs)
		if err != nil {
			return fmt.Errorf("value set %s: %w", r.ID, err)
		}
		name := filepath.Join(out, r.ID+".json")
		if err := os.WriteFile(name, b, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		written[r.ID+".json"] = true
		fmt.Fprintf(stdout, "%-45s %5d codes\n", r.ID, vs.Expansion.Total)
	}
	// A value set dropped from the recipes is deleted, so the directory always equals the recipes.
	entries, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("listing %s: %w", out, err)
	}
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".json" && !written[e.Name()] {
			if err := os.Remove(filepath.Join(out, e.Name())); err != nil {
				return fmt.Errorf("removing stale %s: %w", e.Name(), err)
			}
		}
	}
	return nil
}
