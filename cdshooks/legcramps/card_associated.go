package legcramps

import (
	"strings"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/knowledge"
	"github.com/cramp-cds/cramp-cds/knowledge/page"
)

// Associated conditions: a line on another card, or a card of their own.

// withAssociated puts the associated conditions on record in one line on the
// first info card (else the last card), or in a card of their own when no
// other card speaks.
func (r cardRenderer) withAssociated(cards []cdshooks.Card, cs []knowledge.ConditionFinding) []cdshooks.Card {
	entries := distinctTexts{max: maxConditionsShown}
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = lowerFirst(c.Condition.Name)
		graded := ""
		if c.Condition.Strength == knowledge.StrengthReported {
			graded = " (" + cdshooks.Markdown(reportedBy(r.kb, c.Condition.Evidence)) + ")"
		}
		for _, e := range c.Entries {
			entries.add(recordText(e.Text) + graded)
		}
	}
	line := associatedLead + entries.join("; ", "more entries") + "."
	// Made even when the line goes on another card, so a snooze lookup asks
	// about it before a render where that card is snoozed.
	uuid := r.ids.Card(TopicAssociatedCondition, "", conditionsAbout(cs)...)
	if len(cards) == 0 {
		var d strings.Builder
		// Seed 000 line 25: "Multiple underlying diseases increase cramp frequency".
		d.WriteString(line + "\n\nThese conditions make cramps more frequent.\n")
		var evidence []knowledge.Citation
		for _, c := range cs {
			evidence = append(evidence, c.Evidence(false)...)
		}
		r.writeSources(&d, evidence)
		summary := listSummary("Associated with leg cramps: ", names, " conditions on record are associated with leg cramps")
		c := r.card(uuid, TopicAssociatedCondition, summary, d.String(), cdshooks.IndicatorInfo,
			page.AnchorConditions, "Conditions associated with cramps")
		if !r.ids.Shown(uuid) {
			return cards
		}
		return []cdshooks.Card{c}
	}
	host := len(cards) - 1
	for i, c := range cards {
		if c.Indicator == cdshooks.IndicatorInfo {
			host = i
			break
		}
	}
	cards[host].Detail = fitDetail(insertBeforeSources(cards[host].Detail, line), cards[host].Indicator)
	return cards
}
