package knowledge_test

import (
	"testing"
	"time"

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
		// The review's boundary holds whatever the laboratory says below it: a
		// flag or a reference range alone does not make 5.1-5.5 a warning.
		{"K 5.5 flagged H is not high", nil, flagged(k(5.5), "H"), "potassium", "", "", false, nil, nil},
		{"K 5.3 above the laboratory's range 3.5-5.1 is not high", nil, ranged(k(5.3), 3.5, 5.1), "potassium", "", "", false, nil, nil},
		{"K 5.6 flagged H is high", nil, flagged(k(5.6), "H"), "potassium", "abnormal", "high", false, nil, nil},
		{"K 3.4 flagged L is still low: the laboratory decides the low side", nil, flagged(k(3.4), "L"), "potassium", "abnormal", "low", false, nil, nil},
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
			a := severityIs(t, b, adult("female", tt.meds, []fhir.Observation{tt.obs}), tt.lab, tt.want)
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

// Item 1: no false low calcium. The albumin correction (corrected = Ca + 0.8 x
// (4.0 - albumin), Payne et al., BMJ 1973) is meant for hypoalbuminaemia: it
// applies only with albumin below 4.0 g/dL; an ionized calcium of the same day
// or later decides over the total; a result the laboratory flagged N or
// placed inside its own range is never called low after correction; a
// corrected value alone never makes a result critical; an albumin with a
// comparator counts with its bound. Calcium is a work-up analyte of seed 000
// (line 39, refs 3 and 6).
func TestNoFalseLowCalcium(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	ca := func(v float64) fhir.Observation { return loincObs("Observation/ca", "17861-6", v, "mg/dL", lab) }
	alb := func(v float64) fhir.Observation { return loincObs("Observation/alb", "1751-7", v, "g/dL", lab) }
	albBelow := func(v float64) fhir.Observation {
		o := alb(v)
		o.Value.Comparator = "<"
		return o
	}
	ica := func(v float64, days int) fhir.Observation {
		return loincObs("Observation/ica", "1994-3", v, "mmol/L", lab.AddDate(0, 0, days))
	}
	tests := []struct {
		name      string
		obs       []fhir.Observation
		lab       string // the finding looked at
		want      string // "", "abnormal" or "critical"
		corrected bool   // the finding's calcium was corrected for albumin
	}{
		{"albumin 3.9 corrects: 8.4 + 0.08 = 8.48 is low", []fhir.Observation{ca(8.4), alb(3.9)}, "calcium", "abnormal", true},
		{"albumin 4.0 does not correct: 8.4 as measured is low", []fhir.Observation{ca(8.4), alb(4.0)}, "calcium", "abnormal", false},
		{"albumin 4.6 does not lower 8.6 to a false low", []fhir.Observation{ca(8.6), alb(4.6)}, "calcium", "", false},
		{"flagged N stays normal after correction", []fhir.Observation{flagged(ca(8.4), "N"), alb(3.9)}, "calcium", "", false},
		{"inside its own range with a high albumin stays normal", []fhir.Observation{ranged(ca(8.7), 8.6, 10.2), alb(4.8)}, "calcium", "", false},
		{"corrected alone is never critical: 7.2 with albumin 4.5", []fhir.Observation{ca(7.2), alb(4.5)}, "calcium", "abnormal", false},
		{"measured and corrected both below 7.0 is critical", []fhir.Observation{ca(6.8), alb(3.9)}, "calcium", "critical", true},
		{"measured below 7.0 but corrected 7.3 is not critical", []fhir.Observation{ca(6.5), alb(3.0)}, "calcium", "abnormal", true},
		{"albumin <1.5 is used as its bound: 7.9 corrects to more than 9.9", []fhir.Observation{ca(7.9), albBelow(1.5)}, "calcium", "", false},
		{"ionized of the same day decides over a low total", []fhir.Observation{ca(7.9), ica(1.20, 0)}, "calcium", "", false},
		{"ionized of the same day: its own finding when low", []fhir.Observation{ca(9.0), ica(1.05, 0)}, "ionized-calcium", "abnormal", false},
		{"ionized of the same day: the total is not judged", []fhir.Observation{ca(7.9), ica(1.05, 0)}, "calcium", "", false},
		{"ionized 3 days older: the later total decides", []fhir.Observation{ca(7.9), ica(1.20, -3)}, "calcium", "abnormal", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := severityIs(t, b, adult("female", nil, tt.obs), tt.lab, tt.want)
			if a == nil || a.Calcium == nil {
				return
			}
			if got := a.Calcium.Albumin != nil; got != tt.corrected {
				t.Errorf("corrected %v, want %v (%+v)", got, tt.corrected, a.Calcium)
			}
		})
	}
	_ = knowledge.Options{}
}

// Item 3: quinine (RxNorm IN 9071, US Core allergy substances; ATC P01BC01,
// WHO ATC index; brand Qualaquin) on record is warned against: FDA Drug Safety
// Communication of 2010-07-08 (Qualaquin should not be used for night-time leg
// cramps: serious haematological reactions), a standard-practice fact beyond
// the seeds.
func TestQuinineIsWarnedAgainst(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	atc := func(code string) fhir.Concept {
		return fhir.Concept{Codings: []fhir.Coding{{System: "http://www.whocc.no/atc", Code: code}}}
	}
	stopped := textMed("MedicationRequest/q", "quinine sulfate 324 MG Oral Capsule")
	stopped.Status = "stopped"
	tests := []struct {
		name string
		med  fhir.Medication
		want []string // the entries warned about
	}{
		{"RxNorm ingredient 9071", activeMed("MedicationRequest/q", rxnorm("9071")), []string{"9071"}},
		{"ATC P01BC01", activeMed("MedicationRequest/q", atc("P01BC01")), []string{"P01BC01"}},
		{"by name", textMed("MedicationRequest/q", "quinine sulfate 324 MG Oral Capsule"), []string{"quinine sulfate 324 MG Oral Capsule"}},
		{"by brand", textMed("MedicationRequest/q", "Qualaquin 324 mg capsule"), []string{"Qualaquin 324 mg capsule"}},
		{"stopped quinine is not warned about", stopped, nil},
		{"quinapril is not quinine", textMed("MedicationRequest/q", "quinapril 10 MG Oral Tablet"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := b.Evaluate(adult("female", []fhir.Medication{tt.med}, nil), asOf, knowledge.Options{})
			var got []string
			for _, w := range f.DrugWarnings {
				if w.Warning.ID != "quinine" || w.Warning.Source == "" || !w.Warning.StandardPractice {
					t.Errorf("warning %+v: want quinine, cited, marked standard practice", w.Warning)
				}
				for _, e := range w.Entries {
					got = append(got, e.Text)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("warned entries (-want +got):\n%s", diff)
			}
			if ws := b.DrugWarningsFor(tt.med.Drug); (len(ws) > 0) != (tt.want != nil || tt.med.Status == "stopped") {
				t.Errorf("DrugWarningsFor(%v) = %v", tt.med.Drug, ws)
			}
		})
	}
}

// Item 6: an active leg-cramp condition with no date and no category still
// counts (onset and recordedDate are optional in FHIR R4 and US Core; legacy
// problem-list imports lack them); the 24-month rule applies to dated entries
// (issue 15). Trigger code ICD-10-CM G47.62 (triggers.yaml).
func TestUndatedActiveCrampConditionCounts(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	cramps := func(status string, recorded time.Time, categories ...string) fhir.Condition {
		return fhir.Condition{Ref: "Condition/c", ClinicalStatus: status, Recorded: recorded, Categories: categories,
			Code: fhir.Concept{Codings: []fhir.Coding{icd("G47.62")}}}
	}
	tests := []struct {
		name string
		c    fhir.Condition
		want bool
	}{
		{"undated active, no category: counts", cramps("active", time.Time{}), true},
		{"undated relapse: counts", cramps("relapse", time.Time{}), true},
		{"undated without clinical status: does not", cramps("", time.Time{}), false},
		{"undated encounter diagnosis: does not", cramps("active", time.Time{}, "encounter-diagnosis"), false},
		{"active, dated 2012 (stale): does not", cramps("active", date(2012, 1, 1)), false},
		{"active, dated 23 months ago: counts", cramps("active", asOf.AddDate(0, -23, 0)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &fhir.Record{Patient: &fhir.Patient{Ref: "Patient/p1"}, Conditions: []fhir.Condition{tt.c}}
			if got := len(b.TriggerEntries(rec, asOf)) > 0; got != tt.want {
				t.Errorf("triggers %v, want %v", got, tt.want)
			}
		})
	}
}
