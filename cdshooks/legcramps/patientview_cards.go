package legcramps

import (
	"fmt"
	"github.com/cramp-cds/cramp-cds/cdshooks"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// This file turns the knowledge rules' Findings into the nocturnal-leg-cramps
// cards. It decides wording and layout only, never clinical meaning.
//
// Cards come most severe first: critical results (critical, one card per
// analyte), then medications (one card per ingredient so each can be
// overridden on its own: warning for a class the seeds strongly tie to
// cramps, info and "reported" for one named only by patient-information
// pages), other abnormal results (warning), missing work-up labs (info, one
// card with one "consider" suggestion per lab, those the record points to
// recommended), associated conditions (info, one card) and differentials
// (info, one card per disorder). Within a topic the order is the knowledge
// base's data order.
//
// Detail is markdown for a narrow side panel: a short lead sentence, one
// bullet per record entry with the record's own text in bold and its
// reference, then the evidence (seed document, reference, line).

// cardRenderer renders the findings of one evaluation.
type cardRenderer struct {
	kb        *knowledge.Base
	sources   SourceBuilder
	ids       *cardIDs
	patientID string
	findings  *knowledge.Findings
}

func (r cardRenderer) cards() []cdshooks.Card {
	f := r.findings
	cards := []cdshooks.Card{}
	if !f.Triggered {
		return cards
	}
	// A card snoozed for this patient (see cardIDs) is left out.
	add := func(c cdshooks.Card) {
		if r.ids.shown(c.UUID) {
			cards = append(cards, c)
		}
	}
	// The rules list critical results first.
	for _, a := range f.AbnormalLabs {
		if a.Severity == knowledge.SeverityCritical {
			add(r.abnormalLabCard(a))
		}
	}
	for _, m := range f.Medications {
		add(r.medicationCard(m))
	}
	for _, a := range f.AbnormalLabs {
		if a.Severity != knowledge.SeverityCritical {
			add(r.abnormalLabCard(a))
		}
	}
	if len(f.MissingLabs) > 0 {
		if c, ok := r.missingLabsCard(f.MissingLabs); ok {
			add(c)
		}
	}
	if len(f.Associated) > 0 {
		add(r.associatedCard(f.Associated))
	}
	for _, d := range f.Differentials {
		add(r.differentialCard(d))
	}
	return cards
}

func (r cardRenderer) medicationCard(m knowledge.MedicationFinding) cdshooks.Card {
	name := "A drug of the class " + lowerFirst(m.Class.Name)
	if m.Ingredient != nil {
		name = upperFirst(m.Ingredient.Name)
	}
	strong := m.Strength() == knowledge.StrengthStrong
	var d strings.Builder
	if strong {
		fmt.Fprintf(&d, "**%s** can cause leg cramps.\n\nClass: %s.\n\n", cdshooks.Markdown(name), cdshooks.Markdown(m.Class.Name))
	} else {
		fmt.Fprintf(&d, "**%s**: leg cramps are reported, by patient-information sources only.\n\nClass: %s.\n\n",
			cdshooks.Markdown(name), cdshooks.Markdown(m.Class.Name))
	}
	d.WriteString("In the record:\n")
	shown, more := listed(len(m.Entries))
	for _, e := range m.Entries[:shown] {
		fmt.Fprintf(&d, "- **%s** (%s", cdshooks.Markdown(orUnnamed(e.Text)), cdshooks.Markdown(e.Medication.Status))
		switch since := e.Medication.Effective.Start; {
		case !e.LastTaken.IsZero():
			fmt.Fprintf(&d, ", last given %s", day(e.LastTaken))
		case !since.IsZero():
			fmt.Fprintf(&d, " since %s", day(since))
		case !e.Medication.Asserted.IsZero():
			fmt.Fprintf(&d, ", recorded %s", day(e.Medication.Asserted))
		}
		fmt.Fprintf(&d, "; %s)%s\n", matchedBy(e.Match), refSuffix(e.Ref))
	}
	if more > 0 {
		fmt.Fprintf(&d, "- and %d more in the record\n", more)
	}
	if m.LowConfidence() {
		d.WriteString("\nRecognised from the drug's name or an unconfirmed code only: check the drug.\n")
	}
	evidence := m.Evidence()
	if len(m.Class.AlsoTreatment) > 0 {
		if p := r.kb.Pearl("ccb-cause-and-treatment"); p != nil {
			fmt.Fprintf(&d, "\n%s\n", cdshooks.Markdown(p.Text))
		}
		evidence = append(append([]knowledge.Citation(nil), evidence...), m.Class.AlsoTreatment...)
	}
	if strong {
		d.WriteString("\nConsider whether it contributes to the cramps before adding a treatment.\n")
	} else {
		d.WriteString("\nThe association is weak: consider it only if the cramps began or worsened on this drug.\n")
	}
	writeEvidence(&d, evidence)
	summary, indicator := name+" can cause leg cramps: review this drug", cdshooks.IndicatorWarning
	if !strong {
		summary, indicator = name+": leg cramps reported (weak evidence)", cdshooks.IndicatorInfo
	}
	return cdshooks.Card{
		UUID:            r.ids.card(TopicMedication, m.Key(), medicationAbout(m)...),
		Summary:         cdshooks.Summary(summary),
		Detail:          d.String(),
		Indicator:       indicator,
		Source:          r.sources.Source(TopicMedication, "class-"+m.Class.ID),
		OverrideReasons: MedicationOverrideReasons(),
	}
}

// matchedBy says how the drug was recognised, for informaticists checking a card.
func matchedBy(m knowledge.MedicationMatch) string {
	switch m.Kind {
	case knowledge.MatchRxNorm:
		return "RxNorm " + cdshooks.Markdown(m.Coding.Code)
	case knowledge.MatchATC:
		return "ATC " + cdshooks.Markdown(m.Coding.Code)
	default:
		return "by name \u201c" + cdshooks.Markdown(m.Matched) + "\u201d"
	}
}

func (r cardRenderer) abnormalLabCard(a knowledge.AbnormalLabFinding) cdshooks.Card {
	o := a.Result.Observation
	recorded := quantityText(*o.Value)
	unit := cdshooks.Markdown(a.Lab.CanonicalUnit)
	critical := a.Severity == knowledge.SeverityCritical
	var d strings.Builder
	fmt.Fprintf(&d, "**%s %s** on %s: %s.\n\n", cdshooks.Markdown(a.Lab.Name), cdshooks.Markdown(recorded), day(o.Effective), cdshooks.Markdown(a.Finding))
	if critical {
		d.WriteString("**Critical value.**\n\n")
	}
	fmt.Fprintf(&d, "- Result: **%s**%s", cdshooks.Markdown(orUnnamed(a.Result.Text)), refSuffix(a.Result.Ref))
	if a.Converted {
		fmt.Fprintf(&d, "; %s%s %s", cdshooks.Markdown(o.Value.Comparator), number(a.Value), unit)
	}
	d.WriteString("\n")
	if c := a.Calcium; c != nil {
		switch {
		case c.Ionized:
			d.WriteString("- Calcium judged: ionized calcium, which is never corrected for albumin\n")
		case c.Albumin != nil:
			fmt.Fprintf(&d, "- Calcium judged: corrected for albumin %s g/dL on %s%s: %s %s\n",
				number(c.AlbuminValue), day(c.Albumin.Observation.Effective), refSuffix(c.Albumin.Ref), number(c.Corrected), unit)
		default:
			fmt.Fprintf(&d, "- Calcium judged: total calcium as measured; no albumin result within %d days to correct it\n", c.WithinDays)
		}
	}
	for _, rel := range a.Related {
		if rel.Observation.Value != nil {
			fmt.Fprintf(&d, "- Same draw: **%s** %s%s\n", cdshooks.Markdown(orUnnamed(rel.Text)), cdshooks.Markdown(quantityText(*rel.Observation.Value)), refSuffix(rel.Ref))
		}
	}
	if flags := interpretationText(o.Interpretation); flags != "" {
		fmt.Fprintf(&d, "- Laboratory flag: %s\n", cdshooks.Markdown(flags))
	}
	if rng := rangeText(o.ReferenceRange); rng != "" {
		fmt.Fprintf(&d, "- Reference range: %s\n", cdshooks.Markdown(rng))
	}
	// Curator notes are for reviewers of the knowledge base, not for the panel.
	switch a.Basis {
	case knowledge.BasisFlag:
		d.WriteString("- Decided by: the laboratory's flag\n")
	case knowledge.BasisReferenceRange:
		d.WriteString("- Decided by: the laboratory's reference range\n")
	case knowledge.BasisThreshold:
		fmt.Fprintf(&d, "- Decided by: our threshold %s %s %s (the laboratory gave no flag or range; %s)\n",
			cdshooks.Markdown(a.Threshold.Op), number(a.Threshold.Value), unit, cdshooks.Markdown(a.Threshold.Source))
	case knowledge.BasisCriticalLimit:
		fmt.Fprintf(&d, "- Decided by: the critical limit %s %s %s\n", cdshooks.Markdown(a.Critical.Op), number(a.Critical.Value), unit)
	}
	for _, m := range a.SuspectedDrugs {
		shown, more := listed(len(m.Entries))
		texts := make([]string, shown, shown+1)
		for i, e := range m.Entries[:shown] {
			texts[i] = cdshooks.Markdown(orUnnamed(e.Text)) + refSuffix(e.Ref)
		}
		if more > 0 {
			texts = append(texts, fmt.Sprintf("and %d more", more))
		}
		fmt.Fprintf(&d, "- May be caused by: **%s** (%s): %s\n", cdshooks.Markdown(matchName(m.Ingredient, m.Class)), cdshooks.Markdown(lowerFirst(m.Class.Name)), strings.Join(texts, "; "))
	}
	evidence := a.Evidence()
	if a.Lab.Chronic != nil && a.Direction == "low" {
		switch c := a.Chronic; {
		case c != nil && c.Diagnosis != nil:
			fmt.Fprintf(&d, "- Chronic kidney disease in the record: %s\n", conditionEntries([]knowledge.ConditionEntry{*c.Diagnosis}))
		case c != nil && c.Earlier != nil:
			fmt.Fprintf(&d, "- %s: also reduced on %s%s\n", cdshooks.Markdown(upperFirst(c.Finding)), day(c.Earlier.Observation.Effective), refSuffix(c.Earlier.Ref))
		default:
			d.WriteString("- One reduced result is not chronic kidney disease: that needs a second result at least 3 months apart, or a diagnosis\n")
		}
		if p := r.kb.Pearl("ckd-hemodialysis"); p != nil {
			fmt.Fprintf(&d, "\n%s\n", cdshooks.Markdown(p.Text))
			evidence = append(append([]knowledge.Citation(nil), evidence...), p.Evidence...)
		}
	}
	d.WriteString("\nThis is the latest result in the look-back window.\n")
	writeEvidence(&d, evidence)
	summary, indicator := fmt.Sprintf("%s %s on %s: %s", a.Lab.Name, recorded, day(o.Effective), a.Finding), cdshooks.IndicatorWarning
	if critical {
		summary, indicator = "Critical: "+summary, cdshooks.IndicatorCritical
	}
	return cdshooks.Card{
		UUID:      r.ids.card(TopicAbnormalLab, a.Lab.ID, abnormalLabAbout(a)...),
		Summary:   cdshooks.Summary(summary),
		Detail:    d.String(),
		Indicator: indicator,
		Source:    r.sources.Source(TopicAbnormalLab, "lab-"+a.Lab.ID),
	}
}

// missingLabsCard words the seeds' disagreement on testing (seed 000: always
// check; seed 001: generally unnecessary unless a condition is suspected;
// seed 004: diagnosis is based on symptoms): every analyte stays, each is
// "consider", both sides are cited, and the tests the record points to are
// marked recommended, with what points to them.
//
// Work-ups whose order was accepted lately (their suggestion is snoozed) are
// left out; false when none is left. The card's uuid is about every missing
// work-up, ordered or not.
func (r cardRenderer) missingLabsCard(all []knowledge.MissingLabFinding) (cdshooks.Card, bool) {
	id := r.ids.card(TopicMissingLabs, "", missingLabsAbout(all)...)
	ms := make([]knowledge.MissingLabFinding, 0, len(all))
	orders := make([]string, 0, len(all))
	for _, m := range all {
		if order := r.ids.suggestion(TopicMissingLabs, "", m.Workup.ID); r.ids.shown(order) {
			ms, orders = append(ms, m), append(orders, order)
		}
	}
	if len(ms) == 0 {
		return cdshooks.Card{}, false
	}
	names := make([]string, len(ms))
	var evidence []knowledge.Citation
	var d strings.Builder
	months := ms[0].Workup.LookbackMonths
	d.WriteString("The sources disagree on testing: one says always check electrolytes, renal function, thyroid function, " +
		"calcium and HbA1c; others that history and examination usually suffice and tests are needed only when an " +
		"underlying condition is suspected.\n\n")
	// Absence is what we searched, not a fact about the record: a result under a code outside the
	// analyte's value set may be there.
	fmt.Fprintf(&d, "To consider (no result under the recognised codes since **%s**, %d months):\n", day(ms[0].Since), months)
	suggestions := make([]cdshooks.Suggestion, 0, len(ms))
	recommended := 0
	for i, m := range ms {
		wu := m.Workup
		names[i] = wu.Name
		evidence = append(evidence, m.Evidence()...)
		fmt.Fprintf(&d, "- **%s**: ", cdshooks.Markdown(wu.Name))
		if m.Last != nil {
			fmt.Fprintf(&d, "last result %s%s", day(m.Last.Observation.Effective), refSuffix(m.Last.Ref))
		} else {
			fmt.Fprintf(&d, "no %s result under the recognised codes in the last %d months", cdshooks.Markdown(lowerFirst(wu.Name)), months)
		}
		if m.Recommended {
			recommended++
			shown, more := listed(len(m.RecommendedBy))
			texts := make([]string, shown, shown+1)
			for j, e := range m.RecommendedBy[:shown] {
				texts[j] = "**" + cdshooks.Markdown(orUnnamed(e.Text)) + "**" + refSuffix(e.Ref)
			}
			if more > 0 {
				texts = append(texts, fmt.Sprintf("and %d more", more))
			}
			fmt.Fprintf(&d, "; recommended for this patient: %s", strings.Join(texts, "; "))
		}
		d.WriteString("\n")
		suggestions = append(suggestions, cdshooks.Suggestion{
			Label:         cdshooks.Summary("Consider " + wu.Order.Display + " (LOINC " + wu.Order.Code + ")"),
			UUID:          orders[i],
			IsRecommended: m.Recommended,
			Actions: []cdshooks.Action{{
				Type:        cdshooks.ActionCreate,
				Description: cdshooks.PlainText("Propose a " + wu.Order.Display + " order (LOINC " + wu.Order.Code + ") for review and signature"),
				Resource:    r.serviceRequest(wu),
			}},
		})
	}
	d.WriteString("\nEach suggestion proposes a draft order for you to review and sign.\n")
	for _, id := range []string{"check-metabolic-labs", "labs-when-suspected", "diagnosis-from-symptoms"} {
		if p := r.kb.Pearl(id); p != nil {
			evidence = append(evidence, p.Evidence...)
		}
	}
	writeEvidence(&d, evidence)
	summary := cdshooks.PlainText(fmt.Sprintf("Cramp work-up to consider: no recognised result in %d months for %s", months, strings.Join(names, ", ")))
	if !cdshooks.FitsSummary(summary) {
		summary = fmt.Sprintf("Cramp work-up to consider: %d labs without a recognised result in %d months", len(ms), months)
	}
	if recommended > 0 && cdshooks.FitsSummary(fmt.Sprintf("%s (%d recommended)", summary, recommended)) {
		summary = fmt.Sprintf("%s (%d recommended)", summary, recommended)
	}
	return cdshooks.Card{
		UUID:              id,
		Summary:           summary,
		Detail:            d.String(),
		Indicator:         cdshooks.IndicatorInfo,
		Source:            r.sources.Source(TopicMissingLabs, "workup"),
		Suggestions:       suggestions,
		SelectionBehavior: cdshooks.SelectAny,
		OverrideReasons:   OverrideReasons(OverrideOrderedElsewhere, OverrideNotRelevant),
	}, true
}

// serviceRequest is the FHIR R4 ServiceRequest a missing-lab suggestion
// proposes: built here as plain JSON, never from golang-fhir-models structs.
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

func (r cardRenderer) serviceRequest(wu *knowledge.Workup) []byte {
	sr := serviceRequest{
		ResourceType: "ServiceRequest",
		Status:       "draft",
		Intent:       "proposal",
		// The FHIR R4 ServiceRequest category example value set's "Laboratory procedure".
		Category: []codeableConcept{{Coding: []coding{{System: fhir.SystemSNOMED, Code: "108252007", Display: "Laboratory procedure"}}}},
		Code:     codeableConcept{Coding: []coding{{System: fhir.SystemLOINC, Code: wu.Order.Code, Display: wu.Order.Display}}, Text: wu.Name},
		Subject:  reference{Reference: "Patient/" + r.patientID},
	}
	for _, t := range r.findings.Triggers {
		if t.Ref != "" {
			sr.ReasonRef = append(sr.ReasonRef, reference{Reference: t.Ref})
		}
	}
	return marshalResource(sr)
}

func (r cardRenderer) associatedCard(cs []knowledge.ConditionFinding) cdshooks.Card {
	names := make([]string, len(cs))
	var evidence []knowledge.Citation
	var d strings.Builder
	d.WriteString("Present in the record, and associated with leg cramps:\n")
	for i, c := range cs {
		names[i] = lowerFirst(c.Condition.Name)
		evidence = append(evidence, c.Evidence(false)...)
		fmt.Fprintf(&d, "- **%s**: %s\n", cdshooks.Markdown(c.Condition.Name), conditionEntries(c.Entries))
	}
	d.WriteString("\nTreating the underlying condition may ease the cramps.\n")
	writeEvidence(&d, evidence)
	summary := cdshooks.PlainText("Associated with leg cramps: " + strings.Join(names, ", "))
	if !cdshooks.FitsSummary(summary) {
		summary = fmt.Sprintf("%d conditions on record are associated with leg cramps", len(cs))
	}
	return cdshooks.Card{
		UUID:      r.ids.card(TopicAssociatedCondition, "", conditionsAbout(cs)...),
		Summary:   summary,
		Detail:    d.String(),
		Indicator: cdshooks.IndicatorInfo,
		Source:    r.sources.Source(TopicAssociatedCondition, "conditions"),
	}
}

func (r cardRenderer) differentialCard(c knowledge.ConditionFinding) cdshooks.Card {
	diff := c.Condition.Differential
	var d strings.Builder
	fmt.Fprintf(&d, "**%s** is in the record: %s\n\nIt can be mistaken for, or coexist with, leg cramps. To tell them apart:\n",
		cdshooks.Markdown(c.Condition.Name), conditionEntries(c.Entries))
	for _, s := range diff.Features {
		fmt.Fprintf(&d, "- %s\n", cdshooks.Markdown(s.Text))
	}
	if diff.Question != nil {
		fmt.Fprintf(&d, "\nAsk the patient: *%s*\n", cdshooks.Markdown(diff.Question.Text))
	}
	writeEvidence(&d, c.Evidence(true))
	return cdshooks.Card{
		UUID:      r.ids.card(TopicDifferential, c.Condition.ID, c.Condition.ID),
		Summary:   cdshooks.Summary(c.Condition.Name + " on record: tell it apart from leg cramps"),
		Detail:    d.String(),
		Indicator: cdshooks.IndicatorInfo,
		Source:    r.sources.Source(TopicDifferential, "condition-"+c.Condition.ID),
	}
}

// conditionEntries lists record condition entries on one line: their text,
// onset and reference.
func conditionEntries(es []knowledge.ConditionEntry) string {
	shown, more := listed(len(es))
	parts := make([]string, shown, shown+1)
	for i, e := range es[:shown] {
		p := cdshooks.Markdown(orUnnamed(e.Text))
		if onset := e.Condition.Onset; !onset.IsZero() {
			p += " (since " + day(onset) + ")"
		}
		parts[i] = p + refSuffix(e.Ref)
	}
	if more > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", more))
	}
	return strings.Join(parts, "; ")
}

// maxListed is the most record entries a card lists in one place; the rest
// are counted. A card is read in a narrow panel, and a record with thousands
// of matching entries must not make an answer of megabytes.
const maxListed = 10

// listed returns how many of n entries a card lists, and how many more it
// only counts.
func listed(n int) (shown, more int) {
	if n <= maxListed {
		return n, 0
	}
	return maxListed, n - maxListed
}

// writeEvidence appends the evidence section.
func writeEvidence(d *strings.Builder, cs []knowledge.Citation) {
	if ev := Evidence(cs); ev != "" {
		d.WriteString("\n**Evidence**\n")
		d.WriteString(ev)
	}
}

// refSuffix shows a record reference after an entry, in parentheses.
func refSuffix(ref string) string {
	if ref == "" {
		return ""
	}
	return " (" + cdshooks.Markdown(ref) + ")"
}

func orUnnamed(text string) string {
	if text == "" {
		return "(unnamed entry)"
	}
	return text
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
		s += " " + unit
	}
	return s
}

func interpretationText(cs []fhir.Coding) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		switch {
		case c.Display != "" && c.Code != "":
			parts = append(parts, c.Display+" ("+c.Code+")")
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

// lowerFirst lower-cases a name's first letter for use inside a sentence
// ("Potassium" -> "potassium"), unless its first word is an abbreviation or
// has other capitals ("NSAIDs", "HMG-CoA", "HbA1c", "TSH" stay as they are).
func lowerFirst(name string) string {
	word, _, _ := strings.Cut(name, " ")
	if len(word) < 2 || word[0] < 'A' || word[0] > 'Z' || strings.ToLower(word[1:]) != word[1:] {
		return name
	}
	return strings.ToLower(name[:1]) + name[1:]
}
