package knowledge_test

import "testing"

// TestValidateLabs: loading refuses broken labs.yaml: work-up items, labs, their value sets, units and thresholds, and what they name elsewhere.
func TestValidateLabs(t *testing.T) {
	t.Parallel()
	testRejects(t, []brokenData{
		{"unknown value set", "labs.yaml", []string{"valueset: lab-tsh ", "valueset: lab-thyroid "}, `unknown value set "lab-thyroid"`},
		{"value set of the wrong kind", "labs.yaml", []string{"valueset: lab-tsh ", "valueset: condition-hypothyroidism "}, "is a condition value set, want lab"},
		{"order code outside the work-up's value sets", "labs.yaml", []string{"order: {code: 19123-9,", "order: {code: 2823-3,"}, "order code 2823-3 is in none of its labs' value sets"},
		{"bad threshold op", "labs.yaml", []string{`op: "<", value: 3.5`, `op: "lt", value: 3.5`}, "needs a finding, an op"},
		{"canonical unit not listed", "labs.yaml", []string{"canonical_unit: mmol/L", "canonical_unit: mol/L"}, `canonical unit "mol/L"`},
		{"no lookback", "labs.yaml", []string{"lookback_months: 12", "lookback_months: 0"}, "lookback_months must be at least 1"},
		{"recommended for an unknown drug class", "labs.yaml", []string{"drug_classes: [thiazide-diuretic, loop-diuretic,", "drug_classes: [thiazides, loop-diuretic,"}, `recommend_when: unknown drug class "thiazides"`},
		{"threshold known by an unknown condition", "labs.yaml", []string{"known_by: [diabetes, diabetic-neuropathy]", "known_by: [diabetes-mellitus, diabetic-neuropathy]"}, `lab hba1c known_by: unknown condition "diabetes-mellitus"`},
		{"critical limit without its action (issue 26 item 2)", "labs.yaml", []string{`action: "Repeat or confirm the result, stop magnesium-containing drugs, check renal function, and consider an ECG."`, `note: "none"`}, `critical limit "critically high magnesium" needs an action`},
		{"moved_by without a side", "labs.yaml", []string{`{direction: high, name: "ACE inhibitors"`, `{direction: up, name: "ACE inhibitors"`}, `moved_by "ACE inhibitors" needs a direction low or high`},
		{"defers to an unknown lab", "labs.yaml", []string{"defers_to: egfr", "defers_to: gfr"}, `lab creatinine defers_to: unknown lab "gfr"`},
	})
}
