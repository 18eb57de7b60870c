package population_test

import (
	"context"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps/population"
	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// evaluator is the patient-view service in screening mode as of asOf.
func evaluator(t testing.TB) population.Evaluator {
	t.Helper()
	kb, err := knowledge.Load()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := cdshooks.NewLegCramps(cdshooks.LegCrampsConfig{
		Knowledge: kb, Gatherer: fhir.NewGatherer(fhir.GathererOptions{}), Now: func() time.Time { return asOf }, Screening: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context, rec *fhir.Record, id string) (population.Outcome, error) {
		f := kb.Evaluate(rec, asOf, knowledge.Options{Screening: true})
		return population.Outcome{Cards: svc.Respond(ctx, rec, "population", id).Cards, Findings: &f}, nil
	}
}
