package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/cramp-cds/cramp-cds/cdshooks/auth"
	"github.com/cramp-cds/cramp-cds/cdshooks/feedback"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
)

// storeOpenTimeout bounds connecting and migrating at start. A store that
// cannot be opened stops the start (a wrong URL or key is a configuration
// error to see at once); once running, the service fails open instead.
const storeOpenTimeout = 30 * time.Second

// keyFileName is the key generated beside a SQLite database without --store-key.
const keyFileName = "cramp-cds.key"

// memory is what the server remembers with: the store, the recorder the
// services write through, and the key that pseudonymises patients. Its zero
// value (--store none) remembers nothing.
type memory struct {
	store    *feedback.SQL
	recorder *feedback.Recorder
	key      feedback.Key
}

// openMemory opens the store cfg names, and its key: --store-key or
// --store-key-file, or for SQLite without either a key file beside the
// database (generated the first time; the store creates the directory). It
// logs which kind of store is used, never its URL.
func openMemory(ctx context.Context, cfg Config, logger *slog.Logger, meter metric.Meter) (*memory, error) {
	kind, target, err := feedback.ParseDSN(cfg.Store)
	if err != nil {
		return nil, err
	}
	if kind == feedback.KindNone {
		logger.Info("store", "kind", kind, "snoozes", false)
		return &memory{}, nil
	}
	m := &memory{}
	openCtx, cancel := context.WithTimeout(ctx, storeOpenTimeout)
	defer cancel()
	var opts []feedback.OpenOption
	if cfg.StorePasswordFile != "" {
		opts = append(opts, feedback.WithPasswordFile(cfg.StorePasswordFile))
	}
	if m.store, err = feedback.Open(openCtx, cfg.Store, opts...); err != nil {
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	switch {
	case cfg.StoreKey != "":
		m.key, err = feedback.NewKey([]byte(cfg.StoreKey))
	case cfg.StoreKeyFile != "":
		m.key, err = feedback.LoadKeyFile(cfg.StoreKeyFile)
	default:
		m.key, err = feedback.LoadOrCreateKeyFile(filepath.Join(filepath.Dir(target), keyFileName))
	}
	if err != nil {
		_ = m.store.Close()
		return nil, fmt.Errorf("store key: %w", err)
	}
	m.recorder, err = feedback.NewRecorder(feedback.Options{
		Store: m.store, Logger: logger, Meter: meter, Retention: cfg.StoreRetention,
	})
	if err != nil {
		_ = m.store.Close()
		return nil, err
	}
	attrs := []any{"kind", kind, "snoozes", true, "shared_replay_cache", true}
	if kind == feedback.KindSQLite {
		attrs = append(attrs, "path", target)
	}
	logger.Info("store", attrs...)
	return m, nil
}

// sharedReplay is the replay cache kept in the store's token table: every
// replica sharing a PostgreSQL database sees the others' tokens, and a
// SQLite process sees its own from before a restart (a cache in memory
// alone would accept again a token it had accepted before the restart). Nil
// without a store.
func (m *memory) sharedReplay() auth.ReplayCache {
	if m == nil || m.store == nil {
		return nil
	}
	return m.recorder
}

// forServices is the services' view of the memory, with the snooze
// durations of cfg; nil without a store.
func (m *memory) forServices(cfg Config) *kit.Memory {
	if m == nil || m.store == nil {
		return nil
	}
	return &kit.Memory{Recorder: m.recorder, Key: m.key, Snooze: cfg.Snooze, SnoozeNotRelevant: cfg.SnoozeNotRelevant}
}

// close writes what the recorder still holds (within ctx) and closes the store.
func (m *memory) close(ctx context.Context) error {
	if m == nil || m.store == nil {
		return nil
	}
	err := m.recorder.Close(ctx)
	if cerr := m.store.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("closing the store: %w", cerr))
	}
	return err
}

// adminHandler adds GET /admin/report (see reportHandler) to the admin
// listener's handler.
func (m *Main) adminHandler(base http.Handler) http.Handler {
	var store feedback.Store
	if m.memory != nil && m.memory.store != nil {
		store = m.memory.store
	}
	mux := http.NewServeMux()
	mux.Handle("GET /admin/report", reportHandler(store, m.Logger, adminReportTimeout))
	mux.Handle("/", base)
	return mux
}
