package cdshooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/fhir"
)

// A valid patient-view request, as small as the spec allows.
const validBody = `{"hook":"patient-view","hookInstance":"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
 "context":{"userId":"Practitioner/example","patientId":"1288992"}}`

// findNull reports the path of the first null, "", [] or {} in a JSON
// document, which CDS Hooks forbids in responses (except cards: []).
func findNull(t *testing.T, body []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, body)
	}
	var walk func(path string, v any) string
	walk = func(path string, v any) string {
		switch v := v.(type) {
		case nil:
			return path
		case string:
			if v == "" {
				return path
			}
		case []any:
			if len(v) == 0 && path != "$.cards" && path != "$.services" {
				return path
			}
			for i, e := range v {
				if p := walk(path+"["+strconv.Itoa(i)+"]", e); p != "" {
					return p
				}
			}
		case map[string]any:
			if len(v) == 0 {
				return path
			}
			for k, e := range v {
				if p := walk(path+"."+k, e); p != "" {
					return p
				}
			}
		}
		return ""
	}
	return walk("$", v)
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{})
	w := h.do("GET", "/cds-services", "")
	if got, want := w.Code, http.StatusOK; got != want {
		t.Fatalf("status = %d, want %d: %s", got, want, w.Body)
	}
	if got, want := w.Header().Get("Content-Type"), "application/json"; !strings.HasPrefix(got, want) {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	if p := findNull(t, w.Body.Bytes()); p != "" {
		t.Errorf("discovery has a null or empty value at %s: %s", p, w.Body)
	}
	if !strings.Contains(w.Body.String(), "&category=laboratory") {
		t.Errorf("discovery escapes the prefetch query's & (want it as written): %s", w.Body)
	}
	var d struct {
		Services []map[string]any `json:"services"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if got, want := len(d.Services), 1; got != want {
		t.Fatalf("%d services, want %d", got, want)
	}
	s := d.Services[0]
	if got, want := s["id"], sampleID; got != want {
		t.Errorf("id = %v, want %v", got, want)
	}
	if got, want := s["hook"], "patient-view"; got != want {
		t.Errorf("hook = %v, want %v", got, want)
	}
	for _, field := range []string{"title", "description", "usageRequirements"} {
		if v, _ := s[field].(string); v == "" {
			t.Errorf("%s is missing", field)
		}
	}
	// The sample templates as written: their keys, and the & of a query unescaped.
	want := map[string]any{
		"patient":              "Patient/{{context.patientId}}",
		"conditions":           "Condition?patient={{context.patientId}}",
		"medicationStatements": "MedicationStatement?patient={{context.patientId}}",
		"medicationRequests":   "MedicationRequest?patient={{context.patientId}}",
		"observations":         "Observation?patient={{context.patientId}}&category=laboratory",
	}
	if diff := cmp.Diff(want, s["prefetch"]); diff != "" {
		t.Errorf("prefetch (-want +got):\n%s", diff)
	}
}

func TestDiscoveryWithNoServicesIsAnEmptyArray(t *testing.T) {
	t.Parallel()
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{Services: []cdshooks.Service{}})
	w := h.do("GET", "/cds-services", "")
	if got, want := w.Body.String(), `{"services":[]}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
}

func TestServiceAnswersNoCardsAsEmptyArray(t *testing.T) {
	t.Parallel()
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{})
	w := h.do("POST", "/cds-services/"+sampleID, validBody)
	if got, want := w.Code, http.StatusOK; got != want {
		t.Fatalf("status = %d, want %d: %s", got, want, w.Body)
	}
	if got, want := w.Body.String(), `{"cards":[]}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	if got, want := w.Header().Get("Cache-Control"), "no-store"; got != want {
		t.Errorf("Cache-Control = %q, want %q", got, want)
	}
}

func TestServiceNilResponseAndNilCardsAreEmptyArrays(t *testing.T) {
	t.Parallel()
	for name, resp := range map[string]*cdshooks.Response{"nil response": nil, "nil cards": {}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			svc := &fakeService{
				defs: []cdshooks.ServiceDefinition{{ID: "x", Hook: "patient-view", Description: "d"}},
				fn: func(context.Context, *cdshooks.Request, cdshooks.Caller) (*cdshooks.Response, error) {
					return resp, nil
				},
			}
			h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{Services: []cdshooks.Service{svc}})
			w := h.do("POST", "/cds-services/x", validBody)
			if got, want := w.Body.String(), `{"cards":[]}`; got != want {
				t.Errorf("body = %s, want %s", got, want)
			}
		})
	}
}

// TestErrors covers every error status of the API: each answer is JSON, an
// OperationOutcome with the FHIR issue type for the error.
func TestErrors(t *testing.T) {
	t.Parallel()
	failing := func(err error) *fakeService {
		return &fakeService{
			defs: []cdshooks.ServiceDefinition{{ID: "failing", Hook: "patient-view", Description: "d"}},
			fn: func(context.Context, *cdshooks.Request, cdshooks.Caller) (*cdshooks.Response, error) {
				return nil, err
			},
		}
	}
	panicking := &fakeService{
		defs: []cdshooks.ServiceDefinition{{ID: "panicking", Hook: "patient-view", Description: "d"}},
		fn: func(context.Context, *cdshooks.Request, cdshooks.Caller) (*cdshooks.Response, error) {
			panic("secret detail")
		},
	}
	badCards := &fakeService{
		defs: []cdshooks.ServiceDefinition{{ID: "bad-cards", Hook: "patient-view", Description: "d"}},
		fn: func(context.Context, *cdshooks.Request, cdshooks.Caller) (*cdshooks.Response, error) {
			return &cdshooks.Response{Cards: []cdshooks.Card{{Summary: "s", Indicator: "success", Source: cdshooks.Source{Label: "l"}}}}, nil
		},
	}
	orders := &fakeService{defs: []cdshooks.ServiceDefinition{
		{ID: "orders", Hook: "order-select", Description: "d"},
		{ID: "orders-sign", Hook: "order-sign", Description: "d"},
	}}
	services := []cdshooks.Service{
		cdshooks.NoCards{Defs: []cdshooks.ServiceDefinition{sampleDefinition()}},
		failing(errors.New("database password is hunter2")),
		panicking, badCards, orders,
	}
	missing := failing(cdshooks.MissingPrefetch("observations", "conditions"))
	missing.defs[0].ID = "missing"
	services = append(services, missing)
	h := mustServer(t, cdshooks.Config{MaxBody: 1024}, cdshooks.Deps{Services: services})

	withoutPatient := `{"hook":"patient-view","hookInstance":"1","context":{"userId":"Practitioner/1"}}`
	orderSign := `{"hook":"order-sign","hookInstance":"1","context":{"userId":"Practitioner/1","patientId":"p1",
		"draftOrders":{"resourceType":"Bundle","type":"collection","entry":[]}}}`
	orderSelectWithoutSelections := `{"hook":"order-select","hookInstance":"1","context":{"userId":"Practitioner/1","patientId":"p1",
		"draftOrders":{"resourceType":"Bundle"}}}`
	big := `{"hook":"patient-view","hookInstance":"` + strings.Repeat("x", 2000) + `","context":{}}`

	tests := []struct {
		name        string
		method      string
		path        string
		body        string
		contentType string // "" keeps application/json when there is a body
		status      int
		issueCode   string
		diagnostic  string // a substring the diagnostics must contain
	}{
		{"malformed JSON", "POST", "/cds-services/" + sampleID, `{"hook":`, "", 400, "invalid", "not valid JSON"},
		{"syntax error", "POST", "/cds-services/" + sampleID, `{"hook" "x"}`, "", 400, "invalid", "not valid JSON"},
		{"not an object", "POST", "/cds-services/" + sampleID, `[1,2]`, "", 400, "invalid", "JSON object"},
		{"wrong field type", "POST", "/cds-services/" + sampleID, `{"hook":1}`, "", 400, "invalid", "hook"},
		{"trailing data", "POST", "/cds-services/" + sampleID, validBody + `{}`, "", 400, "invalid", "after the JSON"},
		{"empty body", "POST", "/cds-services/" + sampleID, ``, "application/json", 400, "invalid", "empty"},
		{"missing hook", "POST", "/cds-services/" + sampleID, `{"hookInstance":"1","context":{}}`, "", 400, "invalid", "hook is required"},
		{"missing hookInstance", "POST", "/cds-services/" + sampleID, `{"hook":"patient-view","context":{"userId":"Practitioner/1","patientId":"p"}}`, "", 400, "invalid", "hookInstance is required"},
		{"hookInstance too long", "POST", "/cds-services/" + sampleID, `{"hook":"patient-view","hookInstance":"` + strings.Repeat("a", 129) + `","context":{"userId":"Practitioner/1","patientId":"p"}}`, "", 400, "invalid", "hookInstance is longer than 128"},
		{"missing context", "POST", "/cds-services/" + sampleID, `{"hook":"patient-view","hookInstance":"1"}`, "", 400, "invalid", "context is required"},
		{"missing patientId", "POST", "/cds-services/" + sampleID, withoutPatient, "", 400, "invalid", "context.patientId is required"},
		{"missing userId", "POST", "/cds-services/" + sampleID, `{"hook":"patient-view","hookInstance":"1","context":{"patientId":"p"}}`, "", 400, "invalid", "context.userId is required"},
		{"userId not a reference", "POST", "/cds-services/" + sampleID, `{"hook":"patient-view","hookInstance":"1","context":{"patientId":"p","userId":"bob"}}`, "", 400, "invalid", "context.userId must be a reference"},
		{"userId of a wrong type", "POST", "/cds-services/" + sampleID, `{"hook":"patient-view","hookInstance":"1","context":{"patientId":"p","userId":"Device/1"}}`, "", 400, "invalid", "context.userId"},
		{"patientId not an id", "POST", "/cds-services/" + sampleID, `{"hook":"patient-view","hookInstance":"1","context":{"patientId":"p&_include=*","userId":"Practitioner/1"}}`, "", 400, "invalid", "context.patientId must be a FHIR id"},
		{"patientId not a string", "POST", "/cds-services/" + sampleID, `{"hook":"patient-view","hookInstance":"1","context":{"patientId":12,"userId":"Practitioner/1"}}`, "", 400, "invalid", "context.patientId must be a string"},
		{"fhirAuthorization without fhirServer", "POST", "/cds-services/" + sampleID, `{"hook":"patient-view","hookInstance":"1","context":{"patientId":"p","userId":"Practitioner/1"},
			"fhirAuthorization":{"access_token":"t","token_type":"Bearer","expires_in":300,"scope":"user/Patient.read","subject":"s"}}`, "", 400, "invalid", "fhirServer is required"},
		{"fhirAuthorization incomplete", "POST", "/cds-services/" + sampleID, `{"hook":"patient-view","hookInstance":"1","context":{"patientId":"p","userId":"Practitioner/1"},
			"fhirServer":"https://ehr.example.org/fhir","fhirAuthorization":{"token_type":"MAC"}}`, "", 400, "invalid", "access_token is required"},
		{"fhirServer relative", "POST", "/cds-services/" + sampleID, `{"hook":"patient-view","hookInstance":"1","context":{"patientId":"p","userId":"Practitioner/1"},"fhirServer":"/fhir"}`, "", 400, "invalid", "fhirServer must be"},
		{"wrong hook for the service", "POST", "/cds-services/" + sampleID, orderSign, "", 400, "invalid", "does not serve hook"},
		{"patient-view to an order service", "POST", "/cds-services/orders", validBody, "", 400, "invalid", "does not serve hook"},
		{"order-select without selections", "POST", "/cds-services/orders", orderSelectWithoutSelections, "", 400, "invalid", "context.selections is required"},
		{"unknown service", "POST", "/cds-services/no-such-service", validBody, "", 404, "not-found", "no CDS service"},
		{"unknown service feedback", "POST", "/cds-services/no-such-service/feedback", `{"feedback":[]}`, "", 404, "not-found", "no CDS service"},
		{"unknown route", "GET", "/Patient/123", "", "", 404, "not-found", "no such endpoint"},
		{"GET a service", "GET", "/cds-services/" + sampleID, "", "", 405, "not-supported", "GET"},
		{"DELETE discovery", "DELETE", "/cds-services", "", "", 405, "not-supported", "DELETE"},
		{"text/plain", "POST", "/cds-services/" + sampleID, validBody, "text/plain", 415, "not-supported", "application/json"},
		{"no content type", "POST", "/cds-services/" + sampleID, validBody, "-", 415, "not-supported", "application/json"},
		{"too large", "POST", "/cds-services/" + sampleID, big, "", 413, "too-costly", "1024 bytes"},
		{"service error is internal", "POST", "/cds-services/failing", validBody, "", 500, "exception", "internal error"},
		{"panic is internal", "POST", "/cds-services/panicking", validBody, "", 500, "exception", "internal error"},
		{"invalid card is internal", "POST", "/cds-services/bad-cards", validBody, "", 500, "exception", "internal error"},
		{"missing prefetch", "POST", "/cds-services/missing", validBody, "", 412, "processing", `\"observations\"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var header []string
			switch tt.contentType {
			case "":
			case "-":
				header = []string{"Content-Type", ""}
			default:
				header = []string{"Content-Type", tt.contentType}
			}
			var w *httptest.ResponseRecorder
			if tt.body == "" && tt.contentType != "" {
				// An empty body that still claims to be JSON.
				req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(""))
				req.Header.Set("Content-Type", tt.contentType)
				w = httptest.NewRecorder()
				h.h.ServeHTTP(w, req)
			} else {
				w = h.do(tt.method, tt.path, tt.body, header...)
			}
			if got, want := w.Code, tt.status; got != want {
				t.Fatalf("status = %d, want %d: %s", got, want, w.Body)
			}
			if got, want := w.Header().Get("Content-Type"), "application/json"; !strings.HasPrefix(got, want) {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			var oo cdshooks.OperationOutcome
			if err := json.Unmarshal(w.Body.Bytes(), &oo); err != nil {
				t.Fatalf("body is not JSON: %v: %s", err, w.Body)
			}
			if got, want := oo.ResourceType, "OperationOutcome"; got != want {
				t.Errorf("resourceType = %q, want %q", got, want)
			}
			if len(oo.Issue) == 0 {
				t.Fatalf("no issue in %s", w.Body)
			}
			if got, want := oo.Issue[0].Code, tt.issueCode; got != want {
				t.Errorf("issue code = %q, want %q", got, want)
			}
			if got, want := oo.Issue[0].Severity, "error"; got != want {
				t.Errorf("severity = %q, want %q", got, want)
			}
			if !strings.Contains(w.Body.String(), tt.diagnostic) {
				t.Errorf("body %s does not mention %q", w.Body, tt.diagnostic)
			}
			if p := findNull(t, w.Body.Bytes()); p != "" {
				t.Errorf("null or empty value at %s: %s", p, w.Body)
			}
			for _, secret := range []string{"hunter2", "secret detail", "goroutine", ".go:"} {
				if strings.Contains(w.Body.String(), secret) {
					t.Errorf("body leaks internal detail %q: %s", secret, w.Body)
				}
			}
		})
	}
}

func TestMethodNotAllowedListsAllowedMethods(t *testing.T) {
	t.Parallel()
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{})
	w := h.do("GET", "/cds-services/"+sampleID, "")
	if got, want := w.Header().Get("Allow"), "POST"; got != want {
		t.Errorf("Allow = %q, want %q", got, want)
	}
}

func TestMissingPrefetchNamesEveryKey(t *testing.T) {
	t.Parallel()
	svc := &fakeService{
		defs: []cdshooks.ServiceDefinition{{ID: "x", Hook: "patient-view", Description: "d"}},
		fn: func(context.Context, *cdshooks.Request, cdshooks.Caller) (*cdshooks.Response, error) {
			return nil, cdshooks.MissingPrefetch("observations", "conditions")
		},
	}
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{Services: []cdshooks.Service{svc}})
	w := h.do("POST", "/cds-services/x", validBody)
	var oo cdshooks.OperationOutcome
	if err := json.Unmarshal(w.Body.Bytes(), &oo); err != nil {
		t.Fatal(err)
	}
	if got, want := len(oo.Issue), 2; got != want {
		t.Fatalf("%d issues, want %d: %s", got, want, w.Body)
	}
	for i, key := range []string{"observations", "conditions"} {
		if !strings.Contains(oo.Issue[i].Diagnostics, `"`+key+`"`) {
			t.Errorf("issue %d = %q, want it to name %q", i, oo.Issue[i].Diagnostics, key)
		}
	}
}

func TestInternalErrorsAreLoggedWithDetail(t *testing.T) {
	t.Parallel()
	svc := &fakeService{
		defs: []cdshooks.ServiceDefinition{{ID: "x", Hook: "patient-view", Description: "d"}},
		fn: func(context.Context, *cdshooks.Request, cdshooks.Caller) (*cdshooks.Response, error) {
			panic("the detail an operator needs")
		},
	}
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{Services: []cdshooks.Service{svc}})
	if got, want := h.do("POST", "/cds-services/x", validBody).Code, 500; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
	if !strings.Contains(h.logs.String(), "the detail an operator needs") {
		t.Errorf("log lacks the panic detail:\n%s", h.logs)
	}
	// And the server keeps serving.
	if got, want := h.do("GET", "/cds-services", "").Code, 200; got != want {
		t.Errorf("after a panic, discovery status = %d, want %d", got, want)
	}
}

func TestTooLargeWithoutContentLength(t *testing.T) {
	t.Parallel()
	h := mustServer(t, cdshooks.Config{MaxBody: 64}, cdshooks.Deps{})
	req := httptest.NewRequest("POST", "/cds-services/"+sampleID, io.MultiReader(strings.NewReader(validBody)))
	req.ContentLength = -1 // unknown, as with chunked encoding: only reading finds out
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, req)
	if got, want := w.Code, http.StatusRequestEntityTooLarge; got != want {
		t.Errorf("status = %d, want %d: %s", got, want, w.Body)
	}
}

func TestContentTypeParametersAndFHIRJSONAreAccepted(t *testing.T) {
	t.Parallel()
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{})
	for _, ct := range []string{"application/json; charset=utf-8", "application/fhir+json", "Application/JSON"} {
		w := h.do("POST", "/cds-services/"+sampleID, validBody, "Content-Type", ct)
		if got, want := w.Code, http.StatusOK; got != want {
			t.Errorf("Content-Type %q: status = %d, want %d: %s", ct, got, want, w.Body)
		}
	}
}

// TestSandboxRequestIsAccepted posts the body the CDS Hooks sandbox really sent.
func TestSandboxRequestIsAccepted(t *testing.T) {
	t.Parallel()
	body := sandboxBody(t)
	svc := &fakeService{defs: []cdshooks.ServiceDefinition{sampleDefinition()}}
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{Services: []cdshooks.Service{svc}})
	w := h.do("POST", "/cds-services/"+sampleID, string(body), "Accept", "application/json", "Origin", "http://127.0.0.1:8080")
	if got, want := w.Code, http.StatusOK; got != want {
		t.Fatalf("status = %d, want %d: %s", got, want, w.Body)
	}
	req, _, _ := svc.got()
	if got, want := req.PatientID(), "cdsx-pat-1"; got != want {
		t.Errorf("PatientID = %q, want %q", got, want)
	}
	if got, want := userID(t, req), "Practitioner/COREPRACTITIONER1"; got != want {
		t.Errorf("UserID = %q, want %q", got, want)
	}
	if got, want := req.FHIRServer, "http://127.0.0.1:8081"; got != want {
		t.Errorf("FHIRServer = %q, want %q", got, want)
	}
	var keys []string
	for k := range req.Prefetch {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if diff := cmp.Diff([]string{"conditions", "hba1c", "medications", "patient"}, keys); diff != "" {
		t.Errorf("prefetch keys (-want +got):\n%s", diff)
	}
	// Nothing of the patient reaches the log.
	for _, secret := range []string{"cdsx-pat-1", "Testpatient", "MRN-0001", "COREPRACTITIONER1"} {
		if strings.Contains(h.logs.String(), secret) {
			t.Errorf("log contains patient or user data %q:\n%s", secret, h.logs)
		}
	}
}

func sandboxBody(t *testing.T) json.RawMessage {
	t.Helper()
	data, err := os.ReadFile("../testdata/sandbox/sample-patient-view-exchange.json")
	if err != nil {
		t.Fatal(err)
	}
	var capture struct {
		Exchanges []struct {
			Method string          `json:"method"`
			Body   json.RawMessage `json:"body"`
		} `json:"exchanges"`
	}
	if err := json.Unmarshal(data, &capture); err != nil {
		t.Fatal(err)
	}
	for _, e := range capture.Exchanges {
		if e.Method == "POST" && len(e.Body) > 0 {
			return e.Body
		}
	}
	t.Fatal("no POST exchange with a body in the sandbox capture")
	return nil
}

func TestPrefetchAbsentAndNullStayDistinct(t *testing.T) {
	t.Parallel()
	svc := &fakeService{defs: []cdshooks.ServiceDefinition{{ID: "x", Hook: "patient-view", Description: "d"}}}
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{Services: []cdshooks.Service{svc}})
	body := `{"hook":"patient-view","hookInstance":"1","context":{"userId":"Practitioner/1","patientId":"p"},
		"prefetch":{"patient":{"resourceType":"Patient","id":"p"},"conditions":null}}`
	if w := h.do("POST", "/cds-services/x", body); w.Code != http.StatusOK {
		t.Fatalf("status = %d: %s", w.Code, w.Body)
	}
	req, _, _ := svc.got()
	tests := []struct {
		key         string
		wantPresent bool
		wantNull    bool
	}{
		{"patient", true, false},
		{"conditions", true, true},
		{"observations", false, false},
	}
	for _, tt := range tests {
		v, ok := req.Prefetch[tt.key]
		if got, want := ok, tt.wantPresent; got != want {
			t.Errorf("Prefetch[%q] present = %v, want %v", tt.key, got, want)
		}
		if got, want := cdshooks.IsNull(v), tt.wantNull; got != want {
			t.Errorf("IsNull(Prefetch[%q]) = %v, want %v", tt.key, got, want)
		}
	}
}

func TestOrderHookContextAccessors(t *testing.T) {
	t.Parallel()
	var req cdshooks.Request
	body := `{"hook":"order-select","hookInstance":"1","context":{"userId":"PractitionerRole/r1","patientId":"p1","encounterId":"e1",
		"selections":["MedicationRequest/m1"],"draftOrders":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"MedicationRequest","id":"m1"}}]}}}`
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	if err := req.Validate(fhir.ValidID, fhir.EachDraftOrder); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	sel, ok, err := req.ContextStrings("selections")
	if err != nil || !ok {
		t.Fatalf("ContextStrings(selections) = %v, %v, %v", sel, ok, err)
	}
	if diff := cmp.Diff([]string{"MedicationRequest/m1"}, sel); diff != "" {
		t.Errorf("selections (-want +got):\n%s", diff)
	}
	if got, want := encounterID(t, &req), "e1"; got != want {
		t.Errorf("EncounterID = %q, want %q", got, want)
	}
	if _, ok := req.ContextRaw("draftOrders"); !ok {
		t.Errorf("draftOrders missing")
	}
	if _, _, err := req.ContextStrings("patientId"); err == nil {
		t.Errorf("ContextStrings on a string field: want an error")
	}
}

func TestFHIRAuthorizationNeverPrintsItsToken(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	n := int64(300)
	a := cdshooks.FHIRAuthorization{AccessToken: "s3cr3t-token", TokenType: "Bearer", ExpiresIn: &n, Scope: "user/*.read", Subject: "cramp"}
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "auth", a, "ptr", &a)
	if strings.Contains(buf.String(), "s3cr3t-token") {
		t.Errorf("slog printed the token: %s", buf.String())
	}
	for _, s := range []string{a.String(), (&a).String()} {
		if strings.Contains(s, "s3cr3t-token") {
			t.Errorf("String printed the token: %s", s)
		}
	}
}

func userID(t *testing.T, req *cdshooks.Request) string {
	t.Helper()
	v, _, err := req.ContextString("userId")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func encounterID(t *testing.T, req *cdshooks.Request) string {
	t.Helper()
	v, _, err := req.ContextString("encounterId")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestInternalErrorLogIsClipped: an internal error is logged with its text,
// but never more than a few hundred characters of it, so that an error
// quoting a large input (a service's bug) cannot flood the log or copy much
// of a record into it.
func TestInternalErrorLogIsClipped(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100_000)
	svc := &fakeService{
		defs: []cdshooks.ServiceDefinition{{ID: "failing", Hook: "patient-view", Description: "d"}},
		fn: func(context.Context, *cdshooks.Request, cdshooks.Caller) (*cdshooks.Response, error) {
			return nil, errors.New("reading: " + long)
		},
	}
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{Services: []cdshooks.Service{svc}})
	if got, want := h.do("POST", "/cds-services/failing", validBody).Code, http.StatusInternalServerError; got != want {
		t.Fatalf("status %d, want %d", got, want)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "internal error") || !strings.Contains(logs, "reading: xxx") {
		t.Fatalf("no internal error logged with its text:\n%.300s", logs)
	}
	if strings.Contains(logs, strings.Repeat("x", 1000)) {
		t.Errorf("the log holds 1,000 characters of the error (log is %d bytes)", len(logs))
	}
	if !regexp.MustCompile(`…\(1000[0-9]{2} bytes\)`).MatchString(logs) {
		t.Errorf("the clipped error does not say its length:\n%.600s", logs)
	}
}
