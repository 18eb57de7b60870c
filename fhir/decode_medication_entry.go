package fhir

import "github.com/cramp-cds/cramp-cds/internal/jsonscan"

// MedicationRequest, MedicationStatement and MedicationAdministration: what
// was ordered, taken or given, when, and which drug.

type medicationEntryBody struct {
	status, intent       string
	doNotPerform         bool
	asserted             optString // authoredOn or dateAsserted
	validity             *period   // MedicationRequest.dispenseRequest.validityPeriod
	effectivePeriod      *period   // MedicationStatement.effectivePeriod
	effectiveDateTime    optString
	drugConcept          concept
	drugRef, drugDisplay string
	// conceptGiven and referenceGiven: the last medicationCodeableConcept
	// or medicationReference member is not null (a draft order names a drug
	// once either is).
	conceptGiven, referenceGiven bool
	contained                    []resource // the contained resources that are readable
	containedNotAnArray          bool
}

func (d *decoder) medicationEntry(m *medicationEntryBody, typ string, name []byte) bool {
	request, statement := typ == "MedicationRequest", typ == "MedicationStatement"
	switch n := string(name); {
	case n == "status":
		d.str(&m.status, shared, "status")
	case n == "intent" && request:
		d.str(&m.intent, shared, "intent")
	case n == "doNotPerform" && request:
		d.optBool(&m.doNotPerform, "doNotPerform")
	case n == "authoredOn" && request, n == "dateAsserted" && statement:
		d.optStr(&m.asserted, fresh, n)
	case n == "dispenseRequest" && request:
		if d.r.Null() {
			m.validity = nil
			return true
		}
		if !d.beginObject("dispenseRequest") {
			return true
		}
		for d.r.More() {
			if name := d.r.Name(); string(name) == "validityPeriod" {
				d.period(&m.validity, "dispenseRequest.validityPeriod")
			} else {
				d.other(name, dispenseNames)
			}
		}
	case n == "effectivePeriod" && !request:
		d.period(&m.effectivePeriod, "effectivePeriod")
	case n == "effectiveDateTime" && !request:
		d.optStr(&m.effectiveDateTime, fresh, "effectiveDateTime")
	case n == "medicationCodeableConcept":
		m.conceptGiven = d.r.Kind() != jsonscan.Null
		d.concept(&m.drugConcept, "medicationCodeableConcept")
	case n == "medicationReference":
		m.referenceGiven = d.r.Kind() != jsonscan.Null
		if !d.beginObject("medicationReference") {
			return true
		}
		for d.r.More() {
			switch name := d.r.Name(); string(name) {
			case "reference":
				d.str(&m.drugRef, shared, "medicationReference.reference")
			case "display":
				d.str(&m.drugDisplay, shared, "medicationReference.display")
			default:
				d.other(name, referenceNames)
			}
		}
	case n == "contained":
		m.contained, m.containedNotAnArray = m.contained[:0], false
		if d.r.Null() {
			return true
		}
		if d.r.Kind() != jsonscan.Array {
			d.r.Skip()
			m.containedNotAnArray = true
			return true
		}
		d.r.BeginArray()
		for d.r.More() {
			if d.r.Kind() != jsonscan.Object {
				d.r.Skip()
				continue
			}
			mark := d.r.Mark()
			typ, ok := d.resourceTypeFirst()
			d.r.Reset(mark)
			if c := d.resource(typ, ok); !c.unreadable {
				m.contained = append(m.contained, c)
			}
		}
	default:
		return false
	}
	return true
}
