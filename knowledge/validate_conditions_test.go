package knowledge_test

import "testing"

// TestValidateConditions: loading refuses broken conditions.yaml: associated conditions and differentials, their value sets, timing and specialisation.
func TestValidateConditions(t *testing.T) {
	t.Parallel()
	testRejects(t, []brokenData{
		{"specialises an unknown condition", "conditions.yaml", []string{"specialises: [diabetes, peripheral-neuropathy]", "specialises: [diabetes-mellitus, peripheral-neuropathy]"}, `condition diabetic-neuropathy specialises: unknown condition "diabetes-mellitus"`},
		{"transient on an unknown lab", "conditions.yaml", []string{"transient: {months: 24, lab: potassium,", "transient: {months: 24, lab: kalium,"}, `condition hypokalemia transient: unknown lab "kalium"`},
		{"plausible for an unknown sex", "conditions.yaml", []string{"plausible: {sex: female,", "plausible: {sex: f,"}, "condition pregnancy: plausible needs a source, a sex of male or female"},
	})
}
