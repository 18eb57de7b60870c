package legcramps

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/knowledge"
	"github.com/cramp-cds/cramp-cds/knowledge/page"
)

// The medications card: every current drug that can cause cramps, and how
// the drugs and the strength of their tie to cramps are named (the order
// card names them the same way).

// medicationsCard names every current drug that can cause cramps, one line
// per drug as the record names it, so the clinician reviews the list once.
func (r cardRenderer) medicationsCard(ms []knowledge.MedicationFinding) cdshooks.Card {
	names := make([]string, 0, len(ms))
	var evidence []knowledge.Citation
	lowConfidence := false
	// One line per distinct record text: a combination product holds several
	// cramp-inducing drugs, and a long record repeats the same prescription.
	type drugLine struct {
		text, classes, date string
		reported            string // reportedBy of a class not strongly tied to cramps
		byName              bool
		entries             int
	}
	var lines []*drugLine
	moreEntries := 0 // entries of drugs beyond the lines shown
	for _, m := range ms {
		names = append(names, drugName(m))
		evidence = append(evidence, m.Evidence()...)
		lowConfidence = lowConfidence || m.LowConfidence()
		for _, e := range m.Entries {
			i := slices.IndexFunc(lines, func(l *drugLine) bool { return strings.EqualFold(l.text, e.Text) })
			if i < 0 && len(lines) == maxDrugsShown {
				// Only counted: the card shows no more lines, and a record of
				// thousands of entries must cost no more than a short one.
				moreEntries++
				continue
			}
			if i < 0 {
				l := &drugLine{text: e.Text, classes: className(m.Class)}
				if since := e.Medication.Effective.Start; !since.IsZero() {
					l.date = "since " + day(since)
				} else if asserted := e.Medication.Asserted; !asserted.IsZero() {
					l.date = "recorded " + day(asserted)
				}
				lines = append(lines, l)
				i = len(lines) - 1
			}
			l := lines[i]
			if c := className(m.Class); !strings.Contains(l.classes, c) {
				l.classes += ", " + c
			}
			l.byName = l.byName || e.Match.LowConfidence
			if l.reported == "" && m.Strength() != knowledge.StrengthStrong {
				l.reported = reportedBy(r.kb, m.Class.StrengthEvidence)
			}
			l.entries++
		}
	}
	var d strings.Builder
	d.WriteString("Current drugs that can cause leg cramps:\n")
	for _, l := range lines {
		fmt.Fprintf(&d, "- **%s** (%s", recordText(l.text), cdshooks.Markdown(l.classes))
		switch {
		case l.entries > 1:
			fmt.Fprintf(&d, ", %d entries", l.entries)
		case l.date != "":
			d.WriteString(", " + l.date)
		}
		if l.reported != "" {
			d.WriteString("; " + cdshooks.Markdown(l.reported))
		}
		if l.byName {
			d.WriteString("; recognised by name only")
		}
		d.WriteString(")\n")
	}
	if moreEntries > 0 {
		fmt.Fprintf(&d, "- and %d more entries on the medication list\n", moreEntries)
	}
	d.WriteString("\nReview whether one contributes before treating the cramps.")
	if lowConfidence {
		d.WriteString(" Check the drugs recognised by name.")
	}
	d.WriteString("\n")
	r.writeSources(&d, evidence)

	summary := upperFirst(names[0]) + " can cause leg cramps: review it"
	anchor := page.ClassAnchor(ms[0].Class.ID)
	if len(ms) > 1 {
		summary = listSummary("Drugs that can cause leg cramps: ", names, " drugs on record can cause leg cramps")
		anchor = page.AnchorMedications
	}
	// A weak association alone is information, and says it is only reported.
	indicator := cdshooks.IndicatorInfo
	for _, m := range ms {
		if m.Strength() == knowledge.StrengthStrong {
			indicator = cdshooks.IndicatorWarning
		}
	}
	if indicator == cdshooks.IndicatorInfo {
		summary = upperFirst(names[0]) + ": leg cramps reported (weak evidence)"
		if len(ms) > 1 {
			summary = listSummary("Leg cramps reported (weak evidence) with: ", names, " drugs on record are reported to cause leg cramps")
		}
	}
	c := r.card(r.ids.Card(TopicMedication, "", medicationsAbout(ms)...), TopicMedication, summary, d.String(), indicator, anchor, "Drugs that cause cramps: evidence")
	c.OverrideReasons = MedicationOverrideReasons()
	return c
}

// drugName names a cramp-inducing ingredient, or its class when only the class is known.
func drugName(m knowledge.MedicationFinding) string {
	if m.Ingredient != nil {
		return m.Ingredient.Name
	}
	return lowerFirst(m.Class.Name)
}

// reportedBy says, for a drug class or condition the seeds do not tie
// strongly to cramps, who reports the tie (cites: its strength evidence):
// the primary sources the citations name, the clinical summaries that name
// no primary source for it (seed 000 cites numbered references it never
// lists), and patient-information pages, so that the card never grades a
// review as a leaflet or a leaflet as a study.
func reportedBy(kb *knowledge.Base, cites []knowledge.Citation) string {
	var parts, summaries []string
	leaflets := false
	for _, cite := range cites {
		switch {
		case cite.Primary:
			if !slices.Contains(parts, cite.Cite) {
				parts = append(parts, cite.Cite)
			}
		case isPatientInformation(kb.Source(cite.Seed)):
			leaflets = true
		case !slices.Contains(summaries, cite.Seed):
			summaries = append(summaries, cite.Seed)
		}
	}
	switch len(summaries) {
	case 0:
	case 1:
		parts = append(parts, "one clinical summary")
	default:
		parts = append(parts, fmt.Sprintf("%d clinical summaries", len(summaries)))
	}
	if leaflets {
		parts = append(parts, "patient leaflets")
	}
	if len(parts) == 1 {
		return "reported by " + parts[0] + " only"
	}
	return "reported by " + strings.Join(parts, " and ")
}

// isPatientInformation reports whether a seed is a page written for patients.
func isPatientInformation(src *knowledge.Source) bool {
	return src != nil && strings.HasPrefix(src.Kind, "patient information")
}

// className is a drug class's name for a panel line: lower-cased, without
// its parenthesised gloss ("statins", not "Statins (HMG-CoA reductase
// inhibitors)").
func className(c *knowledge.DrugClass) string {
	return lowerFirst(withoutGloss(c.Name))
}
