package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	insecure := map[string]string{"CRAMP_CDS_INSECURE_NO_AUTH": "true"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{"CRAMP_CDS_INSECURE_NO_AUTH": "true"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{"defaults", nil, insecure, func(t *testing.T, c Config) {
			want := DefaultConfig()
			want.InsecureNoAuth = true
			if diff := cmp.Diff(want, c); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			// The documented defaults (README), spelled out rather than read back from DefaultConfig.
			if c.Addr != ":8080" || c.AdminAddr != "127.0.0.1:9090" || c.MaxBody != 5<<20 || c.FHIRTimeout != 2*time.Second ||
				c.Trigger != "leg-cramps" || c.AllAges || c.LogLevel != slog.LevelInfo {
				t.Errorf("unexpected defaults: %+v", c)
			}
			const day = 24 * time.Hour
			if c.Store != "sqlite:cramp-cds.db" || c.StoreKey != "" || c.StoreRetention != 400*day ||
				c.Snooze != 90*day || c.SnoozeNotRelevant != 365*day {
				t.Errorf("store defaults: store %q, retention %v, snooze %v, not relevant %v; want sqlite:cramp-cds.db, 400, 90 and 365 days",
					c.Store, c.StoreRetention, c.Snooze, c.SnoozeNotRelevant)
			}
			if diff := cmp.Diff([]string{"ES384", "RS384"}, c.JWTAlgs); diff != "" {
				t.Errorf("jwt algs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"*"}, c.CORSOrigins); diff != "" {
				t.Errorf("cors origins (-want +got):\n%s", diff)
			}
		}},
		{"environment", nil, with(map[string]string{
			"CRAMP_CDS_ADDR":                ":1234",
			"CRAMP_CDS_PUBLIC_URL":          "https://cds.example.org, http://cds.internal:8080",
			"CRAMP_CDS_CORS_ORIGINS":        "https://sandbox.cds-hooks.org, http://localhost:3000",
			"CRAMP_CDS_MAX_BODY":            "1MiB",
			"CRAMP_CDS_AUTH_DISCOVERY":      "true",
			"CRAMP_CDS_JWT_ALGS":            "ES384,RS384,ES256",
			"CRAMP_CDS_FHIR_ALLOW":          "https://fhir.example.org/R4",
			"CRAMP_CDS_FHIR_TIMEOUT":        "3s",
			"CRAMP_CDS_TRIGGER":             "always",
			"CRAMP_CDS_ALL_AGES":            "true",
			"CRAMP_CDS_ADMIN_ADDR":          ":9999",
			"CRAMP_CDS_LOG_LEVEL":           "debug",
			"CRAMP_CDS_SHUTDOWN_TIMEOUT":    "5s",
			"CRAMP_CDS_STORE":               "postgres://cds@db.example.org/cds",
			"CRAMP_CDS_STORE_KEY":           "0123456789abcdef0123456789abcdef",
			"CRAMP_CDS_STORE_RETENTION":     "30d",
			"CRAMP_CDS_SNOOZE":              "7d",
			"CRAMP_CDS_SNOOZE_NOT_RELEVANT": "720h",
			"CRAMP_CDS_MAX_IN_FLIGHT":       "12",
			"CRAMP_CDS_IN_FLIGHT_MEMORY":    "96MiB",
			"CRAMP_CDS_ANSWER_DEADLINE":     "900ms",
			"CRAMP_CDS_QUEUE_BUDGET":        "40ms",
			"CRAMP_CDS_DEADLINE_HEADER":     "X-Envoy-Expected-Rq-Timeout-Ms",
		}), func(t *testing.T, c Config) {
			want := Config{
				Addr: ":1234", PublicURLs: []string{"https://cds.example.org", "http://cds.internal:8080"},
				CORSOrigins: []string{"https://sandbox.cds-hooks.org", "http://localhost:3000"},
				MaxBody:     1 << 20, MaxInFlight: 12, InFlightMemory: 96 << 20, InsecureNoAuth: true, AuthDiscovery: true,
				AnswerDeadline: 900 * time.Millisecond, QueueBudget: 40 * time.Millisecond, DeadlineHeader: "X-Envoy-Expected-Rq-Timeout-Ms",
				JWTAlgs: []string{"ES384", "RS384", "ES256"}, FHIRAllow: []string{"https://fhir.example.org/R4"},
				FHIRTimeout: 3 * time.Second, Trigger: "always", AllAges: true, AdminAddr: ":9999", LogLevel: slog.LevelDebug,
				ShutdownTimeout: 5 * time.Second,
				Store:           "postgres://cds@db.example.org/cds", StoreKey: "0123456789abcdef0123456789abcdef",
				StoreRetention: 30 * 24 * time.Hour, Snooze: 7 * 24 * time.Hour, SnoozeNotRelevant: 30 * 24 * time.Hour,
			}
			if diff := cmp.Diff(want, c); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		}},
		{"trust file from its env name", nil, map[string]string{"CRAMP_CDS_TRUST_FILE": "trust.yaml", "CRAMP_CDS_PUBLIC_URL": "https://cds.example.org"}, func(t *testing.T, c Config) {
			if got, want := c.TrustFile, "trust.yaml"; got != want {
				t.Errorf("TrustFile = %q, want %q", got, want)
			}
		}},
		{"flag wins over env", []string{"--addr", ":2222", "--max-body", "2048", "--trigger=leg-cramps"},
			with(map[string]string{"CRAMP_CDS_ADDR": ":1111", "CRAMP_CDS_MAX_BODY": "1MiB", "CRAMP_CDS_TRIGGER": "always"}),
			func(t *testing.T, c Config) {
				if c.Addr != ":2222" || c.MaxBody != 2048 || c.Trigger != "leg-cramps" {
					t.Errorf("got addr %q, max body %d, trigger %q; want the flags' :2222, 2048, leg-cramps", c.Addr, c.MaxBody, c.Trigger)
				}
			}},
		{"a flag set to its default still wins", []string{"--addr", ":8080"}, with(map[string]string{"CRAMP_CDS_ADDR": ":1111"}),
			func(t *testing.T, c Config) {
				if got, want := c.Addr, ":8080"; got != want {
					t.Errorf("Addr = %q, want %q", got, want)
				}
			}},
		{"empty env is unset", nil, with(map[string]string{"CRAMP_CDS_ADDR": ""}), func(t *testing.T, c Config) {
			if got, want := c.Addr, ":8080"; got != want {
				t.Errorf("Addr = %q, want %q", got, want)
			}
		}},
		{"insecure flag", []string{"--insecure-no-auth"}, nil, func(t *testing.T, c Config) {
			if !c.InsecureNoAuth {
				t.Errorf("InsecureNoAuth = false")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := parseConfig(tt.args, env(tt.env), io.Discard)
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string // substrings of the error
	}{
		{"neither trust nor insecure", nil, nil, []string{"refusing to start", "--trust", "CRAMP_CDS_TRUST_FILE", "--insecure-no-auth"}},
		{"both trust and insecure", []string{"--trust", "t.yaml", "--insecure-no-auth"}, nil, []string{"contradict"}},
		{"bad env value names the variable", []string{"--insecure-no-auth"}, map[string]string{"CRAMP_CDS_MAX_BODY": "lots"}, []string{"CRAMP_CDS_MAX_BODY"}},
		{"bad bool env", nil, map[string]string{"CRAMP_CDS_INSECURE_NO_AUTH": "yes please"}, []string{"CRAMP_CDS_INSECURE_NO_AUTH"}},
		{"unknown flag", []string{"--insecure-no-auth", "--port", "1"}, nil, []string{"port", "--help"}},
		{"stray argument", []string{"--insecure-no-auth", "extra"}, nil, []string{"unexpected arguments"}},
		{"relative public url", []string{"--insecure-no-auth", "--public-url", "/cds"}, nil, []string{"--public-url"}},
		{"one bad public url of two", []string{"--insecure-no-auth", "--public-url", "https://cds.example.org,cds.example.org"}, nil, []string{"--public-url \"cds.example.org\""}},
		// The audience must never come from the Host header, which the caller chooses.
		{"trust without public url", []string{"--trust", "t.yaml"}, nil, []string{"--trust needs --public-url", "CRAMP_CDS_PUBLIC_URL"}},
		{"cors origin with a path", []string{"--insecure-no-auth", "--cors-origins", "https://x.org/app"}, nil, []string{"--cors-origins"}},
		{"bad trigger", []string{"--insecure-no-auth", "--trigger", "sometimes"}, nil, []string{"--trigger"}},
		{"zero max body", []string{"--insecure-no-auth", "--max-body", "0"}, nil, []string{"max-body"}},
		{"negative max in flight", []string{"--insecure-no-auth", "--max-in-flight", "-1"}, nil, []string{"--max-in-flight"}},
		{"zero answer deadline", []string{"--insecure-no-auth", "--answer-deadline", "0s"}, nil, []string{"--answer-deadline"}},
		{"queue budget past the deadline", []string{"--insecure-no-auth", "--answer-deadline", "500ms", "--queue-budget", "500ms"}, nil, []string{"--queue-budget"}},
		{"deadline header with a colon", []string{"--insecure-no-auth", "--deadline-header", "X-Timeout:"}, nil, []string{"--deadline-header"}},
		{"bad log level", []string{"--insecure-no-auth", "--log-level", "loud"}, nil, []string{"log-level"}},
		{"bad fhir allow", []string{"--insecure-no-auth", "--fhir-allow", "fhir.example.org"}, nil, []string{"--fhir-allow"}},
		{"unknown store", []string{"--insecure-no-auth", "--store", "mysql://u:s3cr3tpw@db/cds"}, nil, []string{"--store", "sqlite:PATH"}},
		{"postgres without a key", []string{"--insecure-no-auth", "--store", "postgres://u:s3cr3tpw@db/cds"}, nil, []string{"--store-key", "every replica"}},
		{"short store key", []string{"--insecure-no-auth"}, map[string]string{"CRAMP_CDS_STORE_KEY": "s3cr3tpw"}, []string{"--store-key", "32"}},
		{"bad snooze", []string{"--insecure-no-auth", "--snooze", "soon"}, nil, []string{"snooze"}},
		{"zero retention", []string{"--insecure-no-auth", "--store-retention", "0d"}, nil, []string{"store-retention"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseConfig(tt.args, env(tt.env), io.Discard)
			if err == nil {
				t.Fatalf("parseConfig succeeded, want an error mentioning %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cr3tpw") {
				t.Errorf("error %q repeats a secret (a store password or key)", err)
			}
		})
	}
}

func TestByteSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
	}{
		{"5MiB", 5 << 20}, {"5mib", 5 << 20}, {"512KiB", 512 << 10}, {"1GiB", 1 << 30},
		{"2MB", 2000000}, {"10kB", 10000}, {"1048576", 1 << 20}, {"100B", 100}, {" 3 MiB ", 3 << 20},
	}
	for _, tt := range tests {
		var b byteSize
		if err := b.Set(tt.in); err != nil {
			t.Errorf("Set(%q): %v", tt.in, err)
			continue
		}
		if got := int64(b); got != tt.want {
			t.Errorf("Set(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "1.5MiB", "5 apples", "99999999999GiB"} {
		var b byteSize
		if err := b.Set(bad); err == nil {
			t.Errorf("Set(%q) = %d, want an error", bad, int64(b))
		}
	}
}

func TestHelpListsEveryFlagWithItsEnvironmentVariable(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := parseConfig([]string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseConfig(--help) = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{
		"--addr", "CRAMP_CDS_ADDR", "--public-url", "CRAMP_CDS_PUBLIC_URL", "--cors-origins", "CRAMP_CDS_CORS_ORIGINS",
		"--max-body", "CRAMP_CDS_MAX_BODY", "--max-in-flight", "CRAMP_CDS_MAX_IN_FLIGHT", "--trust", "CRAMP_CDS_TRUST_FILE", "--insecure-no-auth", "CRAMP_CDS_INSECURE_NO_AUTH",
		"--auth-discovery", "CRAMP_CDS_AUTH_DISCOVERY", "--jwt-algs", "CRAMP_CDS_JWT_ALGS", "--fhir-allow", "CRAMP_CDS_FHIR_ALLOW",
		"--fhir-timeout", "CRAMP_CDS_FHIR_TIMEOUT", "--trigger", "CRAMP_CDS_TRIGGER", "--all-ages", "CRAMP_CDS_ALL_AGES", "--admin-addr", "CRAMP_CDS_ADMIN_ADDR",
		"--log-level", "CRAMP_CDS_LOG_LEVEL", "--shutdown-timeout", "CRAMP_CDS_SHUTDOWN_TIMEOUT",
		"--store", "CRAMP_CDS_STORE", "--store-key", "CRAMP_CDS_STORE_KEY", "--store-retention", "CRAMP_CDS_STORE_RETENTION",
		"--snooze", "CRAMP_CDS_SNOOZE", "--snooze-not-relevant", "CRAMP_CDS_SNOOZE_NOT_RELEVANT",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %s:\n%s", want, out.String())
		}
	}
}

// TestServeRefusesWithoutAuthentication goes through run, as main does.
func TestServeRefusesWithoutAuthentication(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", ""}, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "refusing to start") {
		t.Fatalf("run(serve) = %v, want a refusal to start", err)
	}
}
