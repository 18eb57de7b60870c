package knowledge_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// FuzzToCanonical converts arbitrary quantities, as any FHIR server might
// send them, with every lab of the knowledge base. Whatever the input:
// no panic; a result is a finite number; a non-finite value is an error;
// a unit is unknown exactly when neither code nor unit names one of the
// lab's units (trimmed, ignoring case); and the conversion never reverses
// the order of two values (every unit's factor is positive).
// The seeds under testdata/fuzz/FuzzToCanonical run with every go test.
func FuzzToCanonical(f *testing.F) {
	base, err := knowledge.Load()
	if err != nil {
		f.Fatalf("Load: %v", err)
	}
	f.Add(0.85, "mmol/L", "mmol/L") // magnesium as SI units report it; more seeds in testdata
	f.Fuzz(func(t *testing.T, value float64, code, unit string) {
		for _, lab := range base.Labs() {
			q := fhir.Quantity{Value: value, Code: code, Unit: unit}
			got, err := lab.ToCanonical(q)
			if err == nil && (math.IsNaN(got) || math.IsInf(got, 0)) {
				t.Fatalf("%s.ToCanonical(%v %q/%q) = %v without an error", lab.ID, value, code, unit, got)
			}
			finite := !math.IsNaN(value) && !math.IsInf(value, 0)
			if !finite && err == nil {
				t.Fatalf("%s.ToCanonical(%v) = %v, want an error for a value that is not finite", lab.ID, value, got)
			}
			if !finite {
				continue
			}
			if got, want := errors.Is(err, knowledge.ErrUnknownUnit), !listsUnit(lab, code) && !listsUnit(lab, unit); got != want {
				t.Fatalf("%s.ToCanonical(%q/%q): unknown unit = %v (%v), want %v", lab.ID, code, unit, got, err, want)
			}
			if err != nil {
				continue
			}
			bigger := value + math.Abs(value)/2 + 1
			if after, err := lab.ToCanonical(fhir.Quantity{Value: bigger, Code: code, Unit: unit}); err == nil && after < got {
				t.Fatalf("%s: %v %q converts to %v but the larger %v to the smaller %v", lab.ID, value, code, got, bigger, after)
			}
		}
	})
}

// listsUnit reports whether s names one of lab's units, trimmed and ignoring case.
func listsUnit(lab *knowledge.Lab, s string) bool {
	s = strings.TrimSpace(s)
	for _, u := range lab.Units {
		if s != "" && strings.EqualFold(u.Code, s) {
			return true
		}
	}
	return false
}
