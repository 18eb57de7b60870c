package page_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/cramp-cds/cramp-cds/tools/testkit/browser"
)

// TestFrameAncestorsFollowTheCORSOrigins: the page may be framed by the EHR
// origins the service is configured for, and by nobody else.
func TestFrameAncestorsFollowTheCORSOrigins(t *testing.T) {
	t.Parallel()
	_, p := newPage(t)
	for _, tc := range []struct {
		name    string
		origins []string
		want    string
	}{
		{"none configured", nil, "frame-ancestors 'none'"},
		{"any", []string{"*"}, "frame-ancestors *"},
		{"two EHRs", []string{"https://sandbox.cds-hooks.org", "http://localhost:8080"}, "frame-ancestors https://sandbox.cds-hooks.org http://localhost:8080"},
		{"a path or an injected directive is left out", []string{"https://ehr.example.org/x", "https://a.org;script-src *", "https://ok.example.org"}, "frame-ancestors https://ok.example.org"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			p.FramedBy(tc.origins).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/knowledge", nil))
			csp := rec.Header().Get("Content-Security-Policy")
			if !strings.HasSuffix(csp, tc.want) || !strings.HasPrefix(csp, "default-src 'none'") {
				t.Errorf("Content-Security-Policy %q, want it to end in %q", csp, tc.want)
			}
		})
	}
}

// TestPageFramedInABrowser opens, in headless Chromium, an EHR page that
// frames the knowledge page: from a configured origin the page shows in the
// frame; from another origin the browser refuses it (so the test can fail).
func TestPageFramedInABrowser(t *testing.T) {
	ctx := browser.ForTest(t)
	_, p := newPage(t)
	ehr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><iframe src=%q></iframe>`, r.URL.Query().Get("src"))
	}))
	defer ehr.Close()
	other := httptest.NewServer(ehr.Config.Handler)
	defer other.Close()
	cds := httptest.NewServer(p.FramedBy([]string{ehr.URL}))
	defer cds.Close()

	for _, tc := range []struct {
		name   string
		parent string
		shown  bool
	}{
		{"configured EHR", ehr.URL, true},
		{"unconfigured origin", other.URL, false},
	} {
		src := cds.URL + "/knowledge#rule-trigger"
		if err := chromedp.Do(ctx, chromedp.Navigate(tc.parent+"/?src="+src), chromedp.WaitReady("iframe")); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		// The frame settles on the page, or on the browser's error page when the page refuses the framing.
		got := ""
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			res, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if kids := res.FrameTree.ChildFrames; len(kids) == 1 && kids[0].Frame.URL != "" && kids[0].Frame.URL != "about:blank" {
				got = kids[0].Frame.URL
				break
			}
		}
		if shown := strings.HasPrefix(got, cds.URL+"/knowledge"); shown != tc.shown {
			t.Errorf("%s: the frame shows %q; want the knowledge page shown: %v", tc.name, got, tc.shown)
		}
	}
}
