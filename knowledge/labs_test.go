package knowledge_test

import (
	"errors"
	"math"
	"testing"

	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

func loinc(code string) fhir.Coding { return fhir.Coding{System: fhir.SystemLOINC, Code: code} }

func TestLabFor(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	tests := []struct {
		coding fhir.Coding
		want   string // lab id, "" for none
	}{
		{loinc("6298-4"), "potassium"},  // Synthea potassium in blood
		{loinc("2823-3"), "potassium"},  // serum/plasma
		{loinc("49765-1"), "calcium"},   // Synthea calcium in blood
		{loinc("17861-6"), "calcium"},   // serum/plasma
		{loinc("19123-9"), "magnesium"}, // serum/plasma
		{loinc("3016-3"), "tsh"},
		{loinc("4548-4"), "hba1c"},
		{loinc("17856-6"), "hba1c"}, // by HPLC
		{loinc("59261-8"), "hba1c"}, // IFCC, mmol/mol
		{loinc("38483-4"), "creatinine"},
		{loinc("14682-9"), "creatinine"},
		{loinc("33914-3"), "egfr"},
		{loinc("98979-8"), "egfr"},
		// Issue 14: codes real laboratories send that the hand-picked lists missed.
		{loinc("2601-3"), "magnesium"},       // molar magnesium (mmol/L)
		{loinc("2000-8"), "calcium"},         // molar total calcium
		{loinc("1994-3"), "ionized-calcium"}, // ionized calcium in blood, kept apart from total
		{loinc("1995-0"), "ionized-calcium"}, // ionized calcium in serum or plasma
		{loinc("11579-0"), "tsh"},            // TSH, detection limit 0.05
		{loinc("11580-8"), "tsh"},            // TSH, detection limit 0.005
		{loinc("3015-5"), "tsh"},             // older TSH code (unverified display)
		{loinc("98980-6"), "egfr"},           // CKD-EPI 2021 creatinine and cystatin C
		{loinc("50210-4"), "egfr"},           // cystatin C-based
		{loinc("77142-8"), "potassium"},      // serum, plasma or blood
		{loinc("32713-0"), "potassium"},      // arterial blood
		{loinc("59826-8"), "creatinine"},     // molar creatinine in blood
		{loinc("1751-7"), "albumin"},         // albumin: an adjunct lab (no work-up), read to correct total calcium
		{loinc("29265-6"), ""},               // albumin-corrected calcium is left out: the rules correct themselves
		{loinc("2947-0"), ""},                // sodium is not a work-up lab
		{fhir.Coding{System: fhir.SystemSNOMED, Code: "6298-4"}, ""},
		{fhir.Coding{System: "urn:oid:2.16.840.1.113883.6.1", Code: "6298-4"}, "potassium"},
	}
	for _, tt := range tests {
		got := ""
		if l := b.LabFor(tt.coding); l != nil {
			got = l.ID
		}
		if got != tt.want {
			t.Errorf("LabFor(%v) = %q, want %q", tt.coding, got, tt.want)
		}
	}
}

func TestWorkups(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	want := map[string]struct {
		order string
		labs  []string
	}{
		"potassium":      {"2823-3", []string{"potassium"}},
		"magnesium":      {"19123-9", []string{"magnesium"}},
		"calcium":        {"17861-6", []string{"calcium", "ionized-calcium"}},
		"thyroid":        {"3016-3", []string{"tsh"}},
		"hba1c":          {"4548-4", []string{"hba1c"}},
		"renal-function": {"2160-0", []string{"creatinine", "egfr"}},
	}
	if got := len(b.Workups()); got != len(want) {
		t.Errorf("len(Workups()) = %d, want %d", got, len(want))
	}
	for _, w := range b.Workups() {
		exp, ok := want[w.ID]
		if !ok {
			t.Errorf("unexpected workup %q", w.ID)
			continue
		}
		if w.Order.Code != exp.order {
			t.Errorf("workup %s orders %s, want %s", w.ID, w.Order.Code, exp.order)
		}
		if w.LookbackMonths != 12 {
			t.Errorf("workup %s LookbackMonths = %d, want 12", w.ID, w.LookbackMonths)
		}
		for i, l := range w.Resolved {
			if l.ID != exp.labs[i] || l.Workup != w {
				t.Errorf("workup %s lab %d = %s, want %s linked back", w.ID, i, l.ID, exp.labs[i])
			}
		}
	}
}

// TestToCanonicalAndThresholds uses values and factors computed by hand: molar masses (magnesium
// 24.305, calcium 40.078 g/mol), creatinine 88.42 umol/L per mg/dL, and the NGSP/IFCC master
// equation for HbA1c (https://ngsp.org/ifccngsp.asp); unit codes are UCUM (https://ucum.org).
func TestToCanonicalAndThresholds(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	tests := []struct {
		lab     string
		q       fhir.Quantity
		want    float64 // canonical value
		finding string  // "" when no threshold is crossed
	}{
		{"magnesium", fhir.Quantity{Value: 1.2, Code: "mg/dL"}, 1.2, "hypomagnesemia"},
		{"magnesium", fhir.Quantity{Value: 0.85, Code: "mmol/L"}, 2.06635, ""},
		{"magnesium", fhir.Quantity{Value: 0.6, Code: "mmol/L"}, 1.4586, "hypomagnesemia"},
		{"magnesium", fhir.Quantity{Value: 1.2, Code: "mEq/L"}, 1.4586, "hypomagnesemia"},
		{"magnesium", fhir.Quantity{Value: 1.7, Unit: "meq/L"}, 2.06635, ""},
		{"magnesium", fhir.Quantity{Value: 1.6, Code: "mg/dL"}, 1.6, ""}, // the cut-off itself is not low
		{"potassium", fhir.Quantity{Value: 3.2, Code: "mmol/L"}, 3.2, "hypokalemia"},
		{"potassium", fhir.Quantity{Value: 3.9, Code: "meq/L"}, 3.9, ""}, // cqf-recommendations CHF example
		{"potassium", fhir.Quantity{Value: 3.4, Code: "mEq/L"}, 3.4, "hypokalemia"},
		{"potassium", fhir.Quantity{Value: 3.4, Code: "MMOL/L"}, 3.4, "hypokalemia"}, // case-insensitive fallback
		{"potassium", fhir.Quantity{Value: 5.4, Code: "mmol/L"}, 5.4, ""},            // US Core example
		{"calcium", fhir.Quantity{Value: 7.7, Code: "mg/dL"}, 7.7, "hypocalcemia"},   // US Core example
		{"calcium", fhir.Quantity{Value: 2.0, Code: "mmol/L"}, 8.016, "hypocalcemia"},
		{"calcium", fhir.Quantity{Value: 2.3, Code: "mmol/L"}, 9.2184, ""},
		{"tsh", fhir.Quantity{Value: 5.0, Code: "u[IU]/mL"}, 5.0, "high TSH (hypothyroid range)"},
		{"tsh", fhir.Quantity{Value: 0.3, Code: "m[IU]/L"}, 0.3, "low TSH (hyperthyroid range)"},
		{"tsh", fhir.Quantity{Value: 2.0, Unit: "mIU/L"}, 2.0, ""},
		{"hba1c", fhir.Quantity{Value: 6.5, Code: "%"}, 6.5, "HbA1c in the diabetes range"},
		{"hba1c", fhir.Quantity{Value: 6.4, Code: "%"}, 6.4, ""},
		{"hba1c", fhir.Quantity{Value: 48, Code: "mmol/mol"}, 48/10.929 + 2.15, "HbA1c in the diabetes range"},
		{"hba1c", fhir.Quantity{Value: 39, Code: "mmol/mol"}, 39/10.929 + 2.15, ""},
		{"creatinine", fhir.Quantity{Value: 150, Code: "umol/L"}, 150 / 88.42, "creatinine above the reference range"},
		{"creatinine", fhir.Quantity{Value: 1.0, Code: "mg/dL"}, 1.0, ""},
		{"egfr", fhir.Quantity{Value: 45, Code: "mL/min/{1.73_m2}"}, 45, "reduced eGFR"},
		{"egfr", fhir.Quantity{Value: 45, Code: "mL/min"}, 45, "reduced eGFR"},
		{"egfr", fhir.Quantity{Value: 75, Code: "mL/min/{1.73_m2}"}, 75, ""},
		// Ionized calcium: 1 mmol/L = 4.008 mg/dL; low below 1.12 mmol/L (standard chemistry; a common laboratory range).
		{"ionized-calcium", fhir.Quantity{Value: 1.0, Code: "mmol/L"}, 1.0, "low ionized calcium"},
		{"ionized-calcium", fhir.Quantity{Value: 1.12, Code: "mmol/L"}, 1.12, ""},
		{"ionized-calcium", fhir.Quantity{Value: 4.8, Code: "mg/dL"}, 4.8 / 4.008, ""},
		// Albumin: 1 g/dL = 10 g/L; it has no threshold of its own.
		{"albumin", fhir.Quantity{Value: 35, Code: "g/L"}, 3.5, ""},
		{"albumin", fhir.Quantity{Value: 2.1, Code: "g/dL"}, 2.1, ""},
	}
	for _, tt := range tests {
		l := b.Lab(tt.lab)
		got, err := l.ToCanonical(tt.q)
		if err != nil {
			t.Errorf("%s ToCanonical(%+v): %v", tt.lab, tt.q, err)
			continue
		}
		if math.Abs(got-tt.want) > 1e-3 {
			t.Errorf("%s ToCanonical(%+v) = %.4f, want %.4f", tt.lab, tt.q, got, tt.want)
		}
		th, crossed := assess(l, got)
		if gotF := map[bool]string{true: th.Finding}[crossed]; gotF != tt.finding {
			t.Errorf("%s Assess(%.4f) = %q, want %q", tt.lab, got, gotF, tt.finding)
		}
	}
}

func TestToCanonicalErrors(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	mg := b.Lab("magnesium")
	for _, q := range []fhir.Quantity{
		{Value: 2, Code: "g/L"},
		{Value: 2},
		{Value: 2, Unit: "mmol"},
	} {
		if _, err := mg.ToCanonical(q); !errors.Is(err, knowledge.ErrUnknownUnit) {
			t.Errorf("ToCanonical(%+v) error = %v, want ErrUnknownUnit", q, err)
		}
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.MaxFloat64} {
		if _, err := mg.ToCanonical(fhir.Quantity{Value: v, Code: "mmol/L"}); err == nil {
			t.Errorf("ToCanonical(%v mmol/L) succeeded, want an error", v)
		}
	}
}

// TestSyntheaResultsConvert checks every work-up result in the fixtures has a known unit.
func TestSyntheaResultsConvert(t *testing.T) {
	t.Parallel()
	b := mustLoad(t)
	seen := map[string]int{}
	for file, bundle := range readSynthea(t) {
		for _, e := range bundle.Entry {
			r := e.Resource
			if r.ResourceType != "Observation" || r.ValueQuantity == nil || len(r.Code.Coding) == 0 {
				continue
			}
			cd := r.Code.Coding[0]
			l := b.LabFor(fhir.Coding{System: cd.System, Code: cd.Code})
			if l == nil {
				continue
			}
			v := r.ValueQuantity
			if _, err := l.ToCanonical(fhir.Quantity{Value: v.Value, Unit: v.Unit, System: v.System, Code: v.Code}); err != nil {
				t.Errorf("%s: %s: %v", file, cd.Code, err)
			}
			seen[l.ID]++
		}
	}
	for _, id := range []string{"potassium", "calcium", "hba1c", "creatinine", "egfr"} {
		if seen[id] == 0 {
			t.Errorf("no %s result found in the fixtures", id)
		}
	}
}

func BenchmarkLabForAndConvert(b *testing.B) {
	kb := mustLoad(b)
	c := loinc("19123-9")
	q := fhir.Quantity{Value: 0.7, Code: "mmol/L"}
	for b.Loop() {
		l := kb.LabFor(c)
		v, err := l.ToCanonical(q)
		if err != nil {
			b.Fatal(err)
		}
		assess(l, v)
	}
}

// assess returns the first threshold of l that value (in the canonical unit)
// crosses, as the rules judge a result once converted.
func assess(l *knowledge.Lab, value float64) (knowledge.Threshold, bool) {
	for _, t := range l.Thresholds {
		if t.Crossed(value) {
			return t, true
		}
	}
	return knowledge.Threshold{}, false
}
