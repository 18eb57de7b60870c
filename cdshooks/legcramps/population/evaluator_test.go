package population_test

import (
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit/population"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	crampspopulation "github.com/cramp-cds/cramp-cds/cdshooks/legcramps/population"
	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// topic is the patient-view service in screening mode as of asOf.
func topic(t testing.TB) population.Topic {
	t.Helper()
	return crampspopulation.PatientView(patientView(t))
}

// readTypes are the resource types the patient-view service prefetches.
func readTypes(t testing.TB) []string {
	t.Helper()
	return population.PrefetchTypes(patientView(t).Definitions())
}

func patientView(t testing.TB) *legcramps.PatientView {
	t.Helper()
	kb, err := knowledge.Load()
	if err != nil {
		t.Fatal(err)
	}
	env := legcramps.Env{Env: kit.Env{Gatherer: fhir.NewGatherer(fhir.GathererOptions{}), Now: func() time.Time { return asOf }}, Knowledge: kb}
	pv, err := legcramps.NewPatientView(env, true)
	if err != nil {
		t.Fatal(err)
	}
	return pv
}
