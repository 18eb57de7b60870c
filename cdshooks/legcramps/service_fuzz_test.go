package legcramps_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/tools/testkit/fixtures"
)

// fuzzStatuses are the only answers a service call may get without
// authentication: cards, or a client error. 500 would mean a panic (the
// server recovers from it) or a response that broke the card rules.
var fuzzStatuses = []int{
	http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusPreconditionFailed,
	http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType,
}

// FuzzServiceCall posts arbitrary bodies to both real services through the
// server's whole pipeline (decoding, validation, hook check, reading the
// record from prefetch, rules, cards). Whatever arrives: a status from
// fuzzStatuses, never 500; a 200 body is a response that passes the card
// rules, any other body an OperationOutcome. Seeds: a generated patient here,
// and the sandbox captures and hostile shapes in testdata/fuzz/FuzzServiceCall.
func FuzzServiceCall(f *testing.F) {
	srv := newServer(f, serverOptions{now: benchNow, config: cdshooks.Config{MaxBody: 1 << 20}})
	p := fixtures.Generate(1, fixtures.Size{Conditions: 2, Medications: 3, Observations: 4}, benchNow)
	f.Add(false, p.Request(fixtures.RequestOptions{}))
	f.Add(false, p.Request(fixtures.RequestOptions{Omit: []string{legcramps.PrefetchObservations}}))
	f.Fuzz(func(t *testing.T, order bool, body []byte) {
		id := legcramps.PatientViewID
		if order {
			id = legcramps.InducingOrderID
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		status, resp, err := srv.Invoke(ctx, id, body)
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		if !slices.Contains(fuzzStatuses, status) {
			t.Fatalf("status %d for %q: %s", status, body, resp)
		}
		if status == http.StatusOK {
			var r cdshooks.Response
			if err := json.Unmarshal(resp, &r); err != nil || r.Cards == nil {
				t.Fatalf("200 body is not a response with cards (%v): %s", err, resp)
			}
			if err := r.Validate(); err != nil {
				t.Fatalf("200 body breaks the card rules: %v", err)
			}
			return
		}
		var oo cdshooks.OperationOutcome
		if err := json.Unmarshal(resp, &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
			t.Fatalf("%d body is not an OperationOutcome (%v): %s", status, err, resp)
		}
	})
}
