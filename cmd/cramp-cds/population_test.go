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
	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
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
		// One medication card names every ingredient (or counts them when
		// the names do not fit its summary).
		ingredients := split(row[3])
		if got, want := len(medicationSummaries), min(len(ingredients), 1); got != want {
			t.Errorf("%s: ingredients %q for %d medication cards, want %d", name, row[3], got, want)
		}
		for _, summary := range medicationSummaries {
			counted := strings.HasPrefix(summary, strconv.Itoa(len(ingredients))+" drugs")
			for _, ing := range ingredients {
				if !counted && !namesWord(summary, ing) {
					t.Errorf("%s: ingredient %q, but the card says %q", name, ing, summary)
				}
			}
		}
		// The missing-labs card lists each work-up ("- Calcium: ...", its
		// name without the parenthesised gloss).
		for _, lab := range split(row[4]) {
			short, _, _ := strings.Cut(lab, " (")
			if !strings.Contains(missingDetail, "\n- "+short+": ") {
				t.Errorf("%s: missing %q, but the missing-labs card does not list it:\n%s", name, lab, missingDetail)
			}
		}
		// A lab the card says is already ordered is no gap: the worklist
		// leaves it out.
		missing := 0
		for _, line := range strings.Split(missingDetail, "\n")[1:] {
			lab, state, ok := strings.Cut(strings.TrimPrefix(line, "- "), ": ")
			switch {
			case !ok || !strings.HasPrefix(line, "- "):
			case strings.HasPrefix(state, "already ordered"):
				if slices.ContainsFunc(split(row[4]), func(l string) bool { return strings.HasPrefix(l, lab) }) {
					t.Errorf("%s: %s is already ordered, but the worklist lists it as missing: %q", name, lab, row[4])
				}
			default:
				missing++
			}
		}
		if missing != len(split(row[4])) {
			t.Errorf("%s: %d missing labs on the worklist, %d not yet ordered on the card", name, len(split(row[4])), missing)
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

// namesWord reports whether a card summary names the name as a whole word
// ("Hydrochlorothiazide can ...", "Drugs that can cause leg cramps: amlodipine, ...").
func namesWord(summary, name string) bool {
	summary, name = strings.ToLower(summary), strings.ToLower(name)
	for i := 0; ; {
		j := strings.Index(summary[i:], name)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(name)
		before := start == 0 || !unicode.IsLetter(rune(summary[start-1]))
		after := end == len(summary) || !unicode.IsLetter(rune(summary[end]))
		if before && after {
			return true
		}
		i = start + 1
	}
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

// TestPopulationAllAges checks that --all-ages (or CRAMP_CDS_ALL_AGES)
// reaches the population run as it reaches serve and evaluate: the
// every-card patient made 10 years old is left out by default (the rules
// speak for adults) and on the worklist with the flag.
func TestPopulationAllAges(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	child := strings.Replace(string(bundleOfExample(t, "patient-view-every-card.json")), `"birthDate":"1950-04-12"`, `"birthDate":"2015-04-12"`, 1)
	if !strings.Contains(child, `"birthDate":"2015-04-12"`) {
		t.Fatal("the example patient's birthDate was not found")
	}
	if err := os.WriteFile(filepath.Join(dir, "child.json"), []byte(child), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		flags []string
		env   string
		rows  int
	}{
		{"default: adults only", nil, "", 0},
		{"--all-ages", []string{"--all-ages"}, "", 1},
		{"CRAMP_CDS_ALL_AGES", nil, "true", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			args := append([]string{"--in", dir, "--out", out, "--now", "2025-06-02", "--trigger", "always", "--ids", "plain"}, tt.flags...)
			opts, err := parsePopulation(args, func(k string) string {
				if k == "CRAMP_CDS_ALL_AGES" {
					return tt.env
				}
				return ""
			}, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := opts.allAges, tt.rows == 1; got != want {
				t.Fatalf("allAges = %v, want %v", got, want)
			}
			var stderr bytes.Buffer
			if err := populate(context.Background(), opts, io.Discard, &stderr); err != nil {
				t.Fatalf("population: %v\n%s", err, stderr.String())
			}
			if got := len(readWorklist(t, filepath.Join(out, "worklist.csv"))); got != tt.rows {
				t.Errorf("worklist rows = %d, want %d", got, tt.rows)
			}
		})
	}
}
