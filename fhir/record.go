package fhir

import "time"

// Code system URIs the knowledge base and the rules compare against.
const (
	SystemRxNorm  = "http://www.nlm.nih.gov/research/umls/rxnorm"
	SystemSNOMED  = "http://snomed.info/sct"
	SystemICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
	SystemLOINC   = "http://loinc.org"
	SystemATC     = "http://www.whocc.no/atc"
	SystemUCUM    = "http://unitsofmeasure.org"
)

// Record is the small, normalised view of one patient that the clinical rules
// reason on. It holds facts, not FHIR resources: every status rule of FHIR has
// already been applied by the code that built it, except those that depend on
// the evaluation time (see the ActiveAt methods and Observation.Effective).
//
// A Record never contains resources whose status means "this did not happen"
// (entered-in-error, cancelled, refuted): those are dropped while normalising
// and reported in Skipped.
type Record struct {
	// Patient is nil when the record has no Patient resource.
	Patient *Patient
	// Medications holds MedicationStatement, MedicationRequest and
	// MedicationAdministration entries, each resolved to the drug's codes
	// (medicationReference included). An administration records doses
	// given, never a current drug (see Medication.LastTaken).
	Medications []Medication
	// Conditions holds Condition entries whose verification status does not
	// exclude them.
	Conditions []Condition
	// Observations holds Observation entries whose status makes them a
	// result (IsResultStatus) or a result still pending (IsPendingStatus:
	// registered, preliminary, partial); Observation.Status tells which.
	Observations []Observation
	// ServiceRequests holds orders for tests (ServiceRequest entries) that are
	// active, on hold or still a draft: tests on their way.
	ServiceRequests []ServiceRequest
	// Skipped lists resources that were read but could not be used, with why.
	Skipped []Skipped
}

// Patient holds the demographic facts the rules may need.
type Patient struct {
	Ref       string // "Patient/123"
	BirthDate string // FHIR date as given, "" when absent
	Gender    string // FHIR administrative gender code, "" when absent
	// Deceased is true when deceasedBoolean is true or a deceasedDateTime is
	// given; DeceasedAt is that dateTime (zero for deceasedBoolean). A
	// deceasedBoolean false leaves both unset.
	Deceased   bool
	DeceasedAt time.Time
}

// Coding is one code from a terminology, as the record holds it (no JSON: the
// reader fills it). cdshooks.Coding is the card's wire type; fhir never
// imports cdshooks, so the two stay apart.
type Coding struct {
	System  string
	Code    string
	Display string
}

// Concept is a FHIR CodeableConcept reduced to its codings and text.
type Concept struct {
	Codings []Coding
	Text    string
}

// Period is a closed or open interval; a zero time means "unbounded" on that side.
type Period struct {
	Start time.Time
	End   time.Time
}

// Medication is one medication entry of the record (a MedicationStatement, a
// MedicationRequest or a MedicationAdministration), with the drug resolved to codes.
type Medication struct {
	// Ref is the relative reference of the entry, e.g. "MedicationRequest/42".
	Ref string
	// Status is the FHIR status code as recorded ("active", "stopped", ...).
	Status string
	// Intent is a MedicationRequest's intent ("order", "plan", "proposal", ...); "" for a statement.
	Intent string
	// Drug is the medication's code and text: medicationCodeableConcept, or the
	// code of the referenced Medication (contained, in the same Bundle, or read).
	Drug Concept
	// Ingredients are the referenced Medication's ingredient item concepts, when known.
	Ingredients []Concept
	// Asserted is when the entry was authored or asserted (authoredOn / dateAsserted), zero if unknown.
	Asserted time.Time
	// Effective is the period the drug is (to be) taken: effective[x] for a
	// statement, dispenseRequest.validityPeriod for a request; zero sides are open.
	Effective Period
}

// Condition is one diagnosis or problem of the record.
type Condition struct {
	Ref                string
	Code               Concept
	ClinicalStatus     string // "active", "recurrence", "relapse", "inactive", "remission", "resolved", or ""
	VerificationStatus string // "confirmed", "provisional", "differential", "unconfirmed", or ""
	// Categories are the category codes as recorded ("problem-list-item",
	// "encounter-diagnosis", "health-concern"...), whatever their code system.
	Categories []string
	Onset      time.Time
	Abatement  time.Time
	Recorded   time.Time
}

// Quantity is a measured value with its unit as the sender wrote it.
type Quantity struct {
	Value      float64
	Comparator string // "<", "<=", ">=", ">" when the value is a bound, else ""
	Unit       string // human unit text, e.g. "mg/dL"
	System     string // usually UCUM
	Code       string // UCUM code, e.g. "mg/dL", "mmol/L", "meq/L"
}

// Range is an Observation reference range; nil bounds are absent.
type Range struct {
	Low  *Quantity
	High *Quantity
}

// Observation is one result of the record.
type Observation struct {
	Ref  string
	Code Concept
	// Status is "final", "amended" or "corrected" for a result; "registered",
	// "preliminary" or "partial" for one still pending (the only statuses kept).
	Status string
	// Effective is effectiveDateTime, effectivePeriod.start, effectiveInstant or issued, in that order of preference.
	Effective time.Time
	// Value is nil when the observation has no valueQuantity.
	Value          *Quantity
	Interpretation []Coding
	ReferenceRange []Range
}

// ServiceRequest is an order of a test that has not ended.
type ServiceRequest struct {
	Ref    string
	Status string // "active", "on-hold" or "draft" (the only statuses kept)
	Code   Concept
	// Authored is authoredOn, zero when absent.
	Authored time.Time
}

// Skipped is a resource that was read but left out of the Record, and why.
type Skipped struct {
	Source string // prefetch key, Bundle entry or URL it came from
	Ref    string // relative reference when known
	Reason string // short, safe to log (never patient data)
}
