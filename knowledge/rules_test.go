package knowledge_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// asOf is the evaluation time of the rule tests.
var asOf = time.Date(2021, 4, 1, 0, 0, 0, 0, time.UTC)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func rxnorm(code string) fhir.Concept {
	return fhir.Concept{Codings: []fhir.Coding{{System: fhir.SystemRxNorm, Code: code}}}
}

// legCramps is a present leg-cramp condition (ICD-10-CM G47.62, a trigger code)
// on the problem list.
var legCramps = fhir.Condition{
	Ref: "Condition/cramps", ClinicalStatus: "active", Categories: []string{"problem-list-item"},
	Code: fhir.Concept{Codings: []fhir.Coding{icd("G47.62")}, Text: "Nocturnal leg cramps"},
}

func activeMed(ref string, drug fhir.Concept) fhir.Medication {
	return fhir.Medication{Ref: ref, Status: "active", Intent: "order", Drug: drug, Asserted: date(2020, 1, 1)}
}

func loincObs(ref, code string, value float64, unit string, when time.Time) fhir.Observation {
	return fhir.Observation{
		Ref: ref, Status: "final", Effective: when,
		Code:  fhir.Concept{Codings: []fhir.Coding{{System: fhir.SystemLOINC, Code: code}}},
		Value: &fhir.Quantity{Value: value, Unit: unit, System: fhir.SystemUCUM, Code: unit},
	}
}

// withCramps returns a record holding the leg-cramp condition and the given entries.
func withCramps(meds []fhir.Medication, obs []fhir.Observation, conds ...fhir.Condition) *fhir.Record {
	return &fhir.Record{
		Patient:      &fhir.Patient{Ref: "Patient/p1"},
		Medications:  meds,
		Observations: obs,
		Conditions:   append([]fhir.Condition{legCramps}, conds...),
	}
}

func TestEvaluateSpeaksOnlyWithATriggerUnlessScreening(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	hctz := []fhir.Medication{activeMed("MedicationRequest/1", rxnorm("316049"))}
	resolved := legCramps
	resolved.ClinicalStatus = "resolved"
	// An encounter diagnosis without clinical status, recorded last month.
	snomedCramps := fhir.Condition{Ref: "Condition/s", Code: fhir.Concept{Codings: []fhir.Coding{snomed("102549009")}}, Recorded: asOf.AddDate(0, -1, 0)}
	future := legCramps
	future.Onset = asOf.AddDate(0, 1, 0)
	tests := []struct {
		name       string
		conditions []fhir.Condition
		screening  bool
		want       bool
	}{
		{"no condition", nil, false, false},
		{"ICD-10-CM G47.62", []fhir.Condition{legCramps}, false, true},
		{"SNOMED 102549009 without clinical status, recorded last month", []fhir.Condition{snomedCramps}, false, true},
		{"resolved cramps", []fhir.Condition{resolved}, false, false},
		{"cramps starting after asOf", []fhir.Condition{future}, false, false},
		{"screening without a trigger", nil, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &fhir.Record{Medications: hctz, Conditions: tt.conditions}
			f := b.Evaluate(rec, asOf, knowledge.Options{Screening: tt.screening})
			if f.Triggered != tt.want {
				t.Errorf("Triggered = %v, want %v", f.Triggered, tt.want)
			}
			if got, want := len(f.Medications), map[bool]int{true: 1, false: 0}[tt.want]; got != want {
				t.Errorf("%d medication findings, want %d", got, want)
			}
			if !tt.want && !empty(f) {
				t.Errorf("untriggered findings are not empty: %+v", f)
			}
		})
	}
}

// medFindings summarises medication findings as "ingredient: entry refs".
func medFindings(fs []knowledge.MedicationFinding) map[string][]string {
	out := map[string][]string{}
	for _, f := range fs {
		for _, e := range f.Entries {
			out[f.Key()] = append(out[f.Key()], e.Ref)
		}
	}
	return out
}

func TestMedicationRules(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	with := func(m fhir.Medication, change func(*fhir.Medication)) fhir.Medication {
		change(&m)
		return m
	}
	hctz := activeMed("MedicationRequest/hctz", rxnorm("316049"))
	tests := []struct {
		name string
		meds []fhir.Medication
		want map[string][]string
	}{
		{"active HCTZ by RxNorm", []fhir.Medication{hctz}, map[string][]string{"hydrochlorothiazide": {"MedicationRequest/hctz"}}},
		{"stopped", []fhir.Medication{with(hctz, func(m *fhir.Medication) { m.Status = "stopped" })}, map[string][]string{}},
		{"completed", []fhir.Medication{with(hctz, func(m *fhir.Medication) { m.Status = "completed" })}, map[string][]string{}},
		{"on-hold", []fhir.Medication{with(hctz, func(m *fhir.Medication) { m.Status = "on-hold" })}, map[string][]string{}},
		{"a proposal is not a prescription", []fhir.Medication{with(hctz, func(m *fhir.Medication) { m.Intent = "proposal" })}, map[string][]string{}},
		{"authored after asOf", []fhir.Medication{with(hctz, func(m *fhir.Medication) { m.Asserted = asOf.AddDate(0, 0, 1) })}, map[string][]string{}},
		{"validity ended before asOf", []fhir.Medication{with(hctz, func(m *fhir.Medication) { m.Effective.End = asOf.AddDate(0, 0, -1) })}, map[string][]string{}},
		{"not a cramp drug (metformin 860975)", []fhir.Medication{activeMed("MedicationStatement/m", rxnorm("860975"))}, map[string][]string{}},
		{
			"combination product counts per ingredient (HCTZ/triamterene 310818)",
			[]fhir.Medication{activeMed("MedicationRequest/combo", rxnorm("310818"))},
			map[string][]string{"hydrochlorothiazide": {"MedicationRequest/combo"}, "triamterene": {"MedicationRequest/combo"}},
		},
		{
			"fluticasone/salmeterol 896209 flags salmeterol only",
			[]fhir.Medication{activeMed("MedicationRequest/inh", rxnorm("896209"))},
			map[string][]string{"salmeterol": {"MedicationRequest/inh"}},
		},
		{
			"two entries of one ingredient make one finding",
			[]fhir.Medication{activeMed("MedicationRequest/lasix", rxnorm("315971")), activeMed("MedicationRequest/inj", rxnorm("1719286"))},
			map[string][]string{"furosemide": {"MedicationRequest/lasix", "MedicationRequest/inj"}},
		},
		{
			"text only",
			[]fhir.Medication{activeMed("MedicationStatement/t", fhir.Concept{Text: "Hydrochlorothiazide 25 mg tablet"})},
			map[string][]string{"hydrochlorothiazide": {"MedicationStatement/t"}},
		},
		{
			"ingredient of a referenced Medication",
			[]fhir.Medication{{Ref: "MedicationRequest/ref", Status: "active", Intent: "order",
				Drug: fhir.Concept{Text: "Compounded capsule"}, Ingredients: []fhir.Concept{rxnorm("5487")}}},
			map[string][]string{"hydrochlorothiazide": {"MedicationRequest/ref"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := b.Evaluate(withCramps(tt.meds, nil), asOf, knowledge.Options{})
			if diff := cmp.Diff(tt.want, medFindings(f.Medications)); diff != "" {
				t.Errorf("medication findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMedicationFindingDetails(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	meds := []fhir.Medication{
		activeMed("MedicationStatement/t", fhir.Concept{Text: "HCTZ 25"}),
		activeMed("MedicationRequest/s", rxnorm("312961")), // simvastatin 20 MG Oral Tablet
	}
	f := b.Evaluate(withCramps(meds, nil), asOf, knowledge.Options{})
	if got, want := len(f.Medications), 2; got != want {
		t.Fatalf("%d findings, want %d", got, want)
	}
	// Data order: diuretics come before statins in medications.yaml.
	hctz, statin := f.Medications[0], f.Medications[1]
	if hctz.Key() != "hydrochlorothiazide" || statin.Key() != "simvastatin" {
		t.Fatalf("findings %q, %q; want hydrochlorothiazide, simvastatin", hctz.Key(), statin.Key())
	}
	if !hctz.LowConfidence() || hctz.Entries[0].Match.Kind != knowledge.MatchText {
		t.Errorf("text-only HCTZ: LowConfidence %v, kind %v; want true, text", hctz.LowConfidence(), hctz.Entries[0].Match.Kind)
	}
	if got, want := hctz.Entries[0].Text, "HCTZ 25"; got != want {
		t.Errorf("entry text %q, want the record's %q", got, want)
	}
	if statin.LowConfidence() {
		t.Error("simvastatin by RxNorm is low confidence")
	}
	if statin.Class.ID != "statin" || len(statin.Evidence()) == 0 {
		t.Errorf("simvastatin class %q with %d citations; want statin with evidence", statin.Class.ID, len(statin.Evidence()))
	}
}

// labState summarises lab findings: work-ups missing, and abnormal labs by the threshold crossed.
type labState struct {
	Missing  []string
	Abnormal map[string]string
}

func labStateOf(f knowledge.Findings) labState {
	s := labState{Abnormal: map[string]string{}}
	for _, m := range f.MissingLabs {
		s.Missing = append(s.Missing, m.Workup.ID)
	}
	for _, a := range f.AbnormalLabs {
		s.Abnormal[a.Lab.ID] = a.Threshold.Finding
	}
	return s
}

// allButMagnesium are in-window normal results for every work-up except magnesium.
func allButMagnesium() []fhir.Observation {
	day := date(2021, 3, 31)
	return []fhir.Observation{
		loincObs("Observation/k", "2823-3", 4.2, "mmol/L", day),
		loincObs("Observation/ca", "17861-6", 9.4, "mg/dL", day),
		loincObs("Observation/tsh", "3016-3", 2.1, "m[IU]/L", day),
		loincObs("Observation/a1c", "4548-4", 5.4, "%", day),
		loincObs("Observation/cr", "2160-0", 0.9, "mg/dL", day),
	}
}

func TestLabRules(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	mg := func(value float64, unit string, when time.Time) fhir.Observation {
		return loincObs("Observation/mg", "19123-9", value, unit, when)
	}
	recent := date(2021, 3, 1)
	withComparator := func(o fhir.Observation, c string) fhir.Observation {
		v := *o.Value
		v.Comparator = c
		o.Value = &v
		return o
	}
	noMissing := []string(nil)
	onlyMg := []string{"magnesium"}
	tests := []struct {
		name string
		obs  []fhir.Observation
		want labState
	}{
		{"magnesium 1.2 mg/dL is low", []fhir.Observation{mg(1.2, "mg/dL", recent)},
			labState{noMissing, map[string]string{"magnesium": "hypomagnesemia"}}},
		{"magnesium 0.85 mmol/L is not low (2.07 mg/dL)", []fhir.Observation{mg(0.85, "mmol/L", recent)},
			labState{noMissing, map[string]string{}}},
		{"magnesium 0.5 mmol/L is low (1.22 mg/dL)", []fhir.Observation{mg(0.5, "mmol/L", recent)},
			labState{noMissing, map[string]string{"magnesium": "hypomagnesemia"}}},
		{"magnesium 1.0 mEq/L is low (1.22 mg/dL)", []fhir.Observation{mg(1.0, "mEq/L", recent)},
			labState{noMissing, map[string]string{"magnesium": "hypomagnesemia"}}},
		{"an unknown unit is never abnormal but is a result", []fhir.Observation{mg(0.1, "mg%", recent)},
			labState{noMissing, map[string]string{}}},
		{"no unit at all", []fhir.Observation{mg(0.1, "", recent)},
			labState{noMissing, map[string]string{}}},
		{"a result without a value satisfies the work-up", []fhir.Observation{{Ref: "Observation/mg", Status: "final", Effective: recent,
			Code: fhir.Concept{Codings: []fhir.Coding{{System: fhir.SystemLOINC, Code: "19123-9"}}}}},
			labState{noMissing, map[string]string{}}},
		{"comparator <1.0 mg/dL is surely low", []fhir.Observation{withComparator(mg(1.0, "mg/dL", recent), "<")},
			labState{noMissing, map[string]string{"magnesium": "hypomagnesemia"}}},
		{"comparator <1.6 mg/dL is surely low", []fhir.Observation{withComparator(mg(1.6, "mg/dL", recent), "<")},
			labState{noMissing, map[string]string{"magnesium": "hypomagnesemia"}}},
		{"comparator <=1.6 mg/dL may be 1.6", []fhir.Observation{withComparator(mg(1.6, "mg/dL", recent), "<=")},
			labState{noMissing, map[string]string{}}},
		{"comparator <2.0 mg/dL may be normal", []fhir.Observation{withComparator(mg(2.0, "mg/dL", recent), "<")},
			labState{noMissing, map[string]string{}}},
		{"comparator >1.0 mg/dL may be normal", []fhir.Observation{withComparator(mg(1.0, "mg/dL", recent), ">")},
			labState{noMissing, map[string]string{}}},
		{"the latest result decides (low, then normal)", []fhir.Observation{mg(1.2, "mg/dL", date(2021, 1, 1)), mg(2.0, "mg/dL", recent)},
			labState{noMissing, map[string]string{}}},
		{"the latest result decides (normal, then low)", []fhir.Observation{mg(1.2, "mg/dL", recent), mg(2.0, "mg/dL", date(2021, 1, 1))},
			labState{noMissing, map[string]string{"magnesium": "hypomagnesemia"}}},
		{"exactly 12 months old counts", []fhir.Observation{mg(2.0, "mg/dL", date(2020, 4, 1))},
			labState{noMissing, map[string]string{}}},
		{"a second older than 12 months does not count", []fhir.Observation{mg(2.0, "mg/dL", date(2020, 4, 1).Add(-time.Second))},
			labState{onlyMg, map[string]string{}}},
		{"an old low result is neither current nor abnormal", []fhir.Observation{mg(1.0, "mg/dL", date(2019, 1, 1))},
			labState{onlyMg, map[string]string{}}},
		{"a result after asOf does not count", []fhir.Observation{mg(1.0, "mg/dL", asOf.AddDate(0, 0, 1))},
			labState{onlyMg, map[string]string{}}},
		{"a result a minute after asOf counts (clock skew)", []fhir.Observation{mg(2.0, "mg/dL", asOf.Add(time.Minute))},
			labState{noMissing, map[string]string{}}},
		{"a result without a date does not count", []fhir.Observation{mg(2.0, "mg/dL", time.Time{})},
			labState{onlyMg, map[string]string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := b.Evaluate(withCramps(nil, append(allButMagnesium(), tt.obs...)), asOf, knowledge.Options{})
			if diff := cmp.Diff(tt.want, labStateOf(f)); diff != "" {
				t.Errorf("lab findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAbnormalThresholdsPerAnalyte(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	day := date(2021, 3, 31)
	tests := []struct {
		code  string
		value float64
		unit  string
		want  string // threshold finding, "" for none
	}{
		{"2823-3", 3.4, "mmol/L", "hypokalemia"},
		{"6298-4", 3.5, "mmol/L", ""},
		{"6298-4", 3.4, "meq/L", "hypokalemia"},
		{"6298-4", 6.0, "mmol/L", "hyperkalemia"}, // 5.6-6.4 is a warning (issue 26 item 2; seed 002 line 6: imbalance)
		{"49765-1", 8.528, "mg/dL", ""},
		{"17861-6", 8.4, "mg/dL", "hypocalcemia"},
		{"17861-6", 2.0, "mmol/L", "hypocalcemia"}, // 8.02 mg/dL
		{"3016-3", 5.0, "m[IU]/L", "high TSH (hypothyroid range)"},
		{"3016-3", 0.1, "uIU/mL", "low TSH (hyperthyroid range)"},
		{"4548-4", 6.21, "%", ""},
		{"4548-4", 6.5, "%", "HbA1c in the diabetes range"},
		{"4548-4", 48, "mmol/mol", "HbA1c in the diabetes range"}, // 6.54 %
		{"33914-3", 26, "mL/min", "reduced eGFR"},
		{"38483-4", 1.1, "mg/dL", ""},
	}
	for _, tt := range tests {
		obs := []fhir.Observation{loincObs("Observation/x", tt.code, tt.value, tt.unit, day)}
		f := b.Evaluate(withCramps(nil, obs), asOf, knowledge.Options{})
		got := ""
		if len(f.AbnormalLabs) > 0 {
			got = f.AbnormalLabs[0].Threshold.Finding
		}
		if got != tt.want {
			t.Errorf("%s %g %s: abnormal %q, want %q", tt.code, tt.value, tt.unit, got, tt.want)
		}
	}
}

func TestAbnormalLabDefersToTheResultsOwnLaboratory(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	k := func(change func(*fhir.Observation)) []fhir.Observation {
		o := loincObs("Observation/k", "2823-3", 3.4, "mmol/L", date(2021, 3, 31))
		change(&o)
		return []fhir.Observation{o}
	}
	q := func(v float64, unit string) *fhir.Quantity { return &fhir.Quantity{Value: v, Unit: unit, Code: unit} }
	tests := []struct {
		name string
		obs  []fhir.Observation
		want bool
	}{
		{"no interpretation, no range", k(func(*fhir.Observation) {}), true},
		{"interpreted normal", k(func(o *fhir.Observation) {
			o.Interpretation = []fhir.Coding{{System: "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", Code: "N"}}
		}), false},
		{"interpreted low", k(func(o *fhir.Observation) {
			o.Interpretation = []fhir.Coding{{System: "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", Code: "L"}}
		}), true},
		{"inside its own range (low 3.3)", k(func(o *fhir.Observation) {
			o.ReferenceRange = []fhir.Range{{Low: q(3.3, "mmol/L"), High: q(5.1, "mmol/L")}}
		}), false},
		{"below its own range (low 3.5)", k(func(o *fhir.Observation) {
			o.ReferenceRange = []fhir.Range{{Low: q(3.5, "mmol/L"), High: q(5.1, "mmol/L")}}
		}), true},
		{"range bound without unit takes the value's", k(func(o *fhir.Observation) { o.ReferenceRange = []fhir.Range{{Low: &fhir.Quantity{Value: 3.3}}} }), false},
		{"unconvertible range tells nothing", k(func(o *fhir.Observation) { o.ReferenceRange = []fhir.Range{{Low: q(3.3, "furlongs")}} }), true},
		{"only a high bound: the low side is unknown", k(func(o *fhir.Observation) { o.ReferenceRange = []fhir.Range{{High: q(5.1, "mmol/L")}} }), true},
	}
	for _, tt := range tests {
		f := b.Evaluate(withCramps(nil, tt.obs), asOf, knowledge.Options{})
		if got := len(f.AbnormalLabs) == 1; got != tt.want {
			t.Errorf("%s: abnormal %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAbnormalLabFindingCarriesTheConversion(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	obs := []fhir.Observation{loincObs("Observation/mg", "19123-9", 0.5, "mmol/L", date(2021, 3, 31))}
	f := b.Evaluate(withCramps(nil, obs), asOf, knowledge.Options{})
	if len(f.AbnormalLabs) != 1 {
		t.Fatalf("%d abnormal findings, want 1", len(f.AbnormalLabs))
	}
	a := f.AbnormalLabs[0]
	// 1 mmol/L = 2.431 mg/dL (labs.yaml: magnesium 24.305 g/mol).
	if !a.Converted || a.Value < 1.2155-1e-9 || a.Value > 1.2155+1e-9 {
		t.Errorf("Converted %v, Value %g; want true, 1.2155", a.Converted, a.Value)
	}
	if a.Result.Ref != "Observation/mg" || len(a.Evidence()) == 0 {
		t.Errorf("finding names %q with %d citations; want Observation/mg with evidence", a.Result.Ref, len(a.Evidence()))
	}
}

func TestRenalFunctionIsSatisfiedByCreatinineOrEGFR(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	for _, code := range []string{"2160-0", "38483-4", "33914-3", "98979-8"} {
		obs := []fhir.Observation{loincObs("Observation/r", code, 1, "x", date(2021, 3, 1))}
		f := b.Evaluate(withCramps(nil, obs), asOf, knowledge.Options{})
		for _, m := range f.MissingLabs {
			if m.Workup.ID == "renal-function" {
				t.Errorf("LOINC %s does not satisfy renal-function", code)
			}
		}
	}
}

func TestMissingLabNamesTheLastResultBeforeTheWindow(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	obs := []fhir.Observation{
		loincObs("Observation/old", "19123-9", 2.0, "mg/dL", date(2018, 5, 1)),
		loincObs("Observation/older", "19123-9", 2.0, "mg/dL", date(2017, 5, 1)),
	}
	f := b.Evaluate(withCramps(nil, append(allButMagnesium(), obs...)), asOf, knowledge.Options{})
	if len(f.MissingLabs) != 1 || f.MissingLabs[0].Workup.ID != "magnesium" {
		t.Fatalf("missing %+v, want magnesium only", labStateOf(f).Missing)
	}
	m := f.MissingLabs[0]
	if m.Last == nil || m.Last.Ref != "Observation/old" {
		t.Errorf("Last = %+v, want Observation/old", m.Last)
	}
	if want := date(2020, 4, 1); !m.Since.Equal(want) {
		t.Errorf("Since = %v, want %v", m.Since, want)
	}
}

func TestConditionRules(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	cond := func(ref string, c fhir.Coding, change func(*fhir.Condition)) fhir.Condition {
		out := fhir.Condition{Ref: ref, ClinicalStatus: "active", Code: fhir.Concept{Codings: []fhir.Coding{c}}}
		change(&out)
		return out
	}
	same := func(*fhir.Condition) {}
	tests := []struct {
		name                     string
		cond                     fhir.Condition
		associated, differential []string
	}{
		{"heart failure", cond("Condition/hf", snomed("88805009"), same), []string{"heart-failure"}, nil},
		{"resolved heart failure", cond("Condition/hf", snomed("88805009"), func(c *fhir.Condition) { c.ClinicalStatus = "resolved" }), nil, nil},
		{"abated before asOf", cond("Condition/hf", snomed("88805009"), func(c *fhir.Condition) { c.Abatement = asOf.AddDate(0, -1, 0) }), nil, nil},
		{"onset after asOf", cond("Condition/hf", snomed("88805009"), func(c *fhir.Condition) { c.Onset = asOf.AddDate(0, 1, 0) }), nil, nil},
		{"restless legs", cond("Condition/rls", icd("G25.81"), same), nil, []string{"restless-legs-syndrome"}},
		{"periodic limb movements", cond("Condition/plm", snomed("418763003"), same), nil, []string{"periodic-limb-movements"}},
		{"claudication", cond("Condition/cl", snomed("63491006"), same), nil, []string{"claudication"}},
		{"myositis", cond("Condition/my", icd("M60.9"), same), nil, []string{"myositis"}},
		{"polyneuropathy is both", cond("Condition/pn", snomed("42345000"), same), []string{"peripheral-neuropathy"}, []string{"peripheral-neuropathy"}},
		// VSAC Diabetes holds the neuropathy-due-to-diabetes codes too; the entry is listed under
		// its most specific item only (diabetic neuropathy specialises diabetes).
		{"T2DM neuropathy", cond("Condition/dn", snomed("368581000119106"), same), []string{"diabetic-neuropathy"}, nil},
		{"hypertension is neither", cond("Condition/htn", snomed("38341003"), same), nil, nil},
	}
	ids := func(fs []knowledge.ConditionFinding) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Condition.ID)
			if len(f.Entries) == 0 {
				t.Errorf("finding %s names no record entry", f.Condition.ID)
			}
		}
		return out
	}
	for _, tt := range tests {
		f := b.Evaluate(withCramps(nil, nil, tt.cond), asOf, knowledge.Options{})
		if diff := cmp.Diff(tt.associated, ids(f.Associated)); diff != "" {
			t.Errorf("%s: associated (-want +got):\n%s", tt.name, diff)
		}
		if diff := cmp.Diff(tt.differential, ids(f.Differentials)); diff != "" {
			t.Errorf("%s: differentials (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestEvaluateNilRecord(t *testing.T) {
	t.Parallel()
	f := mustLoad(t).Evaluate(nil, asOf, knowledge.Options{Screening: true})
	if f.Triggered || !empty(f) {
		t.Errorf("Evaluate(nil) = %+v, want nothing", f)
	}
}

// empty reports whether the rules found nothing to say.
func empty(f knowledge.Findings) bool {
	return len(f.Medications) == 0 && len(f.AbnormalLabs) == 0 && len(f.MissingLabs) == 0 &&
		len(f.Associated) == 0 && len(f.Differentials) == 0
}
