package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

// TestServeWiresTheInFlightLimitAndNoSniff: --max-in-flight reaches the
// server (with one slot held, the next call is a 503 with Retry-After), and
// the admin listener's answers carry nosniff as the API's do.
func TestServeWiresTheInFlightLimitAndNoSniff(t *testing.T) {
	t.Parallel()
	m, svc := openWithOneSlot(t)
	defer m.Close()
	post := func() (*http.Response, error) {
		return http.Post("http://"+m.Addr()+"/cds-services/nocturnal-leg-cramps", "application/json", strings.NewReader(patientView))
	}
	held := make(chan error, 1)
	go func() {
		resp, err := post()
		if err == nil {
			resp.Body.Close()
		}
		held <- err
	}()
	<-svc.started
	resp, err := post()
	if err != nil {
		t.Fatalf("second call: %v", err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusServiceUnavailable; got != want {
		t.Errorf("second call with --max-in-flight 1: status = %d, want %d", got, want)
	}
	if resp.Header.Get("Retry-After") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("503 headers = %v, want Retry-After and X-Content-Type-Options: nosniff", resp.Header)
	}
	close(svc.release)
	if err := <-held; err != nil {
		t.Fatalf("held call: %v", err)
	}

	for _, path := range []string{"/metrics", "/healthz", "/readyz", "/nothing"} {
		resp, err := http.Get("http://" + m.AdminAddr() + path)
		if err != nil {
			t.Fatalf("admin %s: %v", path, err)
		}
		resp.Body.Close()
		if got, want := resp.Header.Get("X-Content-Type-Options"), "nosniff"; got != want {
			t.Errorf("admin %s (status %d): X-Content-Type-Options = %q, want %q", path, resp.StatusCode, got, want)
		}
	}
}

// TestShedCallerReadsThe503 sends, while the one slot is held, a body of
// nearly --max-body over a raw connection and then reads: the caller must get
// the 503, not a connection reset for the body the server did not read.
func TestShedCallerReadsThe503(t *testing.T) {
	t.Parallel()
	m, svc := openWithOneSlot(t)
	defer m.Close()
	defer close(svc.release)
	go func() {
		resp, err := http.Post("http://"+m.Addr()+"/cds-services/nocturnal-leg-cramps", "application/json", strings.NewReader(patientView))
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-svc.started

	conn, err := net.Dial("tcp", m.Addr())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	body := strings.Repeat(" ", int(m.Config.MaxBody)-len(patientView)-1) + patientView
	head := fmt.Sprintf("POST /cds-services/nocturnal-leg-cramps HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", m.Addr(), len(body))
	if _, err := io.WriteString(conn, head+body); err != nil {
		t.Fatalf("sending the body: %v (the server gave up on it)", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusServiceUnavailable; got != want {
		t.Errorf("status = %d, want %d", got, want)
	}
}

// openWithOneSlot opens the real Main with --max-in-flight 1 serving a
// service that holds each call until its release channel is closed.
func openWithOneSlot(t *testing.T) (*Main, *slowService) {
	t.Helper()
	svc := &slowService{started: make(chan struct{}), release: make(chan struct{})}
	cfg := testConfig()
	cfg.MaxInFlight = 1
	m := &Main{Config: cfg, Services: []cdshooks.Service{svc}}
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	return m, svc
}
