package population_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cramp-cds/cramp-cds/cdshooks/kit/population"
	crampspopulation "github.com/cramp-cds/cramp-cds/cdshooks/legcramps/population"
)

// reportSummary has something in every chart, with known largest bars.
func reportSummary() *population.Summary {
	return &population.Summary{
		Run:      population.RunInfo{AsOf: asOf, Trigger: "always", Knowledge: "1.0.0+test", IDs: "hashed"},
		Patients: 10, PatientsWithCards: 7, Cards: 19,
		CardsPerPatient: []population.Bucket{{Cards: 0, Patients: 3}, {Cards: 2, Patients: 4}, {Cards: 5, Patients: 3}},
		Topics: []population.Count{
			{Name: "cramp-missing-labs", Patients: 7, Cards: 7}, {Name: "cramp-medication", Patients: 5, Cards: 9},
			{Name: "cramp-abnormal-lab", Patients: 2, Cards: 3},
		},
		Lists: []population.List{
			{Key: "cramp_inducing_ingredients", Counts: []population.Count{{Name: "hydrochlorothiazide", Patients: 4}, {Name: "verapamil", Patients: 2}}},
			{Key: "missing_analytes", Counts: []population.Count{{Name: "Magnesium", Patients: 7}, {Name: "Thyroid function (TSH)", Patients: 6}}},
			{Key: "abnormal_labs", Counts: []population.Count{{Name: "Potassium", Patients: 2}}},
		},
		Problems: 1,
	}
}

// chart is what the browser shows of one chart.
type chart struct {
	ID     string    `json:"id"`
	Width  float64   `json:"width"`
	Height float64   `json:"height"`
	Labels []string  `json:"labels"`
	Bars   []float64 `json:"bars"` // rendered widths
}

// TestReportShowsItsChartsInABrowser opens report.html in headless Chromium
// and checks that each chart is drawn: on screen, one visible bar per
// count, bars in proportion, labels readable; and that the page fetched
// nothing from elsewhere.
func TestReportShowsItsChartsInABrowser(t *testing.T) {
	t.Parallel()
	html, err := population.Report(reportSummary(), crampspopulation.Topic())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), population.ReportFile)
	if err := os.WriteFile(file, html, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := startBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file)); err != nil {
		t.Fatalf("browser: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[[]chart](`[...document.querySelectorAll("svg.chart")].map(s => {
		const r = s.getBoundingClientRect();
		return {id: s.id, width: r.width, height: r.height,
			labels: [...s.querySelectorAll("text[text-anchor=end]")].map(t => t.textContent),
			bars: [...s.querySelectorAll("rect.bar")].map(b => b.getBoundingClientRect().width)};
	})`))
	if err != nil {
		t.Fatal(err)
	}
	resources, err := chromedp.Run(ctx, chromedp.Evaluate[int](`performance.getEntriesByType("resource").length`))
	if err != nil {
		t.Fatal(err)
	}
	if title != "cramp-cds population report" {
		t.Errorf("title %q", title)
	}
	if resources != 0 {
		t.Errorf("the page fetched %d resources: it must be self-contained", resources)
	}
	// The committee reads the topics' labels (legcramps.Topic), not their codes.
	want := map[string][]string{
		"cards-per-patient":  {"0 cards", "2 cards", "5 cards"},
		"patients-per-topic": {"Work-up labs without a recent result", "Medications that can cause leg cramps", "Results that may worsen leg cramps"},
		"top-drugs":          {"hydrochlorothiazide", "verapamil"},
		"missing-analytes":   {"Magnesium", "Thyroid function (TSH)"},
		"abnormal-labs":      {"Potassium"},
	}
	if len(charts) != len(want) {
		t.Fatalf("got %d charts, want %d: %+v", len(charts), len(want), charts)
	}
	for _, c := range charts {
		labels, ok := want[c.ID]
		if !ok {
			t.Errorf("unexpected chart %q", c.ID)
			continue
		}
		if c.Width < 300 || c.Height < 20 {
			t.Errorf("chart %s is %gx%g px on screen: not visible", c.ID, c.Width, c.Height)
		}
		if strings.Join(c.Labels, "|") != strings.Join(labels, "|") {
			t.Errorf("chart %s labels %q, want %q", c.ID, c.Labels, labels)
		}
		if len(c.Bars) != len(labels) {
			t.Errorf("chart %s has %d bars, want %d", c.ID, len(c.Bars), len(labels))
			continue
		}
		for i, w := range c.Bars {
			if w < 1 {
				t.Errorf("chart %s bar %q is %g px wide: invisible", c.ID, labels[i], w)
			}
		}
	}
	// Bars are in proportion: 7 patients miss magnesium, 6 TSH.
	for _, c := range charts {
		if c.ID == "missing-analytes" && len(c.Bars) == 2 {
			if ratio := c.Bars[1] / c.Bars[0]; ratio < 6.0/7-0.02 || ratio > 6.0/7+0.02 {
				t.Errorf("missing-analytes bars %v: ratio %.3f, want 6/7", c.Bars, ratio)
			}
		}
	}
}

// startBrowser starts headless Chromium for the test, with a fresh profile
// and no background networking, and skips the test when none is installed
// (make test installs Debian's chromium).
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("skipping the browser test: no chromium on PATH (make test installs it)")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(t.Context(),
		chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1000, 1400),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-first-run", true))
	ctx, cancel := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		cancelAlloc()
	})
	return ctx
}
