package knowledge_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/knowledge"
)

// TestCiteNamesThePrimarySourceTheSeedLists checks each ref's short citation
// against the seed's own reference list: the year it gives must be the year
// the reference list prints for that ref, and its first word must appear
// there too (Am Fam Physician 2012 is "American family physician, 2012").
func TestCiteNamesThePrimarySourceTheSeedLists(t *testing.T) {
	t.Parallel()
	year := regexp.MustCompile(`\b(19|20)\d\d\b`)
	for _, s := range mustLoad(t).Sources() {
		for _, r := range s.Refs {
			if r.Cite == "" {
				continue
			}
			y := year.FindString(r.Cite)
			if y == "" || !strings.Contains(r.Detail, y) {
				t.Errorf("%s ref %s: cite %q has no year or one the reference (%q) does not give", s.Seed, r.ID, r.Cite, r.Detail)
			}
			first := strings.ToLower(strings.Fields(r.Cite)[0])
			if !strings.Contains(strings.ToLower(r.Detail), first) {
				t.Errorf("%s ref %s: cite %q names a source the reference (%q) does not", s.Seed, r.ID, r.Cite, r.Detail)
			}
		}
	}
}

// TestCitationCite checks what a card names: the primary source when the seed
// lists it, else the seed document itself.
func TestCitationCite(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	got := map[[2]string]string{}
	for _, cl := range b.Classes() {
		for _, c := range cl.Evidence {
			got[[2]string{c.Seed, c.Ref}] = c.Cite
		}
	}
	for _, tc := range []struct {
		seed, ref, want string
	}{
		{"001_ef64482ccbaa6c09.txt", "2", "Am Fam Physician 2012"},
		{"001_ef64482ccbaa6c09.txt", "4", "Dr.Oracle 2025"},                     // cited in the text, absent from the list
		{"000_c5ba4de4b750ce3b.txt", "1", "Review: causes of nocturnal cramps"}, // the document lists no references
	} {
		c, ok := got[[2]string{tc.seed, tc.ref}]
		if !ok {
			t.Errorf("no drug class cites %s ref %s: pick another case", tc.seed, tc.ref)
			continue
		}
		if c != tc.want {
			t.Errorf("Cite of %s ref %s: got %q, want %q", tc.seed, tc.ref, c, tc.want)
		}
	}
}

func TestPanelsCoverWorkupTests(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	var bmp *knowledge.Panel
	for _, p := range b.Panels() {
		if p.ID == "bmp" {
			bmp = p
		}
	}
	if bmp == nil {
		t.Fatal("no bmp panel")
	}
	if bmp.Order.Code != "24321-2" {
		t.Errorf("bmp orders LOINC %s, want 24321-2 (Basic metabolic 2000 panel - Serum or Plasma)", bmp.Order.Code)
	}
	var covers []string
	for _, w := range bmp.Resolved {
		covers = append(covers, w.ID)
	}
	if got, want := strings.Join(covers, ","), "potassium,calcium,renal-function"; got != want {
		t.Errorf("bmp covers %s, want %s", got, want)
	}
}

func TestLoadRejectsBadPanels(t *testing.T) {
	t.Parallel()
	for name, edit := range map[string][2]string{
		"unknown workup":  {"covers: [potassium, calcium, renal-function]", "covers: [potassium, sodium]"},
		"single test":     {"covers: [potassium, calcium, renal-function]", "covers: [potassium]"},
		"bad check digit": {"code: 24321-2,", "code: 24321-3,"},
	} {
		if _, err := knowledge.LoadFS(dataFS(t, "labs.yaml", edit[0], edit[1])); err == nil {
			t.Errorf("%s: LoadFS accepted it", name)
		}
	}
}
