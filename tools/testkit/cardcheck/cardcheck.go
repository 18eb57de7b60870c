// Package cardcheck measures CDS Hooks cards against what a clinician reads
// in a narrow EHR side panel in five seconds: how long the summary and the
// rendered detail are, how many cards a patient gets and in what order, and
// whether internal text (FHIR ids, file names, LOINC long names on buttons)
// reaches the panel. Tests run it over every fixture; it decides nothing
// clinical.
package cardcheck

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/panel"
)

// Budget is how much a panel can show.
type Budget struct {
	// Summary is the longest summary, in characters.
	Summary int
	// Detail is the longest detail, in characters of rendered text (what the
	// markdown shows, not its syntax or link targets).
	Detail int
	// Cards is the most cards one typical patient gets.
	Cards int
}

// Panel is the budget the product promises: a summary on one line of a
// narrow panel, a detail read without scrolling, three cards at most.
func Panel() Budget { return Budget{Summary: 90, Detail: 600, Cards: 3} }

// Internal text that must not reach the panel.
var (
	// A FHIR reference ("Observation/e128a222-…") or a bare UUID, which is
	// what Synthea and most EHRs use as resource ids.
	reFHIRID = regexp.MustCompile(`\b(Patient|Observation|Condition|Medication[A-Za-z]*|ServiceRequest|Encounter|Practitioner[A-Za-z]*|` +
		`DiagnosticReport|Procedure|AllergyIntolerance|Immunization|Organization|RelatedPerson|Bundle)/[A-Za-z0-9\-.]{1,64}|` +
		`\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`)
	// A file name: the seeds (000_c5ba4de4b750ce3b.txt), data files, sources.
	reFileName = regexp.MustCompile(`(?i)\b[\w.-]+\.(txt|json|ya?ml|csv|md|go|fsh)\b|\b\d{3}_[0-9a-f]{16}\b`)
	// A LOINC long name's parts: "[Mass/volume]", "in Serum or Plasma", "LOINC".
	reLOINCName = regexp.MustCompile(`\[[A-Za-z.]+/[A-Za-z.]+\]|(?i)\bin (serum|plasma|blood)\b|\bLOINC\b|\bpanel - `)
)

// Problem is one way a card overruns the budget or shows internal text.
type Problem struct {
	Card    string // the card's summary
	Problem string
}

func (p Problem) String() string { return fmt.Sprintf("card %q: %s", p.Card, p.Problem) }

// Card checks one card against b: summary and rendered detail length,
// and no FHIR id or file name in its summary, detail, suggestion labels and
// action descriptions, link labels or source label, and no LOINC long name in
// a suggestion label. longNames are LOINC long names (displays) a label must
// not contain, in addition to the patterns every long name has.
func Card(c cdshooks.Card, b Budget, longNames ...string) []Problem {
	var ps []Problem
	add := func(format string, a ...any) {
		ps = append(ps, Problem{Card: c.Summary, Problem: fmt.Sprintf(format, a...)})
	}
	if n := utf8.RuneCountInString(c.Summary); n > b.Summary {
		add("summary is %d characters, budget %d", n, b.Summary)
	}
	detail, err := panel.RenderedText(c.Detail)
	if err != nil {
		add("%v", err)
	}
	if n := utf8.RuneCountInString(detail); n > b.Detail {
		add("detail renders to %d characters, budget %d", n, b.Detail)
	}
	texts := map[string]string{"summary": c.Summary, "detail": detail, "source label": c.Source.Label}
	for i, s := range c.Suggestions {
		texts[fmt.Sprintf("suggestion %d label", i+1)] = s.Label
		for j, a := range s.Actions {
			texts[fmt.Sprintf("suggestion %d action %d", i+1, j+1)] = a.Description
		}
		if m := reLOINCName.FindString(s.Label); m != "" {
			add("suggestion label %q holds a LOINC long name (%q)", s.Label, m)
		}
		for _, n := range longNames {
			if n != "" && strings.Contains(strings.ToLower(s.Label), strings.ToLower(n)) {
				add("suggestion label %q holds the LOINC long name %q", s.Label, n)
			}
		}
	}
	for i, l := range c.Links {
		texts[fmt.Sprintf("link %d label", i+1)] = l.Label
	}
	for where, s := range texts {
		if m := reFHIRID.FindString(s); m != "" {
			add("%s shows a FHIR id (%q)", where, m)
		}
		if m := reFileName.FindString(s); m != "" {
			add("%s shows a file name (%q)", where, m)
		}
	}
	return ps
}

// Response checks every card of one response with Card, that the cards come
// critical, then warning, then info, and, when typical is true (a patient
// whose record is not unusually long), that there are at most b.Cards.
func Response(cards []cdshooks.Card, b Budget, typical bool, longNames ...string) []Problem {
	var ps []Problem
	for i, c := range cards {
		ps = append(ps, Card(c, b, longNames...)...)
		if i > 0 && c.Indicator.Urgency() > cards[i-1].Indicator.Urgency() {
			ps = append(ps, Problem{Card: c.Summary, Problem: fmt.Sprintf("%s card after a %s one", c.Indicator, cards[i-1].Indicator)})
		}
	}
	if typical && len(cards) > b.Cards {
		ps = append(ps, Problem{Card: "(response)", Problem: fmt.Sprintf("%d cards, budget %d", len(cards), b.Cards)})
	}
	return ps
}
