package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
)

const patientView = `{"hook":"patient-view","hookInstance":"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
 "context":{"userId":"Practitioner/example","patientId":"1288992"}}`

// slowService holds every request until release is closed, after telling
// started that one arrived.
type slowService struct {
	started chan struct{}
	release chan struct{}
}

func (s *slowService) Definitions() []cdshooks.ServiceDefinition {
	return []cdshooks.ServiceDefinition{{Hook: cdshooks.HookPatientView, ID: legcramps.PatientViewID, Description: "holds every request"}}
}

func (s *slowService) Evaluate(ctx context.Context, _ *cdshooks.Request, _ cdshooks.Caller) (*cdshooks.Response, error) {
	close(s.started)
	select {
	case <-s.release:
		return &cdshooks.Response{}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.AdminAddr = "127.0.0.1:0"
	cfg.InsecureNoAuth = true
	cfg.Store = "none" // tests that remember open their own store
	return cfg
}

// TestGracefulShutdownOnSIGTERM sends the process a real SIGTERM while a
// request is in flight, through the same signal.NotifyContext main uses, and
// checks the request still completes with 200 while readiness fails.
//
// Not parallel: the signal goes to the whole test process.
func TestGracefulShutdownOnSIGTERM(t *testing.T) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	svc := &slowService{started: make(chan struct{}), release: make(chan struct{})}
	m := &Main{Config: testConfig(), Services: []cdshooks.Service{svc}}
	if err := m.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- m.Run(ctx) }()

	type result struct {
		status int
		body   string
		err    error
	}
	inFlight := make(chan result, 1)
	go func() {
		resp, err := http.Post("http://"+m.Addr()+"/cds-services/nocturnal-leg-cramps", "application/json", strings.NewReader(patientView))
		if err != nil {
			inFlight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		inFlight <- result{resp.StatusCode, string(body), err}
	}()
	<-svc.started

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatalf("sending SIGTERM: %v", err)
	}
	<-ctx.Done()

	// Shutdown has begun once readiness fails; the admin listener outlives the API.
	for {
		resp, err := http.Get("http://" + m.AdminAddr() + "/readyz")
		if err != nil {
			t.Fatalf("admin listener gone before the in-flight request finished: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// New connections are refused while the old request is still running.
	for {
		conn, err := net.Dial("tcp", m.Addr())
		if err != nil {
			break
		}
		conn.Close()
		time.Sleep(5 * time.Millisecond)
	}

	close(svc.release)
	r := <-inFlight
	if r.err != nil {
		t.Fatalf("in-flight request failed: %v", r.err)
	}
	if got, want := r.status, http.StatusOK; got != want {
		t.Errorf("in-flight request status = %d, want %d", got, want)
	}
	if got, want := r.body, `{"cards":[]}`; got != want {
		t.Errorf("in-flight request body = %s, want %s", got, want)
	}
	if err := <-runErr; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// TestServeWithSandboxTrustFile runs the real wiring with the trust file
// `make run` uses: discovery is open, a service call without a JWT is refused.
func TestServeWithSandboxTrustFile(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.InsecureNoAuth = false
	cfg.TrustFile = "../../deploy/trust/sandbox.yaml"
	cfg.PublicURLs = []string{"http://localhost:8080", "http://127.0.0.1:8080"} // as make run gives
	ctx, cancel := context.WithCancel(context.Background())
	m := &Main{Config: cfg}
	if err := m.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- m.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	resp, err := http.Get("http://" + m.Addr() + "/cds-services")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Errorf("discovery status = %d, want %d", got, want)
	}
	if !strings.Contains(string(body), `"id":"nocturnal-leg-cramps"`) {
		t.Errorf("discovery lacks nocturnal-leg-cramps: %s", body)
	}

	resp, err = http.Post("http://"+m.Addr()+"/cds-services/nocturnal-leg-cramps", "application/json", strings.NewReader(patientView))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusUnauthorized; got != want {
		t.Errorf("unauthenticated call status = %d, want %d", got, want)
	}
}

func TestOpenFailsOnABadTrustFile(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.InsecureNoAuth = false
	cfg.TrustFile = "testdata/no-such-trust.yaml"
	cfg.PublicURLs = []string{"https://cds.example.org"}
	m := &Main{Config: cfg}
	if err := m.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "trust file") {
		t.Fatalf("Open = %v, want a trust file error", err)
	}
}
