package cdshooks_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The module's arrows (shared design, "Packages and who may import whom"):
// each package of ours may import only the packages of ours its row names.
// A package is matched by the longest pattern in arrows. A new package with no row fails the test, so the table
// stays the map of the code.

const module = "github.com/cramp-cds/cramp-cds/"

// arrows maps a package (or a sub-tree, ending in "/...") to the packages of
// ours it may import in non-test code.
var arrows = map[string][]string{
	"cmd/...": {"cdshooks/...", "fhir/...", "knowledge/...", "internal/..."},
	// cramp-load drives the real binary with the test kit's patients and
	// issuers: the one production binary allowed to link the test kit.
	"cmd/cramp-load":    {"cdshooks/...", "fhir/...", "knowledge/...", "internal/...", "tools/testkit/..."},
	"cdshooks":          {"internal/..."},
	"cdshooks/auth":     {"cdshooks", "internal/..."},
	"cdshooks/panel":    {"cdshooks"},
	"cdshooks/feedback": {"cdshooks", "internal/..."},
	// cmd → cdshooks/<topic> → kit → {cdshooks, cdshooks/feedback, fhir}:
	// the kit is what every topic's services need, knowing no topic; a topic
	// builds on it (and never on another topic: see TestTopicsNeverImportEachOther).
	"cdshooks/kit/...": {"cdshooks", "cdshooks/feedback", "cdshooks/kit/...", "fhir/...", "internal/..."},
	// cdshooks/panel: a card's detail budget is measured as the panel renders it (budget.go).
	"cdshooks/legcramps/...": {"cdshooks", "cdshooks/kit/...", "cdshooks/legcramps/...", "cdshooks/panel", "fhir/...", "knowledge/...", "internal/..."},
	"fhir/...":               {"fhir/...", "internal/..."},
	"knowledge/...":          {"knowledge/...", "fhir", "internal/..."},
	"internal/...":           {"internal/..."},
	// The test kit serves tests and cramp-load; it may build on anything.
	"tools/testkit/...": {"cdshooks/...", "fhir/...", "knowledge/...", "internal/...", "tools/testkit/..."},
}

// onlyImportedBy lists packages (sub-trees) whose non-test importers are
// limited: the test kit links `testing`-style harnesses and must never reach a
// production binary other than the load generator.
var onlyImportedBy = map[string][]string{
	"tools/testkit/...": {"tools/testkit/...", "cmd/cramp-load"},
}

func matches(pattern, pkg string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

// rowFor is the arrows row with the longest pattern matching pkg.
func rowFor(pkg string) (string, bool) {
	best := ""
	for p := range arrows {
		if matches(p, pkg) && len(p) > len(best) {
			best = p
		}
	}
	return best, best != ""
}

type listed struct {
	ImportPath string
	Imports    []string
}

func listModule(t *testing.T) []listed {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command, to list the packages: %v", err)
	}
	cmd := exec.Command(goTool, "list", "-json=ImportPath,Imports", "../...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listed
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		p.ImportPath = strings.TrimPrefix(p.ImportPath, module)
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 15 {
		t.Fatalf("go list named only %d packages", len(pkgs))
	}
	return pkgs
}

func TestEveryArrowPointsDownTheDesign(t *testing.T) {
	t.Parallel()
	for _, p := range listModule(t) {
		row, ok := rowFor(p.ImportPath)
		if !ok {
			t.Errorf("package %s has no row in arrows: add it, as the design says where it belongs", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			ours, isOurs := strings.CutPrefix(imp, module)
			if !isOurs {
				continue
			}
			allowed := false
			for _, a := range arrows[row] {
				allowed = allowed || matches(a, ours)
			}
			if !allowed {
				t.Errorf("%s imports %s, which its row (%s) does not allow", p.ImportPath, ours, row)
			}
			for target, importers := range onlyImportedBy {
				if !matches(target, ours) {
					continue
				}
				ok := false
				for _, i := range importers {
					ok = ok || matches(i, p.ImportPath)
				}
				if !ok {
					t.Errorf("%s imports %s, which only %v may import outside tests", p.ImportPath, ours, importers)
				}
			}
		}
	}
}

func TestArrowsCatchAWrongImport(t *testing.T) {
	t.Parallel()
	// The rule itself, on made-up packages: a guard against a table that
	// allows everything.
	for _, c := range []struct {
		pkg, imp string
		want     bool
	}{
		{"fhir", "cdshooks", false},
		{"fhir/bulk", "fhir", true},
		{"internal/jsonscan", "cdshooks", false},
		{"cdshooks", "fhir", false},
		{"cdshooks", "cdshooks/legcramps", false},
		{"cdshooks/panel", "cdshooks/legcramps", false},
		{"cdshooks/legcramps", "knowledge", true},
		{"cdshooks/legcramps", "cdshooks/kit", true},
		{"cdshooks/kit", "cdshooks/legcramps", false},
		{"cdshooks/kit", "knowledge", false},
		{"cdshooks/kit/population", "cdshooks/legcramps/population", false},
		{"cdshooks/kit", "cdshooks/feedback", true},
		{"knowledge", "cdshooks/legcramps", false},
	} {
		row, ok := rowFor(c.pkg)
		if !ok {
			t.Fatalf("no row for %s", c.pkg)
		}
		got := false
		for _, a := range arrows[row] {
			got = got || matches(a, c.imp)
		}
		if got != c.want {
			t.Errorf("%s importing %s: allowed = %v, want %v", c.pkg, c.imp, got, c.want)
		}
	}
}

// A topic is the sub-tree cdshooks/<name>/... of a package under cdshooks/
// that imports the kit; the kit itself is none.
const kitPath = "cdshooks/kit"

// topicOf names the topic tree of pkg ("cdshooks/legcramps" for
// cdshooks/legcramps/population), "" outside cdshooks/ or in the kit.
func topicOf(pkg string) string {
	rest, ok := strings.CutPrefix(pkg, "cdshooks/")
	if !ok || matches(kitPath+"/...", pkg) {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return "cdshooks/" + name
}

// crossTopicImports lists the imports of one topic's package into another
// topic's tree; topics are the trees holding a package that imports the kit.
func crossTopicImports(pkgs []listed) []string {
	topics := map[string]bool{}
	for _, p := range pkgs {
		for _, imp := range p.Imports {
			if ours, ok := strings.CutPrefix(imp, module); ok && matches(kitPath+"/...", ours) && topicOf(p.ImportPath) != "" {
				topics[topicOf(p.ImportPath)] = true
			}
		}
	}
	var bad []string
	for _, p := range pkgs {
		from := topicOf(p.ImportPath)
		if !topics[from] {
			continue
		}
		for _, imp := range p.Imports {
			ours, ok := strings.CutPrefix(imp, module)
			if to := topicOf(ours); ok && to != from && topics[to] {
				bad = append(bad, p.ImportPath+" imports "+ours)
			}
		}
	}
	return bad
}

func TestTopicsNeverImportEachOther(t *testing.T) {
	t.Parallel()
	pkgs := listModule(t)
	usesKit := false
	for _, p := range pkgs {
		if p.ImportPath == "cdshooks/legcramps" {
			usesKit = slices.Contains(p.Imports, module+kitPath)
		}
	}
	if !usesKit {
		t.Fatalf("cdshooks/legcramps does not import %s: the rule below would check nothing", kitPath)
	}
	for _, b := range crossTopicImports(pkgs) {
		t.Errorf("%s: a topic imports another topic; what they share belongs in the kit", b)
	}
}

func TestTopicRuleCatchesACrossImport(t *testing.T) {
	t.Parallel()
	// Made-up packages: two topics (each imports the kit), one importing the other.
	pkgs := []listed{
		{ImportPath: "cdshooks/alpha", Imports: []string{module + "cdshooks/kit"}},
		{ImportPath: "cdshooks/alpha/sub", Imports: []string{module + "cdshooks/alpha", module + "cdshooks/kit/population"}},
		{ImportPath: "cdshooks/beta", Imports: []string{module + "cdshooks/kit", module + "cdshooks/alpha/sub"}},
		{ImportPath: "cdshooks/panel", Imports: []string{module + "cdshooks"}},
		{ImportPath: "cdshooks/gamma", Imports: []string{module + "cdshooks/panel"}},
	}
	got := strings.Join(crossTopicImports(pkgs), "; ")
	if want := "cdshooks/beta imports cdshooks/alpha/sub"; got != want {
		t.Errorf("cross-topic imports = %q, want %q (within a topic and to a non-topic is fine)", got, want)
	}
}
