package cdshooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
)

// This file holds the CDS Hooks 2.0 wire types. The rule the spec sets for all
// of them: an optional field with no value is omitted, never sent as null or
// empty, so every optional field carries omitempty, and the two arrays the spec
// requires (discovery's services, a response's cards) marshal as [] when empty.

// Discovery is the body of GET /cds-services. Services marshals as [] when empty.
type Discovery struct {
	Services []ServiceDefinition `json:"services"`
}

// MarshalJSON guarantees "services" is an array, never null.
func (d Discovery) MarshalJSON() ([]byte, error) {
	type plain Discovery
	if d.Services == nil {
		d.Services = []ServiceDefinition{}
	}
	return Marshal(plain(d))
}

// ServiceDefinition is one discovery entry: one service id serving one hook.
// A service that serves several hooks under one id has one entry per hook.
type ServiceDefinition struct {
	Hook              string            `json:"hook"`
	Title             string            `json:"title,omitempty"`
	Description       string            `json:"description"`
	ID                string            `json:"id"`
	Prefetch          map[string]string `json:"prefetch,omitempty"`
	UsageRequirements string            `json:"usageRequirements,omitempty"`
	Extension         Extension         `json:"extension,omitempty"`
}

// Extension is the spec's reserved "extension" object: keys we do not
// understand are kept as raw JSON and otherwise ignored.
type Extension map[string]json.RawMessage

// Request is the body of POST /cds-services/{id}.
//
// Context and Prefetch keep their values as raw JSON: context fields differ by
// hook (strings for patient-view, a Bundle and an array for the order hooks),
// and a prefetch key that is absent must stay distinguishable from one whose
// value is null: a key absent from Prefetch was not (or could not be) filled,
// so the service should fetch it; a key whose value IsNull was looked up and
// found empty, so it must not be fetched again. See also the Context accessors.
type Request struct {
	Hook              string                     `json:"hook"`
	HookInstance      string                     `json:"hookInstance"`
	FHIRServer        string                     `json:"fhirServer,omitempty"`
	FHIRAuthorization *FHIRAuthorization         `json:"fhirAuthorization,omitempty"`
	Context           map[string]json.RawMessage `json:"context"`
	Prefetch          map[string]json.RawMessage `json:"prefetch,omitempty"`
	Extension         Extension                  `json:"extension,omitempty"`

	// drafts is context.draftOrders once read (see DraftOrders).
	drafts draftOrders
}

// IsNull reports whether a raw JSON value is the literal null.
func IsNull(value json.RawMessage) bool {
	return string(value) == "null"
}

// ContextString returns a string-valued context field. ok is false when the
// field is absent; err is set when it is present but not a JSON string.
func (r *Request) ContextString(name string) (value string, ok bool, err error) {
	raw, ok := r.Context[name]
	if !ok {
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &value); err != nil || IsNull(raw) {
		return "", true, fmt.Errorf("context.%s must be a string", name)
	}
	return value, true, nil
}

// ContextStrings returns an array-of-strings context field (order-select's
// selections). ok is false when the field is absent; err is set when it is
// present but not an array of strings.
func (r *Request) ContextStrings(name string) (values []string, ok bool, err error) {
	raw, ok := r.Context[name]
	if !ok {
		return nil, false, nil
	}
	if err := json.Unmarshal(raw, &values); err != nil || IsNull(raw) {
		return nil, true, fmt.Errorf("context.%s must be an array of strings", name)
	}
	return values, true, nil
}

// ContextRaw returns a context field as raw JSON (order hooks' draftOrders
// Bundle). ok is false when the field is absent.
func (r *Request) ContextRaw(name string) (value json.RawMessage, ok bool) {
	value, ok = r.Context[name]
	return value, ok
}

// PatientID returns context.patientId, or "" when it is absent or not a string
// (a validated request always has it for the hooks this package knows).
func (r *Request) PatientID() string {
	v, _, _ := r.ContextString("patientId")
	return v
}

// FHIRAuthorization is the OAuth 2.0 bearer token a client hands over so the
// service can read its FHIR server. The token is transient and secret: the
// String and LogValue methods never show it, and nothing may store or log it.
type FHIRAuthorization struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	// ExpiresIn is a pointer so that an absent value (invalid) differs from 0.
	ExpiresIn *int64 `json:"expires_in,omitempty"`
	Scope     string `json:"scope"`
	Subject   string `json:"subject"`
	Patient   string `json:"patient,omitempty"`
}

// String describes the authorization without its access token, its other
// strings cut short by LogString.
func (a FHIRAuthorization) String() string {
	return fmt.Sprintf("FHIRAuthorization{token_type:%q scope:%q subject:%q access_token:[redacted]}",
		LogString(a.TokenType), LogString(a.Scope), LogString(a.Subject))
}

// LogValue makes slog print the authorization without its access token, and
// its other (caller's) strings cut short by LogString.
func (a FHIRAuthorization) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("token_type", LogString(a.TokenType)),
		slog.String("scope", LogString(a.Scope)),
		slog.String("subject", LogString(a.Subject)),
	)
}

// Response is the body of a 200 answer to a service call. Cards marshals as []
// when there is nothing to say; it is never null.
type Response struct {
	Cards         []Card         `json:"cards"`
	SystemActions []SystemAction `json:"systemActions,omitempty"`
}

// MarshalJSON guarantees "cards" is an array, never null.
func (r Response) MarshalJSON() ([]byte, error) { return Marshal(r.wire()) }

// plainResponse is a Response without its MarshalJSON.
type plainResponse Response

// wire is the Response as it is marshalled: cards [] when there are none.
func (r Response) wire() plainResponse {
	if r.Cards == nil {
		r.Cards = []Card{}
	}
	return plainResponse(r)
}

// Marshal is json.Marshal without HTML escaping, as the server writes every
// body: cards carry markdown and query URLs, where "&" and "<" should reach
// the client as written. Services use it for the FHIR resources they build.
func Marshal(v any) ([]byte, error) {
	// A response is marshalled in its plain form: through MarshalJSON,
	// encoding/json would scan and compact the whole body once more.
	switch r := v.(type) {
	case Response:
		v = r.wire()
	case *Response:
		if r != nil {
			v = r.wire()
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Indicator is a card's urgency.
type Indicator string

// The only indicators CDS Hooks 2.0 allows, in ascending urgency.
const (
	IndicatorInfo     Indicator = "info"
	IndicatorWarning  Indicator = "warning"
	IndicatorCritical Indicator = "critical"
)

// Urgency ranks an indicator as the spec orders them: 2 for critical, 1 for
// warning, 0 for info (and for anything else).
func (i Indicator) Urgency() int {
	switch i {
	case IndicatorCritical:
		return 2
	case IndicatorWarning:
		return 1
	}
	return 0
}

// SelectionBehavior says how many of a card's suggestions the user may pick.
type SelectionBehavior string

// The selection behaviours CDS Hooks 2.0 allows.
const (
	SelectAtMostOne SelectionBehavior = "at-most-one"
	SelectAny       SelectionBehavior = "any"
)

// Card is one piece of guidance shown to the clinician.
type Card struct {
	// UUID identifies the card in feedback; without it the client sends none.
	UUID    string `json:"uuid,omitempty"`
	Summary string `json:"summary"`
	// Detail is GitHub-flavoured markdown.
	Detail    string    `json:"detail,omitempty"`
	Indicator Indicator `json:"indicator"`
	Source    Source    `json:"source"`
	// SelectionBehavior is required whenever Suggestions is not empty.
	Suggestions       []Suggestion      `json:"suggestions,omitempty"`
	SelectionBehavior SelectionBehavior `json:"selectionBehavior,omitempty"`
	// OverrideReasons are offered when the user dismisses the card; each needs a Display.
	OverrideReasons []Coding  `json:"overrideReasons,omitempty"`
	Links           []Link    `json:"links,omitempty"`
	Extension       Extension `json:"extension,omitempty"`
}

// Source names where a card's guidance comes from.
type Source struct {
	Label string `json:"label"`
	URL   string `json:"url,omitempty"`
	Icon  string `json:"icon,omitempty"`
	// Topic says what kind of card this is; the service defines the codes.
	Topic *Coding `json:"topic,omitempty"`
}

// Coding is the CDS Hooks 2.0 Coding datatype: a code from a code system.
// fhir.Coding holds the same three fields for the record; they stay two types
// because the protocol imports nothing of ours and fhir never imports the
// protocol, and no code converts one into the other.
type Coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// Suggestion is a set of actions the user can accept with one click.
type Suggestion struct {
	Label         string    `json:"label"`
	UUID          string    `json:"uuid,omitempty"`
	IsRecommended bool      `json:"isRecommended,omitempty"`
	Actions       []Action  `json:"actions,omitempty"`
	Extension     Extension `json:"extension,omitempty"`
}

// ActionType is what an Action does to a resource.
type ActionType string

// The action types CDS Hooks 2.0 allows.
const (
	ActionCreate ActionType = "create"
	ActionUpdate ActionType = "update"
	ActionDelete ActionType = "delete"
)

// Action is one change a suggestion (or a system action) proposes.
type Action struct {
	Type        ActionType `json:"type"`
	Description string     `json:"description"`
	// Resource is the whole FHIR resource to create or update, as JSON the
	// service built itself. golang-fhir-models structs would emit every
	// variant of a required choice type, empty ones included (invalid FHIR:
	// https://github.com/samply/golang-fhir-models/issues/19).
	Resource json.RawMessage `json:"resource,omitempty"`
	// ResourceID is the relative reference to delete, e.g. "ServiceRequest/1".
	ResourceID string    `json:"resourceId,omitempty"`
	Extension  Extension `json:"extension,omitempty"`
}

// SystemAction is an action the service proposes to apply without user
// interaction; the spec gives it exactly the shape of Action.
type SystemAction = Action

// LinkType says how the client opens a link.
type LinkType string

// The link types CDS Hooks 2.0 allows.
const (
	LinkAbsolute LinkType = "absolute"
	LinkSMART    LinkType = "smart"
)

// Link is a URL the user can open from a card.
type Link struct {
	Label string   `json:"label"`
	URL   string   `json:"url"`
	Type  LinkType `json:"type"`
	// AppContext is only allowed on SMART links.
	AppContext     string    `json:"appContext,omitempty"`
	Autolaunchable bool      `json:"autolaunchable,omitempty"`
	Extension      Extension `json:"extension,omitempty"`
}

// FeedbackRequest is the body of POST /cds-services/{id}/feedback.
type FeedbackRequest struct {
	Feedback []Feedback `json:"feedback"`
}

// Outcome is what the user did with a card.
type Outcome string

// The outcomes CDS Hooks 2.0 allows.
const (
	OutcomeAccepted   Outcome = "accepted"
	OutcomeOverridden Outcome = "overridden"
)

// Feedback reports what the user did with one card.
type Feedback struct {
	Card    string  `json:"card"`
	Outcome Outcome `json:"outcome"`
	// AcceptedSuggestions is required when Outcome is accepted.
	AcceptedSuggestions []AcceptedSuggestion `json:"acceptedSuggestions,omitempty"`
	OverrideReason      *OverrideReason      `json:"overrideReason,omitempty"`
	// OutcomeTimestamp is an RFC 3339 date-time.
	OutcomeTimestamp string    `json:"outcomeTimestamp"`
	Extension        Extension `json:"extension,omitempty"`
}

// AcceptedSuggestion names one suggestion the user accepted, by its uuid.
type AcceptedSuggestion struct {
	ID string `json:"id"`
}

// OverrideReason is why the user dismissed a card. UserComment is free text
// the clinician typed: it may hold patient data and is never logged.
type OverrideReason struct {
	Reason      *Coding `json:"reason,omitempty"`
	UserComment string  `json:"userComment,omitempty"`
}

// EncodeResponse validates a response and marshals it exactly as the server
// writes a 200 body.
func EncodeResponse(r *Response) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("invalid response: %w", err)
	}
	return Marshal(r)
}
