package fhir

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

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

// add records one resource, read under source with the fullUrl of its
// entry. A resource without a readable resourceType, id or subject is
// skipped, and so is one whose id is not a FHIR id; one already added (same
// Type/id or fullUrl, e.g. from two prefetch keys) is ignored.
func (a *assembler) add(source, fullURL string, r resource) {
	if r.unreadable {
		a.skip(source, "", "entry is not a FHIR resource (no readable resourceType)")
		return
	}
	if r.id != "" && !ValidID(r.id) {
		// Never repeated: the id could carry markup into a card.
		a.skip(source, "", "id is not a FHIR id")
		return
	}
	r.source, r.fullURL = source, fullURL
	r.key = r.ref() // once: the normalisers and Skipped name the resource by it
	id := r.key
	if id == "" {
		id = fullURL
	}
	if id != "" {
		if a.seen[id] {
			return
		}
		a.seen[id] = true
	}
	a.resources = append(a.resources, r)
}

// addBundle adds the Bundle's entries under source and reports whether the
// Bundle says the search failed: an OperationOutcome entry (search mode
// "outcome", or any OperationOutcome) with an error or fatal issue. Warnings
// alone, which servers add for ignored parameters, do not fail it.
func (a *assembler) addBundle(source string, b *bundleDoc) (failed bool) {
	a.resources = slices.Grow(a.resources, len(b.entries))
	for i, e := range b.entries {
		switch {
		case e.malformed:
			a.skip(source, "", fmt.Sprintf("Bundle entry %d is malformed", i))
			continue
		case e.absent:
			continue // e.g. a transaction-response entry, or a deleted resource in a history
		case e.outcome:
			failed = failed || e.fails
			continue
		}
		entrySource := source
		if entrySource == "" {
			entrySource = fmt.Sprintf("entry %d", i)
		}
		a.add(entrySource, e.fullURL, *e.res)
	}
	return failed
}

// build normalises every resource added so far into a Record. Resources that
// patient says are not about the current patient are skipped: data about the
// wrong patient is worse than none. Medication entries whose
// medicationReference no contained, added or fetched Medication resolves are
// left out and returned as pending, for the caller to fetch or report.
func (a *assembler) build(patient patientMatcher) (*Record, []pendingMedication) {
	rec := &Record{Skipped: append([]Skipped(nil), a.skipped...)}
	meds := a.medicationIndex()
	var pending []pendingMedication
	for _, r := range a.resources {
		if !patient.about(r) {
			rec.Skipped = append(rec.Skipped, Skipped{Source: r.source, Ref: r.ref(), Reason: "about another patient than the request's"})
			continue
		}
		var err error
		switch r.typ {
		case "Patient":
			var p *Patient
			if p, err = normalisePatient(r); err == nil && rec.Patient == nil {
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
			if c, err = normaliseCondition(r); err == nil {
				rec.Conditions = append(rec.Conditions, c)
			}
		case "Observation":
			var o Observation
			if o, err = normaliseObservation(r); err == nil {
				rec.Observations = append(rec.Observations, o)
			}
		case "ServiceRequest":
			var sr ServiceRequest
			if sr, err = normaliseServiceRequest(r); err == nil {
				rec.ServiceRequests = append(rec.ServiceRequests, sr)
			}
		}
		if err != nil {
			rec.Skipped = append(rec.Skipped, Skipped{Source: r.source, Ref: refOr(r), Reason: err.Error()})
		}
	}
	return rec, pending
}

// refOr names a resource for Skipped: its "Type/id", else its fullUrl when
// that is a reference of a known shape (never arbitrary sender text).
func refOr(r resource) string {
	if ref := r.ref(); ref != "" {
		return ref
	}
	if validReference(r.fullURL) {
		return r.fullURL
	}
	return ""
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
// Medication to it.
func (a *assembler) medicationIndex() map[string]*resource {
	idx := map[string]*resource{}
	for i := range a.resources {
		r := &a.resources[i]
		if r.typ != "Medication" {
			continue
		}
		if r.fullURL != "" {
			idx[r.fullURL] = r
		}
		if ref := r.ref(); ref != "" {
			idx[ref] = r
		}
	}
	return idx
}

// resolveMedication normalises a MedicationRequest, MedicationStatement or
// MedicationAdministration and resolves its drug: medicationCodeableConcept, a contained Medication
// ("#id"), or a Medication among the added resources. When none of these
// resolves the reference, it returns the reference for the caller to fetch.
func resolveMedication(r resource, meds map[string]*resource) (Medication, string, error) {
	e, err := normaliseMedicationEntry(r)
	if err != nil {
		return Medication{}, "", err
	}
	return resolveDrug(e, r, func(ref string) *resource {
		if target := meds[ref]; target != nil {
			return target
		}
		if typ, id := splitRef(ref); typ == "Medication" {
			return meds["Medication/"+id]
		}
		return nil
	})
}

// resolveDrug fills a medication entry's drug: its medicationCodeableConcept,
// a Medication contained in r ("#id"), or the Medication lookup returns for
// the reference (nil when it knows none). When nothing resolves the
// reference, it returns the reference for the caller to fetch or report.
func resolveDrug(e medicationEntry, r resource, lookup func(ref string) *resource) (Medication, string, error) {
	m := e.med
	if e.drug.reference != "" && !validReference(e.drug.reference) {
		return Medication{}, "", errors.New("medicationReference is not a FHIR reference")
	}
	if e.drug.reference == "" {
		m.Drug = e.drug.concept.Concept
		return m, "", nil
	}
	var target *resource
	if strings.HasPrefix(e.drug.reference, "#") {
		if target = containedMedication(r, e.drug.reference[1:]); target == nil {
			return Medication{}, "", errors.New("medicationReference to a contained Medication that is not there")
		}
	} else {
		target = lookup(e.drug.reference)
	}
	if target == nil {
		return Medication{}, e.drug.reference, nil
	}
	var err error
	if m.Drug, m.Ingredients, err = drugFromMedication(*target); err != nil {
		return Medication{}, "", err
	}
	if m.Drug.Text == "" && e.drug.display != "" {
		m.Drug.Text = e.drug.display
	}
	return m, "", nil
}

// containedMedication returns the contained Medication with the given id, or nil.
func containedMedication(r resource, id string) *resource {
	if r.med == nil || r.med.containedNotAnArray {
		return nil
	}
	for i := range r.med.contained {
		if c := &r.med.contained[i]; c.typ == "Medication" && c.id == id {
			return c
		}
	}
	return nil
}

// bundlePatient is the patient of a whole-patient Bundle: its first Patient.
func (a *assembler) bundlePatient() patientMatcher {
	for _, r := range a.resources {
		if r.typ == "Patient" {
			return patientMatcher{id: r.id, fullURL: r.fullURL, check: true}
		}
	}
	return patientMatcher{}
}
