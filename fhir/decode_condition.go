package fhir

// Condition: the diagnosis, its categories, statuses, onset and abatement.

type conditionBody struct {
	code                               *concept
	categories                         []concept
	clinicalStatus, verificationStatus string
	onsetDateTime, abatementDateTime   optString
	onsetPeriod, abatementPeriod       *period
	recordedDate                       optString
}

func (d *decoder) conditionMember(c *conditionBody, name []byte) bool {
	switch n := string(name); n {
	case "code":
		d.optConcept(&c.code, "code")
	case "category":
		c.categories = d.concepts(c.categories[:0], n)
	case "clinicalStatus":
		d.statusConcept(&c.clinicalStatus, "http://terminology.hl7.org/CodeSystem/condition-clinical", n)
	case "verificationStatus":
		d.statusConcept(&c.verificationStatus, "http://terminology.hl7.org/CodeSystem/condition-ver-status", n)
	case "onsetDateTime":
		d.optStr(&c.onsetDateTime, fresh, n)
	case "abatementDateTime":
		d.optStr(&c.abatementDateTime, fresh, n)
	case "onsetPeriod":
		d.period(&c.onsetPeriod, n)
	case "abatementPeriod":
		d.period(&c.abatementPeriod, n)
	case "recordedDate":
		d.optStr(&c.recordedDate, fresh, n)
	default:
		return false
	}
	return true
}
