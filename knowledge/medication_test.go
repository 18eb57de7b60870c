package knowledge_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

func rx(code, display string) fhir.Concept {
	return fhir.Concept{Codings: []fhir.Coding{{System: fhir.SystemRxNorm, Code: code, Display: display}}, Text: display}
}

func atc(code string) fhir.Concept {
	return fhir.Concept{Codings: []fhir.Coding{{System: fhir.SystemATC, Code: code}}}
}

func text(s string) fhir.Concept { return fhir.Concept{Text: s} }

// summary renders matches as "ingredient/kind" (or "class:<id>/kind" for class-only), with "~" for low confidence.
func summary(ms []knowledge.MedicationMatch) []string {
	var out []string
	for _, m := range ms {
		s := "class:" + m.Class.ID
		if m.Ingredient != nil {
			s = m.Ingredient.ID
		}
		s += "/" + m.Kind.String()
		if m.LowConfidence {
			s += "~"
		}
		out = append(out, s)
	}
	return out
}

func TestMatchMedication(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	tests := []struct {
		name string
		drug fhir.Concept
		want []string
	}{
		// Synthea codes and texts (testdata/synthea, from https://github.com/synthetichealth/synthea).
		{"HCTZ component code 316049", rx("316049", "Hydrochlorothiazide 25 MG"), []string{"hydrochlorothiazide/rxnorm"}},
		{"Lasix 40mg (unverified code, brand text)", rx("315971", "Lasix 40mg"), []string{"furosemide/rxnorm~"}},
		{"Lasix 40mg as text only", text("Lasix 40mg"), []string{"furosemide/text~"}},
		{"fluticasone/salmeterol inhaler 896209", rx("896209", "60 ACTUAT Fluticasone propionate 0.25 MG/ACTUAT / salmeterol 0.05 MG/ACTUAT Dry Powder Inhaler"), []string{"salmeterol/rxnorm"}},
		{"Simvistatin 10 MG code 316672", rx("316672", "Simvistatin 10 MG"), []string{"simvastatin/rxnorm"}},
		{"Simvistatin 10 MG text only (typo)", text("Simvistatin 10 MG"), []string{"simvastatin/text~"}},
		{"naproxen sodium 849574", rx("849574", "Naproxen sodium 220 MG Oral Tablet"), []string{"naproxen/rxnorm"}},
		{"naproxen sodium text", text("Naproxen sodium 220 MG Oral Tablet"), []string{"naproxen/text~"}},
		{"amlodipine 197361", rx("197361", "Amlodipine 5 MG Oral Tablet"), []string{"amlodipine/rxnorm"}},
		{"verapamil 897718", rx("897718", "Verapamil Hydrochloride 40 MG"), []string{"verapamil/rxnorm"}},
		{"furosemide injection 1719286", rx("1719286", "10 ML Furosemide 10 MG/ML Injection"), []string{"furosemide/rxnorm"}},
		{"ibuprofen 310965", rx("310965", "Ibuprofen 200 MG Oral Tablet"), []string{"ibuprofen/rxnorm"}},
		{"ibuprofen 198405", rx("198405", "Ibuprofen 100 MG Oral Tablet"), []string{"ibuprofen/rxnorm"}},
		// Negatives: salts and drugs that do not cause cramps.
		{"losartan potassium", text("losartan potassium 50 MG Oral Tablet"), nil},
		{"potassium chloride supplement", text("Potassium Chloride 20 MEQ Extended Release Oral Tablet"), nil},
		{"metformin 860975", rx("860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"), nil},
		{"lisinopril 314076", rx("314076", "lisinopril 10 MG Oral Tablet"), nil},
		{"rosuvastatin calcium is a statin, not calcium", text("rosuvastatin calcium 10 MG Oral Tablet"), []string{"rosuvastatin/text~"}},
		// Combinations map to every ingredient of the base.
		{"HCTZ/losartan 979468", rx("979468", "hydrochlorothiazide 12.5 MG / losartan potassium 50 MG Oral Tablet"), []string{"hydrochlorothiazide/rxnorm"}},
		{"amlodipine/atorvastatin 597977", rx("597977", "Amlodipine 5 MG / atorvastatin 10 MG Oral Tablet"), []string{"amlodipine/rxnorm", "atorvastatin/rxnorm"}},
		{"HCTZ/triamterene text", text("Triamterene 37.5 MG / Hydrochlorothiazide 25 MG Oral Capsule"), []string{"hydrochlorothiazide/text~", "triamterene/text~"}},
		{"combination brand", text("Dyazide capsule"), []string{"hydrochlorothiazide/text~", "triamterene/text~"}},
		// Text normalisation.
		{"tall-man capitals", text("hydroCHLOROthiazide 25 MG"), []string{"hydrochlorothiazide/text~"}},
		{"HCTZ abbreviation", text("HCTZ 12.5mg daily"), []string{"hydrochlorothiazide/text~"}},
		{"multi-word name", text("Estrogens, Conjugated (USP) 0.625 MG Oral Tablet"), []string{"conjugated-estrogens/text~"}},
		{"iron sucrose brand", text("Venofer 200 mg IV"), []string{"iron-sucrose/text~"}},
		{"lithium carbonate", text("Lithium Carbonate 300 MG Oral Capsule"), []string{"lithium/text~"}},
		{"arformoterol is its own LABA, not formoterol", text("arformoterol 15 mcg nebulised"), []string{"arformoterol/text~"}},
		{"RxNorm ingredient code", rx("4603", "furosemide"), []string{"furosemide/rxnorm"}},
		{"unverified ingredient code", rx("298869", "eplerenone"), []string{"eplerenone/rxnorm~"}},
		{"unknown code falls back to text", rx("999999", "Spironolactone 25 MG Oral Tablet"), []string{"spironolactone/text~"}},
		// ATC, with its pitfalls: combination codes (M01AE56) name a class, not every ingredient.
		{"ATC naproxen M01AE02", atc("M01AE02"), []string{"naproxen/atc"}},
		{"ATC naproxen+misoprostol M01AE56 is an NSAID by class only", atc("M01AE56"), []string{"class:nsaid/atc"}},
		{"ATC M01AX is mixed: only its NSAID nabumetone counts", atc("M01AX01"), []string{"nabumetone/atc"}},
		{"ATC M01AX05 glucosamine is not an NSAID", atc("M01AX05"), nil},
		{"ATC lithium N05AN01 is lithium, not an antipsychotic", atc("N05AN01"), []string{"lithium/atc"}},
		{"ATC antipsychotic by class root", atc("N05AB02"), []string{"class:antipsychotic/atc"}},
		{"ATC salbutamol R03AC02 is short-acting", atc("R03AC02"), nil},
		{"ATC salmeterol R03AC12", atc("R03AC12"), []string{"salmeterol/atc"}},
		{"ATC fluticasone/salmeterol R03AK06", atc("R03AK06"), []string{"salmeterol/atc"}},
		{"ATC parenteral iron B03AC is not iron sucrose", atc("B03AC"), nil},
		{"ATC oral iron B03AB02 is not parenteral", atc("B03AB02"), nil},
		{"ATC teriparatide", atc("H05AA02"), []string{"teriparatide/atc"}},
		{"ATC thiazide combination C09DA01", atc("C09DA01"), []string{"class:thiazide-diuretic/atc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := summary(b.MatchMedication(tt.drug))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("MatchMedication(%+v) mismatch (-want +got):\n%s", tt.drug, diff)
			}
		})
	}
}

func TestMatchMedicationDetails(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)

	ms := b.MatchMedication(rx("896209", "60 ACTUAT Fluticasone propionate 0.25 MG/ACTUAT / salmeterol 0.05 MG/ACTUAT Dry Powder Inhaler"))
	if len(ms) != 1 {
		t.Fatalf("got %d matches, want 1", len(ms))
	}
	m := ms[0]
	if got, want := m.Class.ID, "long-acting-beta-agonist"; got != want {
		t.Errorf("Class = %q, want %q", got, want)
	}
	if m.Product == nil || m.Product.RxCUI != "896209" {
		t.Errorf("Product = %+v, want the 896209 product entry", m.Product)
	}
	if got, want := m.Coding.Code, "896209"; got != want {
		t.Errorf("Coding.Code = %q, want %q", got, want)
	}
	if len(m.Evidence()) == 0 {
		t.Error("Evidence() is empty, want the class's citations")
	}

	fuzzy := b.MatchMedication(text("Simvistatin 10 MG"))
	if len(fuzzy) != 1 || !fuzzy[0].Fuzzy || fuzzy[0].Matched != "simvastatin" {
		t.Errorf("Simvistatin text: got %+v, want one fuzzy match on simvastatin", fuzzy)
	}

	// A Medication's ingredient concepts count too.
	withIngredients := b.MatchMedication(text("Compounded capsule"), rx("5487", "hydrochlorothiazide"))
	if diff := cmp.Diff([]string{"hydrochlorothiazide/rxnorm"}, summary(withIngredients)); diff != "" {
		t.Errorf("ingredient concept (-want +got):\n%s", diff)
	}
}

// synthea is the part of a Synthea bundle the recognition test reads.
type synthea struct {
	Entry []struct {
		Resource struct {
			ResourceType string `json:"resourceType"`
			Medication   struct {
				Coding []struct {
					System, Code, Display string
				} `json:"coding"`
				Text string `json:"text"`
			} `json:"medicationCodeableConcept"`
			Code struct {
				Coding []struct {
					System, Code, Display string
				} `json:"coding"`
			} `json:"code"`
			ValueQuantity *struct {
				Value              float64
				Unit, System, Code string
			} `json:"valueQuantity"`
		} `json:"resource"`
	} `json:"entry"`
}

func readSynthea(t *testing.T) map[string]synthea {
	t.Helper()
	paths, err := filepath.Glob("../testdata/synthea/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no Synthea fixtures: %v", err)
	}
	out := map[string]synthea{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var s synthea
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[filepath.Base(p)] = s
	}
	return out
}

// TestRecognitionOnSyntheaFixtures runs every MedicationRequest of the fixtures through the matcher.
// The table must name every RxNorm code found there, so a new fixture drug cannot go unchecked.
func TestRecognitionOnSyntheaFixtures(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	want := map[string][]string{ // RxCUI -> expected summary, from the fixtures' displays
		"316049":  {"hydrochlorothiazide/rxnorm"},
		"315971":  {"furosemide/rxnorm~"}, // "Lasix 40mg"
		"1719286": {"furosemide/rxnorm"},
		"896209":  {"salmeterol/rxnorm"},
		"849574":  {"naproxen/rxnorm"},
		"197361":  {"amlodipine/rxnorm"},
		"897718":  {"verapamil/rxnorm"},
		"310965":  {"ibuprofen/rxnorm"},
		"312961":  {"simvastatin/rxnorm"},
		// Not cramp-inducing in the seeds.
		"860975": nil, "1043400": nil, "1190795": nil, "1599803": nil, "1660014": nil, "1860480": nil,
		"197604": nil, "2001499": nil, "309362": nil, "310436": nil, "313782": nil, "563026": nil,
		"705129": nil, "749785": nil, "752899": nil, "834357": nil, "855332": nil, "861467": nil,
		"866414": nil, "904419": nil,
	}
	seen := 0
	for file, bundle := range readSynthea(t) {
		for _, e := range bundle.Entry {
			r := e.Resource
			if r.ResourceType != "MedicationRequest" {
				continue
			}
			c := fhir.Concept{Text: r.Medication.Text}
			for _, cd := range r.Medication.Coding {
				c.Codings = append(c.Codings, fhir.Coding{System: cd.System, Code: cd.Code, Display: cd.Display})
			}
			if len(c.Codings) == 0 {
				continue
			}
			code := c.Codings[0].Code
			w, ok := want[code]
			if !ok {
				t.Errorf("%s: RxNorm %s %q is not in the test table; add its expected match", file, code, c.Text)
				continue
			}
			seen++
			if diff := cmp.Diff(w, summary(b.MatchMedication(c))); diff != "" {
				t.Errorf("%s: %s %q (-want +got):\n%s", file, code, c.Text, diff)
			}
		}
	}
	if seen == 0 {
		t.Fatal("no MedicationRequest found in the fixtures")
	}
}

// TestEveryCuratedCodeMatches runs each ingredient and product code of the base through the matcher
// (the curated codes must all be recognised): each must come back as the ingredients the data names.
func TestEveryCuratedCodeMatches(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	for _, p := range b.Products() {
		got := map[string]bool{}
		for _, m := range b.MatchMedication(rx(p.RxCUI, "")) {
			if m.Kind == knowledge.MatchRxNorm {
				got[m.Ingredient.ID] = true
			}
		}
		for _, id := range p.Ingredients {
			if !got[id] {
				t.Errorf("product %s (%s): ingredient %s not matched", p.RxCUI, p.Display, id)
			}
		}
	}
	for _, cl := range b.Classes() {
		for _, ing := range cl.Ingredients {
			for _, code := range ing.RxNorm {
				ms := b.MatchMedication(rx(code.Code, ""))
				if len(ms) != 1 || ms[0].Ingredient != ing || ms[0].LowConfidence != code.Unverified {
					t.Errorf("RxNorm %s: got %v, want %s (low confidence = unverified = %v)", code.Code, summary(ms), ing.ID, code.Unverified)
				}
			}
			for _, code := range ing.ATC {
				ms := b.MatchMedication(atc(code.Code))
				has := slices.ContainsFunc(ms, func(m knowledge.MedicationMatch) bool { return m.Ingredient == ing })
				// A combination code shared with another ingredient (C09DX01 holds amlodipine too) yields both.
				if !has || (len(ms) != 1 && code.SharedWith == "") {
					t.Errorf("ATC %s: got %v, want %s", code.Code, summary(ms), ing.ID)
				}
			}
			names := append(append(append([]string{ing.Name}, ing.Synonyms...), ing.Brands...), ing.BrandsUnverified...)
			for _, n := range names {
				ms := b.MatchMedication(text(n + " 10 MG"))
				if len(ms) != 1 || ms[0].Ingredient != ing {
					t.Errorf("text %q: got %v, want %s", n, summary(ms), ing.ID)
				}
			}
		}
	}
}

func BenchmarkMatchMedicationCode(b *testing.B) {
	kb := mustLoad(b)
	drug := fhir.Concept{Codings: []fhir.Coding{{System: fhir.SystemRxNorm, Code: "896209"}}}
	dst := make([]knowledge.MedicationMatch, 0, 8)
	for b.Loop() {
		dst = kb.AppendMedicationMatches(dst[:0], drug, nil)
	}
}

func BenchmarkMatchMedicationText(b *testing.B) {
	kb := mustLoad(b)
	drug := text("60 ACTUAT Fluticasone propionate 0.25 MG/ACTUAT / salmeterol 0.05 MG/ACTUAT Dry Powder Inhaler")
	dst := make([]knowledge.MedicationMatch, 0, 8)
	for b.Loop() {
		dst = kb.AppendMedicationMatches(dst[:0], drug, nil)
	}
}

func BenchmarkMatchMedicationSyntheaRequest(b *testing.B) {
	kb := mustLoad(b)
	drug := rx("316672", "Simvistatin 10 MG")
	dst := make([]knowledge.MedicationMatch, 0, 8)
	for b.Loop() {
		dst = kb.AppendMedicationMatches(dst[:0], drug, nil)
	}
}
