package knowledge

// checkTriggers checks triggers.yaml: the codes that say a patient has leg cramps, each cited and exact.
func (c *checker) checkTriggers(t *TriggerSet) {
	c.checkCitations("triggers", t.Evidence)
	if t.RecentMonths < 1 {
		c.fail("triggers: recent_months must be at least 1")
	}
	if len(t.ICD10CM)+len(t.SNOMED) == 0 {
		c.fail("triggers: no codes")
	}
	for _, code := range t.ICD10CM {
		if code.Prefix {
			c.fail("triggers: ICD-10-CM %s must match exactly (G47.6 also holds G47.61 periodic limb movements)", code.Code)
		}
		c.checkCode("triggers", sysICD10CM, code)
	}
	for _, code := range t.SNOMED {
		c.checkCode("triggers", sysSNOMED, code)
	}
}
