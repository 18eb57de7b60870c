package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/auth"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
	"github.com/cramp-cds/cramp-cds/knowledge/page"
)

// runServe is `cramp-cds serve`: read the configuration, start, and serve
// until ctx is done (SIGTERM or SIGINT), then shut down gracefully.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, os.Getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	// Failed exports (a collector down) go to OpenTelemetry's one global
	// error handler, which prints plain text to stderr: log them as JSON.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("telemetry export failed", "error", err.Error())
	}))
	m := &Main{Config: cfg, Logger: logger}
	if err := m.Open(ctx); err != nil {
		return err
	}
	// One plain line for the person at the terminal; the log is JSON on stdout.
	fmt.Fprintln(stderr, m.readyLine())
	return m.Run(ctx)
}

// HTTP server timeouts. Write covers the whole hook call, FHIR reads included,
// so it sits well above --fhir-timeout; EHRs give up long before it anyway.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
)

// Main is one running cramp-cds server: its configuration and what is built
// from it. Open starts it, Run waits for the end, Close shuts it down.
type Main struct {
	Config Config
	// Logger receives the JSON log; nil discards.
	Logger *slog.Logger
	// Services replaces the services built from Config (tests use it); nil
	// means the real ones.
	Services []cdshooks.Service
	// FHIRTransport sends the FHIR fallback reads (tests give one trusting
	// their TLS server); nil means a clone of http.DefaultTransport.
	FHIRTransport http.RoundTripper

	verifier  *auth.Verifier
	telemetry *telemetry
	memory    *memory
	server    *cdshooks.Server
	api       *http.Server
	admin     *http.Server
	apiAddr   net.Addr
	adminAdr  net.Addr
	errc      chan error
}

// Open builds everything and starts listening; on return the listeners
// accept connections (Addr and AdminAddr tell where). When it fails, what it
// had started is stopped again.
func (m *Main) Open(ctx context.Context) (err error) {
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	m.Logger = slog.New(traceLogHandler{m.Logger.Handler()})
	cfg := m.Config
	if err := cfg.Validate(); err != nil {
		return err
	}

	defer func() {
		if err != nil {
			if m.api != nil {
				_ = m.api.Close()
			}
			// The store's writer, the key refresh and telemetry stop too.
			_ = m.release()
		}
	}()
	tel, err := openTelemetry(ctx, os.Getenv)
	if err != nil {
		return fmt.Errorf("setting up telemetry: %w", err)
	}
	m.telemetry = tel
	m.Logger.Info("telemetry", "traces", tel.traces, "metrics", "prometheus", "otlp_metrics", tel.otlpMetrics)

	if m.memory, err = openMemory(ctx, cfg, m.Logger, tel.meterProvider.Meter("github.com/cramp-cds/cramp-cds/cdshooks/feedback")); err != nil {
		return err
	}

	topics, err := topicRegistry()
	if err != nil {
		return err
	}
	deps := cdshooks.Deps{
		Logger: m.Logger, Services: m.Services, Telemetry: tel.server(),
		IsFHIRID: fhir.ValidID, ReadDraftOrders: fhir.EachDraftOrder, Topics: topics,
	}
	if cfg.InsecureNoAuth {
		m.Logger.Warn("AUTHENTICATION IS DISABLED (--insecure-no-auth): anyone who can reach this server can call it " +
			"and read the cards it returns. Use this only for a local experiment, never with real patient data.")
	} else {
		trust, err := auth.LoadTrustFile(cfg.TrustFile)
		if err != nil {
			return fmt.Errorf("loading trust file: %w", err)
		}
		warnPublishedKeys(trust, m.Logger)
		m.verifier, err = auth.NewVerifier(ctx, trust, auth.Options{
			Algorithms: cfg.JWTAlgs, Logger: m.Logger, SharedReplay: m.memory.sharedReplay(),
		})
		if err != nil {
			return fmt.Errorf("setting up JWT verification: %w", err)
		}
		deps.Authenticator = m.verifier
	}
	kb, err := knowledge.Load()
	if err != nil {
		return fmt.Errorf("loading the knowledge base: %w", err)
	}
	knowledgePage, err := page.New(kb)
	if err != nil {
		return err
	}
	// The EHRs allowed to call us may show the page in their frame, where a card's link opens it.
	deps.Documents = map[string]http.Handler{kit.KnowledgePath: knowledgePage.FramedBy(cfg.CORSOrigins)}
	// Each value set at GET /knowledge/ValueSet/{id}, for a terminology team to review.
	deps.FHIRDocuments = map[string][]byte{}
	for _, vs := range kb.ValueSets() {
		deps.FHIRDocuments[kit.KnowledgePath+"/ValueSet/"+vs.ID] = vs.Raw
	}
	if deps.Services == nil {
		deps.Services, err = services(cfg, serviceDeps{
			Knowledge: kb, Now: time.Now, Logger: m.Logger,
			HTTPClient: tel.fhirClient(m.FHIRTransport), Metrics: tel.metrics,
			Memory: m.memory.forServices(cfg),
		})
		if err != nil {
			return fmt.Errorf("building the services: %w", err)
		}
	}

	m.server, err = cdshooks.NewServer(cdshooks.Config{
		PublicURLs:     cfg.PublicURLs,
		CORSOrigins:    cfg.CORSOrigins,
		MaxBody:        cfg.MaxBody,
		MaxInFlight:    cfg.MaxInFlight,
		InFlightMemory: cfg.InFlightMemory,
		AnswerDeadline: cfg.AnswerDeadline,
		QueueBudget:    cfg.QueueBudget,
		DeadlineHeader: cfg.DeadlineHeader,
		AuthDiscovery:  cfg.AuthDiscovery,
		// The versions, where CDS Hooks allows fields of our own (§11).
		DiscoveryExtension: discoveryExtension(kb.Version()),
	}, deps)
	if err != nil {
		return fmt.Errorf("building the server: %w", err)
	}

	m.errc = make(chan error, 2)
	errorLog := slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn)
	m.api = &http.Server{
		Handler:           m.server.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          errorLog,
	}
	if m.apiAddr, err = m.listen(m.api, cfg.Addr, "api"); err != nil {
		return err
	}
	if cfg.AdminAddr != "" {
		m.admin = &http.Server{
			Handler:           cdshooks.NoSniff(m.adminHandler(tel.adminHandler(m.server.HealthHandler(), m.Logger))),
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readTimeout,
			WriteTimeout:      writeTimeout,
			IdleTimeout:       idleTimeout,
			ErrorLog:          errorLog,
		}
		if m.adminAdr, err = m.listen(m.admin, cfg.AdminAddr, "admin"); err != nil {
			return err
		}
	}
	return nil
}

// listen opens addr and serves srv on it in the background; a serving
// failure is reported to Run.
func (m *Main) listen(srv *http.Server, addr, name string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s (%s): %w", addr, name, err)
	}
	m.Logger.Info("listening", "listener", name, "addr", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			m.errc <- fmt.Errorf("serving %s: %w", name, err)
		}
	}()
	return ln.Addr(), nil
}

// Addr is the address the API listens on (useful with port 0).
func (m *Main) Addr() string { return m.apiAddr.String() }

// AdminAddr is the address of the admin listener, "" when it is disabled.
func (m *Main) AdminAddr() string {
	if m.adminAdr == nil {
		return ""
	}
	return m.adminAdr.String()
}

// Run blocks until ctx is done or a listener fails, then shuts down with Close.
func (m *Main) Run(ctx context.Context) error {
	var serveErr error
	select {
	case <-ctx.Done():
		m.Logger.Info("shutdown requested")
	case serveErr = <-m.errc:
	}
	return errors.Join(serveErr, m.Close())
}

// Close shuts down gracefully: readiness fails at once, the API stops
// accepting connections and lets in-flight requests finish (at most
// ShutdownTimeout), then the admin listener and the key refresh stop, and
// telemetry is flushed (at most telemetryFlushTimeout).
func (m *Main) Close() error {
	m.server.Drain()
	ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := m.api.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("shutting down the API: %w", err))
	}
	if m.admin != nil {
		if err := m.admin.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutting down the admin listener: %w", err))
		}
	}
	if err := m.release(); err != nil {
		errs = append(errs, err)
	}
	m.Logger.Info("stopped")
	return errors.Join(errs...)
}

// telemetryFlushTimeout bounds the last writes at shutdown: the store's
// queued history, then spans and metrics, together. It fits in the margin the
// Helm chart leaves between preStop plus --shutdown-timeout and
// terminationGracePeriodSeconds.
const telemetryFlushTimeout = 3 * time.Second

// release stops what Open started besides the listeners: the key refresh,
// the store (writing what it still queues), and telemetry, flushing what it
// still holds to the OTLP exporters.
func (m *Main) release() error {
	if m.verifier != nil {
		m.verifier.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), telemetryFlushTimeout)
	defer cancel()
	var errs []error
	if err := m.memory.close(ctx); err != nil {
		errs = append(errs, err)
	}
	if m.telemetry != nil {
		if err := m.telemetry.shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutting down telemetry: %w", err))
		}
	}
	return errors.Join(errs...)
}
