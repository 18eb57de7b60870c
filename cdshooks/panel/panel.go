// Package panel shows CDS Hooks cards the way an EHR's side panel does: as
// plain text for a terminal (`cramp-cds evaluate --format=text`), and as an
// HTML page laid out like the CDS Hooks sandbox's card list (indicator
// colour, summary, source, detail rendered from GitHub-flavoured markdown
// with raw HTML left out, suggestion and link buttons). It also gives the
// rendered text of a detail, which is what a card's length budget counts.
package panel

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"io"
	"regexp"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

// markdown renders GitHub-flavoured markdown and, like the sandbox's
// renderer, never passes raw HTML through (goldmark's default).
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

// MarkdownHTML renders md to HTML as a panel would.
func MarkdownHTML(md string) (template.HTML, error) {
	var b bytes.Buffer
	if err := markdown.Convert([]byte(md), &b); err != nil {
		return "", fmt.Errorf("rendering markdown: %w", err)
	}
	// goldmark escapes text and drops raw HTML: the output is safe to embed.
	return template.HTML(b.String()), nil //nolint:gosec // see above
}

var (
	reTag    = regexp.MustCompile(`<[^>]*>`)
	reSpaces = regexp.MustCompile(`[ \t\r\n]+`)
	// Block-level tags end a line when the rendered HTML becomes text.
	reBlockEnd = regexp.MustCompile(`(?i)</(p|li|h[1-6]|tr|blockquote|pre)>|<br ?/?>|<(ul|ol)>`)
	reItem     = regexp.MustCompile(`(?i)<li>`)
)

// RenderedText returns the text md shows once rendered, on one line: no
// markup, link labels without their targets, entities decoded, runs of white
// space as one space. A card's detail budget counts its characters.
func RenderedText(md string) (string, error) {
	h, err := MarkdownHTML(md)
	if err != nil {
		return "", err
	}
	text := html.UnescapeString(reTag.ReplaceAllString(string(h), " "))
	return strings.TrimSpace(reSpaces.ReplaceAllString(text, " ")), nil
}

// PlainText returns md rendered for a terminal: one line per paragraph or
// list item, items marked "• ", markup and link targets left out.
func PlainText(md string) (string, error) {
	h, err := MarkdownHTML(md)
	if err != nil {
		return "", err
	}
	s := reItem.ReplaceAllString(string(h), "\x00• ")
	s = reBlockEnd.ReplaceAllString(s, "\n")
	s = html.UnescapeString(reTag.ReplaceAllString(s, ""))
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(reSpaces.ReplaceAllString(strings.ReplaceAll(l, "\x00", "\n"), " "))
		for _, part := range strings.Split(l, "\n") {
			if part = strings.TrimSpace(part); part != "" {
				lines = append(lines, part)
			}
		}
	}
	return strings.Join(lines, "\n"), nil
}

// WriteText writes cards as a panel shows them, for a terminal: per card its
// number, indicator and summary, the rendered detail, the suggestion buttons
// (a star marks a recommended one), the link labels, the source and the
// reasons offered on dismissal.
func WriteText(w io.Writer, cards []cdshooks.Card) error {
	var b strings.Builder
	if len(cards) == 0 {
		b.WriteString("No cards.\n")
	}
	for i, c := range cards {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%d. [%s] %s\n", i+1, strings.ToUpper(string(c.Indicator)), c.Summary)
		if c.Detail != "" {
			text, err := PlainText(c.Detail)
			if err != nil {
				return fmt.Errorf("card %d: %w", i+1, err)
			}
			for _, l := range strings.Split(text, "\n") {
				fmt.Fprintf(&b, "   %s\n", l)
			}
		}
		for _, s := range c.Suggestions {
			mark := " "
			if s.IsRecommended {
				mark = "*"
			}
			fmt.Fprintf(&b, "  %s[ %s ]\n", mark, s.Label)
		}
		for _, l := range c.Links {
			fmt.Fprintf(&b, "   -> %s\n", l.Label)
		}
		fmt.Fprintf(&b, "   Source: %s\n", c.Source.Label)
		if len(c.OverrideReasons) > 0 {
			reasons := make([]string, len(c.OverrideReasons))
			for j, r := range c.OverrideReasons {
				reasons[j] = r.Display
			}
			fmt.Fprintf(&b, "   Dismiss: %s\n", strings.Join(reasons, "; "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
