package knowledge_test

import "testing"

// TestValidateMedications: loading refuses broken medications.yaml: classes, ingredients, their codes and names, products, and the labs a class affects.
func TestValidateMedications(t *testing.T) {
	t.Parallel()
	testRejects(t, []brokenData{
		{"warning without its URL (issue 26 item 3)", "medications.yaml", []string{`    url: "http://www.fda.gov/Drugs/DrugSafety/PostmarketDrugSafetyInformationforPatientsandProviders/ucm218202.htm"`, `    url: ""`}, "needs an id, a name, names, the warning, its source and its URL"},
		{"RxCUI not digits", "medications.yaml", []string{`code: "5487"`, `code: "54x7"`}, `RxNorm code "54x7"`},
		{"ATC format", "medications.yaml", []string{"{code: C03AA03,", "{code: C03A03,"}, `ATC code "C03A03"`},
		{"prefix on an ingredient", "medications.yaml", []string{"{code: C03CA01,", "{code: C03CA, prefix: true,"}, "class roots go in the class's atc_prefixes"},
		{"code without source", "medications.yaml", []string{`{code: C03CA01, source: "WHO ATC index 2025-06-14 (fabkury/atcd@1e92aec)"}`, `{code: C03CA01, source: ""}`}, "has no source"},
		{"code claimed twice", "medications.yaml", []string{`{code: "1808",`, `{code: "4603",`}, "is claimed by both"},
		{"stale drug value set", "valuesets/drug-loop-diuretic.json", []string{`"code": "4603"`, `"code": "4604"`}, "RxNorm 4603 is not in value set drug-loop-diuretic"},
		{"salt-only name", "medications.yaml", []string{"synonyms: [hctz]", "synonyms: [potassium]"}, "no matchable words"},
		{"name of two ingredients", "medications.yaml", []string{"brands_unverified: [Microzide]", "brands_unverified: [Lasix]"}, "is also a name of"},
		{"product of unknown ingredient", "medications.yaml", []string{"ingredients: [torsemide]", "ingredients: [torasemide]"}, `unknown ingredient "torasemide"`},
		{"lab effect on an unknown lab", "medications.yaml", []string{"{lab: potassium, direction: low, source: \"clinical pharmacology (standard practice; the seeds do not say it): thiazide", "{lab: kalium, direction: low, source: \"clinical pharmacology (standard practice; the seeds do not say it): thiazide"}, `class thiazide-diuretic lab_effects: unknown lab "kalium"`},
		{"lab effect without a direction", "medications.yaml", []string{"{lab: potassium, direction: low, source: \"clinical pharmacology (standard practice; the seeds do not say it): thiazide", "{lab: potassium, direction: down, source: \"clinical pharmacology (standard practice; the seeds do not say it): thiazide"}, "lab effect on potassium needs a direction (low or high)"},
	})
}
