package legcramps_test

// The card side of the clinical review (issue 15): severity, strength of
// evidence, which calcium, one renal card per draw, the labs disagreement,
// adults only. Expectations come from the seeds and knowledge/README.md.

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
)

// reviewPatient is a prefetch of a 75-year-old woman with leg cramps and the
// given medication requests and results.
func reviewPatient(meds []obj, obs ...obj) obj {
	return obj{
		legcramps.PrefetchPatient:              obj{"resourceType": "Patient", "id": orderPatient, "gender": "female", "birthDate": "1950-04-12"},
		legcramps.PrefetchConditions:           searchset(legCramps),
		legcramps.PrefetchMedicationRequests:   searchset(meds...),
		legcramps.PrefetchMedicationStatements: searchset(),
		legcramps.PrefetchObservations:         searchset(obs...),
	}
}

func cardWithTopic(cards []cdshooks.Card, topic string) *cdshooks.Card {
	for i := range cards {
		if cards[i].Source.Topic.Code == topic {
			return &cards[i]
		}
	}
	return nil
}

func TestCriticalResultsComeFirstAndNameTheDrug(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{})
	meds := []obj{activeMR("mr-furo", furosemide), activeMR("mr-statin", atorvastatn)}
	tests := []struct {
		name      string
		k         float64
		topics    []string
		indicator cdshooks.Indicator
		summary   string
	}{
		// K < 2.5 mmol/L is critical (clinical review): first, before the medication cards.
		{"K 2.4 is critical", 2.4, []string{"cramp-abnormal-lab", "cramp-medication"}, cdshooks.IndicatorCritical,
			"Critical: Potassium 2.4 mmol/L on 2025-05-20: critically low potassium"},
		{"K 2.5 is low, after the drugs", 2.5, []string{"cramp-medication", "cramp-abnormal-lab"}, cdshooks.IndicatorWarning,
			"Potassium 2.5 mmol/L on 2025-05-20: hypokalemia"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cards := patientViewCards(t, srv, lcRequest(t, reviewPatient(meds, lcObservation("obs-k", "2823-3", tt.k, "mmol/L", "2025-05-20"))))
			got := topicsOf(cards)
			if diff := cmp.Diff(tt.topics, got[:2]); diff != "" {
				t.Fatalf("first cards (-want +got):\n%s", diff)
			}
			lab := cardWithTopic(cards, "cramp-abnormal-lab")
			if lab.Indicator != tt.indicator || lab.Summary != tt.summary {
				t.Errorf("lab card %s %q, want %s %q", lab.Indicator, lab.Summary, tt.indicator, tt.summary)
			}
			// Loop diuretics lower potassium; statins do not.
			if !strings.Contains(lab.Detail, "; may be caused by furosemide on record") ||
				strings.Contains(lab.Detail, "atorvastatin") {
				t.Errorf("lab card does not name furosemide alone as a possible cause:\n%s", lab.Detail)
			}
		})
	}
}

func TestCalciumCardSaysWhichCalciumWasJudged(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{})
	ca := lcObservation("obs-ca", "17861-6", 8.0, "mg/dL", "2025-05-20")
	tests := []struct {
		name string
		obs  []obj
		want string // "" when no calcium card
	}{
		// Issue 26 item 1: the correction is for an albumin below 4.0 g/dL only; the card says why it was not applied.
		{"albumin 4.0 g/dL the day before: not low, not corrected", []obj{ca, lcObservation("obs-alb", "1751-7", 4.0, "g/dL", "2025-05-19")},
			"; total calcium as measured: albumin 4 g/dL on 2025-05-19 is not low, so not corrected"},
		{"albumin 3.9 g/dL the day before: corrected to 8.08", []obj{ca, lcObservation("obs-alb", "1751-7", 3.9, "g/dL", "2025-05-19")},
			"; corrected for albumin 3.9 g/dL on 2025-05-19: 8.08 mg/dL"},
		{"albumin 3.0 g/dL: corrected to 8.8, no card", []obj{ca, lcObservation("obs-alb", "1751-7", 3.0, "g/dL", "2025-05-20")}, ""},
		{"no albumin: as measured", []obj{ca}, "; total calcium as measured, no albumin result within 3 days to correct it"},
		{"albumin 4 days before is too old", []obj{ca, lcObservation("obs-alb", "1751-7", 3.0, "g/dL", "2025-05-16")},
			"; total calcium as measured, no albumin result within 3 days"},
		{"ionized calcium: never corrected", []obj{lcObservation("obs-ica", "1994-3", 1.0, "mmol/L", "2025-05-20"), lcObservation("obs-alb", "1751-7", 2.0, "g/dL", "2025-05-20")},
			"; ionized calcium, which is never corrected for albumin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cards := patientViewCards(t, srv, lcRequest(t, reviewPatient(nil, tt.obs...)))
			lab := cardWithTopic(cards, "cramp-abnormal-lab")
			switch {
			case tt.want == "" && lab != nil:
				t.Errorf("unexpected card %q", lab.Summary)
			case tt.want != "" && lab == nil:
				t.Errorf("no calcium card")
			case tt.want != "" && !strings.Contains(lab.Detail, tt.want):
				t.Errorf("detail lacks %q:\n%s", tt.want, lab.Detail)
			}
		})
	}
}

func TestRenalFunctionIsOneCardPerDraw(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{})
	obs := []obj{
		lcObservation("obs-cr", "2160-0", 1.5, "mg/dL", "2025-05-20"),
		lcObservation("obs-egfr", "98979-8", 45, "mL/min/{1.73_m2}", "2025-05-20"),
	}
	cards := patientViewCards(t, srv, lcRequest(t, reviewPatient(nil, obs...)))
	var labs []string
	for _, c := range cards {
		if c.Source.Topic.Code == "cramp-abnormal-lab" {
			labs = append(labs, c.Summary)
		}
	}
	// UCUM's annotation {1.73_m2} is shown as a clinician writes it.
	if diff := cmp.Diff([]string{"eGFR 45 mL/min/1.73 m² on 2025-05-20: reduced eGFR"}, labs); diff != "" {
		t.Fatalf("renal cards (-want +got):\n%s", diff)
	}
	lab := cardWithTopic(cards, "cramp-abnormal-lab")
	for _, want := range []string{
		// The lab's name, never its LOINC code or long name.
		"; same draw: creatinine 1.5 mg/dL",
		"one reduced result is not chronic kidney disease",
		// The seeds tie cramps to CKD requiring hemodialysis: seed 001 line 36 (ref 2) is on the sources line.
		"Sources: Allen \\& Kirby, Am Fam Physician 2012",
	} {
		if !strings.Contains(lab.Detail, want) {
			t.Errorf("detail lacks %q:\n%s", want, lab.Detail)
		}
	}
	if strings.Contains(lab.Summary+lab.Detail, "stage 3") {
		t.Errorf("one eGFR is called CKD stage 3:\n%s", lab.Detail)
	}
}

func TestMedicationCardFollowsTheStrengthOfEvidence(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{})
	venofer := with(with(activeMR("mr-iv", obj{"text": "Venofer (iron sucrose) 200 mg IV"}), "status", "completed"), "authoredOn", "2025-05-15")
	tests := []struct {
		name      string
		med       obj
		indicator cdshooks.Indicator
		want      []string
	}{
		{"a diuretic: strong", activeMR("mr-furo", furosemide), cdshooks.IndicatorWarning, []string{"**Furosemide 40 MG Oral Tablet** (loop diuretics"}},
		{"a statin: reported", activeMR("mr-statin", atorvastatn), cdshooks.IndicatorInfo, []string{"reported by patient leaflets only"}},
		{"iron sucrose infused 17 days ago: strong, last given", venofer, cdshooks.IndicatorWarning, []string{"**Venofer (iron sucrose) 200 mg IV** (intravenous iron sucrose"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cards := patientViewCards(t, srv, lcRequest(t, reviewPatient([]obj{tt.med})))
			c := cardWithTopic(cards, "cramp-medication")
			if c == nil {
				t.Fatalf("no medication card: %v", topicsOf(cards))
			}
			if c.Indicator != tt.indicator {
				t.Errorf("indicator %s, want %s", c.Indicator, tt.indicator)
			}
			for _, want := range tt.want {
				if !strings.Contains(c.Detail, want) {
					t.Errorf("detail lacks %q:\n%s", want, c.Detail)
				}
			}
		})
	}
}

func TestOrderRemovalOnlyForStrongClassesThatAreNoTreatment(t *testing.T) {
	t.Parallel()
	h := newServer(t, serverOptions{})
	rec := record([]obj{legCramps})
	tests := []struct {
		name      string
		med       obj
		removable bool
		indicator cdshooks.Indicator
		inDetail  string
	}{
		{"thiazide (strong)", hctz, true, cdshooks.IndicatorWarning, "can cause leg cramps, and the patient has them"},
		{"ibuprofen (NSAID, strong)", rxnorm("310965", "Ibuprofen 200 MG Oral Tablet"), true, cdshooks.IndicatorWarning, "can cause leg cramps, and the patient has them"},
		{"atorvastatin (statin, reported)", atorvastatn, false, cdshooks.IndicatorInfo, "is reported by patient leaflets only to cause leg cramps"},
		// Seed 000 line 18 alone names lithium (a clinical summary; its ref 3 is unlisted).
		{"lithium (one clinical summary)", rxnorm("42351", "Lithium carbonate 300 MG Oral Capsule"), false, cdshooks.IndicatorInfo, "is reported by one clinical summary only to cause leg cramps"},
		{"amlodipine (CCB, reported and a treatment)", rxnorm("197361", "Amlodipine 5 MG Oral Tablet"), false, cdshooks.IndicatorInfo, "as a treatment for severe cramps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cards := orderCards(t, h, orderRequest(t, cdshooks.HookOrderSign, nil, rec, draftMR("d-1", tt.med)))
			if len(cards) != 1 {
				t.Fatalf("%d cards, want 1", len(cards))
			}
			c := cards[0]
			if got := len(deleted(cards)) == 1; got != tt.removable {
				t.Errorf("removal proposed %v, want %v", got, tt.removable)
			}
			if c.Indicator != tt.indicator || !strings.Contains(c.Detail, tt.inDetail) {
				t.Errorf("indicator %s, want %s; detail lacks %q?\n%s", c.Indicator, tt.indicator, tt.inDetail, c.Detail)
			}
		})
	}
}

func TestMissingLabsCardConsidersCitesBothSidesAndRecommends(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{})
	tests := []struct {
		name        string
		meds        []obj
		recommended []string // the LOINC codes of the suggestions marked isRecommended
	}{
		{"nothing points to a test", nil, nil},
		// A current diuretic points to electrolytes and renal function: the
		// panel holding potassium and creatinine, and magnesium.
		{"on furosemide", []obj{activeMR("mr-furo", furosemide)}, []string{"24321-2", "19123-9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cards := patientViewCards(t, srv, lcRequest(t, reviewPatient(tt.meds)))
			c := cardWithTopic(cards, "cramp-missing-labs")
			if c == nil {
				t.Fatal("no missing-labs card")
			}
			// The card says "consider"; each suggestion orders one LOINC code.
			if !strings.Contains(c.Summary, "onsider") {
				t.Errorf("summary %q does not say consider", c.Summary)
			}
			var labels, recommended []string
			for _, s := range c.Suggestions {
				labels = append(labels, s.Label)
				// The action says in full what it orders.
				if d := s.Actions[0].Description; strings.HasSuffix(d, "…") {
					t.Errorf("%q: action description %q is cut", s.Label, d)
				}
				if s.IsRecommended {
					recommended = append(recommended, orderedCodes(t, s)...)
				}
			}
			// Every analyte the product promises stays, potassium, calcium
			// and creatinine in one basic metabolic panel (24321-2).
			if diff := cmp.Diff([]string{"Order basic metabolic panel (potassium, calcium, creatinine)",
				"Order magnesium", "Order TSH", "Order HbA1c"}, labels); diff != "" {
				t.Errorf("suggested (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.recommended, recommended); diff != "" {
				t.Errorf("recommended (-want +got):\n%s", diff)
			}
			// Both sides of the disagreement: said, and cited on the sources
			// line (seed 000 always checks; seed 001, citing Am Fam Physician
			// 2012, tests only when a cause is suspected).
			for _, want := range []string{"Sources differ: test everyone, or only when a cause is suspected.",
				"Sources: Allen \\& Kirby, Am Fam Physician 2012; Causes of Nocturnal Muscle Cramps (summary)"} {
				if !strings.Contains(c.Detail, want) {
					t.Errorf("detail lacks %q:\n%s", want, c.Detail)
				}
			}
		})
	}
}

func TestChildrenGetNoCardsUnlessAllAges(t *testing.T) {
	t.Parallel()
	child := reviewPatient([]obj{activeMR("mr-furo", furosemide)})
	child[legcramps.PrefetchPatient] = obj{"resourceType": "Patient", "id": orderPatient, "gender": "male", "birthDate": "2012-03-01"}
	adult := reviewPatient([]obj{activeMR("mr-furo", furosemide)})
	adult[legcramps.PrefetchPatient] = obj{"resourceType": "Patient", "id": orderPatient, "gender": "male", "birthDate": "2007-06-01"} // 18 on testNow
	tests := []struct {
		name    string
		p       obj
		allAges bool
		want    bool
	}{
		{"13 years old", child, false, true},
		{"13 years old, --all-ages", child, true, false},
		{"18 today", adult, false, false},
	}
	for _, tt := range tests {
		cards := patientViewCards(t, newServer(t, serverOptions{allAges: tt.allAges}), lcRequest(t, tt.p))
		if got := len(cards) == 0; got != tt.want {
			t.Errorf("%s: silent %v, want %v (%v)", tt.name, got, tt.want, topicsOf(cards))
		}
	}
	// The order hooks too: the record's Patient decides.
	rec := record([]obj{legCramps})
	rec[legcramps.PrefetchPatient] = child[legcramps.PrefetchPatient]
	if cards := orderCards(t, newServer(t, serverOptions{}), orderRequest(t, cdshooks.HookOrderSign, nil, rec, draftMR("d-1", hctz))); len(cards) != 0 {
		t.Errorf("order card for a child: %v", cards[0].Summary)
	}
}

// TestPendingWorkupIsListedNotProposed checks that a work-up test whose
// result is still pending (a preliminary magnesium) is neither proposed nor
// silently dropped: the work-up card says it is pending, so the clinician
// does not order it again or wonder where it went.
func TestPendingWorkupIsListedNotProposed(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{})
	pending := with(lcObservation("obs-mg", "19123-9", 1.2, "mg/dL", "2025-05-30"), "status", "preliminary")
	c := cardWithTopic(patientViewCards(t, srv, lcRequest(t, reviewPatient(nil, pending))), legcramps.TopicMissingLabs)
	if c == nil {
		t.Fatal("no work-up card")
	}
	if want := "- Magnesium: result pending (preliminary, 2025-05-30)"; !strings.Contains(c.Detail, want) {
		t.Errorf("detail lacks %q:\n%s", want, c.Detail)
	}
	if strings.Contains(c.Summary, "magnesium") {
		t.Errorf("summary %q proposes the pending magnesium", c.Summary)
	}
	for _, s := range c.Suggestions {
		if strings.Contains(s.Label, "agnesium") {
			t.Errorf("suggestion %q proposes the pending magnesium", s.Label)
		}
	}
}

// TestCalciumSummaryShowsTheCorrectedValue checks that a total calcium judged
// after correcting for albumin says the value that was judged in the
// summary, the only line many clinicians read: 7.6 mg/dL with albumin
// 3.5 g/dL is 7.6 + 0.8 × (4 − 3.5) = 8 mg/dL corrected.
func TestCalciumSummaryShowsTheCorrectedValue(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{})
	obs := []obj{lcObservation("obs-ca", "17861-6", 7.6, "mg/dL", "2025-05-20"), lcObservation("obs-alb", "1751-7", 3.5, "g/dL", "2025-05-20")}
	lab := cardWithTopic(patientViewCards(t, srv, lcRequest(t, reviewPatient(nil, obs...))), "cramp-abnormal-lab")
	if lab == nil {
		t.Fatal("no calcium card")
	}
	if want := "Calcium (total) 7.6 mg/dL (corrected 8 mg/dL) on 2025-05-20: hypocalcemia"; lab.Summary != want {
		t.Errorf("summary %q, want %q", lab.Summary, want)
	}
}
