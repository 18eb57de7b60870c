package fhir_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/fhir"
)

// prefetch200 builds a realistic 200-resource prefetch for the cramp
// templates: 1 Patient, 100 Observations (with reference ranges and
// interpretation), 40 Conditions, 40 MedicationRequests (10 naming a
// contained Medication) and 19 MedicationStatements.
func prefetch200() map[string]json.RawMessage {
	obs := make([]string, 100)
	for i := range obs {
		obs[i] = fmt.Sprintf(`{"resourceType":"Observation","id":"o%d","meta":{"versionId":"1","lastUpdated":"2024-01-01T00:00:00Z"},"status":"final",`+
			`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],`+
			`"code":{"coding":[{"system":"http://loinc.org","code":"2823-3","display":"Potassium [Moles/volume] in Serum or Plasma"}],"text":"Potassium"},`+
			`"subject":{"reference":"Patient/pat-1"},"effectiveDateTime":"2024-01-%02dT08:30:00Z","issued":"2024-01-%02dT09:00:00Z",`+
			`"valueQuantity":{"value":%d.%d,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"},`+
			`"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"N"}]}],`+
			`"referenceRange":[{"low":{"value":3.5,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"},"high":{"value":5.1,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}]}`,
			i, i%28+1, i%28+1, 3+i%3, i%10)
	}
	conds := make([]string, 40)
	for i := range conds {
		conds[i] = fmt.Sprintf(`{"resourceType":"Condition","id":"c%d","meta":{"versionId":"1"},"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},`+
			`"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]},`+
			`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item"}]}],`+
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"4405400%d","display":"Diabetes mellitus type 2"}],"text":"Diabetes"},`+
			`"subject":{"reference":"Patient/pat-1"},"onsetDateTime":"2015-06-01","recordedDate":"2015-06-02"}`, i, i%10)
	}
	meds := make([]string, 40)
	for i := range meds {
		drug := `"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"310429","display":"furosemide 20 MG Oral Tablet"}],"text":"Furosemide"}`
		contained := ""
		if i < 10 {
			contained = `"contained":[{"resourceType":"Medication","id":"med","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"197604"}]}}],`
			drug = `"medicationReference":{"reference":"#med"}`
		}
		meds[i] = fmt.Sprintf(`{"resourceType":"MedicationRequest","id":"mr%d",%s"status":"active","intent":"order",%s,"subject":{"reference":"Patient/pat-1"},`+
			`"authoredOn":"2023-05-01","dosageInstruction":[{"text":"1 tablet daily","timing":{"repeat":{"frequency":1,"period":1,"periodUnit":"d"}}}],`+
			`"dispenseRequest":{"validityPeriod":{"start":"2023-05-01","end":"2024-05-01"},"numberOfRepeatsAllowed":3}}`, i, contained, drug)
	}
	stmts := make([]string, 19)
	for i := range stmts {
		stmts[i] = fmt.Sprintf(`{"resourceType":"MedicationStatement","id":"ms%d","status":"active",`+
			`"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"860975"}],"text":"Metformin 500 mg"},`+
			`"subject":{"reference":"Patient/pat-1"},"effectivePeriod":{"start":"2015-06-02"},"dateAsserted":"2023-01-01"}`, i)
	}
	return map[string]json.RawMessage{
		"patient":              json.RawMessage(patientJSON),
		"observations":         json.RawMessage(searchset(obs...)),
		"conditions":           json.RawMessage(searchset(conds...)),
		"medicationRequests":   json.RawMessage(searchset(meds...)),
		"medicationStatements": json.RawMessage(searchset(stmts...)),
	}
}

func BenchmarkDecodePrefetch200(b *testing.B) {
	prefetch := prefetch200()
	body, err := json.Marshal(prefetch)
	if err != nil {
		b.Fatal(err)
	}
	g := fhir.NewGatherer(fhir.GathererOptions{})
	in := fhir.GatherInput{Prefetch: prefetch, Templates: crampTemplates, Context: hookContext}
	rec, _, err := g.Gather(context.Background(), in)
	if err != nil {
		b.Fatal(err)
	}
	if n := len(rec.Observations) + len(rec.Conditions) + len(rec.Medications) + 1; n != 200 || len(rec.Skipped) != 0 {
		b.Fatalf("decoded %d resources (%d skipped), want 200", n, len(rec.Skipped))
	}

	b.Run("floor json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("Gather from prefetch", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			// The request body is decoded into the prefetch map, as the
			// protocol layer does, so the floor and this read the same bytes.
			var p map[string]json.RawMessage
			if err := json.Unmarshal(body, &p); err != nil {
				b.Fatal(err)
			}
			in.Prefetch = p
			if _, _, err := g.Gather(context.Background(), in); err != nil {
				b.Fatal(err)
			}
		}
	})
	var entries []string
	for _, v := range prefetch {
		if bytes.HasPrefix(v, []byte(`{"resourceType":"Bundle"`)) {
			var bundle struct{ Entry []json.RawMessage }
			_ = json.Unmarshal(v, &bundle)
			for _, e := range bundle.Entry {
				entries = append(entries, string(e))
			}
		}
	}
	whole := []byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":` + patientJSON + `},` + strings.Join(entries, ",") + `]}`)
	b.Run("ReadBundle", func(b *testing.B) {
		b.SetBytes(int64(len(whole)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := fhir.ReadBundle(bytes.NewReader(whole), 1<<24); err != nil {
				b.Fatal(err)
			}
		}
	})
}
