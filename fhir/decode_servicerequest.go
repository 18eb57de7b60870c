package fhir

// ServiceRequest: an order of a test, so that one already ordered is not
// proposed again.

type serviceRequestBody struct {
	status       string
	code         *concept
	authoredOn   optString
	doNotPerform bool
}

func (d *decoder) serviceRequestMember(sr *serviceRequestBody, name []byte) bool {
	switch n := string(name); n {
	case "status":
		d.str(&sr.status, shared, n)
	case "code":
		d.optConcept(&sr.code, n)
	case "authoredOn":
		d.optStr(&sr.authoredOn, fresh, n)
	case "doNotPerform":
		d.optBool(&sr.doNotPerform, n)
	default:
		return false
	}
	return true
}
