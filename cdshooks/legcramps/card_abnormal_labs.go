package legcramps

import (
	"fmt"
	"strings"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/knowledge"
	"github.com/cramp-cds/cramp-cds/knowledge/page"
)

// The abnormal-results cards: one for the results that may worsen the
// cramps, and one of its own for each critical result.

// abnormalLabCards gives each critical result a card of its own, and puts
// the other results that may worsen cramps together in one card.
func (r cardRenderer) abnormalLabCards(as []knowledge.AbnormalLabFinding) []cdshooks.Card {
	var cards []cdshooks.Card
	var rest []knowledge.AbnormalLabFinding
	for _, a := range as {
		if resultIndicator(a) == cdshooks.IndicatorCritical {
			cards = append(cards, r.abnormalLabCard(a.Lab.ID, []knowledge.AbnormalLabFinding{a}))
		} else {
			rest = append(rest, a)
		}
	}
	if len(rest) > 0 {
		cards = append(cards, r.abnormalLabCard("", rest))
	}
	return cards
}

// resultIndicator is how urgent one abnormal result is: critical for a
// critical value, else a warning.
func resultIndicator(a knowledge.AbnormalLabFinding) cdshooks.Indicator {
	if a.Severity == knowledge.SeverityCritical {
		return cdshooks.IndicatorCritical
	}
	return cdshooks.IndicatorWarning
}

// abnormalLabCard shows results beyond a threshold that matters for cramps,
// each with its value, unit, date, what it means, and the laboratory's own
// range and flag when it gave them.
func (r cardRenderer) abnormalLabCard(key string, as []knowledge.AbnormalLabFinding) cdshooks.Card {
	var d strings.Builder
	var evidence []knowledge.Citation
	values := make([]string, len(as))
	indicator := cdshooks.IndicatorInfo
	for i, a := range as {
		o := a.Result.Observation
		value := quantityText(*o.Value)
		values[i] = lowerFirst(a.Lab.Name) + " " + value
		evidence = append(evidence, a.Evidence()...)
		if ind := resultIndicator(a); ind.Urgency() > indicator.Urgency() {
			indicator = ind
		}
		if len(as) > 1 {
			d.WriteString("- ")
		}
		fmt.Fprintf(&d, "**%s %s** on %s: %s (decided by the %s", cdshooks.Markdown(a.Lab.Name), cdshooks.Markdown(value),
			day(o.Effective), cdshooks.Markdown(a.Finding), a.Basis)
		if t := a.Threshold; t.Op != "" && a.Basis == knowledge.BasisThreshold {
			fmt.Fprintf(&d, " %s %s %s", cdshooks.Markdown(t.Op), number(t.Value), cdshooks.Markdown(unitText(a.Lab.CanonicalUnit)))
		}
		if c := a.Critical; c != nil && a.Basis == knowledge.BasisCriticalLimit {
			fmt.Fprintf(&d, " %s %s %s", cdshooks.Markdown(c.Op), number(c.Value), cdshooks.Markdown(unitText(a.Lab.CanonicalUnit)))
		}
		if a.Converted {
			fmt.Fprintf(&d, "; %s%s %s here", cdshooks.Markdown(o.Value.Comparator), number(a.Value), cdshooks.Markdown(unitText(a.Lab.CanonicalUnit)))
		}
		if rng := rangeText(o.ReferenceRange); rng != "" {
			fmt.Fprintf(&d, "; laboratory range %s", cdshooks.Markdown(rng))
		}
		if flags := interpretationText(o.Interpretation); flags != "" {
			fmt.Fprintf(&d, "; flagged %s", cdshooks.Markdown(flags))
		}
		d.WriteString(")")
		if c := a.Calcium; c != nil {
			switch {
			case c.Ionized:
				d.WriteString("; ionized calcium, which is never corrected for albumin")
			case c.NormalAlbumin != nil:
				fmt.Fprintf(&d, "; total calcium as measured: albumin %s on %s is not low, so not corrected",
					cdshooks.Markdown(quantityText(*c.NormalAlbumin.Observation.Value)), day(c.NormalAlbumin.Observation.Effective))
			case c.Albumin != nil:
				fmt.Fprintf(&d, "; corrected for albumin %s g/dL on %s: %s %s", number(c.AlbuminValue),
					day(c.Albumin.Observation.Effective), number(c.Corrected), cdshooks.Markdown(unitText(a.Lab.CanonicalUnit)))
			default:
				fmt.Fprintf(&d, "; total calcium as measured, no albumin result within %d days to correct it", c.WithinDays)
			}
		}
		for _, rel := range a.Related[:min(len(a.Related), maxConditionsShown)] {
			if v := rel.Observation.Value; v != nil {
				fmt.Fprintf(&d, "; same draw: %s %s", r.resultName(rel), cdshooks.Markdown(quantityText(*v)))
			}
		}
		if a.Lab.Chronic != nil && a.Chronic == nil {
			d.WriteString("; one reduced result is not chronic kidney disease")
			if p := r.kb.Pearl("ckd-hemodialysis"); p != nil {
				evidence = append(evidence, p.Evidence...)
			}
		}
		if len(a.SuspectedDrugs) > 0 {
			names := make([]string, 0, len(a.SuspectedDrugs))
			for _, m := range a.SuspectedDrugs[:min(len(a.SuspectedDrugs), maxDrugsShown)] {
				names = append(names, cdshooks.Markdown(drugName(m)))
			}
			fmt.Fprintf(&d, "; may be caused by %s on record", strings.Join(names, ", "))
		}
		if len(a.OtherDrugs) > 0 {
			names := make([]string, 0, len(a.OtherDrugs))
			for _, e := range a.OtherDrugs[:min(len(a.OtherDrugs), maxDrugsShown)] {
				names = append(names, cdshooks.Markdown(recordText(e.Text)))
			}
			verb := "raise"
			if a.Direction == "low" {
				verb = "lower"
			}
			fmt.Fprintf(&d, "; %s on record can %s it", strings.Join(names, ", "), verb)
		}
		d.WriteString("\n")
	}
	a := as[0]
	if action := criticalAction(a); len(as) == 1 && action != "" {
		// A critical value asks for action now, not for the seed's caution
		// about cramps.
		fmt.Fprintf(&d, "\nThe latest result in the look-back window. %s\n", cdshooks.Markdown(action))
	} else {
		// Seed 000: electrolytes "can exacerbate cramps" (line 20), and
		// "correction alone may not resolve cramps" (line 23).
		d.WriteString("\nThe latest result in the look-back window. Correcting an abnormal result alone may not resolve the cramps.\n")
	}
	r.writeSources(&d, evidence)
	value := quantityText(*a.Result.Observation.Value)
	if c := a.Calcium; c != nil && !c.Ionized && c.Albumin != nil {
		// The value judged, in the one line many clinicians read.
		value += fmt.Sprintf(" (corrected %s %s)", number(c.Corrected), unitText(a.Lab.CanonicalUnit))
	}
	summary := fmt.Sprintf("%s %s on %s: %s", a.Lab.Name, value, day(a.Result.Observation.Effective), a.Finding)
	if resultIndicator(a) == cdshooks.IndicatorCritical {
		summary = "Critical: " + summary
	}
	anchor, link := page.LabAnchor(a.Lab.ID), "About "+lowerFirst(a.Lab.Name)+" and cramps"
	if len(as) > 1 {
		summary = listSummary("Results that may worsen cramps: ", values, " results that may worsen the cramps")
		anchor, link = page.AnchorWorkup, "About these results and cramps"
	}
	return r.card(r.ids.Card(TopicAbnormalLab, key, abnormalLabsAbout(as)...), TopicAbnormalLab, summary, d.String(), indicator, anchor, link)
}

// resultName names a result by the lab it is (its name, as on our cards),
// falling back to the record's own text for a code we do not know: a
// LOINC long name or a bare code means nothing at a glance.
func (r cardRenderer) resultName(e knowledge.ObservationEntry) string {
	for _, c := range e.Observation.Code.Codings {
		if lab := r.kb.LabFor(c); lab != nil {
			return cdshooks.Markdown(lowerFirst(lab.Name))
		}
	}
	return recordText(e.Text)
}

// criticalAction is what a critical result asks a clinician to do: the action
// of the critical limit it crossed, else (a laboratory's HH or LL flag) that of
// the lab's critical limit on its side; "" for a result that is not critical.
func criticalAction(a knowledge.AbnormalLabFinding) string {
	if a.Severity != knowledge.SeverityCritical {
		return ""
	}
	if a.Critical != nil && a.Critical.Action != "" {
		return a.Critical.Action
	}
	for _, c := range a.Lab.Critical {
		low := c.Op == "<" || c.Op == "<="
		if (a.Direction == "low") == low && a.Direction != "" {
			return c.Action
		}
	}
	return "Repeat or confirm the result and act on the laboratory's critical value."
}
