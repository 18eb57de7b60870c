package page

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cramp-cds/cramp-cds/knowledge"
)

// Rule is one rule of the service in words, for the reviewing clinician: what
// it does, its limits (the numbers come from the same data the rules read),
// and where it comes from.
type Rule struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Text  string `json:"text"`
	// Basis says where the rule comes from: BasisSeeds (the seed documents),
	// BasisPublication (a publication beyond the seeds), BasisPractice
	// (standard clinical practice or chemistry) or BasisReview (a curator
	// decision a reviewing physician signed off). A rule may have several.
	Basis []string `json:"basis"`
	// Source names the statements, publications or decisions behind it.
	Source string `json:"source"`
}

// The bases of a rule, as the page prints them.
const (
	BasisSeeds       = "seeds"
	BasisPublication = "publication beyond the seeds"
	BasisPractice    = "standard practice"
	BasisReview      = "clinical review"
)

// Rules states in words every rule the service applies to a record
// (knowledge.RuleIDs, in that order), with the numbers of kb. The wording
// follows knowledge.Base.Evaluate and the cards; tests pin the behaviour each
// sentence describes, and a test fails when a rule has no entry here.
func Rules(kb *knowledge.Base) []Rule {
	tr := kb.Triggers()
	var rules []Rule
	add := func(id, title, text, source string, basis ...string) {
		rules = append(rules, Rule{ID: id, Title: title, Text: text, Basis: basis, Source: source})
	}
	add(knowledge.RuleDeceased, "Not after death",
		"Nothing is said, cards or order warnings, for a patient recorded as deceased (deceasedBoolean true, or a "+
			"deceasedDateTime on or before the evaluation time). A death recorded after the evaluation time does not "+
			"silence an evaluation as of an earlier time.",
		"physician review of a Synthea patient who died in 2010 and still got cards", BasisReview)
	add(knowledge.RuleAdults, "Adults only",
		fmt.Sprintf("Nothing is said for a patient younger than %d at the evaluation time (age from the birth date; a "+
			"partial date counts from its first day; a patient of unknown age is not silenced). The deployment may "+
			"turn this off (--all-ages).", knowledge.AdultAge),
		"the seeds describe adults (seed 000 line 45; seed 001 ref 2, Allen & Kirby 2012)", BasisSeeds)
	add(knowledge.RuleTrigger, "When the service speaks",
		fmt.Sprintf("Only for a patient with a present leg-cramp condition: one of the trigger codes below on a "+
			"condition that has not abated and whose clinical status is active, recurrence, relapse or absent, and "+
			"that is either an active problem-list entry or dated (recorded, else onset) within the last %d months. "+
			"An active entry with no date and no category (a legacy import) counts too. In screening mode the trigger "+
			"is skipped.",
			tr.RecentMonths),
		"clinical review: an old encounter diagnosis must not fire forever", BasisReview)
	add(knowledge.RuleMedications, "Medications that can cause cramps",
		"Every current medication (status active, a real prescription, authored by the evaluation time, inside its "+
			"validity period) holding a cramp-inducing ingredient is named, in one card for all of them; a "+
			"combination product is listed under each of its ingredients. Drugs are recognised by RxNorm or ATC "+
			"code, or by name; a match by name or through an unconfirmed code is said to be low confidence. A "+
			"topical or vaginal form named in the class's excluded forms is not a systemic drug. Stopped or on-hold "+
			"entries never count."+recentDaysText(kb),
		"the drug classes and their sources below; excluded forms: physician review", BasisSeeds, BasisReview)
	add(knowledge.RuleDrugWarnings, "Drugs warned against for cramps", warningsText(kb),
		warningsSource(kb), BasisPractice)
	add(knowledge.RuleStrength, "Strength of evidence",
		"Each drug class and associated condition is graded strong or reported (shown with each below). Strong: "+
			"named by the clinical summary's list of drugs that \"strongly predispose\" (seed 000 line 10) or by a "+
			"clinical summary citing its references. Reported: named only by patient information pages, or printed "+
			"by a summary under a reference it does not list. A reported drug is at most information and its card "+
			"says who reports it; an order may be proposed for removal only for a strong class the seeds do not "+
			"also list as a treatment (calcium channel blockers are both).",
		"seed 000 line 10; seed 004 Medications (treatments); clinical review of the grades", BasisSeeds, BasisReview)
	add(knowledge.RuleMissingLabs, "Work-up labs without a recent result",
		fmt.Sprintf("A work-up test is missing when none of its result codes has a kept result (final, amended, "+
			"corrected, with or without a value) dated in the last %d months, both ends included. A test already "+
			"ordered (an active or draft order of its code, or of a panel that covers it) is not proposed again. "+
			"The card proposes one order for the whole work-up, using a panel where one covers two or more missing "+
			"tests, and each test on its own, marked recommended when the record points to it (the reasons are listed "+
			"with each test below). The seeds disagree on routine testing, so the card says \"consider\" and cites "+
			"both sides. An older result outside the window is shown with its value and date.", kb.LookbackMonths()),
		"seed 000 line 39 (always check) against seed 001 ref 2 line 78 (Allen & Kirby 2012: usually unnecessary) "+
			"and seed 004 Diagnosis; recommendations: clinical review", BasisSeeds, BasisReview)
	add(knowledge.RulePendingLabs, "Results still pending",
		"A registered, preliminary or partial result in the window makes its test pending, not missing: no order is "+
			"proposed and its value is never judged.",
		"FHIR R4 ObservationStatus (preliminary results may be incomplete or unverified); physician review",
		BasisPractice, BasisReview)
	add(knowledge.RuleAbnormalLabs, "Results that may worsen cramps",
		"Per analyte only the latest kept result in the window is judged, after conversion to the analyte's "+
			"canonical unit; a unit not listed below, or no value, is never abnormal, and a value with a comparator "+
			"counts only if every value it allows is beyond. In order: (1) a critical limit below makes the result "+
			"critical whatever the laboratory says; (2) else the laboratory's own flag decides, abnormal or normal "+
			"(L or H is reported even when our threshold would call the value normal; N is normal even when our "+
			"threshold would not; LL, HH and AA are critical); (3) else the result's own reference range decides on "+
			"each side it bounds; (4) else our threshold below decides. A non-critical result is reported only on a side "+
			"we hold a threshold for (listed with each analyte below: low potassium, and high potassium from 5.6 "+
			"mmol/L, a warning); a critical one on any side. Critical results come first, each in a card of its own "+
			"saying what to do. Each finding names the current drugs known to move the analyte that way (a diuretic "+
			"for low potassium or magnesium; an ACE inhibitor for high potassium).",
		"seed 000 lines 20-23 (electrolytes can exacerbate cramps; ref 3); thresholds and drug effects: the source "+
			"named with each; FHIR interpretation codes", BasisSeeds, BasisPractice, BasisReview)
	add(knowledge.RuleCriticalLimits, "Critical limits", criticalText(kb),
		"published critical-value and decision limits named with each analyte below (standard practice beyond the "+
			"seeds); clinical review", BasisPractice, BasisReview)
	add(knowledge.RuleCalcium, "Calcium corrected for albumin", calciumText(kb),
		"the standard albumin correction (Payne et al., BMJ 1973; standard practice beyond the seeds); the window "+
			"and the ionized calcium: clinical review", BasisPractice, BasisReview)
	add(knowledge.RuleRenal, "Renal function", renalText(kb),
		"KDIGO 2012 (chronicity); adult creatinine reference intervals (unverified); seed 001 ref 2 and seed 000 ref 1 "+
			"(cramps with CKD requiring hemodialysis)", BasisSeeds, BasisPractice)
	add(knowledge.RuleKnownBy, "No re-flagging what the chart says",
		"An abnormal result a present condition already explains is not reported again: an HbA1c in the diabetes "+
			"range for a patient with diabetes or diabetic neuropathy present.",
		"clinical review", BasisReview)
	add(knowledge.RuleConditions, "Associated conditions",
		"Present conditions (clinical status active, recurrence, relapse or absent, and not abated; remission, "+
			"resolved and inactive never count) that the sources associate with cramps are named, strong ones first, "+
			"each briefly and each graded as below. An entry coding for several items is listed under the most "+
			"specific one only (diabetic neuropathy, not also diabetes)."+pregnancyText(kb)+transientText(kb),
		"the sources named with each condition; windows and plausibility: physician review", BasisSeeds, BasisReview)
	add(knowledge.RuleDifferentials, "Disorders that mimic cramps",
		"A present disorder that can be mistaken for cramps (restless legs, periodic limb movements, "+
			"claudication, myositis, peripheral neuropathy) gets a card with what tells them apart, because it "+
			"changes the history to take.",
		"seed 000 lines 32-36; seed 001 ref 1 and ref 2 (Allen & Kirby 2012)", BasisSeeds)
	add(knowledge.RuleOrder, "Cramp-inducing drug being ordered",
		"In the order hooks, a draft order of a cramp-inducing drug for a patient with leg cramps (the trigger above) "+
			"gets a card naming the drug and the drugs the patient already takes that can cause cramps; for a strong "+
			"class that is not also a treatment it suggests removing the draft. Deceased and under-age patients get "+
			"nothing.",
		"the drug classes below", BasisSeeds, BasisReview)
	add(knowledge.RuleCards, "Order, size and links of the cards",
		"Critical results first, then warnings, then information. Each card's summary fits in 90 characters and "+
			"its text in 600; when a card has more to say, lines are dropped by clinical priority (critical lines "+
			"never) and the card says what is left out. The sources line names publications where a seed's "+
			"reference is identified, else the seed document by its own title; the card's link opens this page.",
		"CDS Hooks 2.0 (summary under 140 characters); design decision", BasisReview)
	return rules
}

// recentDaysText states the classes that still count after the last dose.
func recentDaysText(kb *knowledge.Base) string {
	var parts []string
	for _, cl := range kb.Classes() {
		if cl.RecentDays > 0 {
			parts = append(parts, fmt.Sprintf(" %s is given in courses: an order or statement last given within the "+
				"last %d days also counts.", cl.Name, cl.RecentDays))
		}
	}
	return strings.Join(parts, "")
}

// warningsText states the drugs warned against, from the data.
func warningsText(kb *knowledge.Base) string {
	var parts []string
	for _, w := range kb.DrugWarnings() {
		parts = append(parts, fmt.Sprintf("%s (recognised as %s): %s", w.Name, strings.Join(w.Names, ", "), w.Warning))
	}
	return "A drug on record that standard practice warns against for leg cramps gets a warning card of its own, " +
		"whatever else the record holds, and the order hooks warn when it is ordered. " + strings.Join(parts, " ")
}

// warningsSource names the public sources of the drug warnings.
func warningsSource(kb *knowledge.Base) string {
	var parts []string
	for _, w := range kb.DrugWarnings() {
		parts = append(parts, w.Source+" (standard practice beyond the seeds)")
	}
	return strings.Join(parts, "; ")
}

// criticalText states every critical limit of the data.
func criticalText(kb *knowledge.Base) string {
	var parts []string
	for _, l := range kb.Labs() {
		for _, c := range l.Critical {
			parts = append(parts, fmt.Sprintf("%s %s %s %s", l.Name, c.Op, number(c.Value), l.CanonicalUnit))
		}
	}
	return "A result beyond a critical limit, or flagged LL, HH or AA by the laboratory, is critical whatever the " +
		"laboratory's range says, and its card says what to do (repeat or confirm, treat, consider an ECG): " +
		strings.Join(parts, "; ") + ". A calcium corrected for albumin alone never makes a critical card."
}

// calciumText states the albumin correction of total calcium with its numbers.
func calciumText(kb *knowledge.Base) string {
	for _, l := range kb.Labs() {
		ac := l.AlbuminCorrection
		if ac == nil {
			continue
		}
		return fmt.Sprintf("%s is corrected for albumin before it is judged, only when the albumin is below %s g/dL "+
			"(the correction is meant for low albumin): corrected = measured + %s x (%s - albumin in g/dL), using the "+
			"albumin result nearest in time within %d days either side. A calcium the laboratory flagged normal is "+
			"never called low after correction, and a corrected value alone never makes a critical card. Without such "+
			"an albumin the measured value is judged and the card says it was not corrected. An ionized calcium of the "+
			"same draw (within 24 hours) or later is judged instead: it measures what the correction only estimates; "+
			"it has its own limits and is never corrected.",
			l.Name, number(ac.Reference), number(ac.Factor), number(ac.Reference), ac.WithinDays)
	}
	return "Calcium is judged as measured."
}

// renalText states the renal rules with the chronicity window from the data.
func renalText(kb *knowledge.Base) string {
	months := 0
	for _, l := range kb.Labs() {
		if l.Chronic != nil {
			months = l.Chronic.Months
		}
	}
	return fmt.Sprintf("One finding per draw: creatinine defers to the eGFR of the same draw (within 24 hours) and "+
		"the later draw alone is judged. Creatinine alone is judged against its range, else sex-specific adult limits "+
		"(the male limit when the sex is unknown). One eGFR below 60 is a reduced eGFR, not chronic kidney disease: "+
		"that needs an earlier eGFR below 60 at least %d months before with none normal between, or a coded chronic "+
		"kidney disease or end-stage renal disease. The seeds tie cramps to kidney disease requiring hemodialysis, "+
		"which a reduced eGFR alone is not.", months)
}

// pregnancyText states the window and plausibility of conditions that have them.
func pregnancyText(kb *knowledge.Base) string {
	var b strings.Builder
	for _, c := range kb.Conditions() {
		if c.RecentMonths == 0 {
			continue
		}
		fmt.Fprintf(&b, " %s counts only when dated (onset, else recorded) within the last %d months", c.Name, c.RecentMonths)
		if pl := c.Plausible; pl != nil {
			fmt.Fprintf(&b, ", and only for a patient for whom it is possible (sex %s, age %d to %d; unknown sex or age "+
				"gets the benefit of the doubt)", pl.Sex, pl.MinAge, pl.MaxAge)
		}
		b.WriteString(".")
	}
	return b.String()
}

// transientText states the recency rule of passing disorders.
func transientText(kb *knowledge.Base) string {
	var names []string
	months := 0
	for _, c := range kb.Conditions() {
		if c.Transient != nil {
			names = append(names, strings.ToLower(c.Name))
			months = c.Transient.Months
		}
	}
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf(" Passing disorders (%s) count only as an active problem-list entry or dated within the last %d "+
		"months, and an electrolyte disorder not when the latest result of its electrolyte is judged normal.",
		strings.Join(names, ", "), months)
}

func number(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
