package knowledge_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// readSyntheaRecord reads one fixture bundle (by name prefix) and adds a
// present leg-cramp Condition, as a clinician would have recorded it: an
// active problem-list entry.
func readSyntheaRecord(t *testing.T, prefix string) *fhir.Record {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "synthea", prefix+"_*.json"))
	if err != nil || len(paths) != 1 {
		t.Fatalf("finding the %s bundle: %v (%d files)", prefix, err, len(paths))
	}
	f, err := os.Open(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec, err := fhir.ReadBundle(f, 16<<20)
	if err != nil {
		t.Fatalf("reading %s: %v", paths[0], err)
	}
	rec.Conditions = append(rec.Conditions, fhir.Condition{
		Ref: "Condition/added-leg-cramps", ClinicalStatus: "active", VerificationStatus: "confirmed",
		Categories: []string{"problem-list-item"},
		Code:       fhir.Concept{Codings: []fhir.Coding{snomed("102549009")}, Text: "Nocturnal leg cramps"},
		Onset:      time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC),
	})
	return rec
}

// TestSyntheaPatients evaluates each fixture patient the day after their last
// encounter. The expectations were read from the bundles (active
// MedicationRequests, the latest result of each work-up LOINC code, active
// conditions) and the knowledge data, not from the program's output.
func TestSyntheaPatients(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	tests := []struct {
		patient    string
		asOf       time.Time
		meds       []string // ingredient ids flagged
		missing    []string // work-up ids
		recommend  []string // missing work-ups the record points to (a current diuretic: electrolytes, renal)
		abnormal   map[string]string
		associated []string
		stopped    string // a stopped drug in the record that must not be flagged
	}{
		{
			// Last encounter 2020-12-04; no labs; only a stopped ibuprofen (2017).
			patient: "Abdul_Koepp", asOf: date(2020, 12, 5),
			missing:  []string{"potassium", "magnesium", "calcium", "thyroid", "hba1c", "renal-function"},
			abnormal: map[string]string{}, stopped: "Ibuprofen",
		},
		{
			// Last encounter 2021-03-31. Active: HCTZ 316049, amlodipine 197361, simvastatin 312961
			// (diazepam, clopidogrel, nitroglycerin, donepezil/memantine are not cramp drugs).
			// Labs 2021-03-31: K 6298-4 4.99 mmol/L, Ca 49765-1 9.55 mg/dL, HbA1c 6.21 % (< 6.5),
			// creatinine 38483-4 0.83 mg/dL, eGFR 33914-3 143: no Mg, no TSH.
			// Coronary Heart Disease 53741008 is cardiovascular disease in conditions.yaml.
			patient: "Adalberto_Hartmann", asOf: date(2021, 4, 1),
			meds:       []string{"hydrochlorothiazide", "amlodipine", "simvastatin"},
			missing:    []string{"magnesium", "thyroid"},
			recommend:  []string{"magnesium"}, // on HCTZ; no thyroid history
			abnormal:   map[string]string{},
			associated: []string{"cardiovascular-disease"},
		},
		{
			// Last encounter 2020-12-20. Fluticasone/salmeterol 896209 active; ibuprofen stopped (2018); no labs.
			patient: "Adolfo_Marquardt", asOf: date(2020, 12, 21),
			meds:     []string{"salmeterol"},
			missing:  []string{"potassium", "magnesium", "calcium", "thyroid", "hba1c", "renal-function"},
			abnormal: map[string]string{}, stopped: "Ibuprofen",
		},
		{
			// Last encounter 2020-10-02. Naproxen sodium 849574 active. Labs 2020-10-02: K 4.44,
			// Ca 8.528 mg/dL (not below 8.5), HbA1c 5.92 %, creatinine 0.93 mg/dL (renal function without eGFR).
			patient: "Alexia_Senger", asOf: date(2020, 10, 3),
			meds:     []string{"naproxen"},
			missing:  []string{"magnesium", "thyroid"},
			abnormal: map[string]string{},
		},
		{
			// Last encounter 2000-09-30. HCTZ 316049 and verapamil 897718 active. Labs 2000-07-29:
			// K 5.0, Ca 8.67, HbA1c 5.64, creatinine 1.12 (not above 1.2), eGFR 65 (not below 60).
			// Diabetes 44054006 and neuropathy due to T2DM 368581000119106, each listed once.
			// She died 2000-09-17T05:46:40Z (deceasedDateTime): asOf is that midnight, before it.
			patient: "Almeda_Conn", asOf: date(2000, 9, 17),
			meds:       []string{"hydrochlorothiazide", "verapamil"},
			missing:    []string{"magnesium", "thyroid"},
			recommend:  []string{"magnesium"},
			abnormal:   map[string]string{},
			associated: []string{"diabetes", "diabetic-neuropathy"},
		},
		{
			// Last encounter 2010-01-15. Active: HCTZ 316049, "Lasix 40mg" 315971 and furosemide
			// injection 1719286, verapamil 897718; ibuprofen stopped (2001). Labs 2010-01-15: K, Ca,
			// creatinine 0.59 and eGFR 26 "mL/min" of one draw: one reduced-eGFR finding (the creatinine
			// defers to it), not CKD: the previous eGFR (2009-03-28) was 154. HbA1c 2009-03-28 (in window).
			// Chronic congestive heart failure 88805009 and alcoholism 7200002.
			patient: "Barrett_Douglas", asOf: date(2010, 1, 16),
			meds:       []string{"hydrochlorothiazide", "furosemide", "verapamil"},
			missing:    []string{"magnesium", "thyroid"},
			recommend:  []string{"magnesium"},
			abnormal:   map[string]string{"egfr": "reduced eGFR"},
			associated: []string{"heart-failure", "alcohol-use-disorder"},
			stopped:    "Ibuprofen",
		},
	}
	for _, tt := range tests {
		t.Run(tt.patient, func(t *testing.T) {
			t.Parallel()
			rec := readSyntheaRecord(t, tt.patient)
			f := b.Evaluate(rec, tt.asOf, knowledge.Options{})
			if !f.Triggered {
				t.Fatal("the added leg-cramp condition did not trigger the rules")
			}
			var meds []string
			for _, m := range f.Medications {
				meds = append(meds, m.Key())
			}
			if diff := cmp.Diff(tt.meds, meds); diff != "" {
				t.Errorf("medications (-want +got):\n%s", diff)
			}
			got := labStateOf(f)
			if diff := cmp.Diff(labState{Missing: tt.missing, Abnormal: tt.abnormal}, got); diff != "" {
				t.Errorf("labs (-want +got):\n%s", diff)
			}
			var recommend []string
			for _, m := range f.MissingLabs {
				if m.Recommended {
					recommend = append(recommend, m.Workup.ID)
				}
			}
			if diff := cmp.Diff(tt.recommend, recommend); diff != "" {
				t.Errorf("recommended work-ups (-want +got):\n%s", diff)
			}
			for _, a := range f.AbnormalLabs {
				if a.Lab.ID == "egfr" && (len(a.Related) != 1 || a.Related[0].Observation.Code.Codings[0].Code != "38483-4" || a.Chronic != nil) {
					t.Errorf("eGFR finding: related %+v, chronic %+v; want the creatinine of the draw, not CKD", a.Related, a.Chronic)
				}
			}
			var assoc []string
			for _, c := range f.Associated {
				assoc = append(assoc, c.Condition.ID)
			}
			if diff := cmp.Diff(tt.associated, assoc); diff != "" {
				t.Errorf("associated conditions (-want +got):\n%s", diff)
			}
			if tt.stopped != "" {
				// The stopped drug is in the record and is a drug the base knows: only its status keeps it out.
				i := slices.IndexFunc(rec.Medications, func(m fhir.Medication) bool {
					return strings.HasPrefix(m.Drug.Text, tt.stopped) && m.Status == "stopped"
				})
				if i < 0 {
					t.Fatalf("no stopped %s in the record", tt.stopped)
				}
				if len(b.MatchMedication(rec.Medications[i].Drug)) == 0 {
					t.Fatalf("the knowledge base does not recognise %s", tt.stopped)
				}
				for _, m := range f.Medications {
					for _, e := range m.Entries {
						if e.Ref == rec.Medications[i].Ref {
							t.Errorf("stopped %s is flagged", tt.stopped)
						}
					}
				}
			}
		})
	}
}

func TestSyntheaPatientWithoutLegCrampsGetsNothing(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	rec := readSyntheaRecord(t, "Adalberto_Hartmann")
	rec.Conditions = rec.Conditions[:len(rec.Conditions)-1] // without the added leg cramps
	if f := b.Evaluate(rec, date(2021, 4, 1), knowledge.Options{}); f.Triggered || !empty(f) {
		t.Errorf("findings without leg cramps: triggered %v, %d medications", f.Triggered, len(f.Medications))
	}
	if f := b.Evaluate(rec, date(2021, 4, 1), knowledge.Options{Screening: true}); len(f.Medications) != 3 {
		t.Errorf("screening found %d medications, want 3", len(f.Medications))
	}
}

func TestSyntheaPatientsAfterDeathGetNothing(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	// Each bundle's Patient.deceasedDateTime: Barrett Douglas 2010-01-17T19:20:06Z,
	// Almeda Conn 2000-09-17T05:46:40Z.
	for patient, died := range map[string]time.Time{
		"Barrett_Douglas": time.Date(2010, 1, 17, 19, 20, 6, 0, time.UTC),
		"Almeda_Conn":     time.Date(2000, 9, 17, 5, 46, 40, 0, time.UTC),
	} {
		rec := readSyntheaRecord(t, patient)
		for _, tt := range []struct {
			asOf time.Time
			want bool
		}{{died.Add(-time.Second), false}, {died, true}, {died.AddDate(0, 0, 3), true}} {
			f := b.Evaluate(rec, tt.asOf, knowledge.Options{Screening: true})
			if f.Deceased != tt.want || f.Triggered == tt.want {
				t.Errorf("%s as of %v: Deceased %v, Triggered %v; want Deceased %v", patient, tt.asOf, f.Deceased, f.Triggered, tt.want)
			}
		}
	}
}
