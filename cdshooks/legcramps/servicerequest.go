package legcramps

import (
	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// The draft ServiceRequest a missing-labs suggestion proposes.

// serviceRequest is the FHIR R4 ServiceRequest a suggestion proposes: built
// here as plain JSON, never from golang-fhir-models structs.
type serviceRequest struct {
	ResourceType string            `json:"resourceType"`
	Status       string            `json:"status"`
	Intent       string            `json:"intent"`
	Category     []codeableConcept `json:"category"`
	Code         codeableConcept   `json:"code"`
	Subject      reference         `json:"subject"`
	ReasonRef    []reference       `json:"reasonReference,omitempty"`
}

type codeableConcept struct {
	Coding []coding `json:"coding"`
	Text   string   `json:"text,omitempty"`
}

type coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type reference struct {
	Reference string `json:"reference"`
}

// serviceRequest builds the draft order of a LOINC code, named text.
func (r cardRenderer) serviceRequest(order knowledge.Code, text string) []byte {
	sr := serviceRequest{
		ResourceType: "ServiceRequest",
		Status:       "draft",
		Intent:       "proposal",
		// The FHIR R4 ServiceRequest category example value set's "Laboratory procedure".
		Category: []codeableConcept{{Coding: []coding{{System: fhir.SystemSNOMED, Code: "108252007", Display: "Laboratory procedure"}}}},
		Code:     codeableConcept{Coding: []coding{{System: fhir.SystemLOINC, Code: order.Code, Display: order.Display}}, Text: text},
		Subject:  reference{Reference: "Patient/" + r.patientID},
	}
	for _, t := range r.findings.Triggers {
		if t.Ref != "" {
			sr.ReasonRef = append(sr.ReasonRef, reference{Reference: t.Ref})
		}
	}
	return marshalResource(sr)
}
