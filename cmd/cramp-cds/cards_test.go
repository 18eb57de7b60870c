package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/panel"
	"github.com/cramp-cds/cramp-cds/knowledge"
	"github.com/cramp-cds/cramp-cds/tools/testkit/browser"
	"github.com/cramp-cds/cramp-cds/tools/testkit/cardcheck"
	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
)

// publicURL is the --public-url the card tests evaluate with.
const publicURL = "https://cds.example.org"

// cardInput is one record the card tests evaluate.
type cardInput struct {
	name string
	args []string // evaluate's arguments, the file last
	// typical is false for a record built to hold every kind of card, or an
	// unusually long one: the three-card budget does not apply.
	typical bool
}

// cardInputs are every example, every Synthea patient (screened: none has a
// leg-cramp condition) and the generated typical and heavy patients.
func cardInputs(t *testing.T) []cardInput {
	t.Helper()
	var in []cardInput
	examples, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.json"))
	if err != nil || len(examples) < 5 {
		t.Fatalf("examples: %v (%d)", err, len(examples))
	}
	for _, f := range examples {
		in = append(in, cardInput{filepath.Base(f), []string{"--now", "2025-06-02", f}, !strings.Contains(f, "every-card")})
	}
	synthea, err := filepath.Glob(filepath.Join("..", "..", "testdata", "synthea", "*.json"))
	if err != nil || len(synthea) < 6 {
		t.Fatalf("synthea: %v (%d)", err, len(synthea))
	}
	for _, f := range synthea {
		in = append(in, cardInput{filepath.Base(f), []string{"--now", "2021-04-01", "--trigger=always", f}, true})
	}
	now := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	for _, g := range []struct {
		name string
		size fixtures.Size
	}{{"generated typical", fixtures.Typical}, {"generated heavy", fixtures.Heavy}} {
		f := filepath.Join(dir, strings.ReplaceAll(g.name, " ", "-")+".json")
		if err := os.WriteFile(f, fixtures.Generate(1, g.size, now).Request(fixtures.RequestOptions{}), 0o600); err != nil {
			t.Fatal(err)
		}
		in = append(in, cardInput{g.name, []string{"--now", "2025-06-02", f}, g.size == fixtures.Typical})
	}
	return in
}

// evalCards evaluates one input with the public URL and returns its cards.
func evalCards(t *testing.T, in cardInput) []cdshooks.Card {
	t.Helper()
	out, err := runEval(t, nil, append([]string{"--public-url", publicURL}, in.args...)...)
	if err != nil {
		t.Fatalf("%s: evaluate: %v\n%s", in.name, err, out)
	}
	var resp cdshooks.Response
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("%s: %v", in.name, err)
	}
	return resp.Cards
}

// loincLongNames are the LOINC displays the knowledge base holds: none may
// label a button.
func loincLongNames(kb *knowledge.Base) []string {
	var names []string
	for _, w := range kb.Workups() {
		names = append(names, w.Order.Display)
	}
	for _, p := range kb.Panels() {
		names = append(names, p.Order.Display)
		for _, c := range p.Also {
			names = append(names, c.Display)
		}
	}
	for _, l := range kb.Labs() {
		for _, c := range l.Results {
			names = append(names, c.Display)
		}
	}
	return names
}

// TestCardsKeepToThePanelBudget measures every card of every fixture as the
// panel shows it: summary at most 90 characters, detail at most 600 rendered,
// at most three cards for a typical patient, critical before warning before
// info; no FHIR id, file name or LOINC long name on the panel; one absolute
// link to the card's knowledge-page entry, and source.url the same.
func TestCardsKeepToThePanelBudget(t *testing.T) {
	t.Parallel()
	kb, err := knowledge.Load()
	if err != nil {
		t.Fatal(err)
	}
	longNames := loincLongNames(kb)
	total := 0
	for _, in := range cardInputs(t) {
		cards := evalCards(t, in)
		total += len(cards)
		for _, p := range cardcheck.Response(cards, cardcheck.Panel(), in.typical, longNames...) {
			t.Errorf("%s: %v", in.name, p)
		}
		for _, c := range cards {
			if len(c.Links) != 1 || c.Links[0].Type != cdshooks.LinkAbsolute ||
				!strings.HasPrefix(c.Links[0].URL, publicURL+"/knowledge#") || c.Source.URL != c.Links[0].URL {
				t.Errorf("%s: card %q: links %+v, source.url %q; want one absolute link to its knowledge entry, source.url the same",
					in.name, c.Summary, c.Links, c.Source.URL)
			}
		}
	}
	// The fixtures must give the test something to measure.
	if total < 20 {
		t.Errorf("only %d cards over every fixture", total)
	}
}

var updateScreenshot = flag.Bool("update-screenshot", false, "rewrite docs/cards-panel.png from the browser test")

// TestKnowledgePageInABrowser opens the real server's knowledge page in
// headless Chromium, follows every distinct link and source.url of the
// examples' cards to an element that exists and is shown, and saves
// screenshots of the page and of the cards rendered as the sandbox lays
// them out.
func TestKnowledgePageInABrowser(t *testing.T) {
	ctx := browser.ForTest(t)
	m := startServer(t)
	base := "http://" + m.Addr()

	var cards []cdshooks.Card
	for _, in := range cardInputs(t) {
		if strings.HasSuffix(in.name, ".json") && !strings.Contains(in.name, "synthea") {
			cards = append(cards, evalCards(t, in)...)
		}
	}
	var urls []string
	for _, c := range cards {
		for _, l := range c.Links {
			urls = append(urls, l.URL)
		}
		urls = append(urls, c.Source.URL)
		urls = append(urls, markdownLinks(c.Detail)...)
	}
	slices.Sort(urls)
	urls = slices.Compact(urls)
	if len(urls) < 5 {
		t.Fatalf("only %d distinct links in the examples' cards", len(urls))
	}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Fragment == "" || !strings.HasPrefix(raw, publicURL+"/knowledge#") {
			t.Errorf("link %q is not an entry of the knowledge page", raw)
			continue
		}
		target := base + "/knowledge#" + u.Fragment
		var found bool
		err = chromedp.Do(ctx, chromedp.Navigate(target))
		if err == nil {
			found, err = chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(
				`(() => { const e = document.getElementById(%q); return !!e && e.getClientRects().length > 0; })()`, u.Fragment)))
		}
		if err != nil || !found {
			t.Errorf("%s: no element #%s shown on the page (%v)", raw, u.Fragment, err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/knowledge")); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, filepath.Join(t.TempDir(), "knowledge.png"))

	// The cards of the realistic example, rendered as the sandbox shows them.
	realistic := evalCards(t, cardInput{"realistic", []string{"--now", "2025-06-02", filepath.Join("..", "..", "examples", "patient-view-realistic.json")}, true})
	html, err := panel.HTMLPage("cramp-cds cards for examples/patient-view-realistic.json, rendered by cdshooks/panel in the layout of the CDS Hooks sandbox's card list (not the sandbox itself)", realistic)
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "cards.html")
	if err := os.WriteFile(page, html, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+page)); err != nil {
		t.Fatal(err)
	}
	png := shot(t, ctx, filepath.Join(t.TempDir(), "cards.png"))
	if *updateScreenshot {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "cards-panel.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// shot saves a screenshot of the browser's page to path and returns it.
func shot(t *testing.T, ctx context.Context, path string) []byte {
	t.Helper()
	png, err := browser.FullPagePNG(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return png
}

// startServer starts the real server on a free port, with its services and
// knowledge page, and stops it when the test ends.
func startServer(t *testing.T) *Main {
	t.Helper()
	m := &Main{Config: testConfig()}
	if err := m.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

var reMarkdownLink = regexp.MustCompile(`\]\((https?://[^)\s]+)\)`)

// markdownLinks returns the targets of the links in a card's detail.
func markdownLinks(md string) []string {
	var out []string
	for _, m := range reMarkdownLink.FindAllStringSubmatch(md, -1) {
		out = append(out, m[1])
	}
	return out
}
