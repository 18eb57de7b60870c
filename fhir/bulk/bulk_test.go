package bulk_test

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/fhir/bulk"
	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
)

const syntheaDir = "../../testdata/synthea"

func syntheaBundles(t testing.TB) map[string][]byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(syntheaDir, "*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no Synthea fixtures: %v", err)
	}
	out := map[string][]byte{}
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(n)] = data
	}
	return out
}

// writeExport converts the Synthea Bundles into an NDJSON export in a new dir.
func writeExport(t testing.TB, gz bool) string {
	t.Helper()
	dir := t.TempDir()
	names, _ := filepath.Glob(filepath.Join(syntheaDir, "*.json"))
	if err := fixtures.WriteBulkExport(dir, names, gz, 7); err != nil {
		t.Fatal(err)
	}
	return dir
}

type read struct {
	records  map[string]*fhir.Record
	problems []bulk.Problem
	total    int
}

// prefetchTypes are the types the patient-view service prefetches, which a
// population run reads.
var prefetchTypes = []string{"Patient", "Condition", "MedicationRequest", "MedicationStatement", "Observation", "ServiceRequest"}

func readAll(t *testing.T, dir string, opts bulk.Options) read {
	t.Helper()
	if opts.Types == nil {
		opts.Types = prefetchTypes
	}
	var mu sync.Mutex
	r := read{records: map[string]*fhir.Record{}}
	opts.OnProblem = func(p bulk.Problem) {
		mu.Lock()
		defer mu.Unlock()
		r.problems = append(r.problems, p)
	}
	opts.OnTotal = func(n int) { r.total = n }
	err := bulk.Read(context.Background(), dir, opts, func(p *bulk.Patient) error {
		rec, problems, err := p.Record()
		if err != nil {
			t.Errorf("patient %s: %v", p.ID, err)
			return nil
		}
		if _, dup := r.records[p.ID]; dup {
			t.Errorf("patient %s passed twice", p.ID)
		}
		r.records[p.ID] = rec
		r.problems = append(r.problems, problems...)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return r
}

// recordsEqual compares the facts of two Records, whatever the order of
// their entries and wherever their skips came from.
var recordsEqual = []gocmp.Option{
	cmpopts.IgnoreFields(fhir.Record{}, "Skipped"),
	cmpopts.SortSlices(func(a, b fhir.Medication) bool { return a.Ref < b.Ref }),
	cmpopts.SortSlices(func(a, b fhir.Condition) bool { return a.Ref < b.Ref }),
	cmpopts.SortSlices(func(a, b fhir.Observation) bool { return a.Ref < b.Ref }),
	cmpopts.EquateEmpty(),
}

// TestNDJSONGivesTheBundlesRecords: an export made from the Synthea Bundles,
// its lines shuffled across patients, gives each patient the Record that
// ReadBundle gives for the Bundle, plain or gzip, held in memory or spilled.
func TestNDJSONGivesTheBundlesRecords(t *testing.T) {
	t.Parallel()
	want := readAll(t, syntheaDir, bulk.Options{})
	if len(want.records) != 6 || want.total != 6 {
		t.Fatalf("Bundle directory: got %d patients (total %d), want 6", len(want.records), want.total)
	}
	for _, tc := range []struct {
		name   string
		gz     bool
		budget int
	}{
		{"plain, in memory", false, 0},
		{"gzip, spilled in many runs", true, 32 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := readAll(t, writeExport(t, tc.gz), bulk.Options{MemoryBudget: tc.budget, TempDir: t.TempDir()})
			if got.total != 6 {
				t.Errorf("OnTotal: got %d, want 6", got.total)
			}
			if diff := gocmp.Diff(want.records, got.records, recordsEqual...); diff != "" {
				t.Errorf("records (-Bundles +NDJSON):\n%s", diff)
			}
		})
	}
}

// TestBadLinesAreReportedAndSkipped: every unusable line is reported with
// its file and line, and the rest of the export is still read.
func TestBadLinesAreReportedAndSkipped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"Patient.ndjson": `{"resourceType":"Patient","id":"p1"}
{"resourceType":"Patient"}
`,
		"Observation.ndjson": `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Potassium"},"subject":{"reference":"Patient/p1"}}
{"resourceType":"Observation","id":"o2",
{"resourceType":"Observation","id":"o3","status":"final","code":{"text":"K"},"subject":{"reference":"Patient/nobody"}}

{"id":"o4"}
{"resourceType":"Observation","id":"o5","status":"final","code":{"text":"K"}}
["not an object"]
{"resourceType":"Observation","id":"o6","status":"nonsense","code":{"text":"K"},"subject":{"reference":"Patient/p1"}}
{"resourceType":"Observation","id":"o7","status":"final","code":{"text":"` + strings.Repeat("x", 2000) + `"},"subject":{"reference":"Patient/p1"}}
`,
		"Condition.ndjson": `{"resourceType":"Encounter","id":"e1","subject":{"reference":"Patient/p1"}}
`,
		"Encounter.ndjson": "this file is never read\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := readAll(t, dir, bulk.Options{MaxLineBytes: 1000})
	want := []bulk.Problem{
		{File: "Condition.ndjson", Line: 1, Reason: "resource type Encounter is not read"},
		{File: "Observation.ndjson", Line: 2, Reason: "not valid JSON"},
		{File: "Observation.ndjson", Line: 3, Reason: "its patient has no Patient resource in the export"},
		{File: "Observation.ndjson", Line: 5, Reason: "not a FHIR resource (no resourceType)"},
		{File: "Observation.ndjson", Line: 6, Reason: "Observation without a subject reference to a Patient"},
		{File: "Observation.ndjson", Line: 7, Reason: "not a FHIR resource (a field has the wrong JSON type)"},
		{File: "Observation.ndjson", Line: 9, Reason: "line longer than 1000 bytes"},
		{File: "Patient.ndjson", Line: 2, Reason: "Patient without an id"},
	}
	// Line 8 decodes but its status is not a FHIR code: the Record's reader skips it.
	var decodeSkip []bulk.Problem
	got.problems = slices.DeleteFunc(got.problems, func(p bulk.Problem) bool {
		if p.File == "Observation.ndjson" && p.Line == 8 {
			decodeSkip = append(decodeSkip, p)
			return true
		}
		return false
	})
	slices.SortFunc(got.problems, func(a, b bulk.Problem) int {
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	if diff := gocmp.Diff(want, got.problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if len(decodeSkip) != 1 {
		t.Errorf("got %d problems at Observation.ndjson:8 (status nonsense), want 1", len(decodeSkip))
	}
	rec := got.records["p1"]
	if rec == nil || len(rec.Observations) != 1 || rec.Observations[0].Ref != "Observation/o1" {
		t.Fatalf("patient p1: got %+v, want one Observation o1", rec)
	}
	if len(got.records) != 1 {
		t.Errorf("got %d patients, want 1", len(got.records))
	}
	for _, p := range got.problems {
		if strings.Contains(p.Reason, "Potassium") || strings.Contains(p.Reason, "p1") {
			t.Errorf("problem %v holds record content", p)
		}
	}
}

// readIDs returns the ids of the patients Read passes on, without reading
// their records.
func readIDs(t *testing.T, dir string, opts bulk.Options) map[string]int {
	t.Helper()
	opts.Types = prefetchTypes
	ids := map[string]int{}
	err := bulk.Read(context.Background(), dir, opts, func(p *bulk.Patient) error {
		ids[p.ID]++
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return ids
}

// TestShardsPartitionThePopulation: the shards of N are disjoint and
// together hold every patient, for both kinds of input.
func TestShardsPartitionThePopulation(t *testing.T) {
	t.Parallel()
	bundles, export := t.TempDir(), t.TempDir()
	w, err := fixtures.NewBulkWriter(export, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(30) {
		b := fixtures.Generate(seed, fixtures.Size{Conditions: 1, Medications: 1, Observations: 2}, time.Now()).Bundle()
		os.WriteFile(filepath.Join(bundles, fmt.Sprintf("p%02d.json", seed)), b, 0o644)
		if err := w.Add(b, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{bundles, export} {
		whole := readIDs(t, dir, bulk.Options{})
		if len(whole) != 30 {
			t.Fatalf("%s: the whole run has %d patients, want 30", dir, len(whole))
		}
		seen := map[string]int{}
		for i := range 3 {
			shard := bulk.Shard{Index: i, Count: 3}
			part := readIDs(t, dir, bulk.Options{Shard: shard})
			if len(part) == 0 {
				t.Errorf("%s: shard %v is empty: the test needs every shard populated", dir, shard)
			}
			for id, n := range part {
				seen[id] += n
				if !shard.Has(id) {
					t.Errorf("shard %v passed %s, which it does not have", shard, id)
				}
			}
		}
		if len(seen) != len(whole) {
			t.Errorf("%s: shards hold %d patients, the whole run %d", dir, len(seen), len(whole))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s: patient in %d shards", dir, n)
			}
			if whole[id] == 0 {
				t.Errorf("%s: a shard holds a patient the whole run does not", dir)
			}
		}
	}
}

func TestParseShard(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    bulk.Shard
		wantErr bool
	}{
		{"", bulk.Shard{}, false},
		{"0/2", bulk.Shard{Index: 0, Count: 2}, false},
		{"1/2", bulk.Shard{Index: 1, Count: 2}, false},
		{"2/2", bulk.Shard{}, true},
		{"-1/2", bulk.Shard{}, true},
		{"1/0", bulk.Shard{}, true},
		{"1", bulk.Shard{}, true},
		{"a/b", bulk.Shard{}, true},
	} {
		got, err := bulk.ParseShard(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err == nil && got.String() != tc.in {
			t.Errorf("ParseShard(%q).String() = %q", tc.in, got.String())
		}
	}
}

// TestBundleFileProblems: a JSON file that is not a Bundle, or holds no
// Patient, is reported by name and skipped; so is a second file of the same
// patient (a copy), which would otherwise give the patient two worklist rows.
func TestBundleFileProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := syntheaBundles(t)["Abdul_Koepp_e925b0f3-8006-43f6-aa31-94bd215e55e7.json"]
	for name, content := range map[string][]byte{
		"a.json": good,
		"b.json": []byte(`{"resourceType":"Patient","id":"x"}`),
		"c.json": []byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation"}}]}`),
		"d.json": []byte(`{"resourceType":"Bun`),
		"e.json": good,
	} {
		os.WriteFile(filepath.Join(dir, name), content, 0o644)
	}
	got := readAll(t, dir, bulk.Options{})
	want := []bulk.Problem{
		{File: "b.json", Reason: "not a FHIR Bundle: skipped"},
		{File: "c.json", Reason: "the Bundle holds no Patient with an id: skipped"},
		{File: "d.json", Reason: "not a FHIR Bundle: skipped"},
		{File: "e.json", Reason: "the same Patient as a.json: skipped"},
	}
	if diff := gocmp.Diff(want, got.problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if len(got.records) != 1 {
		t.Errorf("got %d patients, want 1", len(got.records))
	}
}

func TestReadRefusesAnEmptyDirectory(t *testing.T) {
	t.Parallel()
	err := bulk.Read(context.Background(), t.TempDir(), bulk.Options{}, func(*bulk.Patient) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "no .ndjson") {
		t.Errorf("got %v, want an error saying the directory holds no input", err)
	}
}

// TestMedicationReferencesResolveAcrossFiles: a MedicationRequest naming its
// drug by medicationReference gets the Medication of Medication.ndjson, for
// every patient that refers to it; a reference the export cannot resolve is
// reported at the request's line.
func TestMedicationReferencesResolveAcrossFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"Patient.ndjson": `{"resourceType":"Patient","id":"p1"}
{"resourceType":"Patient","id":"p2"}
`,
		"MedicationRequest.ndjson": `{"resourceType":"MedicationRequest","id":"r1","status":"active","intent":"order","subject":{"reference":"Patient/p1"},"medicationReference":{"reference":"Medication/hctz"}}
{"resourceType":"MedicationRequest","id":"r2","status":"active","intent":"order","subject":{"reference":"Patient/p2"},"medicationReference":{"reference":"Medication/hctz"}}
{"resourceType":"MedicationRequest","id":"r3","status":"active","intent":"order","subject":{"reference":"Patient/p2"},"medicationReference":{"reference":"Medication/unknown"}}
`,
		"Medication.ndjson": `{"resourceType":"Medication","id":"hctz","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"5487","display":"hydrochlorothiazide"}]}}
{"resourceType":"Observation","id":"x"}
`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := readAll(t, dir, bulk.Options{})
	for _, id := range []string{"p1", "p2"} {
		rec := got.records[id]
		if rec == nil || len(rec.Medications) != 1 {
			t.Fatalf("patient %s: got %+v, want one medication", id, rec)
		}
		if codes := rec.Medications[0].Drug.Codings; len(codes) != 1 || codes[0].Code != "5487" {
			t.Errorf("patient %s: drug %+v, want RxNorm 5487 from Medication/hctz", id, rec.Medications[0].Drug)
		}
	}
	want := []bulk.Problem{
		{File: "Medication.ndjson", Line: 2, Reason: "resource type Observation in a Medication file"},
		{File: "MedicationRequest.ndjson", Line: 3, Reason: fhir.ErrUnresolvedReference.Error()},
	}
	slices.SortFunc(got.problems, func(a, b bulk.Problem) int { return strings.Compare(a.File, b.File) })
	if diff := gocmp.Diff(want, got.problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestCaseVariantMembersReadAsInABundle: an NDJSON line is read by the
// reader of prefetch Bundles, so a member spelt in another letter case is
// treated as there: an Observation with "Status" beside "status" is skipped
// with the reason ReadBundle gives for it, and one with "Subject" instead of
// "subject" names no patient (encoding/json, which folds case, took it for
// the subject).
func TestCaseVariantMembersReadAsInABundle(t *testing.T) {
	t.Parallel()
	statusTwice := `{"resourceType":"Observation","id":"o1","status":"final","Status":"final","code":{"text":"K"},"subject":{"reference":"Patient/p1"}}`
	subjectCased := `{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"K"},"Subject":{"reference":"Patient/p1"}}`
	inBundle, err := fhir.ReadBundle(strings.NewReader(`{"resourceType":"Bundle","type":"collection","entry":[`+
		`{"resource":{"resourceType":"Patient","id":"p1"}},{"resource":`+statusTwice+`}]}`), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(inBundle.Skipped) != 1 || len(inBundle.Observations) != 0 {
		t.Fatalf("in a Bundle: skipped %+v, observations %+v; want the Observation skipped", inBundle.Skipped, inBundle.Observations)
	}
	dir := t.TempDir()
	for name, content := range map[string]string{
		"Patient.ndjson":     `{"resourceType":"Patient","id":"p1"}` + "\n",
		"Observation.ndjson": statusTwice + "\n" + subjectCased + "\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := readAll(t, dir, bulk.Options{})
	if rec := got.records["p1"]; rec == nil || len(rec.Observations) != 0 {
		t.Fatalf("patient p1: %+v, want a record without Observations", rec)
	}
	want := []bulk.Problem{
		{File: "Observation.ndjson", Line: 1, Reason: inBundle.Skipped[0].Reason},
		{File: "Observation.ndjson", Line: 2, Reason: "member subject is spelt in another letter case"},
	}
	slices.SortFunc(got.problems, func(a, b bulk.Problem) int { return a.Line - b.Line })
	if diff := gocmp.Diff(want, got.problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
