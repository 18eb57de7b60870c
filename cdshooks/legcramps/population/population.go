// Package population is what the nocturnal-leg-cramps patient-view service
// adds to a population run (cdshooks/kit/population): exactly the service's
// rules and card renderer for each patient, and the worklist columns,
// summary counts and report charts about leg cramps (which drugs, which
// missing work-up labs, which abnormal results).
package population

import (
	"context"

	"github.com/google/uuid"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit/population"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// topDrugs is how many ingredients the drug chart shows.
const topDrugs = 15

// PatientView is the population topic of the patient-view service: patients
// are evaluated with the service itself, the path `cramp-cds evaluate` takes
// for a Bundle. Card uuids derive from the patient id (no card of a
// population run is ever shown, so they only need to be stable).
func PatientView(pv *legcramps.PatientView) population.Topic {
	t := Topic()
	t.Evaluate = func(ctx context.Context, rec *fhir.Record, patientID string) (population.Outcome, error) {
		hookInstance := uuid.NewSHA1(uuid.NameSpaceURL, []byte("population/"+patientID)).String()
		resp, findings := pv.Assess(ctx, rec, "", hookInstance, "", patientID)
		return outcome(resp.Cards, findings), nil
	}
	return t
}

// Topic is what a run of the patient-view service lists and counts, without
// the evaluation: what merging its shards needs.
func Topic() population.Topic {
	return population.Topic{
		Service: "the " + legcramps.PatientViewID + " patient-view service",
		Columns: []string{"cramp_inducing_ingredients", "missing_analytes", "abnormal_results"},
		Counts: []population.CountList{
			{Key: "cramp_inducing_ingredients", Chart: "top-drugs", Title: "Patients per cramp-inducing drug", Top: topDrugs, Noun: "ingredients"},
			{Key: "missing_analytes", Chart: "missing-analytes", Title: "Patients per missing work-up lab"},
			{Key: "abnormal_labs", Chart: "abnormal-labs", Title: "Patients per abnormal result"},
		},
		Label: topicLabel,
	}
}

// outcome lists what the cards are about: the cramp-inducing ingredients
// (or, when only the class is known, the classes) of the medication cards;
// the work-up labs with no recent result and no order of them on its way (a
// worklist of care gaps does not list a test already ordered, as the card
// does not propose it again); the analytes with an abnormal latest result,
// counted, and the summaries of their cards, e.g. "Potassium 3.1 mmol/L on
// 2020-03-02: hypokalemia", listed.
func outcome(cards []cdshooks.Card, f *knowledge.Findings) population.Outcome {
	var ingredients, missing, abnormalResults, abnormalLabs []string
	for _, c := range cards {
		if c.Source.Topic != nil && c.Source.Topic.Code == legcramps.TopicAbnormalLab {
			abnormalResults = append(abnormalResults, c.Summary)
		}
	}
	if len(cards) > 0 && f != nil {
		for _, m := range f.Medications {
			ingredients = append(ingredients, ingredientName(m))
		}
		for _, m := range f.MissingLabs {
			if m.Ordered == nil {
				missing = append(missing, m.Workup.Name)
			}
		}
		for _, a := range f.AbnormalLabs {
			abnormalLabs = append(abnormalLabs, a.Lab.Name)
		}
	}
	return population.Outcome{
		Cards:   cards,
		Cells:   [][]string{ingredients, missing, abnormalResults},
		Counted: [][]string{ingredients, missing, abnormalLabs},
	}
}

func ingredientName(m knowledge.MedicationFinding) string {
	if m.Ingredient != nil {
		return m.Ingredient.Name
	}
	return m.Class.Name + " (class)"
}

// topicLabel is the display of a leg-cramp card topic code.
func topicLabel(code string) (string, bool) {
	for _, t := range legcramps.Topics() {
		if t.Code == code {
			return t.Display, true
		}
	}
	return "", false
}
