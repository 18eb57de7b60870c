package cdshooks_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

// feedbackBody is a feedback request of n overridden items, all about card.
func feedbackBody(n int, card string) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"card":%q,"outcome":"overridden","overrideReason":{"reason":{"code":"r%d"}},"outcomeTimestamp":"2021-12-11T10:05:31Z"}`, card, i%3)
	}
	return `{"feedback":[` + strings.Join(items, ",") + `]}`
}

func TestFeedbackItemCap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		items  int
		status int
	}{
		{cdshooks.MaxFeedbackItems, http.StatusOK},
		{cdshooks.MaxFeedbackItems + 1, http.StatusBadRequest},
		{12000, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.items), func(t *testing.T) {
			t.Parallel()
			h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{})
			w := h.do("POST", "/cds-services/"+sampleID+"/feedback", feedbackBody(tt.items, sampleBetaCard))
			if got, want := w.Code, tt.status; got != want {
				t.Fatalf("%d items: status = %d, want %d: %.300s", tt.items, got, want, w.Body)
			}
			if tt.status == http.StatusBadRequest {
				if want := fmt.Sprintf("at most %d items", cdshooks.MaxFeedbackItems); !strings.Contains(w.Body.String(), want) {
					t.Errorf("body %.300s does not say %q", w.Body, want)
				}
				if got := len(w.Body.String()); got > 1000 {
					t.Errorf("400 body is %d bytes: one problem per item was listed", got)
				}
			}
		})
	}
}

// TestFeedbackLogsOneLineAndCountsEachCardOnce: a request of many items
// about one card is one log line and one count, however many items repeat it.
func TestFeedbackLogsOneLineAndCountsEachCardOnce(t *testing.T) {
	t.Parallel()
	h := mustTelemetryServer(t, cdshooks.Deps{})
	const other = "4e0a3a1e-3283-4575-ab82-028d55fe2719"
	body := strings.Replace(feedbackBody(cdshooks.MaxFeedbackItems, sampleBetaCard), sampleBetaCard, other, 1)
	w := h.do("POST", "/cds-services/"+sampleID+"/feedback", body)
	if got, want := w.Code, http.StatusOK; got != want {
		t.Fatalf("status = %d, want %d: %s", got, want, w.Body)
	}
	logs := h.logs.String()
	if got, want := strings.Count(logs, `"msg":"feedback"`), 1; got != want {
		t.Errorf("%d feedback log lines for one request, want %d", got, want)
	}
	for _, want := range []string{`"items":100`, `"cards":2`, `"overridden":100`, `"override_reasons":["r0","r1","r2"]`} {
		if !strings.Contains(logs, want) {
			t.Errorf("feedback log line lacks %s:\n%s", want, logs)
		}
	}
	got := h.counters(t, cdshooks.MetricFeedbackOutcomes)
	want := map[string]int64{
		"outcome=overridden,service=" + sampleID + ",topic=beta":    1,
		"outcome=overridden,service=" + sampleID + ",topic=unknown": 1,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s = %v, want %v", cdshooks.MetricFeedbackOutcomes, got, want)
	}
}
