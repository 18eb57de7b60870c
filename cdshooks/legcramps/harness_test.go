package legcramps_test

// This file is the one test harness of the package: the real server with
// both services as cramp-cds serve builds them (without authentication and
// telemetry), the calls through its pipeline, and the FHIR builders and
// record fixtures the tests share.

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
	"github.com/cramp-cds/cramp-cds/knowledge/page"
)

// testNow is the services' clock in the tests; the fixtures' dates are before it.
var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// testPublicURL is the services' public URL: cards point source.url under it.
const testPublicURL = "https://cds.example.org"

// serverOptions are what a test may change about the server.
type serverOptions struct {
	// now is the services' clock; zero means testNow.
	now time.Time
	// screening makes the patient-view service speak for every patient.
	screening bool
	// allAges makes the services speak for patients under 18 too.
	allAges bool
	// config is the server's configuration (body limit...).
	config cdshooks.Config
	// memory, when set, is what the services remember with.
	memory *kit.Memory
}

// loadKnowledge is the embedded knowledge base, the one the services run with.
func loadKnowledge(tb testing.TB) *knowledge.Base {
	tb.Helper()
	kb, err := knowledge.Load()
	if err != nil {
		tb.Fatal(err)
	}
	return kb
}

// legcrampsTopics is the registry of the leg-cramp topics alone, as the
// binary registers them (first).
func legcrampsTopics(tb testing.TB) *kit.Registry {
	tb.Helper()
	reg, err := kit.NewRegistry(legcramps.Topics())
	if err != nil {
		tb.Fatal(err)
	}
	return reg
}

// newServer builds the real server serving both services, evaluating as of
// opts.now, with the knowledge page at /knowledge. With no
// caller and no FHIRAllow no FHIR server is ever allowed: the prefetch is
// all there is.
func newServer(tb testing.TB, opts serverOptions) *cdshooks.Server {
	tb.Helper()
	kb := loadKnowledge(tb)
	now := opts.now
	if now.IsZero() {
		now = testNow
	}
	topics := legcrampsTopics(tb)
	env := legcramps.Env{
		Env: kit.Env{
			Gatherer:  fhir.NewGatherer(fhir.GathererOptions{}),
			Now:       func() time.Time { return now },
			PublicURL: testPublicURL,
			Memory:    opts.memory,
			Topics:    topics,
		},
		Knowledge: kb,
		AllAges:   opts.allAges,
	}
	patientView, err := legcramps.NewPatientView(env, opts.screening)
	if err != nil {
		tb.Fatal(err)
	}
	orders, err := legcramps.NewInducingOrder(env)
	if err != nil {
		tb.Fatal(err)
	}
	knowledgePage, err := page.New(kb)
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := cdshooks.NewServer(opts.config, cdshooks.Deps{
		Services:        []cdshooks.Service{patientView, orders},
		IsFHIRID:        fhir.ValidID,
		ReadDraftOrders: fhir.EachDraftOrder,
		Topics:          topics,
		Documents:       map[string]http.Handler{kit.KnowledgePath: knowledgePage},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return srv
}

// invoke posts body to the service id through the whole server pipeline.
func invoke(tb testing.TB, srv *cdshooks.Server, id string, body []byte) (int, []byte) {
	tb.Helper()
	status, resp, err := srv.Invoke(context.Background(), id, body)
	if err != nil {
		tb.Fatal(err)
	}
	return status, resp
}

// mustCards invokes the service id, expects 200 and a response that passes
// the card rules, and returns its cards.
func mustCards(tb testing.TB, srv *cdshooks.Server, id string, body []byte) []cdshooks.Card {
	tb.Helper()
	status, resp := invoke(tb, srv, id, body)
	if status != http.StatusOK {
		tb.Fatalf("status %d, body %s", status, resp)
	}
	var r cdshooks.Response
	if err := json.Unmarshal(resp, &r); err != nil {
		tb.Fatalf("response is not JSON: %v: %s", err, resp)
	}
	if r.Cards == nil {
		tb.Fatalf("cards is null or missing: %s", resp)
	}
	if err := r.Validate(); err != nil {
		tb.Fatalf("response breaks the card rules: %v", err)
	}
	return r.Cards
}

const orderPatient = "pat-1"

// obj is a JSON object under construction.
type obj = map[string]any

// rxnorm is a medicationCodeableConcept with one RxNorm coding, the way the
// sandbox writes it (text and display both the RxNorm name).
func rxnorm(code, name string) obj {
	return obj{
		"text":   name,
		"coding": []obj{{"system": fhir.SystemRxNorm, "code": code, "display": name}},
	}
}

// draftMR is a draft MedicationRequest for the order hooks' draftOrders.
func draftMR(id string, med obj) obj {
	return obj{
		"resourceType": "MedicationRequest", "id": id, "status": "draft", "intent": "order",
		"subject": obj{"reference": "Patient/" + orderPatient}, "authoredOn": "2025-06-01",
		"medicationCodeableConcept": med,
	}
}

// activeMR is a current MedicationRequest of the patient's record.
func activeMR(id string, med obj) obj {
	r := draftMR(id, med)
	r["status"] = "active"
	r["authoredOn"] = "2024-01-10"
	return r
}

// condition is a Condition of the patient's record with one SNOMED CT code.
func condition(id, snomed, text, clinical string) obj {
	return obj{
		"resourceType": "Condition", "id": id,
		"clinicalStatus": obj{"coding": []obj{{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": clinical}}},
		"code":           obj{"text": text, "coding": []obj{{"system": fhir.SystemSNOMED, "code": snomed, "display": text}}},
		"subject":        obj{"reference": "Patient/" + orderPatient}, "onsetDateTime": "2024-11-02",
	}
}

// Fixtures. Codes are the knowledge base's (knowledge/data) and the sandbox's
// RxNorm medication list.
var (
	legCramps    = condition("cond-cramps", "449918009", "Cramp in lower leg", "active")
	oldCramps    = condition("cond-old-cramps", "449918009", "Cramp in lower leg", "resolved")
	hypertension = condition("cond-htn", "38341003", "Hypertensive disorder", "active")

	hctz        = rxnorm("310798", "Hydrochlorothiazide 25 MG Oral Tablet")
	hctzTriam   = rxnorm("310818", "Hydrochlorothiazide 50 MG / Triamterene 75 MG Oral Tablet")
	hctzLisino  = rxnorm("197885", "Hydrochlorothiazide 12.5 MG / Lisinopril 10 MG Oral Tablet")
	lisinopril  = rxnorm("314076", "Lisinopril 10 MG Oral Tablet")
	metformin   = rxnorm("860975", "Metformin hydrochloride 500 MG Oral Tablet")
	furosemide  = rxnorm("313988", "Furosemide 40 MG Oral Tablet")
	atorvastatn = rxnorm("617314", "atorvastatin 10 MG Oral Tablet [Lipitor]")
)

// searchset wraps resources in a searchset Bundle, as a prefetch value.
func searchset(resources ...obj) obj {
	entries := make([]obj, 0, len(resources))
	for _, r := range resources {
		entries = append(entries, obj{"resource": r})
	}
	return obj{"resourceType": "Bundle", "type": "searchset", "entry": entries}
}

// lcHookInstance is the hookInstance of the patient-view requests.
const lcHookInstance = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"

// lcObservation is a final laboratory result with a valueQuantity.
func lcObservation(id, loinc string, value float64, unit, when string) obj {
	return obj{
		"resourceType": "Observation", "id": id, "status": "final",
		"category":          []obj{{"coding": []obj{{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}}}},
		"code":              obj{"coding": []obj{{"system": fhir.SystemLOINC, "code": loinc}}},
		"subject":           obj{"reference": "Patient/" + orderPatient},
		"effectiveDateTime": when,
		"valueQuantity":     obj{"value": value, "unit": unit, "system": fhir.SystemUCUM, "code": unit},
	}
}

func with(o obj, key string, value any) obj {
	out := obj{}
	for k, v := range o {
		out[k] = v
	}
	out[key] = value
	return out
}
