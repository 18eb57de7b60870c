package cdshooks

import (
	"context"
	"fmt"
	"slices"
)

// Hook names this package knows the context of (see validate.go).
const (
	HookPatientView = "patient-view"
	HookOrderSelect = "order-select"
	HookOrderSign   = "order-sign"
)

// hookName names a request's hook in a message: quoted when it is one of the
// hooks this package knows, else "this hook" (the value is the caller's, and
// messages never echo caller values).
func hookName(hook string) string {
	if _, known := hookContexts[hook]; known {
		return fmt.Sprintf("hook %q", hook)
	}
	return "this hook"
}

// Service is one CDS service the server dispatches to. One id may serve
// several hooks (CDS Hooks 2.0 lets a service refresh its guidance that way);
// the server answers 400 to a request whose hook the service does not serve.
type Service interface {
	// Definitions returns the service's discovery entries, one per hook it
	// serves. All entries share one ID; there is at least one.
	Definitions() []ServiceDefinition
	// Evaluate answers one request that has passed Request.Validate and whose
	// hook is one of the service's. caller is who the Authenticator said
	// called (the zero Caller when authentication is disabled). An error that
	// is not an *Error is answered as a 500 and its detail only logged.
	Evaluate(ctx context.Context, req *Request, caller Caller) (*Response, error)
}

// NocturnalLegCrampsID is the id of the patient-view service for nocturnal leg cramps.
const NocturnalLegCrampsID = "nocturnal-leg-cramps"

// Prefetch keys of the nocturnal-leg-cramps service. The fhir package reads
// the same keys, so they are part of our interface: never rename one.
const (
	PrefetchPatient              = "patient"
	PrefetchConditions           = "conditions"
	PrefetchMedicationStatements = "medicationStatements"
	PrefetchMedicationRequests   = "medicationRequests"
	PrefetchObservations         = "observations"
)

// NocturnalLegCrampsPrefetch returns the default prefetch templates: the
// patient, all their conditions, medication statements and requests, and
// their laboratory observations. Only CDS Hooks 2.0 tokens are used. The
// clinical service may narrow the observation query (by LOINC code) before
// passing the templates to NocturnalLegCrampsDefinition.
func NocturnalLegCrampsPrefetch() map[string]string {
	return map[string]string{
		PrefetchPatient:              "Patient/{{context.patientId}}",
		PrefetchConditions:           "Condition?patient={{context.patientId}}",
		PrefetchMedicationStatements: "MedicationStatement?patient={{context.patientId}}",
		PrefetchMedicationRequests:   "MedicationRequest?patient={{context.patientId}}",
		PrefetchObservations:         "Observation?patient={{context.patientId}}&category=laboratory",
	}
}

// NocturnalLegCrampsDefinition returns the discovery entry of the
// nocturnal-leg-cramps patient-view service with the given prefetch templates.
func NocturnalLegCrampsDefinition(prefetch map[string]string) ServiceDefinition {
	return ServiceDefinition{
		Hook:  HookPatientView,
		ID:    NocturnalLegCrampsID,
		Title: "Nocturnal leg cramps: causes and work-up",
		Description: "For a patient with nocturnal leg cramps: current medications that can cause cramps, " +
			"missing or abnormal work-up labs (potassium, magnesium, calcium, TSH, HbA1c, renal function), " +
			"associated conditions, and disorders that mimic cramps.",
		Prefetch: prefetch,
		UsageRequirements: "Uses the prefetched patient, conditions, medications and laboratory observations. " +
			"For any key not prefetched it reads the EHR's FHIR server (fhirServer with fhirAuthorization granting " +
			"read access to Patient, Condition, MedicationStatement, MedicationRequest and Observation); " +
			"without either it answers 412.",
	}
}

// NoCards is a Service that serves its definitions and always answers
// {"cards": []}: the nocturnal-leg-cramps service answers this way until the
// clinical rules are wired in.
type NoCards struct {
	Defs []ServiceDefinition
}

// Definitions returns the definitions NoCards was built with.
func (s NoCards) Definitions() []ServiceDefinition { return s.Defs }

// Evaluate always returns a response with no cards.
func (s NoCards) Evaluate(context.Context, *Request, Caller) (*Response, error) {
	return &Response{Cards: []Card{}}, nil
}

// registered is a Service as the server holds it: its id and hooks, checked once.
type registered struct {
	id      string
	hooks   []string
	service Service
}

// register checks that each service has definitions sharing one id, and that
// no two services claim the same id.
func register(services []Service) (map[string]registered, []ServiceDefinition, error) {
	byID := make(map[string]registered, len(services))
	var defs []ServiceDefinition
	for i, svc := range services {
		ds := svc.Definitions()
		if len(ds) == 0 {
			return nil, nil, fmt.Errorf("service %d has no definitions", i)
		}
		reg := registered{id: ds[0].ID, service: svc}
		for _, d := range ds {
			switch {
			case d.ID == "" || d.Hook == "" || d.Description == "":
				return nil, nil, fmt.Errorf("service %q: a definition lacks id, hook or description", reg.id)
			case d.ID != reg.id:
				return nil, nil, fmt.Errorf("service %q: definitions with different ids (%q)", reg.id, d.ID)
			case slices.Contains(reg.hooks, d.Hook):
				return nil, nil, fmt.Errorf("service %q: hook %q defined twice", reg.id, d.Hook)
			}
			reg.hooks = append(reg.hooks, d.Hook)
		}
		if _, dup := byID[reg.id]; dup {
			return nil, nil, fmt.Errorf("two services with id %q", reg.id)
		}
		byID[reg.id] = reg
		defs = append(defs, ds...)
	}
	return byID, defs, nil
}
