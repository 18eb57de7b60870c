package panel_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/panel"
)

func TestRenderedTextCountsWhatTheReaderSees(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ md, want string }{
		{"**Furosemide 40 MG** since 2024-01-02", "Furosemide 40 MG since 2024-01-02"},
		{"Sources: [Am Fam Physician 2012](https://cds.example.org/knowledge#ref-001-2)", "Sources: Am Fam Physician 2012"},
		{"- one\n- two\n\nK &lt; 3.5 \\*", "one two K < 3.5 *"},
		{"<b>raw</b> html", "raw html"},
	} {
		got, err := panel.RenderedText(tc.md)
		if err != nil || got != tc.want {
			t.Errorf("RenderedText(%q) = %q, %v; want %q", tc.md, got, err, tc.want)
		}
	}
}

func TestMarkdownHTMLDropsRawHTML(t *testing.T) {
	t.Parallel()
	h, err := panel.MarkdownHTML("Text <script>alert(1)</script> **bold**")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(h), "<script") || !strings.Contains(string(h), "<strong>bold</strong>") {
		t.Errorf("MarkdownHTML: got %s", h)
	}
}

func TestWriteTextShowsThePanel(t *testing.T) {
	t.Parallel()
	cards := []cdshooks.Card{{
		Summary:   "Potassium 3.1 mmol/L on 2026-11-02: low",
		Indicator: cdshooks.IndicatorCritical,
		Detail:    "**Potassium 3.1 mmol/L** on 2026-11-02.\n\n- one\n- two\n\nSources: [Am Fam Physician 2012](https://x.org/k#r)",
		Source:    cdshooks.Source{Label: "cramp-cds knowledge 1.0.0"},
		Suggestions: []cdshooks.Suggestion{
			{Label: "Order basic metabolic panel", IsRecommended: true},
			{Label: "Order magnesium"},
		},
		Links:           []cdshooks.Link{{Label: "Why this card", URL: "https://x.org/k#lab-potassium", Type: cdshooks.LinkAbsolute}},
		OverrideReasons: []cdshooks.Coding{{System: "s", Code: "n", Display: "Not relevant"}},
	}}
	var b bytes.Buffer
	if err := panel.WriteText(&b, cards); err != nil {
		t.Fatal(err)
	}
	want := `1. [CRITICAL] Potassium 3.1 mmol/L on 2026-11-02: low
   Potassium 3.1 mmol/L on 2026-11-02.
   • one
   • two
   Sources: Am Fam Physician 2012
  *[ Order basic metabolic panel ]
   [ Order magnesium ]
   -> Why this card
   Source: cramp-cds knowledge 1.0.0
   Dismiss: Not relevant
`
	if got := b.String(); got != want {
		t.Errorf("WriteText:\n%s\nwant:\n%s", got, want)
	}
}

func TestHTMLPageEscapesAndRenders(t *testing.T) {
	t.Parallel()
	page, err := panel.HTMLPage("Example <patient>", []cdshooks.Card{{
		Summary: "A <b>summary</b>", Indicator: cdshooks.IndicatorWarning, Detail: "**bold**",
		Source: cdshooks.Source{Label: "src", URL: "https://x.org/k"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	for _, want := range []string{"Example &lt;patient&gt;", "A &lt;b&gt;summary&lt;/b&gt;", "<strong>bold</strong>", `class="card warning"`, `href="https://x.org/k"`} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(s, "<script") {
		t.Error("page has a script")
	}
}
