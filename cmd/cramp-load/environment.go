package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
)

// publicURL is the base URL the server is told it has: tokens are addressed
// to it, whatever loopback port the server listens on.
const publicURL = "https://cds.load.test"

// fhirToken is the access token the requests hand over for the FHIR server.
const fhirToken = "load-fhir-token"

// environment is one run's world: a temporary directory, the issuer, the fake
// FHIR server, and the cramp-cds process.
type environment struct {
	dir      string
	issuer   *fixtures.Issuer
	typical  *fixtures.Patient
	heavy    *fixtures.Patient
	fhir     *fixtures.FHIRServer
	fhirSrv  *httptest.Server
	fhirBase string

	// process is the cramp-cds server; floor is the JWT-only floor server
	// (this binary's floor command), driven the same way for comparison.
	*process
	floor *process
	// progress receives a line per phase as it starts.
	progress io.Writer
}

// process is one server process the run drives: its listeners and log.
type process struct {
	cmd       *exec.Cmd
	apiAddr   string
	adminAddr string
	logs      logCounts
	exited    chan struct{}
	stopping  atomic.Bool
}

// logCounts counts the server's log lines by level.
type logCounts struct {
	warn, error atomic.Int64
}

// newEnvironment sets everything up and starts the server; close undoes it.
func newEnvironment(ctx context.Context, o options, stderr io.Writer) (_ *environment, err error) {
	dir, err := os.MkdirTemp("", "cramp-load-")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary directory: %w", err)
	}
	env := &environment{dir: dir, progress: stderr}
	defer func() {
		if err != nil {
			env.close()
		}
	}()

	now := time.Now()
	env.typical = fixtures.Generate(o.seed, fixtures.Typical, now)
	env.heavy = fixtures.Generate(o.seed+1, fixtures.Heavy, now)
	env.fhir = fixtures.NewFHIRServer(env.typical, fhirToken)
	env.fhirSrv = httptest.NewTLSServer(env.fhir) // 127.0.0.1 only
	env.fhirBase = env.fhirSrv.URL + "/r4"
	caFile := filepath.Join(dir, "fhir-ca.pem")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: env.fhirSrv.Certificate().Raw})
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		return nil, fmt.Errorf("writing the FHIR server's certificate: %w", err)
	}

	if env.issuer, err = fixtures.NewIssuer("https://ehr.load.test"); err != nil {
		return nil, err
	}
	trust, err := env.issuer.TrustFile(env.fhirBase)
	if err != nil {
		return nil, err
	}
	trustFile := filepath.Join(dir, "trust.yaml")
	if err := os.WriteFile(trustFile, trust, 0o600); err != nil {
		return nil, fmt.Errorf("writing the trust file: %w", err)
	}

	env.process, err = start(ctx, exec.CommandContext(ctx, o.server, "serve",
		"--addr", "127.0.0.1:0",
		"--admin-addr", "127.0.0.1:0",
		"--public-url", publicURL,
		"--trust", trustFile,
		"--max-body", "16MiB", // the heavy request is 5.3 MiB, over the 5 MiB default
		"--fhir-timeout", "2s",
	), caFile, env.dir, stderr, "CRAMP_CDS_STORE="+o.store)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this binary for the floor server: %w", err)
	}
	env.floor, err = start(ctx, exec.CommandContext(ctx, self, "floor", "--trust", trustFile), caFile, env.dir, stderr, "")
	if err != nil {
		return nil, err
	}
	return env, nil
}

// start runs a server command, waits until both its listeners are open,
// and keeps reading its log. The server trusts the fake FHIR server's
// certificate (caFile), and only it. The store is chosen by environment
// (extra), not by flag, so that a previous binary without --store can be
// driven the same way for the before/after figures.
func start(ctx context.Context, cmd *exec.Cmd, caFile, certDir string, stderr io.Writer, extra string) (*process, error) {
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+caFile, "SSL_CERT_DIR="+certDir,
		// A key for this run only: the store is a throwaway too.
		"CRAMP_CDS_STORE_KEY="+rand.Text()+rand.Text())
	if extra != "" {
		cmd.Env = append(cmd.Env, extra)
	}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (run make build first?): %w", cmd.Path, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		if !p.stopping.Load() {
			fmt.Fprintf(stderr, "%s exited during the run: %v\n", cmd.Path, err)
		}
		close(p.exited)
	}()

	addrs := make(chan [2]string, 1)
	go p.readLog(stdout, addrs)
	select {
	case a := <-addrs:
		p.apiAddr, p.adminAddr = a[0], a[1]
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("%s exited before listening (see its output above)", cmd.Path)
	case <-time.After(30 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s did not start listening within 30s", cmd.Path)
	}
}

// readLog reads the server's JSON log to the end (a reader that stopped
// would block the server on its next log line): it reports the two
// listening addresses once both are known, and counts warnings and errors.
func (p *process) readLog(r io.Reader, addrs chan<- [2]string) {
	var api, admin string
	sent := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Level, Msg, Listener, Addr string
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		switch {
		case line.Msg == "listening" && line.Listener == "api":
			api = line.Addr
		case line.Msg == "listening" && line.Listener == "admin":
			admin = line.Addr
		case line.Level == "WARN":
			p.logs.warn.Add(1)
		case line.Level == "ERROR":
			p.logs.error.Add(1)
		}
		if !sent && api != "" && admin != "" {
			addrs <- [2]string{api, admin}
			sent = true
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// close stops the servers, the fake FHIR server, and removes the temporary
// directory.
func (env *environment) close() {
	for _, p := range []*process{env.process, env.floor} {
		if p != nil {
			p.stop()
		}
	}
	if env.fhirSrv != nil {
		env.fhirSrv.Close()
	}
	_ = os.RemoveAll(env.dir)
}

// stop ends the process: SIGTERM, then its graceful shutdown.
func (p *process) stop() {
	if p.cmd.Process == nil {
		return
	}
	p.stopping.Store(true)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// procStatus reads the server's resident memory now and at its peak, in KiB.
func (p *process) procStatus() (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, fmt.Errorf("reading the server's memory: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch name {
		case "VmRSS":
			rss = kib
		case "VmHWM":
			hwm = kib
		}
	}
	return rss, hwm, nil
}

// cpuTime is the CPU time the server has used so far (user and system).
func (p *process) cpuTime() (time.Duration, error) {
	cpu, err := fixtures.ProcessCPUOf(p.cmd.Process.Pid)
	if err != nil {
		return 0, fmt.Errorf("reading the server's CPU time: %w", err)
	}
	return cpu, nil
}

// goroutines scrapes go_goroutines from the server's /metrics.
func (p *process) goroutines(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.adminAddr+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scraping /metrics: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			n, err := strconv.ParseFloat(v, 64)
			return int(n), err
		}
	}
	return 0, errors.New("no go_goroutines in /metrics")
}
