package fhir

import (
	"encoding/json"
	"strings"

	"github.com/cramp-cds/cramp-cds/internal/jsonscan"
)

// resource is one resource as read: the envelope facts that route it, and
// the body the rules read from its type, decoded in the same pass.
type resource struct {
	source  string // prefetch key, or "entry N" of a Bundle file
	fullURL string
	typ, id string
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

func (r resource) ref() string {
	if r.id == "" {
		return ""
	}
	return r.typ + "/" + r.id
}

// concept is a CodeableConcept as read; hasText tells "text":"" from no text.
type concept struct {
	Concept
	hasText bool
}

// optDate is an optional date, dateTime or instant: has tells an empty
// string from an absent element where the rules pick the first present one.
type optDate struct {
	v   string
	has bool
}

type period struct {
	start, end optDate
}

type quantity struct {
	value      string // the decimal's text; "" when absent
	hasValue   bool
	comparator string
	unit       string
	system     string
	code       string
}

type patientBody struct {
	birthDate        optDate
	gender           optDate // the code, validated
	deceasedBoolean  bool
	deceasedDateTime optDate
}

type medicationEntryBody struct {
	status, intent       string
	doNotPerform         bool
	asserted             optDate // authoredOn or dateAsserted
	validity             *period // MedicationRequest.dispenseRequest.validityPeriod
	effectivePeriod      *period // MedicationStatement.effectivePeriod
	effectiveDateTime    optDate
	drugConcept          concept
	drugRef, drugDisplay string
	contained            []resource // the contained resources that are readable
	containedNotAnArray  bool
}

type medicationBody struct {
	code        *concept
	ingredients []concept
}

type conditionBody struct {
	code                               *concept
	categories                         []concept
	clinicalStatus, verificationStatus string
	onsetDateTime, abatementDateTime   optDate
	onsetPeriod, abatementPeriod       *period
	recordedDate                       optDate
}

type observationBody struct {
	status            string // the code; "registered" when absent, as the library reads it
	hasStatus         bool   // a status code was given
	code              concept
	effectiveDateTime optDate
	effectivePeriod   *period
	effectiveInstant  optDate
	issued            optDate
	value             *quantity
	interpretation    []concept
	referenceRange    [][2]*quantity
}

type serviceRequestBody struct {
	status       string
	code         *concept
	authoredOn   optDate
	doNotPerform bool
}

// Codes of the required bindings the rules read; any other code makes the
// resource unreadable, as it did for golang-fhir-models.
var (
	observationStatuses = map[string]bool{"registered": true, "preliminary": true, "final": true, "amended": true,
		"corrected": true, "cancelled": true, "entered-in-error": true, "unknown": true}
	genders     = map[string]bool{"male": true, "female": true, "other": true, "unknown": true}
	comparators = map[string]bool{"<": true, "<=": true, ">=": true, ">": true}
)

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
		p := res.patient
		switch string(name) {
		case "birthDate":
			d.optStr(&p.birthDate.v, &p.birthDate.has, fresh, "birthDate")
		case "gender":
			d.code(&p.gender, genders, "gender")
		case "deceasedBoolean":
			if d.r.Null() {
				p.deceasedBoolean = false
				return true
			}
			v, ok := d.r.Bool()
			if !ok {
				d.fail(wrongType("deceasedBoolean"))
			}
			p.deceasedBoolean = v
		case "deceasedDateTime":
			d.optStr(&p.deceasedDateTime.v, &p.deceasedDateTime.has, fresh, "deceasedDateTime")
		default:
			return false
		}
	case res.med != nil:
		return d.medicationEntry(res.med, res.typ, name)
	case res.medication != nil:
		md := res.medication
		switch string(name) {
		case "code":
			d.optConcept(&md.code, "code")
		case "ingredient":
			md.ingredients = md.ingredients[:0]
			d.array("ingredient", func() {
				var c concept
				d.object("ingredient", ingredientName, func(n string) {
					d.concept(&c, "ingredient.itemCodeableConcept")
				})
				md.ingredients = append(md.ingredients, c)
			})
		default:
			return false
		}
	case res.condition != nil:
		return d.conditionMember(res.condition, name)
	case res.observation != nil:
		return d.observationMember(res.observation, name)
	case res.service != nil:
		return d.serviceRequestMember(res.service, name)
	default:
		return false
	}
	return true
}

// issues reads an OperationOutcome's issue member and reports whether it
// has an error or fatal issue, or cannot be read (which counts as failed).
func (d *decoder) issues() bool {
	saved := d.bad
	defer func() { d.bad = saved }()
	d.bad = ""
	fails := false
	d.array("issue", func() {
		var severity string
		d.object("issue", issueNames, func(string) { d.str(&severity, shared, "issue.severity") })
		fails = fails || severity == "error" || severity == "fatal"
	})
	return fails || d.bad != ""
}

func (d *decoder) medicationEntry(m *medicationEntryBody, typ string, name []byte) bool {
	request, statement := typ == "MedicationRequest", typ == "MedicationStatement"
	switch n := string(name); {
	case n == "status":
		d.str(&m.status, shared, "status")
	case n == "intent" && request:
		d.str(&m.intent, shared, "intent")
	case n == "doNotPerform" && request:
		d.optBool(&m.doNotPerform)
	case n == "authoredOn" && request, n == "dateAsserted" && statement:
		d.optStr(&m.asserted.v, &m.asserted.has, fresh, n)
	case n == "dispenseRequest" && request:
		if d.r.Null() {
			m.validity = nil
			return true
		}
		d.object("dispenseRequest", dispenseNames, func(string) { d.period(&m.validity, "dispenseRequest.validityPeriod") })
	case n == "effectivePeriod" && !request:
		d.period(&m.effectivePeriod, "effectivePeriod")
	case n == "effectiveDateTime" && !request:
		d.optStr(&m.effectiveDateTime.v, &m.effectiveDateTime.has, fresh, "effectiveDateTime")
	case n == "medicationCodeableConcept":
		d.concept(&m.drugConcept, "medicationCodeableConcept")
	case n == "medicationReference":
		if d.r.Null() {
			return true
		}
		d.object("medicationReference", referenceNames, func(n string) {
			if n == "reference" {
				d.str(&m.drugRef, shared, "medicationReference.reference")
			} else {
				d.str(&m.drugDisplay, shared, "medicationReference.display")
			}
		})
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

func (d *decoder) conditionMember(c *conditionBody, name []byte) bool {
	switch n := string(name); n {
	case "code":
		d.optConcept(&c.code, "code")
	case "category":
		c.categories = c.categories[:0]
		d.array(n, func() {
			var cc concept
			d.concept(&cc, "category")
			c.categories = append(c.categories, cc)
		})
	case "clinicalStatus":
		d.statusConcept(&c.clinicalStatus, "http://terminology.hl7.org/CodeSystem/condition-clinical", n)
	case "verificationStatus":
		d.statusConcept(&c.verificationStatus, "http://terminology.hl7.org/CodeSystem/condition-ver-status", n)
	case "onsetDateTime":
		d.optStr(&c.onsetDateTime.v, &c.onsetDateTime.has, fresh, n)
	case "abatementDateTime":
		d.optStr(&c.abatementDateTime.v, &c.abatementDateTime.has, fresh, n)
	case "onsetPeriod":
		d.period(&c.onsetPeriod, n)
	case "abatementPeriod":
		d.period(&c.abatementPeriod, n)
	case "recordedDate":
		d.optStr(&c.recordedDate.v, &c.recordedDate.has, fresh, n)
	default:
		return false
	}
	return true
}

func (d *decoder) serviceRequestMember(sr *serviceRequestBody, name []byte) bool {
	switch n := string(name); n {
	case "status":
		d.str(&sr.status, shared, n)
	case "code":
		d.optConcept(&sr.code, n)
	case "authoredOn":
		d.optStr(&sr.authoredOn.v, &sr.authoredOn.has, fresh, n)
	case "doNotPerform":
		d.optBool(&sr.doNotPerform)
	default:
		return false
	}
	return true
}

// optBool reads an optional boolean: null makes it false.
func (d *decoder) optBool(dst *bool) {
	if d.r.Null() {
		*dst = false
		return
	}
	v, ok := d.r.Bool()
	if !ok {
		d.fail(wrongType("doNotPerform"))
	}
	*dst = v
}

func (d *decoder) observationMember(o *observationBody, name []byte) bool {
	switch n := string(name); n {
	case "status":
		// A required binding of value type: null reaches the library's
		// decoder, which refuses it like any unknown code.
		if d.r.Null() {
			d.fail("does not decode as FHIR R4: unknown ObservationStatus code")
			return true
		}
		var s optDate
		d.code(&s, observationStatuses, "status")
		if s.has {
			o.status, o.hasStatus = s.v, true
		}
	case "code":
		d.concept(&o.code, n)
	case "effectiveDateTime":
		d.optStr(&o.effectiveDateTime.v, &o.effectiveDateTime.has, fresh, n)
	case "effectivePeriod":
		d.period(&o.effectivePeriod, n)
	case "effectiveInstant":
		d.optStr(&o.effectiveInstant.v, &o.effectiveInstant.has, fresh, n)
	case "issued":
		d.optStr(&o.issued.v, &o.issued.has, fresh, n)
	case "valueQuantity":
		d.quantity(&o.value, n)
	case "interpretation":
		o.interpretation = o.interpretation[:0]
		d.array(n, func() {
			var c concept
			d.concept(&c, "interpretation")
			o.interpretation = append(o.interpretation, c)
		})
	case "referenceRange":
		o.referenceRange = o.referenceRange[:0]
		d.array(n, func() {
			var lh [2]*quantity
			d.object("referenceRange", rangeNames, func(n string) {
				if n == "low" {
					d.quantity(&lh[0], "referenceRange.low")
				} else {
					d.quantity(&lh[1], "referenceRange.high")
				}
			})
			o.referenceRange = append(o.referenceRange, lh)
		})
	default:
		return false
	}
	return true
}

// array reads an array, calling each for every element; null is an empty
// array. The element reader sees null elements too, as the library did.
func (d *decoder) array(at string, each func()) {
	if d.r.Null() {
		return
	}
	if !d.r.BeginArray() {
		d.fail(wrongType(at))
		return
	}
	for d.r.More() {
		each()
	}
}

// object reads an object whose members are known, calling member for each
// one (by name); null leaves the target as it is.
func (d *decoder) object(at string, known []string, member func(name string)) {
	if d.r.Null() {
		return
	}
	if !d.r.BeginObject() {
		d.fail(wrongType(at))
		return
	}
	for d.r.More() {
		name := d.r.Name()
		found := false
		for _, k := range known {
			if string(name) == k {
				member(k)
				found = true
				break
			}
		}
		if !found {
			d.other(name, known)
		}
	}
}

// code reads a code of a required binding: one of codes, or a failure.
func (d *decoder) code(dst *optDate, codes map[string]bool, at string) {
	var s string
	var has bool
	d.optStr(&s, &has, shared, at)
	if has && !codes[s] {
		d.fail("does not decode as FHIR R4: " + at + " is not a code of its value set")
		return
	}
	*dst = optDate{v: s, has: has}
}

// concept reads a CodeableConcept of value type (null leaves it).
func (d *decoder) concept(c *concept, at string) {
	d.object(at, conceptNames, func(n string) {
		if n == "text" {
			d.optStr(&c.Text, &c.hasText, shared, at+".text")
			return
		}
		c.Codings = c.Codings[:0]
		d.array(at+".coding", func() {
			var cd Coding
			d.object(at+".coding", codingNames, func(n string) {
				switch n {
				case "system":
					d.str(&cd.System, shared, at+".coding.system")
				case "code":
					d.str(&cd.Code, shared, at+".coding.code")
				default:
					d.str(&cd.Display, shared, at+".coding.display")
				}
			})
			c.Codings = append(c.Codings, cd)
		})
	})
}

// optConcept reads an optional CodeableConcept: null makes it absent.
func (d *decoder) optConcept(c **concept, at string) {
	if d.r.Null() {
		*c = nil
		return
	}
	if *c == nil {
		*c = &concept{}
	}
	d.concept(*c, at)
}

// statusConcept reads a status CodeableConcept straight into its code: the
// code of the coding from system, else the first coding's code.
func (d *decoder) statusConcept(dst *string, system, at string) {
	if d.r.Null() {
		*dst = ""
		return
	}
	type coded struct {
		system, code string
		hasCode      bool
	}
	var codings []coded
	d.object(at, conceptNames, func(n string) {
		if n == "text" {
			var s string
			d.str(&s, checked, at+".text")
			return
		}
		codings = codings[:0]
		d.array(at+".coding", func() {
			var cd coded
			d.object(at+".coding", codingNames, func(n string) {
				switch n {
				case "system":
					d.str(&cd.system, shared, at+".coding.system")
				case "code":
					d.optStr(&cd.code, &cd.hasCode, shared, at+".coding.code")
				default:
					var s string
					d.str(&s, checked, at+".coding.display")
				}
			})
			codings = append(codings, cd)
		})
	})
	first := ""
	for _, cd := range codings {
		if !cd.hasCode {
			continue
		}
		if cd.system == system {
			*dst = cd.code
			return
		}
		if first == "" {
			first = cd.code
		}
	}
	*dst = first
}

// period reads an optional Period: null makes it absent.
func (d *decoder) period(p **period, at string) {
	if d.r.Null() {
		*p = nil
		return
	}
	if *p == nil {
		*p = &period{}
	}
	d.object(at, periodNames, func(n string) {
		if n == "start" {
			d.optStr(&(*p).start.v, &(*p).start.has, fresh, at+".start")
		} else {
			d.optStr(&(*p).end.v, &(*p).end.has, fresh, at+".end")
		}
	})
}

// quantity reads an optional Quantity: null makes it absent.
func (d *decoder) quantity(q **quantity, at string) {
	if d.r.Null() {
		*q = nil
		return
	}
	if *q == nil {
		*q = &quantity{}
	}
	d.object(at, quantityNames, func(n string) {
		switch n {
		case "value":
			d.decimal(*q, at+".value")
		case "comparator":
			var c optDate
			d.code(&c, comparators, at+".comparator")
			(*q).comparator = c.v
		case "unit":
			d.str(&(*q).unit, shared, at+".unit")
		case "system":
			d.str(&(*q).system, shared, at+".system")
		default:
			d.str(&(*q).code, shared, at+".code")
		}
	})
}

// decimal reads a decimal: a JSON number, or a string holding one (which
// golang-fhir-models' json.Number accepted too).
func (d *decoder) decimal(q *quantity, at string) {
	switch d.r.Kind() {
	case jsonscan.Null:
		d.r.Null()
		q.value, q.hasValue = "", false
	case jsonscan.Number:
		text, _ := d.r.Number()
		q.value, q.hasValue = string(text), true
	case jsonscan.String:
		s, _ := d.r.String()
		if !isJSONNumber(s) {
			d.fail("does not decode as FHIR R4: " + at + " is not a decimal")
			return
		}
		q.value, q.hasValue = s, true
	default:
		d.r.Skip()
		d.fail(wrongType(at))
	}
}

// isJSONNumber reports whether s is a number of the JSON grammar.
func isJSONNumber(s string) bool {
	if s == "" || strings.TrimSpace(s) != s {
		return false
	}
	return json.Valid([]byte(s)) && (s[0] == '-' || s[0] >= '0' && s[0] <= '9')
}
