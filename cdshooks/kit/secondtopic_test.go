package kit_test

// A second topic, made up, that lives only in this file: a patient-view
// service asking the clinician to record a patient's administrative gender
// when the record has none. It is built from the kit alone and runs through
// the real server, feedback store, snoozes and population runner, none of
// which names it: the proof that a topic is a package beside the others, not
// an edit of the kit, cdshooks, fhir or the store.

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit/population"
	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/fhir/bulk"
)

const (
	genderServiceID = "example-gender-missing"
	genderTopic     = "example-gender-missing"
	// An earlier topic package's topic, registered first: ours is the
	// registry's second, as a second topic package's would be.
	firstTopic = "example-first"
)

// genderService is the second topic's one service.
type genderService struct {
	env       kit.Env
	sources   kit.Sources
	templates map[string]string
}

func newGenderService(t *testing.T, env kit.Env) *genderService {
	t.Helper()
	if err := env.Check(genderServiceID, genderTopic); err != nil {
		t.Fatal(err)
	}
	return &genderService{env: env, sources: env.Sources("example-1"),
		templates: map[string]string{"patient": "Patient/{{context.patientId}}"}}
}

func (s *genderService) Definitions() []cdshooks.ServiceDefinition {
	return []cdshooks.ServiceDefinition{{Hook: cdshooks.HookPatientView, ID: genderServiceID,
		Title: "Gender not recorded", Description: "Asks to record a missing administrative gender.", Prefetch: s.templates}}
}

func (s *genderService) Evaluate(ctx context.Context, req *cdshooks.Request, caller cdshooks.Caller) (*cdshooks.Response, error) {
	if err := s.env.CheckTenancy(req, caller); err != nil {
		return nil, err
	}
	rec, err := s.env.GatherRecord(ctx, s.templates, req, caller)
	if err != nil {
		return nil, err
	}
	return &cdshooks.Response{Cards: s.cards(ctx, rec, caller.Issuer, req.HookInstance, req.FHIRServer, req.PatientID())}, nil
}

func (s *genderService) Feedback(ctx context.Context, items []cdshooks.Feedback, caller cdshooks.Caller) {
	s.env.Feedback(ctx, genderServiceID, items, caller)
}

// cards renders the card, leaving it out when snoozed, and records it as issued.
func (s *genderService) cards(ctx context.Context, rec *fhir.Record, issuer, hookInstance, fhirServer, patientID string) []cdshooks.Card {
	ids := s.env.CardIDs(issuer, hookInstance, fhirServer, patientID)
	render := func() []cdshooks.Card {
		cards := []cdshooks.Card{}
		if rec.Patient == nil || (rec.Patient.Gender != "" && rec.Patient.Gender != "unknown") {
			return cards
		}
		c := s.sources.Card(ids.Card(genderTopic, "", "gender:"+rec.Patient.Gender), genderTopic,
			"Record the patient's administrative gender", "The record has none.", cdshooks.IndicatorInfo, "", "About")
		if ids.Shown(c.UUID) {
			cards = append(cards, c)
		}
		return cards
	}
	return ids.Respond(ctx, genderServiceID, s.sources.KnowledgeVersion, s.env.Now(), render)
}

// settableClock is the services' and the recorder's clock.
type settableClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *settableClock) get() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *settableClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

func TestASecondTopicRunsThroughServerStoreSnoozesAndPopulation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := &settableClock{now: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)}
	topics, err := kit.NewRegistry(
		kit.Topics([2]string{firstTopic, "A first topic package's topic"}),
		kit.Topics([2]string{genderTopic, "Administrative gender not recorded"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	store, err := feedback.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	recorder, err := feedback.NewRecorder(feedback.Options{Store: store, Now: clk.get})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = recorder.Close(ctx) })
	key, err := feedback.NewKey([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	memory := &kit.Memory{Recorder: recorder, Key: key, Snooze: 90 * 24 * time.Hour, SnoozeNotRelevant: 365 * 24 * time.Hour}
	svc := newGenderService(t, kit.Env{Gatherer: fhir.NewGatherer(fhir.GathererOptions{}), Now: clk.get,
		PublicURL: "https://cds.example.org", Memory: memory, Topics: topics})
	srv, err := cdshooks.NewServer(cdshooks.Config{}, cdshooks.Deps{
		Services: []cdshooks.Service{svc}, IsFHIRID: fhir.ValidID, Topics: topics,
	})
	if err != nil {
		t.Fatal(err)
	}

	// The server: discovery lists the service; a call gets its card.
	call := func(hookInstance string) []cdshooks.Card {
		t.Helper()
		body := fmt.Sprintf(`{"hook":"patient-view","hookInstance":%q,"context":{"patientId":"p1","userId":"Practitioner/1"},`+
			`"prefetch":{"patient":{"resourceType":"Patient","id":"p1","gender":"unknown"}}}`, hookInstance)
		status, resp, err := srv.Invoke(ctx, genderServiceID, []byte(body))
		if err != nil || status != http.StatusOK {
			t.Fatalf("call: %d %v %s", status, err, resp)
		}
		var r cdshooks.Response
		if err := json.Unmarshal(resp, &r); err != nil {
			t.Fatal(err)
		}
		if err := r.Validate(); err != nil {
			t.Errorf("the answer breaks the card rules: %v", err)
		}
		return r.Cards
	}
	cards := call("d1577c69-dfbe-44ad-ba6d-3e05e953b2ea")
	if len(cards) != 1 {
		t.Fatalf("%d cards, want 1", len(cards))
	}
	card := cards[0]
	if topic, ok := topics.TopicOf(card.UUID); !ok || topic != genderTopic {
		t.Errorf("the card uuid carries topic %q, %v; want %q", topic, ok, genderTopic)
	}
	if got := card.Source.Topic; got == nil || got.Code != genderTopic || got.System != kit.TopicSystem {
		t.Errorf("source.topic = %+v, want %s in %s", got, genderTopic, kit.TopicSystem)
	}
	if got, want := card.Source.URL, "https://cds.example.org"+kit.KnowledgePath; got != want {
		t.Errorf("source.url = %q, want %q", got, want)
	}
	var reasons []string
	for _, r := range card.OverrideReasons {
		reasons = append(reasons, r.Code)
	}
	if got, want := strings.Join(reasons, ","), kit.OverrideAlreadyReviewed+","+kit.OverrideNotRelevant; got != want {
		t.Errorf("override reasons %s, want %s", got, want)
	}
	if again := call("0f7b5a6e-7c1e-4a57-9d44-2a1d3c9e8b10"); len(again) != 1 || again[0].UUID != card.UUID {
		t.Errorf("a second call's cards %+v, want the same card with the same uuid (a memory keys it by patient)", again)
	}

	// Feedback: overridden as already reviewed snoozes the card.
	fb := `{"feedback":[{"card":"` + card.UUID + `","outcome":"overridden","outcomeTimestamp":"2025-06-02T09:01:00Z",` +
		`"overrideReason":{"reason":{"system":"` + kit.OverrideReasonSystem + `","code":"` + kit.OverrideAlreadyReviewed + `"}}}]}`
	req, err := http.NewRequest(http.MethodPost, "/cds-services/"+genderServiceID+"/feedback", strings.NewReader(fb))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("feedback: %d %s", w.Code, w.Body)
	}
	if err := recorder.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	clk.set(clk.get().Add(time.Hour))
	if snoozed := call("8a6f2d6c-1111-4b5e-9c3a-5d2e7f9a0b1c"); len(snoozed) != 0 {
		t.Errorf("after the override, %d cards; want the card snoozed", len(snoozed))
	}
	clk.set(clk.get().Add(91 * 24 * time.Hour))
	if back := call("5b0e7d4a-2222-4c6f-8d4b-6e3f8a0b1c2d"); len(back) != 1 {
		t.Errorf("after the snooze ended, %d cards; want the card again", len(back))
	}

	// The store's report counts the topic's cards and feedback under the
	// topic's own name.
	rep, err := store.Report(ctx, time.Time{}, clk.get())
	if err != nil {
		t.Fatal(err)
	}
	rep.Name(kit.ReportNames(topics, kit.NewReasons()))
	var found bool
	for _, tp := range rep.Topics {
		if tp.Topic == genderTopic {
			found = true
			if tp.Label != "Administrative gender not recorded" || tp.Overridden != 1 || tp.Issued < 2 {
				t.Errorf("report of the topic = %+v, want its label, 1 override and the cards issued", tp)
			}
		}
	}
	if !found {
		t.Errorf("the report has no row for %s: %+v", genderTopic, rep.Topics)
	}

	// The population runner: two patients, one without a gender.
	in, out := t.TempDir(), t.TempDir()
	for id, gender := range map[string]string{"a1": "unknown", "b2": "female"} {
		bundle := fmt.Sprintf(`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:%s",`+
			`"resource":{"resourceType":"Patient","id":%q,"gender":%q}}]}`, id, id, gender)
		if err := os.WriteFile(filepath.Join(in, id+".json"), []byte(bundle), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	silent := kit.Env{Gatherer: fhir.NewGatherer(fhir.GathererOptions{}), Now: clk.get, Topics: topics}
	quiet := newGenderService(t, silent)
	topic := population.Topic{
		Evaluate: func(ctx context.Context, rec *fhir.Record, patientID string) (population.Outcome, error) {
			cards := quiet.cards(ctx, rec, "", "population/"+patientID, "", patientID)
			var gender []string
			if len(cards) > 0 {
				gender = []string{"not recorded"}
			}
			return population.Outcome{Cards: cards, Cells: [][]string{gender}, Counted: [][]string{gender}}, nil
		},
		Service: "the example service",
		Columns: []string{"gender"},
		Counts:  []population.CountList{{Key: "genders", Chart: "genders", Title: "Patients per gender"}},
		Label: func(code string) (string, bool) {
			c, ok := topics.Topic(code)
			return c.Display, ok
		},
	}
	s, err := population.Run(ctx, population.Config{
		In: in, Out: out, Topic: topic, IDs: population.PlainIDs(), Workers: 2,
		Run:  population.RunInfo{AsOf: clk.get(), Trigger: "always", Knowledge: "example-1", IDs: "plain"},
		Read: bulk.Options{Types: population.PrefetchTypes(svc.Definitions())},
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Patients != 2 || s.PatientsWithCards != 1 || s.Cards != 1 {
		t.Errorf("summary: %d patients, %d with cards, %d cards; want 2, 1, 1", s.Patients, s.PatientsWithCards, s.Cards)
	}
	if got := s.List("genders"); len(got) != 1 || got[0].Name != "not recorded" || got[0].Patients != 1 {
		t.Errorf("genders counted %+v, want one patient not recorded", got)
	}
	f, err := os.Open(filepath.Join(out, population.WorklistFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"patient", "cards", "topics", "gender", "topic_labels"},
		{"a1", "1", genderTopic, "not recorded", "Administrative gender not recorded"},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("worklist = %q, want %q", rows, want)
	}
	summary, err := os.ReadFile(filepath.Join(out, population.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var back population.Summary
	if err := json.Unmarshal(summary, &back); err != nil {
		t.Fatal(err)
	}
	if got := back.List("genders"); len(got) != 1 || got[0].Patients != 1 {
		t.Errorf("summary.json's genders = %+v (file %s)", got, summary)
	}
}
