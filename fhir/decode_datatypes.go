package fhir

import (
	"encoding/json"
	"strings"

	"github.com/cramp-cds/cramp-cds/internal/jsonscan"
)

// The data types the resource decoders share: CodeableConcept, Coding,
// Period, Quantity, decimals, booleans and required codes.

// comparators are the codes of Quantity.comparator's required binding.
var comparators = map[string]bool{"<": true, "<=": true, ">=": true, ">": true}

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
