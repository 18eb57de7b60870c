package knowledge_test

import (
	"testing"

	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// TestLookupsDoNotAllocate proves the per-request look-ups are allocation-free, so rules can run them
// for every medication, condition and result of every request.
func TestLookupsDoNotAllocate(t *testing.T) {
	b := mustLoad(t)
	meds := make([]knowledge.MedicationMatch, 0, 8)
	conds := make([]*knowledge.Condition, 0, 8)
	mg := b.Lab("magnesium")
	tests := []struct {
		name string
		f    func()
	}{
		{"IsTrigger ICD", func() { b.IsTrigger(icd("g47.62")) }},
		{"IsTrigger SNOMED", func() { b.IsTrigger(snomed("102549009")) }},
		{"LabFor", func() { b.LabFor(loinc("6298-4")) }},
		{"LabFor a value-set code", func() { b.LabFor(loinc("2601-3")) }},
		{"ToCanonical+Assess", func() {
			v, _ := mg.ToCanonical(fhir.Quantity{Value: 0.6, Code: "mmol/L"})
			assess(mg, v)
		}},
		{"AppendConditions ICD prefix", func() { conds = b.AppendConditions(conds[:0], icd("E11.42")) }},
		{"AppendConditions SNOMED", func() { conds = b.AppendConditions(conds[:0], snomed("88805009")) }},
		{"AppendConditions VSAC code", func() { conds = b.AppendConditions(conds[:0], snomed("441481004")) }},
		{"medication by shared ATC code", func() { meds = b.AppendMedicationMatches(meds[:0], atc("C09DX01"), nil) }},
		{"medication taken out by a form word", func() {
			meds = b.AppendMedicationMatches(meds[:0], text("diclofenac sodium 1 % Topical Gel"), []fhir.Concept{rx("3355", "")})
		}},
		{"medication by product code", func() {
			meds = b.AppendMedicationMatches(meds[:0], fhir.Concept{Codings: []fhir.Coding{{System: fhir.SystemRxNorm, Code: "597977"}}}, nil)
		}},
		{"medication by ATC root", func() { meds = b.AppendMedicationMatches(meds[:0], atc("N05AB02"), nil) }},
		{"medication by text with salt and typo", func() {
			meds = b.AppendMedicationMatches(meds[:0], text("Simvistatin 10 MG / Naproxen sodium 220 MG"), nil)
		}},
		{"medication by code and display", func() {
			meds = b.AppendMedicationMatches(meds[:0], rx("896209", "60 ACTUAT Fluticasone propionate 0.25 MG/ACTUAT / salmeterol 0.05 MG/ACTUAT Dry Powder Inhaler"), nil)
		}},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(100, tt.f); got != 0 {
			t.Errorf("%s: %v allocations per run, want 0", tt.name, got)
		}
	}
	if len(meds) != 1 || len(conds) != 1 {
		t.Errorf("look-ups returned %d medications and %d conditions, want 1 and 1 (the last calls)", len(meds), len(conds))
	}
}
