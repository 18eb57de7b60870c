package knowledge_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// Acceptance tests of issue 14: every code its "Why" lists is recognised where it should be and not where
// it should not, through the shipped value sets.

func TestIssue14Conditions(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	tests := []struct {
		name string
		c    fhir.Coding
		want []string
	}{
		{"chronic systolic heart failure", snomed("441481004"), []string{"heart-failure"}},
		{"Hashimoto thyroiditis", snomed("21983002"), []string{"hypothyroidism"}},
		{"peripheral nerve disease", snomed("302226006"), []string{"peripheral-neuropathy"}},
		{"chronic renal failure", snomed("90688005"), []string{"chronic-kidney-disease"}},
		{"diabetic kidney disease", snomed("127013003"), []string{"chronic-kidney-disease"}},
		{"heart failure ICD-10-CM", icd("I50.42"), []string{"heart-failure"}},
		{"lung cancer is cancer", icd("C34.90"), []string{"cancer"}},
		{"basal cell carcinoma of skin is not the cancer the seeds mean", icd("C44.91"), nil},
		{"squamous cell carcinoma of skin of the face is not either", icd("C44.320"), nil},
		{"alcohol dependence, uncomplicated", icd("F10.20"), []string{"alcohol-use-disorder"}},
		{"alcohol dependence in remission is not active", icd("F10.21"), nil},
		{"alcohol abuse in remission is not active", icd("F10.11"), nil},
		{"a pregnancy complication is pregnancy", icd("O26.891"), []string{"pregnancy"}},
		{"the puerperium is not pregnancy", icd("O90.89"), nil},
		{"intermittent claudication is the differential, not PAD", snomed("63491006"), []string{"claudication"}},
		{"coronary atherosclerosis is not peripheral arterial disease", icd("I25.10"), nil},
		{"Parkinson FY2024 code", icd("G20.A1"), []string{"parkinson-disease"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ids(b.AppendConditions(nil, tt.c))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("AppendConditions(%v) (-want +got):\n%s", tt.c, diff)
			}
		})
	}
}

func TestIssue14Medications(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	coded := func(system, code, display string) fhir.Concept {
		return fhir.Concept{Codings: []fhir.Coding{{System: system, Code: code, Display: display}}}
	}
	tests := []struct {
		name string
		drug fhir.Concept
		ings []fhir.Concept
		want []string
	}{
		{"Entresto by ATC C09DX04 is not a thiazide", atc("C09DX04"), nil, nil},
		{"valsartan and aliskiren C09DX02 is not a thiazide", atc("C09DX02"), nil, nil},
		{"Entresto by RxNorm product and name", coded(fhir.SystemRxNorm, "1656349", "sacubitril 49 MG / valsartan 51 MG Oral Tablet [Entresto]"), nil, nil},
		{"Entresto by text", text("Entresto 24-26 mg tablet"), nil, nil},
		{"C09DX01 holds hydrochlorothiazide (and amlodipine)", atc("C09DX01"), nil, []string{"hydrochlorothiazide/atc", "amlodipine/atc"}},
		{"Injectafer by text is not iron sucrose", text("Injectafer (ferric carboxymaltose) 750 mg IV"), nil, nil},
		{"Injectafer by the parenteral-iron class is not iron sucrose", atc("B03AC"), nil, nil},
		{"Venofer is iron sucrose", text("Venofer 200 mg IV"), nil, []string{"iron-sucrose/text~"}},
		{"topical diclofenac gel", text("diclofenac sodium 1 % Topical Gel"), nil, nil},
		{"Voltaren gel coded as the diclofenac ingredient", text("Voltaren Arthritis Pain Gel"), []fhir.Concept{rx("3355", "diclofenac")}, nil},
		{"diclofenac patch", coded(fhir.SystemRxNorm, "3355", "diclofenac epolamine 1.3 % Transdermal Patch"), nil, nil},
		{"oral diclofenac is an NSAID", coded(fhir.SystemRxNorm, "3355", "diclofenac sodium 75 MG Delayed Release Oral Tablet"), nil, []string{"diclofenac/rxnorm"}},
		{"Hyzaar text", text("Hyzaar 50-12.5 mg tablet"), nil, []string{"hydrochlorothiazide/text~"}},
		{"Zestoretic text", text("ZESTORETIC 20-12.5 MG tablet"), nil, []string{"hydrochlorothiazide/text~"}},
		{"Ziac text", text("Ziac 5-6.25 mg"), nil, []string{"hydrochlorothiazide/text~"}},
		{"Tenoretic text", text("Tenoretic 50"), nil, []string{"chlorthalidone/text~"}},
		{"Bevespi text", text("Bevespi Aerosphere 9/4.8 mcg inhaler"), nil, []string{"formoterol/text~"}},
		{"combination product without display (losartan/HCTZ)", rx("979471", ""), nil, []string{"hydrochlorothiazide/rxnorm"}},
		{"triple combination without display (amlodipine/HCTZ/valsartan)", rx("848131", ""), nil, []string{"hydrochlorothiazide/rxnorm", "amlodipine/rxnorm"}},
		{"nabumetone by name", text("nabumetone 500 MG Oral Tablet"), nil, []string{"nabumetone/text~"}},
		{"nabumetone by ATC", atc("M01AX01"), nil, []string{"nabumetone/atc"}},
		{"arformoterol by name", text("Brovana (arformoterol) 15 mcg/2 mL nebulised"), nil, []string{"arformoterol/text~"}},
		{"ethacrynic acid product without display", rx("1251903", ""), nil, []string{"ethacrynic-acid/rxnorm"}},
		{"ethacrynic acid by ATC", atc("C03CC01"), nil, []string{"ethacrynic-acid/atc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summary(b.MatchMedication(tt.drug, tt.ings...))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("MatchMedication(%+v) (-want +got):\n%s", tt.drug, diff)
			}
		})
	}
}

// TestIssue14WholePatient: per analyte, a record whose only result carries a code the hand-picked lists
// missed. The work-up is not reported missing, and the result is judged in its own unit.
func TestIssue14WholePatient(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	day := date(2021, 3, 15)
	normals := map[string]fhir.Observation{
		"potassium":      loincObs("Observation/k", "2823-3", 4.2, "mmol/L", day),
		"magnesium":      loincObs("Observation/mg", "19123-9", 2.0, "mg/dL", day),
		"calcium":        loincObs("Observation/ca", "17861-6", 9.4, "mg/dL", day),
		"thyroid":        loincObs("Observation/tsh", "3016-3", 2.1, "m[IU]/L", day),
		"hba1c":          loincObs("Observation/a1c", "4548-4", 5.4, "%", day),
		"renal-function": loincObs("Observation/cr", "2160-0", 0.9, "mg/dL", day),
	}
	tests := []struct {
		workup string
		obs    fhir.Observation
		lab    string // the analyte that should be abnormal, "" for none
		want   string // the threshold's finding
	}{
		{"magnesium", loincObs("Observation/x", "2601-3", 0.62, "mmol/L", day), "magnesium", "hypomagnesemia"},
		{"magnesium", loincObs("Observation/x", "2601-3", 0.85, "mmol/L", day), "", ""},
		{"calcium", loincObs("Observation/x", "2000-8", 1.9, "mmol/L", day), "calcium", "hypocalcemia"},
		{"calcium", loincObs("Observation/x", "1995-0", 1.0, "mmol/L", day), "ionized-calcium", "low ionized calcium"},
		{"calcium", loincObs("Observation/x", "1994-3", 1.2, "mmol/L", day), "", ""}, // normal ionized, not "low total"
		{"thyroid", loincObs("Observation/x", "11580-8", 7.5, "m[IU]/L", day), "tsh", "high TSH (hypothyroid range)"},
		{"thyroid", loincObs("Observation/x", "11579-0", 0.2, "u[IU]/mL", day), "tsh", "low TSH (hyperthyroid range)"},
		{"renal-function", loincObs("Observation/x", "98980-6", 45, "mL/min/{1.73_m2}", day), "egfr", "reduced eGFR"},
		{"renal-function", loincObs("Observation/x", "50210-4", 75, "mL/min/{1.73_m2}", day), "", ""},
		{"renal-function", loincObs("Observation/x", "59826-8", 150, "umol/L", day), "creatinine", "creatinine above the reference range"},
		{"potassium", loincObs("Observation/x", "77142-8", 3.1, "mmol/L", day), "potassium", "hypokalemia"},
		{"potassium", loincObs("Observation/x", "32713-0", 4.0, "mmol/L", day), "", ""},
		{"hba1c", loincObs("Observation/x", "17855-8", 7.2, "%", day), "hba1c", "HbA1c in the diabetes range"},
	}
	for _, tt := range tests {
		t.Run(tt.workup+" "+tt.obs.Code.Codings[0].Code, func(t *testing.T) {
			var obs []fhir.Observation
			for w, o := range normals {
				if w != tt.workup {
					obs = append(obs, o)
				}
			}
			obs = append(obs, tt.obs)
			got := labStateOf(b.Evaluate(withCramps(nil, obs), asOf, knowledge.Options{}))
			if len(got.Missing) != 0 {
				t.Errorf("missing work-ups %v, want none (the %s result counts)", got.Missing, tt.obs.Code.Codings[0].Code)
			}
			want := map[string]string{}
			if tt.lab != "" {
				want[tt.lab] = tt.want
			}
			if diff := cmp.Diff(want, got.Abnormal); diff != "" {
				t.Errorf("abnormal labs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestIssue14WholePatientMedications: Entresto, Injectafer and topical diclofenac give no cramp-medication
// finding; Hyzaar and Zestoretic by text give one finding, hydrochlorothiazide, holding both entries.
func TestIssue14WholePatientMedications(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	silent := []fhir.Medication{
		activeMed("MedicationRequest/entresto", fhir.Concept{Text: "Entresto 49-51 mg", Codings: []fhir.Coding{{System: fhir.SystemATC, Code: "C09DX04"}}}),
		activeMed("MedicationRequest/injectafer", fhir.Concept{Text: "Injectafer 750 mg/15 mL IV", Codings: []fhir.Coding{{System: fhir.SystemATC, Code: "B03AC"}}}),
		activeMed("MedicationRequest/voltaren", fhir.Concept{Text: "diclofenac sodium 1 % Topical Gel", Codings: []fhir.Coding{{System: fhir.SystemRxNorm, Code: "3355"}}}),
	}
	if f := b.Evaluate(withCramps(silent, nil), asOf, knowledge.Options{}); len(f.Medications) != 0 {
		t.Errorf("medication findings %v, want none for Entresto, Injectafer and topical diclofenac", medFindings(f.Medications))
	}
	hctz := []fhir.Medication{
		activeMed("MedicationRequest/hyzaar", text("Hyzaar 100-25 mg tablet")),
		activeMed("MedicationRequest/zestoretic", text("Zestoretic 20-12.5 mg tablet")),
	}
	f := b.Evaluate(withCramps(hctz, nil), asOf, knowledge.Options{})
	if len(f.Medications) != 1 || f.Medications[0].Ingredient == nil || f.Medications[0].Ingredient.ID != "hydrochlorothiazide" {
		t.Fatalf("medication findings %v, want one: hydrochlorothiazide", medFindings(f.Medications))
	}
	var refs []string
	for _, e := range f.Medications[0].Entries {
		refs = append(refs, e.Ref)
	}
	if want := []string{"MedicationRequest/hyzaar", "MedicationRequest/zestoretic"}; !slices.Equal(refs, want) {
		t.Errorf("hydrochlorothiazide entries %v, want %v", refs, want)
	}
}

// TestValueSetsShipped checks what a terminology team reviews: every value set the YAML names is served,
// records where it came from, and no analyte's codes overlap another's.
func TestValueSetsShipped(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	if got := len(b.ValueSets()); got < 40 {
		t.Errorf("%d value sets, want one per analyte, condition and drug class (40 or more)", got)
	}
	for _, l := range b.Labs() {
		vs := b.ValueSet(l.ValueSet)
		if vs == nil || len(l.Results) != vs.Expansion.Total {
			t.Errorf("lab %s: value set %q with %d results", l.ID, l.ValueSet, len(l.Results))
		}
	}
	hf := b.ValueSet("condition-heart-failure")
	if hf == nil || len(hf.Identifier) != 1 || hf.Identifier[0].Value != "urn:oid:2.16.840.1.113883.3.526.3.376" {
		t.Fatalf("condition-heart-failure identifier = %+v, want the VSAC OID", hf)
	}
	if len(hf.Sources) != 1 || hf.Sources[0].Repository != "cqframework/ecqm-content-qicore-2024" || len(hf.Sources[0].Commit) != 40 {
		t.Errorf("condition-heart-failure sources = %+v, want the ecqm repository at a commit", hf.Sources)
	}
	if !strings.Contains(string(hf.Raw), `"resourceType": "ValueSet"`) {
		t.Error("Raw is not the shipped FHIR JSON")
	}
}
