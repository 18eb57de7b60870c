package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeCommand is one command of a ```sh block of the README, continuation
// lines joined and its trailing comment removed.
type readmeCommand struct {
	line int
	text string
}

// contentHash is the data hash of a knowledge version (1.3.0+5f92012c).
var contentHash = regexp.MustCompile(`\+[0-9a-f]{8}\b`)

var trailingComment = regexp.MustCompile(`\s{2,}#\s.*$`)

// readmeCommands returns the commands of README.md's sh blocks, and each
// ```text block with the line it starts on.
func readmeCommands(t *testing.T, readme string) (cmds []readmeCommand, texts map[int]string) {
	t.Helper()
	texts = map[int]string{}
	lines := strings.Split(readme, "\n")
	for i := 0; i < len(lines); i++ {
		switch lines[i] {
		case "```sh":
			var cur string
			start := 0
			for i++; i < len(lines) && lines[i] != "```"; i++ {
				l := lines[i]
				if cur == "" {
					start = i + 1
				}
				if rest, ok := strings.CutSuffix(l, `\`); ok {
					cur += strings.TrimSpace(rest) + " "
					continue
				}
				cur += strings.TrimSpace(l)
				if c := strings.TrimSpace(trailingComment.ReplaceAllString(cur, "")); c != "" && !strings.HasPrefix(c, "#") {
					cmds = append(cmds, readmeCommand{start, c})
				}
				cur = ""
			}
		case "```text":
			start := i
			var block []string
			for i++; i < len(lines) && lines[i] != "```"; i++ {
				block = append(block, lines[i])
			}
			texts[start] = strings.Join(block, "\n") + "\n"
		}
	}
	return cmds, texts
}

// notRunHere are the commands this test does not run, by what they start
// with, and why.
var notRunHere = []struct{ prefix, why string }{
	{"make ", "make targets are what `make test` and CI run (make demo: TestDemoPrintsCardsForEveryExample)"},
	{"docker ", "needs a Docker engine and a registry"},
	{"DIGEST=", "needs a registry"},
	{"cosign ", "needs a registry and a signing key"},
	{"helm ", "needs a cluster (the chart is rendered by deploy/'s tests)"},
	{"kubectl ", "needs a cluster"},
}

// isSynopsis reports whether a command is a usage line with placeholders
// rather than something to run.
func isSynopsis(c string) bool {
	return strings.Contains(c, "[--") || strings.Contains(c, "FILE|-") || strings.Contains(c, "_DIR")
}

// TestReadmeCommands runs every command of the README's sh blocks that can
// run without a cluster, a registry or Docker, as written, against a real
// server: go run ./cmd/cramp-cds (the binary built from this package), the
// curl calls (the server trusts the development key as make run does, on a
// free port that replaces :8080 and :9090), and checks that each succeeds and
// that a service call gets cards. A ```text block is the output of the
// command quoted just before it, byte for byte.
func TestReadmeCommands(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl on this machine")
	}
	readmeBytes, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(readmeBytes)
	cmds, texts := readmeCommands(t, readme)
	if len(cmds) < 10 {
		t.Fatalf("found %d commands in the README: is the parsing broken?", len(cmds))
	}

	work := t.TempDir()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"examples", "testdata", "deploy"} {
		if err := os.Symlink(filepath.Join(root, dir), filepath.Join(work, dir)); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(work, "bin", "cramp-cds")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	devDir := filepath.Join(work, devDir)
	trust := filepath.Join(devDir, "run-trust.yaml")
	if err := runToken([]string{"--dir", devDir, "--trust-out", trust, "--trust-also", "../../deploy/trust/sandbox.yaml"},
		os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
	base := freeURL(t)
	cfg := testConfig()
	cfg.InsecureNoAuth = false
	cfg.TrustFile = trust
	cfg.Addr = strings.TrimPrefix(base, "http://")
	cfg.PublicURLs = []string{base}
	cfg.Store = "sqlite:" + filepath.Join(work, "cramp-cds.db")
	m := &Main{Config: cfg}
	if err := m.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	rewrite := strings.NewReplacer(
		"go run ./cmd/cramp-cds", bin,
		"http://localhost:8080", base, "http://127.0.0.1:8080", base,
		"http://localhost:9090", "http://"+m.AdminAddr(),
	)
	runOne := func(c string) (string, error) {
		if strings.HasPrefix(c, "cramp-cds ") {
			c = "go run ./cmd/" + c
		}
		sh := exec.Command("sh", "-c", rewrite.Replace(c))
		sh.Dir = work
		out, err := sh.CombinedOutput()
		return string(out), err
	}

	var ran int
	for _, c := range cmds {
		if i := strings.IndexFunc(c.text, func(r rune) bool { return r == ' ' }); i < 0 {
			t.Errorf("README line %d: %q is not a command", c.line, c.text)
			continue
		}
		skip := ""
		for _, n := range notRunHere {
			if strings.HasPrefix(c.text, n.prefix) {
				skip = n.why
			}
		}
		switch {
		case skip != "":
			t.Logf("README line %d not run (%s): %s", c.line, skip, c.text)
			continue
		case isSynopsis(c.text):
			continue
		case !strings.HasPrefix(c.text, "go run ./cmd/cramp-cds ") && !strings.HasPrefix(c.text, "cramp-cds ") &&
			!strings.HasPrefix(c.text, "curl "):
			t.Errorf("README line %d: %q is neither run by this test nor listed in notRunHere", c.line, c.text)
			continue
		}
		ran++
		out, err := runOne(c.text)
		if err != nil {
			t.Errorf("README line %d: %s: %v\n%s", c.line, c.text, err, out)
			continue
		}
		if strings.Contains(out, `"resourceType":"OperationOutcome"`) {
			t.Errorf("README line %d: %s answered an error:\n%s", c.line, c.text, out)
		}
		if strings.HasPrefix(c.text, "curl ") && strings.Contains(c.text, "/cds-services/") && !strings.Contains(out, `"cards":[{`) {
			t.Errorf("README line %d: %s answered no cards:\n%s", c.line, c.text, out)
		}
	}
	if ran < 10 {
		t.Errorf("ran %d README commands, want at least 10", ran)
	}

	// Each text view is the output of the command quoted just before it.
	quoted := regexp.MustCompile("`(go run ./cmd/cramp-cds [^`]+)`")
	lines := strings.Split(readme, "\n")
	for start, want := range texts {
		before := strings.Join(lines[max(0, start-3):start], "\n")
		q := quoted.FindAllStringSubmatch(before, -1)
		if len(q) == 0 {
			t.Errorf("README line %d: a text view without the command that prints it just before", start+1)
			continue
		}
		cmd := q[len(q)-1][1]
		got, err := runOne(cmd)
		if err != nil {
			t.Errorf("%s: %v\n%s", cmd, err, got)
			continue
		}
		// The knowledge version's hash changes with every data edit; what the
		// cards say is what the README must keep showing.
		if contentHash.ReplaceAllString(got, "+HASH") != contentHash.ReplaceAllString(want, "+HASH") {
			t.Errorf("README line %d: the text view is not what %s prints:\ngot\n%s\nwant\n%s", start+1, cmd, got, want)
		}
	}
}
