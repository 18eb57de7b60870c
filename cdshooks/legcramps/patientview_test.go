package legcramps_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// everyCardPrefetch is a record that fires every card type:
//   - medications: HCTZ 310798 (RxNorm), amlodipine through a contained
//     Medication (medicationReference), simvastatin by text only; a stopped
//     ibuprofen that must not be flagged;
//   - magnesium 0.5 mmol/L (1.22 mg/dL, below 1.6) and potassium 4.2 in the
//     window; a calcium result entered in error, which does not count;
//   - heart failure (associated) and restless legs (differential).
func everyCardPrefetch() obj {
	amlodipineByRef := with(activeMR("mr-aml", nil), "medicationReference", obj{"reference": "#med-aml"})
	delete(amlodipineByRef, "medicationCodeableConcept")
	amlodipineByRef["contained"] = []obj{{
		"resourceType": "Medication", "id": "med-aml",
		"code": rxnorm("197361", "Amlodipine 5 MG Oral Tablet"),
	}}
	simvastatinText := obj{
		"resourceType": "MedicationStatement", "id": "ms-simva", "status": "active",
		"medicationCodeableConcept": obj{"text": "Simvastatin 20mg at night"},
		"subject":                   obj{"reference": "Patient/" + orderPatient},
		"dateAsserted":              "2024-02-01",
	}
	ibuprofen := with(activeMR("mr-ibu", rxnorm("310965", "Ibuprofen 200 MG Oral Tablet")), "status", "stopped")
	restlessLegs := condition("cond-rls", "32914008", "Restless legs", "active")
	heartFailure := condition("cond-hf", "88805009", "Chronic congestive heart failure", "active")
	calciumInError := with(lcObservation("obs-ca", "17861-6", 7.0, "mg/dL", "2025-05-20"), "status", "entered-in-error")
	return obj{
		legcramps.PrefetchPatient:              obj{"resourceType": "Patient", "id": orderPatient, "gender": "female", "birthDate": "1950-04-12"},
		legcramps.PrefetchConditions:           searchset(legCramps, heartFailure, restlessLegs, hypertension),
		legcramps.PrefetchMedicationRequests:   searchset(activeMR("mr-hctz", hctz), amlodipineByRef, ibuprofen),
		legcramps.PrefetchMedicationStatements: searchset(simvastatinText),
		legcramps.PrefetchObservations: searchset(
			lcObservation("obs-mg", "19123-9", 0.5, "mmol/L", "2025-05-20"),
			lcObservation("obs-k", "2823-3", 4.2, "mmol/L", "2025-05-20"),
			calciumInError,
		),
	}
}

func lcRequest(t *testing.T, prefetch obj) []byte {
	t.Helper()
	req := obj{
		"hookInstance": lcHookInstance, "hook": "patient-view", "fhirServer": "http://127.0.0.1:8081",
		"context": obj{"patientId": orderPatient, "userId": "Practitioner/doc-1"},
	}
	if prefetch != nil {
		req["prefetch"] = prefetch
	}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// invokePatientView posts body to the patient-view service.
func invokePatientView(t *testing.T, srv *cdshooks.Server, body []byte) (int, []byte) {
	t.Helper()
	return invoke(t, srv, legcramps.PatientViewID, body)
}

// patientViewCards posts body to the patient-view service and returns its cards.
func patientViewCards(t *testing.T, srv *cdshooks.Server, body []byte) []cdshooks.Card {
	t.Helper()
	return mustCards(t, srv, legcramps.PatientViewID, body)
}

func topicsOf(cards []cdshooks.Card) []string {
	var out []string
	for _, c := range cards {
		out = append(out, c.Source.Topic.Code)
	}
	return out
}

func TestEveryCardTypeInOrderMostSevereFirst(t *testing.T) {
	t.Parallel()
	cards := patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, everyCardPrefetch()))
	want := []string{
		"cramp-medication", "cramp-medication", "cramp-medication", // thiazide, calcium channel blocker, statin: data order
		"cramp-abnormal-lab",
		"cramp-missing-labs",
		"cramp-associated-condition",
		"cramp-differential",
	}
	if diff := cmp.Diff(want, topicsOf(cards)); diff != "" {
		t.Fatalf("card topics (-want +got):\n%s", diff)
	}
	seen := map[string]bool{}
	for i, c := range cards {
		if topic, ok := legcramps.TopicOfCard(c.UUID); !ok || topic != c.Source.Topic.Code {
			t.Errorf("card %d: TopicOfCard(%s) = %q, %v; want %q", i, c.UUID, topic, ok, c.Source.Topic.Code)
		}
		if seen[c.UUID] {
			t.Errorf("card %d: uuid %s used twice", i, c.UUID)
		}
		seen[c.UUID] = true
		if !strings.HasPrefix(c.Source.Label, "cramp-cds knowledge ") || !strings.HasPrefix(c.Source.URL, "https://cds.example.org/knowledge#") {
			t.Errorf("card %d: source %q %q, want the knowledge label and URL", i, c.Source.Label, c.Source.URL)
		}
		if c.Source.Topic.System != legcramps.TopicSystem {
			t.Errorf("card %d: topic system %q", i, c.Source.Topic.System)
		}
		if !strings.Contains(c.Detail, "**Evidence**") || !strings.Contains(c.Detail, "seed 00") {
			t.Errorf("card %d (%s) cites no seed:\n%s", i, c.Summary, c.Detail)
		}
	}
	if cards[0].Indicator != cdshooks.IndicatorWarning || cards[len(cards)-1].Indicator != cdshooks.IndicatorInfo {
		t.Errorf("indicators %s ... %s, want warning first and info last", cards[0].Indicator, cards[len(cards)-1].Indicator)
	}
}

func TestMedicationCardsNameTheRecordTextAndTheIngredient(t *testing.T) {
	t.Parallel()
	cards := patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, everyCardPrefetch()))
	// A diuretic strongly predisposes (seed 000 line 10): warning. Calcium channel blockers and statins are
	// only reported (seeds 002-004): info, and the CCB card says it is also a treatment (seed 004 line 44).
	tests := []struct {
		summary   string // prefix
		inDetail  []string
		indicator cdshooks.Indicator
	}{
		{"Hydrochlorothiazide can cause leg cramps", []string{"**Hydrochlorothiazide 25 MG Oral Tablet**", "Thiazide and thiazide-like diuretics", "RxNorm 310798", "(MedicationRequest/mr-hctz)"}, cdshooks.IndicatorWarning},
		// medicationReference to a contained Medication.
		{"Amlodipine: leg cramps reported", []string{"**Amlodipine 5 MG Oral Tablet**", "Calcium channel blockers", "(MedicationRequest/mr-aml)", "reported", "as a treatment for severe cramps"}, cdshooks.IndicatorInfo},
		// Text only: flagged, and said to be recognised by name.
		{"Simvastatin: leg cramps reported", []string{"**Simvastatin 20mg at night**", "by name", "Recognised from the drug's name", "(MedicationStatement/ms-simva)", "reported"}, cdshooks.IndicatorInfo},
	}
	for i, tt := range tests {
		c := cards[i]
		if !strings.HasPrefix(c.Summary, tt.summary) {
			t.Errorf("card %d summary %q, want it to start %q", i, c.Summary, tt.summary)
		}
		for _, s := range tt.inDetail {
			if !strings.Contains(c.Detail, s) {
				t.Errorf("card %d detail lacks %q:\n%s", i, s, c.Detail)
			}
		}
		if c.Indicator != tt.indicator {
			t.Errorf("card %d indicator %s, want %s", i, c.Indicator, tt.indicator)
		}
		if diff := cmp.Diff(legcramps.MedicationOverrideReasons(), c.OverrideReasons); diff != "" {
			t.Errorf("card %d override reasons (-want +got):\n%s", i, diff)
		}
	}
	for _, c := range cards {
		if strings.Contains(c.Detail, "Ibuprofen") || strings.Contains(c.Detail, "mr-ibu") {
			t.Errorf("the stopped ibuprofen is on a card: %s", c.Summary)
		}
	}
}

func TestAbnormalLabCardShowsTheRecordedAndConvertedValue(t *testing.T) {
	t.Parallel()
	cards := patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, everyCardPrefetch()))
	c := cards[3]
	if want := "Magnesium 0.5 mmol/L on 2025-05-20: hypomagnesemia"; c.Summary != want {
		t.Errorf("summary %q, want %q", c.Summary, want)
	}
	// 0.5 mmol/L x 2.431 = 1.2155 mg/dL (labs.yaml); the threshold is < 1.6 mg/dL.
	for _, s := range []string{"< 1.6 mg/dL", "1.21", "(Observation/obs-mg)"} {
		if !strings.Contains(c.Detail, s) {
			t.Errorf("detail lacks %q:\n%s", s, c.Detail)
		}
	}
	if !strings.HasSuffix(c.Source.URL, "#lab-magnesium") {
		t.Errorf("source.url %q, want the magnesium lab", c.Source.URL)
	}
}

func TestMissingLabsCardProposesOneOrderPerLab(t *testing.T) {
	t.Parallel()
	cards := patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, everyCardPrefetch()))
	c := cards[4]
	if c.Indicator != cdshooks.IndicatorInfo || c.SelectionBehavior != cdshooks.SelectAny {
		t.Errorf("indicator %s, selectionBehavior %s; want info, any", c.Indicator, c.SelectionBehavior)
	}
	// Magnesium and potassium have results; the calcium result was entered in error.
	wantCodes := []string{"17861-6", "3016-3", "4548-4", "2160-0"} // calcium, TSH, HbA1c, creatinine (labs.yaml order codes)
	var gotCodes []string
	uuids := map[string]bool{}
	for _, s := range c.Suggestions {
		if s.UUID == "" || uuids[s.UUID] || s.Label == "" {
			t.Errorf("suggestion %q: uuid %q missing or repeated", s.Label, s.UUID)
		}
		uuids[s.UUID] = true
		if len(s.Actions) != 1 || s.Actions[0].Type != cdshooks.ActionCreate {
			t.Fatalf("suggestion %q: actions %+v, want one create", s.Label, s.Actions)
		}
		var sr struct {
			ResourceType, Status, Intent string
			Code                         struct {
				Coding []struct{ System, Code, Display string }
			}
			Subject         struct{ Reference string }
			ReasonReference []struct{ Reference string }
		}
		if err := json.Unmarshal(s.Actions[0].Resource, &sr); err != nil {
			t.Fatalf("suggestion %q: resource is not JSON: %v", s.Label, err)
		}
		if sr.ResourceType != "ServiceRequest" || sr.Status != "draft" || sr.Intent != "proposal" {
			t.Errorf("resource %s/%s/%s, want ServiceRequest/draft/proposal", sr.ResourceType, sr.Status, sr.Intent)
		}
		if got, want := sr.Subject.Reference, "Patient/"+orderPatient; got != want {
			t.Errorf("subject %q, want %q", got, want)
		}
		if len(sr.Code.Coding) != 1 || sr.Code.Coding[0].System != fhir.SystemLOINC || sr.Code.Coding[0].Display == "" {
			t.Fatalf("code %+v, want one LOINC coding with a display", sr.Code)
		}
		if len(sr.ReasonReference) != 1 || sr.ReasonReference[0].Reference != "Condition/cond-cramps" {
			t.Errorf("reasonReference %+v, want the leg-cramp condition", sr.ReasonReference)
		}
		gotCodes = append(gotCodes, sr.Code.Coding[0].Code)
	}
	if diff := cmp.Diff(wantCodes, gotCodes); diff != "" {
		t.Errorf("ordered LOINC codes (-want +got):\n%s", diff)
	}
	if !strings.Contains(c.Detail, "since **2024-06-01**, 12 months") {
		t.Errorf("detail does not give the window:\n%s", c.Detail)
	}
}

func TestConditionCards(t *testing.T) {
	t.Parallel()
	cards := patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, everyCardPrefetch()))
	assoc, diff := cards[5], cards[6]
	if want := "Associated with leg cramps: heart failure"; assoc.Summary != want {
		t.Errorf("associated summary %q, want %q", assoc.Summary, want)
	}
	if !strings.Contains(assoc.Detail, "Chronic congestive heart failure") || !strings.Contains(assoc.Detail, "(Condition/cond-hf)") {
		t.Errorf("associated detail does not name the record entry:\n%s", assoc.Detail)
	}
	if strings.Contains(assoc.Detail, "Hypertensive") {
		t.Errorf("hypertension is not associated with cramps in the knowledge base:\n%s", assoc.Detail)
	}
	// The distinguishing features of conditions.yaml.
	for _, s := range []string{"Restless legs syndrome", "(Condition/cond-rls)", "an urge to move the legs rather than painful muscle contractions"} {
		if !strings.Contains(diff.Detail, s) {
			t.Errorf("differential detail lacks %q:\n%s", s, diff.Detail)
		}
	}
}

func TestDifferentialCardAsksTheScreeningQuestion(t *testing.T) {
	t.Parallel()
	p := everyCardPrefetch()
	p[legcramps.PrefetchConditions] = searchset(legCramps, condition("cond-plm", "418763003", "Periodic limb movement disorder", "active"))
	cards := patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, p))
	last := cards[len(cards)-1]
	if last.Source.Topic.Code != legcramps.TopicDifferential {
		t.Fatalf("last card is %s, want a differential", last.Source.Topic.Code)
	}
	if want := "Ask the patient: *Does your bed partner complain that you have twitchy legs or make kicking movements in your sleep?*"; !strings.Contains(last.Detail, want) {
		t.Errorf("detail lacks the screening question of conditions.yaml:\n%s", last.Detail)
	}
}

func TestNoLegCrampsNoCardsUnlessScreening(t *testing.T) {
	t.Parallel()
	p := everyCardPrefetch()
	p[legcramps.PrefetchConditions] = searchset(oldCramps, hypertension) // resolved cramps do not trigger
	body := lcRequest(t, p)
	status, resp := invokePatientView(t, newServer(t, serverOptions{}), body)
	if status != http.StatusOK || string(resp) != `{"cards":[]}` {
		t.Errorf("without leg cramps: %d %s, want 200 {\"cards\":[]}", status, resp)
	}
	cards := patientViewCards(t, newServer(t, serverOptions{screening: true}), body)
	if diff := cmp.Diff([]string{"cramp-medication", "cramp-medication", "cramp-medication", "cramp-abnormal-lab", "cramp-missing-labs"}, topicsOf(cards)); diff != "" {
		t.Errorf("screening card topics (-want +got):\n%s", diff)
	}
}

func TestAbsentPrefetchWithoutAReadableServerIs412(t *testing.T) {
	t.Parallel()
	p := everyCardPrefetch()
	delete(p, legcramps.PrefetchObservations)
	status, resp := invokePatientView(t, newServer(t, serverOptions{}), lcRequest(t, p))
	if status != http.StatusPreconditionFailed {
		t.Fatalf("status %d (%s), want 412: never answer as if the labs were missing", status, resp)
	}
	if !strings.Contains(string(resp), `prefetch key \"observations\" is missing`) {
		t.Errorf("body %s does not name the observations key", resp)
	}
}

func TestNullObservationsMeanNoResults(t *testing.T) {
	t.Parallel()
	p := everyCardPrefetch()
	p[legcramps.PrefetchObservations] = nil // the EHR looked and found nothing
	cards := patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, p))
	for _, c := range cards {
		if c.Source.Topic.Code == legcramps.TopicMissingLabs {
			if got, want := len(c.Suggestions), 6; got != want {
				t.Errorf("%d order suggestions, want all %d work-ups", got, want)
			}
			return
		}
	}
	t.Error("no missing-labs card")
}

func TestSameRequestSameBytesAndUUIDsPerHookInstance(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{})
	body := lcRequest(t, everyCardPrefetch())
	_, first := invokePatientView(t, srv, body)
	_, second := invokePatientView(t, srv, body)
	if string(first) != string(second) {
		t.Error("the same request gave two different bodies")
	}
	other := strings.Replace(string(body), lcHookInstance, "0b7c1e50-3a66-4a4a-8f56-1b1c6f1e2f31", 1)
	a, b := patientViewCards(t, srv, body), patientViewCards(t, srv, []byte(other))
	if a[0].UUID == b[0].UUID {
		t.Error("two hook instances gave the same card uuid")
	}
}

func TestPatientViewDiscoveryNarrowsObservationsToWorkupCodes(t *testing.T) {
	t.Parallel()
	kb, err := knowledge.Load()
	if err != nil {
		t.Fatal(err)
	}
	p := legcramps.PatientViewPrefetch(kb)
	obs := p[legcramps.PrefetchObservations]
	for _, lab := range kb.Labs() {
		for _, c := range lab.Results {
			if !strings.Contains(obs, "http://loinc.org|"+c.Code) {
				t.Errorf("observations template lacks %s (%s)", c.Code, lab.ID)
			}
		}
	}
	if !strings.HasPrefix(obs, "Observation?patient={{context.patientId}}&code=") {
		t.Errorf("observations template %q", obs)
	}
	for key, tmpl := range p {
		if err := fhir.ValidateTemplate(tmpl); err != nil {
			t.Errorf("template %s: %v", key, err)
		}
	}
	keys := slices.Sorted(maps.Keys(p))
	want := []string{legcramps.PrefetchConditions, legcramps.PrefetchMedicationRequests, legcramps.PrefetchMedicationStatements,
		legcramps.PrefetchObservations, legcramps.PrefetchPatient}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("prefetch keys (-want +got):\n%s", diff)
	}
}

func TestKnowledgeIsServedWithoutAuthentication(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{})
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/knowledge", nil))
	if w.Code != http.StatusOK || w.Body.String() != `{"version":"test"}` || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("GET /knowledge = %d %q (%s)", w.Code, w.Body.String(), w.Header().Get("Content-Type"))
	}
}

func TestServicesNeedTheirDependencies(t *testing.T) {
	t.Parallel()
	kb, err := knowledge.Load()
	if err != nil {
		t.Fatal(err)
	}
	g := fhir.NewGatherer(fhir.GathererOptions{})
	now := func() time.Time { return testNow }
	for name, env := range map[string]legcramps.Env{
		"no knowledge": {Gatherer: g, Now: now},
		"no gatherer":  {Knowledge: kb, Now: now},
		"no clock":     {Knowledge: kb, Gatherer: g},
	} {
		if _, err := legcramps.NewPatientView(env, false); err == nil {
			t.Errorf("%s: NewPatientView succeeded", name)
		}
		if _, err := legcramps.NewInducingOrder(env); err == nil {
			t.Errorf("%s: NewInducingOrder succeeded", name)
		}
	}
}

func TestClassOnlyMedicationCard(t *testing.T) {
	t.Parallel()
	p := everyCardPrefetch()
	// C03AA08 (methyclothiazide) lies under the thiazide root C03AA; the base lists no such ingredient.
	p[legcramps.PrefetchMedicationRequests] = searchset(activeMR("mr-atc", obj{
		"text":   "Methyclothiazide 5 mg tablet",
		"coding": []obj{{"system": "http://www.whocc.no/atc", "code": "C03AA08"}},
	}))
	p[legcramps.PrefetchMedicationStatements] = searchset()
	cards := patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, p))
	c := cards[0]
	if want := "A drug of the class thiazide and thiazide-like diuretics can cause leg cramps: review this drug"; c.Summary != want {
		t.Errorf("summary %q, want %q", c.Summary, want)
	}
	for _, s := range []string{"**Methyclothiazide 5 mg tablet**", "ATC C03AA08", "(MedicationRequest/mr-atc)"} {
		if !strings.Contains(c.Detail, s) {
			t.Errorf("detail lacks %q:\n%s", s, c.Detail)
		}
	}
}
