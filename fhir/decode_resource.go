package fhir

// resource is one resource as read: the envelope facts that route it, and
// the body the rules read from its type, decoded in the same pass.
type resource struct {
	source  string // prefetch key, or "entry N" of a Bundle file
	fullURL string
	typ, id string
	key     string // "Type/id", set once the assembler adds the resource (see ref)
	subject string // subject.reference
	// unreadable: no resourceType, or an id or subject of the wrong type:
	// not a FHIR resource at all.
	unreadable bool
	// bad is why the body cannot be used ("" when it can): a field the rules
	// read with the wrong type or an unknown code, or a member in the wrong
	// letter case.
	bad string

	patient     *patientBody
	med         *medicationEntryBody // MedicationRequest, MedicationStatement
	medication  *medicationBody
	condition   *conditionBody
	observation *observationBody
	service     *serviceRequestBody
	// outcomeFails: its issue member (an OperationOutcome's) has an error
	// or fatal issue, or cannot be read.
	outcomeFails bool
}

// ref is the resource's "Type/id", "" when it has no id.
func (r resource) ref() string {
	if r.key != "" || r.id == "" {
		return r.key
	}
	return r.typ + "/" + r.id
}

// concept is a CodeableConcept as read; hasText tells "text":"" from no text.
type concept struct {
	Concept
	hasText bool
}

// optString is an optional string (a date, dateTime, instant or code): has
// tells an empty string from an absent element where the rules pick the
// first present one.
type optString struct {
	v   string
	has bool
}

type period struct {
	start, end optString
}

type quantity struct {
	value      string // the decimal's text; "" when absent
	hasValue   bool
	comparator string
	unit       string
	system     string
	code       string
}

// resource reads the resource object at the Reader as a resource of type
// typ (typeOK false: its resourceType has the wrong JSON type). When a later
// resourceType member names another type, it reads the object again as the
// last one names it, as encoding/json would have.
func (d *decoder) resource(typ string, typeOK bool) resource {
	m := d.r.Mark()
	res, retype := d.resourceAs(typ, typeOK, false)
	if retype {
		d.r.Reset(m)
		typ, typeOK = d.resourceType()
		d.r.Reset(m)
		res, _ = d.resourceAs(typ, typeOK, true)
	}
	return res
}

// resourceAs reads the resource object as typ; with final, resourceType
// members are not looked at again.
func (d *decoder) resourceAs(typ string, typeOK, final bool) (res resource, retype bool) {
	saved := d.bad
	defer func() { d.bad = saved }()
	d.bad = ""
	res.typ = typ
	res.unreadable = !typeOK || typ == ""
	known := resourceNames[typ]
	if known == nil {
		known = headNames
	}
	switch typ {
	case "Patient":
		res.patient = &patientBody{}
	case "MedicationRequest", "MedicationStatement", "MedicationAdministration":
		res.med = &medicationEntryBody{}
	case "Medication":
		res.medication = &medicationBody{}
	case "Condition":
		res.condition = &conditionBody{}
	case "Observation":
		res.observation = &observationBody{status: "registered"}
	case "ServiceRequest":
		res.service = &serviceRequestBody{}
	}
	d.r.BeginObject()
	for d.r.More() {
		name := d.r.Name()
		switch string(name) {
		case "resourceType":
			if final || d.r.Null() {
				d.r.Skip()
				continue
			}
			if s, ok := d.r.StringBytes(); !ok || string(s) != typ {
				retype = true
			}
			continue
		case "id":
			d.headString(&res.id, fresh, &res.unreadable)
			continue
		case "subject":
			d.subject(&res)
			continue
		case "issue":
			// Read whatever the type: an entry whose search mode is
			// "outcome" is judged by its issues.
			res.outcomeFails = d.issues()
			continue
		}
		if !d.member(&res, name) {
			d.other(name, known)
		}
	}
	res.bad = d.bad
	return res, retype
}

// headString reads the id or subject reference: null makes it absent, a
// value of another type makes the resource unreadable.
func (d *decoder) headString(dst *string, k strKind, unreadable *bool) {
	if d.r.Null() {
		*dst = ""
		return
	}
	s, ok := d.text(k)
	*unreadable = *unreadable || !ok
	if ok {
		*dst = s
	}
}

// subject reads subject.reference (as the old resource peek did: a subject
// or reference of the wrong type makes the resource unreadable).
func (d *decoder) subject(res *resource) {
	if d.r.Null() {
		return
	}
	if !d.r.BeginObject() {
		res.unreadable = true
		return
	}
	for d.r.More() {
		name := d.r.Name()
		switch string(name) {
		case "reference":
			d.headString(&res.subject, shared, &res.unreadable)
		case "display":
			var s string
			d.str(&s, checked, "subject.display")
		default:
			d.other(name, referenceNames)
		}
	}
}

// member reads a body member of res's type; false when the type does not
// read name.
func (d *decoder) member(res *resource, name []byte) bool {
	switch {
	case res.patient != nil:
		return d.patientMember(res.patient, name)
	case res.med != nil:
		return d.medicationEntry(res.med, res.typ, name)
	case res.medication != nil:
		return d.medicationMember(res.medication, name)
	case res.condition != nil:
		return d.conditionMember(res.condition, name)
	case res.observation != nil:
		return d.observationMember(res.observation, name)
	case res.service != nil:
		return d.serviceRequestMember(res.service, name)
	default:
		return false
	}
}
