package cdshooks_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

// pendingAuth is a PendingAuthenticator whose late check a test decides:
// it accepts every token at once, and its confirm answers late.
type pendingAuth struct {
	fakeAuth
	late error // what confirm returns

	mu        sync.Mutex
	confirms  int
	evaluated bool // whether the service had run when confirm was called
	svc       *fakeService
}

func (a *pendingAuth) AuthenticatePending(r *http.Request, audience string) (cdshooks.Caller, func() error, error) {
	caller, err := a.Authenticate(r, audience)
	return caller, func() error {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.confirms++
		if a.svc != nil {
			_, _, calls := a.svc.got()
			a.evaluated = calls > 0
		}
		return a.late
	}, err
}

// feedbackService is a fakeService that counts the feedback it acts on.
type feedbackService struct {
	*fakeService
	mu       sync.Mutex
	received int
}

func (f *feedbackService) Feedback(context.Context, []cdshooks.Feedback, cdshooks.Caller) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.received++
}

// TestLateAuthenticationFailure: a call whose authentication fails late
// (a token another replica accepted) is evaluated, overlapping the late
// check, but gets the 401 and none of the answer; feedback is not acted on;
// a malformed body gets the 401 too, as it would had the check come first.
// When the late check passes, the call is answered as usual.
func TestLateAuthenticationFailure(t *testing.T) {
	t.Parallel()
	replayed := &cdshooks.AuthFailure{Reason: "replayed", Err: errors.New("jti already used")}
	tests := []struct {
		name       string
		late       error
		path, body string
		wantStatus int
		wantEval   bool // the service evaluated the call before confirm
		wantFed    int  // feedback acted on
	}{
		{"service call, replayed", replayed, "/cds-services/svc", validBody, http.StatusUnauthorized, true, 0},
		{"service call, confirmed", nil, "/cds-services/svc", validBody, http.StatusOK, true, 0},
		{"malformed body, replayed", replayed, "/cds-services/svc", `{"hook":`, http.StatusUnauthorized, false, 0},
		{"feedback, replayed", replayed, "/cds-services/svc/feedback", feedbackBody(1, sampleBetaCard), http.StatusUnauthorized, false, 0},
		{"feedback, confirmed", nil, "/cds-services/svc/feedback", feedbackBody(1, sampleBetaCard), http.StatusOK, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc := &feedbackService{fakeService: &fakeService{
				defs: []cdshooks.ServiceDefinition{{Hook: cdshooks.HookPatientView, ID: "svc", Description: "d"}},
				fn: func(context.Context, *cdshooks.Request, cdshooks.Caller) (*cdshooks.Response, error) {
					return &cdshooks.Response{Cards: []cdshooks.Card{card("s", "")}}, nil
				},
			}}
			auth := &pendingAuth{fakeAuth: fakeAuth{token: "good"}, late: tt.late, svc: svc.fakeService}
			h := mustServer(t, cdshooks.Config{PublicURLs: []string{"https://cds.example.org"}},
				cdshooks.Deps{Authenticator: auth, Services: []cdshooks.Service{svc}})
			w := h.do(http.MethodPost, tt.path, tt.body, "Authorization", "Bearer good")
			if w.Code != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", w.Code, tt.wantStatus, w.Body)
			}
			if tt.late != nil && strings.Contains(w.Body.String(), `"cards"`) {
				t.Errorf("a late refusal sent cards: %s", w.Body)
			}
			auth.mu.Lock()
			confirms, evaluated := auth.confirms, auth.evaluated
			auth.mu.Unlock()
			if confirms != 1 {
				t.Errorf("confirm called %d times, want once", confirms)
			}
			if evaluated != tt.wantEval {
				t.Errorf("evaluated before confirm = %v, want %v", evaluated, tt.wantEval)
			}
			svc.mu.Lock()
			fed := svc.received
			svc.mu.Unlock()
			if fed != tt.wantFed {
				t.Errorf("feedback acted on %d times, want %d", fed, tt.wantFed)
			}
		})
	}
}
