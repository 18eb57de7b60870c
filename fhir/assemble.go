package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// resource is one entry read from a prefetch value, a fetched page or a
// Bundle: the few envelope facts needed to route it, and its raw JSON, which
// is decoded into golang-fhir-models types only when the Record is built.
type resource struct {
	source  string // prefetch key, or "entry N" of a Bundle file
	fullURL string
	head    resourceHead
	raw     json.RawMessage
}

// resourceHead is the peek every resource gets before its typed decode.
type resourceHead struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Subject      struct {
		Reference string `json:"reference"`
	} `json:"subject"`
}

func (h resourceHead) ref() string {
	if h.ID == "" {
		return ""
	}
	return h.ResourceType + "/" + h.ID
}

// pendingMedication is a medicationReference that no resource at hand resolves.
type pendingMedication struct {
	source    string // where the referencing entry came from
	entryRef  string // the referencing entry, e.g. "MedicationRequest/7"
	reference string // the reference as written
}

// assembler collects resources from any number of sources, in order, and
// builds a Record from them. It is not safe for concurrent use.
type assembler struct {
	resources []resource
	skipped   []Skipped
	seen      map[string]bool // "Type/id" or fullUrl of resources already added
}

func newAssembler() *assembler { return &assembler{seen: map[string]bool{}} }

func (a *assembler) skip(source, ref, reason string) {
	a.skipped = append(a.skipped, Skipped{Source: source, Ref: ref, Reason: reason})
}

// add records one resource. A resource without a resourceType is skipped;
// one already added (same Type/id or fullUrl, e.g. from two prefetch keys) is
// ignored.
func (a *assembler) add(source, fullURL string, raw json.RawMessage) {
	var h resourceHead
	err := json.Unmarshal(raw, &h)
	a.addPeeked(source, fullURL, raw, h, err)
}

// addPeeked is add for a resource whose head has already been peeked (with
// peekErr the peek's error), saving a scan of its JSON.
func (a *assembler) addPeeked(source, fullURL string, raw json.RawMessage, h resourceHead, peekErr error) {
	if peekErr != nil || h.ResourceType == "" {
		a.skip(source, "", "entry is not a FHIR resource (no readable resourceType)")
		return
	}
	id := h.ref()
	if id == "" {
		id = fullURL
	}
	if id != "" {
		if a.seen[id] {
			return
		}
		a.seen[id] = true
	}
	a.resources = append(a.resources, resource{source: source, fullURL: fullURL, head: h, raw: raw})
}

// bundleLink is one Bundle.link.
type bundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// rawBundle is a Bundle read by our own envelope type rather than
// golang-fhir-models': its strict enums (Bundle.type, search.mode,
// request.method) would otherwise fail the whole Bundle for one odd code,
// and entries stay raw so that one bad entry costs only itself.
type rawBundle struct {
	ResourceType string            `json:"resourceType"`
	Type         string            `json:"type"`
	Link         []bundleLink      `json:"link"`
	Entry        []json.RawMessage `json:"entry"`
}

type rawEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Search   *struct {
		Mode string `json:"mode"`
	} `json:"search"`
}

// next returns the Bundle's next-page link, or "".
func (b *rawBundle) next() string {
	for _, l := range b.Link {
		if l.Relation == "next" {
			return l.URL
		}
	}
	return ""
}

// addBundle adds the Bundle's entries under source and reports whether the
// Bundle says the search failed: an OperationOutcome entry (search mode
// "outcome", or any OperationOutcome) with an error or fatal issue. Warnings
// alone, which servers add for ignored parameters, do not fail it.
func (a *assembler) addBundle(source string, b *rawBundle) (failed bool) {
	for i, rawE := range b.Entry {
		var e rawEntry
		if err := json.Unmarshal(rawE, &e); err != nil {
			a.skip(source, "", fmt.Sprintf("Bundle entry %d is malformed", i))
			continue
		}
		if len(e.Resource) == 0 || string(e.Resource) == "null" {
			continue // e.g. a transaction-response entry, or a deleted resource in a history
		}
		var h resourceHead
		peekErr := json.Unmarshal(e.Resource, &h)
		if h.ResourceType == "OperationOutcome" || (e.Search != nil && e.Search.Mode == "outcome") {
			if outcomeFails(e.Resource) {
				failed = true
			}
			continue
		}
		entrySource := source
		if entrySource == "" {
			entrySource = fmt.Sprintf("entry %d", i)
		}
		a.addPeeked(entrySource, e.FullURL, e.Resource, h, peekErr)
	}
	return failed
}

// outcomeFails reports whether an OperationOutcome has an error or fatal
// issue (an unreadable one counts as failed).
func outcomeFails(raw json.RawMessage) bool {
	var oo struct {
		Issue []struct {
			Severity string `json:"severity"`
		} `json:"issue"`
	}
	if err := json.Unmarshal(raw, &oo); err != nil {
		return true
	}
	for _, is := range oo.Issue {
		if is.Severity == "error" || is.Severity == "fatal" {
			return true
		}
	}
	return false
}

// build normalises every resource added so far into a Record. Resources about
// another patient than patientID (when given) are skipped: data about the
// wrong patient is worse than none. Medication entries whose
// medicationReference no contained, added or fetched Medication resolves are
// left out and returned as pending, for the caller to fetch or report.
func (a *assembler) build(patientID string) (*Record, []pendingMedication) {
	rec := &Record{Skipped: append([]Skipped(nil), a.skipped...)}
	meds := a.medicationIndex()
	var pending []pendingMedication
	for _, r := range a.resources {
		if !r.aboutPatient(patientID) {
			rec.Skipped = append(rec.Skipped, Skipped{Source: r.source, Ref: r.head.ref(), Reason: "about another patient than the request's"})
			continue
		}
		var err error
		switch r.head.ResourceType {
		case "Patient":
			var p *Patient
			if p, err = normalisePatient(r.raw); err == nil && rec.Patient == nil {
				rec.Patient = p
			}
		case "MedicationRequest", "MedicationStatement", "MedicationAdministration":
			var m Medication
			var ref string
			m, ref, err = resolveMedication(r, meds)
			switch {
			case err == nil && ref != "":
				pending = append(pending, pendingMedication{source: r.source, entryRef: refOr(r), reference: ref})
			case err == nil:
				rec.Medications = append(rec.Medications, m)
			}
		case "Condition":
			var c Condition
			if c, err = normaliseCondition(r.raw); err == nil {
				rec.Conditions = append(rec.Conditions, c)
			}
		case "Observation":
			var o Observation
			if o, err = normaliseObservation(r.raw); err == nil {
				rec.Observations = append(rec.Observations, o)
			}
		}
		if err != nil {
			rec.Skipped = append(rec.Skipped, Skipped{Source: r.source, Ref: refOr(r), Reason: err.Error()})
		}
	}
	return rec, pending
}

func refOr(r resource) string {
	if ref := r.head.ref(); ref != "" {
		return ref
	}
	return r.fullURL
}

// aboutPatient reports whether the resource may belong to the patient: true
// unless it names a different Patient id (its own id for a Patient, its
// subject otherwise). References it cannot interpret (urn:uuid, none) pass.
func (r resource) aboutPatient(patientID string) bool {
	if patientID == "" {
		return true
	}
	if r.head.ResourceType == "Patient" {
		return r.head.ID == patientID
	}
	return AboutPatient(r.head.Subject.Reference, patientID)
}

// AboutPatient reports whether a resource whose subject is the reference
// subject may be about the patient patientID: true unless subject is a
// Patient reference (relative or absolute, with or without _history) to
// another id. An empty patientID or subject, or a reference it cannot
// interpret (urn:uuid), passes.
func AboutPatient(subject, patientID string) bool {
	if patientID == "" {
		return true
	}
	typ, id := splitRef(subject)
	return typ != "Patient" || id == patientID
}

// splitRef returns the type and id of a relative or absolute literal
// reference ("Patient/1", "https://x/fhir/Patient/1/_history/2"), or "", "".
func splitRef(ref string) (typ, id string) {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if len(parts) < 2 {
		return "", ""
	}
	return parts[len(parts)-2], parts[len(parts)-1]
}

// medicationIndex maps the fullUrl and the "Medication/id" of every added
// Medication to its raw JSON.
func (a *assembler) medicationIndex() map[string]json.RawMessage {
	idx := map[string]json.RawMessage{}
	for _, r := range a.resources {
		if r.head.ResourceType != "Medication" {
			continue
		}
		if r.fullURL != "" {
			idx[r.fullURL] = r.raw
		}
		if ref := r.head.ref(); ref != "" {
			idx[ref] = r.raw
		}
	}
	return idx
}

// resolveMedication normalises a MedicationRequest, MedicationStatement or
// MedicationAdministration and resolves its drug (see resolveDrug) among the
// added resources.
func resolveMedication(r resource, meds map[string]json.RawMessage) (Medication, string, error) {
	var e medicationEntry
	var err error
	switch r.head.ResourceType {
	case "MedicationRequest":
		e, err = normaliseMedicationRequest(r.raw)
	case "MedicationAdministration":
		e, err = normaliseMedicationAdministration(r.raw)
	default:
		e, err = normaliseMedicationStatement(r.raw)
	}
	if err != nil {
		return Medication{}, "", err
	}
	return resolveDrug(e, r.raw, lookupIn(meds))
}

// lookupIn finds a referenced Medication in meds (by fullUrl and by
// "Medication/id"): the reference as written, else the Medication id of a
// relative or absolute literal reference.
func lookupIn(meds map[string]json.RawMessage) func(ref string) json.RawMessage {
	return func(ref string) json.RawMessage {
		if target := meds[ref]; target != nil {
			return target
		}
		if typ, id := splitRef(ref); typ == "Medication" {
			return meds["Medication/"+id]
		}
		return nil
	}
}

// resolveDrug fills a medication entry's drug: its medicationCodeableConcept,
// a Medication contained in raw ("#id", read from the raw JSON since
// golang-fhir-models drops contained), or the Medication lookup returns for
// the reference (nil when it knows none). When nothing resolves the
// reference, it returns the reference for the caller to fetch or report.
func resolveDrug(e medicationEntry, raw json.RawMessage, lookup func(ref string) json.RawMessage) (Medication, string, error) {
	m := e.med
	if e.drug.reference == "" {
		m.Drug = conceptOf(e.drug.concept)
		return m, "", nil
	}
	var target json.RawMessage
	if strings.HasPrefix(e.drug.reference, "#") {
		if target = containedMedication(raw, e.drug.reference[1:]); target == nil {
			return Medication{}, "", errors.New("medicationReference to a contained Medication that is not there")
		}
	} else {
		target = lookup(e.drug.reference)
	}
	if target == nil {
		return Medication{}, e.drug.reference, nil
	}
	var err error
	if m.Drug, m.Ingredients, err = drugFromMedication(target); err != nil {
		return Medication{}, "", err
	}
	if m.Drug.Text == "" && e.drug.display != "" {
		m.Drug.Text = e.drug.display
	}
	return m, "", nil
}

// containedMedication returns the contained Medication with the given id, or nil.
func containedMedication(raw json.RawMessage, id string) json.RawMessage {
	var c struct {
		Contained []json.RawMessage `json:"contained"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return nil
	}
	for _, cr := range c.Contained {
		var h resourceHead
		if json.Unmarshal(cr, &h) == nil && h.ResourceType == "Medication" && h.ID == id {
			return cr
		}
	}
	return nil
}
