package knowledge_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	// reRepoAtCommit is how data cites a public file's repository: owner/name@commit.
	reRepoAtCommit = regexp.MustCompile(`\b[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+@[0-9a-f]{7,40}\b`)
	// rePrivate is what a reader of a clone cannot follow: the research notes, the issue tracker, "local" copies.
	rePrivate = regexp.MustCompile(`terminology\.md|\bissues? [0-9]+|review-clin|local (?:source|copy)`)
)

// TestEveryCitedRepositoryIsListed: a code's source names the public repository and commit it was found in,
// and SOURCES.md lists each one with its files and licence, so a reader of a clone can follow every citation.
// The project's research notes (terminology.md), its issue tracker and its local copies of the sources are not in
// the repository either: no source or note may point to them (comments, read by maintainers, may name issues).
func TestEveryCitedRepositoryIsListed(t *testing.T) {
	t.Parallel()
	legend, err := os.ReadFile("SOURCES.md")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, r := range reRepoAtCommit.FindAllString(string(legend), -1) {
		known[r] = true
	}
	if len(known) < 10 {
		t.Fatalf("SOURCES.md lists %d repository@commit pairs, want the table", len(known))
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
		for i, line := range strings.Split(string(b), "\n") {
			comment := strings.HasPrefix(strings.TrimSpace(line), "#")
			if m := rePrivate.FindString(line); m != "" && (!comment || m == "terminology.md") {
				t.Errorf("%s:%d points to %q, which a clone does not have: %s", f, i+1, m, strings.TrimSpace(line))
			}
			for _, r := range reRepoAtCommit.FindAllString(line, -1) {
				cited++
				if !known[r] {
					t.Errorf("%s:%d cites %s, which SOURCES.md does not list", f, i+1, r)
				}
			}
		}
	}
	if cited < 100 {
		t.Errorf("%d citations of a repository@commit in the data, want hundreds: the pattern no longer matches the data", cited)
	}
}
