package panel

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

//go:embed cards.html.tmpl
var cardsTemplate string

var cardsPage = template.Must(template.New("cards").Parse(cardsTemplate))

// renderedCard is a card with its detail rendered.
type renderedCard struct {
	cdshooks.Card
	DetailHTML template.HTML
}

// HTMLPage returns a standalone page (no script, no external asset) showing
// cards as the CDS Hooks sandbox lays them out, under a caption saying what
// it is: title names the patient or example shown.
func HTMLPage(title string, cards []cdshooks.Card) ([]byte, error) {
	rc := make([]renderedCard, len(cards))
	for i, c := range cards {
		h, err := MarkdownHTML(c.Detail)
		if err != nil {
			return nil, fmt.Errorf("card %d: %w", i+1, err)
		}
		rc[i] = renderedCard{Card: c, DetailHTML: h}
	}
	var b bytes.Buffer
	if err := cardsPage.Execute(&b, struct {
		Title string
		Cards []renderedCard
	}{title, rc}); err != nil {
		return nil, fmt.Errorf("rendering the cards page: %w", err)
	}
	return b.Bytes(), nil
}
