package legcramps

import (
	fhirmodels "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// The draft ServiceRequest a missing-labs suggestion proposes is built as a
// golang-fhir-models R4 ServiceRequest (its status and intent are R4's
// required-binding enums, so only R4 codes can be set), then written through
// wireServiceRequest rather than the library's MarshalJSON: that one puts
// resourceType last and encodes every resource twice (README, "Dependencies
// and why"), while the card answers keep their bytes, resourceType first as
// in every FHIR example. The two encodings are the same JSON value
// (TestServiceRequestIsTheLibrarysJSON).

// wireServiceRequest is the JSON shape of the ServiceRequests we build: the
// members we set, in the R4 element order, resourceType first.
type wireServiceRequest struct {
	ResourceType string                `json:"resourceType"`
	Status       string                `json:"status"`
	Intent       string                `json:"intent"`
	Category     []wireCodeableConcept `json:"category"`
	Code         wireCodeableConcept   `json:"code"`
	Subject      wireReference         `json:"subject"`
	ReasonRef    []wireReference       `json:"reasonReference,omitempty"`
}

type wireCodeableConcept struct {
	Coding []wireCoding `json:"coding"`
	Text   string       `json:"text,omitempty"`
}

type wireCoding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type wireReference struct {
	Reference string `json:"reference"`
}

// serviceRequest builds the draft order of a LOINC code, named text, for
// the patient, its reason the leg-cramp conditions on record.
func (r cardRenderer) serviceRequest(order knowledge.Code, text string) []byte {
	return marshalResource(wireOf(r.draftOrder(order, text)))
}

// draftOrder is the typed R4 ServiceRequest of serviceRequest.
func (r cardRenderer) draftOrder(order knowledge.Code, text string) fhirmodels.ServiceRequest {
	sr := fhirmodels.ServiceRequest{
		Status: fhirmodels.RequestStatusDraft,
		Intent: fhirmodels.RequestIntentProposal,
		// The FHIR R4 ServiceRequest category example value set's "Laboratory procedure".
		Category: []fhirmodels.CodeableConcept{{Coding: []fhirmodels.Coding{typedCoding(fhir.SystemSNOMED, "108252007", "Laboratory procedure")}}},
		Code:     &fhirmodels.CodeableConcept{Coding: []fhirmodels.Coding{typedCoding(fhir.SystemLOINC, order.Code, order.Display)}, Text: optional(text)},
		Subject:  fhirmodels.Reference{Reference: optional("Patient/" + r.patientID)},
	}
	for _, t := range r.findings.Triggers {
		if t.Ref != "" {
			sr.ReasonReference = append(sr.ReasonReference, fhirmodels.Reference{Reference: optional(t.Ref)})
		}
	}
	return sr
}

// wireOf writes the members of sr that draftOrder sets; any other member
// would be a programming error the equivalence test catches.
func wireOf(sr fhirmodels.ServiceRequest) wireServiceRequest {
	w := wireServiceRequest{
		ResourceType: "ServiceRequest",
		Status:       sr.Status.Code(),
		Intent:       sr.Intent.Code(),
		Subject:      wireReference{Reference: value(sr.Subject.Reference)},
	}
	for _, c := range sr.Category {
		w.Category = append(w.Category, wireConcept(c))
	}
	if sr.Code != nil {
		w.Code = wireConcept(*sr.Code)
	}
	for _, ref := range sr.ReasonReference {
		w.ReasonRef = append(w.ReasonRef, wireReference{Reference: value(ref.Reference)})
	}
	return w
}

func wireConcept(c fhirmodels.CodeableConcept) wireCodeableConcept {
	w := wireCodeableConcept{Text: value(c.Text)}
	for _, cd := range c.Coding {
		w.Coding = append(w.Coding, wireCoding{System: value(cd.System), Code: value(cd.Code), Display: value(cd.Display)})
	}
	return w
}

func typedCoding(system, code, display string) fhirmodels.Coding {
	return fhirmodels.Coding{System: optional(system), Code: optional(code), Display: optional(display)}
}

// optional is s as an optional FHIR string: absent when empty.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// value is an optional FHIR string's value, "" when absent.
func value(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
