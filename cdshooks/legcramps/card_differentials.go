package legcramps

import (
	"fmt"
	"strings"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/knowledge"
	"github.com/cramp-cds/cramp-cds/knowledge/page"
)

// The differentials card: look-alike disorders on record.

// differentialsCard lists the look-alike disorders on record, with what
// tells each apart from cramps.
func (r cardRenderer) differentialsCard(cs []knowledge.ConditionFinding) cdshooks.Card {
	names := make([]string, len(cs))
	var evidence []knowledge.Citation
	var d strings.Builder
	for i, c := range cs {
		names[i] = c.Condition.Name
		diff := c.Condition.Differential
		evidence = append(evidence, c.Evidence(true)...)
		fmt.Fprintf(&d, "**%s** is on record (%s).", cdshooks.Markdown(c.Condition.Name), conditionEntries(c.Entries))
		for _, s := range diff.Features[:min(len(diff.Features), maxFeaturesShown)] {
			fmt.Fprintf(&d, " %s", cdshooks.Markdown(s.Text))
		}
		if diff.Question != nil && len(cs) == 1 {
			fmt.Fprintf(&d, " Ask: *%s*", cdshooks.Markdown(diff.Question.Text))
		}
		d.WriteString("\n")
	}
	r.writeSources(&d, evidence)
	summary := names[0] + " on record: tell it apart from leg cramps"
	anchor := page.ConditionAnchor(cs[0].Condition.ID)
	if len(cs) > 1 {
		summary = listSummary("Tell apart from leg cramps: ", names, " look-alike disorders on record")
		anchor = page.AnchorDifferentials
	}
	return r.card(r.ids.Card(TopicDifferential, "", conditionsAbout(cs)...), TopicDifferential, summary, d.String(), cdshooks.IndicatorInfo, anchor, "How to tell them apart")
}
