package page_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/knowledge"
	"github.com/cramp-cds/cramp-cds/knowledge/page"
)

func newPage(t *testing.T) (*knowledge.Base, *page.Page) {
	t.Helper()
	kb, err := knowledge.Load()
	if err != nil {
		t.Fatal(err)
	}
	p, err := page.New(kb)
	if err != nil {
		t.Fatal(err)
	}
	return kb, p
}

func TestServeNegotiatesHTMLOrJSON(t *testing.T) {
	t.Parallel()
	_, p := newPage(t)
	const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	for _, tc := range []struct {
		name, query, accept, want string
	}{
		{"no Accept", "", "", "text/html; charset=utf-8"},
		{"a browser", "", browser, "text/html; charset=utf-8"},
		{"a machine", "", "application/json", "application/json"},
		{"json with parameters", "", "Application/JSON; charset=utf-8", "application/json"},
		{"json refused", "", "application/json;q=0", "text/html; charset=utf-8"},
		{"both listed", "", "application/json, text/html", "text/html; charset=utf-8"},
		{"format=json", "?format=json", browser, "application/json"},
		{"format=html wins over Accept", "?format=html", "application/json", "text/html; charset=utf-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/knowledge"+tc.query, nil)
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, req)
			if got := rec.Header().Get("Content-Type"); got != tc.want {
				t.Errorf("Content-Type: got %q, want %q", got, tc.want)
			}
			if got := rec.Header().Get("Vary"); got != "Accept" {
				t.Errorf("Vary: got %q, want Accept", got)
			}
			body := rec.Body.String()
			if strings.HasPrefix(tc.want, "application/json") != json.Valid([]byte(body)) {
				t.Errorf("body does not match its Content-Type: %.60q", body)
			}
		})
	}
}

func TestJSONIsTheKnowledgeBase(t *testing.T) {
	t.Parallel()
	kb, _ := newPage(t)
	b, err := page.JSON(kb)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Version string `json:"version"`
		Classes []struct {
			ID string `json:"id"`
		} `json:"classes"`
		Panels []struct {
			ID string `json:"id"`
		} `json:"panels"`
		Rules []page.Rule `json:"rules"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Version != kb.Version() || len(got.Classes) != len(kb.Classes()) || len(got.Panels) != len(kb.Panels()) || len(got.Rules) == 0 {
		t.Errorf("JSON: version %q, %d classes, %d panels, %d rules; want %q, %d, %d, some",
			got.Version, len(got.Classes), len(got.Panels), len(got.Rules), kb.Version(), len(kb.Classes()), len(kb.Panels()))
	}
}

// TestHTMLNeedsNothingFromOutside: a hospital network may block external
// assets, and the page must work without script.
func TestHTMLNeedsNothingFromOutside(t *testing.T) {
	t.Parallel()
	_, p := newPage(t)
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/knowledge", nil))
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q does not forbid everything by default", csp)
	}
	html := rec.Body.String()
	if strings.Contains(strings.ToLower(html), "<script") {
		t.Error("the page has a script")
	}
	if m := regexp.MustCompile(`(?i)<(link|img|iframe|object|embed|source)\b`).FindString(html); m != "" {
		t.Errorf("the page loads an asset: %s", m)
	}
	if !strings.Contains(html, `name="viewport" content="width=device-width`) {
		t.Error("no viewport meta: unreadable on a phone")
	}
}

var (
	reID   = regexp.MustCompile(`\bid="([^"]+)"`)
	reHref = regexp.MustCompile(`\bhref="#([^"]+)"`)
)

// TestEveryItemHasOneAnchor: each item a card can be about is on the page
// under the anchor the cards link to, once; every link inside the page lands.
func TestEveryItemHasOneAnchor(t *testing.T) {
	t.Parallel()
	kb, p := newPage(t)
	html := string(p.HTML())
	ids := map[string]int{}
	for _, m := range reID.FindAllStringSubmatch(html, -1) {
		ids[m[1]]++
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("id %q appears %d times", id, n)
		}
	}
	want := []string{page.AnchorSources, page.AnchorRules, page.AnchorTriggers, page.AnchorMedications,
		page.AnchorWorkup, page.AnchorConditions, page.AnchorDifferentials, page.AnchorPearls}
	for _, cl := range kb.Classes() {
		want = append(want, page.ClassAnchor(cl.ID))
		for _, ing := range cl.Ingredients {
			want = append(want, page.IngredientAnchor(ing.ID))
		}
	}
	for _, w := range kb.Workups() {
		want = append(want, page.WorkupAnchor(w.ID))
	}
	for _, l := range kb.Labs() {
		want = append(want, page.LabAnchor(l.ID))
	}
	for _, pn := range kb.Panels() {
		want = append(want, page.PanelAnchor(pn.ID))
	}
	for _, c := range kb.Conditions() {
		want = append(want, page.ConditionAnchor(c.ID))
	}
	for _, r := range page.Rules(kb) {
		want = append(want, page.RuleAnchor(r.ID))
	}
	for _, s := range kb.Sources() {
		want = append(want, page.SourceAnchor(s.Seed))
		for _, r := range s.Refs {
			want = append(want, page.RefAnchor(s.Seed, r.ID))
		}
	}
	for _, id := range want {
		if ids[id] != 1 {
			t.Errorf("anchor %q: found %d times, want once", id, ids[id])
		}
	}
	for _, m := range reHref.FindAllStringSubmatch(html, -1) {
		if ids[m[1]] == 0 {
			t.Errorf("link to #%s lands nowhere", m[1])
		}
	}
}

// TestEveryCitationShowsSeedRefAndLine: the page is where a reviewer traces a
// card's source line back to the seed document.
func TestEveryCitationShowsSeedRefAndLine(t *testing.T) {
	t.Parallel()
	kb, p := newPage(t)
	html := string(p.HTML())
	var cs []knowledge.Citation
	for _, cl := range kb.Classes() {
		cs = append(cs, cl.Evidence...)
	}
	for _, w := range kb.Workups() {
		cs = append(cs, w.Evidence...)
	}
	for _, c := range kb.Conditions() {
		cs = append(cs, c.Evidence...)
	}
	if len(cs) == 0 {
		t.Fatal("no citations")
	}
	for _, c := range cs {
		want := fmt.Sprintf(`<a href="#%s">%s</a>: seed <code>%s</code>, ref %s, line %d`,
			page.CitationAnchor(c), template(c.Cite), c.Seed, template(c.Ref), c.Line)
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}

// template escapes the few characters our data holds that html/template escapes.
func template(s string) string {
	return strings.NewReplacer("&", "&amp;", "'", "&#39;", `"`, "&#34;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func TestAnchorsCarryNoFileName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ got, want string }{
		{page.SourceAnchor("001_ef64482ccbaa6c09.txt"), "source-001"},
		{page.RefAnchor("003_acc08ff37a097e8a.txt", "When to Seek Medical Attention"), "ref-003-when-to-seek-medical-attention"},
		{page.RefAnchor("002_9eb8e520002af195.txt", "item 13"), "ref-002-item-13"},
		{page.RefAnchor("odd name.txt", "1"), "ref-odd-name-txt-1"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestStrengthFollowsTheKindOfDocument(t *testing.T) {
	t.Parallel()
	kb, _ := newPage(t)
	patientPage := knowledge.Citation{Seed: "002_9eb8e520002af195.txt", Ref: "item 7"}
	summary := knowledge.Citation{Seed: "001_ef64482ccbaa6c09.txt", Ref: "2"}
	if got := page.Strength(kb, []knowledge.Citation{patientPage}); !strings.HasPrefix(got, "reported") {
		t.Errorf("a patient information page alone: got %q, want reported", got)
	}
	if got := page.Strength(kb, []knowledge.Citation{patientPage, summary}); strings.HasPrefix(got, "reported") {
		t.Errorf("with a clinical summary: got %q, want named by clinical summaries", got)
	}
}
