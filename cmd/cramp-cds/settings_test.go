package main

import (
	"flag"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readmeSetting is one row of README's configuration table.
type readmeSetting struct{ flag, env, def string }

// readmeSettings reads README's configuration table: | `--flag` | `ENV` | `default` ... |.
func readmeSettings(t *testing.T) []readmeSetting {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `--([a-z-]+)` \\| `(CRAMP_CDS_[A-Z_]+)` \\| ([^|]*) \\|")
	var rows []readmeSetting
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		def := strings.TrimSpace(m[3])
		if i := strings.IndexByte(def, '`'); i >= 0 {
			def = strings.SplitN(def[i+1:], "`", 2)[0]
		}
		rows = append(rows, readmeSetting{flag: m[1], env: m[2], def: def})
	}
	if len(rows) < 20 {
		t.Fatalf("README's configuration table has %d rows; the pattern no longer finds it", len(rows))
	}
	return rows
}

// settingSamples are valid values for each setting, other than its default.
var settingSamples = map[string]string{
	"addr": ":1234", "public-url": "https://cds.example.org", "cors-origins": "https://sandbox.cds-hooks.org",
	"max-body": "1MiB", "max-in-flight": "12", "in-flight-memory": "96MiB", "trust": "trust.yaml",
	"insecure-no-auth": "true", "auth-discovery": "true", "jwt-algs": "ES256", "fhir-allow": "https://fhir.example.org/R4",
	"fhir-timeout": "3s", "fhir-allow-http": "true", "trigger": "always", "all-ages": "true", "admin-addr": ":9999",
	"log-level": "debug", "shutdown-timeout": "5s", "store": "none", "store-key": "0123456789abcdef0123456789abcdef",
	"store-key-file": "store.key", "store-password-file": "store.password",
	"store-retention": "30d", "snooze": "7d", "snooze-not-relevant": "720h",
	"answer-deadline": "900ms", "queue-budget": "40ms", "deadline-header": "X-Envoy-Expected-Rq-Timeout-Ms",
}

// TestEveryDocumentedSettingIsAccepted: every flag and environment variable
// README documents is one serve reads, with the documented default, and each
// is accepted on the command line and from the environment with the same
// effect; the subcommands that share a setting read it the same way.
func TestEveryDocumentedSettingIsAccepted(t *testing.T) {
	t.Parallel()
	documented := readmeSettings(t)
	var c Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	opts := c.bind(fs)
	envOf := map[string]string{}
	for _, o := range opts {
		envOf[o.flag] = o.env
	}
	for _, d := range documented {
		if _, ok := envOf[d.flag]; !ok {
			t.Errorf("README documents --%s, which serve does not read", d.flag)
		}
	}
	if len(documented) != len(opts) {
		t.Errorf("README documents %d settings, serve reads %d: document every one", len(documented), len(opts))
	}
	defaults := DefaultConfig()
	defaultFS := flag.NewFlagSet("serve", flag.ContinueOnError)
	defaults.bind(defaultFS)

	for _, d := range documented {
		t.Run(d.flag, func(t *testing.T) {
			t.Parallel()
			if got := envOf[d.flag]; got != d.env {
				t.Errorf("--%s reads %s, README says %s", d.flag, got, d.env)
			}
			if f := defaultFS.Lookup(d.flag); f != nil && d.def != "(none)" && !strings.EqualFold(f.DefValue, d.def) {
				t.Errorf("--%s defaults to %q, README says %q", d.flag, f.DefValue, d.def)
			}
			sample, ok := settingSamples[d.flag]
			if !ok {
				t.Fatalf("no sample value for --%s", d.flag)
			}
			// Authentication is required to start: the other settings are tried without it.
			baseArgs, baseEnv := []string{"--insecure-no-auth"}, map[string]string{}
			switch d.flag {
			case "insecure-no-auth":
				baseArgs = nil
			case "trust":
				baseArgs, baseEnv = []string{"--public-url", "https://cds.example.org"}, map[string]string{"CRAMP_CDS_PUBLIC_URL": "https://cds.example.org"}
			}
			base, err := parseConfig(baseArgs, env(map[string]string{"CRAMP_CDS_INSECURE_NO_AUTH": "true"}), io.Discard)
			if err != nil {
				t.Fatalf("parseConfig without --%s: %v", d.flag, err)
			}
			fromFlag, err := parseConfig(append(append([]string(nil), baseArgs...), "--"+d.flag+"="+sample), env(baseEnv), io.Discard)
			if err != nil {
				t.Fatalf("--%s=%s: %v", d.flag, sample, err)
			}
			envVars := map[string]string{d.env: sample}
			for k, v := range baseEnv {
				envVars[k] = v
			}
			fromEnv, err := parseConfig(baseArgs, env(envVars), io.Discard)
			if err != nil {
				t.Fatalf("%s=%s: %v", d.env, sample, err)
			}
			if cmp.Equal(base, fromFlag) && d.flag != "insecure-no-auth" && d.flag != "trust" {
				t.Errorf("--%s=%s changed nothing", d.flag, sample)
			}
			if diff := cmp.Diff(fromFlag, fromEnv); diff != "" {
				t.Errorf("--%s and %s differ (-flag +env):\n%s", d.flag, d.env, diff)
			}
		})
	}
}

// TestSubcommandsReadSharedSettingsLikeServe: evaluate, population and report
// take the settings they share with serve by the same flag and variable.
func TestSubcommandsReadSharedSettingsLikeServe(t *testing.T) {
	t.Parallel()
	noEnv := env(nil)
	for _, tt := range []struct {
		name string
		read func(args []string, getenv func(string) string) (any, error)
	}{
		{"evaluate", func(args []string, getenv func(string) string) (any, error) {
			o, err := parseEvaluate(append(args, "x.json"), getenv, io.Discard)
			return [3]any{o.cfg.Trigger, o.cfg.AllAges, o.cfg.PublicURL()}, err
		}},
		{"population", func(args []string, getenv func(string) string) (any, error) {
			o, err := parsePopulation(append(args, "--in", "x", "--out", "y"), getenv, io.Discard)
			return [2]any{o.trigger, o.allAges}, err
		}},
	} {
		for _, flagName := range []string{"trigger", "all-ages", "public-url"} {
			if tt.name == "population" && flagName == "public-url" {
				continue
			}
			base, err := tt.read(nil, noEnv)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			viaFlag, err := tt.read([]string{"--" + flagName + "=" + settingSamples[flagName]}, noEnv)
			if err != nil {
				t.Fatalf("%s --%s: %v", tt.name, flagName, err)
			}
			envName := "CRAMP_CDS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
			viaEnv, err := tt.read(nil, env(map[string]string{envName: settingSamples[flagName]}))
			if err != nil {
				t.Fatalf("%s %s: %v", tt.name, envName, err)
			}
			if viaFlag == base {
				t.Errorf("%s: --%s changed nothing", tt.name, flagName)
			}
			if viaFlag != viaEnv {
				t.Errorf("%s: --%s gives %v, %s gives %v", tt.name, flagName, viaFlag, envName, viaEnv)
			}
		}
	}
}
