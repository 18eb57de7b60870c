package cdshooks

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/trace"
)

// DefaultMaxBody is the request body limit when Config.MaxBody is zero: 5 MiB,
// room for a generous prefetch.
const DefaultMaxBody = 5 << 20

// DefaultMaxResponse is the response body limit when Config.MaxResponse is
// zero: 1 MiB, far more than a side panel of cards needs.
const DefaultMaxResponse = 1 << 20

// Config holds the server's settings.
type Config struct {
	// PublicURLs are the base URLs callers use to reach us, e.g.
	// "https://cds.example.org", without /cds-services (several when callers
	// reach us by more than one name, as "http://localhost:8080" and
	// "http://127.0.0.1:8080" locally). The audience a JWT must carry is one
	// of them + the request path: the one whose host is the request's Host
	// header, else the first. The Host header only picks among these; it
	// never makes an audience, so a token minted for any other URL is
	// refused. With none, there is no audience and an Authenticator refuses
	// every token.
	PublicURLs []string
	// CORSOrigins lists the browser origins allowed to call us; empty or "*"
	// allows any origin.
	CORSOrigins []string
	// MaxBody is the largest request body accepted, in bytes; 0 means DefaultMaxBody.
	MaxBody int64
	// MaxResponse is the largest answer sent, in bytes; 0 means
	// DefaultMaxResponse. Services bound what they say; a larger answer is
	// their bug, answered 500 and logged, never sent.
	MaxResponse int
	// AuthDiscovery requires authentication on GET /cds-services too.
	AuthDiscovery bool
	// MaxInFlight is how many service and feedback calls may be in progress
	// at once; one more is answered 503 with Retry-After. 0 means
	// DefaultMaxInFlight.
	MaxInFlight int
	// InFlightMemory is the memory, in bytes, the calls in progress may be
	// charged together (each 5 times its body, at least 256 KiB of body); a
	// call that does not fit is answered 503 with Retry-After. 0 means
	// DefaultInFlightMemory.
	InFlightMemory int64
	// DiscoveryExtension is added to every discovery entry's "extension"
	// object (the spec's one sanctioned place for fields of our own, §11),
	// e.g. the software's version; a key a service sets itself wins.
	DiscoveryExtension Extension
	// AnswerDeadline is the time a service or feedback call has to be
	// answered, from its arrival, unless it carries a trusted deadline of its
	// own (DeadlineHeader): the FHIR fallback, the store and the writing of
	// the answer all stop at it, and a call not started in time is refused.
	// 0 means DefaultAnswerDeadline.
	AnswerDeadline time.Duration
	// QueueBudget is the longest a call may wait for a slot before it is
	// refused (503, Retry-After); a call whose predicted wait is longer is
	// refused at once. A call with a deadline of its own gets the same share
	// of it. 0 means AnswerDeadline/20.
	QueueBudget time.Duration
	// DeadlineHeader names a request header carrying the caller's own answer
	// deadline in whole milliseconds, set by a proxy the deployment trusts
	// (Envoy's x-envoy-expected-rq-timeout-ms, say); the proxy must
	// overwrite whatever the caller sent. Empty: every call gets
	// AnswerDeadline.
	DeadlineHeader string
}

// Deps holds what the server works with.
type Deps struct {
	// Services are the CDS services to serve; their ids must differ.
	Services []Service
	// Authenticator verifies callers of the service and feedback endpoints
	// (and of discovery with AuthDiscovery). Nil disables authentication
	// altogether (--insecure-no-auth): every such request is then logged with
	// a warning.
	Authenticator Authenticator
	// Logger receives one line per request and every error; nil discards.
	Logger *slog.Logger
	// Telemetry receives traces and metrics; the zero value records none.
	Telemetry Telemetry
	// IsFHIRID is the FHIR id grammar (fhir.ValidID) the context ids of every
	// request are held to (required).
	IsFHIRID func(string) bool
	// ReadDraftOrders reads the order hooks' context.draftOrders
	// (fhir.EachDraftOrder), required when a service serves an order hook:
	// cdshooks reads no FHIR itself.
	ReadDraftOrders DraftOrdersReader
	// Topics, when set, is the registry of every card topic the services
	// use: the server reads from it the topic a service wrote into one of its
	// card uuids, so that feedback is counted by topic. Nil counts all
	// feedback as "unknown".
	Topics TopicReader
	// Documents are read-only pages served at their path (GET, without
	// authentication), such as the knowledge page a card's links and
	// source.url point at. They must hold no patient data.
	Documents map[string]http.Handler
	// FHIRDocuments are FHIR resources served as is at their path (GET,
	// without authentication, as application/fhir+json), such as the value
	// sets a terminology team reviews. They must hold no patient data.
	FHIRDocuments map[string][]byte
}

// TopicReader reads the topic code a service wrote into one of its card
// uuids; ok is false for a uuid no service made. A registry of any number of
// topics implements it.
type TopicReader interface {
	TopicOf(cardUUID string) (topic string, ok bool)
}

// Server is the CDS Hooks HTTP API: discovery, service calls, feedback, CORS,
// authentication and health. Build it with NewServer and serve Handler.
type Server struct {
	cfg      Config
	auth     Authenticator
	logger   *slog.Logger
	services map[string]registered
	defs     []ServiceDefinition
	anyOrig  bool
	// publicURLs are Config.PublicURLs, parsed once for the audience.
	publicURLs []publicURL
	draining   atomic.Bool
	engine     *gin.Engine
	// handler is engine with the headers every answer carries.
	handler http.Handler
	// admission and memory decide which calls run (see limitInFlight).
	admission *admission
	memory    *memoryBudget
	now       func() time.Time
	tracer    trace.Tracer
	metrics   *Metrics
	isFHIRID  func(string) bool
	// readDrafts is Deps.ReadDraftOrders, or noDraftOrders when no service
	// serves an order hook (such a request is then refused for its hook).
	readDrafts DraftOrdersReader
	topics     TopicReader
	// requestRules and feedbackRules hold the member names each body may
	// use (see checkMembers).
	requestRules, feedbackRules *memberRules
}

// Keys under which middleware leaves values for later handlers in a request.
const (
	callerKey    = "cdshooks.caller"
	confirmKey   = "cdshooks.confirm" // a PendingAuthenticator's confirm
	errorCodeKey = "cdshooks.error"
)

// NewServer builds the server and its routes. It fails if a service's
// definitions are inconsistent or two services share an id.
func NewServer(cfg Config, deps Deps) (*Server, error) {
	if deps.IsFHIRID == nil {
		return nil, errors.New("no FHIR id grammar (Deps.IsFHIRID)")
	}
	services, defs, err := register(deps.Services)
	if err != nil {
		return nil, fmt.Errorf("registering services: %w", err)
	}
	readDrafts := deps.ReadDraftOrders
	if readDrafts == nil {
		for _, d := range defs {
			if d.Hook == HookOrderSelect || d.Hook == HookOrderSign {
				return nil, fmt.Errorf("service %s serves %s but there is no FHIR reader for its draftOrders (Deps.ReadDraftOrders)", d.ID, d.Hook)
			}
		}
		readDrafts = noDraftOrders
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxResponse <= 0 {
		cfg.MaxResponse = DefaultMaxResponse
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.InFlightMemory <= 0 {
		cfg.InFlightMemory = DefaultInFlightMemory
	}
	if cfg.AnswerDeadline <= 0 {
		cfg.AnswerDeadline = DefaultAnswerDeadline
	}
	if cfg.QueueBudget <= 0 {
		cfg.QueueBudget = cfg.AnswerDeadline / queueBudgetShare
	}
	publicURLs, err := parsePublicURLs(cfg.PublicURLs)
	if err != nil {
		return nil, err
	}
	defs = withExtension(defs, cfg.DiscoveryExtension)
	s := &Server{
		cfg:      cfg,
		auth:     deps.Authenticator,
		logger:   deps.Logger,
		services: services,
		defs:     defs,
		anyOrig:  len(cfg.CORSOrigins) == 0 || slices.Contains(cfg.CORSOrigins, "*"),

		publicURLs: publicURLs,
		admission:  newAdmission(time.Now, newSchedPressure().read, minRunning, cfg.MaxInFlight, cfg.MaxInFlight),
		memory:     &memoryBudget{max: cfg.InFlightMemory, byIssuer: map[string]int64{}},
		now:        time.Now,
		tracer:     deps.Telemetry.tracer(),
		metrics:    deps.Telemetry.Metrics,
		isFHIRID:   deps.IsFHIRID,
		readDrafts: readDrafts,
		topics:     deps.Topics,

		requestRules:  requestMembers(),
		feedbackRules: feedbackMembers(),
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}

	// gin's debug mode prints every route to stdout as plain text, among our
	// JSON logs, and gin has no per-engine switch for it.
	if gin.IsDebugging() {
		gin.SetMode(gin.ReleaseMode)
	}
	// gin.New, not gin.Default: we log and recover ourselves, as JSON.
	e := gin.New()
	e.HandleMethodNotAllowed = true
	// Never believe X-Forwarded-For for the client address: which proxies
	// to trust is a deployment decision nobody has made here.
	if err := e.SetTrustedProxies(nil); err != nil {
		return nil, fmt.Errorf("configuring trusted proxies: %w", err)
	}
	// Tracing comes first, so the request log line carries the span's trace id.
	if tracing := deps.Telemetry.middleware(); tracing != nil {
		e.Use(tracing)
	}
	e.Use(s.logRequests, s.recoverPanics, s.cors)
	e.NoRoute(func(c *gin.Context) {
		s.writeError(c, Errorf(ENOTFOUND, "no such endpoint; the services are listed at GET /cds-services"))
	})
	e.NoMethod(func(c *gin.Context) {
		s.writeError(c, Errorf(EMETHODNOTALLOWED, "%s is not allowed here (see the Allow header)", methodName(c.Request.Method)))
	})

	// HEAD is answered wherever GET is (RFC 9110 9.3.2); gin does not do it
	// by itself. net/http drops the body.
	get := func(path string, handlers ...gin.HandlerFunc) {
		e.GET(path, handlers...)
		e.HEAD(path, handlers...)
	}
	get("/healthz", gin.WrapF(s.healthz))
	get("/readyz", gin.WrapF(s.readyz))
	if cfg.AuthDiscovery {
		get("/cds-services", s.authenticate, s.handleDiscovery)
	} else {
		get("/cds-services", s.handleDiscovery)
	}
	e.POST("/cds-services/:id", s.gate, s.authenticate, s.limitInFlight, s.handleService)
	e.POST("/cds-services/:id/feedback", s.gate, s.authenticate, s.limitInFlight, s.handleFeedback)
	for path, h := range deps.Documents {
		get(path, gin.WrapH(h))
	}
	for path, body := range deps.FHIRDocuments {
		get(path, fhirDocumentHandler(body))
	}
	s.engine = e
	s.handler = NoSniff(e)
	return s, nil
}

// Handler returns the HTTP handler serving every endpoint.
// Every answer carries X-Content-Type-Options: nosniff.
func (s *Server) Handler() http.Handler { return s.handler }

// HealthHandler returns a handler serving only /healthz and /readyz, for an
// admin listener that probes use.
func (s *Server) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	return NoSniff(mux)
}

// Drain marks the server as shutting down: /readyz answers 503 from now on,
// so load balancers stop sending traffic while in-flight requests finish.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeStatus(w, http.StatusOK, `{"status":"ok"}`)
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if s.draining.Load() {
		writeStatus(w, http.StatusServiceUnavailable, `{"status":"shutting down"}`)
		return
	}
	writeStatus(w, http.StatusOK, `{"status":"ready"}`)
}

func writeStatus(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// withExtension returns defs with ext's keys added to each entry's
// extension, without changing the services' own definitions.
func withExtension(defs []ServiceDefinition, ext Extension) []ServiceDefinition {
	if len(ext) == 0 {
		return defs
	}
	out := make([]ServiceDefinition, len(defs))
	for i, d := range defs {
		merged := make(Extension, len(ext)+len(d.Extension))
		maps.Copy(merged, ext)
		maps.Copy(merged, d.Extension)
		d.Extension = merged
		out[i] = d
	}
	return out
}

// handleDiscovery answers GET /cds-services.
func (s *Server) handleDiscovery(c *gin.Context) {
	s.writeJSON(c, http.StatusOK, Discovery{Services: s.defs})
}

// handleFeedback answers POST /cds-services/{id}/feedback: a valid request
// is one log line (service, how many items and cards, outcomes, override
// reason codes; never the user's comment) and each card it is about is
// counted once, by its first item, however often the request repeats it.
//
// Override reason codes are not checked against the reasons the card
// offered: those are on the card, which the server keeps no copy of; the
// product that made the card can check them (and the log clips them).
func (s *Server) handleFeedback(c *gin.Context) {
	// Feedback changes what is remembered: the caller is confirmed first.
	if !s.confirmed(c) {
		return
	}
	reg, ok := s.lookup(c)
	if !ok {
		return
	}
	var fb FeedbackRequest
	if err := s.decodeJSON(c, &fb, s.feedbackRules); err != nil {
		s.writeError(c, err)
		return
	}
	if err := fb.Validate(); err != nil {
		s.writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	var cards, reasons []string
	var accepted, overridden int
	for _, item := range fb.Feedback {
		if item.Outcome == OutcomeAccepted {
			accepted++
		} else {
			overridden++
		}
		if o := item.OverrideReason; o != nil && o.Reason != nil && o.Reason.Code != "" {
			if code := LogString(o.Reason.Code); !slices.Contains(reasons, code) && len(reasons) < maxLoggedReasons {
				reasons = append(reasons, code)
			}
		}
		if !slices.Contains(cards, item.Card) { // at most MaxFeedbackItems: a scan is cheap
			cards = append(cards, item.Card) // a uuid: Validate checked it
			s.metrics.FeedbackReceived(ctx, reg.id, s.feedbackTopic(item.Card), item.Outcome)
		}
	}
	attrs := []any{
		slog.String("service", reg.id),
		slog.Int("items", len(fb.Feedback)),
		slog.Int("cards", len(cards)),
		slog.Int("accepted", accepted),
		slog.Int("overridden", overridden),
		slog.Any("card_uuids", cards),
	}
	if len(reasons) > 0 {
		attrs = append(attrs, slog.Any("override_reasons", reasons))
	}
	s.logger.InfoContext(ctx, "feedback", attrs...)
	if fr, ok := reg.service.(FeedbackReceiver); ok {
		fr.Feedback(ctx, fb.Feedback, callerOf(c))
	}
	c.Status(http.StatusOK)
}

// maxLoggedReasons bounds the distinct override reason codes one feedback
// log line lists.
const maxLoggedReasons = 10

// methodName names a request's method in a message: as sent when it is one
// of HTTP's own, else "this method" (any token is a method, and messages
// never echo caller values).
func methodName(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return "method " + method
	}
	return "this method"
}

// feedbackTopic is the topic a card uuid carries, for the feedback metric.
func (s *Server) feedbackTopic(card string) string {
	if s.topics != nil {
		if topic, ok := s.topics.TopicOf(card); ok {
			return topic
		}
	}
	return topicUnknown
}

func callerOf(c *gin.Context) Caller {
	if v, ok := c.Get(callerKey); ok {
		if caller, ok := v.(Caller); ok {
			return caller
		}
	}
	return Caller{}
}

// routeOf is the matched route pattern, which is safe to log (a raw path
// that matched nothing might hold anything, so it is never logged).
func routeOf(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return "unmatched"
}
