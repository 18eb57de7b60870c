package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const demoUsage = `Usage: cramp-cds demo [--server URL] [--examples DIR] [--dir DIR]

Sends every example request of --examples, dated as of today (see
cramp-cds examples), to the server at --server, each with a JWT signed by
the local development key (see cramp-cds token), and prints the cards as the
EHR's panel shows them. When nothing answers at --server, it starts the
service there itself, trusting only that key, and stops it at the end.

`

// demoOptions are demo's flags.
type demoOptions struct {
	server   string
	examples string
	dir      string
	today    time.Time
}

// runDemo is `cramp-cds demo` (make demo).
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts := demoOptions{today: time.Now()}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, demoUsage); fs.PrintDefaults() }
	fs.StringVar(&opts.server, "server", "http://localhost:8080", "base URL of the server (its --public-url)")
	fs.StringVar(&opts.examples, "examples", "examples", "directory of the example requests")
	fs.StringVar(&opts.dir, "dir", devDir, "directory of the development key and its trust file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return errors.New("demo: takes no arguments")
	}
	return demo(ctx, opts, stdout, stderr)
}

func demo(ctx context.Context, opts demoOptions, stdout, stderr io.Writer) error {
	base := strings.TrimRight(opts.server, "/")
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("demo: --server %q is not an http(s) URL", opts.server)
	}
	key, err := loadOrCreateDevKey(opts.dir)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second}
	if !answers(ctx, client, base+"/healthz") {
		stop, err := startDemoServer(ctx, key, base, u.Host, stderr)
		if err != nil {
			return err
		}
		defer stop()
	} else {
		fmt.Fprintf(stderr, "using the cramp-cds already running at %s\n", base)
	}
	ids, err := serviceIDsByHook(ctx, client, base)
	if err != nil {
		return err
	}
	files, err := exampleFiles(opts.examples)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	days := daysSinceExamples(opts.today)
	var failed []string
	for _, f := range files {
		status, body, id, err := demoCall(ctx, client, key, base, ids, f, days)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "== %s -> POST /cds-services/%s (dated as of %s)\n",
			filepath.Base(f), id, opts.today.Format(time.DateOnly))
		if status == http.StatusUnauthorized {
			return fmt.Errorf("demo: the server at %s refused the development token (401): it does not trust %s; "+
				"start it with `make run` (which trusts it), or stop it and the demo starts its own",
				base, filepath.Join(opts.dir, devTrustFile))
		}
		if err := writeText(stdout, status, body); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
		if status != http.StatusOK {
			failed = append(failed, filepath.Base(f))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("demo: not answered 200: %s", strings.Join(failed, ", "))
	}
	return nil
}

// demoCall sends one example, its dates moved by days, to the service of its hook.
func demoCall(ctx context.Context, client *http.Client, key *devKey, base string, ids map[string]string,
	file string, days int) (status int, body []byte, id string, err error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, nil, "", fmt.Errorf("demo: %w", err)
	}
	var head struct {
		Hook string `json:"hook"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return 0, nil, "", fmt.Errorf("demo: %s: %w", file, err)
	}
	id, ok := ids[head.Hook]
	if !ok {
		return 0, nil, "", fmt.Errorf("demo: %s: no service of the server answers hook %q", file, head.Hook)
	}
	target := base + "/cds-services/" + id
	tok, err := key.token(target, time.Now())
	if err != nil {
		return 0, nil, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(shiftDates(data, days)))
	if err != nil {
		return 0, nil, "", fmt.Errorf("demo: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, "", fmt.Errorf("demo: calling %s: %w", id, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return 0, nil, "", fmt.Errorf("demo: reading the answer of %s: %w", id, err)
	}
	return resp.StatusCode, body, id, nil
}

// answers reports whether something answers 200 at url.
func answers(ctx context.Context, client *http.Client, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// serviceIDsByHook reads discovery: the first listed service id of each hook.
func serviceIDsByHook(ctx context.Context, client *http.Client, base string) (map[string]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/cds-services", nil)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("demo: reading discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("demo: discovery answered %s (with --auth-discovery the demo cannot list the services)", resp.Status)
	}
	var d struct {
		Services []struct{ Hook, ID string } `json:"services"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&d); err != nil {
		return nil, fmt.Errorf("demo: reading discovery: %w", err)
	}
	ids := map[string]string{}
	for _, s := range d.Services {
		if _, seen := ids[s.Hook]; !seen {
			ids[s.Hook] = s.ID
		}
	}
	return ids, nil
}

// startDemoServer starts the service in this process at addr, answering as
// base, trusting only the development key and remembering nothing. stop
// shuts it down.
func startDemoServer(ctx context.Context, key *devKey, base, addr string, stderr io.Writer) (stop func(), err error) {
	trust := filepath.Join(key.dir, devTrustFile)
	if err := key.writeTrust(trust); err != nil {
		return nil, err
	}
	cfg := DefaultConfig()
	cfg.Addr = addr
	cfg.PublicURLs = []string{base}
	cfg.TrustFile = trust
	cfg.AdminAddr = ""
	cfg.Store = "none"
	m := &Main{Config: cfg, Logger: slog.New(slog.DiscardHandler)}
	if err := m.Open(ctx); err != nil {
		return nil, fmt.Errorf("demo: nothing answers at %s and starting cramp-cds there failed: %w", base, err)
	}
	fmt.Fprintf(stderr, "started cramp-cds at %s for the demo (trusting %s only; stopped at the end)\n", base, trust)
	return func() { _ = m.Close() }, nil
}
