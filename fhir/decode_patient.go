package fhir

// The Patient: birth date, gender and death, which decide age and whether
// the record is a living patient's.

type patientBody struct {
	birthDate        optString
	gender           optString // the code, validated
	deceasedBoolean  bool
	deceasedDateTime optString
}

// genders are the codes of Patient.gender's required binding; any other
// makes the Patient unreadable, as it did for golang-fhir-models.
var genders = map[string]bool{"male": true, "female": true, "other": true, "unknown": true}

func (d *decoder) patientMember(p *patientBody, name []byte) bool {
	switch string(name) {
	case "birthDate":
		d.optStr(&p.birthDate, fresh, "birthDate")
	case "gender":
		d.code(&p.gender, genders, "gender")
	case "deceasedBoolean":
		d.optBool(&p.deceasedBoolean, "deceasedBoolean")
	case "deceasedDateTime":
		d.optStr(&p.deceasedDateTime, fresh, "deceasedDateTime")
	default:
		return false
	}
	return true
}
