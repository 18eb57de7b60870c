package cdshooks_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

// TestInFlightLimitSheds fills every slot with calls a service holds, then
// checks that one more call is refused at once with a 503, Retry-After and an
// OperationOutcome, that it is counted, that the server keeps answering what
// needs no slot, and that a slot is usable again once a call ends.
func TestInFlightLimitSheds(t *testing.T) {
	t.Parallel()
	const limit = 2
	entered := make(chan struct{}, limit)
	release := make(chan struct{})
	svc := &fakeService{
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
	if got, want := h.counters(t, cdshooks.MetricRequestsShed)["service="+sampleID], int64(1); got != want {
		t.Errorf("%s{service=%s} = %d, want %d", cdshooks.MetricRequestsShed, sampleID, got, want)
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

func TestDefaultMaxInFlight(t *testing.T) {
	t.Parallel()
	tests := []struct {
		maxBody int64
		want    int
	}{
		{cdshooks.DefaultMaxBody, 8},
		{1 << 20, 40},
		{100 << 20, 2}, // never fewer than two
		{1 << 10, 64},  // never more than 64
	}
	for _, tt := range tests {
		if got := cdshooks.DefaultMaxInFlight(tt.maxBody); got != tt.want {
			t.Errorf("DefaultMaxInFlight(%d) = %d, want %d", tt.maxBody, got, tt.want)
		}
	}
}
