package legcramps

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
	"github.com/cramp-cds/cramp-cds/knowledge"
	"github.com/cramp-cds/cramp-cds/knowledge/page"
)

// The missing-labs card: work-up tests without a recent result, with one
// order suggestion per order a laboratory would take.

// missingLabsCard proposes the work-up tests with no recent result that are
// not already ordered, on record or by a suggestion accepted lately (see
// acceptedWorkups). ok is false when there is nothing to propose. Its uuid is
// about every missing work-up, ordered or not. The work-ups whose result is
// still pending are listed as such, never proposed.
func (r cardRenderer) missingLabsCard(ms []knowledge.MissingLabFinding, pending []knowledge.PendingLabFinding) (cdshooks.Card, bool) {
	if len(ms) == 0 {
		return cdshooks.Card{}, false
	}
	uuid := r.ids.Card(TopicMissingLabs, "", missingLabsAbout(ms)...)
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
	c.OverrideReasons = OverrideReasons(OverrideOrderedElsewhere, kit.OverrideNotRelevant)
	return c, true
}

// acceptedWorkups are the work-ups of ms whose order was accepted lately:
// their own suggestion is snoozed (see kit.Memory), or a panel's is that
// covers them (the panel measures every test it covers, whichever of them the
// card proposed then). Every uuid asked is made here, before the snooze
// lookup, which asks only the uuids made.
func (r cardRenderer) acceptedWorkups(ms []knowledge.MissingLabFinding) map[*knowledge.Workup]bool {
	accepted := map[*knowledge.Workup]bool{}
	for _, p := range r.panels {
		if !r.ids.Shown(r.ids.Suggestion(TopicMissingLabs, "", panelSuggestionKey(p))) {
			for _, wu := range p.Resolved {
				accepted[wu] = true
			}
		}
	}
	for _, m := range ms {
		if m.Ordered == nil && !r.ids.Shown(r.ids.Suggestion(TopicMissingLabs, "", m.Workup.ID)) {
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
		UUID:          r.ids.Suggestion(TopicMissingLabs, "", key),
		IsRecommended: recommended,
		Actions: []cdshooks.Action{{
			Type:        cdshooks.ActionCreate,
			Description: fitSummary(description),
			Resource:    r.serviceRequest(code, text),
		}},
	}
}
