package cdshooks_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/fhir"
)

// TestMarshalOmitsEmptyOptionals checks the spec's "Use of JSON" rule: an
// optional field with no value is omitted, never null or empty; cards and
// services are always arrays. Expected JSON is written from the spec's field
// tables, in struct order.
func TestMarshalOmitsEmptyOptionals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"empty response", cdshooks.Response{}, `{"cards":[]}`},
		{"empty response pointer", &cdshooks.Response{}, `{"cards":[]}`},
		{"empty discovery", cdshooks.Discovery{}, `{"services":[]}`},
		{
			"minimal card",
			cdshooks.Response{Cards: []cdshooks.Card{{Summary: "Now seeing: Daniel", Indicator: cdshooks.IndicatorInfo, Source: cdshooks.Source{Label: "Patient greeting service"}}}},
			`{"cards":[{"summary":"Now seeing: Daniel","indicator":"info","source":{"label":"Patient greeting service"}}]}`,
		},
		{
			"minimal definition",
			cdshooks.ServiceDefinition{Hook: "patient-view", ID: "x", Description: "d"},
			`{"hook":"patient-view","description":"d","id":"x"}`,
		},
		{
			"suggestion and action with nothing optional",
			cdshooks.Suggestion{Label: "Cancel", Actions: []cdshooks.Action{{Type: cdshooks.ActionDelete, Description: "Remove", ResourceID: "ServiceRequest/1"}}},
			`{"label":"Cancel","actions":[{"type":"delete","description":"Remove","resourceId":"ServiceRequest/1"}]}`,
		},
		{
			"link",
			cdshooks.Link{Label: "Evidence", URL: "https://example.org", Type: cdshooks.LinkAbsolute},
			`{"label":"Evidence","url":"https://example.org","type":"absolute"}`,
		},
		{
			"coding without display",
			cdshooks.Coding{System: "https://cramp-cds.example/topic", Code: "cramp-medication"},
			`{"system":"https://cramp-cds.example/topic","code":"cramp-medication"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("json = %s\nwant   %s", got, tt.want)
			}
			// The server writes with Marshal, which takes a Response's
			// plain form rather than its MarshalJSON: the same bytes.
			if got, err := cdshooks.Marshal(tt.v); err != nil || string(got) != tt.want {
				t.Errorf("Marshal = %s, %v\nwant      %s", got, err, tt.want)
			}
		})
	}
}

// TestFullCardHasNoNull marshals a card with every field set and checks the
// spec's field names arrive with no null anywhere.
func TestFullCardHasNoNull(t *testing.T) {
	t.Parallel()
	resp := cdshooks.Response{
		Cards: []cdshooks.Card{{
			UUID: "4e0a3a1e-3283-4575-ab82-028d55fe2719", Summary: "s", Detail: "d", Indicator: cdshooks.IndicatorWarning,
			Source: cdshooks.Source{Label: "l", URL: "https://example.org", Icon: "https://example.org/i.png",
				Topic: &cdshooks.Coding{System: "https://example.org/topic", Code: "cramp-medication", Display: "Medication"}},
			Suggestions: []cdshooks.Suggestion{{Label: "Order", UUID: "u", IsRecommended: true, Actions: []cdshooks.Action{
				{Type: cdshooks.ActionCreate, Description: "Order potassium", Resource: json.RawMessage(`{"resourceType":"ServiceRequest"}`)},
			}}},
			SelectionBehavior: cdshooks.SelectAny,
			OverrideReasons:   []cdshooks.Coding{{System: "https://example.org/o", Code: "reviewed", Display: "Already reviewed"}},
			Links:             []cdshooks.Link{{Label: "App", URL: "https://example.org/app", Type: cdshooks.LinkSMART, AppContext: "x", Autolaunchable: true}},
		}},
		SystemActions: []cdshooks.SystemAction{{Type: cdshooks.ActionUpdate, Description: "u", Resource: json.RawMessage(`{"resourceType":"Patient"}`)}},
	}
	if err := resp.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	body, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	if p := findNull(t, body); p != "" {
		t.Errorf("null or empty at %s: %s", p, body)
	}
	for _, field := range []string{`"uuid"`, `"summary"`, `"detail"`, `"indicator"`, `"source"`, `"label"`, `"url"`, `"icon"`, `"topic"`,
		`"suggestions"`, `"isRecommended"`, `"actions"`, `"type"`, `"description"`, `"resource"`, `"selectionBehavior"`,
		`"overrideReasons"`, `"display"`, `"links"`, `"appContext"`, `"autolaunchable"`, `"systemActions"`} {
		if !strings.Contains(string(body), field) {
			t.Errorf("marshalled card lacks %s: %s", field, body)
		}
	}
}

func TestResponseValidate(t *testing.T) {
	t.Parallel()
	good := func() cdshooks.Card {
		return cdshooks.Card{Summary: "Hydrochlorothiazide can cause leg cramps", Indicator: cdshooks.IndicatorWarning, Source: cdshooks.Source{Label: "cramp-cds"}}
	}
	tests := []struct {
		name    string
		edit    func(c *cdshooks.Card)
		wantErr string // "" means valid
	}{
		{"good", func(*cdshooks.Card) {}, ""},
		{"summary of 139 characters", func(c *cdshooks.Card) { c.Summary = strings.Repeat("é", 139) }, ""},
		{"summary of 140 characters", func(c *cdshooks.Card) { c.Summary = strings.Repeat("a", 140) }, "summary"},
		{"empty summary", func(c *cdshooks.Card) { c.Summary = "" }, "summary"},
		{"success indicator", func(c *cdshooks.Card) { c.Indicator = "success" }, "indicator"},
		{"no source label", func(c *cdshooks.Card) { c.Source.Label = "" }, "source.label"},
		{"suggestions without selectionBehavior", func(c *cdshooks.Card) {
			c.Suggestions = []cdshooks.Suggestion{{Label: "x"}}
		}, "selectionBehavior is required"},
		{"unknown selectionBehavior", func(c *cdshooks.Card) {
			c.Suggestions = []cdshooks.Suggestion{{Label: "x"}}
			c.SelectionBehavior = "all"
		}, "selectionBehavior"},
		{"two recommended with at-most-one", func(c *cdshooks.Card) {
			c.Suggestions = []cdshooks.Suggestion{{Label: "x", IsRecommended: true}, {Label: "y", IsRecommended: true}}
			c.SelectionBehavior = cdshooks.SelectAtMostOne
		}, "at most one"},
		{"two recommended with any", func(c *cdshooks.Card) {
			c.Suggestions = []cdshooks.Suggestion{{Label: "x", IsRecommended: true}, {Label: "y", IsRecommended: true}}
			c.SelectionBehavior = cdshooks.SelectAny
		}, ""},
		{"override reason without display", func(c *cdshooks.Card) {
			c.OverrideReasons = []cdshooks.Coding{{System: "s", Code: "c"}}
		}, "overrideReasons[0]"},
		{"appContext on absolute link", func(c *cdshooks.Card) {
			c.Links = []cdshooks.Link{{Label: "l", URL: "https://x", Type: cdshooks.LinkAbsolute, AppContext: "a"}}
		}, "appContext"},
		{"unknown link type", func(c *cdshooks.Card) {
			c.Links = []cdshooks.Link{{Label: "l", URL: "https://x", Type: "web"}}
		}, "links[0].type"},
		{"create without resource", func(c *cdshooks.Card) {
			c.Suggestions = []cdshooks.Suggestion{{Label: "x", Actions: []cdshooks.Action{{Type: cdshooks.ActionCreate, Description: "d"}}}}
			c.SelectionBehavior = cdshooks.SelectAny
		}, "resource is required"},
		{"action without description", func(c *cdshooks.Card) {
			c.Suggestions = []cdshooks.Suggestion{{Label: "x", Actions: []cdshooks.Action{{Type: cdshooks.ActionDelete, ResourceID: "ServiceRequest/1"}}}}
			c.SelectionBehavior = cdshooks.SelectAny
		}, "description is required"},
		{"topic without system", func(c *cdshooks.Card) { c.Source.Topic = &cdshooks.Coding{Code: "cramp-medication"} }, "topic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := good()
			tt.edit(&c)
			err := (&cdshooks.Response{Cards: []cdshooks.Card{c}}).Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate: %v, want nil", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("Validate: nil, want an error about %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("Validate: %v, want an error about %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewServerRejectsInconsistentServices(t *testing.T) {
	t.Parallel()
	def := func(id, hook string) cdshooks.ServiceDefinition {
		return cdshooks.ServiceDefinition{ID: id, Hook: hook, Description: "d"}
	}
	tests := []struct {
		name     string
		services []cdshooks.Service
	}{
		{"no definitions", []cdshooks.Service{cdshooks.NoCards{}}},
		{"one id for two hooks", []cdshooks.Service{cdshooks.NoCards{Defs: []cdshooks.ServiceDefinition{def("a", "order-sign"), def("a", "order-select")}}}},
		{"hook twice", []cdshooks.Service{cdshooks.NoCards{Defs: []cdshooks.ServiceDefinition{def("a", "order-sign"), def("a", "order-sign")}}}},
		{"alias taking an entry's id", []cdshooks.Service{cdshooks.NoCards{Defs: []cdshooks.ServiceDefinition{def("a", "patient-view")}},
			aliased{cdshooks.NoCards{Defs: []cdshooks.ServiceDefinition{def("b", "order-sign")}}, []string{"a"}}}},
		{"duplicate id", []cdshooks.Service{cdshooks.NoCards{Defs: []cdshooks.ServiceDefinition{def("a", "patient-view")}}, cdshooks.NoCards{Defs: []cdshooks.ServiceDefinition{def("a", "order-sign")}}}},
		{"no description", []cdshooks.Service{cdshooks.NoCards{Defs: []cdshooks.ServiceDefinition{{ID: "a", Hook: "patient-view"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := cdshooks.NewServer(cdshooks.Config{}, cdshooks.Deps{Services: tt.services, IsFHIRID: fhir.ValidID}); err == nil {
				t.Errorf("NewServer succeeded, want an error")
			}
		})
	}
}

func TestErrorCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{cdshooks.Errorf(cdshooks.EINVALID, "x"), cdshooks.EINVALID},
		{cdshooks.MissingPrefetch("patient"), cdshooks.EPRECONDITIONFAILED},
		{&cdshooks.AuthFailure{Reason: "expired"}, cdshooks.EUNAUTHORIZED},
		{cdshooks.Errorf("made_up", "x"), cdshooks.EINTERNAL},
		{errors.ErrUnsupported, cdshooks.EINTERNAL},
	}
	for _, tt := range tests {
		if got := cdshooks.ErrorCode(tt.err); got != tt.want {
			t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestIndicatorUrgencyFollowsTheSpec(t *testing.T) {
	t.Parallel()
	if !(cdshooks.IndicatorCritical.Urgency() > cdshooks.IndicatorWarning.Urgency() &&
		cdshooks.IndicatorWarning.Urgency() > cdshooks.IndicatorInfo.Urgency() &&
		cdshooks.Indicator("success").Urgency() == cdshooks.IndicatorInfo.Urgency()) {
		t.Error("urgency is not critical > warning > info (= anything else)")
	}
}

// aliased is a test Service answering under extra ids too.
type aliased struct {
	cdshooks.NoCards
	ids []string
}

func (a aliased) Aliases() []string { return a.ids }

// Discovery lists each id once, each for one hook, and each id answers only
// its hook; an alias answers every hook of its service and is never listed.
// The CDS Hooks sandbox keys services by id: two entries sharing one left
// the first hook (order-select) with no service at all.
func TestEveryDiscoveryIDIsUniqueAndAnswersItsHook(t *testing.T) {
	t.Parallel()
	orders := aliased{cdshooks.NoCards{Defs: []cdshooks.ServiceDefinition{
		{ID: "orders-select", Hook: cdshooks.HookOrderSelect, Description: "d"},
		{ID: "orders-sign", Hook: cdshooks.HookOrderSign, Description: "d"},
	}}, []string{"orders"}}
	h := mustServer(t, cdshooks.Config{}, cdshooks.Deps{Services: []cdshooks.Service{orders}})
	var disc cdshooks.Discovery
	if err := json.Unmarshal(h.do(http.MethodGet, "/cds-services", "").Body.Bytes(), &disc); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range disc.Services {
		ids = append(ids, d.ID+" "+d.Hook)
	}
	if got, want := strings.Join(ids, ", "), "orders-select order-select, orders-sign order-sign"; got != want {
		t.Errorf("discovery lists %s, want %s", got, want)
	}
	const ctx = `"hookInstance":"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea","context":{"userId":"Practitioner/1","patientId":"p1",` +
		`"selections":[],"draftOrders":{"resourceType":"Bundle"}}}`
	for _, tt := range []struct {
		id, hook string
		want     int
	}{
		{"orders-select", "order-select", 200}, {"orders-select", "order-sign", 400},
		{"orders-sign", "order-sign", 200}, {"orders-sign", "order-select", 400},
		{"orders", "order-select", 200}, {"orders", "order-sign", 200},
	} {
		w := h.do(http.MethodPost, "/cds-services/"+tt.id, `{"hook":"`+tt.hook+`",`+ctx)
		if w.Code != tt.want {
			t.Errorf("%s on %s: status %d, want %d: %s", tt.hook, tt.id, w.Code, tt.want, w.Body)
		}
		if tt.want == 400 && !strings.Contains(w.Body.String(), "does not serve hook") {
			t.Errorf("%s on %s: %s, want the wrong-hook 400", tt.hook, tt.id, w.Body)
		}
	}
	if id, err := h.srv.ServiceFor(cdshooks.HookOrderSign); err != nil || id != "orders-sign" {
		t.Errorf("ServiceFor(order-sign) = %q, %v; want orders-sign", id, err)
	}
}
