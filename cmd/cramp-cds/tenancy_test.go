package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
)

// hospitalAServer is the FHIR server hospital A may name; hospital B's is
// memoryFHIRServer.
const hospitalAServer = "https://fhir.hospital-a.example/r4"

// tenantsE2E is the real server trusting two hospitals: B (e.issuer, allowed
// memoryFHIRServer) and A (allowed hospitalAServer only).
func tenantsE2E(t *testing.T) (hospitalB *memoryE2E, hospitalA *memoryE2E) {
	t.Helper()
	b, err := fixtures.NewIssuer("https://ehr-b.example.test")
	if err != nil {
		t.Fatal(err)
	}
	a, err := fixtures.NewIssuer("https://ehr-a.example.test")
	if err != nil {
		t.Fatal(err)
	}
	trustB, err := b.TrustFile(memoryFHIRServer)
	if err != nil {
		t.Fatal(err)
	}
	trustA, err := a.TrustFile(hospitalAServer)
	if err != nil {
		t.Fatal(err)
	}
	trust := append(trustB, strings.TrimPrefix(string(trustA), "issuers:\n")...)
	hospitalB = startMemoryE2EWith(t, "sqlite:"+filepath.Join(t.TempDir(), "cramp-cds.db"), b, trust)
	// The same server, reached with A's tokens.
	hospitalA = &memoryE2E{t: t, cfg: hospitalB.cfg, main: hospitalB.main, issuer: a, client: hospitalB.client}
	return hospitalB, hospitalA
}

// viewAs sends a patient-view for patientID on fhirServer ("" for none) and
// returns the status and cards.
func (e *memoryE2E) viewAs(fhirServer, patientID string) (int, []cdshooks.Card) {
	e.t.Helper()
	var req map[string]any
	if err := json.Unmarshal(patientViewRequest(e.t, patientID, rxHydrochlorothiazide), &req); err != nil {
		e.t.Fatal(err)
	}
	if fhirServer == "" {
		delete(req, "fhirServer")
	} else {
		req["fhirServer"] = fhirServer
	}
	body, _ := json.Marshal(req)
	status, got := e.post("/cds-services/"+legcramps.PatientViewID, body)
	var resp cdshooks.Response
	if status == http.StatusOK {
		if err := json.Unmarshal(got, &resp); err != nil {
			e.t.Fatal(err)
		}
	}
	return status, resp.Cards
}

// sendFeedback posts feedback items and returns the status.
func (e *memoryE2E) sendFeedback(items ...map[string]any) int {
	e.t.Helper()
	for _, item := range items {
		item["outcomeTimestamp"] = time.Now().UTC().Format(time.RFC3339)
	}
	body, _ := json.Marshal(map[string]any{"feedback": items})
	status, _ := e.post("/cds-services/"+legcramps.PatientViewID+"/feedback", body)
	if err := e.main.memory.recorder.Flush(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
	return status
}

func medicationCard(t *testing.T, cards []cdshooks.Card) cdshooks.Card {
	t.Helper()
	meds := cardsOf(cards, legcramps.TopicMedication)
	if len(meds) != 1 {
		t.Fatalf("medication cards %q, want one", summaries(meds))
	}
	return meds[0]
}

// TestOneHospitalCannotHideAnothersCards (issue 27, finding 1): hospital A,
// with a valid token, names B's fhirServer and patient id: refused (403).
// Naming its own server and the same id, it gets other uuids; overriding
// B's card uuid as not relevant snoozes nothing, and B still sees its card.
// Two hospitals omitting fhirServer for the same id do not share uuids.
func TestOneHospitalCannotHideAnothersCards(t *testing.T) {
	t.Parallel()
	b, a := tenantsE2E(t)
	status, cardsB := b.viewAs(memoryFHIRServer, "pat-x")
	if status != http.StatusOK {
		t.Fatalf("B's own call: %d", status)
	}
	cardB := medicationCard(t, cardsB)

	if status, _ := a.viewAs(memoryFHIRServer, "pat-x"); status != http.StatusForbidden {
		t.Errorf("A naming B's fhirServer: status %d, want 403", status)
	}
	status, cardsA := a.viewAs(hospitalAServer, "pat-x")
	if status != http.StatusOK {
		t.Fatalf("A's own call: %d", status)
	}
	if medicationCard(t, cardsA).UUID == cardB.UUID {
		t.Errorf("A and B get the same card uuid for the same patient id")
	}
	if status := a.sendFeedback(map[string]any{"card": cardB.UUID, "outcome": "overridden", "overrideReason": map[string]any{
		"reason": map[string]string{"system": kit.OverrideReasonSystem, "code": kit.OverrideNotRelevant}}}); status != http.StatusOK {
		t.Errorf("A's feedback: status %d, want 200 (ignored, not refused: it may name a card A no longer sees)", status)
	}
	if _, again := b.viewAs(memoryFHIRServer, "pat-x"); len(cardsOf(again, legcramps.TopicMedication)) != 1 {
		t.Errorf("after A overrode B's card uuid, B's medication card is gone: %q", summaries(again))
	}

	_, noServerA := a.viewAs("", "pat-y")
	_, noServerB := b.viewAs("", "pat-y")
	if medicationCard(t, noServerA).UUID == medicationCard(t, noServerB).UUID {
		t.Errorf("two hospitals omitting fhirServer for the same patient id share a card uuid")
	}
	// B's own override still works.
	b.feedback(overrideAlreadyReviewed(cardB.UUID))
	if _, after := b.viewAs(memoryFHIRServer, "pat-x"); len(cardsOf(after, legcramps.TopicMedication)) != 0 {
		t.Errorf("B's own override did not snooze its card: %q", summaries(after))
	}
}

// TestRepeatedCardCountsOnceEndToEnd (issue 27, findings 1 and 2): one
// feedback request repeating a card 100 times is one decision in the report;
// an override reason the card did not offer (a name and MRN typed into the
// code) is stored as other, and never reaches the report.
func TestRepeatedCardCountsOnceEndToEnd(t *testing.T) {
	t.Parallel()
	e := startMemoryE2E(t, "sqlite:"+filepath.Join(t.TempDir(), "cramp-cds.db"))
	card := medicationCard(t, e.patientView("pat-a", rxHydrochlorothiazide))
	items := []map[string]any{{"card": card.UUID, "outcome": "overridden", "overrideReason": map[string]any{
		"reason": map[string]string{"code": "Jane Doe MRN 77123"}}}}
	for range 99 {
		items = append(items, map[string]any{"card": card.UUID, "outcome": "overridden"})
	}
	if status := e.sendFeedback(items...); status != http.StatusOK {
		t.Fatalf("feedback: %d", status)
	}
	resp, err := http.Get("http://" + e.main.AdminAddr() + "/admin/report?format=json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r feedback.Report
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	for _, topic := range r.Topics {
		if topic.Topic != legcramps.TopicMedication {
			continue
		}
		if topic.Overridden != 1 {
			t.Errorf("overridden = %d, want 1 (one card, repeated 100 times in one call)", topic.Overridden)
		}
		for _, reason := range topic.Reasons {
			if strings.Contains(reason.Code, "MRN") {
				t.Errorf("the report shows the caller's text as a reason: %q", reason.Code)
			}
		}
		return
	}
	t.Errorf("no medication topic in the report: %+v", r.Topics)
}

// TestFeedbackValidationEndToEnd (issue 27, findings 3 and 4): an item
// accepting more than 20 suggestions, or with NUL in its reason code, is a 400.
func TestFeedbackValidationEndToEnd(t *testing.T) {
	t.Parallel()
	e := startMemoryE2E(t, "sqlite:"+filepath.Join(t.TempDir(), "cramp-cds.db"))
	card := "4e0a3a1e-3283-4575-ab82-028d55fe2719"
	var many []any
	for range 21 {
		many = append(many, map[string]string{"id": "4e0a3a1e-3283-4575-ab82-028d55fe2719"})
	}
	for name, item := range map[string]map[string]any{
		"21 accepted suggestions": {"card": card, "outcome": "accepted", "acceptedSuggestions": many},
		"NUL in a reason code": {"card": card, "outcome": "overridden", "overrideReason": map[string]any{
			"reason": map[string]string{"code": "not\u0000relevant"}}},
	} {
		if status := e.sendFeedback(item); status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, status)
		}
	}
}
