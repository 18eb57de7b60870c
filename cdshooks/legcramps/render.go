package legcramps

import (
	"cmp"
	"slices"
	"strings"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
	"github.com/cramp-cds/cramp-cds/knowledge"
	"github.com/cramp-cds/cramp-cds/knowledge/page"
)

// The patient-view cards: this file turns the knowledge rules' Findings into the nocturnal-leg-cramps
// cards. It decides wording and layout only, never clinical meaning.
//
// A clinician reads the cards in a narrow side panel, in about five seconds
// each, so every card keeps to a budget (tests measure it over every fixture):
// a summary of at most maxSummary characters, a detail of at most 600
// characters of rendered text, and at most three cards for a typical patient.
// So the cards are few and consolidated:
//   - abnormal results: one card for them all, except that a critical
//     result gets a card of its own, first;
//   - medications: one card naming every current drug that can cause cramps;
//   - look-alike disorders on record: one card, as they change the history to take;
//   - missing work-up labs: one card with one suggestion per order a
//     laboratory would take (a panel where one covers several of the tests,
//     else the test), any of them accepted together ordering no test twice;
//   - associated conditions: one line on another card (they rarely change
//     what is done today); a card of their own only when no other card speaks.
//
// Cards are ordered critical, then warning, then info. Each names what it is
// about in the record's own words (drug text, condition text, value with unit
// and date), never by FHIR id, and ends with one line naming the primary
// sources, each linked to its entry on the knowledge page, where the seed
// document, reference and line are.

// Each card kind is rendered in its own file (card_*.go); the text they
// share is formatted in format.go.

// maxSummary is the panel's budget for a summary, in characters: one line of
// a narrow side panel (the protocol allows up to cdshooks.MaxSummary).
const maxSummary = 90

// Caps on how much of a list a card shows; the knowledge page and the record
// hold the rest.
const (
	maxDrugsShown      = 4
	maxSourcesShown    = 3
	maxFeaturesShown   = 1
	maxConditionsShown = 4
	maxRecordTextRunes = 60
)

// cardRenderer renders the findings of one evaluation.
type cardRenderer struct {
	kb        *knowledge.Base
	sources   kit.Sources
	ids       *kit.CardIDs
	patientID string
	findings  *knowledge.Findings
	// panels are the laboratory panels the work-up may be ordered as.
	panels []*knowledge.Panel
}

func (r cardRenderer) cards() []cdshooks.Card {
	f := r.findings
	cards := []cdshooks.Card{}
	if !f.Triggered {
		return cards
	}
	// A card snoozed for this patient (see cardIDs) is left out.
	add := func(cs ...cdshooks.Card) {
		for _, c := range cs {
			if r.ids.Shown(c.UUID) {
				cards = append(cards, c)
			}
		}
	}
	for _, w := range f.DrugWarnings {
		add(r.drugWarningCard(w))
	}
	if len(f.Medications) > 0 {
		add(r.medicationsCard(f.Medications))
	}
	add(r.abnormalLabCards(f.AbnormalLabs)...)
	if len(f.Differentials) > 0 {
		add(r.differentialsCard(f.Differentials))
	}
	if c, ok := r.missingLabsCard(f.MissingLabs, f.PendingLabs); ok {
		add(c)
	}
	// After the snoozed cards are left out, so the line lands on a card shown.
	if len(f.Associated) > 0 {
		cards = r.withAssociated(cards, f.Associated)
	}
	// Most urgent first; within an urgency, the order above.
	slices.SortStableFunc(cards, func(a, b cdshooks.Card) int { return cmp.Compare(b.Indicator.Urgency(), a.Indicator.Urgency()) })
	return cards
}

// card assembles a card of this evaluation about one knowledge-page entry;
// uuid is the card's (see cardIDs.card).
func (r cardRenderer) card(uuid, topic, summary, detail string, indicator cdshooks.Indicator, anchor, linkLabel string) cdshooks.Card {
	return newCard(r.sources, uuid, topic, summary, detail, indicator, anchor, linkLabel)
}

// newCard assembles a card of topic about one knowledge-page entry (anchor):
// its source and its one link point there.
func newCard(sources kit.Sources, uuid, topic, summary, detail string, indicator cdshooks.Indicator, anchor, linkLabel string) cdshooks.Card {
	return sources.Card(uuid, topic, fitSummary(summary), fitDetail(detail, indicator), indicator, anchor, linkLabel)
}

// sourcesLead starts the sources line of every card.
const sourcesLead = "Sources: "

// insertBeforeSources adds a paragraph to a detail, before its sources line.
func insertBeforeSources(detail, paragraph string) string {
	if i := strings.LastIndex(detail, "\n"+sourcesLead); i >= 0 {
		return detail[:i] + "\n" + paragraph + "\n" + detail[i:]
	}
	return detail + "\n" + paragraph + "\n"
}

// writeSources appends the sources line of cs to a detail.
func (r cardRenderer) writeSources(d *strings.Builder, cs []knowledge.Citation) {
	d.WriteString(sourcesLine(cs))
}

// sourcesLine is the last paragraph of a card: the distinct short citations
// of cs (publications first, then seed documents by their own titles), at
// most maxSourcesShown. It is plain text: a link inside the detail would take
// the EHR's whole tab away, so the card's one link (kit.Sources.Card) opens
// the knowledge page, where each source has its entry. It is "" without
// citations.
func sourcesLine(cs []knowledge.Citation) string {
	cites := page.Cites(cs)
	if len(cites) == 0 {
		return ""
	}
	// A named primary source first: what a clinician recognises.
	slices.SortStableFunc(cites, func(a, b knowledge.Citation) int {
		return cmp.Compare(boolRank(a.Primary), boolRank(b.Primary))
	})
	cites = cites[:min(len(cites), maxSourcesShown)]
	parts := make([]string, len(cites))
	for i, c := range cites {
		parts[i] = cdshooks.Markdown(c.Cite)
	}
	return "\n" + sourcesLead + strings.Join(parts, "; ") + "\n"
}

func boolRank(first bool) int {
	if first {
		return 0
	}
	return 1
}
