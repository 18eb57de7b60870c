package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
	"github.com/cramp-cds/cramp-cds/tools/testkit/pgtest"
)

// memoryE2E is the real server with JWT verification on and a store,
// restartable on the same store and key.
type memoryE2E struct {
	t      *testing.T
	cfg    Config
	main   *Main
	issuer *fixtures.Issuer
	client *http.Client
}

const memoryFHIRServer = "https://fhir.hospital.example/r4"

func startMemoryE2E(t *testing.T, store string) *memoryE2E {
	t.Helper()
	is, err := fixtures.NewIssuer("https://ehr.example.test")
	if err != nil {
		t.Fatal(err)
	}
	trust, err := is.TrustFile(memoryFHIRServer)
	if err != nil {
		t.Fatal(err)
	}
	return startMemoryE2EWith(t, store, is, trust)
}

// startMemoryE2EWith is startMemoryE2E with the issuer is signing the
// tokens and the trust file trust.
func startMemoryE2EWith(t *testing.T, store string, is *fixtures.Issuer, trust []byte) *memoryE2E {
	t.Helper()
	trustFile := filepath.Join(t.TempDir(), "trust.yaml")
	if err := os.WriteFile(trustFile, trust, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Addr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.TrustFile, cfg.PublicURLs = trustFile, []string{e2ePublicURL}
	cfg.Store, cfg.StoreKey = store, "e2e-store-key-0123456789abcdef0123456789"
	e := &memoryE2E{t: t, cfg: cfg, issuer: is, client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}}
	t.Cleanup(e.client.CloseIdleConnections)
	e.start()
	t.Cleanup(func() { e.stop() })
	return e
}

func (e *memoryE2E) start() {
	e.t.Helper()
	e.main = &Main{Config: e.cfg}
	if err := e.main.Open(e.t.Context()); err != nil {
		e.t.Fatalf("Open: %v", err)
	}
}

func (e *memoryE2E) stop() {
	if e.main == nil {
		return
	}
	if err := e.main.Close(); err != nil {
		e.t.Errorf("Close: %v", err)
	}
	e.main = nil
}

// post sends body to path with a fresh token and returns the status and body.
func (e *memoryE2E) post(path string, body []byte) (int, []byte) {
	e.t.Helper()
	return e.postToken(e.token(path), path, body)
}

// token is a fresh token for path.
func (e *memoryE2E) token(path string) string {
	e.t.Helper()
	tok, err := e.issuer.Token(e2ePublicURL+path, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// postToken sends body to path with the token tok.
func (e *memoryE2E) postToken(tok, path string, body []byte) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+e.main.Addr()+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, got
}

// patientView calls nocturnal-leg-cramps for a patient taking drugs (RxNorm
// codes), with a fresh hookInstance, and returns the cards.
func (e *memoryE2E) patientView(patientID string, rxnorm ...string) []cdshooks.Card {
	e.t.Helper()
	status, body := e.post("/cds-services/"+legcramps.PatientViewID, patientViewRequest(e.t, patientID, rxnorm...))
	if status != http.StatusOK {
		e.t.Fatalf("patient-view: %d %s", status, body)
	}
	var resp cdshooks.Response
	if err := json.Unmarshal(body, &resp); err != nil {
		e.t.Fatal(err)
	}
	return resp.Cards
}

// promptPatientView is patientView, and an error unless it answered within
// 2 s: the store's read timeout is 250 ms (then it is skipped for 5 s), the
// rest is room for a busy machine.
func (e *memoryE2E) promptPatientView(what, patientID string, rxnorm ...string) []cdshooks.Card {
	e.t.Helper()
	start := time.Now()
	cards := e.patientView(patientID, rxnorm...)
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		e.t.Errorf("%s took %v", what, elapsed)
	}
	return cards
}

// feedback sends one feedback item and waits until the store has it.
func (e *memoryE2E) feedback(item map[string]any) {
	e.t.Helper()
	item["outcomeTimestamp"] = time.Now().UTC().Format(time.RFC3339)
	body, err := json.Marshal(map[string]any{"feedback": []any{item}})
	if err != nil {
		e.t.Fatal(err)
	}
	if status, got := e.post("/cds-services/"+legcramps.PatientViewID+"/feedback", body); status != http.StatusOK {
		e.t.Fatalf("feedback: %d %s", status, got)
	}
	// Writes are asynchronous: wait for this one before the next chart open.
	if err := e.main.memory.recorder.Flush(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
}

// patientViewRequest is a patient-view request for a patient with leg
// cramps taking the given drugs, without lab results.
func patientViewRequest(t *testing.T, patientID string, rxnorm ...string) []byte {
	t.Helper()
	subject := map[string]string{"reference": "Patient/" + patientID}
	entries := make([]any, 0, len(rxnorm))
	for i, code := range rxnorm {
		entries = append(entries, map[string]any{"resource": map[string]any{
			"resourceType": "MedicationRequest", "id": fmt.Sprintf("mr-%d", i), "status": "active", "intent": "order",
			"subject": subject,
			"medicationCodeableConcept": map[string]any{"coding": []any{map[string]string{
				"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": code}}},
		}})
	}
	req := map[string]any{
		"hookInstance": uuid.NewString(),
		"hook":         "patient-view",
		"fhirServer":   memoryFHIRServer,
		"context":      map[string]string{"patientId": patientID, "userId": "Practitioner/p1"},
		"prefetch": map[string]any{
			"patient": map[string]any{"resourceType": "Patient", "id": patientID, "birthDate": "1950-04-12"},
			"conditions": map[string]any{"resourceType": "Bundle", "type": "searchset", "entry": []any{
				map[string]any{"resource": map[string]any{
					"resourceType": "Condition", "id": "cramps", "subject": subject,
					"clinicalStatus": map[string]any{"coding": []any{map[string]string{
						"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}}},
					"verificationStatus": map[string]any{"coding": []any{map[string]string{
						"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}}},
					"code": map[string]any{"coding": []any{map[string]string{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G47.62"}},
						"text": "Sleep related leg cramps"},
					"onsetDateTime": "2025-03-10",
				}},
			}},
			"medicationRequests":   map[string]any{"resourceType": "Bundle", "type": "searchset", "entry": entries},
			"medicationStatements": nil,
			"observations":         nil,
			"serviceRequests":      nil,
		},
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	rxHydrochlorothiazide = "310798" // Hydrochlorothiazide 25 MG Oral Tablet
	rxLisinoprilHCTZ      = "197885" // hydrochlorothiazide 12.5 MG / lisinopril 10 MG Oral Tablet
	rxAmlodipine          = "197361" // amLODIPine 5 MG Oral Tablet
)

func cardsOf(cards []cdshooks.Card, topic string) []cdshooks.Card {
	var out []cdshooks.Card
	for _, c := range cards {
		if c.Source.Topic != nil && c.Source.Topic.Code == topic {
			out = append(out, c)
		}
	}
	return out
}

func summaries(cards []cdshooks.Card) []string {
	out := make([]string, len(cards))
	for i, c := range cards {
		out[i] = c.Summary
	}
	return out
}

func overrideAlreadyReviewed(card string) map[string]any {
	return map[string]any{"card": card, "outcome": "overridden", "overrideReason": map[string]any{
		"reason": map[string]string{"system": kit.OverrideReasonSystem, "code": kit.OverrideAlreadyReviewed}}}
}

// TestSnoozeEndToEnd: through the real server with JWT verification on, a
// medication card overridden as already reviewed is not shown again to that
// patient (new hookInstance), still is to another, stays snoozed after a
// restart, and comes back when a new drug with the ingredient appears; an
// accepted lab order is not proposed again.
func TestSnoozeEndToEnd(t *testing.T) {
	t.Parallel()
	backendsE2E(t, func(t *testing.T, store string) {
		e := startMemoryE2E(t, store)
		first := e.patientView("pat-a", rxHydrochlorothiazide)
		meds := cardsOf(first, legcramps.TopicMedication)
		if len(meds) != 1 || !strings.HasPrefix(meds[0].Summary, "Hydrochlorothiazide") {
			t.Fatalf("first chart open: medication cards %q, want the hydrochlorothiazide card (all cards: %q)", summaries(meds), summaries(first))
		}
		var reasons []string
		for _, r := range meds[0].OverrideReasons {
			reasons = append(reasons, r.Code)
		}
		if !slices.Contains(reasons, kit.OverrideAlreadyReviewed) || !slices.Contains(reasons, kit.OverrideNotRelevant) {
			t.Fatalf("override reasons %v lack already-reviewed or not-relevant", reasons)
		}
		e.feedback(overrideAlreadyReviewed(meds[0].UUID))

		again := e.patientView("pat-a", rxHydrochlorothiazide)
		if got := cardsOf(again, legcramps.TopicMedication); len(got) != 0 {
			t.Errorf("same patient, next chart open: medication cards %q, want none (snoozed)", summaries(got))
		}
		if len(cardsOf(again, legcramps.TopicMissingLabs)) != 1 {
			t.Errorf("the snooze hid more than the medication card: %q", summaries(again))
		}
		if got := cardsOf(e.patientView("pat-b", rxHydrochlorothiazide), legcramps.TopicMedication); len(got) != 1 {
			t.Errorf("another patient: medication cards %q, want the hydrochlorothiazide card", summaries(got))
		}

		e.stop()
		e.start()
		if got := cardsOf(e.patientView("pat-a", rxHydrochlorothiazide), legcramps.TopicMedication); len(got) != 0 {
			t.Errorf("after a restart: medication cards %q, want none (still snoozed)", summaries(got))
		}

		// One card names every drug, so a new cramp-inducing drug brings it
		// back, naming both; so does a new drug with the snoozed ingredient.
		got := cardsOf(e.patientView("pat-a", rxHydrochlorothiazide, rxAmlodipine), legcramps.TopicMedication)
		if len(got) != 1 || !strings.Contains(got[0].Summary, "amlodipine") || !strings.Contains(got[0].Summary, "hydrochlorothiazide") {
			t.Errorf("with amlodipine added: medication cards %q, want the one card naming both drugs", summaries(got))
		}
		got = cardsOf(e.patientView("pat-a", rxHydrochlorothiazide, rxLisinoprilHCTZ), legcramps.TopicMedication)
		if len(got) != 1 || !strings.Contains(strings.ToLower(got[0].Summary), "hydrochlorothiazide") {
			t.Errorf("with a second hydrochlorothiazide drug: medication cards %q, want the hydrochlorothiazide card back", summaries(got))
		}

		// An accepted lab order is not proposed again, on its own or in a
		// panel; the others still are.
		labs := cardsOf(e.patientView("pat-c"), legcramps.TopicMissingLabs)
		want := []string{"Order basic metabolic panel (potassium, calcium, creatinine)", "Order magnesium", "Order TSH", "Order HbA1c"}
		if len(labs) != 1 || !slices.Equal(labels(labs[0]), want) {
			t.Fatalf("missing-labs cards %+v, want one with the suggestions %q", labs, want)
		}
		steps := []struct {
			accept []int    // of the suggestions the card shows, accepted together
			left   []string // the suggestions proposed afterwards
			lately []string // the detail's lines of work-ups ordered
		}{
			{[]int{1}, []string{want[0], want[2], want[3]}, []string{"- Magnesium: order accepted lately"}},
			// The panel's order measures each test it covers.
			{[]int{0}, []string{want[2], want[3]}, []string{"- Potassium: order accepted lately", "- Calcium: order accepted lately",
				"- Renal function: order accepted lately", "- Magnesium: order accepted lately"}},
			// Both left at once (selectionBehavior any): nothing left to propose, no card.
			{[]int{0, 1}, nil, nil},
		}
		card := labs[0]
		for _, step := range steps {
			var accepted []any
			for _, i := range step.accept {
				accepted = append(accepted, map[string]string{"id": card.Suggestions[i].UUID})
			}
			e.feedback(map[string]any{"card": card.UUID, "outcome": "accepted", "acceptedSuggestions": accepted})
			after := cardsOf(e.patientView("pat-c"), legcramps.TopicMissingLabs)
			if step.left == nil {
				if len(after) != 0 {
					t.Errorf("after accepting every order: missing-labs cards %q, want none", summaries(after))
				}
				break
			}
			if len(after) != 1 {
				t.Fatalf("after accepting %v of %q: missing-labs cards %q, want one", step.accept, labels(card), summaries(after))
			}
			card = after[0]
			if got := labels(card); !slices.Equal(got, step.left) {
				t.Errorf("after accepting %v: suggestions %q, want %q", step.accept, got, step.left)
			}
			for _, line := range step.lately {
				if !strings.Contains(card.Detail, line) {
					t.Errorf("after accepting %v: detail lacks %q:\n%s", step.accept, line, card.Detail)
				}
			}
		}
	})
}

// labels are the labels of a card's suggestions.
func labels(c cdshooks.Card) []string {
	var ls []string
	for _, s := range c.Suggestions {
		ls = append(ls, s.Label)
	}
	return ls
}

// backendsE2E runs test with a SQLite file and with a PostgreSQL schema
// (skipped, saying why, without a test PostgreSQL).
func backendsE2E(t *testing.T, test func(t *testing.T, store string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		test(t, "sqlite:"+filepath.Join(t.TempDir(), "cramp-cds.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		test(t, pgtest.Postgres(t))
	})
}

// TestDatabaseDownEndToEnd: with PostgreSQL gone (its connections cut, new
// ones refused), calls with fresh tokens are still answered 200 with their
// cards, promptly, and the failures are counted. The snooze recorded before
// the outage still holds: the replica keeps the snoozes in force in memory,
// and no snooze is ever lifted early.
func TestDatabaseDownEndToEnd(t *testing.T) {
	t.Parallel()
	dsn, proxy := pgtest.PostgresProxy(t, pgtest.Postgres(t))
	e := startMemoryE2E(t, dsn)
	meds := cardsOf(e.patientView("pat-a", rxHydrochlorothiazide), legcramps.TopicMedication)
	if len(meds) != 1 {
		t.Fatalf("medication cards %q, want one", summaries(meds))
	}
	e.feedback(overrideAlreadyReviewed(meds[0].UUID))
	if got := cardsOf(e.patientView("pat-a", rxHydrochlorothiazide), legcramps.TopicMedication); len(got) != 0 {
		t.Fatalf("before the outage the snooze did not hold: %q", summaries(got))
	}

	proxy.Stop()
	for i := range 5 {
		cards := e.promptPatientView(fmt.Sprintf("call %d with the database down", i), "pat-a", rxHydrochlorothiazide)
		// Served from memory: the medication card stays snoozed, the
		// others are shown.
		if len(cardsOf(cards, legcramps.TopicMedication)) != 0 || len(cardsOf(cards, legcramps.TopicMissingLabs)) != 1 {
			t.Errorf("call %d with the database down: cards %q, want the missing-labs card and the medication card still snoozed", i, summaries(cards))
		}
	}
	if got := cardsOf(e.patientView("pat-b", rxHydrochlorothiazide), legcramps.TopicMedication); len(got) != 1 {
		t.Errorf("another patient with the database down: medication cards %q, want one", summaries(got))
	}
	resp, err := http.Get("http://" + e.main.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `cramp_cds_store_failures_total{op="read"`) {
		t.Errorf("/metrics does not count the store failures:\n%s", grepLines(string(metrics), "cramp_cds_store"))
	}
}

// TestSharedReplayEndToEnd: two replicas on one PostgreSQL database; a
// token used on one is refused 401 by the other, though the other's shared
// check now runs while it evaluates the call: the answer is withheld, not
// just late. A fresh token still works on both.
func TestSharedReplayEndToEnd(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Postgres(t)
	podA := startMemoryE2E(t, dsn)
	podB := &memoryE2E{t: t, cfg: podA.cfg, issuer: podA.issuer, client: podA.client}
	podB.start()
	t.Cleanup(podB.stop)

	path := "/cds-services/" + legcramps.PatientViewID
	body := patientViewRequest(t, "pat-a", rxHydrochlorothiazide)
	tok := podA.token(path)
	if status, got := podA.postToken(tok, path, body); status != http.StatusOK {
		t.Fatalf("first use on pod A: %d %s", status, got)
	}
	for _, pod := range []struct {
		name string
		e    *memoryE2E
	}{{"pod B (the shared check)", podB}, {"pod A (its own cache)", podA}} {
		status, got := pod.e.postToken(tok, path, body)
		if status != http.StatusUnauthorized {
			t.Errorf("replayed to %s: status %d, want 401", pod.name, status)
		}
		if bytes.Contains(got, []byte(`"cards"`)) {
			t.Errorf("replayed to %s: the answer carries cards: %s", pod.name, got)
		}
	}
	if status, got := podB.post(path, body); status != http.StatusOK {
		t.Errorf("a fresh token on pod B: %d %s", status, got)
	}
}

// TestDatabaseHangsEndToEnd: with PostgreSQL not answering at all (its
// connections held open, nothing forwarded), the shared token check gives
// up after the store's read timeout and the call is answered 200 with its
// cards; the snooze lookup never waited for the database at all.
func TestDatabaseHangsEndToEnd(t *testing.T) {
	t.Parallel()
	dsn, proxy := pgtest.PostgresProxy(t, pgtest.Postgres(t))
	e := startMemoryE2E(t, dsn)
	t.Cleanup(proxy.Stop) // before the server stops: its writes fail at once
	if len(cardsOf(e.patientView("pat-a", rxHydrochlorothiazide), legcramps.TopicMedication)) != 1 {
		t.Fatal("no medication card before the database hangs")
	}
	proxy.Hang()
	for i := range 3 {
		cards := e.promptPatientView(fmt.Sprintf("call %d with the database hanging", i), "pat-a", rxHydrochlorothiazide)
		if len(cardsOf(cards, legcramps.TopicMedication)) != 1 {
			t.Errorf("call %d with the database hanging: cards %q, want the medication card", i, summaries(cards))
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
