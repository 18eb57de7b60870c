package browser_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/cramp-cds/cramp-cds/tools/testkit/browser"
)

func TestFindHonoursTheEnvironment(t *testing.T) {
	t.Setenv(browser.EnvPath, filepath.Join(t.TempDir(), "no-such-chromium"))
	if _, err := browser.Find(); !errors.Is(err, browser.ErrNotFound) {
		t.Errorf("Find with %s naming a missing file: got %v, want ErrNotFound", browser.EnvPath, err)
	}

	fake := filepath.Join(t.TempDir(), "chromium")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(browser.EnvPath, fake)
	got, err := browser.Find()
	if err != nil || got != fake {
		t.Errorf("Find: got %q, %v; want %q", got, err, fake)
	}
}

func TestStartNeedsAProfileDirectory(t *testing.T) {
	if _, _, err := browser.Start(t.Context(), browser.Options{ExecPath: "/bin/true"}); err == nil {
		t.Error("Start without UserDataDir: got no error")
	}
}

func TestFlagsKeepTheBrowserOffTheNetwork(t *testing.T) {
	want := map[string]bool{
		"--headless": true, "--no-sandbox": true, "--disable-gpu": true, "--disable-background-networking": true,
		"--disable-component-update": true, "--disable-sync": true, "--no-first-run": true,
	}
	for _, f := range browser.Flags() {
		delete(want, f)
	}
	if len(want) > 0 {
		t.Errorf("Flags() lacks %v", want)
	}
}

// TestRendersAPage drives the real browser: it must run the page's HTML (the
// heading exists only in the DOM the browser built) and take a screenshot.
func TestRendersAPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>t</title><h1 id="x">Rendered &amp; read</h1>`))
	}))
	defer srv.Close()

	ctx := browser.ForTest(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#x")))
	if err != nil {
		t.Fatal(err)
	}
	png, err := browser.FullPagePNG(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if text != "Rendered & read" {
		t.Errorf("heading text: got %q, want %q", text, "Rendered & read")
	}
	if len(png) < 8 || string(png[:8]) != "\x89PNG\r\n\x1a\n" {
		t.Errorf("screenshot is not a PNG (%d bytes)", len(png))
	}
}
