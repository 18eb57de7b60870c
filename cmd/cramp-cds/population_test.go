package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/internal/fixtures"
)

// bundleOfExample turns an example request's prefetch into one
// whole-patient Bundle, as a population directory holds them.
func bundleOfExample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		Prefetch map[string]json.RawMessage `json:"prefetch"`
	}
	if err := json.Unmarshal(data, &req); err != nil {
		t.Fatal(err)
	}
	entries := []map[string]json.RawMessage{{"resource": req.Prefetch["patient"]}}
	for key, v := range req.Prefetch {
		var b struct {
			Entry []map[string]json.RawMessage `json:"entry"`
		}
		if key == "patient" || json.Unmarshal(v, &b) != nil {
			continue
		}
		entries = append(entries, b.Entry...)
	}
	out, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "collection", "entry": entries})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// populationDir holds the Synthea patients and the every-card example patient as
// Bundle files.
func populationDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	names, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "synthea", "*.json"))
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, filepath.Base(n)), data, 0o644)
	}
	for _, ex := range []string{"patient-view-every-card.json"} {
		os.WriteFile(filepath.Join(dir, "example-"+ex), bundleOfExample(t, ex), 0o644)
	}
	return dir
}

// TestPopulationWorklistAgreesWithEvaluate: each patient's worklist row
// says what `cramp-cds evaluate` answers for that patient's Bundle: the
// number of cards, their topics, one ingredient per medication card, the
// missing labs the missing-labs card lists, the abnormal-lab cards'
// summaries; patients evaluate gives no card are not on the worklist.
func TestPopulationWorklistAgreesWithEvaluate(t *testing.T) {
	t.Parallel()
	dir := populationDir(t)
	flags := []string{"--now", "2025-06-02", "--trigger", "always"}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	err := runPopulation(context.Background(), append(flags, "--in", dir, "--out", out, "--ids", "plain", "--workers", "2"), &stdout, &stderr)
	if err != nil {
		t.Fatalf("population: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), filepath.Join(out, "report.html")) {
		t.Errorf("stdout does not say where the report is:\n%s", stdout.String())
	}
	rows := readWorklist(t, filepath.Join(out, "worklist.csv"))

	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	sawAbnormal := false
	for _, file := range files {
		body, err := runEval(t, nil, append(flags, file)...)
		if err != nil {
			t.Fatalf("evaluate %s: %v", file, err)
		}
		var resp cdshooks.Response
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		id := patientIDOf(t, file)
		row, onList := rows[id]
		if len(resp.Cards) == 0 {
			if onList {
				t.Errorf("%s: on the worklist, but evaluate gives no card", filepath.Base(file))
			}
			continue
		}
		if !onList {
			t.Errorf("%s: evaluate gives %d cards, but the patient is not on the worklist", filepath.Base(file), len(resp.Cards))
			continue
		}
		var topics, medicationSummaries, abnormal []string
		missingDetail := ""
		for _, c := range resp.Cards {
			topic := c.Source.Topic.Code
			if !slices.Contains(topics, topic) {
				topics = append(topics, topic)
			}
			switch topic {
			case legcramps.TopicMedication:
				medicationSummaries = append(medicationSummaries, c.Summary)
			case legcramps.TopicAbnormalLab:
				abnormal = append(abnormal, c.Summary)
			case legcramps.TopicMissingLabs:
				missingDetail = c.Detail
			}
		}
		name := filepath.Base(file)
		if got, want := row[1], strconv.Itoa(len(resp.Cards)); got != want {
			t.Errorf("%s: cards %s, evaluate gives %s", name, got, want)
		}
		if diff := cmp.Diff(strings.Join(topics, "; "), row[2]); diff != "" {
			t.Errorf("%s: topics (-evaluate +worklist):\n%s", name, diff)
		}
		ingredients := split(row[3])
		if len(ingredients) != len(medicationSummaries) {
			t.Errorf("%s: ingredients %q for %d medication cards", name, row[3], len(medicationSummaries))
		}
		for i := range min(len(ingredients), len(medicationSummaries)) {
			if !namesFirst(medicationSummaries[i], ingredients[i]) {
				t.Errorf("%s: ingredient %q, but the card says %q", name, ingredients[i], medicationSummaries[i])
			}
		}
		for _, lab := range split(row[4]) {
			if !strings.Contains(missingDetail, "**"+lab+"**") {
				t.Errorf("%s: missing %q, but the missing-labs card does not list it:\n%s", name, lab, missingDetail)
			}
		}
		if missing := strings.Count(missingDetail, "\n- **"); missing != len(split(row[4])) {
			t.Errorf("%s: %d missing labs on the worklist, %d on the card", name, len(split(row[4])), missing)
		}
		if diff := cmp.Diff(abnormal, split(row[5]), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: abnormal results (-evaluate +worklist):\n%s", name, diff)
		}
		sawAbnormal = sawAbnormal || len(abnormal) > 0
	}
	if !sawAbnormal {
		t.Error("no patient has an abnormal result: the example patients should")
	}
}

// namesFirst reports whether a card summary starts with the name as a
// whole word ("Amlodipine: ...", "Hydrochlorothiazide can ...").
func namesFirst(summary, name string) bool {
	rest, ok := strings.CutPrefix(strings.ToLower(summary), strings.ToLower(name))
	return ok && (rest == "" || !unicode.IsLetter([]rune(rest)[0]))
}

func split(cell string) []string {
	if cell == "" {
		return nil
	}
	return strings.Split(cell, "; ")
}

func readWorklist(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, r := range recs[1:] {
		out[r[0]] = r
	}
	return out
}

// patientIDOf returns the id of the Bundle file's Patient.
func patientIDOf(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Entry []struct {
			Resource struct {
				ResourceType, ID string
			} `json:"resource"`
		} `json:"entry"`
	}
	json.Unmarshal(data, &b)
	for _, e := range b.Entry {
		if e.Resource.ResourceType == "Patient" {
			return e.Resource.ID
		}
	}
	t.Fatalf("%s holds no Patient", file)
	return ""
}

func TestParsePopulationRefusesBadFlags(t *testing.T) {
	t.Parallel()
	base := []string{"--in", "x", "--out", "y"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", "y"}, "--in and --out are required"},
		{append(base, "--shard", "2/2"), "shard"},
		{append(base, "--ids", "secret"), "--ids"},
		{append(base, "--trigger", "sometimes"), "--trigger"},
		{append(base, "--workers", "0"), "--workers"},
		{append(base, "--now", "yesterday"), "--now"},
		{append(base, "extra"), "unexpected argument"},
	} {
		_, err := parsePopulation(tc.args, func(string) string { return "" }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parsePopulation(%q): got %v, want an error about %s", tc.args, err, tc.want)
		}
	}
	opts, err := parsePopulation(append(base, "--shard", "1/3"), func(k string) string {
		return map[string]string{"CRAMP_CDS_TRIGGER": "always", envIDKey: "k"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if opts.trigger != TriggerAlways || opts.shard.String() != "1/3" || string(opts.idKey) != "k" || opts.ids != IDsHashed {
		t.Errorf("got %+v, want trigger always from the environment, shard 1/3, hashed ids keyed k", opts)
	}
}

// TestLogProgress: off a terminal, progress is a log line at most every
// interval, with done, total, rate and time left, and one at the end.
func TestLogProgress(t *testing.T) {
	t.Parallel()
	var logs fixtures.LogBuffer
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &logProgress{logger: slog.New(slog.NewTextHandler(&logs, nil)), interval: 10 * time.Second, now: func() time.Time { return now }}
	p.Start(100)
	for range 10 {
		now = now.Add(time.Second)
		p.Done(2) // 2 patients/s
	}
	p.Finish()
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d log lines, want start, one progress line after 10 s, end:\n%s", len(lines), logs.String())
	}
	for _, want := range []string{"done=20", "total=100", "patients_per_second=2", "eta=40s"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("progress line %q lacks %s", lines[1], want)
		}
	}
}
