package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks/auth"
	"github.com/cramp-cds/cramp-cds/internal/version"
)

// freeURL returns http://127.0.0.1:PORT for a port nothing listens on (now).
func freeURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// serveTrusting starts the server with a trust file, answering as its own
// address, and returns that base URL.
func serveTrusting(t *testing.T, trustFile string) string {
	t.Helper()
	cfg := testConfig()
	cfg.InsecureNoAuth = false
	cfg.TrustFile = trustFile
	base := freeURL(t)
	cfg.Addr = strings.TrimPrefix(base, "http://")
	cfg.PublicURLs = []string{base}
	m := &Main{Config: cfg}
	if err := m.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return base
}

// TestDemoPrintsCardsForEveryExample is `make demo` on a fresh checkout: no
// key yet, no server running. It generates the key, starts the service
// trusting only that key, and every example (moved to today) gets its cards.
func TestDemoPrintsCardsForEveryExample(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), ".cramp-cds-dev")
	var stdout, stderr bytes.Buffer
	err := runDemo(t.Context(), []string{"--server", freeURL(t), "--dir", dir, "--examples", "../../examples"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("demo: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "started cramp-cds at") {
		t.Errorf("the demo did not say it started a server: %s", stderr.String())
	}
	out := stdout.String()
	files, err := exampleFiles("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	sections := strings.Split(out, "== ")[1:]
	if len(sections) != len(files) {
		t.Fatalf("%d examples answered, want %d:\n%s", len(sections), len(files), out)
	}
	for _, s := range sections {
		name, _, _ := strings.Cut(s, " ")
		hasCards := strings.Contains(s, "\n1. [")
		if want := name != "patient-view-no-leg-cramps.json"; hasCards != want {
			t.Errorf("%s: cards = %v, want %v:\n%s", name, hasCards, want, s)
		}
	}
	info, err := os.Stat(filepath.Join(dir, devKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("the development key is mode %o, want 600", perm)
	}
}

// A server that does not trust the development key (make run from before,
// or a real deployment) gets a demo that says so instead of printing 401s.
func TestDemoSaysWhenTheServerDoesNotTrustItsKey(t *testing.T) {
	t.Parallel()
	base := serveTrusting(t, "../../deploy/trust/sandbox.yaml")
	var stdout, stderr bytes.Buffer
	err := runDemo(t.Context(), []string{"--server", base, "--dir", t.TempDir(), "--examples", "../../examples"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "does not trust") {
		t.Fatalf("demo error = %v, want one saying the server does not trust the key", err)
	}
}

// The trust file `make run` writes accepts the token `cramp-cds token`
// prints, for the URL it was minted for and no other.
func TestTokenIsAcceptedByTheRunTrustFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	trust := filepath.Join(dir, "run-trust.yaml")
	var out, errOut bytes.Buffer
	if err := runToken([]string{"--dir", dir, "--trust-out", trust, "--trust-also", "../../deploy/trust/sandbox.yaml"}, &out, &errOut); err != nil {
		t.Fatalf("token --trust-out: %v", err)
	}
	base := serveTrusting(t, trust)

	body, err := os.ReadFile("../../examples/patient-view-realistic.json")
	if err != nil {
		t.Fatal(err)
	}
	call := func(aud string) int {
		t.Helper()
		out.Reset()
		if err := runToken([]string{"--dir", dir, aud}, &out, &errOut); err != nil {
			t.Fatalf("token: %v", err)
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/cds-services/nocturnal-leg-cramps", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(out.String()))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := call(base + "/cds-services/nocturnal-leg-cramps"); got != http.StatusOK {
		t.Errorf("token for the URL called: status %d, want 200", got)
	}
	if got := call(base + "/cds-services/cramp-inducing-order-sign"); got != http.StatusUnauthorized {
		t.Errorf("token for another URL: status %d, want 401", got)
	}
}

// logLines captures a logger's JSON lines.
func logLines(buf *bytes.Buffer) []map[string]any {
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			lines = append(lines, m)
		}
	}
	return lines
}

func TestWarnsWhenTrustingAPublishedKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, err := loadOrCreateDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	devOnly, devAndSandbox := filepath.Join(dir, "dev.yaml"), filepath.Join(dir, "both.yaml")
	if err := key.writeTrust(devOnly); err != nil {
		t.Fatal(err)
	}
	if err := key.writeTrust(devAndSandbox, "../../deploy/trust/sandbox.yaml"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file string
		want int // warnings
	}{
		{"../../deploy/trust/sandbox.yaml", 1},
		{devAndSandbox, 1},
		{devOnly, 0},
		{"../../deploy/trust/example.yaml", 0},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			t.Parallel()
			trust, err := auth.LoadTrustFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			warnPublishedKeys(trust, slog.New(slog.NewJSONHandler(&buf, nil)))
			var warnings int
			for _, l := range logLines(&buf) {
				if l["level"] == "WARN" && l["iss"] == "https://sandbox.cds-hooks.org" {
					warnings++
				}
			}
			if warnings != tt.want {
				t.Errorf("%d warnings, want %d: %s", warnings, tt.want, buf.String())
			}
		})
	}
}

// The key material warnPublishedKeys looks for is the key sandbox.yaml trusts.
func TestPublishedKeyIsTheSandboxKey(t *testing.T) {
	t.Parallel()
	trust, err := auth.LoadTrustFile("../../deploy/trust/sandbox.yaml")
	if err != nil {
		t.Fatal(err)
	}
	keys := jwkKeys(trust.Issuers[0].StaticJWKS())
	if len(keys) != 1 || keys[0].X != publishedKeys[0].x || keys[0].Crv != publishedKeys[0].crv {
		t.Errorf("sandbox.yaml's key %+v is not publishedKeys[0] %+v", keys, publishedKeys[0])
	}
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || lines[0] != "cramp-cds "+version.Version() || !strings.HasPrefix(lines[1], "knowledge ") {
		t.Errorf("version printed %q", out.String())
	}
}

// Discovery carries the versions in each entry's extension, and the ready
// line names the URL to call.
func TestDiscoveryAndReadyLineCarryTheVersion(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.PublicURLs = []string{"http://localhost:8080"}
	m := &Main{Config: cfg}
	if err := m.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	if got, want := m.readyLine(), "cramp-cds "+version.Version()+" ready: http://localhost:8080/cds-services"; !strings.HasPrefix(got, want) {
		t.Errorf("ready line %q, want it to start with %q", got, want)
	}
	resp, err := http.Get("http://" + m.Addr() + "/cds-services")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		Services []struct {
			ID        string `json:"id"`
			Extension map[string]struct {
				Software  string `json:"software"`
				Knowledge string `json:"knowledge"`
			} `json:"extension"`
		} `json:"services"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	// The OpenTelemetry resource (target_info on /metrics) names the version.
	mresp, err := http.Get("http://" + m.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if want := `service_version="` + version.Version() + `"`; !strings.Contains(string(metrics), want) {
		t.Errorf("/metrics has no %s in target_info", want)
	}
	for _, s := range d.Services {
		v := s.Extension[versionExtensionKey]
		if v.Software != version.Version() || v.Knowledge == "" {
			t.Errorf("%s: extension %+v, want software %s and the knowledge version", s.ID, s.Extension, version.Version())
		}
	}
}
