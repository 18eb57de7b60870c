package fhir_test

import (
	"slices"
	"testing"

	"github.com/cramp-cds/cramp-cds/fhir"
)

func TestTemplateTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		templates map[string]string
		want      []string
	}{
		{"none", nil, nil},
		{"read and searches, sorted, each once", map[string]string{
			"patient":      "Patient/{{context.patientId}}",
			"orders":       "ServiceRequest?patient={{context.patientId}}&status=active,draft",
			"observations": "Observation?patient={{context.patientId}}&code=http://loinc.org|2823-3",
			"more":         "Observation?subject=Patient/{{context.patientId}}",
		}, []string{"Observation", "Patient", "ServiceRequest"}},
		{"a bare type", map[string]string{"all": "Condition"}, []string{"Condition"}},
	} {
		if got := fhir.TemplateTypes(tc.templates); !slices.Equal(got, tc.want) {
			t.Errorf("%s: TemplateTypes = %q, want %q", tc.name, got, tc.want)
		}
	}
}
