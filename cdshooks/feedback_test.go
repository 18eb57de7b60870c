package cdshooks_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

func TestFeedback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      string
		status    int
		diagnosis string   // for 400: a substring the body must contain
		logged    []string // for 200: substrings the log must contain
	}{
		{
			name: "overridden with the sandbox's reason shape",
			body: `{"feedback":[{"card":"9368d37b-283f-44a0-93ea-547cebab93ed","outcome":"overridden",
				"overrideReason":{"reason":{"code":"d7ecf885","system":"https://example.com/cds-hooks/override-reason-system"},
				"userComment":"Patient Jane Roe told me she stopped it"},"outcomeTimestamp":"2020-12-11T00:00:00Z"}]}`,
			status: 200,
			logged: []string{`"card_uuids":["9368d37b-283f-44a0-93ea-547cebab93ed"]`, `"overridden":1`, `"service":"` + sampleID + `"`, `"override_reasons":["d7ecf885"]`},
		},
		{
			name: "accepted, several items",
			body: `{"feedback":[
				{"card":"4e0a3a1e-3283-4575-ab82-028d55fe2719","outcome":"accepted","acceptedSuggestions":[{"id":"s1"}],"outcomeTimestamp":"2021-12-11T10:05:31Z"},
				{"card":"9368d37b-283f-44a0-93ea-547cebab93ed","outcome":"overridden","outcomeTimestamp":"2021-12-11T10:05:31+01:00"}]}`,
			status: 200,
			logged: []string{`"items":2`, `"accepted":1`, `"overridden":1`, `"card_uuids":["4e0a3a1e-3283-4575-ab82-028d55fe2719","9368d37b-283f-44a0-93ea-547cebab93ed"]`},
		},
		{name: "no feedback array", body: `{}`, status: 400, diagnosis: "feedback is required"},
		{name: "missing card", body: `{"feedback":[{"outcome":"overridden","outcomeTimestamp":"2021-12-11T10:05:31Z"}]}`, status: 400, diagnosis: "feedback[0].card is required"},
		{name: "unknown outcome", body: `{"feedback":[{"card":"4e0a3a1e-3283-4575-ab82-028d55fe2719","outcome":"ignored","outcomeTimestamp":"2021-12-11T10:05:31Z"}]}`, status: 400, diagnosis: "outcome must be accepted or overridden"},
		{name: "accepted without suggestions", body: `{"feedback":[{"card":"4e0a3a1e-3283-4575-ab82-028d55fe2719","outcome":"accepted","outcomeTimestamp":"2021-12-11T10:05:31Z"}]}`, status: 400, diagnosis: "acceptedSuggestions is required"},
		{name: "suggestion without id", body: `{"feedback":[{"card":"4e0a3a1e-3283-4575-ab82-028d55fe2719","outcome":"accepted","acceptedSuggestions":[{}],"outcomeTimestamp":"2021-12-11T10:05:31Z"}]}`, status: 400, diagnosis: "acceptedSuggestions[0].id is required"},
		{name: "empty override reason", body: `{"feedback":[{"card":"4e0a3a1e-3283-4575-ab82-028d55fe2719","outcome":"overridden","overrideReason":{},"outcomeTimestamp":"2021-12-11T10:05:31Z"}]}`, status: 400, diagnosis: "overrideReason needs"},
		{name: "timestamp not RFC 3339", body: `{"feedback":[{"card":"4e0a3a1e-3283-4575-ab82-028d55fe2719","outcome":"overridden","outcomeTimestamp":"11/12/2021"}]}`, status: 400, diagnosis: "outcomeTimestamp"},
		{name: "missing timestamp", body: `{"feedback":[{"card":"4e0a3a1e-3283-4575-ab82-028d55fe2719","outcome":"overridden"}]}`, status: 400, diagnosis: "feedback[0].outcomeTimestamp"},
		{name: "second item bad", body: `{"feedback":[{"card":"4e0a3a1e-3283-4575-ab82-028d55fe2719","outcome":"overridden","outcomeTimestamp":"2021-12-11T10:05:31Z"},{"outcome":"overridden","outcomeTimestamp":"2021-12-11T10:05:31Z"}]}`, status: 400, diagnosis: "feedback[1].card"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{})
			w := h.do("POST", "/cds-services/"+sampleID+"/feedback", tt.body)
			if got, want := w.Code, tt.status; got != want {
				t.Fatalf("status = %d, want %d: %s", got, want, w.Body)
			}
			if tt.status != http.StatusOK {
				if !strings.Contains(w.Body.String(), tt.diagnosis) {
					t.Errorf("body %s does not mention %q", w.Body, tt.diagnosis)
				}
				if strings.Contains(h.logs.String(), `"msg":"feedback"`) {
					t.Errorf("invalid feedback was recorded:\n%s", h.logs)
				}
				return
			}
			logs := h.logs.String()
			for _, want := range tt.logged {
				if !strings.Contains(logs, want) {
					t.Errorf("log lacks %s:\n%s", want, logs)
				}
			}
			if strings.Contains(logs, "Jane Roe") {
				t.Errorf("log contains the clinician's comment:\n%s", logs)
			}
		})
	}
}
