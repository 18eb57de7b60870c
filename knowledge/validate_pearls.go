package knowledge

var validPearlKs = map[string]bool{"pearl": true, "pitfall": true}

// checkPearls checks pearls.yaml: each pearl or pitfall has an id, a kind and cited text.
func (c *checker) checkPearls(ps []*Pearl) {
	ids := map[string]bool{}
	for _, p := range ps {
		c.checkID("pearl", p.ID, ids)
		if !validPearlKs[p.Kind] {
			c.fail("pearl %s: kind %q must be pearl or pitfall", p.ID, p.Kind)
		}
		c.checkStatement("pearl "+p.ID, Statement{Text: p.Text, Evidence: p.Evidence})
	}
}
