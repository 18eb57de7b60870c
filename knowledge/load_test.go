package knowledge_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/cramp-cds/cramp-cds/knowledge"
)

// loadEmbedded loads the embedded base once for the whole test binary: a Base is immutable, and decoding
// the value sets (about 2 MB of FHIR JSON) for each of some forty tests would dominate the package's time
// under -race. TestLoadFSAcceptsTheEmbeddedFiles and BenchmarkLoad still load afresh.
var loadEmbedded = sync.OnceValues(knowledge.Load)

// mustLoad returns the embedded base; every test in this package starts from it.
func mustLoad(t testing.TB) *knowledge.Base {
	t.Helper()
	b, err := loadEmbedded()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return b
}

func TestLoadEmbeddedData(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	if got, want := b.Version(), regexp.MustCompile(`^1\.4\.0\+[0-9a-f]{8}$`); !want.MatchString(got) {
		t.Errorf("Version() = %q, want semver+8 hex digits", got)
	}
	if got, want := len(b.Sources()), 5; got != want {
		t.Errorf("len(Sources()) = %d, want %d (one per seed)", got, want)
	}
	if got, want := b.LookbackMonths(), 12; got != want {
		t.Errorf("LookbackMonths() = %d, want %d", got, want)
	}
}

// dataFS returns the embedded data files as a MapFS, with each edit applied as old -> new replacements.
// An edit that changes nothing fails the test, so a broken-data case cannot silently test nothing.
func dataFS(t *testing.T, file string, edits ...string) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	paths, err := filepath.Glob("data/*.yaml")
	vss, err2 := filepath.Glob("data/valuesets/*.json")
	if err != nil || err2 != nil || len(paths) == 0 || len(vss) == 0 {
		t.Fatalf("listing data files: %v %v", err, err2)
	}
	for _, p := range append(paths, vss...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fsys[strings.TrimPrefix(filepath.ToSlash(p), "data/")] = &fstest.MapFile{Data: b}
	}
	if file == "" {
		return fsys
	}
	s := string(fsys[file].Data)
	// A value set names a code in its compose and its expansion: edit every occurrence.
	n := 1
	if strings.HasSuffix(file, ".json") {
		n = -1
	}
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(s, edits[i]) {
			t.Fatalf("%s does not contain %q", file, edits[i])
		}
		s = strings.Replace(s, edits[i], edits[i+1], n)
	}
	fsys[file] = &fstest.MapFile{Data: []byte(s)}
	return fsys
}

func TestLoadFSAcceptsTheEmbeddedFiles(t *testing.T) {
	t.Parallel()
	b, err := knowledge.LoadFS(dataFS(t, ""))
	if err != nil {
		t.Fatalf("LoadFS: %v", err)
	}
	if got, want := b.Version(), mustLoad(t).Version(); got != want {
		t.Errorf("Version() = %q, want %q (same bytes, same hash)", got, want)
	}
}

// brokenData is an edit of the shipped data that loading must refuse, and words the error must hold.
type brokenData struct {
	name    string
	file    string
	edits   []string
	wantErr string
}

// testRejects loads the shipped data with each case's edits and wants an error naming the problem.
func testRejects(t *testing.T, tests []brokenData) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := knowledge.LoadFS(dataFS(t, tt.file, tt.edits...))
			if err == nil {
				t.Fatal("LoadFS succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("LoadFS error = %v\nwant it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestLoadFSRejectsUndecodableData: what the decoder refuses, before any file's own checks
// (validate_<file>_test.go).
func TestLoadFSRejectsUndecodableData(t *testing.T) {
	t.Parallel()
	testRejects(t, []brokenData{
		{"unknown field", "medications.yaml", []string{"group: Diuretics\n", "group: Diuretics\n    colour: red\n"}, `unknown field "colour"`},
		{"unknown field in a value set", "valuesets/lab-tsh.json", []string{`"status": "active",`, `"status": "active", "colour": "red",`}, `unknown field "colour"`},
		{"malformed YAML", "pearls.yaml", []string{"pearls:", "pearls: ["}, "decoding pearls.yaml"},
	})
}

// TestLoadFSAllowsASharedCodeThatSaysWhy: the embedded data shares C09DX01 between hydrochlorothiazide and
// amlodipine and loads; without shared_with on either claim it fails.
func TestLoadFSAllowsASharedCodeThatSaysWhy(t *testing.T) {
	t.Parallel()
	shared := `source: "WHO ATC index 2026-04-25 (fabkury/atcd@1e92aec)", shared_with: "amlodipine: the product holds both"}`
	plain := `source: "WHO ATC index 2026-04-25 (fabkury/atcd@1e92aec)"}`
	sharedAml := `source: "WHO ATC index 2026-04-25 (fabkury/atcd@1e92aec)", shared_with: "hydrochlorothiazide: the product holds both"}`
	if _, err := knowledge.LoadFS(dataFS(t, "")); err != nil {
		t.Fatalf("LoadFS: %v, want success when shared_with explains the second claim", err)
	}
	_, err := knowledge.LoadFS(dataFS(t, "medications.yaml", shared, plain, sharedAml, plain))
	if err == nil || !strings.Contains(err.Error(), "ATC C09DX01 is claimed by both") {
		t.Errorf("LoadFS without shared_with: err = %v, want C09DX01 claimed by both", err)
	}
}

func TestLoadFSFileSet(t *testing.T) {
	t.Parallel()
	missing := dataFS(t, "")
	delete(missing, "pearls.yaml")
	if _, err := knowledge.LoadFS(missing); err == nil || !strings.Contains(err.Error(), "pearls.yaml") {
		t.Errorf("LoadFS without pearls.yaml: err = %v, want it to name the file", err)
	}
	extra := dataFS(t, "")
	extra["drugs.yaml"] = &fstest.MapFile{Data: []byte("classes: []\n")}
	if _, err := knowledge.LoadFS(extra); err == nil || !strings.Contains(err.Error(), "unknown file drugs.yaml") {
		t.Errorf("LoadFS with drugs.yaml: err = %v, want an unknown-file error", err)
	}
}

func TestVersionChangesWithTheData(t *testing.T) {
	t.Parallel()
	edited, err := knowledge.LoadFS(dataFS(t, "pearls.yaml", "The calf muscles", "The calf muscle group"))
	if err != nil {
		t.Fatal(err)
	}
	if got, orig := edited.Version(), mustLoad(t).Version(); got == orig {
		t.Errorf("Version() = %q after editing a pearl, want it to differ from %q", got, orig)
	}
}

func TestCitationsResolveTitles(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	for _, cl := range b.Classes() {
		if cl.ID != "raloxifene" {
			continue
		}
		for _, c := range cl.Evidence {
			if c.Seed == "001_ef64482ccbaa6c09.txt" && c.Ref == "2" {
				if got, want := c.RefTitle, "Nocturnal leg cramps."; got != want {
					t.Errorf("RefTitle = %q, want %q (seed 001 reference list)", got, want)
				}
				if got, want := c.SourceTitle, "What are the causes of nocturnal leg cramps?"; got != want {
					t.Errorf("SourceTitle = %q, want %q", got, want)
				}
				return
			}
		}
	}
	t.Fatal("raloxifene does not cite seed 001 ref 2")
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := knowledge.Load(); err != nil {
			b.Fatal(err)
		}
	}
}
