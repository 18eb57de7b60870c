package fhir_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/fhir"
)

// withSubject returns observation o1 of the current patient with its
// subject member replaced by subject ("" for none).
func withSubject(subject string) string {
	o := observation("o1", "final")
	o = strings.Replace(o, `,"subject":{"reference":"Patient/`+patientID+`"}`, "", 1)
	if subject != "" {
		o = strings.TrimSuffix(o, "}") + `,"subject":` + subject + `}`
	}
	return o
}

func TestGatherKeepsOnlyThisPatient(t *testing.T) {
	t.Parallel()
	const server = "https://ehr.example.org/fhir"
	tests := map[string]struct {
		subject string
		keep    bool
	}{
		"relative":                       {`{"reference":"Patient/pat-1"}`, true},
		"relative with history":          {`{"reference":"Patient/pat-1/_history/3"}`, true},
		"absolute on fhirServer":         {`{"reference":"` + server + `/Patient/pat-1"}`, true},
		"absolute with history":          {`{"reference":"` + server + `/Patient/pat-1/_history/3"}`, true},
		"trailing slash":                 {`{"reference":"Patient/other-999/"}`, false},
		"trailing slash, this id":        {`{"reference":"Patient/pat-1/"}`, false},
		"leading space":                  {`{"reference":" Patient/other-999"}`, false},
		"lower-case type":                {`{"reference":"patient/other-999"}`, false},
		"bare id with type":              {`{"reference":"other-999","type":"Patient"}`, false},
		"bare id of this patient":        {`{"reference":"pat-1","type":"Patient"}`, false},
		"no subject":                     {``, false},
		"subject without reference":      {`{"display":"Ada"}`, false},
		"other id":                       {`{"reference":"Patient/pat-10"}`, false},
		"another server":                 {`{"reference":"https://evil.example/fhir/Patient/pat-1"}`, false},
		"urn:uuid in a searchset":        {`{"reference":"urn:uuid:pat-1"}`, false},
		"empty history":                  {`{"reference":"Patient/pat-1/_history/"}`, false},
		"history then more":              {`{"reference":"Patient/pat-1/_history/3/x"}`, false},
		"query":                          {`{"reference":"Patient/pat-1?x=1"}`, false},
		"Group":                          {`{"reference":"Group/pat-1"}`, false},
		"dot segment":                    {`{"reference":"Patient/x/../pat-1"}`, false},
		"another patient under fhirBase": {`{"reference":"` + server + `/Patient/other-999"}`, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec, rep, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
				Templates:  map[string]string{"observations": crampTemplates["observations"]},
				Prefetch:   map[string]json.RawMessage{"observations": json.RawMessage(searchset(withSubject(tt.subject)))},
				FHIRServer: server + "/",
			})
			if err != nil {
				t.Fatalf("Gather: %v", err)
			}
			if got := len(rec.Observations) == 1; got != tt.keep {
				t.Fatalf("kept = %v, want %v (skipped %+v)", got, tt.keep, rec.Skipped)
			}
			if !tt.keep {
				if len(rec.Skipped) != 1 || !strings.Contains(rec.Skipped[0].Reason, "patient") {
					t.Errorf("skipped = %+v, want one resource about another patient", rec.Skipped)
				}
				if got, want := rep.Keys[0].Skipped, 1; got != want {
					t.Errorf("report counts %d skipped, want %d", got, want)
				}
			}
		})
	}
	t.Run("Patient resource", func(t *testing.T) {
		t.Parallel()
		rec, _, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
			Templates: map[string]string{"patient": crampTemplates["patient"]},
			Prefetch:  map[string]json.RawMessage{"patient": json.RawMessage(withID(patientJSON, "other-999"))},
		})
		if err != nil {
			t.Fatalf("Gather: %v", err)
		}
		if rec.Patient != nil {
			t.Errorf("patient = %+v, want none: it is another patient", rec.Patient)
		}
	})
}

func TestReadBundleKeepsOnlyItsPatient(t *testing.T) {
	t.Parallel()
	entry := func(subject string) string { return `{"resource":` + withSubject(subject) + `}` }
	tests := map[string]struct {
		bundle string
		keep   bool
	}{
		"urn:uuid of the Patient entry": {`{"fullUrl":"urn:uuid:p1","resource":` + withID(patientJSON, "pat-1") + `},` + entry(`{"reference":"urn:uuid:p1"}`), true},
		"relative to the Patient":       {`{"fullUrl":"urn:uuid:p1","resource":` + patientJSON + `},` + entry(`{"reference":"Patient/pat-1"}`), true},
		"another urn:uuid":              {`{"fullUrl":"urn:uuid:p1","resource":` + patientJSON + `},` + entry(`{"reference":"urn:uuid:p2"}`), false},
		"another patient":               {`{"fullUrl":"urn:uuid:p1","resource":` + patientJSON + `},` + entry(`{"reference":"Patient/other-999"}`), false},
		"trailing slash":                {`{"fullUrl":"urn:uuid:p1","resource":` + patientJSON + `},` + entry(`{"reference":"Patient/pat-1/"}`), false},
		"no subject":                    {`{"fullUrl":"urn:uuid:p1","resource":` + patientJSON + `},` + entry(``), false},
		"bare id with type":             {`{"fullUrl":"urn:uuid:p1","resource":` + patientJSON + `},` + entry(`{"reference":"pat-1","type":"Patient"}`), false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec, err := fhir.ReadBundle(strings.NewReader(`{"resourceType":"Bundle","type":"collection","entry":[`+tt.bundle+`]}`), 1<<20)
			if err != nil {
				t.Fatalf("ReadBundle: %v", err)
			}
			if got := len(rec.Observations) == 1; got != tt.keep {
				t.Errorf("kept = %v, want %v (skipped %+v)", got, tt.keep, rec.Skipped)
			}
		})
	}
	t.Run("a second Patient", func(t *testing.T) {
		t.Parallel()
		rec, err := fhir.ReadBundle(strings.NewReader(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":`+patientJSON+`},{"resource":`+
			withID(patientJSON, "other-999")+`},`+entry(`{"reference":"Patient/other-999"}`)+`]}`), 1<<20)
		if err != nil {
			t.Fatalf("ReadBundle: %v", err)
		}
		if rec.Patient == nil || rec.Patient.Ref != "Patient/pat-1" || len(rec.Observations) != 0 {
			t.Errorf("record = %+v, want Patient/pat-1 and no observation of the other", rec)
		}
	})
}

func TestAboutPatient(t *testing.T) {
	t.Parallel()
	for subject, want := range map[string]bool{
		"Patient/pat-1": true, "Patient/pat-1/_history/2": true, "https://ehr.example.org/fhir/Patient/pat-1": true, "": true,
		"Patient/other-999/": false, " Patient/other-999": false, "patient/other-999": false, "other-999": false,
		"pat-1": false, "Patient/pat-1/": false, "Patient/pat-10": false, "urn:uuid:pat-1": false, "Group/pat-1": false,
	} {
		if got := fhir.AboutPatient(subject, "pat-1"); got != want {
			t.Errorf("AboutPatient(%q, pat-1) = %v, want %v", subject, got, want)
		}
	}
}
