package cdshooks_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

// A caller's values never come back in an error body, and reach the log only
// cut short: a hostile caller must not be able to make us carry (or store in
// the log pipeline) megabytes of its own text.
func TestCallerValuesAreNeitherEchoedNorLoggedWhole(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("A", 1<<20)
	const inst = `"hookInstance":"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea","context":{"userId":"Practitioner/example","patientId":"1288992"}`
	tests := []struct {
		name, method, path, body string
		status                   int
	}{
		{"a huge hook", http.MethodPost, "/cds-services/" + sampleID + "", `{"hook":"` + huge + `",` + inst + `}`, http.StatusBadRequest},
		{"a huge unknown member, twice", http.MethodPost, "/cds-services/" + sampleID + "",
			`{"hook":"patient-view",` + inst + `,"` + huge + `":1,"` + huge + `":2}`, http.StatusBadRequest},
		{"a huge method", strings.Repeat("M", 64<<10), "/cds-services/" + sampleID + "", "", http.StatusMethodNotAllowed},
		{"a huge service id", http.MethodPost, "/cds-services/" + strings.Repeat("s", 64<<10), `{}`, http.StatusNotFound},
		{"a huge feedback card", http.MethodPost, "/cds-services/" + sampleID + "/feedback",
			`{"feedback":[{"card":"` + strings.Repeat("C", 200<<10) + `","outcome":"overridden","outcomeTimestamp":"2025-06-02T10:00:00Z"}]}`, http.StatusBadRequest},
		{"a huge override reason code", http.MethodPost, "/cds-services/" + sampleID + "/feedback",
			`{"feedback":[{"card":"4e0a3a1e-3283-4575-ab82-028d55fe2719","outcome":"overridden","overrideReason":{"reason":{"code":"` + huge + `"}},"outcomeTimestamp":"2025-06-02T10:00:00Z"}]}`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := mustServer(t, cdshooks.Config{MaxBody: 4 << 20}, cdshooks.Deps{})
			w := h.do(tt.method, tt.path, tt.body)
			if got, want := w.Code, tt.status; got != want {
				t.Fatalf("status = %d, want %d: %.300s", got, want, w.Body)
			}
			if got := w.Body.Len(); got > 1024 {
				t.Errorf("body is %d bytes, want at most 1 KiB (a value echoed?): %.300s", got, w.Body)
			}
			for i, line := range strings.Split(h.logs.String(), "\n") {
				if len(line) > 1024 {
					t.Errorf("log line %d is %d bytes, want at most 1 KiB: %.300s", i, len(line), line)
				}
			}
		})
	}
}

// Feedback names its card by the uuid we gave it: anything else is not a
// card of ours, and is refused rather than recorded.
func TestFeedbackCardMustBeAUUID(t *testing.T) {
	t.Parallel()
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{})
	for _, card := range []string{"c1", "4e0a3a1e32834575ab82028d55fe2719", "urn:uuid:4e0a3a1e-3283-4575-ab82-028d55fe2719",
		"{4e0a3a1e-3283-4575-ab82-028d55fe2719}", "4e0a3a1e-3283-4575-ab82-028d55fe271g", "<img src=x>"} {
		w := h.do(http.MethodPost, "/cds-services/"+sampleID+"/feedback",
			`{"feedback":[{"card":"`+card+`","outcome":"overridden","outcomeTimestamp":"2025-06-02T10:00:00Z"}]}`)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "feedback[0].card must be the uuid of a card") {
			t.Errorf("card %q: got %d %s, want 400 saying the card must be a uuid", card, w.Code, w.Body)
		}
	}
}

// Services bound their answers; one that does not is stopped at the door
// with a 500 (its bug, logged), rather than sending megabytes to the EHR.
func TestAnswerOverMaxResponseIsNotSent(t *testing.T) {
	t.Parallel()
	svc := &fakeService{
		defs: []cdshooks.ServiceDefinition{{Hook: cdshooks.HookPatientView, ID: "svc", Description: "d"}},
		fn: func(context.Context, *cdshooks.Request, cdshooks.Caller) (*cdshooks.Response, error) {
			return &cdshooks.Response{Cards: []cdshooks.Card{{Summary: "s", Indicator: cdshooks.IndicatorInfo,
				Source: cdshooks.Source{Label: "l"}, Detail: strings.Repeat("x", 2<<20)}}}, nil
		},
	}
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{Services: []cdshooks.Service{svc}})
	w := h.do(http.MethodPost, "/cds-services/svc", validBody)
	if w.Code != http.StatusInternalServerError || w.Body.Len() > 1024 {
		t.Fatalf("got %d with %d bytes, want a short 500", w.Code, w.Body.Len())
	}
	if !strings.Contains(h.logs.String(), "over the 1048576-byte limit") {
		t.Errorf("the log does not say why:\n%.500s", h.logs)
	}
}
