package knowledge_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	reCitation = regexp.MustCompile(`terminology\.md [A-E][0-9]?(?: note)? \(([^)]*)\)`)
	reTag      = regexp.MustCompile(`\b[A-Z][A-Z0-9]+\b`)
	reLegend   = regexp.MustCompile("(?m)^\\| ([A-Z][A-Z0-9]+) \\|")
	reNotATag  = regexp.MustCompile(`^FY[0-9]+$`) // "FY2024 on" is a fiscal year, not a source
)

// TestEveryCitedSourceTagIsListed: a source field citing the research notes' tags (PEDS, CPIC...) can be
// followed to a public repository and commit through SOURCES.md.
func TestEveryCitedSourceTagIsListed(t *testing.T) {
	t.Parallel()
	legend, err := os.ReadFile("SOURCES.md")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, m := range reLegend.FindAllStringSubmatch(string(legend), -1) {
		known[m[1]] = true
	}
	if len(known) < 10 {
		t.Fatalf("SOURCES.md lists %d tags, want the table", len(known))
	}
	files, _ := filepath.Glob("data/*.yaml")
	vss, _ := filepath.Glob("data/valuesets/*.json")
	files = append(append(files, vss...), "cmd/valuesets/recipes.yaml")
	cited := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range reCitation.FindAllStringSubmatch(string(b), -1) {
			// Each ";"-separated part starts with its tag ("CPIC V6", "ECQM22/24", "SYN cardiac_labs.json").
			for _, part := range strings.Split(m[1], ";") {
				first, _, _ := strings.Cut(strings.TrimSpace(part)+" ", " ")
				first, _, _ = strings.Cut(first, "/")
				tag := reTag.FindString(first)
				if tag != first || reNotATag.MatchString(tag) {
					continue
				}
				cited++
				if !known[tag] {
					t.Errorf("%s cites %q (in %q), which SOURCES.md does not list", f, tag, strings.TrimSpace(m[0]))
				}
			}
		}
	}
	if cited == 0 {
		t.Error("no cited tag found: the pattern no longer matches the data")
	}
}
