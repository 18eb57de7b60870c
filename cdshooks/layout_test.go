package cdshooks_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The protocol packages hold CDS Hooks only: a product (the leg-cramp
// services, the knowledge base, FHIR record reading) builds on them, never
// the other way round. The kit (cdshooks/kit) reads FHIR records but names
// no clinical topic either: a topic package builds on it.

// forbiddenDeps are import path prefixes neither cdshooks nor cdshooks/auth
// may depend on, directly or not: nothing of ours above them. Outside
// libraries are not ours: golang-fhir-models types the error
// OperationOutcomes the protocol sends.
var forbiddenDeps = []string{
	"github.com/cramp-cds/cramp-cds/knowledge",
	"github.com/cramp-cds/cramp-cds/fhir",
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps",
	"github.com/cramp-cds/cramp-cds/cdshooks/kit",
}

// kitForbiddenDeps are what the kit may not depend on: it reads FHIR
// records, but knows no topic (no clinical knowledge, no topic package).
var kitForbiddenDeps = []string{
	"github.com/cramp-cds/cramp-cds/knowledge",
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps",
}

func TestProtocolPackagesDependOnNoProduct(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command, to list the dependencies: %v", err)
	}
	for _, c := range []struct {
		pkgs, forbidden []string
	}{
		{[]string{".", "./auth"}, forbiddenDeps},
		{[]string{"./kit/..."}, kitForbiddenDeps},
	} {
		args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, c.pkgs...)
		out, err := exec.Command(goTool, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps: %v\n%s", err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 10 {
			t.Fatalf("go list -deps named only %d packages: %s", len(deps), out)
		}
		for _, dep := range deps {
			for _, bad := range c.forbidden {
				if dep == bad || strings.HasPrefix(dep, bad+"/") {
					t.Errorf("%v depends on %s", c.pkgs, dep)
				}
			}
		}
	}
}

// productWords are the clinical words no protocol source may use. The
// project's own name (cramp-cds, cramp_cds in metric names) is allowed.
var productWords = regexp.MustCompile(`(?i)\b(?:nocturnal|cramps?([-_]cds)?|legs?|drugs?|labs?|laborator\w*)\b`)

func TestProtocolSourcesNameNoProduct(t *testing.T) {
	t.Parallel()
	var files []string
	for _, dir := range []string{".", "auth", "kit"} {
		matches, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			if !strings.HasSuffix(m, "_test.go") {
				files = append(files, m)
			}
		}
	}
	if len(files) < 10 {
		t.Fatalf("found only %d source files: %v", len(files), files)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, m := range productWords.FindAllStringSubmatch(line, -1) {
				if strings.HasPrefix(strings.ToLower(m[0]), "cramp") && m[1] != "" {
					continue // the project's name
				}
				t.Errorf("%s:%d mentions %q: %s", file, i+1, m[0], strings.TrimSpace(line))
			}
		}
	}
}
