package legcramps

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
	"github.com/cramp-cds/cramp-cds/knowledge/page"
)

// This file turns the knowledge rules' Findings into the nocturnal-leg-cramps
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
	sources   SourceBuilder
	ids       *cardIDs
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
			if r.ids.shown(c.UUID) {
				cards = append(cards, c)
			}
		}
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
func newCard(sources SourceBuilder, uuid, topic, summary, detail string, indicator cdshooks.Indicator, anchor, linkLabel string) cdshooks.Card {
	c := cdshooks.Card{
		UUID:      uuid,
		Summary:   fitSummary(summary),
		Detail:    detail,
		Indicator: indicator,
		Source:    sources.Source(topic, anchor),
	}
	if c.Source.URL != "" {
		c.Links = []cdshooks.Link{{Label: linkLabel, URL: c.Source.URL, Type: cdshooks.LinkAbsolute}}
	}
	return c
}

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
		d.WriteString("\n")
	}
	// Seed 000: electrolytes "can exacerbate cramps" (line 20), and
	// "correction alone may not resolve cramps" (line 23).
	d.WriteString("\nThe latest result in the look-back window. Correcting an abnormal result alone may not resolve the cramps.\n")
	r.writeSources(&d, evidence)
	a := as[0]
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
	return r.card(r.ids.card(TopicAbnormalLab, key, abnormalLabsAbout(as)...), TopicAbnormalLab, summary, d.String(), indicator, anchor, link)
}

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
	c := r.card(r.ids.card(TopicMedication, "", medicationsAbout(ms)...), TopicMedication, summary, d.String(), indicator, anchor, "Drugs that cause cramps: evidence")
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

// withoutGloss drops a trailing parenthesised gloss from a name.
func withoutGloss(name string) string {
	if i := strings.Index(name, " ("); i > 0 {
		return name[:i]
	}
	return name
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
	return r.card(r.ids.card(TopicDifferential, "", conditionsAbout(cs)...), TopicDifferential, summary, d.String(), cdshooks.IndicatorInfo, anchor, "How to tell them apart")
}

// missingLabsCard proposes the work-up tests with no recent result that are
// not already ordered, on record or by a suggestion accepted lately (see
// acceptedWorkups). ok is false when there is nothing to propose. Its uuid is
// about every missing work-up, ordered or not. The work-ups whose result is
// still pending are listed as such, never proposed.
func (r cardRenderer) missingLabsCard(ms []knowledge.MissingLabFinding, pending []knowledge.PendingLabFinding) (cdshooks.Card, bool) {
	if len(ms) == 0 {
		return cdshooks.Card{}, false
	}
	uuid := r.ids.card(TopicMissingLabs, "", missingLabsAbout(ms)...)
	accepted := r.acceptedWorkups(ms)
	var orderable []knowledge.MissingLabFinding
	for _, m := range ms {
		if m.Ordered == nil && !accepted[m.Workup] {
			orderable = append(orderable, m)
		}
	}
	if len(orderable) == 0 {
		return cdshooks.Card{}, false
	}
	var evidence []knowledge.Citation
	var d strings.Builder
	months := ms[0].Workup.LookbackMonths
	// The sources disagree on testing: say so, and cite both sides.
	d.WriteString("Sources differ: test everyone, or only when a cause is suspected.\n\n")
	for _, id := range []string{"check-metabolic-labs", "labs-when-suspected", "diagnosis-from-symptoms"} {
		if p := r.kb.Pearl(id); p != nil {
			evidence = append(evidence, p.Evidence...)
		}
	}
	fmt.Fprintf(&d, "No result under the recognised codes in %d months (since %s):\n", months, day(ms[0].Since))
	names := make([]string, 0, len(orderable))
	for _, m := range ms {
		wu := m.Workup
		evidence = append(evidence, m.Evidence()...)
		fmt.Fprintf(&d, "- %s: ", cdshooks.Markdown(withoutGloss(wu.Name)))
		switch {
		case m.Ordered != nil:
			d.WriteString("already ordered")
			if t := m.Ordered.ServiceRequest.Authored; !t.IsZero() {
				d.WriteString(" " + day(t))
			}
		case accepted[wu]:
			d.WriteString("order accepted lately")
		case m.Last != nil:
			d.WriteString("last ")
			if v := m.Last.Observation.Value; v != nil {
				d.WriteString(cdshooks.Markdown(quantityText(*v)) + " ")
			}
			d.WriteString("on " + day(m.Last.Observation.Effective))
		default:
			d.WriteString("none")
		}
		d.WriteString("\n")
		if m.Ordered == nil && !accepted[wu] {
			names = append(names, wu.Short)
		}
	}
	for _, p := range pending {
		o := p.Result.Observation
		fmt.Fprintf(&d, "- %s: result pending (%s", cdshooks.Markdown(withoutGloss(p.Workup.Name)), cdshooks.Markdown(o.Status))
		if !o.Effective.IsZero() {
			d.WriteString(", " + day(o.Effective))
		}
		d.WriteString(")\n")
	}
	r.writeSources(&d, evidence)
	summary := listSummary("Consider cramp work-up: no recognised result for ", names, " cramp work-up tests to consider: no recognised result")
	c := r.card(uuid, TopicMissingLabs, summary, d.String(), cdshooks.IndicatorInfo, page.AnchorWorkup, "Why these tests")
	c.Suggestions = r.orderSuggestions(orderable)
	c.SelectionBehavior = cdshooks.SelectAny
	c.OverrideReasons = OverrideReasons(OverrideOrderedElsewhere, OverrideNotRelevant)
	return c, true
}

// acceptedWorkups are the work-ups of ms whose order was accepted lately:
// their own suggestion is snoozed (see Memory.feedback), or a panel's is that
// covers them (the panel measures every test it covers, whichever of them the
// card proposed then). Every uuid asked is made here, before the snooze
// lookup, which asks only the uuids made.
func (r cardRenderer) acceptedWorkups(ms []knowledge.MissingLabFinding) map[*knowledge.Workup]bool {
	accepted := map[*knowledge.Workup]bool{}
	for _, p := range r.panels {
		if !r.ids.shown(r.ids.suggestion(TopicMissingLabs, "", panelSuggestionKey(p))) {
			for _, wu := range p.Resolved {
				accepted[wu] = true
			}
		}
	}
	for _, m := range ms {
		if m.Ordered == nil && !r.ids.shown(r.ids.suggestion(TopicMissingLabs, "", m.Workup.ID)) {
			accepted[m.Workup] = true
		}
	}
	return accepted
}

// panelSuggestionKey names a panel's suggestion by the panel, so accepting
// it snoozes the tests the panel covers and no others.
func panelSuggestionKey(p *knowledge.Panel) string { return "panel:" + p.ID }

// orderSuggestions are the orders a laboratory would take for the orderable
// tests: a panel where it covers two or more of them, then one per test no
// panel covers. No two order the same test, so any set of them a clinician
// accepts (selectionBehavior any) orders each test once; each is recommended
// when the record points to a test it orders (Workup.RecommendWhen).
func (r cardRenderer) orderSuggestions(ms []knowledge.MissingLabFinding) []cdshooks.Suggestion {
	var suggestions []cdshooks.Suggestion
	covered := map[*knowledge.Workup]bool{}
	for _, p := range r.panels {
		var in []knowledge.MissingLabFinding
		for _, m := range ms {
			if slices.Contains(p.Resolved, m.Workup) && !covered[m.Workup] {
				in = append(in, m)
			}
		}
		if len(in) < 2 {
			continue
		}
		tests := make([]string, len(in))
		recommended := false
		for i, m := range in {
			covered[m.Workup] = true
			tests[i] = m.Workup.Short
			recommended = recommended || m.Recommended
		}
		what := lowerFirst(p.Name) + " (" + strings.Join(tests, ", ") + ")"
		suggestions = append(suggestions, r.orderSuggestion(panelSuggestionKey(p), what, "a "+what, recommended, p.Order, p.Name))
	}
	for _, m := range ms {
		if wu := m.Workup; !covered[wu] {
			suggestions = append(suggestions, r.orderSuggestion(wu.ID, wu.Short, wu.Short, m.Recommended, wu.Order, wu.Name))
		}
	}
	return suggestions
}

// orderSuggestion proposes one draft order of code, named text: key is what
// its uuid is about, label and ordered how its button and its description
// name what it orders.
func (r cardRenderer) orderSuggestion(key, label, ordered string, recommended bool, code knowledge.Code, text string) cdshooks.Suggestion {
	description := "Propose a draft order for " + ordered + ", for review and signature"
	if utf8.RuneCountInString(description) > maxSummary {
		// A panel and its tests: what is ordered matters more than the
		// reminder a draft already carries.
		description = "Propose a draft order for " + ordered
	}
	return cdshooks.Suggestion{
		Label:         fitSummary("Order " + label),
		UUID:          r.ids.suggestion(TopicMissingLabs, "", key),
		IsRecommended: recommended,
		Actions: []cdshooks.Action{{
			Type:        cdshooks.ActionCreate,
			Description: fitSummary(description),
			Resource:    r.serviceRequest(code, text),
		}},
	}
}

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
	line := "Also on record, associated with cramps: " + entries.join("; ", "more entries") + "."
	// Made even when the line goes on another card, so a snooze lookup asks
	// about it before a render where that card is snoozed.
	uuid := r.ids.card(TopicAssociatedCondition, "", conditionsAbout(cs)...)
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
		if !r.ids.shown(uuid) {
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
	cards[host].Detail = insertBeforeSources(cards[host].Detail, line)
	return cards
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
	d.WriteString(sourcesLine(r.sources, cs))
}

// sourcesLine is the last paragraph of a card: the distinct short citations
// of cs (primary sources a seed's reference list names first), at most
// maxSourcesShown, each linked to its reference on the knowledge page when the
// page has a public URL. It is "" without citations.
func sourcesLine(sources SourceBuilder, cs []knowledge.Citation) string {
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
		if sources.KnowledgeURL != "" {
			parts[i] = "[" + parts[i] + "](" + page.URL(sources.KnowledgeURL, page.CitationAnchor(c)) + ")"
		}
	}
	return "\n" + sourcesLead + strings.Join(parts, "; ") + "\n"
}

func boolRank(first bool) int {
	if first {
		return 0
	}
	return 1
}

// listSummary is lead followed by the names, when that fits maxSummary;
// otherwise the count followed by countTail.
func listSummary(lead string, names []string, countTail string) string {
	s := lead + strings.Join(names, ", ")
	if utf8.RuneCountInString(s) <= maxSummary {
		return s
	}
	return strconv.Itoa(len(names)) + countTail
}

// fitSummary makes a summary, label or description of outside text (see
// cdshooks.PlainText) fit maxSummary characters, ending in "…" when cut.
func fitSummary(s string) string {
	return cutRunes(cdshooks.PlainText(s), maxSummary)
}

// cutRunes returns s cut to at most n characters, ending in "…" when cut. It
// reads no further into s than it keeps.
func cutRunes(s string, n int) string {
	count := 0
	for i := range s {
		if count == n-1 {
			if _, size := utf8.DecodeRuneInString(s[i:]); i+size == len(s) {
				return s // exactly n characters
			}
			return strings.TrimRight(s[:i], " ,;:") + "…"
		}
		count++
	}
	return s
}

// recordText is how the record names an entry, cut to a panel line and
// escaped for markdown (cdshooks.Markdown).
func recordText(text string) string {
	if text == "" {
		return "(unnamed entry)"
	}
	return cdshooks.Markdown(cutRunes(text, maxRecordTextRunes))
}

// conditionEntries lists record condition entries on one line: their text
// and onset, the first maxConditionsShown of them, the rest counted.
func conditionEntries(es []knowledge.ConditionEntry) string {
	parts := make([]string, 0, min(len(es), maxConditionsShown)+1)
	for _, e := range es[:min(len(es), maxConditionsShown)] {
		p := recordText(e.Text)
		if onset := e.Condition.Onset; !onset.IsZero() {
			p += " since " + day(onset)
		}
		parts = append(parts, p)
	}
	if more := len(es) - maxConditionsShown; more > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", more))
	}
	return strings.Join(parts, "; ")
}

// conditionTexts lists record condition entries by their distinct texts, the
// first maxConditionsShown of them, the rest counted.
func conditionTexts(es []knowledge.ConditionEntry) string {
	list := distinctTexts{max: maxConditionsShown}
	for _, e := range es {
		list.add(recordText(e.Text))
	}
	return list.join(", ", "more")
}

// serviceRequest is the FHIR R4 ServiceRequest a suggestion proposes: built
// here as plain JSON, never from golang-fhir-models structs.
type serviceRequest struct {
	ResourceType string            `json:"resourceType"`
	Status       string            `json:"status"`
	Intent       string            `json:"intent"`
	Category     []codeableConcept `json:"category"`
	Code         codeableConcept   `json:"code"`
	Subject      reference         `json:"subject"`
	ReasonRef    []reference       `json:"reasonReference,omitempty"`
}

type codeableConcept struct {
	Coding []coding `json:"coding"`
	Text   string   `json:"text,omitempty"`
}

type coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type reference struct {
	Reference string `json:"reference"`
}

// serviceRequest builds the draft order of a LOINC code, named text.
func (r cardRenderer) serviceRequest(order knowledge.Code, text string) []byte {
	sr := serviceRequest{
		ResourceType: "ServiceRequest",
		Status:       "draft",
		Intent:       "proposal",
		// The FHIR R4 ServiceRequest category example value set's "Laboratory procedure".
		Category: []codeableConcept{{Coding: []coding{{System: fhir.SystemSNOMED, Code: "108252007", Display: "Laboratory procedure"}}}},
		Code:     codeableConcept{Coding: []coding{{System: fhir.SystemLOINC, Code: order.Code, Display: order.Display}}, Text: text},
		Subject:  reference{Reference: "Patient/" + r.patientID},
	}
	for _, t := range r.findings.Triggers {
		if t.Ref != "" {
			sr.ReasonRef = append(sr.ReasonRef, reference{Reference: t.Ref})
		}
	}
	return marshalResource(sr)
}

// day formats a time as its calendar date where it was recorded.
func day(t time.Time) string {
	if t.IsZero() {
		return "unknown date"
	}
	return t.Format(time.DateOnly)
}

// number formats a value for reading: as written when it has at most three
// decimals, else rounded to three (never to fewer, so a value just under a
// threshold does not display as the threshold).
func number(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// quantityText is a value as the record holds it: comparator, value and unit.
func quantityText(q fhir.Quantity) string {
	unit := q.Unit
	if unit == "" {
		unit = q.Code
	}
	s := q.Comparator + number(q.Value)
	if unit != "" {
		s += " " + unitText(unit)
	}
	return s
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

// unitText is a UCUM unit as a clinician writes it: an annotation's braces
// dropped and its underscores spaced ("mL/min/{1.73_m2}" is "mL/min/1.73
// m²"), and the international unit without its brackets ("m[IU]/L" is
// "mIU/L"). Anything else is left as recorded.
func unitText(u string) string {
	if !strings.ContainsAny(u, "{[") {
		return u
	}
	u = strings.NewReplacer("[IU]", "IU", "[iU]", "IU").Replace(u)
	var b strings.Builder
	for {
		open := strings.IndexByte(u, '{')
		end := strings.IndexByte(u, '}')
		if open < 0 || end < open {
			b.WriteString(u)
			return b.String()
		}
		note := strings.ReplaceAll(u[open+1:end], "_", " ")
		if strings.HasSuffix(note, " m2") {
			note = strings.TrimSuffix(note, "2") + "²"
		}
		b.WriteString(u[:open])
		b.WriteString(note)
		u = u[end+1:]
	}
}

func interpretationText(cs []fhir.Coding) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		switch {
		case c.Display != "":
			parts = append(parts, c.Display)
		case c.Code != "":
			parts = append(parts, c.Code)
		}
	}
	return strings.Join(parts, ", ")
}

func rangeText(rs []fhir.Range) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		switch {
		case r.Low != nil && r.High != nil:
			parts = append(parts, quantityText(*r.Low)+" to "+quantityText(*r.High))
		case r.Low != nil:
			parts = append(parts, "from "+quantityText(*r.Low))
		case r.High != nil:
			parts = append(parts, "up to "+quantityText(*r.High))
		}
	}
	return strings.Join(parts, "; ")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// lowerFirst lowercases the first letter unless the first word is an
// abbreviation or a name with capitals inside ("NSAIDs", "TSH", "HbA1c").
func lowerFirst(s string) string {
	word, _, _ := strings.Cut(s, " ")
	if len(word) < 2 || strings.ToLower(word[1:]) != word[1:] {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
