package cdshooks_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

// headerList splits a comma-separated header value into lower-case items.
func headerList(v string) map[string]bool {
	items := map[string]bool{}
	for _, item := range strings.Split(v, ",") {
		items[strings.ToLower(strings.TrimSpace(item))] = true
	}
	return items
}

// TestCORSPreflight replays the sandbox's preflight (see
// testdata/sandbox/sample-patient-view-exchange.json) from another origin,
// with Chrome's Private Network Access header, against a server whose
// authenticator rejects everything: preflights never need credentials.
func TestCORSPreflight(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		origins    []string
		origin     string
		wantOrigin string // "" means no Access-Control-Allow-Origin
	}{
		{"any origin by default", nil, "http://127.0.0.1:8080", "*"},
		{"star", []string{"*"}, "https://sandbox.cds-hooks.org", "*"},
		{"listed origin is echoed", []string{"https://sandbox.cds-hooks.org"}, "https://sandbox.cds-hooks.org", "https://sandbox.cds-hooks.org"},
		{"unlisted origin gets nothing", []string{"https://sandbox.cds-hooks.org"}, "https://evil.example", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := mustServer(t, cdshooks.Config{CORSOrigins: tt.origins}, cdshooks.Deps{Authenticator: &fakeAuth{token: "never sent"}})
			for _, path := range []string{"/cds-services", "/cds-services/" + sampleID, "/cds-services/" + sampleID + "/feedback"} {
				w := h.do("OPTIONS", path, "",
					"Origin", tt.origin,
					"Access-Control-Request-Method", "POST",
					"Access-Control-Request-Headers", "authorization,content-type",
					"Access-Control-Request-Private-Network", "true")
				if w.Code < 200 || w.Code > 299 {
					t.Fatalf("%s: status = %d, want 2xx: %s", path, w.Code, w.Body)
				}
				if got, want := w.Header().Get("Access-Control-Allow-Origin"), tt.wantOrigin; got != want {
					t.Errorf("%s: Access-Control-Allow-Origin = %q, want %q", path, got, want)
				}
				if tt.wantOrigin == "" {
					if got := w.Header().Get("Access-Control-Allow-Private-Network"); got != "" {
						t.Errorf("%s: unlisted origin got Access-Control-Allow-Private-Network %q", path, got)
					}
					continue
				}
				methods := headerList(w.Header().Get("Access-Control-Allow-Methods"))
				for _, m := range []string{"get", "post", "options"} {
					if !methods[m] {
						t.Errorf("%s: Access-Control-Allow-Methods = %q, lacks %s", path, w.Header().Get("Access-Control-Allow-Methods"), m)
					}
				}
				headers := headerList(w.Header().Get("Access-Control-Allow-Headers"))
				for _, hd := range []string{"authorization", "content-type"} {
					if !headers[hd] {
						t.Errorf("%s: Access-Control-Allow-Headers = %q, lacks %s", path, w.Header().Get("Access-Control-Allow-Headers"), hd)
					}
				}
				if got, want := w.Header().Get("Access-Control-Allow-Private-Network"), "true"; got != want {
					t.Errorf("%s: Access-Control-Allow-Private-Network = %q, want %q", path, got, want)
				}
				if w.Header().Get("Access-Control-Max-Age") == "" {
					t.Errorf("%s: no Access-Control-Max-Age", path)
				}
			}
		})
	}
}

func TestCORSHeadersOnActualRequests(t *testing.T) {
	t.Parallel()
	h := mustServer(t, cdshooks.Config{CORSOrigins: []string{"https://sandbox.cds-hooks.org"}, PublicURLs: []string{"https://cds.example.org"}},
		cdshooks.Deps{Authenticator: &fakeAuth{token: "good"}})
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		token  string
		status int
	}{
		{"discovery", "GET", "/cds-services", "", "", 200},
		{"service call", "POST", "/cds-services/" + sampleID, validBody, "good", 200},
		// A browser must be able to read an error too, or it sees only "CORS failure".
		{"unauthorized call", "POST", "/cds-services/" + sampleID, validBody, "bad", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := h.do(tt.method, tt.path, tt.body, "Origin", "https://sandbox.cds-hooks.org", "Authorization", "Bearer "+tt.token)
			if got, want := w.Code, tt.status; got != want {
				t.Fatalf("status = %d, want %d: %s", got, want, w.Body)
			}
			if got, want := w.Header().Get("Access-Control-Allow-Origin"), "https://sandbox.cds-hooks.org"; got != want {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, want)
			}
			if got, want := w.Header().Get("Vary"), "Origin"; got != want {
				t.Errorf("Vary = %q, want %q", got, want)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	caller := cdshooks.Caller{Issuer: "https://sandbox.cds-hooks.org", FHIRServers: []string{"https://fhir.example.org"}}
	pub := cdshooks.Config{PublicURLs: []string{"http://example.com"}}
	tests := []struct {
		name          string
		cfg           cdshooks.Config
		method, path  string
		body          string
		token         string // "" sends no Authorization header
		status        int
		wantAudience  string // "" skips the check
		wantEvaluated bool
	}{
		{"no token", pub, "POST", "/cds-services/" + sampleID, validBody, "", 401, "", false},
		{"wrong token", pub, "POST", "/cds-services/" + sampleID, validBody, "forged", 401, "", false},
		{"good token", pub, "POST", "/cds-services/" + sampleID, validBody, "good", 200, "http://example.com/cds-services/" + sampleID, true},
		{"public URL sets the audience", cdshooks.Config{PublicURLs: []string{"https://cds.example.org/"}}, "POST", "/cds-services/" + sampleID, validBody, "good", 200, "https://cds.example.org/cds-services/" + sampleID, true},
		{"feedback needs a token", pub, "POST", "/cds-services/" + sampleID + "/feedback", `{"feedback":[]}`, "", 401, "", false},
		{"feedback audience", cdshooks.Config{PublicURLs: []string{"https://cds.example.org"}}, "POST", "/cds-services/" + sampleID + "/feedback", `{"feedback":[]}`, "good", 200, "https://cds.example.org/cds-services/" + sampleID + "/feedback", false},
		{"auth before body checks", pub, "POST", "/cds-services/" + sampleID, "not json", "", 401, "", false},
		{"discovery is open by default", pub, "GET", "/cds-services", "", "", 200, "", false},
		{"discovery with AuthDiscovery", cdshooks.Config{AuthDiscovery: true, PublicURLs: pub.PublicURLs}, "GET", "/cds-services", "", "", 401, "", false},
		{"discovery audience", cdshooks.Config{AuthDiscovery: true, PublicURLs: []string{"https://cds.example.org"}}, "GET", "/cds-services", "", "good", 200, "https://cds.example.org/cds-services", false},
		{"healthz is open", cdshooks.Config{AuthDiscovery: true, PublicURLs: pub.PublicURLs}, "GET", "/healthz", "", "", 200, "", false},
		{"readyz is open", cdshooks.Config{AuthDiscovery: true, PublicURLs: pub.PublicURLs}, "GET", "/readyz", "", "", 200, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			auth := &fakeAuth{token: "good", caller: caller}
			svc := &fakeService{defs: []cdshooks.ServiceDefinition{sampleDefinition()}}
			h := mustServer(t, tt.cfg, cdshooks.Deps{Authenticator: auth, Services: []cdshooks.Service{svc}})
			var header []string
			if tt.token != "" {
				header = []string{"Authorization", "Bearer " + tt.token}
			}
			w := h.do(tt.method, tt.path, tt.body, header...)
			if got, want := w.Code, tt.status; got != want {
				t.Fatalf("status = %d, want %d: %s", got, want, w.Body)
			}
			if tt.status == 401 {
				if got, want := w.Header().Get("WWW-Authenticate"), `Bearer error="invalid_token"`; got != want {
					t.Errorf("WWW-Authenticate = %q, want %q", got, want)
				}
				if strings.Contains(w.Body.String(), "bad_token") || strings.Contains(w.Body.String(), "mismatch") {
					t.Errorf("401 body reveals the reason: %s", w.Body)
				}
				if !strings.Contains(h.logs.String(), `"reason":"bad_token"`) {
					t.Errorf("log lacks the failure reason:\n%s", h.logs)
				}
				if tt.token != "" && strings.Contains(h.logs.String(), tt.token) {
					t.Errorf("log contains the token:\n%s", h.logs)
				}
			}
			if tt.wantAudience != "" {
				if got, want := auth.lastAudience(), tt.wantAudience; got != want {
					t.Errorf("audience = %q, want %q", got, want)
				}
			}
			_, gotCaller, calls := svc.got()
			if got, want := calls > 0, tt.wantEvaluated; got != want {
				t.Fatalf("service evaluated = %v, want %v", got, want)
			}
			if tt.wantEvaluated && gotCaller.Issuer != caller.Issuer {
				t.Errorf("service got caller %+v, want %+v", gotCaller, caller)
			}
		})
	}
}

// The audience a token must name comes from configuration only: the request's
// Host picks one of the public URLs, and never makes one. A token minted for
// http://evil.example once passed when sent with Host: evil.example.
func TestAudienceComesFromConfigurationOnly(t *testing.T) {
	t.Parallel()
	local := []string{"http://localhost:8080", "http://127.0.0.1:8080/"}
	tests := []struct {
		name string
		urls []string
		host string
		want string // the audience the Authenticator is asked for
	}{
		{"first public URL", local, "localhost:8080", "http://localhost:8080/cds-services/nocturnal-leg-cramps"},
		{"second public URL", local, "127.0.0.1:8080", "http://127.0.0.1:8080/cds-services/nocturnal-leg-cramps"},
		{"host compared without case", local, "LOCALHOST:8080", "http://localhost:8080/cds-services/nocturnal-leg-cramps"},
		{"a Host of the caller's choosing", local, "evil.example", "http://localhost:8080/cds-services/nocturnal-leg-cramps"},
		{"no public URL: no audience", nil, "evil.example", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			auth := &fakeAuth{token: "good"}
			svc := &fakeService{defs: []cdshooks.ServiceDefinition{{Hook: cdshooks.HookPatientView, ID: "nocturnal-leg-cramps", Description: "d"}}}
			h := mustServer(t, cdshooks.Config{PublicURLs: tt.urls}, cdshooks.Deps{Authenticator: auth, Services: []cdshooks.Service{svc}})
			req := httptest.NewRequest(http.MethodPost, "/cds-services/nocturnal-leg-cramps", strings.NewReader(validBody))
			req.Host = tt.host
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer good")
			req.Header.Set("X-Forwarded-Host", "evil.example")
			w := httptest.NewRecorder()
			h.h.ServeHTTP(w, req)
			if got := auth.lastAudience(); got != tt.want {
				t.Errorf("audience = %q, want %q", got, tt.want)
			}
			if wantStatus := map[bool]int{true: 200, false: 401}[tt.want != ""]; w.Code != wantStatus {
				t.Errorf("status = %d, want %d", w.Code, wantStatus)
			}
		})
	}
}

func TestPublicURLsMustBeAbsolute(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"/cds", "cds.example.org", "ftp://cds.example.org", "https://cds.example.org/?x=1", "https://cds.example.org/#f"} {
		if _, err := cdshooks.NewServer(cdshooks.Config{PublicURLs: []string{u}}, cdshooks.Deps{}); err == nil {
			t.Errorf("NewServer accepted public URL %q", u)
		}
	}
}

func TestNoAuthenticatorWarnsOnEveryRequest(t *testing.T) {
	t.Parallel()
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{})
	for range 2 {
		if w := h.do("POST", "/cds-services/"+sampleID, validBody); w.Code != http.StatusOK {
			t.Fatalf("status = %d: %s", w.Code, w.Body)
		}
	}
	if got, want := strings.Count(h.logs.String(), "--insecure-no-auth"), 2; got != want {
		t.Errorf("%d insecure warnings, want %d:\n%s", got, want, h.logs)
	}
}

func TestReadinessDuringShutdown(t *testing.T) {
	t.Parallel()
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{})
	admin := h.srv.HealthHandler()
	for _, handler := range []http.Handler{h.h, admin} {
		for _, path := range []string{"/healthz", "/readyz"} {
			w := harness{h: handler}.do("GET", path, "")
			if got, want := w.Code, http.StatusOK; got != want {
				t.Errorf("before Drain, %s = %d, want %d", path, got, want)
			}
		}
	}
	h.srv.Drain()
	for _, handler := range []http.Handler{h.h, admin} {
		if got, want := (harness{h: handler}).do("GET", "/readyz", "").Code, http.StatusServiceUnavailable; got != want {
			t.Errorf("after Drain, /readyz = %d, want %d", got, want)
		}
		if got, want := (harness{h: handler}).do("GET", "/healthz", "").Code, http.StatusOK; got != want {
			t.Errorf("after Drain, /healthz = %d, want %d", got, want)
		}
	}
}

func TestRequestLogLine(t *testing.T) {
	t.Parallel()
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{})
	h.do("POST", "/cds-services/"+sampleID, `{"hook":"patient-view","hookInstance":"1","context":{"patientId":"secret-patient-42"}}`)
	logs := h.logs.String()
	for _, want := range []string{`"msg":"request"`, `"route":"/cds-services/:id"`, `"status":400`, `"service":"` + sampleID + `"`, `"error":"invalid"`, `"duration_ms"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "secret-patient-42") {
		t.Errorf("log contains the patient id:\n%s", logs)
	}
}
