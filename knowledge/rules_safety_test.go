package knowledge_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// The tests of this file pin the rules of the second clinical review (issue
// 26). Each case cites its source: a seed (file and line) or the public
// standard-practice source named in knowledge/data and knowledge/README.md.

// textMed is an active medication known only by its text.
func textMed(ref, text string) fhir.Medication {
	return activeMed(ref, fhir.Concept{Text: text})
}

// Item 2: critical results on both sides. Potassium >= 6.5 mmol/L is critical
// and 5.6-6.4 abnormal (a warning) whatever the laboratory flags (issue 26,
// clinical review; life-threatening hyperkalaemia >= 6.0-6.5 mmol/L, decision
// limits table of PMC4975205); the laboratory's HH/LL always win; the finding
// names drugs on record that move the analyte that way (spironolactone, ACE
// inhibitors and ARBs raise potassium: standard pharmacology); a critical
// limit carries the action a clinician expects.
func TestCriticalOnBothSides(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	k := func(v float64) fhir.Observation { return loincObs("Observation/k", "2823-3", v, "mmol/L", lab) }
	mg := func(v float64) fhir.Observation { return loincObs("Observation/mg", "19123-9", v, "mg/dL", lab) }
	ca := func(v float64) fhir.Observation { return loincObs("Observation/ca", "17861-6", v, "mg/dL", lab) }
	ica := func(v float64) fhir.Observation { return loincObs("Observation/ica", "1994-3", v, "mmol/L", lab) }
	spiro := activeMed("MedicationRequest/spiro", rxnorm("9997"))
	lisinopril := textMed("MedicationRequest/lis", "lisinopril 10 MG Oral Tablet")
	losartan := textMed("MedicationRequest/los", "Losartan Potassium 50 MG Oral Tablet")
	furosemide := activeMed("MedicationRequest/furosemide", rxnorm("4603"))
	tests := []struct {
		name      string
		meds      []fhir.Medication
		obs       fhir.Observation
		lab       string
		want      string // "", "abnormal" or "critical"
		direction string
		action    bool     // a critical limit with its action text
		others    []string // other drugs on record named as moving the analyte
		suspects  []string // cramp-inducing drugs named
	}{
		{"K 6.4 is high, a warning, not critical", nil, k(6.4), "potassium", "abnormal", "high", false, nil, nil},
		{"K 6.5 is critical high without a flag", nil, k(6.5), "potassium", "critical", "high", true, nil, nil},
		{"K 6.5 flagged N is still critical", nil, flagged(k(6.5), "N"), "potassium", "critical", "high", true, nil, nil},
		{"K 5.6 is high", nil, k(5.6), "potassium", "abnormal", "high", false, nil, nil},
		{"K 5.5 is not high", nil, k(5.5), "potassium", "", "", false, nil, nil},
		{"K 5.8 flagged HH: the laboratory wins", nil, flagged(k(5.8), "HH"), "potassium", "critical", "high", false, nil, nil},
		{"K 2.6 flagged LL: the laboratory wins", nil, flagged(k(2.6), "LL"), "potassium", "critical", "low", false, nil, nil},
		{"K 2.4 critical low carries its action", []fhir.Medication{furosemide}, k(2.4), "potassium", "critical", "low", true, nil, []string{"furosemide"}},
		{"K 6.8 names spironolactone and the ACE inhibitor and ARB on record", []fhir.Medication{spiro, lisinopril, losartan, furosemide}, k(6.8), "potassium", "critical", "high", true,
			[]string{"lisinopril 10 MG Oral Tablet", "Losartan Potassium 50 MG Oral Tablet"}, []string{"spironolactone"}},
		{"K 2.4 does not blame the ACE inhibitor", []fhir.Medication{lisinopril}, k(2.4), "potassium", "critical", "low", true, nil, nil},
		// Critical limits of the other electrolytes, both sides (table of critical limits, Kost's survey of US medical centres).
		{"Mg 5.0 is critical high", nil, mg(5.0), "magnesium", "critical", "high", true, nil, nil},
		{"Mg 4.9 is not a finding", nil, mg(4.9), "magnesium", "", "", false, nil, nil},
		{"Ca 13.0 is critical high", nil, ca(13.0), "calcium", "critical", "high", true, nil, nil},
		{"Ca 12.9 is not a finding", nil, ca(12.9), "calcium", "", "", false, nil, nil},
		{"ionized Ca 0.8 is critical low", nil, ica(0.8), "ionized-calcium", "critical", "low", true, nil, nil},
		{"ionized Ca 0.85 is low, not critical", nil, ica(0.85), "ionized-calcium", "abnormal", "low", false, nil, nil},
		{"ionized Ca 1.6 is critical high", nil, ica(1.6), "ionized-calcium", "critical", "high", true, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := b.Evaluate(adult("female", tt.meds, []fhir.Observation{tt.obs}), asOf, knowledge.Options{})
			a := finding(t, f, tt.lab)
			got := ""
			if a != nil {
				got = a.Severity.String()
			}
			if got != tt.want {
				t.Fatalf("severity %q, want %q", got, tt.want)
			}
			if a == nil {
				return
			}
			if a.Direction != tt.direction {
				t.Errorf("direction %q, want %q", a.Direction, tt.direction)
			}
			if hasAction := a.Critical != nil && a.Critical.Action != ""; hasAction != tt.action {
				t.Errorf("critical limit with action: %v, want %v (%+v)", hasAction, tt.action, a.Critical)
			}
			var others []string
			for _, e := range a.OtherDrugs {
				others = append(others, e.Text)
			}
			if diff := cmp.Diff(tt.others, others); diff != "" {
				t.Errorf("other drugs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.suspects, keys(a.SuspectedDrugs)); diff != "" {
				t.Errorf("suspected drugs (-want +got):\n%s", diff)
			}
		})
	}
}

// Item 2: every critical limit in the data has an action and a source.
func TestEveryCriticalLimitSaysWhatToDo(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	sides := map[string]map[string]bool{}
	for _, l := range b.Labs() {
		for _, c := range l.Critical {
			if c.Action == "" || c.Source == "" {
				t.Errorf("%s critical %s %v: action %q, source %q", l.ID, c.Op, c.Value, c.Action, c.Source)
			}
			if sides[l.ID] == nil {
				sides[l.ID] = map[string]bool{}
			}
			sides[l.ID][c.Op[:1]] = true
		}
	}
	// Both sides for the electrolytes the work-up checks (issue 26 item 2).
	for _, id := range []string{"potassium", "magnesium", "calcium", "ionized-calcium"} {
		if !sides[id]["<"] || !sides[id][">"] {
			t.Errorf("%s: critical limits on sides %v, want both", id, sides[id])
		}
	}
}
