// Package gfmcheck renders card markdown the way a permissive CDS Hooks client
// does, for tests: CommonMark with the GitHub extensions (tables,
// strikethrough, task lists and autolinks) and raw HTML passed through, as
// the CDS Hooks sandbox's panel renders it. Tests ask what elements came out,
// so that text from a record can be shown never to become markup.
package gfmcheck

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
	xhtml "golang.org/x/net/html"
)

// Rendered is what a markdown document became.
type Rendered struct {
	// HTML is the renderer's output.
	HTML string
	// Elements counts each element name that appears, plus "!--" for HTML
	// comments.
	Elements map[string]int
	// Text is the text a reader sees, white space as written.
	Text string
}

// Render renders md with goldmark's GFM extensions and raw HTML allowed.
func Render(md string) (Rendered, error) {
	gm := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(html.WithUnsafe()))
	var buf bytes.Buffer
	if err := gm.Convert([]byte(md), &buf); err != nil {
		return Rendered{}, fmt.Errorf("rendering markdown: %w", err)
	}
	r := Rendered{HTML: buf.String(), Elements: map[string]int{}}
	var text strings.Builder
	z := xhtml.NewTokenizer(strings.NewReader(r.HTML))
	for {
		switch z.Next() {
		case xhtml.ErrorToken:
			r.Text = strings.TrimSpace(text.String())
			return r, nil
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			name, _ := z.TagName()
			r.Elements[string(name)]++
		case xhtml.CommentToken:
			r.Elements["!--"]++
		case xhtml.TextToken:
			text.Write(z.Text())
		}
	}
}

// Unexpected renders md and returns the names of the elements in it that
// are not in allowed, sorted, each once.
func Unexpected(md string, allowed ...string) ([]string, error) {
	r, err := Render(md)
	if err != nil {
		return nil, err
	}
	var out []string
	for el := range r.Elements {
		if !slices.Contains(allowed, el) {
			out = append(out, el)
		}
	}
	slices.Sort(out)
	return out, nil
}
