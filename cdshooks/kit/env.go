package kit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/fhir"
)

// Env is what every service of a topic works with, besides the topic's own
// rules and content.
type Env struct {
	// Gatherer reads the patient's record from prefetch and the FHIR server (required).
	Gatherer *fhir.Gatherer
	// Now is the clock: cards are computed as of Now() (required).
	Now func() time.Time
	// FHIRAllow lists fhirServer base URLs any caller may name (--fhir-allow),
	// besides those the caller's trust entry grants (Caller.FHIRServers).
	FHIRAllow []string
	// PublicURL is our external base URL (--public-url); cards point
	// source.url at PublicURL + KnowledgePath. Empty leaves source.url out.
	PublicURL string
	// Logger receives one debug line per evaluation (counts only); nil discards.
	Logger *slog.Logger
	// Metrics counts how each prefetch key of every request was obtained;
	// nil counts nothing.
	Metrics *cdshooks.Metrics
	// Memory remembers the cards issued and the feedback on them, and
	// snoozes what clinicians dismissed; nil remembers nothing.
	Memory *Memory
	// Topics is every card topic the binary's services use (required): card
	// uuids carry a topic's position in it, and the server reads feedback's
	// topics from it.
	Topics *Registry
}

// Check fills the defaults and reports a missing required dependency of the
// service named id, or a topic of topics the registry does not hold.
func (e *Env) Check(id string, topics ...string) error {
	switch {
	case e.Gatherer == nil:
		return fmt.Errorf("%s: no FHIR gatherer", id)
	case e.Now == nil:
		return fmt.Errorf("%s: no clock", id)
	case e.Topics == nil:
		return fmt.Errorf("%s: no topic registry", id)
	case e.Memory != nil && (e.Memory.Recorder == nil || e.Memory.Key.IsZero()):
		return fmt.Errorf("%s: a memory needs a recorder and a key", id)
	}
	for _, t := range topics {
		if _, ok := e.Topics.Topic(t); !ok {
			return fmt.Errorf("%s: topic %q is not registered", id, t)
		}
	}
	if e.Logger == nil {
		e.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// GatherRecord reads the patient's record for a request: the prefetch keys
// of templates, and from the request's FHIR server (with its token) what is
// missing, when the caller or the operator allows that server. Each key is
// counted in the metrics. Data that cannot be obtained gives the 412
// *cdshooks.Error naming the keys.
func (e *Env) GatherRecord(ctx context.Context, templates map[string]string, req *cdshooks.Request, caller cdshooks.Caller) (*fhir.Record, error) {
	in := fhir.GatherInput{
		Prefetch:      req.Prefetch,
		Templates:     templates,
		Context:       contextStrings(req),
		FHIRServer:    req.FHIRServer,
		AllowedServer: cdshooks.FHIRServerAllowed(caller, e.FHIRAllow),
	}
	if req.FHIRAuthorization != nil {
		in.AccessToken = req.FHIRAuthorization.AccessToken
	}
	rec, report, err := e.Gatherer.Gather(ctx, in)
	if report != nil {
		for _, k := range report.Keys {
			e.Metrics.PrefetchKey(ctx, k.Key, string(k.Status))
		}
	}
	var unavailable *fhir.UnavailableError
	switch {
	case errors.As(err, &unavailable):
		return nil, cdshooks.MissingPrefetch(unavailable.Keys...)
	case err != nil:
		return nil, fmt.Errorf("reading the patient's record: %w", err)
	}
	return rec, nil
}

// contextStrings returns the hook context's string fields, for prefetch templates.
func contextStrings(req *cdshooks.Request) map[string]string {
	out := make(map[string]string, len(req.Context))
	for name := range req.Context {
		if v, ok, err := req.ContextString(name); ok && err == nil {
			out[name] = v
		}
	}
	return out
}

// CardIDs starts the card and suggestion uuids of one response to issuer
// (the caller's verified JWT iss; "" without authentication) (see CardIDs).
func (e *Env) CardIDs(issuer, hookInstance, fhirServer, patientID string) *CardIDs {
	return newCardIDs(e.Topics, e.Memory, issuer, hookInstance, fhirServer, patientID)
}

// CheckTenancy refuses (403) a request whose fhirServer the caller may not
// name, whenever a Memory is used: the fhirServer is part of the patient's
// pseudonym, so naming another hospital's server must not reach that
// hospital's history, whether or not anything is fetched from it (issue 27).
// Without a Memory, or without a fhirServer, there is nothing to check; nor
// without authentication (--insecure-no-auth: every caller is the same
// anonymous one, so there are no tenants to keep apart).
func (e *Env) CheckTenancy(req *cdshooks.Request, caller cdshooks.Caller) error {
	if e.Memory == nil || req.FHIRServer == "" || caller.Issuer == "" {
		return nil
	}
	if _, ok := cdshooks.FHIRServerAllowed(caller, e.FHIRAllow)(req.FHIRServer); !ok {
		return cdshooks.Errorf(cdshooks.EFORBIDDEN, "fhirServer is not one this caller may name (the trust file's fhir_servers, or --fhir-allow)")
	}
	return nil
}

// Feedback remembers the feedback from caller about the cards of service,
// and snoozes what it asks to (see Memory); without a Memory it does
// nothing. Only cards issued to that caller count (see
// feedback.Recorder.RecordFeedback), which it waits for the store to say.
func (e *Env) Feedback(ctx context.Context, service string, items []cdshooks.Feedback, caller cdshooks.Caller) {
	e.Memory.record(ctx, e.Topics, service, items, caller.Issuer, e.Now())
}

// Sources returns the source maker of the cards of a knowledge base of the
// given version, served under PublicURL.
func (e *Env) Sources(knowledgeVersion string) Sources {
	return NewSources(e.Topics, knowledgeVersion, e.PublicURL)
}
