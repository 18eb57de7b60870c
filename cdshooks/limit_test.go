package cdshooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

// TestInFlightLimitSheds fills every slot with calls a service holds, then
// checks that one more call is refused within its queue budget (not kept
// waiting as long as the service) with a 503, Retry-After and an
// OperationOutcome, that it is counted as refused for time, that the server
// keeps answering what needs no slot, and that a slot is usable again once a
// call ends.
func TestInFlightLimitSheds(t *testing.T) {
	t.Parallel()
	const limit = 2
	entered := make(chan struct{}, limit)
	release := make(chan struct{})
	svc := holdingService(entered, release)
	h := mustTelemetryServerWith(t, cdshooks.Config{MaxInFlight: limit}, cdshooks.Deps{Services: []cdshooks.Service{svc}})
	call := func() *httptest.ResponseRecorder { return h.do("POST", "/cds-services/"+sampleID, validBody) }

	var wg sync.WaitGroup
	held := make([]*httptest.ResponseRecorder, limit)
	for i := range held {
		wg.Add(1)
		go func() { defer wg.Done(); held[i] = call() }()
	}
	for range limit {
		<-entered
	}

	// Before the limit existed this call waited as long as the service:
	// give it a while, then free the service so the test ends either way.
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() { done <- call() }()
	var w *httptest.ResponseRecorder
	select {
	case w = <-done:
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatalf("call %d of %d waited for a slot instead of being refused", limit+1, limit)
	}
	if got, want := w.Code, http.StatusServiceUnavailable; got != want {
		t.Fatalf("call %d of %d allowed: status = %d, want %d: %s", limit+1, limit, got, want, w.Body)
	}
	if got := w.Header().Get("Retry-After"); got == "" {
		t.Errorf("503 without Retry-After")
	}
	var oo cdshooks.OperationOutcome
	if err := json.Unmarshal(w.Body.Bytes(), &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) != 1 || oo.Issue[0].Code != "transient" {
		t.Errorf("503 body = %s (err %v), want an OperationOutcome with one transient issue", w.Body, err)
	}
	if got, want := h.counters(t, cdshooks.MetricRequestsShed)["reason=time,service="+sampleID], int64(1); got != want {
		t.Errorf("%s{reason=time,service=%s} = %d, want %d", cdshooks.MetricRequestsShed, sampleID, got, want)
	}
	// Discovery takes no slot: the server still answers while full.
	if got, want := h.do("GET", "/cds-services", "").Code, http.StatusOK; got != want {
		t.Errorf("discovery while full: status = %d, want %d", got, want)
	}

	close(release)
	wg.Wait()
	for i, w := range held {
		if got, want := w.Code, http.StatusOK; got != want {
			t.Errorf("held call %d: status = %d, want %d: %s", i, got, want, w.Body)
		}
	}
	if got, want := call().Code, http.StatusOK; got != want {
		t.Errorf("call after the slots were freed: status = %d, want %d", got, want)
	}
}

// TestInFlightMemoryCharge holds two large calls that use up the memory
// budget but for one small call's share, then checks that a third large call
// is refused (counted as refused for memory), while a small call still gets
// in, its length declared or not: the budget is memory, each call charged 5
// times its body as it arrives, at least 256 KiB. Before it, the limit was a
// count derived from the largest body allowed, so 2 slots at 16 MiB refused
// small calls too; then a body of unknown length was charged as --max-body
// before a byte of it arrived, and refused.
func TestInFlightMemoryCharge(t *testing.T) {
	t.Parallel()
	const maxBody = 4 << 20
	big := validBody + strings.Repeat(" ", 3<<20) // trailing space is valid JSON
	budget := int64(2*5*len(big) + 5*(256<<10))

	entered := make(chan struct{}, 4)
	release := make(chan struct{})
	svc := holdingService(entered, release)
	h := mustTelemetryServerWith(t, cdshooks.Config{MaxBody: maxBody, InFlightMemory: budget}, cdshooks.Deps{Services: []cdshooks.Service{svc}})
	post := func(body string, chunked bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/cds-services/"+sampleID, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if chunked {
			req.ContentLength = -1
		}
		w := httptest.NewRecorder()
		h.h.ServeHTTP(w, req)
		return w
	}
	waitEntered := func(what string) {
		t.Helper()
		select {
		case <-entered:
		case <-time.After(5 * time.Second):
			close(release)
			t.Fatalf("%s never reached the service", what)
		}
	}

	var wg sync.WaitGroup
	held := make([]*httptest.ResponseRecorder, 3)
	for i := range 2 {
		wg.Go(func() { held[i] = post(big, false) })
		waitEntered(fmt.Sprintf("large call %d", i+1))
	}
	if w := post(big, false); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		close(release)
		t.Fatalf("a third large call with the budget used: status = %d (Retry-After %q), want %d with Retry-After",
			w.Code, w.Header().Get("Retry-After"), http.StatusServiceUnavailable)
	}
	wg.Go(func() { held[2] = post(validBody, true) })
	waitEntered("a small call of unknown length")

	close(release)
	wg.Wait()
	for i, w := range held {
		if got, want := w.Code, http.StatusOK; got != want {
			t.Errorf("held call %d: status = %d, want %d: %s", i, got, want, w.Body)
		}
	}
	if got, want := h.counters(t, cdshooks.MetricRequestsShed)["reason=memory,service="+sampleID], int64(1); got != want {
		t.Errorf("%s{reason=memory,service=%s} = %d, want %d", cdshooks.MetricRequestsShed, sampleID, got, want)
	}
}

// holdingService is a service that signals entered for each call and holds it
// until release is closed (or the call is cancelled), then answers no cards.
func holdingService(entered chan<- struct{}, release <-chan struct{}) *fakeService {
	return &fakeService{
		defs: []cdshooks.ServiceDefinition{sampleDefinition()},
		fn: func(ctx context.Context, _ *cdshooks.Request, _ cdshooks.Caller) (*cdshooks.Response, error) {
			entered <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
			return &cdshooks.Response{}, nil
		},
	}
}

// TestCallDeadline checks the deadline a service sees in its context: the
// configured answer deadline, or the one the trusted header carries, and
// never a header the deployment did not name as trusted.
func TestCallDeadline(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		cfg     cdshooks.Config
		header  string
		atLeast time.Duration
		atMost  time.Duration
	}{
		{"configured", cdshooks.Config{AnswerDeadline: 3 * time.Second}, "", 2 * time.Second, 3 * time.Second},
		{"trusted header", cdshooks.Config{AnswerDeadline: 3 * time.Second, DeadlineHeader: "X-Deadline-Ms"}, "400", 0, 400 * time.Millisecond},
		{"header not trusted", cdshooks.Config{AnswerDeadline: 3 * time.Second}, "400", 2 * time.Second, 3 * time.Second},
		{"trusted header unreadable", cdshooks.Config{AnswerDeadline: 3 * time.Second, DeadlineHeader: "X-Deadline-Ms"}, "soon", 2 * time.Second, 3 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			left := make(chan time.Duration, 1)
			svc := &fakeService{defs: []cdshooks.ServiceDefinition{sampleDefinition()},
				fn: func(ctx context.Context, _ *cdshooks.Request, _ cdshooks.Caller) (*cdshooks.Response, error) {
					d, ok := ctx.Deadline()
					if !ok {
						left <- -1
					} else {
						left <- time.Until(d)
					}
					return &cdshooks.Response{}, nil
				}}
			h := mustServer(t, tt.cfg, cdshooks.Deps{Services: []cdshooks.Service{svc}})
			var header []string
			if tt.header != "" {
				header = []string{"X-Deadline-Ms", tt.header}
			}
			if w := h.do("POST", "/cds-services/"+sampleID, validBody, header...); w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if got := <-left; got <= tt.atLeast || got > tt.atMost {
				t.Errorf("time left in the service's context: %v, want in (%v, %v]", got, tt.atLeast, tt.atMost)
			}
		})
	}
}
