package fhir_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/fhir"
)

// hostileID ends the code span a card renders a reference in, and runs
// script in a panel that renders raw HTML (issue 13, item 1).
const hostileID = "x\n\n<img src=x onerror=alert(2)>"

func TestValidID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"pat-1": true, "A.b-9": true, strings.Repeat("a", 64): true,
		"": false, strings.Repeat("a", 65): false, hostileID: false, "a b": false, "a/b": false,
		"a_b": false, "é": false, "a\x00": false, "<img>": false,
	} {
		if got := fhir.ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}

// withID returns a resource JSON with its id replaced.
func withID(resource, id string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(resource), &m); err != nil {
		panic(err)
	}
	m["id"] = id
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

const conditionJSON = `{"resourceType":"Condition","id":"c1","code":{"coding":[{"system":"http://snomed.info/sct","code":"449918009"}]},"subject":{"reference":"Patient/` + patientID + `"}}`

// noHostileText fails t when any Skipped entry repeats the hostile id.
func noHostileText(t *testing.T, rec *fhir.Record) {
	t.Helper()
	for _, s := range rec.Skipped {
		if strings.Contains(s.Ref+s.Reason+s.Source, "<img") || strings.Contains(s.Ref+s.Reason, "\n") {
			t.Errorf("skipped %+v echoes the id", s)
		}
	}
}

func TestGatherSkipsResourcesWithInvalidIDs(t *testing.T) {
	t.Parallel()
	med := `{"resourceType":"Medication","id":"` + "m1" + `","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"310429"}]}}`
	tests := map[string]struct {
		key, value string
	}{
		"MedicationRequest":   {"medicationRequests", searchset(withID(medRequest("mr-1", "active", furosemideCC), hostileID))},
		"MedicationStatement": {"medicationStatements", searchset(strings.Replace(withID(medRequest("ms-1", "active", furosemideCC), hostileID), "MedicationRequest", "MedicationStatement", 1))},
		"Condition":           {"conditions", searchset(withID(conditionJSON, hostileID))},
		"Observation":         {"observations", searchset(withID(observation("o1", "final"), hostileID))},
		"Patient":             {"patient", withID(patientJSON, hostileID)},
		"Medication": {"medicationRequests", searchset(medRequest("mr-2", "active", `"medicationReference":{"reference":"Medication/m1"}`),
			withID(med, hostileID))},
		"medicationReference": {"medicationRequests", searchset(medRequest("mr-3", "active", `"medicationReference":{"reference":"Medication/`+strings.ReplaceAll(hostileID, "\n", `\n`)+`"}`))},
		"contained reference": {"medicationRequests", searchset(medRequest("mr-4", "active", `"contained":[`+withID(med, hostileID)+`],"medicationReference":{"reference":"#`+strings.ReplaceAll(hostileID, "\n", `\n`)+`"}`))},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec, rep, err := gather(t, fhir.GathererOptions{}, fhir.GatherInput{
				Templates: map[string]string{tt.key: crampTemplates[tt.key]},
				Prefetch:  map[string]json.RawMessage{tt.key: json.RawMessage(tt.value)},
			})
			if name == "Medication" {
				// The request's reference is fine, but nothing resolves it now.
				wantUnavailable(t, err, tt.key, "Medication not in the prefetch")
			} else if err != nil {
				t.Fatalf("Gather: %v", err)
			}
			if n := len(rec.Medications) + len(rec.Conditions) + len(rec.Observations); n != 0 || rec.Patient != nil {
				t.Errorf("record = %+v, want nothing from a resource with an invalid id", rec)
			}
			if len(rec.Skipped) == 0 {
				t.Fatalf("nothing skipped, want the resource with the invalid id")
			}
			noHostileText(t, rec)
			if got, want := rep.Keys[0].Skipped, len(rec.Skipped); got != want {
				t.Errorf("report counts %d skipped, want %d", got, want)
			}
		})
	}
}

func TestReadBundleSkipsResourcesWithInvalidIDs(t *testing.T) {
	t.Parallel()
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[{"resource":` + patientJSON + `},{"resource":` +
		withID(observation("o1", "final"), hostileID) + `},{"resource":` + withID(conditionJSON, hostileID) + `},{"resource":` + observation("o2", "final") + `}]}`
	rec, err := fhir.ReadBundle(strings.NewReader(bundle), 1<<20)
	if err != nil {
		t.Fatalf("ReadBundle: %v", err)
	}
	if len(rec.Observations) != 1 || rec.Observations[0].Ref != "Observation/o2" || len(rec.Conditions) != 0 {
		t.Errorf("record = %+v, want only Observation/o2", rec)
	}
	if got, want := len(rec.Skipped), 2; got != want {
		t.Errorf("skipped = %+v, want %d", rec.Skipped, want)
	}
	noHostileText(t, rec)
}
