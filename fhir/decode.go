package fhir

import (
	"bytes"
	"encoding/binary"
	"strings"

	"github.com/cramp-cds/cramp-cds/internal/jsonscan"
)

// This file reads FHIR JSON in one pass over its bytes, straight into the
// few fields the rules read (body types below): a Bundle's entries are
// decoded as the Bundle is read, and every member the rules do not read is
// only checked and skipped. Member names match exactly, as FHIR JSON
// requires; a member that matches a name we read only when case is ignored
// makes its resource unreadable, never silently another element.
//
// Apart from that, what is accepted and what each value means are those of
// the golang-fhir-models decode this replaced, for every field the rules
// read (decode_equivalence_internal_test.go compares the two): a JSON null
// is an absent element, a later duplicate member wins (objects merge, as
// encoding/json merges them), a decimal may be a JSON number or a string
// holding one, invalid UTF-8 reads as U+FFFD. A type error in a field the
// rules do not read is no longer an error.

// doc is one JSON document read by readDocument: a Bundle, or one resource.
type doc struct {
	typ    string // resourceType; "" when none is readable
	bundle *bundleDoc
	// res is the resource when typ is not Bundle.
	res resource
	// malformed is set when the document is JSON but not a usable resource
	// or Bundle: no resourceType, an unreadable id or subject, or a Bundle
	// whose own members have the wrong types.
	malformed bool
}

// bundleDoc is a Bundle's envelope, its entries already decoded.
type bundleDoc struct {
	next    string // the next-page link, "" when none
	entries []entry
}

// entry is one Bundle entry as read.
type entry struct {
	malformed bool // the entry itself has the wrong shape (not its resource)
	absent    bool // no resource (a transaction response, a deleted resource)
	outcome   bool // search mode "outcome", or an OperationOutcome
	fails     bool // for outcomes: an error or fatal issue (or unreadable)
	fullURL   string
	res       *resource // nil unless a resource is there: 100,000 empty entries stay small
}

// names of the members each object type reads: a member spelt like one of
// these with other letter case makes the object unreadable.
var (
	bundleNames    = []string{"resourceType", "type", "link", "entry"}
	linkNames      = []string{"relation", "url"}
	entryNames     = []string{"fullUrl", "resource", "search"}
	searchNames    = []string{"mode"}
	conceptNames   = []string{"coding", "text"}
	codingNames    = []string{"system", "code", "display"}
	referenceNames = []string{"reference", "display"}
	periodNames    = []string{"start", "end"}
	quantityNames  = []string{"value", "comparator", "unit", "system", "code"}
	rangeNames     = []string{"low", "high"}
	issueNames     = []string{"severity"}
	ingredientName = []string{"itemCodeableConcept"}
	dispenseNames  = []string{"validityPeriod"}
	resourceNames  = map[string][]string{
		"Patient":                  {"resourceType", "id", "subject", "birthDate", "gender", "deceasedBoolean", "deceasedDateTime"},
		"MedicationRequest":        {"resourceType", "id", "subject", "status", "intent", "doNotPerform", "authoredOn", "dispenseRequest", "medicationCodeableConcept", "medicationReference", "contained"},
		"MedicationStatement":      {"resourceType", "id", "subject", "status", "dateAsserted", "effectivePeriod", "effectiveDateTime", "medicationCodeableConcept", "medicationReference", "contained"},
		"MedicationAdministration": {"resourceType", "id", "subject", "status", "effectivePeriod", "effectiveDateTime", "medicationCodeableConcept", "medicationReference", "contained"},
		"Medication":               {"resourceType", "id", "subject", "code", "ingredient"},
		"Condition":                {"resourceType", "id", "subject", "code", "category", "clinicalStatus", "verificationStatus", "onsetDateTime", "onsetPeriod", "abatementDateTime", "abatementPeriod", "recordedDate"},
		"Observation":              {"resourceType", "id", "subject", "status", "code", "effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued", "valueQuantity", "interpretation", "referenceRange"},
		"ServiceRequest":           {"resourceType", "id", "subject", "status", "code", "authoredOn", "doNotPerform"},
		"OperationOutcome":         {"resourceType", "id", "subject", "issue"},
	}
	headNames = []string{"resourceType", "id", "subject"}
)

// decoder reads one document. bad holds the first reason the resource being
// read cannot be used; it never holds record data.
type decoder struct {
	r   *jsonscan.Reader
	bad string
	// interned holds one copy of each shared string met lately (see
	// strKind): a Bundle repeats its coding systems, codes, units, statuses
	// and subject references in entry after entry. It is a fixed table, a
	// string's slot chosen from its length and end bytes, where a newcomer
	// replaces the string in its slot: bounded whatever the document, and
	// cheaper than a map for strings this short. It lives as long as the
	// document's read.
	interned *[internSlots]string
	// codings and quantities are the slabs the document's Codings and
	// quantities are cut from (see codeable and quantity): one allocation
	// for many, where most concepts hold one coding.
	codings    []Coding
	quantities []quantity
}

// internSlots is the size of decoder.interned (a power of two).
const internSlots = 256

// strKind says how a string value is kept.
type strKind uint8

const (
	fresh   strKind = iota // ids, dates, URLs: seldom repeated, copied
	shared                 // codes, systems, units, displays, references: one copy each
	checked                // read by no rule: only its type is checked
)

// text reads a string value and keeps it as k says; ok is false when the
// value has another type.
func (d *decoder) text(k strKind) (s string, ok bool) {
	b, ok := d.r.StringBytes()
	switch {
	case !ok, k == checked:
		return "", ok
	case k == fresh:
		return string(b), true
	}
	if d.interned == nil {
		d.interned = new([internSlots]string)
	}
	slot := &d.interned[internSlot(b)]
	if *slot != string(b) {
		*slot = string(b)
	}
	return *slot, true
}

// internSlot is the slot of decoder.interned for b: a hash of its length
// and of its first and last eight bytes, where strings of one document
// differ (systems share their beginnings, codes are short).
func internSlot(b []byte) int {
	h := uint64(len(b)) * 0x9e3779b97f4a7c15
	switch {
	case len(b) >= 8:
		h ^= binary.LittleEndian.Uint64(b)
		h = (h ^ binary.LittleEndian.Uint64(b[len(b)-8:])) * 0xff51afd7ed558ccd
	default:
		for _, c := range b {
			h = (h ^ uint64(c)) * 0x100000001b3
		}
	}
	return int((h ^ h>>29) & (internSlots - 1))
}

func (d *decoder) fail(reason string) {
	if d.bad == "" {
		d.bad = reason
	}
}

// other skips the value of a member the object does not read, and fails
// when its name is one of known in other letter case.
func (d *decoder) other(name []byte, known []string) {
	for _, k := range known {
		if bytes.EqualFold(name, []byte(k)) {
			d.fail("member " + k + " is spelt in another letter case")
			break
		}
	}
	d.r.Skip()
}

// wrongType is the reason for a value of the wrong JSON type at the field
// the parts of at name, joined only then (a read that does not fail never
// pays for the name); the message keeps the words of the decode this
// replaced ("does not decode as FHIR R4").
func wrongType(at ...string) string {
	return "does not decode as FHIR R4: " + strings.Join(at, "") + " has the wrong JSON type"
}

// readString reads a string value kept as k says: null reports null, and a
// value of another type is noted as wrong at at.
func (d *decoder) readString(k strKind, at ...string) (s string, null, ok bool) {
	if d.r.Null() {
		return "", true, false
	}
	if s, ok = d.text(k); !ok {
		d.fail(wrongType(at...))
	}
	return s, false, ok
}

// str reads a string into a field of golang-fhir-models value type: null
// leaves it as it is.
func (d *decoder) str(dst *string, k strKind, at ...string) {
	if s, _, ok := d.readString(k, at...); ok {
		*dst = s
	}
}

// optStr reads a string into an optional field: null makes it absent.
func (d *decoder) optStr(dst *optString, k strKind, at ...string) {
	switch s, null, ok := d.readString(k, at...); {
	case null:
		*dst = optString{}
	case ok:
		*dst = optString{v: s, has: true}
	}
}

// readDocument reads a prefetch value, a response body or a Bundle file.
// err is set only when data is not JSON.
func readDocument(data []byte) (doc, error) {
	d := decoder{r: jsonscan.New(data)}
	var out doc
	if d.r.Kind() != jsonscan.Object {
		d.r.Skip()
		if !d.r.End() {
			return doc{}, d.r.Err()
		}
		return doc{malformed: true}, nil
	}
	m := d.r.Mark()
	typ, typeOK := d.resourceTypeFirst()
	d.r.Reset(m)
	if typ == "Bundle" && typeOK {
		b, malformed, retype := d.bundle()
		if !retype {
			out = doc{typ: typ, bundle: b, malformed: malformed}
		} else {
			// A later resourceType says it is not a Bundle after all: the last wins.
			d.r.Reset(m)
			typ, typeOK = d.resourceType()
			d.r.Reset(m)
		}
	}
	if out.bundle == nil {
		out.res = d.resource(typ, typeOK)
		out.typ, out.malformed = out.res.typ, out.res.unreadable
		if out.typ == "Bundle" && !out.malformed {
			// The last resourceType says Bundle: read it as one.
			d.r.Reset(m)
			out.bundle, out.malformed, _ = d.bundle()
		}
	}
	if !d.r.End() {
		return doc{}, d.r.Err()
	}
	return out, nil
}

// resourceType reads the object at the Reader for its resourceType member
// (the last one, when repeated): from its first member when that is
// resourceType, the common case, else from a scan of the whole object.
// ok is false when a resourceType member has the wrong type.
func (d *decoder) resourceType() (typ string, ok bool) {
	ok = true
	if !d.r.BeginObject() {
		return "", false
	}
	for d.r.More() {
		if string(d.r.Name()) != "resourceType" {
			d.r.Skip()
			continue
		}
		if d.r.Null() {
			continue
		}
		s, isStr := d.text(shared)
		if !isStr {
			ok = false
			continue
		}
		typ = s
	}
	return typ, ok
}

// bundle reads a Bundle's members, decoding each entry as it comes.
// malformed reports members of the wrong type or case; retype a later
// resourceType member (the last one) that is not Bundle.
func (d *decoder) bundle() (b *bundleDoc, malformed, retype bool) {
	b = &bundleDoc{}
	ok := true
	d.r.BeginObject()
	for d.r.More() {
		name := d.r.Name()
		switch string(name) {
		case "resourceType", "type":
			if !d.r.Null() {
				isType := string(name) == "resourceType"
				v, isStr := d.r.StringBytes()
				ok = ok && isStr
				if isType && isStr {
					retype = string(v) != "Bundle"
				}
			}
		case "link":
			b.next = ""
			if !d.envelopeArray(&ok) {
				continue
			}
			for d.r.More() {
				rel, url, linkOK := d.link()
				ok = ok && linkOK
				if rel == "next" && b.next == "" {
					b.next = url
				}
			}
		case "entry":
			b.entries = b.entries[:0]
			if !d.envelopeArray(&ok) {
				continue
			}
			for d.r.More() {
				b.entries = append(b.entries, d.entry())
			}
		default:
			for _, k := range bundleNames {
				ok = ok && !bytes.EqualFold(name, []byte(k))
			}
			d.r.Skip()
		}
	}
	return b, !ok, retype
}

// envelopeArray begins a Bundle's array member; null is an empty one, and
// any other type clears ok.
func (d *decoder) envelopeArray(ok *bool) bool {
	if d.r.Null() {
		return false
	}
	if !d.r.BeginArray() {
		*ok = false
		return false
	}
	return true
}

func (d *decoder) link() (rel, url string, ok bool) {
	ok = true
	if d.r.Null() {
		return "", "", true
	}
	if !d.r.BeginObject() {
		return "", "", false
	}
	d.bad = ""
	for d.r.More() {
		switch name := d.r.Name(); string(name) {
		case "relation":
			d.str(&rel, shared, "link.relation")
		case "url":
			d.str(&url, fresh, "link.url")
		default:
			d.other(name, linkNames)
		}
	}
	return rel, url, d.bad == ""
}

// entry reads one Bundle entry and its resource.
func (d *decoder) entry() entry {
	var e entry
	if d.r.Null() {
		e.absent = true
		return e
	}
	if !d.r.BeginObject() {
		e.malformed = true
		return e
	}
	var mode string
	e.absent = true
	ok := true
	for d.r.More() {
		name := d.r.Name()
		switch string(name) {
		case "fullUrl":
			d.bad = ""
			d.str(&e.fullURL, fresh, "fullUrl")
			ok = ok && d.bad == ""
		case "search":
			if d.r.Null() {
				continue
			}
			if !d.r.BeginObject() {
				ok = false
				continue
			}
			d.bad = ""
			for d.r.More() {
				switch name := d.r.Name(); string(name) {
				case "mode":
					d.str(&mode, shared, "search.mode")
				default:
					d.other(name, searchNames)
				}
			}
			ok = ok && d.bad == ""
		case "resource":
			if d.r.Null() {
				e.absent, e.res = true, nil
				continue
			}
			e.absent = false
			if d.r.Kind() != jsonscan.Object {
				d.r.Skip()
				e.res = &resource{unreadable: true, outcomeFails: true}
				continue
			}
			m := d.r.Mark()
			typ, typeOK := d.resourceTypeFirst()
			d.r.Reset(m)
			res := d.resource(typ, typeOK)
			e.res = &res
		default:
			for _, k := range entryNames {
				ok = ok && !bytes.EqualFold(name, []byte(k))
			}
			d.r.Skip()
		}
	}
	if !ok {
		return entry{malformed: true}
	}
	if e.absent {
		return entry{absent: true}
	}
	e.res.fullURL = e.fullURL
	if e.res.typ == "OperationOutcome" || mode == "outcome" {
		e.outcome = true
		e.fails = e.res.outcomeFails
	}
	return e
}

// resourceTypeFirst is resourceType without the scan when the object's
// first member is resourceType: the resource decoder notices a later one.
func (d *decoder) resourceTypeFirst() (string, bool) {
	m := d.r.Mark()
	if d.r.BeginObject() && d.r.More() && string(d.r.Name()) == "resourceType" {
		if s, ok := d.text(shared); ok {
			return s, true
		}
	}
	d.r.Reset(m)
	return d.resourceType()
}
