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
	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
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
		legcramps.PrefetchServiceRequests: searchset(),
	}
}

// labOrder is an active order of a LOINC code, as the EHR returns it for the
// serviceRequests prefetch.
func labOrder(id, loinc, text string) obj {
	return obj{
		"resourceType": "ServiceRequest", "id": id, "status": "active", "intent": "order",
		"code":       obj{"coding": []obj{{"system": fhir.SystemLOINC, "code": loinc}}, "text": text},
		"subject":    obj{"reference": "Patient/" + orderPatient},
		"authoredOn": "2025-05-30",
	}
}

// cardOf returns the one card of the topic, failing the test when there is
// not exactly one.
func cardOf(t *testing.T, cards []cdshooks.Card, topic string) cdshooks.Card {
	t.Helper()
	var found []cdshooks.Card
	for _, c := range cards {
		if c.Source.Topic.Code == topic {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s cards, want 1 (topics %v)", len(found), topic, topicsOf(cards))
	}
	return found[0]
}

// serviceRequestOf decodes the ServiceRequest an action creates.
type proposedOrder struct {
	ResourceType, Status, Intent string
	Code                         struct {
		Coding []struct{ System, Code, Display string }
		Text   string
	}
	Subject         struct{ Reference string }
	ReasonReference []struct{ Reference string }
}

func orderOf(t *testing.T, a cdshooks.Action) proposedOrder {
	t.Helper()
	var sr proposedOrder
	if err := json.Unmarshal(a.Resource, &sr); err != nil {
		t.Fatalf("action %q: resource is not JSON: %v", a.Description, err)
	}
	if a.Type != cdshooks.ActionCreate || sr.ResourceType != "ServiceRequest" || sr.Status != "draft" || sr.Intent != "proposal" {
		t.Errorf("action %q: %s %s/%s/%s, want create ServiceRequest/draft/proposal", a.Description, a.Type, sr.ResourceType, sr.Status, sr.Intent)
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
	return sr
}

// orderedCodes lists the LOINC codes a suggestion's actions order.
func orderedCodes(t *testing.T, s cdshooks.Suggestion) []string {
	t.Helper()
	var codes []string
	for _, a := range s.Actions {
		codes = append(codes, orderOf(t, a).Code.Coding[0].Code)
	}
	return codes
}

// absentKey, as a prefetch value, leaves the key out of the request.
const absentKey = "absent"

func lcRequest(t *testing.T, prefetch obj) []byte {
	t.Helper()
	req := obj{
		"hookInstance": lcHookInstance, "hook": "patient-view", "fhirServer": "http://127.0.0.1:8081",
		"context": obj{"patientId": orderPatient, "userId": "Practitioner/doc-1"},
	}
	if prefetch != nil {
		// An EHR that honours the templates sends the orders too: none,
		// unless the test says otherwise (absentKey leaves the key out).
		p := obj{legcramps.PrefetchServiceRequests: searchset()}
		for k, v := range prefetch {
			p[k] = v
		}
		for k, v := range p {
			if v == absentKey {
				delete(p, k)
			}
		}
		req["prefetch"] = p
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
	// Warnings (the low magnesium, then every drug in one card) before
	// information (the look-alike disorder, then the work-up); heart failure
	// is a line on the first information card, not a card of its own.
	want := []string{"cramp-medication", "cramp-abnormal-lab", "cramp-differential", "cramp-missing-labs"}
	if diff := cmp.Diff(want, topicsOf(cards)); diff != "" {
		t.Fatalf("card topics (-want +got):\n%s", diff)
	}
	seen := map[string]bool{}
	for i, c := range cards {
		if topic, ok := legcrampsTopics(t).TopicOf(c.UUID); !ok || topic != c.Source.Topic.Code {
			t.Errorf("card %d: TopicOfCard(%s) = %q, %v; want %q", i, c.UUID, topic, ok, c.Source.Topic.Code)
		}
		if seen[c.UUID] {
			t.Errorf("card %d: uuid %s used twice", i, c.UUID)
		}
		seen[c.UUID] = true
		if !strings.HasPrefix(c.Source.Label, "cramp-cds knowledge ") || !strings.HasPrefix(c.Source.URL, testPublicURL+"/knowledge#") {
			t.Errorf("card %d: source %q %q, want the knowledge label and URL", i, c.Source.Label, c.Source.URL)
		}
		if len(c.Links) != 1 || c.Links[0].URL != c.Source.URL || c.Links[0].Type != cdshooks.LinkAbsolute || c.Links[0].Label == "" {
			t.Errorf("card %d: links %+v, want one absolute link to source.url %s", i, c.Links, c.Source.URL)
		}
		// One sources line, plain text: a link inside the detail would take the EHR's tab away (issue 28);
		// the card's link opens the knowledge page. No seed file on the card.
		if !strings.Contains(c.Detail, "\nSources: ") || strings.Contains(c.Detail, "](") || strings.Contains(c.Detail, "http") {
			t.Errorf("card %d (%s) has no plain sources line, or a link in its detail:\n%s", i, c.Summary, c.Detail)
		}
		if strings.Contains(c.Detail, ".txt") || strings.Contains(c.Detail, "seed") {
			t.Errorf("card %d (%s) shows a seed file:\n%s", i, c.Summary, c.Detail)
		}
	}
	for i := 1; i < len(cards); i++ {
		if cards[i-1].Indicator == cdshooks.IndicatorInfo && cards[i].Indicator != cdshooks.IndicatorInfo {
			t.Errorf("a %s card after an info card", cards[i].Indicator)
		}
	}
}

func TestMedicationCardNamesEveryDrugAsTheRecordDoes(t *testing.T) {
	t.Parallel()
	c := cardOf(t, patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, everyCardPrefetch())), legcramps.TopicMedication)
	if want := "Drugs that can cause leg cramps: hydrochlorothiazide, amlodipine, simvastatin"; c.Summary != want {
		t.Errorf("summary %q, want %q", c.Summary, want)
	}
	for _, s := range []string{
		"**Hydrochlorothiazide 25 MG Oral Tablet** (thiazide and thiazide-like diuretics",
		// medicationReference to a contained Medication.
		// Seed 000 (a clinical summary with no reference list) names CCBs at line 17, citing its
		// ref 3 rather than the ref 1 behind "strongly predispose"; seed 004, a patient leaflet,
		// names them too (line 17). Neither is a leaflet-only claim.
		"**Amlodipine 5 MG Oral Tablet** (calcium channel blockers, recorded 2024-01-10; reported by one clinical summary and patient leaflets)",
		// Text only: flagged, and said to be recognised by name.
		"**Simvastatin 20mg at night** (statins, recorded 2024-02-01; reported by patient leaflets only; recognised by name only)",
	} {
		if !strings.Contains(c.Detail, s) {
			t.Errorf("detail lacks %q:\n%s", s, c.Detail)
		}
	}
	for _, s := range []string{"Ibuprofen", "MedicationRequest/", "MedicationStatement/", "RxNorm"} {
		if strings.Contains(c.Detail, s) {
			t.Errorf("detail shows %q (a stopped drug or internal text):\n%s", s, c.Detail)
		}
	}
	if c.Indicator != cdshooks.IndicatorWarning || !strings.HasSuffix(c.Source.URL, "#medications") {
		t.Errorf("indicator %s, source.url %s; want warning and the medications section", c.Indicator, c.Source.URL)
	}
	if diff := cmp.Diff(legcramps.MedicationOverrideReasons(), c.OverrideReasons); diff != "" {
		t.Errorf("override reasons (-want +got):\n%s", diff)
	}
}

func TestAbnormalLabCardShowsTheRecordedAndConvertedValue(t *testing.T) {
	t.Parallel()
	c := cardOf(t, patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, everyCardPrefetch())), legcramps.TopicAbnormalLab)
	if want := "Magnesium 0.5 mmol/L on 2025-05-20: hypomagnesemia"; c.Summary != want {
		t.Errorf("summary %q, want %q", c.Summary, want)
	}
	// 0.5 mmol/L x 2.431 = 1.2155 mg/dL (labs.yaml); the threshold is < 1.6 mg/dL.
	for _, s := range []string{"**Magnesium 0.5 mmol/L** on 2025-05-20", "threshold \\< 1.6 mg/dL", "1.21"} {
		if !strings.Contains(c.Detail, s) {
			t.Errorf("detail lacks %q:\n%s", s, c.Detail)
		}
	}
	if strings.Contains(c.Detail, "Observation/") || strings.Contains(c.Detail, "terminology.md") {
		t.Errorf("detail shows a FHIR id or a curator's source:\n%s", c.Detail)
	}
	if !strings.HasSuffix(c.Source.URL, "#lab-magnesium") {
		t.Errorf("source.url %q, want the magnesium lab", c.Source.URL)
	}
}

func TestMissingLabsCardOrdersTheWorkupAsALabWould(t *testing.T) {
	t.Parallel()
	c := cardOf(t, patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, everyCardPrefetch())), legcramps.TopicMissingLabs)
	if c.Indicator != cdshooks.IndicatorInfo || c.SelectionBehavior != cdshooks.SelectAny {
		t.Errorf("indicator %s, selectionBehavior %s; want info, any", c.Indicator, c.SelectionBehavior)
	}
	// Magnesium and potassium have results; the calcium result was entered in error.
	type want struct {
		label       string
		recommended bool
		codes       []string
	}
	wants := []want{
		// Calcium and creatinine in one basic metabolic panel (24321-2),
		// recommended as hydrochlorothiazide points to renal function
		// (knowledge/data/labs.yaml); TSH and HbA1c on their own, nothing
		// on record pointing to them.
		{"Order basic metabolic panel (calcium, creatinine)", true, []string{"24321-2"}},
		{"Order TSH", false, []string{"3016-3"}},
		{"Order HbA1c", false, []string{"4548-4"}},
	}
	var got []want
	uuids := map[string]bool{}
	for _, s := range c.Suggestions {
		if s.UUID == "" || uuids[s.UUID] {
			t.Errorf("suggestion %q: uuid %q missing or repeated", s.Label, s.UUID)
		}
		uuids[s.UUID] = true
		got = append(got, want{s.Label, s.IsRecommended, orderedCodes(t, s)})
	}
	if diff := cmp.Diff(wants, got, cmp.AllowUnexported(want{})); diff != "" {
		t.Errorf("suggestions (-want +got):\n%s", diff)
	}
	for _, s := range []string{
		"No result under the recognised codes in 12 months (since 2024-06-01):",
		"- Calcium: none", "- Thyroid function: none", "- Renal function: none",
	} {
		if !strings.Contains(c.Detail, s) {
			t.Errorf("detail lacks %q:\n%s", s, c.Detail)
		}
	}
}

// TestMissingLabsCardProposesNothingAlreadyOrdered: an active order of a
// panel covers its tests, and an order of a test's own code covers it.
func TestMissingLabsCardProposesNothingAlreadyOrdered(t *testing.T) {
	t.Parallel()
	p := everyCardPrefetch()
	p[legcramps.PrefetchServiceRequests] = searchset(labOrder("sr-bmp", "24321-2", "Basic metabolic panel"))
	c := cardOf(t, patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, p)), legcramps.TopicMissingLabs)
	var labels []string
	for _, s := range c.Suggestions {
		labels = append(labels, s.Label)
	}
	if diff := cmp.Diff([]string{"Order TSH", "Order HbA1c"}, labels); diff != "" {
		t.Errorf("suggestions (-want +got):\n%s", diff)
	}
	for _, s := range []string{"- Calcium: already ordered 2025-05-30", "- Renal function: already ordered 2025-05-30"} {
		if !strings.Contains(c.Detail, s) {
			t.Errorf("detail lacks %q:\n%s", s, c.Detail)
		}
	}

	// One test left to order: its own suggestion, recommended only as the
	// record points to it (nothing does here).
	p[legcramps.PrefetchServiceRequests] = searchset(labOrder("sr-bmp", "24321-2", "BMP"), labOrder("sr-tsh", "3016-3", "TSH"))
	c = cardOf(t, patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, p)), legcramps.TopicMissingLabs)
	if len(c.Suggestions) != 1 || c.Suggestions[0].Label != "Order HbA1c" || c.Suggestions[0].IsRecommended {
		t.Errorf("suggestions %+v, want only Order HbA1c, not recommended", c.Suggestions)
	}

	// Everything on order: nothing to propose, no card.
	p[legcramps.PrefetchServiceRequests] = searchset(labOrder("sr-bmp", "24321-2", "BMP"), labOrder("sr-tsh", "3016-3", "TSH"),
		labOrder("sr-a1c", "4548-4", "HbA1c"))
	for _, card := range patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, p)) {
		if card.Source.Topic.Code == legcramps.TopicMissingLabs {
			t.Errorf("a missing-labs card with every test on order:\n%s", card.Detail)
		}
	}
}

// TestMissingLabsCardShowsTheOlderResultsValue: a result before the window
// is shown with its value and date.
func TestMissingLabsCardShowsTheOlderResultsValue(t *testing.T) {
	t.Parallel()
	p := everyCardPrefetch()
	p[legcramps.PrefetchObservations] = searchset(
		lcObservation("obs-mg", "19123-9", 0.5, "mmol/L", "2025-05-20"),
		lcObservation("obs-k-old", "2823-3", 3.9, "mmol/L", "2023-03-14"),
	)
	c := cardOf(t, patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, p)), legcramps.TopicMissingLabs)
	if want := "- Potassium: last 3.9 mmol/L on 2023-03-14"; !strings.Contains(c.Detail, want) {
		t.Errorf("detail lacks %q:\n%s", want, c.Detail)
	}
}

func TestConditionsAreALineUnlessNothingElseSpeaks(t *testing.T) {
	t.Parallel()
	cards := patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, everyCardPrefetch()))
	diff := cardOf(t, cards, legcramps.TopicDifferential)
	if want := "Restless legs syndrome on record: tell it apart from leg cramps"; diff.Summary != want {
		t.Errorf("differential summary %q, want %q", diff.Summary, want)
	}
	// The distinguishing feature of conditions.yaml, and heart failure as a line, graded as its
	// sources are: seed 000 line 41 (a clinical summary) and seed 004 line 19 (a patient leaflet).
	for _, s := range []string{"**Restless legs syndrome** is on record (Restless legs since 2024-11-02)", "an urge to move",
		"Also on record, associated with cramps: Chronic congestive heart failure (reported by one clinical summary and patient leaflets)."} {
		if !strings.Contains(diff.Detail, s) {
			t.Errorf("differential detail lacks %q:\n%s", s, diff.Detail)
		}
	}
	for _, c := range cards {
		if strings.Contains(c.Detail, "Hypertensive") {
			t.Errorf("hypertension is not associated with cramps in the knowledge base:\n%s", c.Detail)
		}
	}

	// Every work-up test recent and normal, no drug, no look-alike: heart
	// failure is all there is to say, on a card of its own.
	p := everyCardPrefetch()
	p[legcramps.PrefetchConditions] = searchset(legCramps, condition("cond-hf", "88805009", "Chronic congestive heart failure", "active"))
	p[legcramps.PrefetchMedicationRequests] = searchset()
	p[legcramps.PrefetchMedicationStatements] = searchset()
	p[legcramps.PrefetchObservations] = searchset(
		lcObservation("obs-k", "2823-3", 4.2, "mmol/L", "2025-05-20"),
		lcObservation("obs-mg", "19123-9", 2.0, "mg/dL", "2025-05-20"),
		lcObservation("obs-ca", "17861-6", 9.5, "mg/dL", "2025-05-20"),
		lcObservation("obs-tsh", "3016-3", 2.0, "m[IU]/L", "2025-05-20"),
		lcObservation("obs-a1c", "4548-4", 5.4, "%", "2025-05-20"),
		lcObservation("obs-cr", "2160-0", 0.9, "mg/dL", "2025-05-20"),
	)
	cards = patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, p))
	assoc := cardOf(t, cards, legcramps.TopicAssociatedCondition)
	if len(cards) != 1 || assoc.Summary != "Associated with leg cramps: heart failure" {
		t.Errorf("cards %v, summary %q; want one card, Associated with leg cramps: heart failure", topicsOf(cards), assoc.Summary)
	}
}

func TestDifferentialCardAsksTheScreeningQuestion(t *testing.T) {
	t.Parallel()
	p := everyCardPrefetch()
	p[legcramps.PrefetchConditions] = searchset(legCramps, condition("cond-plm", "418763003", "Periodic limb movement disorder", "active"))
	c := cardOf(t, patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, p)), legcramps.TopicDifferential)
	if want := "Ask: *Does your bed partner complain that you have twitchy legs or make kicking movements in your sleep?*"; !strings.Contains(c.Detail, want) {
		t.Errorf("detail lacks the screening question of conditions.yaml:\n%s", c.Detail)
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
	if diff := cmp.Diff([]string{"cramp-medication", "cramp-abnormal-lab", "cramp-missing-labs"}, topicsOf(cards)); diff != "" {
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
	c := cardOf(t, patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, p)), legcramps.TopicMissingLabs)
	// All six tests: a panel for potassium, calcium and creatinine;
	// magnesium, TSH and HbA1c on their own.
	var codes []string
	for _, s := range c.Suggestions {
		codes = append(codes, orderedCodes(t, s)...)
	}
	if want := []string{"24321-2", "19123-9", "3016-3", "4548-4"}; !slices.Equal(codes, want) {
		t.Errorf("the suggestions order %v, want %v", codes, want)
	}
}

// TestOrderSuggestionsChosenTogetherOrderEachTestOnce: whatever set of the
// missing-labs card's suggestions its selectionBehavior lets a clinician
// accept, the EHR creates each work-up test's order once: never the same code
// twice, nor a panel and a test it covers.
func TestOrderSuggestionsChosenTogetherOrderEachTestOnce(t *testing.T) {
	t.Parallel()
	kb := loadKnowledge(t)
	// What each orderable code measures: a test's own order, or a panel's
	// (its order or the codes that cover the same tests).
	measures := map[string][]string{}
	for _, wu := range kb.Workups() {
		measures[wu.Order.Code] = []string{wu.ID}
	}
	for _, p := range kb.Panels() {
		for _, c := range append([]knowledge.Code{p.Order}, p.Also...) {
			measures[c.Code] = p.Covers
		}
	}
	bmpOrdered := everyCardPrefetch()
	bmpOrdered[legcramps.PrefetchServiceRequests] = searchset(labOrder("sr-bmp", "24321-2", "Basic metabolic panel"))
	noResults := everyCardPrefetch()
	noResults[legcramps.PrefetchObservations] = nil
	tests := []struct {
		name     string
		prefetch obj
	}{
		{"calcium, TSH, HbA1c and creatinine missing", everyCardPrefetch()},
		{"TSH and HbA1c missing, the panel on order", bmpOrdered},
		{"all six missing", noResults},
		{"all six missing, on furosemide", reviewPatient([]obj{activeMR("mr-furo", furosemide)})},
	}
	srv := newServer(t, serverOptions{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := cardOf(t, patientViewCards(t, srv, lcRequest(t, tt.prefetch)), legcramps.TopicMissingLabs)
			// The choices the card allows: each suggestion alone, and with
			// any each pair (a larger choice duplicates only if a pair does).
			choices := [][]cdshooks.Suggestion{}
			for i, s := range c.Suggestions {
				choices = append(choices, []cdshooks.Suggestion{s})
				if c.SelectionBehavior != cdshooks.SelectAny {
					continue
				}
				for _, other := range c.Suggestions[i+1:] {
					choices = append(choices, []cdshooks.Suggestion{s, other})
				}
			}
			for _, choice := range choices {
				var labels []string
				orderedBy := map[string]string{} // work-up test: the code that orders it
				for _, s := range choice {
					labels = append(labels, s.Label)
					for _, code := range orderedCodes(t, s) {
						tests, known := measures[code]
						if !known {
							t.Errorf("%q orders %s, which is no work-up test or panel", s.Label, code)
						}
						for _, wu := range tests {
							if first, twice := orderedBy[wu]; twice {
								t.Errorf("accepting %q orders %s twice (%s and %s)", labels, wu, first, code)
							}
							orderedBy[wu] = code
						}
					}
				}
			}
		})
	}
}

// TestAbsentServiceRequestsWithoutAReadableServerIs412: without the orders we
// could propose one already placed.
func TestAbsentServiceRequestsWithoutAReadableServerIs412(t *testing.T) {
	t.Parallel()
	p := everyCardPrefetch()
	p[legcramps.PrefetchServiceRequests] = absentKey
	status, resp := invokePatientView(t, newServer(t, serverOptions{}), lcRequest(t, p))
	if status != http.StatusPreconditionFailed || !strings.Contains(string(resp), `prefetch key \"serviceRequests\" is missing`) {
		t.Errorf("status %d (%s), want 412 naming serviceRequests", status, resp)
	}
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
	kb := loadKnowledge(t)
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
	if got, want := p[legcramps.PrefetchServiceRequests], "ServiceRequest?patient={{context.patientId}}&status=active,draft"; got != want {
		t.Errorf("serviceRequests template %q, want %q", got, want)
	}
	keys := slices.Sorted(maps.Keys(p))
	want := []string{legcramps.PrefetchConditions, legcramps.PrefetchMedicationRequests, legcramps.PrefetchMedicationStatements,
		legcramps.PrefetchObservations, legcramps.PrefetchPatient, legcramps.PrefetchServiceRequests}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("prefetch keys (-want +got):\n%s", diff)
	}
}

func TestKnowledgeIsServedWithoutAuthentication(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{})
	for _, tc := range []struct{ target, accept, contentType string }{
		{"/knowledge", "text/html", "text/html; charset=utf-8"},
		{"/knowledge", "application/json", "application/json"},
		{"/knowledge?format=json", "", "application/json"},
	} {
		w := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, tc.target, nil)
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		srv.Handler().ServeHTTP(w, req)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != tc.contentType || !strings.Contains(w.Body.String(), "thiazide") {
			t.Errorf("GET %s (Accept %q) = %d (%s), want 200 %s with the knowledge base", tc.target, tc.accept, w.Code, w.Header().Get("Content-Type"), tc.contentType)
		}
	}
}

func TestServicesNeedTheirDependencies(t *testing.T) {
	t.Parallel()
	kb := loadKnowledge(t)
	g := fhir.NewGatherer(fhir.GathererOptions{})
	now := func() time.Time { return testNow }
	for name, env := range map[string]legcramps.Env{
		"no knowledge": {Env: kit.Env{Gatherer: g, Now: now}},
		"no gatherer":  {Env: kit.Env{Now: now}, Knowledge: kb},
		"no clock":     {Env: kit.Env{Gatherer: g}, Knowledge: kb},
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
	c := cardOf(t, patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, p)), legcramps.TopicMedication)
	if want := "Thiazide and thiazide-like diuretics can cause leg cramps: review it"; c.Summary != want {
		t.Errorf("summary %q, want %q", c.Summary, want)
	}
	if want := "**Methyclothiazide 5 mg tablet** (thiazide and thiazide-like diuretics"; !strings.Contains(c.Detail, want) {
		t.Errorf("detail lacks %q:\n%s", want, c.Detail)
	}
	if !strings.HasSuffix(c.Source.URL, "#class-thiazide-diuretic") {
		t.Errorf("source.url %q, want the thiazide class", c.Source.URL)
	}
}

// TestResultsCardClaimsNoMoreThanTheSeeds checks the abnormal-result card's
// causal wording against seed 000: electrolytes "can exacerbate cramps"
// (line 20), and "correction alone may not resolve cramps" (line 23). It
// must not say the results explain the cramps or that correcting them eases
// them (clinician review finding).
func TestResultsCardClaimsNoMoreThanTheSeeds(t *testing.T) {
	t.Parallel()
	c := cardOf(t, patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, everyCardPrefetch())), legcramps.TopicAbnormalLab)
	if want := "Correcting an abnormal result alone may not resolve the cramps."; !strings.Contains(c.Detail, want) {
		t.Errorf("detail lacks %q:\n%s", want, c.Detail)
	}
	for _, claim := range []string{"explain", "may ease"} {
		if strings.Contains(c.Summary+c.Detail+c.Source.Topic.Display, claim) {
			t.Errorf("card claims %q:\nsummary %s\ntopic %s\n%s", claim, c.Summary, c.Source.Topic.Display, c.Detail)
		}
	}
}
