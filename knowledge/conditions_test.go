package knowledge_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

func icd(code string) fhir.Coding    { return fhir.Coding{System: fhir.SystemICD10CM, Code: code} }
func snomed(code string) fhir.Coding { return fhir.Coding{System: fhir.SystemSNOMED, Code: code} }

func TestIsTrigger(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	tests := []struct {
		c    fhir.Coding
		want bool
	}{
		{icd("G47.62"), true},
		{icd("R25.2"), true},
		{icd("g4762"), true}, // no dot, lower case
		{snomed("102549009"), true},
		{snomed("449918009"), true},
		{snomed("90392009"), true},
		{fhir.Coding{System: "urn:oid:2.16.840.1.113883.6.96", Code: "102549009"}, true},
		{icd("G47.6"), false},  // header: also holds periodic limb movements
		{icd("G47.61"), false}, // periodic limb movement disorder
		{icd("R25.1"), false},
		{icd("M62.831"), false}, // unverified, not shipped
		{snomed("55300003"), false},
		{fhir.Coding{System: fhir.SystemLOINC, Code: "102549009"}, false},
		{icd(""), false},
		{icd("G47.62.1.2.3.4"), false},
	}
	for _, tt := range tests {
		if got := b.IsTrigger(tt.c); got != tt.want {
			t.Errorf("IsTrigger(%v) = %v, want %v", tt.c, got, tt.want)
		}
	}
}

func ids(cs []*knowledge.Condition) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestAppendConditions(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	tests := []struct {
		c    fhir.Coding
		want []string
	}{
		// Synthea fixture conditions.
		{snomed("88805009"), []string{"heart-failure"}},
		{snomed("7200002"), []string{"alcohol-use-disorder"}},
		{snomed("72892002"), []string{"pregnancy"}},
		{snomed("44054006"), []string{"diabetes"}},
		{snomed("368581000119106"), []string{"diabetes", "diabetic-neuropathy"}}, // VSAC Diabetes holds it too
		{snomed("15777000"), nil},                                                // prediabetes is not diabetes
		{snomed("38341003"), nil},                                                // hypertension
		// ICD-10-CM codes of the value sets, including codes split over the years (https://www.cms.gov/medicare/coding-billing/icd-10-codes).
		{icd("G20"), []string{"parkinson-disease"}},
		{icd("G20.A1"), []string{"parkinson-disease"}},
		{icd("G35.B1"), []string{"multiple-sclerosis"}},
		{icd("M48.062"), []string{"lumbar-spinal-stenosis"}},
		{icd("M48.06"), []string{"lumbar-spinal-stenosis"}},
		{icd("N18.32"), []string{"chronic-kidney-disease"}},
		{icd("N18.6"), []string{"esrd-dialysis"}},
		{icd("N18.69"), nil}, // N18.6 is exact, not a prefix
		// E11.42 is in VSAC Diabetes, the neuropathy codes of it, and VSAC Peripheral Neuropathy.
		{icd("E11.42"), []string{"diabetes", "diabetic-neuropathy", "peripheral-neuropathy"}},
		{icd("e1142"), []string{"diabetes", "diabetic-neuropathy", "peripheral-neuropathy"}},
		{icd("E11.9"), []string{"diabetes"}},
		{icd("O26.891"), []string{"pregnancy"}},
		{icd("Z3A.30"), []string{"pregnancy"}},
		{icd("C80.1"), []string{"cancer"}},
		{icd("K70.31"), []string{"cirrhosis"}},
		{icd("I70.213"), []string{"peripheral-arterial-disease"}},
		{icd("I50.22"), []string{"heart-failure"}},
		{icd("F10.20"), []string{"alcohol-use-disorder"}},
		{icd("G62.1"), []string{"peripheral-neuropathy"}},
		{icd("G25.81"), []string{"restless-legs-syndrome"}},
		{icd("G47.61"), []string{"periodic-limb-movements"}},
		{icd("G47.62"), nil}, // the trigger itself is not an associated condition
		{icd("I10"), nil},
		{icd("not a code"), nil},
		{fhir.Coding{System: "http://example.org", Code: "E11.9"}, nil},
	}
	for _, tt := range tests {
		got := ids(b.AppendConditions(nil, tt.c))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("AppendConditions(%v) (-want +got):\n%s", tt.c, diff)
		}
	}
}

func TestDifferentials(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	want := []string{"peripheral-neuropathy", "restless-legs-syndrome", "periodic-limb-movements", "claudication", "myositis"}
	if diff := cmp.Diff(want, ids(b.Differentials())); diff != "" {
		t.Errorf("Differentials() (-want +got):\n%s", diff)
	}
	for _, d := range b.Differentials() {
		if len(d.Differential.Features) == 0 {
			t.Errorf("%s has no distinguishing features", d.ID)
		}
	}
	plms := b.Differentials()[2]
	if plms.Differential.Question == nil {
		t.Error("periodic limb movements: want the bed-partner screening question (seed 000 line 36)")
	}
}

func TestPearlsAreCited(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	if len(b.Pearls()) < 10 {
		t.Errorf("only %d pearls, want the seeds' pearls and pitfalls", len(b.Pearls()))
	}
	for _, p := range b.Pearls() {
		if len(p.Evidence) == 0 || p.Evidence[0].SourceTitle == "" {
			t.Errorf("pearl %s: evidence %+v, want resolved citations", p.ID, p.Evidence)
		}
	}
}

func BenchmarkIsTrigger(b *testing.B) {
	kb := mustLoad(b)
	c := icd("G47.62")
	for b.Loop() {
		kb.IsTrigger(c)
	}
}

func BenchmarkAppendConditionsICDPrefix(b *testing.B) {
	kb := mustLoad(b)
	c := icd("E11.42")
	dst := make([]*knowledge.Condition, 0, 8)
	for b.Loop() {
		dst = kb.AppendConditions(dst[:0], c)
	}
}

// TestGradeFollowsTheSources: the grade a card and the page print follows the
// kind of document behind the item. An associated condition or a drug class
// that no clinical summary and no publication names is graded reported (review
// finding: heart failure was graded reported, hypothyroidism and diabetes,
// named only by patient leaflets too, were not).
func TestGradeFollowsTheSources(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	onlyLeaflets := func(cs []knowledge.Citation) bool {
		for _, c := range cs {
			if c.Resolved != nil {
				return false
			}
			if s := b.Source(c.Seed); s != nil && strings.HasPrefix(s.Kind, "clinical summary") {
				return false
			}
		}
		return true
	}
	for _, c := range b.Conditions() {
		if c.Associated && onlyLeaflets(c.Evidence) && c.Strength != knowledge.StrengthReported {
			t.Errorf("condition %s: named only by patient information pages, graded %q, want reported", c.ID, c.Strength)
		}
	}
	for _, cl := range b.Classes() {
		if onlyLeaflets(cl.StrengthEvidence) && cl.Strength != knowledge.StrengthReported {
			t.Errorf("class %s: its grade rests only on patient information pages, graded %q, want reported", cl.ID, cl.Strength)
		}
	}
}
