package knowledge_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// The tests of this file pin the rules of the clinical review (issue 15). Every
// expectation comes from the seeds, the public sources of knowledge/SOURCES.md
// or standard clinical practice as knowledge/README.md states it, never from the program's output.

const v3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

func flagged(o fhir.Observation, code string) fhir.Observation {
	o.Interpretation = []fhir.Coding{{System: v3, Code: code}}
	return o
}

func ranged(o fhir.Observation, low, high float64) fhir.Observation {
	u := o.Value.Code
	r := fhir.Range{}
	if low > 0 {
		r.Low = &fhir.Quantity{Value: low, Unit: u, Code: u}
	}
	if high > 0 {
		r.High = &fhir.Quantity{Value: high, Unit: u, Code: u}
	}
	o.ReferenceRange = []fhir.Range{r}
	return o
}

func condition(ref string, c fhir.Coding, status string) fhir.Condition {
	return fhir.Condition{Ref: ref, ClinicalStatus: status, Code: fhir.Concept{Codings: []fhir.Coding{c}}}
}

// adult is a record of a 60-year-old of the given sex with leg cramps.
func adult(sex string, meds []fhir.Medication, obs []fhir.Observation, conds ...fhir.Condition) *fhir.Record {
	rec := withCramps(meds, obs, conds...)
	rec.Patient.BirthDate, rec.Patient.Gender = "1961-01-01", sex
	return rec
}

var lab = date(2021, 3, 31) // the day of the results below

func finding(t *testing.T, f knowledge.Findings, labID string) *knowledge.AbnormalLabFinding {
	t.Helper()
	for i := range f.AbnormalLabs {
		if f.AbnormalLabs[i].Lab.ID == labID {
			return &f.AbnormalLabs[i]
		}
	}
	return nil
}

// severityIs evaluates rec and checks the severity of the lab's finding ("",
// "abnormal" or "critical"), returning the finding (nil when none).
func severityIs(t *testing.T, b *knowledge.Base, rec *fhir.Record, labID, want string) *knowledge.AbnormalLabFinding {
	t.Helper()
	a := finding(t, b.Evaluate(rec, asOf, knowledge.Options{}), labID)
	got := ""
	if a != nil {
		got = a.Severity.String()
	}
	if got != want {
		t.Fatalf("severity %q, want %q", got, want)
	}
	return a
}

func keys(ms []knowledge.MedicationFinding) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Key())
	}
	return out
}

func TestSeverityFollowsTheResult(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	k := func(v float64) fhir.Observation { return loincObs("Observation/k", "2823-3", v, "mmol/L", lab) }
	mg := func(v float64) fhir.Observation { return loincObs("Observation/mg", "19123-9", v, "mg/dL", lab) }
	ca := func(v float64) fhir.Observation { return loincObs("Observation/ca", "17861-6", v, "mg/dL", lab) }
	alb := func(v float64) fhir.Observation { return loincObs("Observation/alb", "1751-7", v, "g/dL", lab) }
	furosemide := activeMed("MedicationRequest/furosemide", rxnorm("4603"))
	spironolactone := activeMed("MedicationRequest/spiro", rxnorm("9997"))
	hctz := activeMed("MedicationRequest/hctz", rxnorm("5487"))
	salmeterol := activeMed("MedicationRequest/salm", rxnorm("36117"))
	tests := []struct {
		name     string
		meds     []fhir.Medication
		obs      []fhir.Observation
		lab      string
		want     string // "", "abnormal" or "critical"
		suspects []string
	}{
		// Critical limits (clinical review): K < 2.5 mmol/L, Mg < 1.0 mg/dL, corrected Ca < 7.0 mg/dL.
		{"K 2.4 is critical", nil, []fhir.Observation{k(2.4)}, "potassium", "critical", nil},
		{"K 2.5 is low, not critical", nil, []fhir.Observation{k(2.5)}, "potassium", "abnormal", nil},
		{"K 2.4 on furosemide names it", []fhir.Medication{furosemide}, []fhir.Observation{k(2.4)}, "potassium", "critical", []string{"furosemide"}},
		{"K 2.4 on salmeterol names it (beta-2 agonists shift potassium)", []fhir.Medication{salmeterol}, []fhir.Observation{k(2.4)}, "potassium", "critical", []string{"salmeterol"}},
		{"K 2.4 on spironolactone does not blame it (it raises potassium)", []fhir.Medication{spironolactone}, []fhir.Observation{k(2.4)}, "potassium", "critical", nil},
		{"K critical whatever the lab says (flag N)", nil, []fhir.Observation{flagged(k(2.3), "N")}, "potassium", "critical", nil},
		{"Mg 0.99 is critical", []fhir.Medication{hctz}, []fhir.Observation{mg(0.99)}, "magnesium", "critical", []string{"hydrochlorothiazide"}},
		{"Mg 1.0 is low, not critical", nil, []fhir.Observation{mg(1.0)}, "magnesium", "abnormal", nil},
		{"Ca 6.9 without albumin is critical", nil, []fhir.Observation{ca(6.9)}, "calcium", "critical", nil},
		{"Ca 7.0 without albumin is low, not critical", nil, []fhir.Observation{ca(7.0)}, "calcium", "abnormal", nil},
		{"Ca 6.5 with albumin 3.0 (corrected 7.3) is not critical", nil, []fhir.Observation{ca(6.5), alb(3.0)}, "calcium", "abnormal", nil},
		// Issue 26 item 1: a corrected value alone never makes a critical card; the measured value must be critical too.
		{"Ca 7.2 with albumin 4.5 is not corrected, low not critical", []fhir.Medication{furosemide}, []fhir.Observation{ca(7.2), alb(4.5)}, "calcium", "abnormal", []string{"furosemide"}},
		{"Ca 6.8 with albumin 3.9 (corrected 6.88) is critical", []fhir.Medication{furosemide}, []fhir.Observation{ca(6.8), alb(3.9)}, "calcium", "critical", []string{"furosemide"}},
		{"low Ca on a thiazide does not blame it (thiazides raise calcium)", []fhir.Medication{hctz}, []fhir.Observation{ca(8.0)}, "calcium", "abnormal", nil},
		// The laboratory's own critical flags.
		{"K 3.4 flagged LL is critical", nil, []fhir.Observation{flagged(k(3.4), "LL")}, "potassium", "critical", nil},
		{"K 6.8 flagged HH is critical on the high side", []fhir.Medication{spironolactone}, []fhir.Observation{flagged(k(6.8), "HH")}, "potassium", "critical", []string{"spironolactone"}},
		{"K 5.8 flagged H is a high-potassium warning (issue 26 item 2)", []fhir.Medication{spironolactone}, []fhir.Observation{flagged(k(5.8), "H")}, "potassium", "abnormal", []string{"spironolactone"}},
		{"TSH flagged AA is critical", nil, []fhir.Observation{flagged(loincObs("Observation/tsh", "3016-3", 0.01, "m[IU]/L", lab), "AA")}, "tsh", "critical", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := severityIs(t, b, adult("female", tt.meds, tt.obs), tt.lab, tt.want)
			if a == nil {
				return
			}
			if diff := cmp.Diff(tt.suspects, keys(a.SuspectedDrugs)); diff != "" {
				t.Errorf("suspected drugs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCriticalFindingsComeFirst(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	obs := []fhir.Observation{
		loincObs("Observation/k", "2823-3", 3.2, "mmol/L", lab),                                // low (data order 1st)
		flagged(loincObs("Observation/tsh", "3016-3", 0.01, "m[IU]/L", lab), "AA"),             // critical (4th)
		loincObs("Observation/mg", "19123-9", 0.8, "mg/dL", lab),                               // critical (2nd)
		loincObs("Observation/a1c", "4548-4", 7.0, "%", lab),                                   // abnormal (5th)
		loincObs("Observation/egfr", "98979-8", 45, "mL/min/{1.73_m2}", lab.AddDate(0, 0, -1)), // abnormal (6th)
	}
	f := b.Evaluate(adult("male", nil, obs), asOf, knowledge.Options{})
	var got []string
	for _, a := range f.AbnormalLabs {
		got = append(got, a.Lab.ID+" "+a.Severity.String())
	}
	want := []string{"magnesium critical", "tsh critical", "potassium abnormal", "hba1c abnormal", "egfr abnormal"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestTheLaboratorysOwnRangeAndFlagsWin(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	mg := func(v float64) fhir.Observation { return loincObs("Observation/mg", "19123-9", v, "mg/dL", lab) }
	a1c := func(v float64) fhir.Observation { return loincObs("Observation/a1c", "4548-4", v, "%", lab) }
	tests := []struct {
		name  string
		obs   fhir.Observation
		lab   string
		want  string // the finding, "" for none
		basis knowledge.Basis
	}{
		{"Mg 1.65 flagged L with range 1.7-2.2 is low", flagged(ranged(mg(1.65), 1.7, 2.2), "L"), "magnesium", "magnesium below the laboratory's reference range", knowledge.BasisFlag},
		{"Mg 1.65 below its range 1.7-2.2 is low", ranged(mg(1.65), 1.7, 2.2), "magnesium", "magnesium below the laboratory's reference range", knowledge.BasisReferenceRange},
		{"Mg 1.70 at its range's low bound is not low", ranged(mg(1.70), 1.7, 2.2), "magnesium", "", 0},
		{"Mg 1.55 inside its range 1.5-2.3 is not low", ranged(mg(1.55), 1.5, 2.3), "magnesium", "", 0},
		{"Mg 1.55 flagged N is not low", flagged(mg(1.55), "N"), "magnesium", "", 0},
		{"Mg 1.59 without flag or range: our threshold (< 1.6)", mg(1.59), "magnesium", "hypomagnesemia", knowledge.BasisThreshold},
		{"Mg 1.65 without flag or range: not below 1.6", mg(1.65), "magnesium", "", 0},
		{"Mg 1.5 flagged L and below 1.6 keeps the threshold's name", flagged(mg(1.5), "L"), "magnesium", "hypomagnesemia", knowledge.BasisFlag},
		{"HbA1c 5.9 flagged H (range to 5.6) is high, but not 'diabetes range'", flagged(ranged(a1c(5.9), 0, 5.6), "H"), "hba1c", "HbA1c above the laboratory's reference range", knowledge.BasisFlag},
		{"HbA1c 5.6 at its range's high bound is not high", ranged(a1c(5.6), 0, 5.6), "hba1c", "", 0},
		{"a flag on the side that does not matter (Mg flagged H) is no finding", flagged(mg(2.5), "H"), "magnesium", "", 0},
		{"A flag: the side comes from the range", flagged(ranged(mg(1.65), 1.7, 2.2), "A"), "magnesium", "magnesium below the laboratory's reference range", knowledge.BasisFlag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := b.Evaluate(adult("female", nil, []fhir.Observation{tt.obs}), asOf, knowledge.Options{})
			a := finding(t, f, tt.lab)
			got, basis := "", knowledge.Basis(0)
			if a != nil {
				got, basis = a.Finding, a.Basis
			}
			if got != tt.want || basis != tt.basis {
				t.Errorf("finding %q (basis %v), want %q (basis %v)", got, basis, tt.want, tt.basis)
			}
		})
	}
}

func TestCalciumIsCorrectedForAlbumin(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	ca := func(v float64) fhir.Observation { return loincObs("Observation/ca", "17861-6", v, "mg/dL", lab) }
	alb := func(ref string, v float64, unit string, when time.Time) fhir.Observation {
		return loincObs(ref, "1751-7", v, unit, when)
	}
	ion := func(v float64) fhir.Observation { return loincObs("Observation/ica", "1994-3", v, "mmol/L", lab) }
	tests := []struct {
		name      string
		obs       []fhir.Observation
		lab       string
		low       bool
		albumin   string  // the albumin used, "" for none
		corrected float64 // when albumin is used
		ionized   bool
	}{
		// corrected Ca = measured + 0.8 x (4.0 - albumin g/dL) (the standard albumin correction).
		{"Ca 8.0, albumin 3.0 the same day: 8.8, not low", []fhir.Observation{ca(8.0), alb("Observation/alb", 3.0, "g/dL", lab)}, "calcium", false, "Observation/alb", 8.8, false},
		{"albumin exactly 3 days before is used", []fhir.Observation{ca(8.0), alb("Observation/alb", 3.0, "g/dL", lab.AddDate(0, 0, -3))}, "calcium", false, "Observation/alb", 8.8, false},
		{"albumin 3 days and a minute after is not", []fhir.Observation{ca(8.0), alb("Observation/alb", 3.0, "g/dL", lab.AddDate(0, 0, -3).Add(-time.Minute))}, "calcium", true, "", 0, false},
		{"no albumin: judged as measured", []fhir.Observation{ca(8.0)}, "calcium", true, "", 0, false},
		// Issue 26 item 1: the correction is for hypoalbuminaemia only (albumin below 4.0 g/dL); it used to
		// lower 8.6 with albumin 4.5 to a false low 8.2.
		{"albumin 4.0: not corrected, 8.0 is low as measured", []fhir.Observation{ca(8.0), alb("Observation/alb", 4.0, "g/dL", lab)}, "calcium", true, "", 0, false},
		{"albumin 4.5 does not lower 8.6", []fhir.Observation{ca(8.6), alb("Observation/alb", 4.5, "g/dL", lab)}, "calcium", false, "", 0, false},
		{"albumin 34 g/L: 8.0 corrects to 8.48, still low", []fhir.Observation{ca(8.0), alb("Observation/alb", 34, "g/L", lab)}, "calcium", true, "Observation/alb", 8.48, false},
		{"albumin 3.3 g/dL: 8.0 corrects to 8.56, not low", []fhir.Observation{ca(8.0), alb("Observation/alb", 3.3, "g/dL", lab)}, "calcium", false, "Observation/alb", 8.56, false},
		{"the albumin nearest in time is used", []fhir.Observation{ca(8.0), alb("Observation/far", 4.0, "g/dL", lab.AddDate(0, 0, -2)), alb("Observation/near", 3.0, "g/dL", lab.Add(-time.Hour))}, "calcium", false, "Observation/near", 8.8, false},
		{"the measured value's L flag does not survive the correction", []fhir.Observation{flagged(ranged(ca(8.0), 8.6, 10.3), "L"), alb("Observation/alb", 3.0, "g/dL", lab)}, "calcium", false, "Observation/alb", 8.8, false},
		{"corrected value below the lab's range is low", []fhir.Observation{ranged(ca(8.0), 8.9, 10.3), alb("Observation/alb", 3.0, "g/dL", lab)}, "calcium", true, "Observation/alb", 8.8, false},
		// Ionized calcium is never corrected: low below 1.12 mmol/L (a common laboratory range).
		{"ionized 1.0 mmol/L is low whatever the albumin", []fhir.Observation{ion(1.0), alb("Observation/alb", 2.0, "g/dL", lab)}, "ionized-calcium", true, "", 0, true},
		{"ionized 1.12 mmol/L is not low", []fhir.Observation{ion(1.12), alb("Observation/alb", 5.0, "g/dL", lab)}, "ionized-calcium", false, "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := b.Evaluate(adult("female", nil, tt.obs), asOf, knowledge.Options{})
			a := finding(t, f, tt.lab)
			if got := a != nil; got != tt.low {
				t.Fatalf("low %v, want %v", got, tt.low)
			}
			if a == nil {
				return
			}
			c := a.Calcium
			if c == nil || c.Ionized != tt.ionized {
				t.Fatalf("calcium basis %+v, want ionized %v", c, tt.ionized)
			}
			gotAlb := ""
			if c.Albumin != nil {
				gotAlb = c.Albumin.Ref
			}
			if gotAlb != tt.albumin {
				t.Errorf("albumin used %q, want %q", gotAlb, tt.albumin)
			}
			if tt.albumin != "" && math.Abs(c.Corrected-tt.corrected) > 1e-9 {
				t.Errorf("corrected %g, want %g", c.Corrected, tt.corrected)
			}
		})
	}
	// The not-low cases must still have read the albumin: check one through a low result's absence.
	f := b.Evaluate(adult("female", nil, []fhir.Observation{ca(8.0), alb("Observation/alb", 3.0, "g/dL", lab)}), asOf, knowledge.Options{})
	if len(f.AbnormalLabs) != 0 {
		t.Errorf("corrected 8.8 reported: %+v", f.AbnormalLabs[0].Finding)
	}
}

func TestRenalFunctionIsOneFindingPerDraw(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	cr := func(v float64, when time.Time) fhir.Observation {
		return loincObs("Observation/cr", "2160-0", v, "mg/dL", when)
	}
	egfr := func(ref string, v float64, when time.Time) fhir.Observation {
		return loincObs(ref, "98979-8", v, "mL/min/{1.73_m2}", when)
	}
	ckd := condition("Condition/ckd", icd("N18.30"), "active")
	type want struct {
		Labs    []string // abnormal lab ids
		Related []string
		Finding string
		Chronic string // "", "earlier <ref>" or "diagnosis <ref>"
	}
	tests := []struct {
		name  string
		sex   string
		obs   []fhir.Observation
		conds []fhir.Condition
		want  want
	}{
		{"creatinine 1.5 and eGFR 45 of one draw: one finding", "male", []fhir.Observation{cr(1.5, lab), egfr("Observation/egfr", 45, lab)}, nil,
			want{[]string{"egfr"}, []string{"Observation/cr"}, "reduced eGFR", ""}},
		{"creatinine 1.5 with a normal eGFR 75 of the draw defers to it", "male", []fhir.Observation{cr(1.5, lab), egfr("Observation/egfr", 75, lab)}, nil,
			want{}},
		{"eGFR 60 is not reduced", "male", []fhir.Observation{egfr("Observation/egfr", 60, lab)}, nil, want{}},
		{"male creatinine 1.35 is not high", "male", []fhir.Observation{cr(1.35, lab)}, nil, want{}},
		{"male creatinine 1.36 is high", "male", []fhir.Observation{cr(1.36, lab)}, nil, want{[]string{"creatinine"}, nil, "creatinine above the reference range", ""}},
		{"female creatinine 1.04 is not high", "female", []fhir.Observation{cr(1.04, lab)}, nil, want{}},
		{"female creatinine 1.05 is high", "female", []fhir.Observation{cr(1.05, lab)}, nil, want{[]string{"creatinine"}, nil, "creatinine above the reference range", ""}},
		{"unknown sex: the male limit (1.2 is not high)", "", []fhir.Observation{cr(1.2, lab)}, nil, want{}},
		{"a later creatinine is judged alone, not the older eGFR", "male", []fhir.Observation{cr(1.5, lab), egfr("Observation/egfr", 45, date(2021, 1, 5))}, nil,
			want{[]string{"creatinine"}, nil, "creatinine above the reference range", ""}},
		{"two reduced eGFRs exactly 3 months apart: CKD", "male", []fhir.Observation{egfr("Observation/egfr", 45, lab), egfr("Observation/old", 50, date(2020, 12, 31))}, nil,
			want{[]string{"egfr"}, nil, "reduced eGFR", "earlier Observation/old"}},
		{"a day short of 3 months: not CKD", "male", []fhir.Observation{egfr("Observation/egfr", 45, lab), egfr("Observation/old", 50, date(2021, 1, 1))}, nil,
			want{[]string{"egfr"}, nil, "reduced eGFR", ""}},
		{"a normal eGFR between: not CKD", "male", []fhir.Observation{egfr("Observation/egfr", 45, lab), egfr("Observation/mid", 75, date(2021, 2, 1)), egfr("Observation/old", 50, date(2020, 6, 1))}, nil,
			want{[]string{"egfr"}, nil, "reduced eGFR", ""}},
		{"one reduced eGFR with CKD coded: CKD", "male", []fhir.Observation{egfr("Observation/egfr", 45, lab)}, []fhir.Condition{ckd},
			want{[]string{"egfr"}, nil, "reduced eGFR", "diagnosis Condition/ckd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := b.Evaluate(adult(tt.sex, nil, tt.obs, tt.conds...), asOf, knowledge.Options{})
			var got want
			for _, a := range f.AbnormalLabs {
				got.Labs = append(got.Labs, a.Lab.ID)
				got.Finding = a.Finding
				for _, r := range a.Related {
					got.Related = append(got.Related, r.Ref)
				}
				switch c := a.Chronic; {
				case c != nil && c.Earlier != nil:
					got.Chronic = "earlier " + c.Earlier.Ref
				case c != nil && c.Diagnosis != nil:
					got.Chronic = "diagnosis " + c.Diagnosis.Ref
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("renal findings (-want +got):\n%s", diff)
			}
		})
	}
	// The seeds tie cramps to CKD requiring hemodialysis (seed 001 lines 20 and 36, seed 000 line 29).
	p := b.Pearl("ckd-hemodialysis")
	if p == nil || !slices.ContainsFunc(p.Evidence, func(c knowledge.Citation) bool { return c.Seed == "001_ef64482ccbaa6c09.txt" && c.Line == 36 }) {
		t.Errorf("pearl ckd-hemodialysis = %+v, want one citing seed 001 line 36", p)
	}
}

func TestHbA1cIsNotReflaggedForKnownDiabetes(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	a1c := func(v float64) []fhir.Observation {
		return []fhir.Observation{loincObs("Observation/a1c", "4548-4", v, "%", lab)}
	}
	tests := []struct {
		name  string
		obs   []fhir.Observation
		conds []fhir.Condition
		want  bool
	}{
		{"7.5 % without diabetes is reported", a1c(7.5), nil, true},
		{"6.5 % without diabetes is reported", a1c(6.5), nil, true},
		{"6.4 % is not in the diabetes range", a1c(6.4), nil, false},
		{"7.5 % with type 2 diabetes on the problem list is not", a1c(7.5), []fhir.Condition{condition("Condition/dm", snomed("44054006"), "active")}, false},
		{"7.5 % with E11.42 (diabetic polyneuropathy) is not", a1c(7.5), []fhir.Condition{condition("Condition/dm", icd("E11.42"), "active")}, false},
		{"7.5 % with a resolved diabetes entry is reported", a1c(7.5), []fhir.Condition{condition("Condition/dm", snomed("44054006"), "resolved")}, true},
		{"7.5 % flagged H with diabetes is not", []fhir.Observation{flagged(a1c(7.5)[0], "H")}, []fhir.Condition{condition("Condition/dm", snomed("44054006"), "active")}, false},
	}
	for _, tt := range tests {
		f := b.Evaluate(adult("female", nil, tt.obs, tt.conds...), asOf, knowledge.Options{})
		if got := finding(t, f, "hba1c") != nil; got != tt.want {
			t.Errorf("%s: reported %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestLegCrampTriggerNeedsAnActiveProblemOrARecentDiagnosis(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	cramp := func(status string, categories []string, recorded, onset time.Time) fhir.Condition {
		return fhir.Condition{Ref: "Condition/c", ClinicalStatus: status, Categories: categories, Recorded: recorded, Onset: onset,
			Code: fhir.Concept{Codings: []fhir.Coding{icd("R25.2")}}}
	}
	problem := []string{"problem-list-item"}
	encounter := []string{"encounter-diagnosis"}
	twoYears := asOf.AddDate(-2, 0, 0)
	tests := []struct {
		name string
		c    fhir.Condition
		want bool
	}{
		{"active problem-list entry from 2012", cramp("active", problem, date(2012, 5, 1), date(2012, 5, 1)), true},
		{"active problem-list entry, undated", cramp("recurrence", problem, time.Time{}, time.Time{}), true},
		{"a 2012 R25.2 with no clinical status and no category", cramp("", nil, date(2012, 5, 1), date(2012, 5, 1)), false},
		{"a problem-list entry without clinical status from 2012", cramp("", problem, date(2012, 5, 1), time.Time{}), false},
		{"resolved problem-list entry", cramp("resolved", problem, date(2020, 5, 1), time.Time{}), false},
		{"encounter diagnosis recorded exactly 2 years ago", cramp("active", encounter, twoYears, time.Time{}), true},
		{"encounter diagnosis recorded 2 years and a day ago", cramp("active", encounter, twoYears.AddDate(0, 0, -1), time.Time{}), false},
		{"encounter diagnosis without recorded date: onset within 2 years", cramp("", encounter, time.Time{}, twoYears.AddDate(0, 0, 1)), true},
		{"recorded date wins over an old onset", cramp("", encounter, asOf.AddDate(0, -1, 0), date(2000, 1, 1)), true},
		{"an undated entry without category", cramp("", nil, time.Time{}, time.Time{}), false},
		{"encounter diagnosis in remission", cramp("remission", encounter, asOf.AddDate(0, -1, 0), time.Time{}), false},
	}
	for _, tt := range tests {
		f := b.Evaluate(&fhir.Record{Conditions: []fhir.Condition{tt.c}}, asOf, knowledge.Options{})
		if f.Triggered != tt.want {
			t.Errorf("%s: triggered %v, want %v", tt.name, f.Triggered, tt.want)
		}
	}
}

func TestPregnancyIsTimeBoundedAndPlausible(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	preg := func(c fhir.Coding, onset, recorded, abated time.Time) fhir.Condition {
		return fhir.Condition{Ref: "Condition/preg", Code: fhir.Concept{Codings: []fhir.Coding{c}}, Onset: onset, Recorded: recorded, Abatement: abated}
	}
	tenMonths := asOf.AddDate(0, -10, 0)
	recent := asOf.AddDate(0, -2, 0)
	z34 := icd("Z34.00")
	tests := []struct {
		name    string
		born    string
		sex     string
		c       fhir.Condition
		allAges bool
		want    bool
	}{
		{"O24.419 from 1985 in a 76-year-old woman", "1945-01-01", "female", preg(icd("O24.419"), date(1985, 6, 1), time.Time{}, time.Time{}), false, false},
		{"onset exactly 10 months ago", "1991-01-01", "female", preg(z34, tenMonths, time.Time{}, time.Time{}), false, true},
		{"onset 10 months and a day ago", "1991-01-01", "female", preg(z34, tenMonths.AddDate(0, 0, -1), time.Time{}, time.Time{}), false, false},
		{"no onset, recorded 2 months ago", "1991-01-01", "female", preg(snomed("77386006"), time.Time{}, recent, time.Time{}), false, true},
		{"undated", "1991-01-01", "female", preg(snomed("77386006"), time.Time{}, time.Time{}, time.Time{}), false, false},
		{"abated last week", "1991-01-01", "female", preg(z34, recent, time.Time{}, asOf.AddDate(0, 0, -7)), false, false},
		{"a man", "1991-01-01", "male", preg(z34, recent, time.Time{}, time.Time{}), false, false},
		{"sex unknown: benefit of the doubt", "1991-01-01", "", preg(z34, recent, time.Time{}, time.Time{}), false, true},
		{"a woman of 55", "1965-06-01", "female", preg(z34, recent, time.Time{}, time.Time{}), false, true},
		{"a woman of 56", "1965-01-01", "female", preg(z34, recent, time.Time{}, time.Time{}), false, false},
		{"a girl of 10 (all ages on)", "2011-01-01", "female", preg(z34, recent, time.Time{}, time.Time{}), true, true},
		{"a girl of 9 (all ages on)", "2011-06-01", "female", preg(z34, recent, time.Time{}, time.Time{}), true, false},
	}
	for _, tt := range tests {
		rec := withCramps(nil, nil, tt.c)
		rec.Patient.BirthDate, rec.Patient.Gender = tt.born, tt.sex
		f := b.Evaluate(rec, asOf, knowledge.Options{AllAges: tt.allAges})
		got := slices.ContainsFunc(f.Associated, func(c knowledge.ConditionFinding) bool { return c.Condition.ID == "pregnancy" })
		if got != tt.want {
			t.Errorf("%s: pregnancy %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestConditionsInRemissionOrResolvedDoNotCount(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	tests := []struct {
		name string
		c    fhir.Condition
		want bool
	}{
		{"alcoholism active", condition("Condition/a", snomed("7200002"), "active"), true},
		{"alcoholism in remission (clinical status)", condition("Condition/a", snomed("7200002"), "remission"), false},
		{"alcoholism resolved", condition("Condition/a", snomed("7200002"), "resolved"), false},
		{"alcoholism inactive", condition("Condition/a", snomed("7200002"), "inactive"), false},
		{"alcoholism relapse", condition("Condition/a", snomed("7200002"), "relapse"), true},
		// A remission coded in the diagnosis itself, with an active clinical status (issue 14's value set).
		{"F10.21 alcohol dependence, in remission", condition("Condition/a", icd("F10.21"), "active"), false},
		{"F10.11 alcohol abuse, in remission", condition("Condition/a", icd("F10.11"), "active"), false},
		{"F10.20 alcohol dependence, uncomplicated", condition("Condition/a", icd("F10.20"), "active"), true},
	}
	for _, tt := range tests {
		f := b.Evaluate(withCramps(nil, nil, tt.c), asOf, knowledge.Options{})
		got := slices.ContainsFunc(f.Associated, func(c knowledge.ConditionFinding) bool { return c.Condition.ID == "alcohol-use-disorder" })
		if got != tt.want {
			t.Errorf("%s: counted %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAdultsOnlyByDefault(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	tests := []struct {
		name     string
		born     string
		allAges  bool
		speaks   bool
		underAge bool
	}{
		{"18 today", "2003-04-01", false, true, false},
		{"18 tomorrow", "2003-04-02", false, false, true},
		{"10 years old", "2011-01-01", false, false, true},
		{"10 years old, all ages on", "2011-01-01", true, true, false},
		{"birth date unknown", "", false, true, false},
		{"born in 2003 (year only, taken as 1 January): 18", "2003", false, true, false},
		{"born in May 2003 (month only): 17", "2003-05", false, false, true},
	}
	for _, tt := range tests {
		rec := withCramps([]fhir.Medication{activeMed("MedicationRequest/hctz", rxnorm("5487"))}, nil)
		rec.Patient.BirthDate = tt.born
		f := b.Evaluate(rec, asOf, knowledge.Options{AllAges: tt.allAges})
		if f.Triggered != tt.speaks || f.UnderAge != tt.underAge {
			t.Errorf("%s: triggered %v, under age %v; want %v, %v", tt.name, f.Triggered, f.UnderAge, tt.speaks, tt.underAge)
		}
		if !tt.speaks && !empty(f) {
			t.Errorf("%s: silent but findings are not empty", tt.name)
		}
	}
}

func TestIronSucroseCountsWhenInfusedRecently(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	venofer := func(status string, given time.Time) fhir.Medication {
		return fhir.Medication{Ref: "MedicationRequest/iv", Status: status, Intent: "order", Drug: fhir.Concept{Text: "Venofer 200 mg in sodium chloride IV"},
			Asserted: given, Effective: fhir.Period{Start: given, End: given}}
	}
	hctz := func(status string, when time.Time) fhir.Medication {
		m := activeMed("MedicationRequest/hctz", rxnorm("5487"))
		m.Status, m.Asserted, m.Effective = status, when, fhir.Period{Start: when, End: when}
		return m
	}
	tests := []struct {
		name      string
		med       fhir.Medication
		want      []string
		lastTaken time.Time
	}{
		{"infusion completed 28 days ago counts", venofer("completed", asOf.AddDate(0, 0, -28)), []string{"iron-sucrose"}, asOf.AddDate(0, 0, -28)},
		{"infusion completed 29 days ago does not", venofer("completed", asOf.AddDate(0, 0, -29)), nil, time.Time{}},
		{"an active order whose period ended a week ago counts", venofer("active", asOf.AddDate(0, 0, -7)), []string{"iron-sucrose"}, asOf.AddDate(0, 0, -7)},
		{"a stopped course does not", venofer("stopped", asOf.AddDate(0, 0, -7)), nil, time.Time{}},
		{"an administration 20 days ago counts", fhir.Medication{Ref: "MedicationAdministration/a", Status: "completed", Drug: fhir.Concept{Text: "iron sucrose 200 mg"},
			Effective: fhir.Period{Start: asOf.AddDate(0, 0, -20), End: asOf.AddDate(0, 0, -20)}}, []string{"iron-sucrose"}, asOf.AddDate(0, 0, -20)},
		{"an administration of furosemide yesterday is not a current diuretic", fhir.Medication{Ref: "MedicationAdministration/f", Status: "completed", Drug: rxnorm("4603"),
			Effective: fhir.Period{Start: asOf.AddDate(0, 0, -1), End: asOf.AddDate(0, 0, -1)}}, nil, time.Time{}},
		{"a current order counts as current", activeMed("MedicationRequest/iv", fhir.Concept{Text: "iron sucrose 100 mg IV"}), []string{"iron-sucrose"}, time.Time{}},
		{"a completed daily drug (HCTZ) last week does not", hctz("completed", asOf.AddDate(0, 0, -7)), nil, time.Time{}},
		{"ferric carboxymaltose is not iron sucrose", activeMed("MedicationRequest/fcm", fhir.Concept{Text: "ferric carboxymaltose 750 mg IV"}), nil, time.Time{}},
	}
	for _, tt := range tests {
		f := b.Evaluate(withCramps([]fhir.Medication{tt.med}, nil), asOf, knowledge.Options{})
		if diff := cmp.Diff(tt.want, keys(f.Medications)); diff != "" {
			t.Errorf("%s: medications (-want +got):\n%s", tt.name, diff)
			continue
		}
		if len(f.Medications) == 1 && !f.Medications[0].Entries[0].LastTaken.Equal(tt.lastTaken) {
			t.Errorf("%s: LastTaken %v, want %v", tt.name, f.Medications[0].Entries[0].LastTaken, tt.lastTaken)
		}
	}
}

func TestStrengthOfEvidencePerDrugClass(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	// Strong: the list seed 000 says "strongly predispose" (line 10, ref 1) and seed 001 backs with the
	// guideline and AAFP references. Reported: classes named only by patient-information pages, or (CCBs,
	// lithium) cited to seed 000's ref 3 alone. CCBs are also a treatment (seed 004 line 44).
	tests := []struct {
		class     string
		strength  knowledge.Strength
		mayRemove bool
	}{
		{"thiazide-diuretic", knowledge.StrengthStrong, true},
		{"loop-diuretic", knowledge.StrengthStrong, true},
		{"potassium-sparing-diuretic", knowledge.StrengthStrong, true},
		{"intravenous-iron", knowledge.StrengthStrong, true},
		{"conjugated-estrogens", knowledge.StrengthStrong, true},
		{"raloxifene", knowledge.StrengthStrong, true},
		{"nsaid", knowledge.StrengthStrong, true},
		{"teriparatide", knowledge.StrengthStrong, true},
		{"long-acting-beta-agonist", knowledge.StrengthStrong, true},
		{"statin", knowledge.StrengthReported, false},
		{"calcium-channel-blocker", knowledge.StrengthReported, false},
		{"lithium", knowledge.StrengthReported, false},
		{"antipsychotic", knowledge.StrengthReported, false},
	}
	if got, want := len(b.Classes()), len(tests); got != want {
		t.Errorf("%d classes, want %d: grade every class", got, want)
	}
	for _, tt := range tests {
		c := b.Class(tt.class)
		if c == nil {
			t.Errorf("no class %s", tt.class)
			continue
		}
		if c.Strength != tt.strength || c.MayRemove() != tt.mayRemove || len(c.StrengthEvidence) == 0 {
			t.Errorf("%s: strength %q, may remove %v, %d citations; want %q, %v, some", c.ID, c.Strength, c.MayRemove(), len(c.StrengthEvidence), tt.strength, tt.mayRemove)
		}
	}
	ccb := b.Class("calcium-channel-blocker")
	if len(ccb.AlsoTreatment) != 1 || ccb.AlsoTreatment[0].Seed != "004_f1220bcc4d7b13ce.txt" || ccb.AlsoTreatment[0].Line != 44 {
		t.Errorf("CCB also_treatment = %+v, want seed 004 line 44", ccb.AlsoTreatment)
	}
	// A finding carries its class's strength.
	f := b.Evaluate(withCramps([]fhir.Medication{activeMed("MedicationRequest/a", rxnorm("17767"))}, nil), asOf, knowledge.Options{})
	if len(f.Medications) != 1 || f.Medications[0].Strength() != knowledge.StrengthReported || f.Medications[0].MayRemove() {
		t.Errorf("amlodipine finding: %+v, want reported and not removable", f.Medications)
	}
	if s := b.Condition("alcohol-use-disorder").Strength; s != knowledge.StrengthReported {
		t.Errorf("alcohol use disorder strength %q, want reported (seeds 002 and 004 only)", s)
	}
}

func TestMissingLabsMarkWhatTheRecordPointsTo(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	furosemide := activeMed("MedicationRequest/furosemide", rxnorm("4603"))
	stopped := furosemide
	stopped.Status = "stopped"
	oldA1c := func(v float64) fhir.Observation {
		return loincObs("Observation/a1c-2018", "4548-4", v, "%", date(2018, 6, 1))
	}
	all := []string{"potassium", "magnesium", "calcium", "thyroid", "hba1c", "renal-function"}
	tests := []struct {
		name  string
		meds  []fhir.Medication
		obs   []fhir.Observation
		conds []fhir.Condition
		want  map[string][]string // recommended work-up -> the entries pointing to it
	}{
		{"nothing points anywhere", nil, nil, nil, map[string][]string{}},
		{"a current diuretic: electrolytes and renal function", []fhir.Medication{furosemide}, nil, nil,
			map[string][]string{"potassium": {"MedicationRequest/furosemide"}, "magnesium": {"MedicationRequest/furosemide"}, "renal-function": {"MedicationRequest/furosemide"}}},
		{"a stopped diuretic points nowhere", []fhir.Medication{stopped}, nil, nil, map[string][]string{}},
		{"diabetic neuropathy: HbA1c", nil, nil, []fhir.Condition{condition("Condition/dn", snomed("368581000119106"), "active")},
			map[string][]string{"hba1c": {"Condition/dn"}}},
		{"peripheral neuropathy: HbA1c", nil, nil, []fhir.Condition{condition("Condition/pn", snomed("42345000"), "active")},
			map[string][]string{"hba1c": {"Condition/pn"}}},
		{"a resolved neuropathy does not", nil, nil, []fhir.Condition{condition("Condition/pn", snomed("42345000"), "resolved")}, map[string][]string{}},
		{"an old HbA1c of 5.7 % (prediabetes): HbA1c", nil, []fhir.Observation{oldA1c(5.7)}, nil, map[string][]string{"hba1c": {"Observation/a1c-2018"}}},
		{"an old HbA1c of 5.6 % does not", nil, []fhir.Observation{oldA1c(5.6)}, nil, map[string][]string{}},
		{"hypothyroidism resolved years ago still points to TSH", nil, nil, []fhir.Condition{condition("Condition/hypo", snomed("40930008"), "resolved")},
			map[string][]string{"thyroid": {"Condition/hypo"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := b.Evaluate(adult("female", tt.meds, tt.obs, tt.conds...), asOf, knowledge.Options{})
			var missing []string
			got := map[string][]string{}
			for _, m := range f.MissingLabs {
				missing = append(missing, m.Workup.ID)
				if m.Recommended != (len(m.RecommendedBy) > 0) {
					t.Errorf("%s: Recommended %v with %d reasons", m.Workup.ID, m.Recommended, len(m.RecommendedBy))
				}
				for _, e := range m.RecommendedBy {
					got[m.Workup.ID] = append(got[m.Workup.ID], e.Ref)
				}
			}
			// Every analyte the product promises stays on the card, recommended or not.
			if diff := cmp.Diff(all, missing); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("recommended (-want +got):\n%s", diff)
			}
		})
	}
	// Both sides of the seeds' disagreement are in the data for the card to cite.
	for id, want := range map[string]knowledge.Citation{
		"check-metabolic-labs":    {Seed: "000_c5ba4de4b750ce3b.txt", Line: 39},
		"labs-when-suspected":     {Seed: "001_ef64482ccbaa6c09.txt", Line: 78},
		"diagnosis-from-symptoms": {Seed: "004_f1220bcc4d7b13ce.txt", Line: 28},
	} {
		p := b.Pearl(id)
		if p == nil || !slices.ContainsFunc(p.Evidence, func(c knowledge.Citation) bool { return c.Seed == want.Seed && c.Line == want.Line }) {
			t.Errorf("pearl %s = %+v, want one citing %s line %d", id, p, want.Seed, want.Line)
		}
	}
}
