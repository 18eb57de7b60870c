package knowledge_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/knowledge"
)

// TestPublicationIsTheReferenceTheSeedLists checks each resolved reference
// against the seed's own reference list: the publication's title must be the
// title the list prints and its year the year it gives, so that a reference is
// never resolved to an article the seed does not name.
func TestPublicationIsTheReferenceTheSeedLists(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	pubs := map[string]*knowledge.Publication{}
	for _, p := range b.Publications() {
		pubs[p.ID] = p
	}
	resolved := 0
	for _, s := range b.Sources() {
		for _, r := range s.Refs {
			if r.Publication == "" {
				continue
			}
			resolved++
			p := pubs[r.Publication]
			if !strings.EqualFold(strings.TrimSuffix(p.Title, "."), strings.TrimSuffix(r.Title, ".")) {
				t.Errorf("%s ref %s: publication title %q, the seed lists %q", s.Seed, r.ID, p.Title, r.Title)
			}
			if !strings.Contains(r.Detail, strconv.Itoa(p.Year)) {
				t.Errorf("%s ref %s: publication year %d, the seed's reference says %q", s.Seed, r.ID, p.Year, r.Detail)
			}
		}
	}
	if resolved < 2 {
		t.Errorf("%d seed references resolved to a publication, want at least Allen & Kirby and Haskell & Fiebach", resolved)
	}
}

// TestSourceCiteIsTheSeedsOwnTitle: a reference whose primary source is
// unidentified is cited by the seed document's own title (its first line),
// never by a brand such as "Dr.Oracle".
func TestSourceCiteIsTheSeedsOwnTitle(t *testing.T) {
	t.Parallel()
	for _, s := range mustLoad(t).Sources() {
		text, err := os.ReadFile(filepath.Join("testdata", "seeds", s.Seed))
		if err != nil {
			t.Fatal(err)
		}
		title, _, _ := strings.Cut(string(text), "\n")
		if !strings.HasPrefix(s.Cite, strings.TrimSpace(title)) {
			t.Errorf("%s: cite %q does not start with the document's title %q", s.Seed, s.Cite, title)
		}
		if strings.Contains(strings.ToLower(s.Cite), "oracle") {
			t.Errorf("%s: cite %q names the publisher's brand, not the document", s.Seed, s.Cite)
		}
	}
}

// TestCitationCite checks what a card names: the publication behind a
// reference when it is identified, else the seed document by its title.
func TestCitationCite(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	got := map[[2]string]string{}
	for _, cl := range b.Classes() {
		for _, c := range cl.Evidence {
			got[[2]string{c.Seed + c.Publication, c.Ref}] = c.Cite
		}
	}
	for _, tc := range []struct {
		seed, ref, want string
	}{
		{"001_ef64482ccbaa6c09.txt", "2", "Allen & Kirby, Am Fam Physician 2012"},
		{"001_ef64482ccbaa6c09.txt", "4", "What are the causes of nocturnal leg cramps? (summary, 2025)"}, // cited in the text, absent from the list
		{"000_c5ba4de4b750ce3b.txt", "1", "Causes of Nocturnal Muscle Cramps (summary)"},                  // the document lists no references
		{"garrison-2012", "", "Garrison et al., Arch Intern Med 2012"},                                    // beyond the seeds
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
