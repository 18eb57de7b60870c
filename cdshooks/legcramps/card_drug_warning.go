package legcramps

import (
	"fmt"
	"strings"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/knowledge"
	"github.com/cramp-cds/cramp-cds/knowledge/page"
)

// The drug-warning card: a drug on record warned against for leg cramps
// (quinine, FDA 2010), a standard-practice fact beyond the seeds.

// drugWarningCard names the warned-against drug on record with the warning
// and its public source (issue 26 item 3).
func (r cardRenderer) drugWarningCard(w knowledge.DrugWarningFinding) cdshooks.Card {
	var d strings.Builder
	texts := make([]string, 0, len(w.Entries))
	for _, e := range w.Entries[:min(len(w.Entries), maxDrugsShown)] {
		texts = append(texts, "**"+cdshooks.Markdown(recordText(e.Text))+"**")
	}
	fmt.Fprintf(&d, "On record: %s. %s\n\n", strings.Join(texts, ", "), cdshooks.Markdown(w.Warning.Warning))
	fmt.Fprintf(&d, "Source: [FDA Drug Safety Communication 2010](%s) (standard practice; not in the cramp sources).\n", w.Warning.URL)
	summary := fitSummary(w.Warning.Name + " on record: the FDA warns against it for leg cramps")
	return r.card(r.ids.Card(TopicMedication, "warning:"+w.Warning.ID, drugWarningAbout(w)...), TopicMedication, summary, d.String(),
		cdshooks.IndicatorWarning, page.AnchorMedications, "Drugs that cause cramps: evidence")
}

// drugWarningAbout is the warning and every entry holding the drug, sorted.
func drugWarningAbout(w knowledge.DrugWarningFinding) []string {
	parts := []string{"warning:" + w.Warning.ID}
	for _, e := range w.Entries {
		parts = append(parts, e.Text)
	}
	return parts
}
