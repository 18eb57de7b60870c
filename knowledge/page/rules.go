package page

import (
	"fmt"

	"github.com/cramp-cds/cramp-cds/knowledge"
)

// Rule is one rule of the service in words, for the reviewing clinician.
type Rule struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Text  string `json:"text"`
}

// Rules states in words what the service does with a record, with the
// numbers of kb (look-back window, thresholds are listed with each lab). The
// wording follows knowledge.Base.Evaluate and the cards; tests pin the
// behaviour each sentence describes.
func Rules(kb *knowledge.Base) []Rule {
	return []Rule{
		{"trigger", "When the service speaks",
			"Only for a patient with a present leg-cramp condition (one of the trigger codes below, on a condition " +
				"that is active, recurring or relapsing, or has no clinical status, and has not abated), unless the " +
				"service runs in screening mode. The entry must be on the active problem list or dated in the last " +
				"24 months; an active entry with no date and no category (a legacy import) counts too."},
		{"medications", "Medications that can cause cramps",
			"Every current medication (active, a real prescription, started and not ended) holding a cramp-inducing " +
				"ingredient is named, in one card for all of them. Drugs are recognised by RxNorm or ATC code, or by " +
				"name; a match by name or through an unconfirmed code is said to be low confidence."},
		{"missing-labs", "Work-up labs without a recent result",
			fmt.Sprintf("A work-up test is missing when none of its result codes has a result dated in the last %d "+
				"months. A test already ordered (an active or draft order of its code, or of a panel that covers it) "+
				"is not proposed again. The card proposes one order for the whole work-up, using a panel where one "+
				"covers two or more missing tests, and each test on its own. An older result outside the window is "+
				"shown with its value and date.", kb.LookbackMonths())},
		{"abnormal-labs", "Results that may worsen cramps",
			"Per analyte, only the latest result in the window is judged, in the analyte's canonical unit. It counts " +
				"when it is surely beyond a threshold below; the laboratory's own normal flag or reference range " +
				"overrules our threshold when it says the result is normal, never the other way round. A unit we " +
				"cannot convert is never called abnormal. A result beyond a critical limit (both sides, listed with each " +
				"analyte below, standard practice cited there), or flagged HH or LL by the laboratory, is critical " +
				"whatever else the laboratory says; its card says what to do and names the drugs on record that move " +
				"the analyte that way. Potassium 5.6 to 6.4 mmol/L is a warning (issue 26 clinical review). Total calcium " +
				"is corrected for albumin only when the albumin is below 4.0 g/dL (the correction is meant for low " +
				"albumin); an ionized calcium of the same day or later decides instead; a calcium the laboratory flagged " +
				"normal is never called low after correction, and a corrected value alone never makes a critical card."},
		{"quinine", "Quinine",
			"Quinine (or Qualaquin) on record gets a warning card: the FDA warns against its use for leg cramps " +
				"(serious haematological reactions; QT prolongation). Standard practice beyond the seeds: FDA Drug " +
				"Safety Communication of 8 July 2010."},
		{"conditions", "Associated conditions",
			"Present conditions the sources associate with cramps are named in one line of another card, not a card " +
				"of their own: they rarely change what is done today. The full list with sources is below."},
		{"differentials", "Disorders that mimic cramps",
			"A present disorder that can be mistaken for cramps (restless legs, periodic limb movements, " +
				"claudication...) gets a card with what tells them apart, because it changes the history to take."},
		{"order", "Cramp-inducing drug being ordered",
			"In the order hooks, a draft order of a cramp-inducing drug for a patient with leg cramps gets a warning " +
				"naming the drug, the drugs the patient already takes that can cause cramps, and a suggestion to remove " +
				"the draft."},
		{"order-of-cards", "Order and size of the cards",
			"Critical results first, then warnings, then information. Each card's summary fits in 90 characters and " +
				"its text in 600; the sources line names the primary sources the documents cite and links here."},
	}
}
