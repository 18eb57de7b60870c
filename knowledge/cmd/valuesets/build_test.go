package main

import (
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/knowledge"
)

// The generator is tested on tiny source copies in testdata/sources, so make test never needs the real ones.

func testSources(t *testing.T) *sources {
	t.Helper()
	defs := map[string]*sourceDef{
		"vsac": {Kind: "vsac", Repository: "example/vsac", Commit: "0123456789abcdef0123456789abcdef01234567", Date: "2025-01-15", Dir: "vsac", Path: ".", Licence: "CC0"},
		"ips":  {Kind: "ips", Repository: "example/ips", Commit: "89abcdef0123456789abcdef0123456789abcdef", Date: "2024-07-10", Dir: "ips", Path: "ips.fsh", Licence: "CC BY 4.0"},
	}
	src, err := openSources("testdata/sources", defs)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func codesOf(vs *knowledge.ValueSet) []string {
	var out []string
	for _, c := range vs.Expansion.Contains {
		out = append(out, c.Code)
	}
	return out
}

func TestBuildFromVSACAndHandAdditions(t *testing.T) {
	t.Parallel()
	r := recipe{ID: "lab-magnesium", Title: "Magnesium", From: []pick{{Source: "vsac", OID: "1.2.3"}},
		Add: []addCode{{System: "loinc", Code: "21377-7", Display: "Magnesium [Mass/volume] in Blood", Source: "Synthea cardiac_labs.json (abridgeai/synthea@2b0a55b)", Why: "whole-blood code"}}}
	vs, err := build(r, testSources(t), &medications{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(codesOf(vs), " "), "19123-9 21377-7 2601-3"; got != want {
		t.Errorf("codes %q, want %q (sorted)", got, want)
	}
	if len(vs.Identifier) != 1 || vs.Identifier[0].Value != "urn:oid:1.2.3" || vs.URL != knowledge.ValueSetURLBase+"lab-magnesium" {
		t.Errorf("identifier %+v url %q, want the OID and our canonical URL", vs.Identifier, vs.URL)
	}
	if len(vs.Extension) != 2 || !strings.Contains(vs.Extension[0].Extension[0].ValueString, "example/vsac") {
		t.Errorf("provenance %+v, want the VSAC source and the curation", vs.Extension)
	}
	for _, c := range vs.Expansion.Contains {
		hand := len(c.Extension) == 1 && c.Extension[0].URL == knowledge.ExtCodeSource
		if (c.Code == "21377-7") != hand {
			t.Errorf("%s: extensions %+v; only the hand-added code says why", c.Code, c.Extension)
		}
	}
	again, _ := build(r, testSources(t), &medications{})
	if again.Version != vs.Version || !strings.HasPrefix(vs.Version, "20250115-") {
		t.Errorf("versions %q and %q, want equal and dated by the source commit", vs.Version, again.Version)
	}
}

func TestBuildRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    recipe
		want string
	}{
		{"a truncated expansion", recipe{ID: "lab-potassium", From: []pick{{Source: "vsac", OID: "9.9.9"}}}, "TRUNCATED"},
		{"an exclusion that removes nothing", recipe{ID: "lab-magnesium", From: []pick{{Source: "vsac", OID: "1.2.3"}},
			Exclude: []exclusion{{Code: "1-8", Why: "test"}}}, "removes nothing"},
		{"a hand-added code without why", recipe{ID: "lab-x", Add: []addCode{{System: "loinc", Code: "1-8", Display: "x", Source: "y"}}}, "say why"},
		{"a check the source fails", recipe{ID: "condition-x", Add: []addCode{{System: "sct", Code: "5291005", Check: "ips", Why: "test"}}}, "not in ips"},
		{"an unknown VSAC value set", recipe{ID: "lab-x", From: []pick{{Source: "vsac", OID: "7.7.7"}}}, "not in source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := build(tt.r, testSources(t), &medications{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("build: err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestBuildDrugMapsProductsToIngredients: a product joins the class with the ingredients its display names
// (a combination with another drug too), a topical form is left out, and an unrelated product is not taken.
func TestBuildDrugMapsProductsToIngredients(t *testing.T) {
	t.Parallel()
	meds := &medications{Classes: []*knowledge.DrugClass{{
		ID: "nsaid", ExcludeForms: []string{"topical", "gel"},
		Ingredients: []*knowledge.Ingredient{
			{ID: "naproxen", Name: "naproxen", RxNorm: []knowledge.Code{{Code: "7258", Source: "test"}}},
			{ID: "diclofenac", Name: "diclofenac", RxNorm: []knowledge.Code{{Code: "3355", Source: "test"}}},
		},
	}}}
	vs, err := build(recipe{ID: "drug-nsaid", Drug: "nsaid", Products: []string{"*"}}, testSources(t), meds)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range vs.Expansion.Contains {
		var ids []string
		for _, e := range c.Extension {
			if e.URL == knowledge.ExtIngredient {
				ids = append(ids, e.ValueCode)
			}
		}
		got[c.Code] = strings.Join(ids, "+")
	}
	want := map[string]string{"7258": "naproxen", "3355": "diclofenac", "198014": "naproxen", "2222222": "naproxen"}
	if len(got) != len(want) {
		t.Errorf("codes %v, want %v (no topical gel 1111111, no acetaminophen 3333333)", got, want)
	}
	for code, ing := range want {
		if got[code] != ing {
			t.Errorf("%s: ingredients %q, want %q", code, got[code], ing)
		}
	}
}
