package knowledge_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// The tests of this file pin the fixes of the physician review of the
// patient-view outputs (review-clin). Each expectation comes from the seeds or
// the rule knowledge/README.md states, never from the program's output.

func associatedIDs(f knowledge.Findings) []string {
	var out []string
	for _, c := range f.Associated {
		out = append(out, c.Condition.ID)
	}
	return out
}

func TestDeceasedPatientsGetNothing(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	hctz := []fhir.Medication{activeMed("MedicationRequest/hctz", rxnorm("316049"))}
	tests := []struct {
		name    string
		patient fhir.Patient
		silent  bool
	}{
		{"alive", fhir.Patient{Ref: "Patient/p1"}, false},
		{"deceasedBoolean true", fhir.Patient{Ref: "Patient/p1", Deceased: true}, true},
		{"died three days before asOf (Synthea Barrett)", fhir.Patient{Ref: "Patient/p1", Deceased: true, DeceasedAt: asOf.AddDate(0, 0, -3)}, true},
		{"died exactly at asOf", fhir.Patient{Ref: "Patient/p1", Deceased: true, DeceasedAt: asOf}, true},
		{"death recorded a day after asOf: alive as of then", fhir.Patient{Ref: "Patient/p1", Deceased: true, DeceasedAt: asOf.AddDate(0, 0, 1)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := withCramps(hctz, nil)
			p := tt.patient
			rec.Patient = &p
			for _, screening := range []bool{false, true} {
				f := b.Evaluate(rec, asOf, knowledge.Options{Screening: screening})
				if got := f.Deceased; got != tt.silent {
					t.Errorf("screening %v: Deceased = %v, want %v", screening, got, tt.silent)
				}
				if got := f.Triggered && len(f.Medications) > 0; got == tt.silent {
					t.Errorf("screening %v: spoke = %v (triggered %v, %d drugs), want %v", screening, got, f.Triggered, len(f.Medications), !tt.silent)
				}
			}
			// The order hooks ask TriggerEntries; no trigger means no order card.
			if got := len(b.TriggerEntries(rec, asOf)) > 0; got == tt.silent {
				t.Errorf("TriggerEntries non-empty = %v, want %v", got, !tt.silent)
			}
		})
	}
}

func TestTransientConditionsNeedRecencyOrTheProblemList(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	twoYears := asOf.AddDate(0, -24, 0)
	dated := func(ref string, c fhir.Coding, status string, recorded, onset time.Time, cats ...string) fhir.Condition {
		cd := condition(ref, c, status)
		cd.Recorded, cd.Onset, cd.Categories = recorded, onset, cats
		return cd
	}
	hypoK, dehydration := snomed("43339004"), snomed("34095006")
	tests := []struct {
		name string
		c    fhir.Condition
		want []string
	}{
		{"hypokalemia onset 2012, active, encounter diagnosis", dated("Condition/k", hypoK, "active", time.Time{}, date(2012, 5, 1), "encounter-diagnosis"), nil},
		{"dehydration 2016 encounter diagnosis, no status", dated("Condition/d", dehydration, "", date(2016, 3, 1), time.Time{}, "encounter-diagnosis"), nil},
		{"dehydration recorded exactly 24 months ago", dated("Condition/d", dehydration, "", twoYears, time.Time{}, "encounter-diagnosis"), []string{"dehydration"}},
		{"dehydration recorded 24 months and a day ago", dated("Condition/d", dehydration, "", twoYears.AddDate(0, 0, -1), time.Time{}, "encounter-diagnosis"), nil},
		{"hypokalemia onset last month, no category", dated("Condition/k", hypoK, "active", time.Time{}, asOf.AddDate(0, -1, 0)), []string{"hypokalemia"}},
		{"hypokalemia from 2012 on the active problem list", dated("Condition/k", hypoK, "active", time.Time{}, date(2012, 5, 1), "problem-list-item"), []string{"hypokalemia"}},
		{"hypokalemia from 2012 on the problem list without status", dated("Condition/k", hypoK, "", time.Time{}, date(2012, 5, 1), "problem-list-item"), nil},
		{"undated hypokalemia encounter diagnosis", dated("Condition/k", hypoK, "active", time.Time{}, time.Time{}, "encounter-diagnosis"), nil},
		// A chronic condition keeps counting whatever its age.
		{"cirrhosis from 2012", dated("Condition/c", snomed("19943007"), "active", time.Time{}, date(2012, 5, 1), "encounter-diagnosis"), []string{"cirrhosis"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := b.Evaluate(adult("female", nil, nil, tt.c), asOf, knowledge.Options{})
			if diff := cmp.Diff(tt.want, associatedIDs(f)); diff != "" {
				t.Errorf("associated (-want +got):\n%s", diff)
			}
		})
	}
}

func TestElectrolyteDiagnosisIsNotListedWhenTheLatestResultIsNormal(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	recent := asOf.AddDate(0, -1, 0)
	hypoK := condition("Condition/k", snomed("43339004"), "active")
	hypoK.Recorded = recent
	hypoMg := condition("Condition/mg", snomed("190855004"), "active")
	hypoMg.Recorded = recent
	k := func(v float64, when time.Time) fhir.Observation {
		return loincObs("Observation/k", "2823-3", v, "mmol/L", when)
	}
	noValue := k(0, lab)
	noValue.Value = nil
	tests := []struct {
		name string
		c    fhir.Condition
		obs  []fhir.Observation
		want []string
	}{
		{"no potassium result", hypoK, nil, []string{"hypokalemia"}},
		{"latest potassium 3.5 (normal, at the threshold)", hypoK, []fhir.Observation{k(3.5, lab)}, nil},
		{"latest potassium 3.4 (low)", hypoK, []fhir.Observation{k(3.4, lab)}, []string{"hypokalemia"}},
		{"low earlier, normal latest", hypoK, []fhir.Observation{k(3.1, recent), k(4.0, lab)}, nil},
		{"normal earlier, low latest", hypoK, []fhir.Observation{k(4.0, recent), k(3.1, lab)}, []string{"hypokalemia"}},
		{"normal but outside the 12-month window", hypoK, []fhir.Observation{k(4.0, asOf.AddDate(0, -13, 0))}, []string{"hypokalemia"}},
		{"latest without a value says nothing", hypoK, []fhir.Observation{noValue}, []string{"hypokalemia"}},
		{"a normal potassium says nothing about magnesium", hypoMg, []fhir.Observation{k(4.0, lab)}, []string{"hypomagnesemia"}},
		{"a normal magnesium drops hypomagnesemia", hypoMg, []fhir.Observation{loincObs("Observation/mg", "19123-9", 2.0, "mg/dL", lab)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := b.Evaluate(adult("female", nil, tt.obs, tt.c), asOf, knowledge.Options{})
			if diff := cmp.Diff(tt.want, associatedIDs(f)); diff != "" {
				t.Errorf("associated (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPendingResultIsNotMissing(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	yesterday := asOf.AddDate(0, 0, -1)
	mg := func(status string, when time.Time) fhir.Observation {
		o := loincObs("Observation/mg", "19123-9", 1.9, "mg/dL", when)
		o.Status = status
		return o
	}
	tests := []struct {
		name        string
		obs         []fhir.Observation
		wantMissing bool
		wantPending string // the pending result's reference, "" when none is reported
	}{
		{"no magnesium", nil, true, ""},
		{"preliminary yesterday", []fhir.Observation{mg("preliminary", yesterday)}, false, "Observation/mg"},
		{"registered yesterday", []fhir.Observation{mg("registered", yesterday)}, false, "Observation/mg"},
		{"partial yesterday", []fhir.Observation{mg("partial", yesterday)}, false, "Observation/mg"},
		{"final yesterday", []fhir.Observation{mg("final", yesterday)}, false, ""},
		{"preliminary 13 months ago is outside the window", []fhir.Observation{mg("preliminary", asOf.AddDate(0, -13, 0))}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := b.Evaluate(adult("female", nil, append(allButMagnesium(), tt.obs...)), asOf, knowledge.Options{})
			missing := slices.ContainsFunc(f.MissingLabs, func(m knowledge.MissingLabFinding) bool { return m.Workup.ID == "magnesium" })
			if missing != tt.wantMissing {
				t.Errorf("magnesium missing = %v, want %v", missing, tt.wantMissing)
			}
			var pending string
			for _, p := range f.PendingLabs {
				if p.Workup.ID == "magnesium" {
					pending = p.Result.Ref
					if !p.Result.Observation.Effective.Equal(yesterday) {
						t.Errorf("pending date = %v, want %v", p.Result.Observation.Effective, yesterday)
					}
				}
			}
			if pending != tt.wantPending {
				t.Errorf("pending = %q, want %q", pending, tt.wantPending)
			}
		})
	}
	// A pending value is never judged, not even a critical one.
	low := mg("preliminary", yesterday)
	low.Value.Value = 0.5
	if a := finding(t, b.Evaluate(adult("female", nil, []fhir.Observation{low}), asOf, knowledge.Options{}), "magnesium"); a != nil {
		t.Errorf("a preliminary magnesium 0.5 was judged: %s", a.Finding)
	}
	final := low
	final.Status = "final"
	if a := finding(t, b.Evaluate(adult("female", nil, []fhir.Observation{final}), asOf, knowledge.Options{}), "magnesium"); a == nil {
		t.Error("a final magnesium 0.5 was not judged")
	}
}

func TestVaginalEstrogenIsNotSystemicHormoneTherapy(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	tests := []struct {
		text string
		want bool
	}{
		{"Premarin 0.625 MG Oral Tablet", true},
		{"Estrogens, Conjugated (USP) 0.625 MG Oral Tablet", true},
		{"Premarin vaginal cream 0.625 MG/GM", false},
		{"Estrogens, Conjugated (USP) 0.625 MG/GM Vaginal Cream", false},
		{"conjugated estrogens topical", false},
	}
	for _, tt := range tests {
		got := slices.ContainsFunc(b.MatchMedication(fhir.Concept{Text: tt.text}), func(m knowledge.MedicationMatch) bool {
			return m.Class.ID == "conjugated-estrogens"
		})
		if got != tt.want {
			t.Errorf("%q is conjugated estrogens: %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestOneConditionEntryIsListedUnderItsMostSpecificItem(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	dn := condition("Condition/dn", snomed("368581000119106"), "active") // Neuropathy due to type 2 diabetes mellitus
	dnICD := condition("Condition/dn-icd", icd("E11.40"), "active")
	dm := condition("Condition/dm", snomed("44054006"), "active") // Diabetes mellitus type 2
	entries := func(f knowledge.Findings) map[string][]string {
		out := map[string][]string{}
		for _, c := range f.Associated {
			for _, e := range c.Entries {
				out[c.Condition.ID] = append(out[c.Condition.ID], e.Ref)
			}
		}
		return out
	}
	tests := []struct {
		name  string
		conds []fhir.Condition
		want  map[string][]string
	}{
		{"diabetic neuropathy alone", []fhir.Condition{dn}, map[string][]string{"diabetic-neuropathy": {"Condition/dn"}}},
		{"E11.40 alone (prefixes E11 and E11.4)", []fhir.Condition{dnICD}, map[string][]string{"diabetic-neuropathy": {"Condition/dn-icd"}}},
		{"diabetes alone", []fhir.Condition{dm}, map[string][]string{"diabetes": {"Condition/dm"}}},
		{"both, each under its own item", []fhir.Condition{dm, dn}, map[string][]string{"diabetes": {"Condition/dm"}, "diabetic-neuropathy": {"Condition/dn"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := b.Evaluate(adult("female", nil, nil, tt.conds...), asOf, knowledge.Options{})
			if diff := cmp.Diff(tt.want, entries(f)); diff != "" {
				t.Errorf("associated entries (-want +got):\n%s", diff)
			}
			// The HbA1c rule still knows the patient has diabetes.
			a1c := loincObs("Observation/a1c", "4548-4", 7.5, "%", lab)
			if a := finding(t, b.Evaluate(adult("female", nil, []fhir.Observation{a1c}, tt.conds...), asOf, knowledge.Options{}), "hba1c"); a != nil {
				t.Errorf("HbA1c 7.5 re-flagged for known diabetes: %s", a.Finding)
			}
		})
	}
}

func TestUnverifiedCodeMarksTheEntryItMatched(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	// Amiloride's RxNorm IN 644 is marked unverified in medications.yaml; the
	// hydrochlorothiazide SCD 316049 is verified.
	amiloride := activeMed("MedicationRequest/amiloride", rxnorm("644"))
	amilorideATC := activeMed("MedicationRequest/amiloride-atc", fhir.Concept{Codings: []fhir.Coding{{System: fhir.SystemATC, Code: "C03DB01"}}})
	amilorideText := activeMed("MedicationRequest/amiloride-text", fhir.Concept{Text: "amiloride 5 mg tablet"})
	hctz := activeMed("MedicationRequest/hctz", rxnorm("316049"))
	f := b.Evaluate(adult("female", []fhir.Medication{amiloride, amilorideATC, amilorideText, hctz}, nil), asOf, knowledge.Options{})
	got := map[string]bool{}
	for _, m := range f.Medications {
		for _, e := range m.Entries {
			got[e.Ref] = e.UnconfirmedCode()
		}
	}
	want := map[string]bool{
		"MedicationRequest/amiloride":      true,  // matched through its unverified code
		"MedicationRequest/amiloride-atc":  false, // a verified ATC code
		"MedicationRequest/amiloride-text": false, // a name, not a code: low confidence, but no code to doubt
		"MedicationRequest/hctz":           false,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UnconfirmedCode per entry (-want +got):\n%s", diff)
	}
}

func TestElectrolyteStatementsCiteThatCorrectionMayNotResolveCramps(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	line23 := func(cs []knowledge.Citation) bool {
		return slices.ContainsFunc(cs, func(c knowledge.Citation) bool {
			return c.Seed == "000_c5ba4de4b750ce3b.txt" && c.Ref == "3" && c.Line == 23
		})
	}
	for _, wu := range b.Workups() {
		if (wu.ID == "potassium" || wu.ID == "magnesium") && !line23(wu.Evidence) {
			t.Errorf("work-up %s does not cite seed 000 line 23", wu.ID)
		}
	}
	for _, id := range []string{"hypokalemia", "hypomagnesemia"} {
		c := b.Condition(id)
		if c == nil || !line23(c.Evidence) {
			t.Errorf("condition %s does not cite seed 000 line 23", id)
		}
	}
}
