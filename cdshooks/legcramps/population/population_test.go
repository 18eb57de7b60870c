package population_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/cdshooks/kit/population"
	crampspopulation "github.com/cramp-cds/cramp-cds/cdshooks/legcramps/population"
	"github.com/cramp-cds/cramp-cds/fhir/bulk"
	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
)

const syntheaDir = "../../../testdata/synthea"

// asOf is near the Synthea patients' last encounters (2019-2021).
var asOf = time.Date(2021, 4, 1, 0, 0, 0, 0, time.UTC)

// syntheaExport converts the Synthea Bundles into an NDJSON export, lines
// shuffled across patients.
func syntheaExport(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	names, _ := filepath.Glob(filepath.Join(syntheaDir, "*.json"))
	if err := fixtures.WriteBulkExport(dir, names, false, 3); err != nil {
		t.Fatal(err)
	}
	return dir
}

// generatedPopulation writes 24 small generated patients twice: as Bundle
// files, and as an NDJSON export with extra lines appended to
// Observation.ndjson. They are cheap to evaluate, for the tests that run
// many times.
func generatedPopulation(t testing.TB, extraObservations string) (bundles, export string) {
	t.Helper()
	bundles, export = t.TempDir(), t.TempDir()
	w, err := fixtures.NewBulkWriter(export, false, 5)
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(24) {
		b := fixtures.Generate(seed+1, fixtures.Size{Conditions: 3, Medications: 3, Observations: 8}, asOf).Bundle()
		if err := os.WriteFile(filepath.Join(bundles, fmt.Sprintf("patient-%02d.json", seed)), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := w.Add(b, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	appendLines(t, filepath.Join(export, "Observation.ndjson"), extraObservations)
	return bundles, export
}

func appendLines(t testing.TB, file, lines string) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(lines); err != nil {
		t.Fatal(err)
	}
}

// run runs the population over in and returns its output directory.
func run(t *testing.T, in string, shard bulk.Shard, ids population.IDs) string {
	t.Helper()
	out := t.TempDir()
	cfg := population.Config{
		In: in, Out: out, Topic: topic(t), IDs: ids, Workers: 3,
		Run:  population.RunInfo{AsOf: asOf, Trigger: "always", Knowledge: "test", IDs: "test", Shard: shard.String()},
		Read: bulk.Options{Types: readTypes(t), Shard: shard, TempDir: t.TempDir(), MemoryBudget: 64 << 10},
	}
	if _, err := population.Run(context.Background(), cfg); err != nil {
		t.Fatalf("Run(%s, shard %q): %v", in, shard, err)
	}
	return out
}

func readOutput(t *testing.T, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// worklist reads worklist.csv into rows keyed by patient.
func worklist(t *testing.T, dir string) map[string][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(readOutput(t, dir, population.WorklistFile))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, r := range recs[1:] {
		out[r[0]] = r
	}
	return out
}

// TestNDJSONAndBundlesGiveTheSameWorklist: the Synthea patients as Bundle
// files and as a shuffled NDJSON export give byte-identical worklists, and
// the worklist says what the fixtures' README says the patients take.
func TestNDJSONAndBundlesGiveTheSameWorklist(t *testing.T) {
	t.Parallel()
	fromBundles := run(t, syntheaDir, bulk.Shard{}, population.PlainIDs())
	fromNDJSON := run(t, syntheaExport(t), bulk.Shard{}, population.PlainIDs())
	got, want := readOutput(t, fromNDJSON, population.WorklistFile), readOutput(t, fromBundles, population.WorklistFile)
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("worklist.csv (-Bundles +NDJSON):\n%s", diff)
	}
	rows := worklist(t, fromBundles)
	// testdata/synthea/README.md: Adalberto Hartmann takes amlodipine,
	// hydrochlorothiazide and simvastatin; Abdul Koepp only a stopped ibuprofen.
	adalberto := rows["ba18818d-faef-44cd-9744-b12d8973d402"]
	if adalberto == nil {
		t.Fatalf("Adalberto has no worklist row; rows: %v", rows)
	}
	for _, drug := range []string{"amlodipine", "hydrochlorothiazide", "simvastatin"} {
		if !strings.Contains(strings.ToLower(adalberto[3]), drug) {
			t.Errorf("Adalberto's ingredients %q lack %s", adalberto[3], drug)
		}
	}
	if !strings.Contains(adalberto[2], "cramp-medication") {
		t.Errorf("Adalberto's topics %q lack cramp-medication", adalberto[2])
	}
	// The codes stay for tools; the reader of the worklist gets each topic's label beside them, in the same order.
	header, _, _ := strings.Cut(want, "\n")
	if want := "patient,cards,topics,cramp_inducing_ingredients,missing_analytes,abnormal_results,topic_labels"; header != want {
		t.Errorf("worklist.csv header %q, want %q", header, want)
	}
	if len(adalberto) < 7 || !strings.Contains(adalberto[6], "Medications that can cause leg cramps") || strings.Contains(adalberto[6], "cramp-") {
		t.Errorf("Adalberto's topic labels %q: want the labels of %q", adalberto[6:], adalberto[2])
	} else if got, want := len(strings.Split(adalberto[6], "; ")), len(strings.Split(adalberto[2], "; ")); got != want {
		t.Errorf("Adalberto has %d topic labels for %d topics", got, want)
	}
	if abdul := rows["018f428e-34f6-4707-8009-5ad742f901e7"]; abdul != nil && abdul[3] != "" {
		t.Errorf("Abdul (a stopped ibuprofen only) has cramp-inducing ingredients %q", abdul[3])
	}
}

// badLines are appended to the export: not JSON, and a result for a patient
// the export does not hold.
const badLines = `{"resourceType":"Observation",
{"resourceType":"Observation","id":"orphan","status":"final","code":{"text":"K"},"subject":{"reference":"Patient/not-in-the-export"}}
`

// TestShardsMergedEqualTheWholeRun: shards 0/2 and 1/2 merged give the
// whole run's files byte for byte, problems included, for both inputs.
func TestShardsMergedEqualTheWholeRun(t *testing.T) {
	t.Parallel()
	bundles, export := generatedPopulation(t, badLines)
	for _, in := range []string{export, bundles} {
		ids := population.HashedIDs([]byte("test key"))
		whole := run(t, in, bulk.Shard{}, ids)
		shards := []string{run(t, in, bulk.Shard{Index: 0, Count: 2}, ids), run(t, in, bulk.Shard{Index: 1, Count: 2}, ids)}
		for i, s := range shards {
			if len(worklist(t, s)) == 0 {
				t.Fatalf("shard %d/2 has no worklist row: the test needs both shards populated", i)
			}
		}
		merged := t.TempDir()
		if _, err := population.Merge(context.Background(), crampspopulation.Topic(), merged, t.TempDir(), shards); err != nil {
			t.Fatalf("Merge: %v", err)
		}
		for _, name := range []string{population.WorklistFile, population.ProblemsFile, population.SummaryFile, population.ReportFile} {
			if diff := gocmp.Diff(readOutput(t, whole, name), readOutput(t, merged, name)); diff != "" {
				t.Errorf("%s: %s (-whole +merged):\n%s", in, name, diff)
			}
		}
	}
}

// TestBadInputIsReportedNotFatal: the run goes on past bad lines, and
// problems.csv names their file and line.
func TestBadInputIsReportedNotFatal(t *testing.T) {
	t.Parallel()
	_, export := generatedPopulation(t, badLines)
	lines := strings.Count(readOutput(t, export, "Observation.ndjson"), "\n")
	out := run(t, export, bulk.Shard{}, population.PlainIDs())
	problems := readOutput(t, out, population.ProblemsFile)
	for _, want := range []string{
		"Observation.ndjson," + strconv.Itoa(lines-1) + ",not valid JSON\n",
		"Observation.ndjson," + strconv.Itoa(lines) + ",its patient has no Patient resource in the export\n",
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems.csv lacks %q:\n%s", want, problems)
		}
	}
	if len(worklist(t, out)) == 0 {
		t.Error("the worklist is empty: the bad lines stopped the run")
	}
}

func TestHashedIDs(t *testing.T) {
	t.Parallel()
	a, b := population.HashedIDs([]byte("k1")), population.HashedIDs([]byte("k2"))
	id := "ba18818d-faef-44cd-9744-b12d8973d402"
	if a(id) != a(id) {
		t.Error("the same key and id give different pseudonyms")
	}
	if a(id) == b(id) {
		t.Error("two keys give the same pseudonym")
	}
	if a(id) == a(id+"x") {
		t.Error("two ids give the same pseudonym")
	}
	if strings.Contains(a(id), id) || strings.Contains(a(id), id[:8]) {
		t.Errorf("pseudonym %q shows the id", a(id))
	}
	if population.KeyCheck([]byte("k1")) == population.KeyCheck([]byte("k2")) {
		t.Error("two keys give the same key check")
	}
}

// TestMergeRefusesWhatIsNotOneRun: shards missing, given twice, or of runs
// as of different times are refused.
func TestMergeRefusesWhatIsNotOneRun(t *testing.T) {
	t.Parallel()
	_, in := generatedPopulation(t, "")
	s0 := run(t, in, bulk.Shard{Index: 0, Count: 2}, population.PlainIDs())
	s1 := run(t, in, bulk.Shard{Index: 1, Count: 2}, population.PlainIDs())
	other := t.TempDir()
	cfg := population.Config{
		In: in, Out: other, Topic: topic(t), IDs: population.PlainIDs(),
		Run:  population.RunInfo{AsOf: asOf.AddDate(0, 1, 0), Trigger: "always", Knowledge: "test", IDs: "plain", Shard: "1/2"},
		Read: bulk.Options{Types: readTypes(t), Shard: bulk.Shard{Index: 1, Count: 2}},
	}
	if _, err := population.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	otherKey := t.TempDir()
	cfg.Out, cfg.Run.AsOf, cfg.Run.IDKeyCheck = otherKey, asOf, population.KeyCheck([]byte("another key"))
	if _, err := population.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		dirs []string
		want string
	}{
		{"a shard missing", []string{s0}, "missing"},
		{"a shard twice", []string{s0, s1, s1}, "same shard"},
		{"another evaluation time", []string{s0, other}, "not shards of one run"},
		{"another id key", []string{s0, otherKey}, "not shards of one run"},
	} {
		_, err := population.Merge(context.Background(), crampspopulation.Topic(), t.TempDir(), t.TempDir(), tc.dirs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

// TestATestAlreadyOrderedIsNotAGap: a patient with no magnesium result
// but an active order for one does not have magnesium in the worklist's
// missing analytes; the same patient without the order does. The order
// comes from ServiceRequest.ndjson, which the run reads because the
// service's prefetch asks for ServiceRequests.
func TestATestAlreadyOrderedIsNotAGap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"Patient.ndjson": `{"resourceType":"Patient","id":"ordered","gender":"female","birthDate":"1950-04-12"}
{"resourceType":"Patient","id":"not-ordered","gender":"female","birthDate":"1950-04-12"}
`,
		// 19123-9 is the magnesium work-up's order code (knowledge/data/labs.yaml).
		"ServiceRequest.ndjson": `{"resourceType":"ServiceRequest","id":"sr-mg","status":"active","intent":"order","code":{"coding":[{"system":"http://loinc.org","code":"19123-9"}],"text":"Magnesium"},"subject":{"reference":"Patient/ordered"},"authoredOn":"2021-03-25"}
`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rows := worklist(t, run(t, dir, bulk.Shard{}, population.PlainIDs()))
	const missing = 4 // missing_analytes
	without := rows["not-ordered"]
	if without == nil || !strings.Contains(without[missing], "Magnesium") {
		t.Fatalf("the patient without an order: row %q, want Magnesium among the missing analytes", without)
	}
	with := rows["ordered"]
	if with == nil {
		t.Fatalf("the patient with the order has no row; rows: %v", rows)
	}
	if strings.Contains(with[missing], "Magnesium") {
		t.Errorf("the patient with an active magnesium order: missing analytes %q list Magnesium", with[missing])
	}
	if with[missing] == "" || with[missing] == without[missing] {
		t.Errorf("missing analytes %q (ordered) and %q (not ordered): want the other labs still listed, without Magnesium", with[missing], without[missing])
	}
}
