package cdshooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// LegCrampsConfig holds what the nocturnal-leg-cramps service works with.
type LegCrampsConfig struct {
	// Knowledge is the clinical knowledge base (required).
	Knowledge *knowledge.Base
	// Gatherer reads the patient's record from prefetch and the FHIR server (required).
	Gatherer *fhir.Gatherer
	// Now is the clock: cards are computed as of Now() (required).
	Now func() time.Time
	// Screening speaks for every patient (--trigger=always); otherwise only
	// for patients with a present leg-cramp condition.
	Screening bool
	// FHIRAllow lists fhirServer base URLs any caller may name (--fhir-allow),
	// besides those the caller's trust entry grants (Caller.FHIRServers).
	FHIRAllow []string
	// PublicURL is our external base URL (--public-url); cards point
	// source.url at PublicURL + KnowledgePath. Empty leaves source.url out.
	PublicURL string
	// Logger receives one debug line per evaluation (counts only); nil discards.
	Logger *slog.Logger
	// OnGather, when set, is told what happened to each prefetch key of
	// every request (for metrics). It must not keep the report.
	OnGather func(ctx context.Context, r *fhir.GatherReport)
}

// LegCramps is the nocturnal-leg-cramps patient-view service: it reads the
// patient's record, applies the knowledge base's rules as of the clock's
// time, and renders the findings as cards. It is safe for concurrent use.
type LegCramps struct {
	cfg       LegCrampsConfig
	sources   SourceBuilder
	templates map[string]string
	def       ServiceDefinition
}

// NewLegCramps builds the service. It fails when a required dependency is
// missing or a prefetch template is malformed.
func NewLegCramps(cfg LegCrampsConfig) (*LegCramps, error) {
	switch {
	case cfg.Knowledge == nil:
		return nil, errors.New("nocturnal-leg-cramps: no knowledge base")
	case cfg.Gatherer == nil:
		return nil, errors.New("nocturnal-leg-cramps: no FHIR gatherer")
	case cfg.Now == nil:
		return nil, errors.New("nocturnal-leg-cramps: no clock")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	templates := LegCrampsPrefetch(cfg.Knowledge)
	for key, t := range templates {
		if err := fhir.ValidateTemplate(t); err != nil {
			return nil, fmt.Errorf("nocturnal-leg-cramps: prefetch %q: %w", key, err)
		}
	}
	return &LegCramps{
		cfg:       cfg,
		sources:   NewSourceBuilder(cfg.Knowledge, cfg.PublicURL),
		templates: templates,
		def:       NocturnalLegCrampsDefinition(templates),
	}, nil
}

// LegCrampsPrefetch returns the service's prefetch templates: the defaults of
// NocturnalLegCrampsPrefetch with the observation query narrowed to the LOINC
// result codes of the knowledge base's work-up labs, so the EHR sends (and
// we read) only results the rules look at.
func LegCrampsPrefetch(kb *knowledge.Base) map[string]string {
	t := NocturnalLegCrampsPrefetch()
	var codes []string
	for _, lab := range kb.Labs() {
		for _, c := range lab.Results {
			codes = append(codes, fhir.SystemLOINC+"|"+c.Code)
		}
	}
	t[PrefetchObservations] = "Observation?patient={{context.patientId}}&code=" + strings.Join(codes, ",")
	return t
}

// Definitions returns the service's one discovery entry (patient-view).
func (s *LegCramps) Definitions() []ServiceDefinition { return []ServiceDefinition{s.def} }

// Evaluate answers one patient-view call. Data it cannot obtain (a prefetch
// key absent or failed, and the FHIR server not readable) gives a 412
// naming the keys: the service never answers as if a lab were missing when it
// could not look.
func (s *LegCramps) Evaluate(ctx context.Context, req *Request, caller Caller) (*Response, error) {
	rec, err := gatherRecord(ctx, s.cfg.Gatherer, s.templates, req, FHIRServerAllowed(caller, s.cfg.FHIRAllow), s.cfg.OnGather)
	if err != nil {
		return nil, err
	}
	return s.Respond(ctx, rec, req.HookInstance, req.PatientID()), nil
}

// gatherRecord reads the patient's record for a request: the prefetch keys of
// templates, and from the request's FHIR server (with its token) what is
// missing, when allowed says the server may be read. onGather, when set, is
// told what happened to each key. Data that cannot be obtained gives the 412
// *Error naming the keys.
func gatherRecord(ctx context.Context, g *fhir.Gatherer, templates map[string]string, req *Request,
	allowed func(base string) bool, onGather func(context.Context, *fhir.GatherReport)) (*fhir.Record, error) {
	in := fhir.GatherInput{
		Prefetch:      req.Prefetch,
		Templates:     templates,
		Context:       contextStrings(req),
		FHIRServer:    req.FHIRServer,
		AllowedServer: allowed,
	}
	if req.FHIRAuthorization != nil {
		in.AccessToken = req.FHIRAuthorization.AccessToken
	}
	rec, report, err := g.Gather(ctx, in)
	if onGather != nil && report != nil {
		onGather(ctx, report)
	}
	var unavailable *fhir.UnavailableError
	switch {
	case errors.As(err, &unavailable):
		return nil, MissingPrefetch(unavailable.Keys...)
	case err != nil:
		return nil, fmt.Errorf("reading the patient's record: %w", err)
	}
	return rec, nil
}

// Respond renders the cards for a record already read (ctx carries the
// request's trace for the log line): the findings as of
// the clock's time, for patientID (its bare id, used as the subject of
// proposed orders), with card uuids derived from hookInstance. Evaluate ends
// here, and `cramp-cds evaluate` calls it for a FHIR Bundle.
func (s *LegCramps) Respond(ctx context.Context, rec *fhir.Record, hookInstance, patientID string) *Response {
	if rec == nil {
		rec = &fhir.Record{}
	}
	asOf := s.cfg.Now()
	f := s.cfg.Knowledge.Evaluate(rec, asOf, knowledge.Options{Screening: s.cfg.Screening})
	r := cardRenderer{sources: s.sources, hookInstance: hookInstance, patientID: patientID, findings: &f}
	cards := r.cards()
	s.cfg.Logger.DebugContext(ctx, "nocturnal-leg-cramps evaluated",
		slog.Bool("triggered", f.Triggered), slog.Int("cards", len(cards)), slog.Int("skipped_resources", len(rec.Skipped)))
	return &Response{Cards: cards}
}

// contextStrings returns the hook context's string fields, for prefetch templates.
func contextStrings(req *Request) map[string]string {
	out := make(map[string]string, len(req.Context))
	for name := range req.Context {
		if v, ok, err := req.ContextString(name); ok && err == nil {
			out[name] = v
		}
	}
	return out
}

// FHIRServerAllowed returns the AllowedServer check for one request: the
// fhirServer may be read when the caller's trust entry allows any server or
// lists it, or when the operator's allow list (--fhir-allow) does. Base URLs
// compare without trailing slashes.
func FHIRServerAllowed(caller Caller, allowList []string) func(base string) bool {
	return func(base string) bool {
		if caller.AnyFHIRServer {
			return true
		}
		base = strings.TrimRight(base, "/")
		for _, lists := range [][]string{caller.FHIRServers, allowList} {
			for _, s := range lists {
				if strings.TrimRight(s, "/") == base {
					return true
				}
			}
		}
		return false
	}
}

// EncodeResponse validates a response and marshals it exactly as the server
// writes a 200 body.
func EncodeResponse(r *Response) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("invalid response: %w", err)
	}
	return marshal(r)
}

// marshalResource marshals a FHIR resource we built ourselves.
func marshalResource(v any) json.RawMessage {
	b, err := marshal(v)
	if err != nil {
		// Our own plain structs of strings always marshal.
		panic("cdshooks: marshalling a built resource: " + err.Error())
	}
	return b
}
