package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// serviceDeps are what the services are built with besides the configuration.
type serviceDeps struct {
	Knowledge *knowledge.Base
	// Now is the clock the services evaluate as of (time.Now when serving,
	// --now in evaluate).
	Now    func() time.Time
	Logger *slog.Logger
	// HTTPClient reads FHIR servers (wrap its transport for tracing); nil
	// means a plain client.
	HTTPClient *http.Client
	// Metrics, when set, counts how each request's prefetch keys were obtained.
	Metrics *cdshooks.Metrics
	// Memory, when set, remembers cards and feedback and snoozes dismissed
	// cards (serve with a store; never evaluate).
	Memory *legcramps.Memory
}

// services builds the CDS services from the configuration: the one list
// both `serve` and `evaluate` use, so evaluate answers every hook the server
// does: nocturnal-leg-cramps (patient-view) and cramp-inducing-order
// (order-select, order-sign).
func services(cfg Config, deps serviceDeps) ([]cdshooks.Service, error) {
	gatherer := fhir.NewGatherer(fhir.GathererOptions{
		HTTPClient: deps.HTTPClient,
		Timeout:    cfg.FHIRTimeout,
		AllowHTTP:  cfg.FHIRAllowHTTP,
		Logger:     deps.Logger,
	})
	env := legcramps.Env{
		Knowledge: deps.Knowledge,
		Gatherer:  gatherer,
		Now:       deps.Now,
		FHIRAllow: cfg.FHIRAllow,
		PublicURL: cfg.PublicURL(),
		AllAges:   cfg.AllAges,
		Logger:    deps.Logger,
		Metrics:   deps.Metrics,
		Memory:    deps.Memory,
	}
	patientView, err := legcramps.NewPatientView(env, cfg.Trigger == TriggerAlways)
	if err != nil {
		return nil, err
	}
	// The order hooks have no screening mode: they warn only a patient with
	// leg cramps (see InducingOrder.Evaluate).
	orders, err := legcramps.NewInducingOrder(env)
	if err != nil {
		return nil, err
	}
	return []cdshooks.Service{patientView, orders}, nil
}
