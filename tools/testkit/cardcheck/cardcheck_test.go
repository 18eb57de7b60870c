package cardcheck_test

import (
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/tools/testkit/cardcheck"
)

func TestCardFindsEachProblem(t *testing.T) {
	t.Parallel()
	clean := cdshooks.Card{
		Summary:   "Potassium 3.1 mmol/L on 2026-11-02: low",
		Detail:    "**Potassium 3.1 mmol/L** on 2026-11-02, below 3.5.\n\nSources: [Am Fam Physician 2012](https://x.org/knowledge#ref-001-2)",
		Indicator: cdshooks.IndicatorWarning,
		Source:    cdshooks.Source{Label: "cramp-cds knowledge 1.0.0+abcd1234"},
		Suggestions: []cdshooks.Suggestion{{Label: "Order magnesium",
			Actions: []cdshooks.Action{{Type: cdshooks.ActionCreate, Description: "Order magnesium for review and signature"}}}},
	}
	if ps := cardcheck.Card(clean, cardcheck.Panel()); len(ps) != 0 {
		t.Fatalf("a clean card: %v", ps)
	}
	for name, tc := range map[string]struct {
		edit func(c *cdshooks.Card)
		want string
	}{
		"long summary":    {func(c *cdshooks.Card) { c.Summary = strings.Repeat("x", 91) }, "summary is 91"},
		"long detail":     {func(c *cdshooks.Card) { c.Detail = strings.Repeat("word ", 121) }, "detail renders to 604"},
		"FHIR reference":  {func(c *cdshooks.Card) { c.Detail += " `MedicationStatement/medstmt-hctz`" }, "FHIR id"},
		"bare uuid":       {func(c *cdshooks.Card) { c.Detail += " e128a222-4f5e-4c3d-9a1b-0c2d3e4f5a6b" }, "FHIR id"},
		"seed file":       {func(c *cdshooks.Card) { c.Detail += " seed 000_c5ba4de4b750ce3b.txt line 11" }, "file name"},
		"curator note":    {func(c *cdshooks.Card) { c.Detail += " (see hypertension_medication.json)" }, "file name"},
		"LOINC in label":  {func(c *cdshooks.Card) { c.Suggestions[0].Label = "Order Magnesium [Mass/volume] in Serum or Plasma" }, "LOINC long name"},
		"long name given": {func(c *cdshooks.Card) { c.Suggestions[0].Label = "Order Thyrotropin" }, "LOINC long name \"Thyrotropin\""},
	} {
		c := clean
		c.Suggestions = []cdshooks.Suggestion{clean.Suggestions[0]}
		tc.edit(&c)
		ps := cardcheck.Card(c, cardcheck.Panel(), "Thyrotropin")
		found := false
		for _, p := range ps {
			found = found || strings.Contains(p.Problem, tc.want)
		}
		if !found {
			t.Errorf("%s: got %v, want a problem containing %q", name, ps, tc.want)
		}
	}
}

func TestResponseOrderAndCount(t *testing.T) {
	t.Parallel()
	card := func(i cdshooks.Indicator) cdshooks.Card {
		return cdshooks.Card{Summary: string(i), Indicator: i, Source: cdshooks.Source{Label: "s"}}
	}
	ordered := []cdshooks.Card{card(cdshooks.IndicatorCritical), card(cdshooks.IndicatorWarning), card(cdshooks.IndicatorInfo)}
	if ps := cardcheck.Response(ordered, cardcheck.Panel(), true); len(ps) != 0 {
		t.Errorf("critical, warning, info: %v", ps)
	}
	if ps := cardcheck.Response([]cdshooks.Card{ordered[1], ordered[0]}, cardcheck.Panel(), true); len(ps) != 1 {
		t.Errorf("warning before critical: got %v, want one problem", ps)
	}
	four := append(ordered, card(cdshooks.IndicatorInfo))
	if ps := cardcheck.Response(four, cardcheck.Panel(), true); len(ps) != 1 {
		t.Errorf("four cards for a typical patient: got %v, want one problem", ps)
	}
	if ps := cardcheck.Response(four, cardcheck.Panel(), false); len(ps) != 0 {
		t.Errorf("four cards for an unusual record: got %v, want none", ps)
	}
}
