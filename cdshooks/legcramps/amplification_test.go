package legcramps_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
)

// amplifyingOrderSign is the order-sign example with many drafts of the same
// cramp-inducing drug, a leg-cramp condition whose text is textBytes long,
// and conditions more copies of it: before the caps, every card repeated
// every leg-cramp condition whole, so the answer grew as drafts × record.
func amplifyingOrderSign(t *testing.T, drafts, textBytes, conditions int) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "examples", "order-sign.json"))
	if os.IsNotExist(err) {
		raw, err = os.ReadFile(filepath.Join("..", "examples", "order-sign.json"))
	}
	if err != nil {
		t.Fatal(err)
	}
	var req map[string]any
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	bundle := req["context"].(map[string]any)["draftOrders"].(map[string]any)
	first := bundle["entry"].([]any)[0].(map[string]any)
	entries := make([]any, drafts)
	for i := range entries {
		res := map[string]any{}
		for k, v := range first["resource"].(map[string]any) {
			res[k] = v
		}
		res["id"] = fmt.Sprintf("request-%d", i)
		entries[i] = map[string]any{"resource": res}
	}
	bundle["entry"] = entries
	condBundle := req["prefetch"].(map[string]any)["conditions"].(map[string]any)
	condEntries := condBundle["entry"].([]any)
	cond := condEntries[0].(map[string]any)["resource"].(map[string]any)
	code := cond["code"].(map[string]any)
	code["text"] = "Sleep related leg cramps " + strings.Repeat("A", textBytes)
	for i := range conditions {
		c := map[string]any{}
		for k, v := range cond {
			c[k] = v
		}
		c["id"] = fmt.Sprintf("cramps-%d", i)
		c["code"] = map[string]any{"coding": code["coding"], "text": "Leg cramps"}
		condEntries = append(condEntries, map[string]any{"resource": c})
	}
	condBundle["entry"] = condEntries
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The worst order-sign the default body limit lets through once made a 90 MB
// answer and 643 MB of RSS (4.5 MB of condition text, 20 drafts); the Helm
// chart gives the pod 256 MiB. Each shape of amplification now gets a
// bounded answer (or a 400), and what the request allocates in all (an upper
// bound of its peak heap) stays far under the pod's memory.
func TestOrderSignAmplificationIsBounded(t *testing.T) {
	srv := newServer(t, serverOptions{config: cdshooks.Config{PublicURLs: []string{testPublicURL}}})
	tests := []struct {
		name                          string
		drafts, textBytes, conditions int
		status                        int
	}{
		{"4.5 MB of condition text, 20 drafts", 20, 4_500_000, 0, http.StatusOK},
		{"8,000 leg-cramp conditions, 20 drafts", 20, 10, 8_000, http.StatusOK},
		{"2,000 drafts", 2_000, 10, 0, http.StatusBadRequest},
		{"100 drafts, 2,000 conditions", 100, 10, 2_000, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := amplifyingOrderSign(t, tt.drafts, tt.textBytes, tt.conditions)
			if len(body) > cdshooks.DefaultMaxBody {
				t.Fatalf("the request is %d bytes, over the default body limit: it would not reach the service", len(body))
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			status, resp, err := srv.Invoke(context.Background(), legcramps.InducingOrderID, body)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("request %d bytes: status %d, answer %d bytes, %d MiB allocated", len(body), status, len(resp), allocated>>20)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %.300s", status, tt.status, resp)
			}
			if got, want := len(resp), 256<<10; got > want {
				t.Errorf("answer is %d bytes, want at most %d", got, want)
			}
			if got, want := allocated, uint64(96<<20); got > want {
				t.Errorf("the request allocated %d MiB, want at most %d MiB (the pod has 256 MiB)", got>>20, want>>20)
			}
		})
	}
}

// A record with many entries of one cramp-inducing drug gets one card that
// lists the first ten and counts the rest: a side panel shows no more, and
// thousands of entries must not make an answer of megabytes.
func TestMedicationCardListsTenEntriesAndCountsTheRest(t *testing.T) {
	t.Parallel()
	meds := make([]obj, 25)
	for i := range meds {
		meds[i] = activeMR(fmt.Sprintf("mr-hctz-%d", i), hctz)
	}
	prefetch := record([]obj{legCramps}, meds...)
	prefetch[legcramps.PrefetchPatient] = obj{"resourceType": "Patient", "id": orderPatient}
	prefetch[legcramps.PrefetchObservations] = searchset()
	cards := patientViewCards(t, newServer(t, serverOptions{}), lcRequest(t, prefetch))
	if len(cards) == 0 || cards[0].Source.Topic.Code != legcramps.TopicMedication {
		t.Fatalf("want a medication card first, got %v", topicsOf(cards))
	}
	d := cards[0].Detail
	if got, want := strings.Count(d, "**Hydrochlorothiazide 25 MG Oral Tablet**"), 10; got != want {
		t.Errorf("the card lists %d entries, want %d:\n%s", got, want, d)
	}
	if !strings.Contains(d, "- and 15 more in the record") {
		t.Errorf("the card does not count the other 15:\n%s", d)
	}
}
