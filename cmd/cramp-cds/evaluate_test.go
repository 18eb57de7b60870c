package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// runEval runs `cramp-cds evaluate args...` and returns stdout and the error.
func runEval(t *testing.T, stdin io.Reader, args ...string) ([]byte, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := runEvaluate(context.Background(), args, stdin, &stdout, &stderr)
	return stdout.Bytes(), err
}

func cardTopics(t *testing.T, body []byte) []string {
	t.Helper()
	var resp cdshooks.Response
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("output is not a response: %v\n%s", err, body)
	}
	if err := resp.Validate(); err != nil {
		t.Errorf("output breaks the card rules: %v", err)
	}
	topics := []string{}
	for _, c := range resp.Cards {
		topics = append(topics, c.Source.Topic.Code)
	}
	return topics
}

// The patient-view examples are requests in the CDS Hooks sandbox's shape.
// Their expected cards follow from their content (see each comment) and the
// knowledge data.
func TestEvaluatePatientViewExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []string
	}{
		// HCTZ, amlodipine (contained Medication), simvastatin (text only): one card; potassium 3.1 and
		// magnesium 0.55 mmol/L low: one card; restless legs, with heart failure as a line; calcium
		// entered in error, TSH, HbA1c (2023) and renal missing, calcium and renal on order in a basic
		// metabolic panel.
		{"patient-view-every-card.json", []string{
			"cramp-medication", "cramp-abnormal-lab", "cramp-differential", "cramp-missing-labs",
		}},
		// Lisinopril/HCTZ and atorvastatin; HbA1c 7.4 % and eGFR 52 abnormal; no magnesium, TSH from
		// 2023; diabetes as a line on the work-up card.
		{"patient-view-realistic.json", []string{"cramp-medication", "cramp-abnormal-lab", "cramp-missing-labs"}},
		// The same patient without a leg-cramp condition.
		{"patient-view-no-leg-cramps.json", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			out, err := runEval(t, nil, "--now", "2025-06-02", filepath.Join("..", "..", "examples", tt.file))
			if err != nil {
				t.Fatalf("evaluate: %v\n%s", err, out)
			}
			if diff := cmp.Diff(tt.want, cardTopics(t, out)); diff != "" {
				t.Errorf("card topics (-want +got):\n%s", diff)
			}
		})
	}
	out, err := runEval(t, nil, "--now", "2025-06-02", filepath.Join("..", "..", "examples", "patient-view-no-leg-cramps.json"))
	if err != nil || string(out) != `{"cards":[]}` {
		t.Errorf("no leg cramps: %q, %v; want exactly {\"cards\":[]}", out, err)
	}
	if out, _ := runEval(t, nil, "--now", "2025-06-02", "--trigger=always", filepath.Join("..", "..", "examples", "patient-view-no-leg-cramps.json")); len(cardTopics(t, out)) == 0 {
		t.Error("--trigger=always gave no cards")
	}
}

// TestEvaluatePrintsTheServersBytes runs each example through a real server
// (HTTP, on a port) and through evaluate, with the same clock and public URL:
// the bodies must be the same bytes, errors included.
func TestEvaluatePrintsTheServersBytes(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	kb, err := knowledge.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.PublicURLs = []string{"https://cds.example.org"}
	svcs, err := services(cfg, serviceDeps{Knowledge: kb, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg, Services: svcs}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })

	absent := filepath.Join(t.TempDir(), "absent-key.json")
	var req map[string]any
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "patient-view-every-card.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &req); err != nil {
		t.Fatal(err)
	}
	delete(req["prefetch"].(map[string]any), legcramps.PrefetchObservations)
	data, _ = json.Marshal(req)
	if err := os.WriteFile(absent, data, 0o600); err != nil {
		t.Fatal(err)
	}

	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.json"))
	if err != nil || len(files) < 3 {
		t.Fatalf("examples: %v (%d files)", err, len(files))
	}
	for _, file := range append(files, absent) {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var head struct{ Hook string }
		_ = json.Unmarshal(body, &head)
		id := legcramps.PatientViewID
		if head.Hook != cdshooks.HookPatientView {
			id = legcramps.InducingOrderID
		}
		resp, err := http.Post("http://"+m.Addr()+"/cds-services/"+id, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		served, _ := io.ReadAll(resp.Body)
		resp.Body.Close()

		out, evalErr := runEval(t, nil, "--now", "2025-06-02", "--public-url", cfg.PublicURL(), file)
		if got, want := evalErr != nil, resp.StatusCode != http.StatusOK; got != want {
			t.Errorf("%s: evaluate error %v, server status %d", file, evalErr, resp.StatusCode)
		}
		if !bytes.Equal(out, served) {
			t.Errorf("%s: evaluate printed\n%s\nthe server sent\n%s", file, out, served)
		}
	}
}

func TestEvaluateAbsentPrefetchIs412(t *testing.T) {
	t.Parallel()
	req := `{"hook":"patient-view","hookInstance":"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
		"fhirServer":"https://ehr.example.org/fhir","context":{"patientId":"p1","userId":"Practitioner/1"}}`
	out, err := runEval(t, strings.NewReader(req), "-")
	if err == nil || !strings.Contains(err.Error(), "412") {
		t.Errorf("error %v, want the 412 answer as an error", err)
	}
	var oo cdshooks.OperationOutcome
	if jerr := json.Unmarshal(out, &oo); jerr != nil || len(oo.Issue) != 6 {
		t.Errorf("output %s: want an OperationOutcome naming the 6 absent keys", out)
	}
	text, _ := runEval(t, strings.NewReader(req), "--format=text", "-")
	if !strings.HasPrefix(string(text), "412 Precondition Failed\n") {
		t.Errorf("text output %q", text)
	}
}

func TestEvaluateSyntheaBundle(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "synthea", "Adalberto_Hartmann_*.json"))
	if err != nil || len(files) != 1 {
		t.Fatalf("fixture: %v", err)
	}
	// The fixture has no leg-cramp condition: no cards unless screening.
	out, err := runEval(t, nil, "--now", "2021-04-01", files[0])
	if err != nil || string(out) != `{"cards":[]}` {
		t.Errorf("without --trigger=always: %q, %v", out, err)
	}
	out, err = runEval(t, nil, "--now", "2021-04-01", "--trigger=always", files[0])
	if err != nil {
		t.Fatal(err)
	}
	// HCTZ, amlodipine, simvastatin in one card; magnesium and TSH missing, with coronary heart
	// disease as a line. The order subject is the id of the Bundle's Patient resource (ba18818d-...).
	want := []string{"cramp-medication", "cramp-missing-labs"}
	if diff := cmp.Diff(want, cardTopics(t, out)); diff != "" {
		t.Errorf("card topics (-want +got):\n%s", diff)
	}
	again, _ := runEval(t, nil, "--now", "2021-04-01", "--trigger=always", files[0])
	if !bytes.Equal(out, again) {
		t.Error("the same Bundle gave different output")
	}
	var resp cdshooks.Response
	_ = json.Unmarshal(out, &resp)
	for _, s := range resp.Cards[1].Suggestions {
		for _, a := range s.Actions {
			if !strings.Contains(string(a.Resource), `"subject":{"reference":"Patient/ba18818d-faef-44cd-9744-b12d8973d402"}`) {
				t.Errorf("order subject is not the Bundle's patient: %s", a.Resource)
			}
		}
	}
}

// TestEvaluateTextFormat: the text is the panel's, rendered (no markdown
// syntax, no link targets), with the buttons.
func TestEvaluateTextFormat(t *testing.T) {
	t.Parallel()
	out, err := runEval(t, nil, "--now", "2025-06-02", "--format=text", "--public-url", "https://cds.example.org",
		filepath.Join("..", "..", "examples", "patient-view-realistic.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"1. [WARNING] Drugs that can cause leg cramps: hydrochlorothiazide, atorvastatin\n",
		"\n   • hydrochlorothiazide 12.5 MG / lisinopril 10 MG Oral Tablet (thiazide and thiazide-like diuretics, recorded 2022-08-30)\n",
		"\n  *[ Order magnesium ]\n", // hydrochlorothiazide points to magnesium (knowledge/data/labs.yaml)
		"\n   Sources: Allen & Kirby, Am Fam Physician 2012; ",
		"\n   -> Why these tests\n",
	} {
		if !strings.Contains(string(out), s) {
			t.Errorf("text output lacks %q:\n%s", s, out)
		}
	}
	for _, s := range []string{"**", "](", "https://"} {
		if strings.Contains(string(out), s) {
			t.Errorf("text output shows markdown or a link target %q:\n%s", s, out)
		}
	}
	none, _ := runEval(t, nil, "--format=text", filepath.Join("..", "..", "examples", "patient-view-no-leg-cramps.json"))
	if string(none) != "No cards.\n" {
		t.Errorf("text output without cards %q", none)
	}
}

func TestEvaluateRejectsBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"no file", nil, "", "exactly one FILE"},
		{"not JSON", []string{"-"}, "hello", "not a JSON object"},
		{"another FHIR resource", []string{"-"}, `{"resourceType":"Patient","id":"x"}`, "FHIR Patient"},
		{"a Bundle without a Patient", []string{"-"}, `{"resourceType":"Bundle","type":"collection","entry":[]}`, "no Patient"},
		{"an unknown hook", []string{"-"}, `{"hook":"encounter-start","hookInstance":"x","context":{}}`, "no service serves hook"},
		{"bad --now", []string{"--now", "yesterday", "-"}, "{}", "--now"},
		{"bad --format", []string{"--format", "xml", "-"}, "{}", "--format"},
		{"bad --trigger", []string{"--trigger", "sometimes", "-"}, `{"hook":"patient-view"}`, "--trigger"},
		{"missing file", []string{"/nonexistent/request.json"}, "", "no such file"},
	}
	for _, tt := range tests {
		_, err := runEval(t, strings.NewReader(tt.stdin), tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}

// evaluate reads --trigger and --public-url through serve's table: the same
// environment variables, a flag winning over its variable.
func TestEvaluateSharesServesSettings(t *testing.T) {
	t.Parallel()
	env := map[string]string{"CRAMP_CDS_TRIGGER": "always", "CRAMP_CDS_PUBLIC_URL": "https://env.example.org"}
	getenv := func(k string) string { return env[k] }
	opts, err := parseEvaluate([]string{"--public-url", "https://flag.example.org", "x.json"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := opts.cfg.Trigger, TriggerAlways; got != want {
		t.Errorf("trigger = %q, want %q from CRAMP_CDS_TRIGGER", got, want)
	}
	if got, want := opts.cfg.PublicURL(), "https://flag.example.org"; got != want {
		t.Errorf("public URL = %q, want the flag's %q", got, want)
	}
}
