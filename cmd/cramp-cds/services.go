package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
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
	Memory *kit.Memory
}

// topicRegistry is the registry of every card topic the binary's services use,
// for the services' card uuids and the server's feedback metric. Each topic
// package's list is appended after those before it, never reordered: a
// topic's position is written into its cards' uuids.
func topicRegistry() (*kit.Registry, error) {
	return kit.NewRegistry(legcramps.Topics())
}

// reportNames are the names the feedback report gives the topics and
// override reasons of every service's cards.
func reportNames() (feedback.Names, error) {
	topics, err := topicRegistry()
	if err != nil {
		return feedback.Names{}, err
	}
	return kit.ReportNames(topics, legcramps.Reasons()), nil
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
	topics, err := topicRegistry()
	if err != nil {
		return nil, err
	}
	env := legcramps.Env{
		Env: kit.Env{
			Gatherer:  gatherer,
			Now:       deps.Now,
			FHIRAllow: cfg.FHIRAllow,
			PublicURL: cfg.PublicURL(),
			Logger:    deps.Logger,
			Metrics:   deps.Metrics,
			Memory:    deps.Memory,
			Topics:    topics,
		},
		Knowledge: deps.Knowledge,
		AllAges:   cfg.AllAges,
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
