package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
)

// TestReplayRefusedAfterRestartWithSQLite (issue 27, finding 8): a token
// accepted before a restart is refused after it with the SQLite store too
// (only PostgreSQL used the store's token table).
func TestReplayRefusedAfterRestartWithSQLite(t *testing.T) {
	t.Parallel()
	e := startMemoryE2E(t, "sqlite:"+filepath.Join(t.TempDir(), "cramp-cds.db"))
	path := "/cds-services/" + legcramps.PatientViewID
	body := patientViewRequest(t, "pat-a", rxHydrochlorothiazide)
	tok := e.token(path)
	if status, got := e.postToken(tok, path, body); status != http.StatusOK {
		t.Fatalf("first use: %d %s", status, got)
	}
	e.stop()
	e.start()
	if status, _ := e.postToken(tok, path, body); status != http.StatusUnauthorized {
		t.Errorf("the token replayed after a restart: status %d, want 401", status)
	}
	if status, got := e.post(path, body); status != http.StatusOK {
		t.Errorf("a fresh token after the restart: %d %s", status, got)
	}
}

// TestStoreInANewDirectory (issue 27, finding 8): --store sqlite:NEWDIR/x.db
// creates the directory (the key file beside the database used to be
// written before it existed).
func TestStoreInANewDirectory(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	dir := filepath.Join(t.TempDir(), "new", "dir")
	cfg.Store = "sqlite:" + filepath.Join(dir, "x.db")
	m := &Main{Config: cfg}
	if err := m.Open(t.Context()); err != nil {
		t.Fatalf("Open with a store in a new directory: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	for _, name := range []string{"x.db", keyFileName} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", name, perm)
		}
	}
}

// TestSecretsFromFiles (issue 27, finding 8): the store key comes from
// --store-key-file (nothing sensitive on the command line); a key file
// others may write is refused at start, as is a world-writable key placed
// beside the database.
func TestSecretsFromFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "store.key")
	if err := os.WriteFile(keyFile, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseConfig([]string{"--insecure-no-auth", "--store", "sqlite:" + filepath.Join(dir, "a", "x.db"), "--store-key-file", keyFile},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("--store-key-file: %v", err)
	}
	base := testConfig()
	base.Store, base.StoreKeyFile = cfg.Store, cfg.StoreKeyFile
	m := &Main{Config: base}
	if err := m.Open(t.Context()); err != nil {
		t.Fatalf("Open with --store-key-file: %v", err)
	}
	_ = m.Close()
	if _, err := os.Stat(filepath.Join(dir, "a", keyFileName)); !os.IsNotExist(err) {
		t.Errorf("a key file was generated beside the database though --store-key-file was given (%v)", err)
	}

	for name, setup := range map[string]func(*Config){
		"--store-key-file writable by others": func(c *Config) {
			_ = os.Chmod(keyFile, 0o666)
			c.Store, c.StoreKeyFile = "sqlite:"+filepath.Join(dir, "b", "x.db"), keyFile
		},
		"a world-writable key beside the database": func(c *Config) {
			beside := filepath.Join(dir, "c")
			_ = os.MkdirAll(beside, 0o700)
			_ = os.WriteFile(filepath.Join(beside, keyFileName), []byte("0123456789abcdef0123456789abcdef\n"), 0o600)
			_ = os.Chmod(filepath.Join(beside, keyFileName), 0o666)
			c.Store = "sqlite:" + filepath.Join(beside, "x.db")
		},
	} {
		cfg := testConfig()
		setup(&cfg)
		m := &Main{Config: cfg}
		err := m.Open(t.Context())
		if err == nil {
			_ = m.Close()
			t.Errorf("%s: Open succeeded, want the key refused", name)
		} else if !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("%s: error %v does not say how to fix it", name, err)
		}
	}
}

// TestAdminListenerOnLoopbackByDefault (issue 27, finding 8): the
// unauthenticated admin listener binds to 127.0.0.1 unless told otherwise.
func TestAdminListenerOnLoopbackByDefault(t *testing.T) {
	t.Parallel()
	cfg, err := parseConfig([]string{"--insecure-no-auth"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	host, _, err := net.SplitHostPort(cfg.AdminAddr)
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("default admin address %q listens beyond this host", cfg.AdminAddr)
	}
}

// slowStore is a store whose report takes longer than any caller waits.
type slowStore struct{ feedback.Store }

func (slowStore) Report(ctx context.Context, _, _ time.Time) (*feedback.Report, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestAdminReportTooSlowIs503 (issue 27, finding 8): a report that cannot
// finish in time is answered 503 with Retry-After, before the listener's
// write timeout would drop the connection.
func TestAdminReportTooSlowIs503(t *testing.T) {
	t.Parallel()
	if adminReportTimeout >= writeTimeout {
		t.Errorf("the report may take %v, as long as the listener's write timeout %v: it would be dropped, not answered",
			adminReportTimeout, writeTimeout)
	}
	srv := httptest.NewServer(reportHandler(slowStore{}, slog.New(slog.DiscardHandler), 50*time.Millisecond))
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/admin/report")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a report that timed out: %d, Retry-After %q (%s); want 503 with Retry-After",
			resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

// checkCSP (issue 27, finding 8): the admin report, like the knowledge
// page, is sent with a Content-Security-Policy that allows nothing by
// default. TestAdminReport calls it on a server with a store.
func checkCSP(t *testing.T, m *Main) {
	t.Helper()
	for _, url := range []string{"http://" + m.AdminAddr() + "/admin/report", "http://" + m.Addr() + kit.KnowledgePath} {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "text/html")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%s: Content-Type %q, want HTML", url, resp.Header.Get("Content-Type"))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: Content-Security-Policy %q, want one that allows nothing by default", url, csp)
		}
	}
}
