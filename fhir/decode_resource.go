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

type patientBody struct {
	birthDate        optString
	gender           optString // the code, validated
	deceasedBoolean  bool
	deceasedDateTime optString
}

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
	onsetDateTime, abatementDateTime   optString
	onsetPeriod, abatementPeriod       *period
	recordedDate                       optString
}

type observationBody struct {
	status            string // the code; "registered" when absent, as the library reads it
	hasStatus         bool   // a status code was given
	code              concept
	effectiveDateTime optString
	effectivePeriod   *period
	effectiveInstant  optString
	issued            optString
	value             *quantity
	interpretation    []concept
	referenceRange    [][2]*quantity
}

type serviceRequestBody struct {
	status       string
	code         *concept
	authoredOn   optString
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
	case res.med != nil:
		return d.medicationEntry(res.med, res.typ, name)
	case res.medication != nil:
		md := res.medication
		switch string(name) {
		case "code":
			d.optConcept(&md.code, "code")
		case "ingredient":
			md.ingredients = md.ingredients[:0]
			if !d.beginArray("ingredient") {
				return true
			}
			for d.r.More() {
				var c concept
				if d.beginObject("ingredient") {
					for d.r.More() {
						if name := d.r.Name(); string(name) == "itemCodeableConcept" {
							d.concept(&c, "ingredient.itemCodeableConcept")
						} else {
							d.other(name, ingredientName)
						}
					}
				}
				md.ingredients = append(md.ingredients, c)
			}
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
	if !d.beginArray("issue") {
		return d.bad != ""
	}
	for d.r.More() {
		var severity string
		if d.beginObject("issue") {
			for d.r.More() {
				if name := d.r.Name(); string(name) == "severity" {
					d.str(&severity, shared, "issue.severity")
				} else {
					d.other(name, issueNames)
				}
			}
		}
		fails = fails || severity == "error" || severity == "fatal"
	}
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

// optBool reads an optional boolean: null makes it false.
func (d *decoder) optBool(dst *bool, at string) {
	if d.r.Null() {
		*dst = false
		return
	}
	v, ok := d.r.Bool()
	if !ok {
		d.fail(wrongType(at))
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
		var s optString
		d.code(&s, observationStatuses, "status")
		if s.has {
			o.status, o.hasStatus = s.v, true
		}
	case "code":
		d.concept(&o.code, n)
	case "effectiveDateTime":
		d.optStr(&o.effectiveDateTime, fresh, n)
	case "effectivePeriod":
		d.period(&o.effectivePeriod, n)
	case "effectiveInstant":
		d.optStr(&o.effectiveInstant, fresh, n)
	case "issued":
		d.optStr(&o.issued, fresh, n)
	case "valueQuantity":
		d.quantity(&o.value, n)
	case "interpretation":
		o.interpretation = d.concepts(o.interpretation[:0], n)
	case "referenceRange":
		o.referenceRange = o.referenceRange[:0]
		if !d.beginArray(n) {
			return true
		}
		for d.r.More() {
			var lh [2]*quantity
			if d.beginObject("referenceRange") {
				for d.r.More() {
					switch name := d.r.Name(); string(name) {
					case "low":
						d.quantity(&lh[0], "referenceRange.low")
					case "high":
						d.quantity(&lh[1], "referenceRange.high")
					default:
						d.other(name, rangeNames)
					}
				}
			}
			o.referenceRange = append(o.referenceRange, lh)
		}
	default:
		return false
	}
	return true
}

// beginArray begins an array value and reports true; null is an empty
// array (false). Elements are read with d.r.More; an element reader sees
// null elements too, as the library did.
func (d *decoder) beginArray(at ...string) bool { return d.begin(jsonscan.Array, at...) }

// beginObject begins an object value and reports true; null leaves the
// target as it is (false). Members are read with d.r.More and d.r.Name; one
// the object does not read goes to d.other.
func (d *decoder) beginObject(at ...string) bool { return d.begin(jsonscan.Object, at...) }

// begin begins a value of kind (Array or Object); null reports false, and a
// value of another type is skipped and noted as wrong at at.
func (d *decoder) begin(kind jsonscan.Kind, at ...string) bool {
	if d.r.Null() {
		return false
	}
	ok := kind == jsonscan.Array && d.r.BeginArray() || kind == jsonscan.Object && d.r.BeginObject()
	if !ok {
		d.fail(wrongType(at...))
	}
	return ok
}

// code reads a code of a required binding: one of codes, or a failure.
func (d *decoder) code(dst *optString, codes map[string]bool, at ...string) {
	var s optString
	d.optStr(&s, shared, at...)
	if s.has && !codes[s.v] {
		d.fail("does not decode as FHIR R4: " + strings.Join(at, "") + " is not a code of its value set")
		return
	}
	*dst = s
}

// concepts reads an array of CodeableConcepts, appending them to cs; null
// elements are empty concepts.
func (d *decoder) concepts(cs []concept, at string) []concept {
	if !d.beginArray(at) {
		return cs
	}
	for d.r.More() {
		var c concept
		d.concept(&c, at)
		cs = append(cs, c)
	}
	return cs
}

// concept reads a CodeableConcept of value type (null leaves it).
func (d *decoder) concept(c *concept, at string) { d.codeable(c, nil, at) }

// codeable reads a CodeableConcept into c and returns given with, for each
// of its codings, whether it has a code ("code":"" is one, no code is not).
func (d *decoder) codeable(c *concept, given []bool, at string) []bool {
	if !d.beginObject(at) {
		return given
	}
	for d.r.More() {
		switch name := d.r.Name(); string(name) {
		case "text":
			var text optString
			d.optStr(&text, shared, at, ".text")
			c.Text, c.hasText = text.v, text.has
		case "coding":
			c.Codings = c.Codings[:0]
			given = given[:0]
			if !d.beginArray(at, ".coding") {
				continue
			}
			start := len(d.codings)
			for d.r.More() {
				var cd Coding
				has := d.coding(&cd, at)
				if len(d.codings) == cap(d.codings) {
					// A new slab, holding this concept's codings so far: the
					// concepts already read keep the old one.
					run := d.codings[start:]
					d.codings = append(make([]Coding, 0, max(codingSlab, 2*len(run))), run...)
					start = 0
				}
				d.codings = append(d.codings, cd)
				if given != nil { // nil: the caller does not ask
					given = append(given, has)
				}
			}
			if end := len(d.codings); end > start {
				c.Codings = d.codings[start:end:end]
			}
		default:
			d.other(name, conceptNames)
		}
	}
	return given
}

// codingSlab is how many Codings one allocation holds for a document's
// concepts (most have one or two).
const codingSlab = 64

// coding reads one Coding element (null leaves it empty) and reports
// whether it has a code.
func (d *decoder) coding(cd *Coding, at string) (hasCode bool) {
	if !d.beginObject(at, ".coding") {
		return false
	}
	for d.r.More() {
		switch name := d.r.Name(); string(name) {
		case "system":
			d.str(&cd.System, shared, at, ".coding.system")
		case "code":
			var code optString
			d.optStr(&code, shared, at, ".coding.code")
			cd.Code, hasCode = code.v, code.has
		case "display":
			d.str(&cd.Display, shared, at, ".coding.display")
		default:
			d.other(name, codingNames)
		}
	}
	return hasCode
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
	var c concept
	var buf [4]bool
	given := d.codeable(&c, buf[:0], at)
	first := ""
	for i, cd := range c.Codings {
		if !given[i] {
			continue
		}
		if cd.System == system {
			*dst = cd.Code
			return
		}
		if first == "" {
			first = cd.Code
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
	if !d.beginObject(at) {
		return
	}
	for d.r.More() {
		switch name := d.r.Name(); string(name) {
		case "start":
			d.optStr(&(*p).start, fresh, at, ".start")
		case "end":
			d.optStr(&(*p).end, fresh, at, ".end")
		default:
			d.other(name, periodNames)
		}
	}
}

// quantitySlab is how many quantities one allocation holds for a
// document's values and reference ranges.
const quantitySlab = 32

// quantity reads an optional Quantity: null makes it absent.
func (d *decoder) quantity(q **quantity, at string) {
	if d.r.Null() {
		*q = nil
		return
	}
	if *q == nil {
		if len(d.quantities) == cap(d.quantities) {
			// A new slab: the quantities already handed out keep the old one.
			d.quantities = make([]quantity, 0, quantitySlab)
		}
		d.quantities = append(d.quantities, quantity{})
		*q = &d.quantities[len(d.quantities)-1]
	}
	if !d.beginObject(at) {
		return
	}
	for d.r.More() {
		switch name := d.r.Name(); string(name) {
		case "value":
			d.decimal(*q, at, ".value")
		case "comparator":
			var c optString
			d.code(&c, comparators, at, ".comparator")
			(*q).comparator = c.v
		case "unit":
			d.str(&(*q).unit, shared, at, ".unit")
		case "system":
			d.str(&(*q).system, shared, at, ".system")
		case "code":
			d.str(&(*q).code, shared, at, ".code")
		default:
			d.other(name, quantityNames)
		}
	}
}

// decimal reads a decimal: a JSON number, or a string holding one (which
// golang-fhir-models' json.Number accepted too).
func (d *decoder) decimal(q *quantity, at ...string) {
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
			d.fail("does not decode as FHIR R4: " + strings.Join(at, "") + " is not a decimal")
			return
		}
		q.value, q.hasValue = s, true
	default:
		d.r.Skip()
		d.fail(wrongType(at...))
	}
}

// isJSONNumber reports whether s is a number of the JSON grammar.
func isJSONNumber(s string) bool {
	if s == "" || strings.TrimSpace(s) != s {
		return false
	}
	return json.Valid([]byte(s)) && (s[0] == '-' || s[0] >= '0' && s[0] <= '9')
}
