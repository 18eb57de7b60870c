package knowledge_test

import "testing"

// TestValidateTriggers: loading refuses broken triggers.yaml: the codes that say a patient has leg cramps.
func TestValidateTriggers(t *testing.T) {
	t.Parallel()
	testRejects(t, []brokenData{
		{"SNOMED Verhoeff check digit", "triggers.yaml", []string{`"102549009"`, `"102549008"`}, `SNOMED CT code "102549008"`},
		{"trigger by prefix", "triggers.yaml", []string{"{code: G47.62,", "{code: G47.6, prefix: true,"}, "must match exactly"},
		{"unknown seed", "triggers.yaml", []string{"seed: 001_ef64482ccbaa6c09.txt", "seed: 009_ef64482ccbaa6c09.txt"}, `unknown seed "009_ef64482ccbaa6c09.txt"`},
		{"no recent window", "triggers.yaml", []string{"recent_months: 24", "recent_months: 0"}, "recent_months must be at least 1"},
	})
}
