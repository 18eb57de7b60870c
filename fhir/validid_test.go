package fhir_test

import (
	"testing"

	"github.com/cramp-cds/cramp-cds/fhir"
)

// TestValidIDRefusesDotSegments: "." and ".." match the id grammar's
// characters but, put in a reference or URL (Medication/..), are path dot
// segments that climb out of the resource type; ids merely holding dots stay
// valid.
func TestValidIDRefusesDotSegments(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		".": false, "..": false,
		"...": true, ".a": true, "a.": true, "a..b": true, "1.2.840": true,
	} {
		if got := fhir.ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}
