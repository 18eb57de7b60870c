package fhir_test

import (
	"testing"

	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
)

// TestDecodersAgreeOnFixtures runs the equivalence check of
// equivalence_internal_test.go on the generated requests the benchmarks
// and load runs use.
func TestDecodersAgreeOnFixtures(t *testing.T) {
	t.Parallel()
	for seed, size := range []fixtures.Size{fixtures.Typical, {Conditions: 40, Medications: 30, Observations: 300}} {
		p := fixtures.Generate(uint64(seed+1), size, smallPatient().Now)
		fhir.CompareRequest(t, "fixture", p.Request(fixtures.RequestOptions{}))
	}
}
