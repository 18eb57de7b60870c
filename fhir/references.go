package fhir

import (
	"net/url"
	"strings"
)

// This file holds the grammar of the ids and references the package uses.
// Resource ids end up in card text and in URLs: only ids of the FHIR grammar
// are ever used, so a hostile id cannot add markup to a card or steer a read.

// ValidID reports whether s is a FHIR id: [A-Za-z0-9\-\.]{1,64}
// (https://hl7.org/fhir/R4/datatypes.html#id). Every package that checks an
// id holds it to this one grammar. Only such ids are ever used or repeated:
// anything else (markup, blank lines, slashes) could change the meaning of
// the text or URL it is put in. The grammar lets through "." and "..",
// which are refused: in a reference or URL (Medication/..) they are path dot
// segments that leave the resource type.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// validType reports whether s is a FHIR resource type name: a capital
// letter, then letters.
func validType(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// relativeRef splits "Type/id" or "Type/id/_history/vid" into type and id,
// or reports false when ref is not exactly that shape.
func relativeRef(ref string) (typ, id string, ok bool) {
	typ, rest, ok := strings.Cut(ref, "/")
	if !ok || !validType(typ) {
		return "", "", false
	}
	id, history, hasHistory := strings.Cut(rest, "/")
	if !ValidID(id) {
		return "", "", false
	}
	if hasHistory {
		vid, ok := strings.CutPrefix(history, "_history/")
		if !ok || !ValidID(vid) {
			return "", "", false
		}
	}
	return typ, id, true
}

// validReference reports whether ref is a literal reference of a shape the
// package can resolve: "#id" (contained), "Type/id" with an optional
// "/_history/vid", the same under an absolute http(s) base, or a urn:uuid or
// urn:oid (entries of a Bundle).
func validReference(ref string) bool {
	switch {
	case strings.HasPrefix(ref, "#"):
		return ValidID(ref[1:])
	case strings.HasPrefix(ref, "urn:uuid:"), strings.HasPrefix(ref, "urn:oid:"):
		_, v, _ := strings.Cut(ref[4:], ":")
		return ValidID(v)
	}
	if _, _, ok := relativeRef(ref); ok {
		return true
	}
	_, _, ok := absoluteRef(ref)
	return ok
}

// absoluteRef splits an absolute reference "http(s)://host/base/Type/id"
// (with an optional "/_history/vid") into its base and its relative part.
func absoluteRef(ref string) (base, rel string, ok bool) {
	u, err := url.Parse(ref)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || u.RawPath != "" || strings.Contains(ref, "?") || strings.Contains(ref, "#") {
		return "", "", false
	}
	parts := strings.Split(u.Path, "/")
	n := 2
	if len(parts) >= 4 && parts[len(parts)-2] == "_history" {
		n = 4
	}
	if len(parts) < n+1 {
		return "", "", false
	}
	rel = strings.Join(parts[len(parts)-n:], "/")
	if _, _, ok := relativeRef(rel); !ok {
		return "", "", false
	}
	return strings.TrimSuffix(ref, "/"+rel), rel, true
}

// patientMatcher recognises the references that name exactly the current
// patient, and nothing else: no case folding, no spaces, no bare ids, no
// trailing slash, no other server.
type patientMatcher struct {
	// id is the patient's id; "" when no patient is known, in which case
	// nothing is checked (a Bundle of draft orders carries no Patient).
	id string
	// base is the fhirServer the request names ("" for none), without a
	// trailing slash: absolute references on it count.
	base string
	// fullURL is the Patient entry's fullUrl in a whole-patient Bundle
	// (a urn:uuid, or an absolute URL), "" when none.
	fullURL string
	// check is false only when no patient is known at all.
	check bool
}

// names reports whether ref is a reference to the current patient.
func (p patientMatcher) names(ref string) bool {
	if !p.check {
		return true
	}
	if ref == "" || p.id == "" && p.fullURL == "" {
		return false
	}
	if p.fullURL != "" && ref == p.fullURL {
		return true
	}
	if typ, id, ok := relativeRef(ref); ok {
		return typ == "Patient" && id == p.id
	}
	base, rel, ok := absoluteRef(ref)
	if !ok || p.base == "" || base != p.base {
		return false
	}
	typ, id, _ := relativeRef(rel)
	return typ == "Patient" && id == p.id
}

// AboutPatient reports whether a resource whose subject is the reference
// subject is about the patient patientID (a bare id): true when subject is
// exactly "Patient/<patientID>", with an optional "/_history/<vid>", under
// no base or an absolute http(s) base; false for anything else (another id,
// a trailing slash, spaces, another letter case, a bare id). An empty
// patientID or subject passes: the caller decides what a missing one means.
func AboutPatient(subject, patientID string) bool {
	if patientID == "" || subject == "" {
		return true
	}
	if typ, id, ok := relativeRef(subject); ok {
		return typ == "Patient" && id == patientID
	}
	_, rel, ok := absoluteRef(subject)
	if !ok {
		return false
	}
	typ, id, _ := relativeRef(rel)
	return typ == "Patient" && id == patientID
}

// hasSubject lists the resource types the Record keeps that are about a
// patient through their subject: each must name the current patient.
var hasSubject = map[string]bool{"MedicationRequest": true, "MedicationStatement": true, "MedicationAdministration": true, "Condition": true, "Observation": true}

// about reports whether the resource belongs to the current patient: a
// Patient must be the patient itself, a resource in hasSubject must have a
// subject reference that names it, and other types (Medication) are about no
// one in particular.
func (p patientMatcher) about(r resource) bool {
	if !p.check {
		return true
	}
	switch {
	case r.typ == "Patient":
		return p.id != "" && r.id == p.id || p.fullURL != "" && r.fullURL == p.fullURL
	case hasSubject[r.typ]:
		return p.names(r.subject)
	}
	return true
}
