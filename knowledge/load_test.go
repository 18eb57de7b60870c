package knowledge_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cramp-cds/cramp-cds/knowledge"
)

// mustLoad loads the embedded base; every test in this package starts from it.
func mustLoad(t testing.TB) *knowledge.Base {
	t.Helper()
	b, err := knowledge.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return b
}

func TestLoadEmbeddedData(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	if got, want := b.Version(), regexp.MustCompile(`^1\.1\.0\+[0-9a-f]{8}$`); !want.MatchString(got) {
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
	if err != nil || len(paths) == 0 {
		t.Fatalf("listing data files: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fsys[filepath.Base(p)] = &fstest.MapFile{Data: b}
	}
	if file == "" {
		return fsys
	}
	s := string(fsys[file].Data)
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(s, edits[i]) {
			t.Fatalf("%s does not contain %q", file, edits[i])
		}
		s = strings.Replace(s, edits[i], edits[i+1], 1)
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

func TestLoadFSRejectsBrokenData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string
		edits   []string
		wantErr string
	}{
		{"unknown field", "medications.yaml", []string{"group: Diuretics\n", "group: Diuretics\n    colour: red\n"}, `unknown field "colour"`},
		{"LOINC check digit", "labs.yaml", []string{"{code: 6298-4,", "{code: 6298-5,"}, `LOINC code "6298-5"`},
		{"SNOMED Verhoeff check digit", "triggers.yaml", []string{`"102549009"`, `"102549008"`}, `SNOMED CT code "102549008"`},
		{"RxCUI not digits", "medications.yaml", []string{`code: "5487"`, `code: "54x7"`}, `RxNorm code "54x7"`},
		{"ICD-10-CM format", "conditions.yaml", []string{"{code: E87.6,", "{code: E8.76,"}, `ICD-10-CM code "E8.76"`},
		{"ATC format", "medications.yaml", []string{"{code: C03AA03,", "{code: C03A03,"}, `ATC code "C03A03"`},
		{"prefix on SNOMED", "conditions.yaml", []string{`{code: "5291005",`, `{code: "5291005", prefix: true,`}, "prefix matching is only for"},
		{"trigger by prefix", "triggers.yaml", []string{"{code: G47.62,", "{code: G47.6, prefix: true,"}, "must match exactly"},
		{"unknown seed", "triggers.yaml", []string{"seed: 001_ef64482ccbaa6c09.txt", "seed: 009_ef64482ccbaa6c09.txt"}, `unknown seed "009_ef64482ccbaa6c09.txt"`},
		{"unknown ref", "pearls.yaml", []string{`ref: "6", line: 38`, `ref: "7", line: 38`}, `unknown ref "7"`},
		{"citation without line", "pearls.yaml", []string{`ref: "6", line: 38`, `ref: "6"`}, "has no line"},
		{"item without evidence", "pearls.yaml", []string{`evidence: [{seed: 000_c5ba4de4b750ce3b.txt, ref: "6", line: 38}]`, "evidence: []"}, "no evidence"},
		{"code without source", "conditions.yaml", []string{`{code: E87.6, display: "Hypokalemia", source: "terminology.md D (ICD; PEDS)"}`, `{code: E87.6, display: "Hypokalemia", source: ""}`}, "has no source"},
		{"code claimed twice", "conditions.yaml", []string{`{code: "34486009",`, `{code: "40930008",`}, "is claimed by both"},
		{"salt-only name", "medications.yaml", []string{"synonyms: [hctz]", "synonyms: [potassium]"}, "no matchable words"},
		{"name of two ingredients", "medications.yaml", []string{"brands_unverified: [Microzide]", "brands_unverified: [Lasix]"}, "is also a name of"},
		{"product of unknown ingredient", "medications.yaml", []string{"ingredients: [torsemide]", "ingredients: [torasemide]"}, `unknown ingredient "torasemide"`},
		{"bad threshold op", "labs.yaml", []string{`op: "<", value: 3.5`, `op: "lt", value: 3.5`}, "needs a finding, an op"},
		{"canonical unit not listed", "labs.yaml", []string{"canonical_unit: mmol/L", "canonical_unit: mol/L"}, `canonical unit "mol/L"`},
		{"bad version", "sources.yaml", []string{"version: 1.1.0", "version: one"}, "not a semantic version"},
		{"malformed YAML", "pearls.yaml", []string{"pearls:", "pearls: ["}, "decoding pearls.yaml"},
	}
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

func TestLoadFSAllowsASharedCodeThatSaysWhy(t *testing.T) {
	t.Parallel()
	fsys := dataFS(t, "conditions.yaml", `{code: "34486009",`, `{code: "40930008", shared_with: "test: both thyroid items",`)
	if _, err := knowledge.LoadFS(fsys); err != nil {
		t.Errorf("LoadFS: %v, want success when shared_with explains the second claim", err)
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
