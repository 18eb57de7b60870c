package knowledge

// The rules the service applies to a record, by id. Evaluate, TriggerEntries,
// MedicationFindings and UnderAge implement them, and the cards word them; the
// knowledge page (package page) states each in words with its limits and
// source, and a test fails when one has no entry there. A new rule gets an id
// here first.
const (
	RuleDeceased       = "deceased"
	RuleAdults         = "adults"
	RuleTrigger        = "trigger"
	RuleMedications    = "medications"
	RuleDrugWarnings   = "quinine"
	RuleStrength       = "strength"
	RuleMissingLabs    = "missing-labs"
	RulePendingLabs    = "pending-labs"
	RuleAbnormalLabs   = "abnormal-labs"
	RuleCriticalLimits = "critical-limits"
	RuleCalcium        = "calcium"
	RuleRenal          = "renal-function"
	RuleKnownBy        = "known-by"
	RuleConditions     = "conditions"
	RuleDifferentials  = "differentials"
	RuleOrder          = "order"
	RuleCards          = "order-of-cards"
)

// RuleIDs returns the id of every rule the service applies, in the order the
// knowledge page states them.
func RuleIDs() []string {
	return []string{
		RuleDeceased, RuleAdults, RuleTrigger, RuleMedications, RuleDrugWarnings, RuleStrength, RuleMissingLabs,
		RulePendingLabs, RuleAbnormalLabs, RuleCriticalLimits, RuleCalcium, RuleRenal, RuleKnownBy, RuleConditions,
		RuleDifferentials, RuleOrder, RuleCards,
	}
}
