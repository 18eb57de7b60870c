package cdshooks_test

import (
	"strings"
	"testing"
	"unicode"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/tools/testkit/gfmcheck"
)

// hostileStrings are what a hostile or broken record may hold where a card
// shows its words: raw HTML, HTML that a blank line turns into an HTML block,
// every kind of GFM autolink, markdown that would restyle or restructure the
// panel, entities, and control, bidi and invalid bytes.
var hostileStrings = []string{
	"<img src=x onerror=alert(2)>", "x\n\n<img src=x onerror=alert(2)>", "`\n\n<script>alert(1)</script>`",
	"https://evil.example/x", "http://evil.example", "www.evil.example", "WWW.EVIL.EXAMPLE/p", "ftp://evil.example",
	"mailto:a@evil.example", "a@evil.example", "xmpp:a@evil.example/r", "<https://evil.example>", "<a@evil.example>",
	"[click](javascript:alert(1))", "![i](https://evil.example/i.png)", "[x]: https://evil.example\n\n[x]",
	"&lt;img src=x&gt;", "&#60;b&#62;", "&amp;", "**bold** _it_ ~~gone~~ ***", "# heading", "1. list", "- item", "> quote",
	"    indented code", "\t\tcode", "```\nfenced\n```", "~~~", "| a | b |\n|---|---|\n| c | d |",
	"<!-- comment -->", "<?php ?>", "<![CDATA[x]]>", "<div>", "</p><p>", "trailing\\", "\\<b>", "hard  \nbreak",
	"\x00\x01\x7f\u0085\u2028\u2029", "\u202eevil", "zero\u200bwidth", "\xff\xfe<b>", "foo_bar_", "*", "www.", "https://",
	"- [ ] task", "a\r\n===", "Na 135 mmol/L (low)", "HMG-CoA reductase inhibitors",
}

// In every place our templates put outside text (a paragraph, a bold list
// item, an italic question), Markdown's result renders to the template's own
// elements only, and reads as the text was written, white space folded.
func TestMarkdownRendersAsTextOnly(t *testing.T) {
	t.Parallel()
	templates := []struct {
		src      string
		elements []string
	}{
		{"%s", []string{"p"}},
		{"Text %s text.", []string{"p"}},
		{"- **%s** (x; y)\n- second\n", []string{"ul", "li", "strong"}},
		{"Ask: *%s*\n", []string{"p", "em"}},
	}
	for _, s := range hostileStrings {
		for _, tmpl := range templates {
			md := strings.Replace(tmpl.src, "%s", cdshooks.Markdown(s), 1)
			bad, err := gfmcheck.Unexpected(md, tmpl.elements...)
			if err != nil {
				t.Fatal(err)
			}
			if len(bad) > 0 {
				t.Errorf("Markdown(%q) in %q renders %v", s, tmpl.src, bad)
			}
		}
		r, err := gfmcheck.Render(cdshooks.Markdown(s))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := r.Text, asRead(s); got != want {
			t.Errorf("Markdown(%q) reads %q, want %q", s, got, want)
		}
	}
}

// asRead is s as a reader should see it: invalid bytes as U+FFFD, white
// space and controls folded to one space, invisible characters gone.
func asRead(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || unicode.IsControl(r):
			b.WriteByte(' ')
		case r == '\u200b' || r == '\u202e':
		default:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func TestMarkdownAndPlainTextCut(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("A", 4_500_000)
	for name, f := range map[string]func(string) string{"Markdown": cdshooks.Markdown, "PlainText": cdshooks.PlainText} {
		got := f(long)
		if want := strings.Repeat("A", cdshooks.MaxText) + "…"; got != want {
			t.Errorf("%s of 4.5 MB = %d bytes, want %d A and an ellipsis", name, len(got), cdshooks.MaxText)
		}
		if got, want := f("Furosemide 40 MG Oral Tablet"), "Furosemide 40 MG Oral Tablet"; got != want {
			t.Errorf("%s(%q) = %q, want it unchanged", name, want, got)
		}
	}
	if got, want := cdshooks.Markdown(strings.Repeat("<", 300)), strings.Repeat(`\<`, cdshooks.MaxText)+"…"; got != want {
		t.Errorf("Markdown cuts characters, not escaped bytes: got %d bytes, want %d", len(got), len(want))
	}
}

func TestPlainText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"Furosemide 40 MG", "Furosemide 40 MG"},
		{"x\n\n<img src=x onerror=alert(2)>", "x ‹img src=x onerror=alert(2)›"},
		{"  tabs\tand\r\nlines  ", "tabs and lines"},
		{"\u202eevil\u200b", "evil"},
		{"Na < 135 & K > 5", "Na ‹ 135 & K › 5"},
	}
	for _, tt := range tests {
		if got := cdshooks.PlainText(tt.in); got != tt.want {
			t.Errorf("PlainText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, s := range hostileStrings {
		if got := cdshooks.PlainText(s); strings.ContainsAny(got, "<>") || strings.ContainsFunc(got, unicode.IsControl) {
			t.Errorf("PlainText(%q) = %q: holds markup or control characters", s, got)
		}
	}
}
