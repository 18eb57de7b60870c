package legcramps

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// PatientViewID is the id of the patient-view service for nocturnal leg
// cramps. EHRs are configured with it: never rename it.
const PatientViewID = "nocturnal-leg-cramps"

// Prefetch keys of the leg-cramp services. EHRs fill them by name: never
// rename one. The order service asks for some of the same keys, meaning the
// same data.
const (
	PrefetchPatient              = "patient"
	PrefetchConditions           = "conditions"
	PrefetchMedicationStatements = "medicationStatements"
	PrefetchMedicationRequests   = "medicationRequests"
	PrefetchObservations         = "observations"
	// PrefetchServiceRequests holds the patient's active and draft orders, so
	// that a test already ordered is not proposed again.
	PrefetchServiceRequests = "serviceRequests"
)

// PatientViewPrefetch returns the patient-view service's prefetch templates:
// the patient, all their conditions, medication statements and requests,
// their laboratory observations narrowed to the LOINC result codes of the
// knowledge base's work-up labs, so the EHR sends (and we read) only results
// the rules look at, and their active and draft orders (so that nothing
// already ordered is proposed). Only CDS Hooks 2.0 tokens are used.
func PatientViewPrefetch(kb *knowledge.Base) map[string]string {
	var codes []string
	for _, lab := range kb.Labs() {
		for _, c := range lab.Results {
			codes = append(codes, fhir.SystemLOINC+"|"+c.Code)
		}
	}
	return map[string]string{
		PrefetchPatient:              "Patient/{{context.patientId}}",
		PrefetchConditions:           "Condition?patient={{context.patientId}}",
		PrefetchMedicationStatements: "MedicationStatement?patient={{context.patientId}}",
		PrefetchMedicationRequests:   "MedicationRequest?patient={{context.patientId}}",
		PrefetchObservations:         "Observation?patient={{context.patientId}}&code=" + strings.Join(codes, ","),
		PrefetchServiceRequests:      "ServiceRequest?patient={{context.patientId}}&status=active,draft",
	}
}

// patientViewDefinition returns the discovery entry of the patient-view
// service with the given prefetch templates.
func patientViewDefinition(prefetch map[string]string) cdshooks.ServiceDefinition {
	return cdshooks.ServiceDefinition{
		Hook:  cdshooks.HookPatientView,
		ID:    PatientViewID,
		Title: "Nocturnal leg cramps: causes and work-up",
		Description: "For a patient with nocturnal leg cramps: current medications that can cause cramps, " +
			"missing or abnormal work-up labs (potassium, magnesium, calcium, TSH, HbA1c, renal function), " +
			"associated conditions, and disorders that mimic cramps.",
		Prefetch: prefetch,
		UsageRequirements: "Uses the prefetched patient, conditions, medications, laboratory observations and " +
			"active or draft orders. For any key not prefetched it reads the EHR's FHIR server (fhirServer with " +
			"fhirAuthorization granting read access to Patient, Condition, MedicationStatement, MedicationRequest, " +
			"Observation and ServiceRequest); " +
			"without either it answers 412.",
	}
}

// PatientView is the nocturnal-leg-cramps patient-view service: it reads the
// patient's record, applies the knowledge base's rules as of the clock's
// time, and renders the findings as cards. It is safe for concurrent use.
type PatientView struct {
	env       Env
	screening bool
	sources   kit.Sources
	templates map[string]string
	def       cdshooks.ServiceDefinition
}

// NewPatientView builds the service. With screening it speaks for every
// patient (--trigger=always); otherwise only for patients with a present
// leg-cramp condition. It fails when a required dependency is missing or a
// prefetch template is malformed.
func NewPatientView(env Env, screening bool) (*PatientView, error) {
	if err := env.check(PatientViewID); err != nil {
		return nil, err
	}
	templates := PatientViewPrefetch(env.Knowledge)
	for key, t := range templates {
		if err := fhir.ValidateTemplate(t); err != nil {
			return nil, fmt.Errorf("%s: prefetch %q: %w", PatientViewID, key, err)
		}
	}
	return &PatientView{
		env:       env,
		screening: screening,
		sources:   env.Sources(env.Knowledge.Version()),
		templates: templates,
		def:       patientViewDefinition(templates),
	}, nil
}

// Definitions returns the service's one discovery entry (patient-view).
func (s *PatientView) Definitions() []cdshooks.ServiceDefinition {
	return []cdshooks.ServiceDefinition{s.def}
}

// Evaluate answers one patient-view call. Data it cannot obtain (a prefetch
// key absent or failed, and the FHIR server not readable) gives a 412
// naming the keys: the service never answers as if a lab were missing when it
// could not look.
func (s *PatientView) Evaluate(ctx context.Context, req *cdshooks.Request, caller cdshooks.Caller) (*cdshooks.Response, error) {
	if err := s.env.CheckTenancy(req, caller); err != nil {
		return nil, err
	}
	rec, err := s.env.GatherRecord(ctx, s.templates, req, caller)
	if err != nil {
		return nil, err
	}
	return s.Respond(ctx, rec, caller.Issuer, req.HookInstance, req.FHIRServer, req.PatientID()), nil
}

// Feedback remembers the feedback about the service's cards, and snoozes
// what it asks to (see Memory); without a Memory it does nothing.
func (s *PatientView) Feedback(ctx context.Context, items []cdshooks.Feedback, caller cdshooks.Caller) {
	s.env.Feedback(ctx, PatientViewID, items, caller)
}

// Respond renders the cards for a record already read (ctx carries the
// request's trace for the log line): the findings as of the clock's time, for
// patientID on fhirServer (its bare id is the subject of proposed orders), as
// the caller issuer ("" without authentication) knows the patient.
// With a Memory, cards snoozed for this patient are left out and the cards
// sent are recorded; without one, card uuids are derived from hookInstance.
// Evaluate ends here.
func (s *PatientView) Respond(ctx context.Context, rec *fhir.Record, issuer, hookInstance, fhirServer, patientID string) *cdshooks.Response {
	resp, _ := s.Assess(ctx, rec, issuer, hookInstance, fhirServer, patientID)
	return resp
}

// Assess is Respond that also returns the findings the cards were rendered
// from, for population runs that count drugs and labs beside the cards.
func (s *PatientView) Assess(ctx context.Context, rec *fhir.Record, issuer, hookInstance, fhirServer, patientID string) (*cdshooks.Response, *knowledge.Findings) {
	if rec == nil {
		rec = &fhir.Record{}
	}
	asOf := s.env.Now()
	f := s.env.Knowledge.Evaluate(rec, asOf, knowledge.Options{Screening: s.screening, AllAges: s.env.AllAges})
	r := cardRenderer{kb: s.env.Knowledge, sources: s.sources, ids: s.env.CardIDs(issuer, hookInstance, fhirServer, patientID), patientID: patientID, findings: &f, panels: s.env.Knowledge.Panels()}
	cards := r.ids.Respond(ctx, PatientViewID, s.sources.KnowledgeVersion, asOf, r.cards)
	s.env.Logger.DebugContext(ctx, PatientViewID+" evaluated",
		slog.Bool("triggered", f.Triggered), slog.Int("cards", len(cards)), slog.Int("skipped_resources", len(rec.Skipped)))
	return &cdshooks.Response{Cards: cards}, &f
}

// marshalResource marshals a FHIR resource we built ourselves.
func marshalResource(v any) []byte {
	b, err := cdshooks.Marshal(v)
	if err != nil {
		// Our own plain structs of strings always marshal.
		panic("legcramps: marshalling a built resource: " + err.Error())
	}
	return b
}
