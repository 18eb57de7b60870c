package cdshooks

import (
	"context"
	"fmt"
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

// Service is one CDS service the server dispatches to. It may serve several
// hooks, each under its own id: CDS Hooks clients key services by id (the
// CDS Hooks sandbox keeps one service per {discovery URL}/{id}, so a second
// entry with the same id replaced the first), and in CDS Hooks 2.0 one
// service id has one hook. The server answers 400 to a request whose hook
// is not the one of the id called.
type Service interface {
	// Definitions returns the service's discovery entries, one per hook it
	// serves, each with an id no other entry of any service has; there is at
	// least one.
	Definitions() []ServiceDefinition
	// Evaluate answers one request that has passed Request.Validate and whose
	// hook is the one of the id called (or one of the service's, through an
	// alias). caller is who the Authenticator said
	// called (the zero Caller when authentication is disabled). An error that
	// is not an *Error is answered as a 500 and its detail only logged.
	Evaluate(ctx context.Context, req *Request, caller Caller) (*Response, error)
}

// Aliased is a Service that also answers under older ids, for EHRs
// configured with them before its entries got ids of their own. An alias
// serves every hook of the service and is never listed in discovery, so no
// id appears there twice.
type Aliased interface {
	Service
	// Aliases returns the extra ids; none may be another entry's id.
	Aliases() []string
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

// FeedbackReceiver is a Service that wants the feedback clinicians send
// about its cards, for example to stop repeating a card they dismissed. The
// server calls it with every item of a valid feedback request, after logging
// and counting them; it must not block (the EHR waits for the answer).
type FeedbackReceiver interface {
	Feedback(ctx context.Context, items []Feedback, caller Caller)
}

// registered is a Service as the server holds it under one id: the hooks
// that id answers, checked once.
type registered struct {
	id      string
	hooks   []string
	service Service
}

// register gives each discovery entry's id its service and hook, and each
// alias (see Aliased) the service's every hook. It fails when a definition
// lacks id, hook or description, or when an id (entry or alias) is taken
// twice: discovery never lists an id twice.
func register(services []Service) (map[string]registered, []ServiceDefinition, error) {
	byID := make(map[string]registered, len(services))
	var defs []ServiceDefinition
	add := func(reg registered) error {
		if _, dup := byID[reg.id]; dup {
			return fmt.Errorf("service id %q is taken twice", reg.id)
		}
		byID[reg.id] = reg
		return nil
	}
	for i, svc := range services {
		ds := svc.Definitions()
		if len(ds) == 0 {
			return nil, nil, fmt.Errorf("service %d has no definitions", i)
		}
		var hooks []string
		for _, d := range ds {
			if d.ID == "" || d.Hook == "" || d.Description == "" {
				return nil, nil, fmt.Errorf("service %d: a definition lacks id, hook or description", i)
			}
			if err := add(registered{id: d.ID, hooks: []string{d.Hook}, service: svc}); err != nil {
				return nil, nil, err
			}
			hooks = append(hooks, d.Hook)
		}
		if a, ok := svc.(Aliased); ok {
			for _, id := range a.Aliases() {
				if err := add(registered{id: id, hooks: hooks, service: svc}); err != nil {
					return nil, nil, err
				}
			}
		}
		defs = append(defs, ds...)
	}
	return byID, defs, nil
}
