package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
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
	// OnGather, when set, is told how each request's prefetch keys were
	// obtained (metrics).
	OnGather func(ctx context.Context, r *fhir.GatherReport)
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
	legCramps, err := cdshooks.NewLegCramps(cdshooks.LegCrampsConfig{
		Knowledge: deps.Knowledge,
		Gatherer:  gatherer,
		Now:       deps.Now,
		Screening: cfg.Trigger == TriggerAlways,
		FHIRAllow: cfg.FHIRAllow,
		PublicURL: cfg.PublicURL(),
		Logger:    deps.Logger,
		OnGather:  deps.OnGather,
	})
	if err != nil {
		return nil, err
	}
	// The order hooks have no screening mode: they warn only a patient with
	// leg cramps (see CrampInducingOrder.Evaluate).
	orders, err := cdshooks.NewCrampInducingOrder(cdshooks.CrampInducingOrderConfig{
		Knowledge: deps.Knowledge,
		Gatherer:  gatherer,
		Now:       deps.Now,
		FHIRAllow: cfg.FHIRAllow,
		PublicURL: cfg.PublicURL(),
		OnGather:  deps.OnGather,
	})
	if err != nil {
		return nil, err
	}
	return []cdshooks.Service{legCramps, orders}, nil
}
