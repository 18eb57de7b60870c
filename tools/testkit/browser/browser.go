// Package browser starts a real headless Chromium for tests that must see a
// page the way a clinician's browser does (the knowledge page, HTML reports),
// and hands back a chromedp context driving it.
//
// The browser is Debian's `chromium`, which `make test` installs. It runs with
// a fresh profile in a directory the caller owns and with every background
// service that would reach the network switched off, so a test sees only the
// pages it opens. Tests call ForTest; programs call Start.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// EnvPath names the environment variable that, when set, is the path of the
// browser binary to use instead of searching PATH.
const EnvPath = "CRAMP_CHROMIUM"

// candidates are the names Chromium goes by on PATH, Debian's first.
var candidates = [...]string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// ErrNotFound is returned by Find when no Chromium binary is available.
var ErrNotFound = errors.New("no chromium binary found (install Debian's chromium: make test does it, or apt-get install chromium)")

// Find returns the path of the Chromium binary: $CRAMP_CHROMIUM when set
// (it must exist), else the first of chromium, chromium-browser,
// google-chrome on PATH. It returns an error wrapping ErrNotFound when there
// is none.
func Find() (string, error) {
	if p := os.Getenv(EnvPath); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w: %w", EnvPath, p, ErrNotFound, err)
		}
		return p, nil
	}
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNotFound
}

// Options says how to start the browser.
type Options struct {
	// ExecPath is the browser binary; empty means Find().
	ExecPath string
	// UserDataDir is the profile directory; it must be fresh and owned by
	// the caller (required: a shared profile leaks state between runs).
	UserDataDir string
	// Width and Height are the window size in CSS pixels; zero means a
	// phone-sized 412×915, the narrow width a side panel or a phone has.
	Width, Height int
}

// Flags returns the command-line switches the browser is started with:
// headless, no sandbox (tests run as root in containers), no GPU, and no
// background networking, component updates, sync or first-run pages, so the
// browser reaches nothing but the pages a test opens.
func Flags() []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run",
	}
}

// Start launches the browser and returns a chromedp context driving its first
// tab, and a cancel function that closes the browser and waits for it to
// exit. The browser is started by the first action run on the context;
// Start runs an empty one so that a binary that cannot start fails here.
func Start(ctx context.Context, o Options) (context.Context, context.CancelFunc, error) {
	if o.UserDataDir == "" {
		return nil, nil, errors.New("browser: no user-data-dir: give each browser a fresh profile directory")
	}
	if o.ExecPath == "" {
		p, err := Find()
		if err != nil {
			return nil, nil, err
		}
		o.ExecPath = p
	}
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 412, 915
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(o.ExecPath),
		chromedp.UserDataDir(o.UserDataDir),
		chromedp.WindowSize(o.Width, o.Height),
	}
	for _, f := range Flags() {
		opts = append(opts, chromedp.Flag(f[2:], true))
	}
	// /dev/shm is 64 MB in a default container and Chromium crashes when it
	// fills: keep its shared memory in the temporary directory instead.
	opts = append(opts, chromedp.Flag("disable-dev-shm-usage", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	cancel := func() {
		cancelTab()
		cancelAlloc()
	}
	if err := chromedp.Do(tabCtx); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("starting %s: %w", o.ExecPath, err)
	}
	return tabCtx, cancel, nil
}

// ForTest starts a browser for t with a fresh profile under t.TempDir() and
// closes it when the test ends. When no Chromium is installed it skips the
// test, saying how to install one; a browser that is installed but fails to
// start fails the test.
func ForTest(t testing.TB) context.Context {
	t.Helper()
	path, err := Find()
	if err != nil {
		t.Skipf("skipping the browser test: %v", err)
	}
	ctx, cancel, err := Start(t.Context(), Options{ExecPath: path, UserDataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	t.Cleanup(cancel)
	return ctx
}

// FullPagePNG returns a PNG screenshot of the whole page of the browser
// context ctx (beyond the window when the page is longer).
func FullPagePNG(ctx context.Context) ([]byte, error) {
	// Quality 100 is chromedp's switch from JPEG to PNG.
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return nil, fmt.Errorf("taking a screenshot: %w", err)
	}
	return png, nil
}
