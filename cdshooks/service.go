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

// NoCards is a Service that serves its definitions and always answers
// {"cards": []}: a stand-in wherever a service must exist but has nothing to say.
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
