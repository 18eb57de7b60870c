package fhir_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/fhir"
)

const maxBundle = 16 << 20

// rawCounts counts the entries of interest in a Bundle file by reading it as
// plain JSON, independently of the package under test.
func rawCounts(t *testing.T, data []byte) map[string]int {
	t.Helper()
	var b struct {
		Entry []struct {
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, e := range b.Entry {
		n[e.Resource["resourceType"].(string)]++
	}
	return n
}

func TestReadBundleSyntheaLosesNothing(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../testdata/synthea/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(files), 6; got != want {
		t.Fatalf("found %d Synthea bundles, want %d", got, want)
	}
	for _, f := range files {
		t.Run(filepath.Base(f)[:12], func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := fhir.ReadBundle(bytes.NewReader(data), maxBundle)
			if err != nil {
				t.Fatalf("ReadBundle: %v", err)
			}
			n := rawCounts(t, data)
			// Synthea records only final observations, and no statuses that drop an entry.
			if got, want := len(rec.Medications), n["MedicationRequest"]+n["MedicationStatement"]; got != want {
				t.Errorf("medications = %d, want %d", got, want)
			}
			if got, want := len(rec.Conditions), n["Condition"]; got != want {
				t.Errorf("conditions = %d, want %d", got, want)
			}
			if got, want := len(rec.Observations), n["Observation"]; got != want {
				t.Errorf("observations = %d, want %d", got, want)
			}
			if rec.Patient == nil || rec.Patient.BirthDate == "" || rec.Patient.Gender == "" {
				t.Errorf("patient = %+v, want birth date and gender", rec.Patient)
			}
			if len(rec.Skipped) != 0 {
				t.Errorf("skipped = %+v, want none", rec.Skipped)
			}
		})
	}
}

func readSynthea(t *testing.T, prefix string) *fhir.Record {
	t.Helper()
	files, _ := filepath.Glob("../testdata/synthea/" + prefix + "*.json")
	if len(files) != 1 {
		t.Fatalf("no single Synthea file %s*", prefix)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec, err := fhir.ReadBundle(f, maxBundle)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func findMedication(rec *fhir.Record, text string) *fhir.Medication {
	for i, m := range rec.Medications {
		for _, c := range m.Drug.Codings {
			if strings.Contains(strings.ToLower(c.Display), text) {
				return &rec.Medications[i]
			}
		}
	}
	return nil
}

func TestReadBundleSyntheaFacts(t *testing.T) {
	t.Parallel()
	asOf := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		patient, drug string
		rxnorm        string
		status        string
		active        bool
	}{
		// Values read from the files and README.md beside them.
		{"Barrett_Douglas", "ibuprofen", "310965", "stopped", false},
		{"Barrett_Douglas", "verapamil", "897718", "active", true},
		{"Barrett_Douglas", "furosemide", "1719286", "active", true},
		{"Adolfo_Marquardt", "fluticasone", "", "active", true},
		{"Abdul_Koepp", "ibuprofen", "", "stopped", false},
	}
	for _, tt := range tests {
		t.Run(tt.patient+"/"+tt.drug, func(t *testing.T) {
			t.Parallel()
			m := findMedication(readSynthea(t, tt.patient), tt.drug)
			if m == nil {
				t.Fatalf("no %s in %s", tt.drug, tt.patient)
			}
			if got, want := m.Status, tt.status; got != want {
				t.Errorf("status = %q, want %q", got, want)
			}
			if got, want := m.ActiveAt(asOf), tt.active; got != want {
				t.Errorf("ActiveAt(%v) = %v, want %v", asOf, got, want)
			}
			if tt.rxnorm != "" {
				if got, want := m.Drug.Codings[0], (fhir.Coding{System: fhir.SystemRxNorm, Code: tt.rxnorm}); got.System != want.System || got.Code != want.Code {
					t.Errorf("drug coding = %+v, want %+v", got, want)
				}
			}
			if !strings.HasPrefix(m.Ref, "MedicationRequest/") {
				t.Errorf("Ref = %q, want MedicationRequest/...", m.Ref)
			}
		})
	}
}

func TestReadBundleSyntheaConditionsAndLabs(t *testing.T) {
	t.Parallel()
	rec := readSynthea(t, "Barrett_Douglas")
	asOf := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	present := map[string]bool{}
	for _, c := range rec.Conditions {
		present[c.Code.Text+c.Code.Codings[0].Display] = c.PresentAt(asOf)
		// This (older) Synthea export gives conditions no category.
		if len(c.Categories) != 0 {
			t.Errorf("%s: categories %q, want none", c.Ref, c.Categories)
		}
	}
	// From the file: heart failure active since 2009, a wrist fracture resolved in 2001.
	for display, want := range map[string]bool{"Chronic congestive heart failure (disorder)": true, "Fracture subluxation of wrist": false} {
		found := false
		for k, got := range present {
			if strings.Contains(k, display) {
				found = true
				if got != want {
					t.Errorf("%s PresentAt = %v, want %v", display, got, want)
				}
			}
		}
		if !found {
			t.Errorf("condition %q not read", display)
		}
	}
	var height *fhir.Observation
	for i, o := range rec.Observations {
		if o.Ref == "Observation/50572d96-9566-4e43-86d7-59048f1aa796" {
			height = &rec.Observations[i]
		}
	}
	if height == nil || height.Value == nil {
		t.Fatalf("body height observation not read: %+v", height)
	}
	if got, want := *height.Value, (fhir.Quantity{Value: 181.76153240895297, Unit: "cm", System: fhir.SystemUCUM, Code: "cm"}); got != want {
		t.Errorf("height = %+v, want %+v", got, want)
	}
	if got, want := height.Effective, time.Date(2000, 4, 15, 19, 20, 6, 0, time.UTC); !got.Equal(want) {
		t.Errorf("height effective = %v, want %v", got, want)
	}
}

func TestReadBundleRejects(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in      string
		max     int64
		tooLong bool
	}{
		"not json":      {in: "{", max: 100},
		"not a bundle":  {in: `{"resourceType":"Patient"}`, max: 100},
		"over the cap":  {in: `{"resourceType":"Bundle","entry":[]}`, max: 10, tooLong: true},
		"array of junk": {in: `[1,2]`, max: 100},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := fhir.ReadBundle(strings.NewReader(tt.in), tt.max)
			if err == nil {
				t.Fatal("ReadBundle: no error")
			}
			if got, want := errors.Is(err, fhir.ErrTooLarge), tt.tooLong; got != want {
				t.Errorf("errors.Is(err, ErrTooLarge) = %v, want %v (err %v)", got, want, err)
			}
		})
	}
}

func TestReadBundleKeepsConditionCategories(t *testing.T) {
	t.Parallel()
	const bundle = `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Condition","id":"c",` +
		`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item"}]},` +
		`{"coding":[{"system":"http://hl7.org/fhir/us/core/CodeSystem/condition-category","code":"health-concern"}]}],` +
		`"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"G47.62"}]},"subject":{"reference":"Patient/p"}}}]}`
	rec, err := fhir.ReadBundle(strings.NewReader(bundle), 1<<20)
	if err != nil || len(rec.Conditions) != 1 {
		t.Fatalf("ReadBundle: %v, %d conditions", err, len(rec.Conditions))
	}
	c := rec.Conditions[0]
	if !c.HasCategory("problem-list-item") || !c.HasCategory("health-concern") || c.HasCategory("encounter-diagnosis") {
		t.Errorf("categories %q, want problem-list-item and health-concern", c.Categories)
	}
}

func TestReadBundleReadsMedicationAdministrations(t *testing.T) {
	t.Parallel()
	const bundle = `{"resourceType":"Bundle","type":"collection","entry":[` +
		`{"resource":{"resourceType":"MedicationAdministration","id":"given","status":"completed",` +
		`"medicationCodeableConcept":{"text":"Venofer 200 mg IV"},"subject":{"reference":"Patient/p"},"effectiveDateTime":"2021-03-10T09:30:00Z"}},` +
		`{"resource":{"resourceType":"MedicationAdministration","id":"infusing","status":"in-progress",` +
		`"medicationCodeableConcept":{"text":"iron sucrose"},"subject":{"reference":"Patient/p"},"effectivePeriod":{"start":"2021-03-31T08:00:00Z"}}},` +
		`{"resource":{"resourceType":"MedicationAdministration","id":"refused","status":"not-done",` +
		`"medicationCodeableConcept":{"text":"iron sucrose"},"subject":{"reference":"Patient/p"},"effectiveDateTime":"2021-03-12"}}]}`
	rec, err := fhir.ReadBundle(strings.NewReader(bundle), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rec.Medications), 2; got != want {
		t.Fatalf("%d medications, want %d (not-done is dropped): %+v", got, want, rec.Medications)
	}
	given := time.Date(2021, 3, 10, 9, 30, 0, 0, time.UTC)
	m := rec.Medications[0]
	if m.Ref != "MedicationAdministration/given" || m.Status != "completed" || !m.Effective.Start.Equal(given) || !m.Effective.End.Equal(given) {
		t.Errorf("administration = %+v, want completed at %v", m, given)
	}
	asOf := time.Date(2021, 4, 1, 0, 0, 0, 0, time.UTC)
	if m.ActiveAt(asOf) {
		t.Error("a completed administration is current")
	}
	if last, ok := m.LastTaken(asOf); !ok || !last.Equal(given) {
		t.Errorf("LastTaken = %v, %v; want %v", last, ok, given)
	}
	if _, ok := rec.Medications[1].LastTaken(asOf); !ok || rec.Medications[1].ActiveAt(asOf) {
		t.Errorf("in-progress administration: taken %v, current %v; want taken, not current", ok, rec.Medications[1].ActiveAt(asOf))
	}
	if len(rec.Skipped) != 1 || rec.Skipped[0].Ref != "MedicationAdministration/refused" {
		t.Errorf("skipped %+v, want the not-done administration", rec.Skipped)
	}
}

func TestReadBundlePatientDeceased(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		deceased   string
		want       bool
		wantAt     time.Time
		wantErrMsg string
	}{
		"absent":        {deceased: ``},
		"boolean false": {deceased: `,"deceasedBoolean":false`},
		"boolean true":  {deceased: `,"deceasedBoolean":true`, want: true},
		"dateTime":      {deceased: `,"deceasedDateTime":"2010-01-17T08:00:00Z"`, want: true, wantAt: time.Date(2010, 1, 17, 8, 0, 0, 0, time.UTC)},
		"partial date":  {deceased: `,"deceasedDateTime":"2010-01"`, want: true, wantAt: time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)},
		"malformed":     {deceased: `,"deceasedDateTime":"last tuesday"`, wantErrMsg: "deceasedDateTime"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			bundle := `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p","birthDate":"1950-01-01"` + tt.deceased + `}}]}`
			rec, err := fhir.ReadBundle(strings.NewReader(bundle), 1<<20)
			if err != nil {
				t.Fatalf("ReadBundle: %v", err)
			}
			if tt.wantErrMsg != "" {
				if rec.Patient != nil {
					t.Errorf("Patient = %+v, want it skipped", rec.Patient)
				}
				if len(rec.Skipped) != 1 || !strings.Contains(rec.Skipped[0].Reason, tt.wantErrMsg) {
					t.Errorf("Skipped = %+v, want one reason naming %q", rec.Skipped, tt.wantErrMsg)
				}
				return
			}
			if rec.Patient == nil {
				t.Fatalf("Patient = nil, skipped %+v", rec.Skipped)
			}
			if got := rec.Patient.Deceased; got != tt.want {
				t.Errorf("Deceased = %v, want %v", got, tt.want)
			}
			if got := rec.Patient.DeceasedAt; !got.Equal(tt.wantAt) {
				t.Errorf("DeceasedAt = %v, want %v", got, tt.wantAt)
			}
		})
	}
}
