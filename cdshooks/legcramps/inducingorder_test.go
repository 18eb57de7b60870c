package legcramps_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/fhir"
)

// record is the prefetch for the patient (an adult), their conditions and
// active medications, every key of InducingOrderPrefetch present.
func record(conditions []obj, meds ...obj) obj {
	return obj{
		legcramps.PrefetchPatient:              obj{"resourceType": "Patient", "id": orderPatient, "gender": "female", "birthDate": "1950-04-12"},
		legcramps.PrefetchConditions:           searchset(conditions...),
		legcramps.PrefetchMedicationRequests:   searchset(meds...),
		legcramps.PrefetchMedicationStatements: searchset(),
	}
}

// orderRequest builds an order hook request; selections is only sent for
// order-select. Each draft is a resource, or a whole Bundle entry (with
// "resource" and "fullUrl").
func orderRequest(t *testing.T, hook string, selections []string, prefetch obj, drafts ...obj) string {
	t.Helper()
	entries := make([]obj, 0, len(drafts))
	for _, d := range drafts {
		if _, isEntry := d["resource"]; isEntry {
			entries = append(entries, d) // an entry with its fullUrl
			continue
		}
		entries = append(entries, obj{"resource": d})
	}
	ctx := obj{
		"userId": "Practitioner/doc-1", "patientId": orderPatient,
		"draftOrders": obj{"resourceType": "Bundle", "type": "collection", "entry": entries},
	}
	if hook == cdshooks.HookOrderSelect {
		ctx["selections"] = selections
	}
	req := obj{"hook": hook, "hookInstance": "2d5d9f9a-6f0b-4a55-9b36-7a1c1d3b8e10", "context": ctx}
	if prefetch != nil {
		req["prefetch"] = prefetch
	}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// post sends a request to the order service and returns the status and body.
func post(t *testing.T, srv *cdshooks.Server, body string) (int, []byte) {
	t.Helper()
	return invoke(t, srv, legcramps.InducingOrderID, []byte(body))
}

// orderCards posts body to the order service and returns its cards.
func orderCards(t *testing.T, srv *cdshooks.Server, body string) []cdshooks.Card {
	t.Helper()
	return mustCards(t, srv, legcramps.InducingOrderID, []byte(body))
}

// deleted returns the resourceIds the cards' delete actions remove, in order.
func deleted(cards []cdshooks.Card) []string {
	var ids []string
	for _, c := range cards {
		for _, s := range c.Suggestions {
			for _, a := range s.Actions {
				if a.Type == cdshooks.ActionDelete {
					ids = append(ids, a.ResourceID)
				}
			}
		}
	}
	return ids
}

// Each order hook has its own discovery id: the CDS Hooks sandbox keys
// services by id, and with one id for both hooks its Rx View (order-select)
// had no service left. The old shared id still answers both, unlisted.
func TestOrderDiscoveryListsEachHookUnderItsOwnID(t *testing.T) {
	t.Parallel()
	h := newServer(t, serverOptions{}).Handler()
	req := httptest.NewRequest(http.MethodGet, "/cds-services", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var d struct {
		Services []cdshooks.ServiceDefinition `json:"services"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil {
		t.Fatalf("discovery is not JSON: %v", err)
	}
	hooks := map[string][]string{}
	for _, s := range d.Services {
		hooks[s.ID] = append(hooks[s.ID], s.Hook)
		if s.ID != legcramps.InducingOrderSelectID && s.ID != legcramps.InducingOrderSignID {
			continue
		}
		want := map[string]string{
			"patient":              "Patient/{{context.patientId}}",
			"conditions":           "Condition?patient={{context.patientId}}",
			"medicationRequests":   "MedicationRequest?patient={{context.patientId}}&status=active",
			"medicationStatements": "MedicationStatement?patient={{context.patientId}}&status=active",
		}
		if diff := cmp.Diff(want, s.Prefetch); diff != "" {
			t.Errorf("%s prefetch (-want +got):\n%s", s.Hook, diff)
		}
	}
	want := map[string][]string{legcramps.PatientViewID: {"patient-view"},
		legcramps.InducingOrderSelectID: {"order-select"}, legcramps.InducingOrderSignID: {"order-sign"}}
	if diff := cmp.Diff(want, hooks); diff != "" {
		t.Errorf("hooks (-want +got):\n%s", diff)
	}
}

func TestOrderSelectWarnsOnlyAboutTheSelectedDrafts(t *testing.T) {
	t.Parallel()
	h := newServer(t, serverOptions{})
	rec := record([]obj{legCramps, hypertension})
	drafts := []obj{draftMR("hctz-1", hctz), draftMR("lis-1", lisinopril)}
	tests := []struct {
		name       string
		selections []string
		want       []string // resourceIds of the delete actions
	}{
		{"cramp drug selected", []string{"MedicationRequest/hctz-1"}, []string{"MedicationRequest/hctz-1"}},
		// hctz-1 is still in draftOrders, but it was selected earlier: it
		// had its card then.
		{"cramp drug not selected", []string{"MedicationRequest/lis-1"}, nil},
		{"both selected", []string{"MedicationRequest/lis-1", "MedicationRequest/hctz-1"}, []string{"MedicationRequest/hctz-1"}},
		{"nothing selected", []string{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cards := orderCards(t, h, orderRequest(t, cdshooks.HookOrderSelect, tt.selections, rec, drafts...))
			if diff := cmp.Diff(tt.want, deleted(cards)); diff != "" {
				t.Errorf("deleted drafts (-want +got):\n%s", diff)
			}
			if got, want := len(cards), len(tt.want); got != want {
				t.Errorf("got %d cards, want %d", got, want)
			}
		})
	}
}

func TestOrderSignWarnsAboutEachCrampDrugAmongTheDrafts(t *testing.T) {
	t.Parallel()
	h := newServer(t, serverOptions{})
	rec := record([]obj{legCramps})
	tests := []struct {
		name   string
		drafts []obj
		want   []string
	}{
		{"one cramp drug among three", []obj{draftMR("lis-1", lisinopril), draftMR("hctz-1", hctz), draftMR("met-1", metformin)},
			[]string{"MedicationRequest/hctz-1"}},
		// Both get a card; only the diuretic (strong evidence) is proposed for removal, not the statin (reported).
		{"two cramp drugs, in draft order", []obj{draftMR("statin-1", atorvastatn), draftMR("lis-1", lisinopril), draftMR("hctz-1", hctz)},
			[]string{"MedicationRequest/hctz-1"}},
		{"no cramp drug", []obj{draftMR("lis-1", lisinopril), draftMR("met-1", metformin)}, nil},
		{"no drafts", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cards := orderCards(t, h, orderRequest(t, cdshooks.HookOrderSign, nil, rec, tt.drafts...))
			if diff := cmp.Diff(tt.want, deleted(cards)); diff != "" {
				t.Errorf("deleted drafts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOrderCardSaysWhatIsOrderedWhyAndWhatThePatientTakes(t *testing.T) {
	t.Parallel()
	h := newServer(t, serverOptions{})
	stopped := activeMR("furo-old", rxnorm("197417", "Bumetanide 0.5 MG Oral Tablet"))
	stopped["status"] = "stopped"
	rec := record([]obj{legCramps, hypertension}, activeMR("furo-1", furosemide), activeMR("lis-0", lisinopril), stopped)
	body := orderRequest(t, cdshooks.HookOrderSelect, []string{"MedicationRequest/hctz-1"}, rec, draftMR("hctz-1", hctz))
	cards := orderCards(t, h, body)
	if len(cards) != 1 {
		t.Fatalf("got %d cards, want 1", len(cards))
	}
	c := cards[0]

	if got, want := c.Indicator, cdshooks.IndicatorWarning; got != want {
		t.Errorf("indicator = %q, want %q", got, want)
	}
	if !strings.Contains(c.Summary, "Hydrochlorothiazide 25 MG Oral Tablet") {
		t.Errorf("summary %q does not name the drug as ordered", c.Summary)
	}
	if c.Source.Topic == nil || c.Source.Topic.Code != "cramp-inducing-order" {
		t.Errorf("source.topic = %+v, want code cramp-inducing-order", c.Source.Topic)
	}
	if topic, ok := legcrampsTopics(t).TopicOf(c.UUID); !ok || topic != "cramp-inducing-order" {
		t.Errorf("TopicOfCard(%q) = %q, %v; want cramp-inducing-order", c.UUID, topic, ok)
	}
	for _, want := range []string{
		"**Hydrochlorothiazide 25 MG Oral Tablet** is being ordered", // the drug as ordered
		// Its ingredient and class (knowledge/data/medications.yaml), and the patient's leg cramps.
		"hydrochlorothiazide (thiazide and thiazide-like diuretics) can cause leg cramps, and the patient has them (Cramp in lower leg).",
		// The cramp drug they already take, as the record names it.
		"Already taking drugs that can cause cramps: **Furosemide 40 MG Oral Tablet** (loop diuretics).",
		// The sources: the publication first (Garrison 2012, beyond the seeds), then seed 000 by its title
		// (its references are unlisted), as plain text.
		"Sources: Garrison et al., Arch Intern Med 2012; Causes of Nocturnal Muscle Cramps (summary)",
	} {
		if !strings.Contains(c.Detail, want) {
			t.Errorf("detail lacks %q:\n%s", want, c.Detail)
		}
	}
	for _, unwanted := range []string{"Lisinopril", "Bumetanide", "MedicationRequest/", "Condition/", ".txt"} {
		if strings.Contains(c.Detail, unwanted) {
			t.Errorf("detail names %q (not a current cramp drug):\n%s", unwanted, c.Detail)
		}
	}

	if got, want := c.SelectionBehavior, cdshooks.SelectAtMostOne; got != want {
		t.Errorf("selectionBehavior = %q, want %q", got, want)
	}
	if len(c.Suggestions) != 1 || len(c.Suggestions[0].Actions) != 1 {
		t.Fatalf("suggestions = %+v, want one with one action", c.Suggestions)
	}
	s := c.Suggestions[0]
	if s.UUID == "" || s.Label == "" {
		t.Errorf("suggestion uuid %q, label %q: want both", s.UUID, s.Label)
	}
	a := s.Actions[0]
	if got, want := a, (cdshooks.Action{Type: "delete", Description: a.Description, ResourceID: "MedicationRequest/hctz-1"}); !cmp.Equal(got, want) {
		t.Errorf("action = %+v, want %+v", got, want)
	}
	if a.Description == "" {
		t.Errorf("action has no description")
	}
	var reasons []string
	for _, r := range c.OverrideReasons {
		reasons = append(reasons, r.Code)
	}
	if !slices.Contains(reasons, legcramps.OverrideBenefitOutweighsRisk) {
		t.Errorf("override reasons %v lack %s", reasons, legcramps.OverrideBenefitOutweighsRisk)
	}

	// The same request gives the same card: uuids are derived, not random.
	if again := orderCards(t, h, body); !cmp.Equal(cards, again) {
		t.Errorf("second answer differs:\n%s", cmp.Diff(cards, again))
	}
}

func TestOrderCardWhenThePatientTakesNoOtherCrampDrug(t *testing.T) {
	t.Parallel()
	h := newServer(t, serverOptions{})
	// On a re-sign the order being revised is already active: it is the
	// draft, not a drug the patient "already takes".
	resign := activeMR("hctz-1", hctz)
	rec := record([]obj{legCramps}, resign, activeMR("lis-0", lisinopril))
	cards := orderCards(t, h, orderRequest(t, cdshooks.HookOrderSign, nil, rec, resign))
	if len(cards) != 1 {
		t.Fatalf("got %d cards, want 1", len(cards))
	}
	if want := "No other current drug on record can cause leg cramps"; !strings.Contains(cards[0].Detail, want) {
		t.Errorf("detail lacks %q:\n%s", want, cards[0].Detail)
	}
}

func TestOrderCombinationProductsCountPerIngredient(t *testing.T) {
	t.Parallel()
	h := newServer(t, serverOptions{})
	rec := record([]obj{legCramps})
	// A Medication holding the ingredients, referenced from the draft.
	contained := draftMR("combo-2", nil)
	delete(contained, "medicationCodeableConcept")
	contained["medicationReference"] = obj{"reference": "#med"}
	contained["contained"] = []obj{{
		"resourceType": "Medication", "id": "med",
		"code": obj{"text": "Water pill combination"},
		"ingredient": []obj{
			{"itemCodeableConcept": obj{"coding": []obj{{"system": fhir.SystemRxNorm, "code": "5487", "display": "hydrochlorothiazide"}}}},
			{"itemCodeableConcept": obj{"coding": []obj{{"system": fhir.SystemRxNorm, "code": "10763", "display": "triamterene"}}}},
		},
	}}
	tests := []struct {
		name  string
		draft obj
		want  []string // in the detail
		not   []string
	}{
		{"two cramp ingredients", draftMR("combo-1", hctzTriam),
			[]string{"hydrochlorothiazide (thiazide and thiazide-like diuretics) and triamterene (potassium-sparing diuretics) can cause"}, nil},
		{"one cramp ingredient beside one that is not", draftMR("combo-1", hctzLisino),
			[]string{"hydrochlorothiazide (thiazide and thiazide-like diuretics) can cause"}, []string{"lisinopril ("}},
		{"ingredients of a contained Medication", contained,
			[]string{"**Water pill combination** is being ordered", "hydrochlorothiazide (thiazide", "triamterene (potassium-sparing"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cards := orderCards(t, h, orderRequest(t, cdshooks.HookOrderSign, nil, rec, tt.draft))
			if len(cards) != 1 {
				t.Fatalf("got %d cards, want one per draft order", len(cards))
			}
			for _, w := range tt.want {
				if !strings.Contains(cards[0].Detail, w) {
					t.Errorf("detail lacks %q:\n%s", w, cards[0].Detail)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(cards[0].Detail, w) {
					t.Errorf("detail has %q:\n%s", w, cards[0].Detail)
				}
			}
		})
	}
}

func TestOrderNoCardsWithoutPresentLegCramps(t *testing.T) {
	t.Parallel()
	h := newServer(t, serverOptions{})
	tests := []struct {
		name       string
		conditions []obj
	}{
		{"no conditions", nil},
		{"other conditions only", []obj{hypertension}},
		{"leg cramps resolved", []obj{oldCramps, hypertension}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := record(tt.conditions, activeMR("furo-1", furosemide))
			for _, hook := range []string{cdshooks.HookOrderSelect, cdshooks.HookOrderSign} {
				cards := orderCards(t, h, orderRequest(t, hook, []string{"MedicationRequest/hctz-1"}, rec, draftMR("hctz-1", hctz)))
				if len(cards) != 0 {
					t.Errorf("%s: got %d cards, want none: %+v", hook, len(cards), cards)
				}
			}
		})
	}
}

func TestOrderDraftsThatAreNotBeingOrderedGetNoCard(t *testing.T) {
	t.Parallel()
	h := newServer(t, serverOptions{})
	rec := record([]obj{legCramps})
	withStatus := func(status string) obj {
		d := draftMR("hctz-1", hctz)
		d["status"] = status
		return d
	}
	doNot := draftMR("hctz-1", hctz)
	doNot["doNotPerform"] = true
	noDrug := draftMR("hctz-1", nil)
	delete(noDrug, "medicationCodeableConcept")
	tests := []struct {
		name  string
		draft obj
		cards int
	}{
		{"draft", withStatus("draft"), 1},
		{"re-signed active order", withStatus("active"), 1},
		{"cancelled", withStatus("cancelled"), 0},
		{"entered-in-error", withStatus("entered-in-error"), 0},
		{"do not perform", doNot, 0},
		{"no drug chosen yet", noDrug, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cards := orderCards(t, h, orderRequest(t, cdshooks.HookOrderSign, nil, rec, tt.draft))
			if got, want := len(cards), tt.cards; got != want {
				t.Errorf("got %d cards, want %d", got, want)
			}
		})
	}
}

func TestOrderMalformedDraftOrdersAre400(t *testing.T) {
	t.Parallel()
	h := newServer(t, serverOptions{})
	rec := record([]obj{legCramps})
	hctzDraft := draftMR("hctz-1", hctz)
	// withContext replaces context fields of a valid order-select request.
	withContext := func(fields obj) string {
		var req obj
		if err := json.Unmarshal([]byte(orderRequest(t, cdshooks.HookOrderSelect, []string{"MedicationRequest/hctz-1"}, rec, hctzDraft)), &req); err != nil {
			t.Fatal(err)
		}
		for k, v := range fields {
			req["context"].(obj)[k] = v
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	bundle := func(entries ...any) obj { return obj{"resourceType": "Bundle", "entry": entries} }
	otherPatient := draftMR("hctz-1", hctz)
	otherPatient["subject"] = obj{"reference": "https://ehr.example.org/fhir/Patient/someone-else"}
	badConcept := draftMR("hctz-1", nil)
	badConcept["medicationCodeableConcept"] = "hydrochlorothiazide"
	badStatus := draftMR("hctz-1", hctz)
	badStatus["status"] = 7
	// encoding/json, folding case, once read this draft as cancelled and
	// left it out; FHIR names are case-sensitive, and a prefetched resource
	// spelt so is skipped as unreadable.
	statusCased := draftMR("hctz-1", hctz)
	statusCased["Status"] = "cancelled"
	dangling := draftMR("hctz-1", nil)
	delete(dangling, "medicationCodeableConcept")
	dangling["medicationReference"] = obj{"reference": "Medication/not-in-the-bundle"}

	tests := []struct {
		name string
		body string
		want string // in the diagnostics
	}{
		{"draftOrders not a Bundle", withContext(obj{"draftOrders": obj{"resourceType": "MedicationRequest"}}), "context.draftOrders must be a FHIR Bundle"},
		{"draftOrders an array", withContext(obj{"draftOrders": []obj{hctzDraft}}), "context.draftOrders must be a FHIR Bundle"},
		{"entry not an array", withContext(obj{"draftOrders": obj{"resourceType": "Bundle", "entry": hctzDraft}}), "context.draftOrders.entry must be an array"},
		{"entry without resource", withContext(obj{"draftOrders": bundle(obj{"resource": obj{"resourceType": "MedicationRequest", "id": "hctz-1"}}, obj{"fullUrl": "urn:uuid:1"})}),
			"context.draftOrders.entry[1].resource is required"},
		{"entry not an object", withContext(obj{"draftOrders": bundle(obj{"resource": hctzDraft}, "MedicationRequest/x")}), "context.draftOrders.entry[1] must be an object"},
		{"resource without resourceType", withContext(obj{"draftOrders": bundle(obj{"resource": obj{"id": "hctz-1"}})}), "context.draftOrders.entry[0].resource must be a FHIR resource"},
		{"selection not among the drafts", withContext(obj{"selections": []string{"MedicationRequest/elsewhere"}}), "context.selections[0] must reference an entry of context.draftOrders"},
		{"medication concept a string", withContext(obj{"draftOrders": bundle(obj{"resource": badConcept})}), "context.draftOrders.entry[0].resource cannot be read as a MedicationRequest"},
		{"status a number", withContext(obj{"draftOrders": bundle(obj{"resource": badStatus})}), "context.draftOrders.entry[0].resource.status has the wrong JSON type"},
		{"status in another letter case", withContext(obj{"draftOrders": bundle(obj{"resource": statusCased})}),
			"context.draftOrders.entry[0].resource cannot be read as a MedicationRequest: member status is spelt in another letter case"},
		{"resource in another letter case", withContext(obj{"draftOrders": bundle(obj{"Resource": hctzDraft})}), "context.draftOrders.entry[0] must be an object with a resource"},
		{"medication not in the Bundle", withContext(obj{"draftOrders": bundle(obj{"resource": dangling})}), "medicationReference does not resolve"},
		{"draft about another patient", withContext(obj{"draftOrders": bundle(obj{"resource": otherPatient})}), "context.draftOrders.entry[0].resource.subject is another patient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := post(t, h, tt.body)
			if got, want := status, http.StatusBadRequest; got != want {
				t.Fatalf("status = %d, want %d; body %s", got, want, body)
			}
			var oo cdshooks.OperationOutcome
			if err := json.Unmarshal(body, &oo); err != nil || len(oo.Issue) == 0 {
				t.Fatalf("body is not an OperationOutcome: %s", body)
			}
			if !strings.Contains(oo.Issue[0].Diagnostics, tt.want) {
				t.Errorf("diagnostics %q, want it to contain %q", oo.Issue[0].Diagnostics, tt.want)
			}
			if strings.Contains(string(body), "someone-else") {
				t.Errorf("the answer echoes a value from the request: %s", body)
			}
		})
	}
}

func TestOrderRecordIsReadOnlyForACrampDrug(t *testing.T) {
	t.Parallel()
	h := newServer(t, serverOptions{})
	// No prefetch and no FHIR server: the record cannot be read.
	t.Run("cramp drug: 412 naming the keys", func(t *testing.T) {
		t.Parallel()
		status, body := post(t, h, orderRequest(t, cdshooks.HookOrderSign, nil, nil, draftMR("hctz-1", hctz)))
		if got, want := status, http.StatusPreconditionFailed; got != want {
			t.Fatalf("status = %d, want %d; body %s", got, want, body)
		}
		var oo cdshooks.OperationOutcome
		if err := json.Unmarshal(body, &oo); err != nil {
			t.Fatalf("body is not an OperationOutcome: %s", body)
		}
		var said string
		for _, is := range oo.Issue {
			said += is.Diagnostics + "\n"
		}
		for _, key := range []string{"patient", "conditions", "medicationRequests", "medicationStatements"} {
			if !strings.Contains(said, fmt.Sprintf("%q", key)) {
				t.Errorf("412 does not name %q: %s", key, said)
			}
		}
	})
	t.Run("no cramp drug: no need to read it", func(t *testing.T) {
		t.Parallel()
		if cards := orderCards(t, h, orderRequest(t, cdshooks.HookOrderSign, nil, nil, draftMR("lis-1", lisinopril))); len(cards) != 0 {
			t.Errorf("got %d cards, want none", len(cards))
		}
	})
}

// The sandbox's Rx View (order-select) and Rx Sign (order-sign) send one
// draft built by createFhirResource (cds-hooks/sandbox master 3b7e255,
// src/reducers/medication-reducers.js) for an R4 server: id request-123,
// status draft, an RxNorm-coded medicationCodeableConcept, and category as
// an object (FHIR R4 has an array). The Bundle has no type; Rx Sign sends no
// selections; Rx View fires before a drug is chosen too.
func sandboxDraft(med obj) obj {
	r := obj{
		"resourceType": "MedicationRequest", "id": "request-123", "status": "draft",
		"subject": obj{"reference": "Patient/" + orderPatient}, "authoredOn": "2025-06-01",
	}
	if med == nil {
		return r
	}
	r["dosageInstruction"] = []obj{{
		"timing":      obj{"repeat": obj{"frequency": 1, "period": 1, "periodUnit": "d"}},
		"doseAndRate": []obj{{"doseQuantity": obj{"value": 1, "system": "http://unitsofmeasure.org", "code": "{pill}"}}},
	}}
	r["dispenseRequest"] = obj{"expectedSupplyDuration": obj{"value": 30, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"}}
	r["intent"] = "order"
	r["category"] = obj{"coding": []obj{{"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category", "code": "community"}}}
	r["medicationCodeableConcept"] = obj{
		"text":   med["text"],
		"coding": []obj{{"display": med["text"], "system": fhir.SystemRxNorm, "code": med["coding"].([]obj)[0]["code"]}},
	}
	return r
}

func sandboxRequest(t *testing.T, hook string, draft obj, prefetch obj) string {
	t.Helper()
	ctx := obj{
		"userId": "Practitioner/COREPRACTITIONER1", "patientId": orderPatient,
		"draftOrders": obj{"resourceType": "Bundle", "entry": []obj{{"resource": draft}}},
	}
	if hook == cdshooks.HookOrderSelect {
		ctx["selections"] = []string{"MedicationRequest/request-123"}
	}
	b, err := json.Marshal(obj{
		"hookInstance": "9b1e0c1a-5b7e-4f7e-8a51-3c4f0d2a6b11", "hook": hook, "fhirServer": "http://127.0.0.1:8081",
		"context": ctx, "prefetch": prefetch,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOrderSandboxRequestsProduceTheCard(t *testing.T) {
	t.Parallel()
	h := newServer(t, serverOptions{})
	rec := record([]obj{legCramps})
	for _, hook := range []string{cdshooks.HookOrderSelect, cdshooks.HookOrderSign} {
		t.Run(hook, func(t *testing.T) {
			t.Parallel()
			cards := orderCards(t, h, sandboxRequest(t, hook, sandboxDraft(hctz), rec))
			if diff := cmp.Diff([]string{"MedicationRequest/request-123"}, deleted(cards)); diff != "" {
				t.Errorf("deleted drafts (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("Rx View before a drug is chosen", func(t *testing.T) {
		t.Parallel()
		if cards := orderCards(t, h, sandboxRequest(t, cdshooks.HookOrderSelect, sandboxDraft(nil), rec)); len(cards) != 0 {
			t.Errorf("got %d cards, want none", len(cards))
		}
	})
}

func TestOrderDraftsNameTheirDrugInEveryWayFHIRAllows(t *testing.T) {
	t.Parallel()
	h := newServer(t, serverOptions{})
	rec := record([]obj{legCramps})
	byReference := func(ref string) obj {
		d := draftMR("ref-1", nil)
		delete(d, "medicationCodeableConcept")
		d["medicationReference"] = obj{"reference": ref}
		return d
	}
	furosemideMed := obj{
		"resourceType": "Medication", "id": "med-furo",
		"code": obj{"coding": []obj{{"system": fhir.SystemRxNorm, "code": "313988", "display": "Furosemide 40 MG Oral Tablet"}}},
	}
	noID := draftMR("", hctz)
	delete(noID, "id")
	tests := []struct {
		name    string
		entries []obj
		detail  []string
		deleted []string
	}{
		{"ATC code", []obj{draftMR("atc-1", obj{"coding": []obj{{"system": fhir.SystemATC, "code": "C03CA01", "display": "furosemide"}}})},
			[]string{"furosemide (loop diuretics) can cause"}, []string{"MedicationRequest/atc-1"}},
		{"brand name in text only", []obj{draftMR("text-1", obj{"text": "Lasix 40 mg tablet"})},
			[]string{"**Lasix 40 mg tablet** is being ordered: furosemide (loop diuretics)", "Recognised by name only"}, []string{"MedicationRequest/text-1"}},
		{"Medication elsewhere in draftOrders, by Medication/id",
			[]obj{byReference("Medication/med-furo"), {"fullUrl": "https://ehr.example.org/fhir/Medication/med-furo", "resource": furosemideMed}},
			[]string{"**Furosemide 40 MG Oral Tablet** is being ordered: furosemide (loop diuretics)"}, []string{"MedicationRequest/ref-1"}},
		{"Medication elsewhere in draftOrders, by fullUrl",
			[]obj{byReference("urn:uuid:5a0c7e52-2f4b-4a2e-9d61-0c7f5b8e3a19"), {"fullUrl": "urn:uuid:5a0c7e52-2f4b-4a2e-9d61-0c7f5b8e3a19", "resource": furosemideMed}},
			[]string{"furosemide (loop diuretics) can cause"}, []string{"MedicationRequest/ref-1"}},
		// Without an id there is nothing to name in a delete action: the card only warns.
		{"draft without an id", []obj{noID}, []string{"hydrochlorothiazide (thiazide"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cards := orderCards(t, h, orderRequest(t, cdshooks.HookOrderSign, nil, rec, tt.entries...))
			if len(cards) != 1 {
				t.Fatalf("got %d cards, want 1", len(cards))
			}
			for _, w := range tt.detail {
				if !strings.Contains(cards[0].Detail, w) {
					t.Errorf("detail lacks %q:\n%s", w, cards[0].Detail)
				}
			}
			if diff := cmp.Diff(tt.deleted, deleted(cards)); diff != "" {
				t.Errorf("deleted drafts (-want +got):\n%s", diff)
			}
		})
	}
}
