package legcramps_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/tools/testkit/gfmcheck"
)

// hostileTexts are what a hostile (or broken) FHIR server puts in the record's
// words: raw HTML, HTML that a blank line turns into an HTML block, every kind
// of GFM autolink, markdown that would restyle or restructure the panel,
// entities, and control and bidi characters.
var hostileTexts = []string{
	"<img src=x onerror=alert(2)>",
	"x\n\n<img src=x onerror=alert(2)>",
	"`\n\n<script>alert(1)</script>`",
	"https://evil.example/x", "www.evil.example", "ftp://evil.example", "a@evil.example", "mailto:a@evil.example",
	"[click](javascript:alert(1))", "![i](https://evil.example/i.png)", "<https://evil.example>",
	"&lt;img src=x onerror=alert(1)&gt;", "&#60;b&#62;", "**bold** _it_ ~~gone~~",
	"\n# Heading\n", "\n1. list", "\n    indented code", "\n```\nfenced\n```", "\n| a | b |\n|---|---|\n| c | d |",
	"<!-- comment -->", "</p><div>", "trailing backslash\\", "\x00\x07\u0085\u2028\u202eevil",
}

// cardElements are the only HTML elements our card templates make from
// markdown: paragraphs, lists, bold, italics, and the sources line's links to
// the knowledge page (ourLinks checks where each goes). Anything else in a
// rendered card came from the record.
var cardElements = []string{"p", "ul", "li", "strong", "em", "a"}

var reHref = regexp.MustCompile(`<a\b[^>]*>`)

// foreignLinks returns the links of a rendered card that do not go to an
// entry of our knowledge page: none of them is ours.
func foreignLinks(t *testing.T, md string) []string {
	t.Helper()
	r, err := gfmcheck.Render(md)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range reHref.FindAllString(r.HTML, -1) {
		if !strings.HasPrefix(a, `<a href="`+testPublicURL+`/knowledge#ref-`) && !strings.HasPrefix(a, `<a href="`+testPublicURL+`/knowledge#pub-`) || strings.Count(a, `"`) != 2 {
			out = append(out, a)
		}
	}
	return out
}

// hostileCorpus returns the examples with hostile text appended to every
// string a card may show (text, display, unit), one request per example and
// hostile text, named for both.
func hostileCorpus(t *testing.T) map[string][]byte {
	t.Helper()
	corpus := map[string][]byte{}
	for _, file := range []string{"patient-view-every-card.json", "order-select.json", "order-sign.json"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "examples", file))
		if os.IsNotExist(err) {
			raw, err = os.ReadFile(filepath.Join("..", "examples", file))
		}
		if err != nil {
			t.Fatal(err)
		}
		for i, evil := range hostileTexts {
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			spoil(v, evil)
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			corpus[file+"#"+string(rune('a'+i))] = b
		}
	}
	return corpus
}

// spoil appends evil to every text, display and unit in v.
func spoil(v any, evil string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (k == "text" || k == "display" || k == "unit") {
				v[k] = s + " " + evil
				continue
			}
			spoil(x, evil)
		}
	case []any:
		for _, x := range v {
			spoil(x, evil)
		}
	}
}

// Every card of the hostile corpus renders, in a real CommonMark+GFM renderer
// that passes raw HTML through, to no element but the ones our templates
// make; summaries, suggestion labels and action descriptions hold no markup
// and no control characters.
func TestHostileRecordTextRendersAsText(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{config: cdshooks.Config{PublicURLs: []string{testPublicURL}}})
	cards := 0
	for name, body := range hostileCorpus(t) {
		id := legcramps.PatientViewID
		if strings.HasPrefix(name, "order-") {
			id = legcramps.InducingOrderID
		}
		status, resp, err := srv.Invoke(context.Background(), id, body)
		if err != nil || status != http.StatusOK {
			t.Fatalf("%s: status %d (%v): %.300s", name, status, err, resp)
		}
		var r cdshooks.Response
		if err := json.Unmarshal(resp, &r); err != nil {
			t.Fatal(err)
		}
		for _, c := range r.Cards {
			cards++
			bad, err := gfmcheck.Unexpected(c.Detail, cardElements...)
			if err != nil {
				t.Fatal(err)
			}
			if len(bad) > 0 {
				t.Errorf("%s: card %q renders %v; detail:\n%s", name, c.Summary, bad, c.Detail)
			}
			if links := foreignLinks(t, c.Detail); len(links) > 0 {
				t.Errorf("%s: card %q renders links not to the knowledge page %v; detail:\n%s", name, c.Summary, links, c.Detail)
			}
			plain := []string{c.Summary}
			for _, s := range c.Suggestions {
				plain = append(plain, s.Label)
				for _, a := range s.Actions {
					plain = append(plain, a.Description)
				}
			}
			for _, p := range plain {
				if strings.ContainsAny(p, "<>") || strings.ContainsFunc(p, unicode.IsControl) {
					t.Errorf("%s: plain-text field %q holds markup or control characters", name, p)
				}
			}
		}
	}
	// Every example gives cards: the corpus reaches the card templates.
	if min := 3 * len(hostileTexts); cards < min {
		t.Fatalf("the hostile corpus gave %d cards, want at least %d", cards, min)
	}
}
