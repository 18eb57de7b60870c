package fhir_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/fhir"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestMedicationActiveAt(t *testing.T) {
	t.Parallel()
	at := day("2024-03-15")
	tests := map[string]struct {
		m    fhir.Medication
		want bool
	}{
		"active, open period":            {fhir.Medication{Status: "active"}, true},
		"active order":                   {fhir.Medication{Status: "active", Intent: "order"}, true},
		"active plan":                    {fhir.Medication{Status: "active", Intent: "plan"}, true},
		"active proposal":                {fhir.Medication{Status: "active", Intent: "proposal"}, false},
		"active option":                  {fhir.Medication{Status: "active", Intent: "option"}, false},
		"on-hold":                        {fhir.Medication{Status: "on-hold"}, false},
		"intended":                       {fhir.Medication{Status: "intended"}, false},
		"draft":                          {fhir.Medication{Status: "draft"}, false},
		"stopped":                        {fhir.Medication{Status: "stopped"}, false},
		"completed":                      {fhir.Medication{Status: "completed"}, false},
		"unknown":                        {fhir.Medication{Status: "unknown"}, false},
		"ended before":                   {fhir.Medication{Status: "active", Effective: fhir.Period{End: day("2024-03-01")}}, false},
		"ends after":                     {fhir.Medication{Status: "active", Effective: fhir.Period{End: day("2024-04-01")}}, true},
		"starts after":                   {fhir.Medication{Status: "active", Effective: fhir.Period{Start: day("2024-04-01")}}, false},
		"authored after as-of time":      {fhir.Medication{Status: "active", Asserted: day("2024-06-01")}, false},
		"authored a minute after (skew)": {fhir.Medication{Status: "active", Asserted: at.Add(time.Minute)}, true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := tt.m.ActiveAt(at); got != tt.want {
				t.Errorf("ActiveAt = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMedicationLastTaken(t *testing.T) {
	t.Parallel()
	at := day("2024-03-15")
	given := day("2024-03-01")
	tests := map[string]struct {
		m      fhir.Medication
		want   time.Time
		wantOK bool
	}{
		"active now":                        {fhir.Medication{Status: "active"}, at, true},
		"completed, period end":             {fhir.Medication{Status: "completed", Effective: fhir.Period{Start: day("2024-02-01"), End: given}}, given, true},
		"completed, start only":             {fhir.Medication{Status: "completed", Effective: fhir.Period{Start: given}}, given, true},
		"completed, authored only":          {fhir.Medication{Status: "completed", Asserted: given}, given, true},
		"completed, end after as-of: start": {fhir.Medication{Status: "completed", Effective: fhir.Period{Start: given, End: day("2024-06-01")}}, given, true},
		"active but ended":                  {fhir.Medication{Status: "active", Effective: fhir.Period{End: given}}, given, true},
		"completed without dates":           {fhir.Medication{Status: "completed"}, time.Time{}, false},
		"stopped":                           {fhir.Medication{Status: "stopped", Asserted: given}, time.Time{}, false},
		"on-hold":                           {fhir.Medication{Status: "on-hold", Asserted: given}, time.Time{}, false},
		"completed proposal":                {fhir.Medication{Status: "completed", Intent: "proposal", Asserted: given}, time.Time{}, false},
		"completed after as-of":             {fhir.Medication{Status: "completed", Asserted: day("2024-04-01")}, time.Time{}, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.m.LastTaken(at)
			if ok != tt.wantOK || !got.Equal(tt.want) {
				t.Errorf("LastTaken = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestConditionPresentAt(t *testing.T) {
	t.Parallel()
	at := day("2024-03-15")
	tests := map[string]struct {
		c    fhir.Condition
		want bool
	}{
		"active":                    {fhir.Condition{ClinicalStatus: "active"}, true},
		"recurrence":                {fhir.Condition{ClinicalStatus: "recurrence"}, true},
		"relapse":                   {fhir.Condition{ClinicalStatus: "relapse"}, true},
		"inactive":                  {fhir.Condition{ClinicalStatus: "inactive"}, false},
		"remission":                 {fhir.Condition{ClinicalStatus: "remission"}, false},
		"resolved":                  {fhir.Condition{ClinicalStatus: "resolved"}, false},
		"no status":                 {fhir.Condition{}, true},
		"no status, abated before":  {fhir.Condition{Abatement: day("2024-01-01")}, false},
		"active, onset after as-of": {fhir.Condition{ClinicalStatus: "active", Onset: day("2024-05-01")}, false},
		"active, abates later":      {fhir.Condition{ClinicalStatus: "active", Abatement: day("2024-05-01")}, true},
		"provisional active":        {fhir.Condition{ClinicalStatus: "active", VerificationStatus: "provisional"}, true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := tt.c.PresentAt(at); got != tt.want {
				t.Errorf("PresentAt = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestResultStatuses(t *testing.T) {
	t.Parallel()
	for status, want := range map[string]bool{
		"final": true, "amended": true, "corrected": true,
		"registered": false, "preliminary": false, "cancelled": false, "entered-in-error": false, "unknown": false,
	} {
		if got := fhir.IsResultStatus(status); got != want {
			t.Errorf("IsResultStatus(%q) = %v, want %v", status, got, want)
		}
	}
	for status, want := range map[string]bool{
		"registered": true, "preliminary": true, "partial": true,
		"final": false, "amended": false, "cancelled": false, "entered-in-error": false, "unknown": false, "": false,
	} {
		if got := fhir.IsPendingStatus(status); got != want {
			t.Errorf("IsPendingStatus(%q) = %v, want %v", status, got, want)
		}
	}
}

func TestPartialDatesCoverTheirPeriod(t *testing.T) {
	t.Parallel()
	// A validity period ending "2024-03" lasts through March.
	raw := `{"resourceType":"MedicationRequest","id":"p","status":"active","intent":"order",` + furosemideCC +
		`,"subject":{"reference":"Patient/x"},"dispenseRequest":{"validityPeriod":{"start":"2024","end":"2024-03"}}}`
	rec, err := fhir.ReadBundle(strings.NewReader(`{"resourceType":"Bundle","entry":[{"resource":`+raw+`}]}`), 1<<20)
	if err != nil || len(rec.Medications) != 1 {
		t.Fatalf("ReadBundle = %+v, %v; want one medication", rec, err)
	}
	m := rec.Medications[0]
	for at, want := range map[string]bool{"2023-12-31": false, "2024-01-01": true, "2024-03-31": true, "2024-04-01": false} {
		if got := m.ActiveAt(day(at)); got != want {
			t.Errorf("ActiveAt(%s) = %v, want %v", at, got, want)
		}
	}
}

func TestDraftMedication(t *testing.T) {
	t.Parallel()
	elsewhere := json.RawMessage(`{"resourceType":"Medication","id":"9","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"313988"}]}}`)
	medications := map[string]json.RawMessage{"Medication/9": elsewhere}
	tests := map[string]struct {
		raw        string
		wantCode   string
		wantErr    string
		unresolved bool
	}{
		"codeable concept": {raw: medRequest("a", "draft", furosemideCC), wantCode: "310429"},
		"contained": {raw: `{"resourceType":"MedicationRequest","status":"draft","intent":"order","contained":[{"resourceType":"Medication","id":"m",` +
			`"code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"197604"}]}}],"medicationReference":{"reference":"#m"},"subject":{"reference":"Patient/x"}}`, wantCode: "197604"},
		"contained missing":     {raw: medRequest("a", "draft", `"medicationReference":{"reference":"#nope"}`), wantErr: "contained"},
		"reference elsewhere":   {raw: medRequest("a", "draft", `"medicationReference":{"reference":"Medication/9"}`), wantCode: "313988"},
		"absolute reference":    {raw: medRequest("a", "draft", `"medicationReference":{"reference":"https://ehr.example.org/fhir/Medication/9/_history/2"}`), wantCode: "313988"},
		"reference to nothing":  {raw: medRequest("a", "draft", `"medicationReference":{"reference":"Medication/10"}`), unresolved: true},
		"no drug":               {raw: `{"resourceType":"MedicationRequest","status":"active","intent":"order","subject":{}}`, wantErr: "names no medication"},
		"concept not an object": {raw: `{"resourceType":"MedicationRequest","status":"active","medicationCodeableConcept":"furosemide"}`, wantErr: "does not decode"},
		// The sandbox's category object does not hide the drug.
		"category an object": {raw: `{"resourceType":"MedicationRequest","status":"draft","category":{"text":"x"},` + furosemideCC + `}`, wantCode: "310429"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m, err := fhir.DraftMedication(json.RawMessage(tt.raw), medications)
			switch {
			case tt.unresolved:
				if !errors.Is(err, fhir.ErrUnresolvedReference) {
					t.Errorf("err = %v, want ErrUnresolvedReference", err)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
				}
			case err != nil:
				t.Errorf("err = %v", err)
			default:
				if got := m.Drug.Codings[0].Code; got != tt.wantCode {
					t.Errorf("drug code = %q, want %q", got, tt.wantCode)
				}
			}
		})
	}
}

func TestExpandTemplate(t *testing.T) {
	t.Parallel()
	ctx := map[string]string{"patientId": "p 1&x=y", "userId": "PractitionerRole/r-9", "encounterId": "e1"}
	tests := map[string]struct {
		tmpl, want, wantErr string
	}{
		"read":                   {tmpl: "Patient/{{context.patientId}}", want: "Patient/p%201&x=y"},
		"search":                 {tmpl: "Observation?patient={{context.patientId}}&code=4548-4", want: "Observation?patient=p+1%26x%3Dy&code=4548-4"},
		"spaces in token":        {tmpl: "Encounter/{{ context.encounterId }}", want: "Encounter/e1"},
		"user token":             {tmpl: "PractitionerRole/{{userPractitionerRoleId}}", want: "PractitionerRole/r-9"},
		"user token, other type": {tmpl: "Practitioner/{{userPractitionerId}}", wantErr: "not a Practitioner"},
		"unknown token":          {tmpl: "Patient/{{today()}}", wantErr: "unknown prefetch token"},
		"nested context":         {tmpl: "Medication/{{context.medication.id}}", wantErr: "first-level"},
		"missing value":          {tmpl: "Patient?_id={{context.appointmentId}}", wantErr: "no value"},
		"unclosed":               {tmpl: "Patient/{{context.patientId", wantErr: "unclosed"},
		"absolute":               {tmpl: "https://evil.example/Patient/{{context.patientId}}", wantErr: "not a relative"},
		"scheme-relative":        {tmpl: "//evil.example/Patient", wantErr: "not a relative"},
		"rooted":                 {tmpl: "/Patient/1", wantErr: "not a relative"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := fhir.ExpandTemplate(tt.tmpl, ctx)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ExpandTemplate = %q, %v, want %q", got, err, tt.want)
			}
		})
	}
	t.Run("path traversal", func(t *testing.T) {
		t.Parallel()
		if _, err := fhir.ExpandTemplate("Patient/{{context.patientId}}", map[string]string{"patientId": ".."}); err == nil {
			t.Error("a patientId of .. expanded without error")
		}
	})
}

func TestValidateTemplate(t *testing.T) {
	t.Parallel()
	for tmpl, ok := range map[string]bool{
		"Patient/{{context.patientId}}":                   true,
		"Condition?patient={{context.patientId}}":         true,
		"Practitioner/{{userPractitionerId}}":             true,
		"RelatedPerson/{{userRelatedPersonId}}":           true,
		"Observation?date=ge{{today() - 90 days}}":        false,
		"Observation?patient={{patientId}}":               false,
		"https://x.example/Patient/{{context.patientId}}": false,
	} {
		if err := fhir.ValidateTemplate(tmpl); (err == nil) != ok {
			t.Errorf("ValidateTemplate(%q) = %v, want ok=%v", tmpl, err, ok)
		}
	}
}

// A medication whose status says it never happened is skipped with the
// status as its reason, never read as taken.
func TestMedicationsThatNeverHappenedAreSkipped(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ raw, reason string }{
		"cancelled request":   {medRequest("a", "cancelled", furosemideCC), "cancelled"},
		"do not perform":      {strings.Replace(medRequest("b", "active", furosemideCC), `"intent"`, `"doNotPerform":true,"intent"`, 1), "doNotPerform"},
		"statement not taken": {`{"resourceType":"MedicationStatement","id":"c","status":"not-taken",` + furosemideCC + `,"subject":{}}`, "not-taken"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec, err := fhir.ReadBundle(strings.NewReader(`{"resourceType":"Bundle","entry":[{"resource":`+tt.raw+`}]}`), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.Medications) != 0 || len(rec.Skipped) != 1 || !strings.Contains(rec.Skipped[0].Reason, tt.reason) {
				t.Errorf("medications %+v, skipped %+v; want none, and one skipped for %q", rec.Medications, rec.Skipped, tt.reason)
			}
		})
	}
}
