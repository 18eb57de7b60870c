package legcramps

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
	"github.com/cramp-cds/cramp-cds/knowledge"
	"github.com/cramp-cds/cramp-cds/knowledge/page"
)

// The ids of the service that warns when a drug that can cause leg cramps is
// being ordered for a patient who has them: one per hook, as CDS Hooks
// clients key services by id. EHRs are configured with them: never rename one.
const (
	// InducingOrderSelectID answers order-select.
	InducingOrderSelectID = "cramp-inducing-order-select"
	// InducingOrderSignID answers order-sign.
	InducingOrderSignID = "cramp-inducing-order-sign"
	// InducingOrderID is an alias answering both hooks, for EHRs configured
	// with one id for both; discovery does not list it (in CDS Hooks 2.0 an
	// id has one hook).
	InducingOrderID = "cramp-inducing-order"
)

// InducingOrderPrefetch returns the order hooks' prefetch templates: the
// patient's conditions (to find a present leg-cramp condition) and their
// active medication statements and requests (to name the cramp-inducing drugs
// they already take). The keys mean what the patient-view keys of the same
// name mean; only active medications are asked for, as only they can be
// current.
//
// The patient is asked for too: the services are silent for patients under
// 18 by default (knowledge.AdultAge), and only the Patient says the age.
func InducingOrderPrefetch() map[string]string {
	return map[string]string{
		PrefetchPatient:              "Patient/{{context.patientId}}",
		PrefetchConditions:           "Condition?patient={{context.patientId}}",
		PrefetchMedicationStatements: "MedicationStatement?patient={{context.patientId}}&status=active",
		PrefetchMedicationRequests:   "MedicationRequest?patient={{context.patientId}}&status=active",
	}
}

// inducingOrderDefinitions returns the service's two discovery entries,
// order-select and order-sign, each with its own id, and the given prefetch
// templates.
func inducingOrderDefinitions(prefetch map[string]string) []cdshooks.ServiceDefinition {
	usage := "Reads context.draftOrders (MedicationRequests coded with RxNorm or ATC, or named in text; a " +
		"medicationReference must point to a Medication contained in the order or in draftOrders) and the " +
		"prefetched patient (for the age), conditions and active medications. For any key not prefetched it reads the EHR's FHIR server " +
		"(fhirServer with fhirAuthorization granting read access to Patient, Condition, MedicationStatement and " +
		"MedicationRequest); without either it answers 412. A card proposes deleting the draft by its id only " +
		"for a drug the sources strongly tie to cramps that is not also a cramp treatment."
	return []cdshooks.ServiceDefinition{
		{
			Hook:  cdshooks.HookOrderSelect,
			ID:    InducingOrderSelectID,
			Title: "Leg cramps: cramp-inducing drug selected",
			Description: "When a drug that can cause leg cramps (a diuretic, a statin, a calcium channel blocker...) " +
				"is selected for an adult with leg cramps: a card naming the drug, its class, the strength of the evidence " +
				"and the evidence, with a suggestion to remove the draft when the evidence is strong.",
			Prefetch:          prefetch,
			UsageRequirements: usage,
		},
		{
			Hook:  cdshooks.HookOrderSign,
			ID:    InducingOrderSignID,
			Title: "Leg cramps: cramp-inducing drug about to be signed",
			Description: "Before signing, for an adult with leg cramps: a card for each draft order of a drug that " +
				"can cause leg cramps, naming the drug, its class, the strength of the evidence and the evidence, with a " +
				"suggestion to remove it when the evidence is strong.",
			Prefetch:          prefetch,
			UsageRequirements: usage,
		},
	}
}

// InducingOrder is the cramp-inducing-order service for order-select and
// order-sign. It is safe for concurrent use.
type InducingOrder struct {
	env       Env
	sources   kit.Sources
	templates map[string]string
	defs      []cdshooks.ServiceDefinition
}

// NewInducingOrder builds the service. It fails when a required dependency
// is missing.
func NewInducingOrder(env Env) (*InducingOrder, error) {
	if err := env.check(InducingOrderID); err != nil {
		return nil, err
	}
	templates := InducingOrderPrefetch()
	return &InducingOrder{
		env:       env,
		sources:   env.Sources(env.Knowledge.Version()),
		templates: templates,
		defs:      inducingOrderDefinitions(templates),
	}, nil
}

// Definitions returns the order-select and order-sign entries.
func (s *InducingOrder) Definitions() []cdshooks.ServiceDefinition { return s.defs }

// Aliases returns InducingOrderID, the id the two hooks once shared.
func (s *InducingOrder) Aliases() []string { return []string{InducingOrderID} }

// orderedDrug is a draft order of a cramp-inducing drug: the draft and the
// cramp-inducing ingredients (or classes) the knowledge base found in it.
type orderedDrug struct {
	draft   draftOrder
	matches []knowledge.MedicationMatch
}

// Bounds on what one order hook request may cost (without them, 20 drafts
// repeating a 4.5 MB record text make a 90 MB answer).
const (
	// MaxDraftOrders is the most entries context.draftOrders may have; more
	// gives a 400. An order session of a hundred orders is already rare.
	MaxDraftOrders = 100
	// MaxOrderCards is the most cards one request gets: the first drafts of
	// cramp-inducing drugs, in Bundle order.
	MaxOrderCards = 20
)

// Evaluate answers an order-select or order-sign request: one warning card
// per draft order being placed (the selected ones on order-select, all on
// order-sign) whose drug can cause leg cramps, when the patient has a present
// leg-cramp condition; otherwise no card. The patient's record is read only
// when some draft is for such a drug. Unreadable drafts give an invalid
// *Error (400); record data that cannot be obtained gives 412.
//
// Unlike the patient-view service, the order hooks have no screening mode:
// they warn only a patient who has leg cramps, since a warning on every
// diuretic or statin order would teach clinicians to ignore them all.
func (s *InducingOrder) Evaluate(ctx context.Context, req *cdshooks.Request, caller cdshooks.Caller) (*cdshooks.Response, error) {
	if all, err := req.DraftOrders(); err == nil && len(all) > MaxDraftOrders {
		return nil, cdshooks.Errorf(cdshooks.EINVALID, "context.draftOrders has %d entries; at most %d are read", len(all), MaxDraftOrders)
	}
	drafts, err := draftMedications(req)
	if err != nil {
		return nil, err
	}
	var flagged []orderedDrug
	for _, d := range orderedDrafts(req, drafts) {
		if ms := s.env.Knowledge.MatchMedication(d.Medication.Drug, d.Medication.Ingredients...); len(ms) > 0 {
			flagged = append(flagged, orderedDrug{draft: d, matches: ms})
		}
	}
	if len(flagged) == 0 {
		return &cdshooks.Response{Cards: []cdshooks.Card{}}, nil
	}

	if err := s.env.CheckTenancy(req, caller); err != nil {
		return nil, err
	}
	rec, err := s.env.GatherRecord(ctx, s.templates, req, caller)
	if err != nil {
		return nil, err
	}
	asOf := s.env.Now()
	cramps := s.env.Knowledge.TriggerEntries(rec, asOf)
	if len(cramps) == 0 || knowledge.UnderAge(rec, asOf, knowledge.Options{AllAges: s.env.AllAges}) {
		return &cdshooks.Response{Cards: []cdshooks.Card{}}, nil
	}
	// At most MaxOrderCards warnings, in Bundle order: more would not be
	// read in a side panel, and each costs the answer's size.
	flagged = flagged[:min(len(flagged), MaxOrderCards)]
	taking := otherThanDrafts(s.env.Knowledge.MedicationFindings(rec, asOf), drafts)
	ids := s.env.CardIDs(caller.Issuer, req.HookInstance, req.FHIRServer, req.PatientID())
	render := func() []cdshooks.Card {
		cards := make([]cdshooks.Card, 0, len(flagged))
		for _, o := range flagged {
			// A warning overridden as reviewed or not relevant for this
			// patient is not repeated for the same drug (see cardIDs).
			if c := s.card(ids, o, cramps, taking); ids.Shown(c.UUID) {
				cards = append(cards, c)
			}
		}
		return cards
	}
	return &cdshooks.Response{Cards: ids.Respond(ctx, InducingOrderID, s.sources.KnowledgeVersion, asOf, render)}, nil
}

// Feedback remembers the feedback about the service's cards, and snoozes
// what it asks to (see Memory); without a Memory it does nothing.
func (s *InducingOrder) Feedback(ctx context.Context, items []cdshooks.Feedback, caller cdshooks.Caller) {
	s.env.Feedback(ctx, InducingOrderID, items, caller)
}

// otherThanDrafts drops the drafts from the patient's current cramp drugs: on
// a re-sign the order being revised may already be active, and it is the
// order the card is about, not a drug the patient "already takes".
func otherThanDrafts(current []knowledge.MedicationFinding, drafts []draftOrder) []knowledge.MedicationFinding {
	var out []knowledge.MedicationFinding
	for _, m := range current {
		kept := m
		kept.Entries = slices.DeleteFunc(slices.Clone(m.Entries), func(e knowledge.MedicationEntry) bool {
			return e.Ref != "" && slices.ContainsFunc(drafts, func(d draftOrder) bool { return d.Ref == e.Ref })
		})
		if len(kept.Entries) > 0 {
			out = append(out, kept)
		}
	}
	return out
}

// drugName is how the order names its drug, falling back to the ingredients
// the knowledge base recognised in it.
func (o orderedDrug) drugName() string {
	if t := knowledge.ConceptText(o.draft.Medication.Drug); t != "" {
		return t
	}
	names := make([]string, 0, len(o.matches))
	for _, m := range o.matches {
		names = append(names, matchName(m.Ingredient, m.Class))
	}
	return strings.Join(names, " / ")
}

// matchName names a cramp-inducing ingredient, or its class when only the class is known.
func matchName(ing *knowledge.Ingredient, class *knowledge.DrugClass) string {
	if ing != nil {
		return ing.Name
	}
	return "a drug of the class " + lowerFirst(class.Name)
}

// card renders the card for one cramp-inducing draft order: what is ordered
// and why it matters, the patient's leg cramps, the cramp-inducing drugs they
// already take and the evidence. Its strength follows the seeds: a warning
// when some ingredient's class strongly predisposes to cramps, else info
// saying the association is only reported. It proposes deleting the draft
// only when every ingredient's class may be removed (strong evidence, and not
// also a cramp treatment: never a calcium channel blocker, seed 004).
func (s *InducingOrder) card(ids *kit.CardIDs, o orderedDrug, cramps []knowledge.ConditionEntry, taking []knowledge.MedicationFinding) cdshooks.Card {
	name := o.drugName()
	key := o.draft.Ref
	if key == "" {
		key = fmt.Sprintf("entry-%d", o.draft.Index)
	}
	// What can cause cramps in it: each ingredient with its class (a
	// combination product holds several).
	var parts []string
	lowConfidence, strong, removable, alsoTreatment := false, false, true, false
	reported := "" // who reports the tie, when no drug of the order is strongly tied
	var evidence []knowledge.Citation
	for _, m := range o.matches {
		part := matchName(m.Ingredient, m.Class)
		if m.Ingredient != nil {
			part += " (" + className(m.Class) + ")"
		}
		if !slices.Contains(parts, part) {
			parts = append(parts, part)
		}
		lowConfidence = lowConfidence || m.LowConfidence
		strong = strong || m.Class.Strength == knowledge.StrengthStrong
		if reported == "" && m.Class.Strength != knowledge.StrengthStrong {
			reported = reportedBy(s.env.Knowledge, m.Class.StrengthEvidence)
		}
		removable = removable && m.Class.MayRemove()
		alsoTreatment = alsoTreatment || len(m.Class.AlsoTreatment) > 0
		evidence = append(append(evidence, m.Evidence()...), m.Class.AlsoTreatment...)
	}
	verb := "can cause"
	if !strong {
		verb = "is " + reported + " to cause"
	}
	var d strings.Builder
	fmt.Fprintf(&d, "**%s** is being ordered: %s %s leg cramps, and the patient has them (%s).",
		recordText(name), cdshooks.Markdown(strings.Join(parts, " and ")), verb, conditionTexts(cramps))
	if alsoTreatment {
		if p := s.env.Knowledge.Pearl("ccb-cause-and-treatment"); p != nil {
			d.WriteString(" " + cdshooks.Markdown(p.Text))
		}
	}
	if lowConfidence {
		d.WriteString(" Recognised by name only: check the order.")
	}
	d.WriteString("\n\n")
	if len(taking) == 0 {
		d.WriteString("No other current drug on record can cause leg cramps.")
	} else {
		drugs := distinctTexts{max: maxDrugsShown}
		for _, m := range taking {
			for _, e := range m.Entries {
				drugs.add("**" + recordText(e.Text) + "** (" + cdshooks.Markdown(className(m.Class)) + ")")
			}
		}
		fmt.Fprintf(&d, "Already taking drugs that can cause cramps: %s.", drugs.join(", ", "more"))
	}
	d.WriteString(" Consider whether the benefit outweighs more cramps.\n")
	d.WriteString(sourcesLine(evidence))

	summary := name + " can worsen this patient's leg cramps"
	if utf8.RuneCountInString(summary) > maxSummary {
		names := make([]string, len(o.matches))
		for i, m := range o.matches {
			names[i] = matchName(m.Ingredient, m.Class)
		}
		summary = upperFirst(strings.Join(names, " / ")) + " can worsen this patient's leg cramps"
	}
	indicator := cdshooks.IndicatorWarning
	if !strong {
		summary, indicator = name+": leg cramps reported (weak evidence)", cdshooks.IndicatorInfo
	}
	c := newCard(s.sources, ids.Card(TopicInducingOrder, key, orderAbout(o)...), TopicInducingOrder, summary, d.String(),
		indicator, page.ClassAnchor(o.matches[0].Class.ID), "Why this drug can cause cramps")
	c.OverrideReasons = OverrideReasons(OverrideBenefitOutweighsRisk, kit.OverrideAlreadyReviewed, kit.OverrideNotRelevant)
	// A draft without an id cannot be named in a delete action, and a weakly
	// associated drug or a cramp treatment is not proposed for removal: the
	// card then only informs.
	if o.draft.Ref != "" && removable {
		c.Suggestions = []cdshooks.Suggestion{{
			Label: fitSummary("Remove the order for " + name),
			UUID:  ids.Suggestion(TopicInducingOrder, key, "delete"),
			Actions: []cdshooks.Action{{
				Type:        cdshooks.ActionDelete,
				Description: fitSummary("Remove the draft order for " + name),
				ResourceID:  o.draft.Ref,
			}},
		}}
		c.SelectionBehavior = cdshooks.SelectAtMostOne
	}
	return c
}
