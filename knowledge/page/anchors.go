package page

import (
	"strings"

	"github.com/cramp-cds/cramp-cds/knowledge"
)

// The anchors of the knowledge page: every item a card can be about has one,
// and the cards' links land on them. They are part of the page's interface (a
// card shown yesterday links to them), so an anchor is never renamed.
const (
	AnchorSources       = "sources"
	AnchorPublications  = "publications"
	AnchorRules         = "rules"
	AnchorTriggers      = "triggers"
	AnchorMedications   = "medications"
	AnchorWorkup        = "workup"
	AnchorConditions    = "conditions"
	AnchorDifferentials = "differentials"
	AnchorPearls        = "pearls"
)

// ClassAnchor is the anchor of a drug class.
func ClassAnchor(id string) string { return "class-" + id }

// IngredientAnchor is the anchor of one cramp-inducing ingredient.
func IngredientAnchor(id string) string { return "ingredient-" + id }

// WorkupAnchor is the anchor of a work-up test.
func WorkupAnchor(id string) string { return "workup-" + id }

// PanelAnchor is the anchor of a laboratory panel.
func PanelAnchor(id string) string { return "panel-" + id }

// LabAnchor is the anchor of an analyte (its codes, units and thresholds).
func LabAnchor(id string) string { return "lab-" + id }

// ConditionAnchor is the anchor of an associated condition or differential.
func ConditionAnchor(id string) string { return "condition-" + id }

// RuleAnchor is the anchor of one rule in words.
func RuleAnchor(id string) string { return "rule-" + id }

// SourceAnchor is the anchor of a seed document. It is made from the seed's
// number ("000" of 000_c5ba4de4b750ce3b.txt) so that no file name reaches a
// card through a link.
func SourceAnchor(seed string) string { return "source-" + seedKey(seed) }

// CitationAnchor is the anchor of the reference a citation names, in the list
// of its seed's references, or of the publication it cites beyond the seeds.
func CitationAnchor(c knowledge.Citation) string {
	if c.Seed == "" {
		return PublicationAnchor(c.Publication)
	}
	return RefAnchor(c.Seed, c.Ref)
}

// PublicationAnchor is the anchor of a publication (a primary source).
func PublicationAnchor(id string) string { return "pub-" + slug(id) }

// RefAnchor is the anchor of one reference (a numbered reference, list item
// or section) of a seed.
func RefAnchor(seed, ref string) string { return "ref-" + seedKey(seed) + "-" + slug(ref) }

// URL returns the address of an anchor on the page served at pageURL (an
// absolute URL such as https://cds.example.org/knowledge).
func URL(pageURL, anchor string) string { return pageURL + "#" + anchor }

// seedKey is the number a seed file name starts with, or the whole name
// slugged when it has none.
func seedKey(seed string) string {
	if i := strings.IndexByte(seed, '_'); i > 0 && strings.Trim(seed[:i], "0123456789") == "" {
		return seed[:i]
	}
	return slug(seed)
}

// slug lowercases s and turns every run of other than letters and digits into
// one hyphen, so that an anchor is a plain CSS identifier.
func slug(s string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			hyphen = false
			continue
		}
		if !hyphen && b.Len() > 0 {
			b.WriteByte('-')
			hyphen = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
