package cdshooks

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Validation messages name the offending field but never echo its value:
// values may be patient identifiers, and these messages go back to the caller
// and into logs.

// contextField describes one field of a hook's context.
type contextField struct {
	name     string
	required bool
	kind     fieldKind
	// refTypes are the resource types a reference field may point to.
	refTypes []string
}

type fieldKind int

const (
	kindID          fieldKind = iota // a FHIR id
	kindReference                    // "Type/id"
	kindStringArray                  // an array of strings
	kindBundle                       // a FHIR Bundle object
)

// hookContexts lists the context fields of the hooks we know, from the CDS
// Hooks library (patient-view, order-select, order-sign). Requests for other
// hooks get only the generic checks; the service rejects hooks it does not serve.
var hookContexts = map[string][]contextField{
	HookPatientView: {
		{name: "userId", required: true, kind: kindReference, refTypes: []string{"Practitioner", "PractitionerRole", "Patient", "RelatedPerson"}},
		{name: "patientId", required: true, kind: kindID},
		{name: "encounterId", kind: kindID},
	},
	HookOrderSelect: {
		{name: "userId", required: true, kind: kindReference, refTypes: []string{"Practitioner", "PractitionerRole"}},
		{name: "patientId", required: true, kind: kindID},
		{name: "encounterId", kind: kindID},
		{name: "selections", required: true, kind: kindStringArray},
		{name: "draftOrders", required: true, kind: kindBundle},
	},
	HookOrderSign: {
		{name: "userId", required: true, kind: kindReference, refTypes: []string{"Practitioner", "PractitionerRole"}},
		{name: "patientId", required: true, kind: kindID},
		{name: "encounterId", kind: kindID},
		{name: "draftOrders", required: true, kind: kindBundle},
	},
}

// maxHookInstance bounds hookInstance: the spec makes it a UUID (36
// characters), and it is echoed into card uuids and logs, so an unbounded
// value is only a way to make us carry megabytes around.
const maxHookInstance = 128

// Validate checks a decoded request against CDS Hooks 2.0: hook, hookInstance
// and context are required; the known hooks' context fields are present and
// well-formed (for the order hooks: every draftOrders entry holds a resource,
// and every order-select selection references one); fhirServer is an
// absolute http(s) URL and is present whenever fhirAuthorization is, whose
// fields are all present. It returns an invalid
// *Error listing every problem, or nil. isFHIRID is the FHIR id grammar
// (fhir.ValidID) context ids are held to: it also keeps them safe to
// substitute into prefetch query URLs. readDrafts reads the order hooks'
// draftOrders (fhir.EachDraftOrder); without it an order hook's request is an
// internal error.
func (r *Request) Validate(isFHIRID func(string) bool, readDrafts DraftOrdersReader) error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if r.Hook == "" {
		add("hook is required")
	}
	switch n := utf8.RuneCountInString(r.HookInstance); {
	case n == 0:
		add("hookInstance is required")
	case n > maxHookInstance:
		add("hookInstance is longer than %d characters", maxHookInstance)
	}
	if r.Context == nil {
		add("context is required")
	}
	orderHook := r.Hook == HookOrderSelect || r.Hook == HookOrderSign
	if orderHook && readDrafts == nil {
		return Errorf(EINTERNAL, "no FHIR reader for context.draftOrders")
	}
	for _, f := range hookContexts[r.Hook] {
		if err := f.check(r, isFHIRID, readDrafts); err != nil {
			add("%s", err)
		}
	}
	if orderHook {
		problems = append(problems, checkDraftOrders(r, isFHIRID, readDrafts)...)
	}
	if r.FHIRServer != "" {
		if u, err := url.Parse(r.FHIRServer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			add("fhirServer must be an absolute http or https URL")
		}
	}
	if a := r.FHIRAuthorization; a != nil {
		if r.FHIRServer == "" {
			add("fhirServer is required when fhirAuthorization is present")
		}
		if a.AccessToken == "" {
			add("fhirAuthorization.access_token is required")
		}
		if !strings.EqualFold(a.TokenType, "Bearer") {
			add("fhirAuthorization.token_type must be Bearer")
		}
		if a.ExpiresIn == nil || *a.ExpiresIn < 0 {
			add("fhirAuthorization.expires_in is required (seconds, not negative)")
		}
		if a.Scope == "" {
			add("fhirAuthorization.scope is required")
		}
		if a.Subject == "" {
			add("fhirAuthorization.subject is required")
		}
	}
	if len(problems) > 0 {
		return Errorf(EINVALID, "%s", strings.Join(problems, "; "))
	}
	return nil
}

// check validates one context field of r.
func (f contextField) check(r *Request, isFHIRID func(string) bool, readDrafts DraftOrdersReader) error {
	raw, ok := r.Context[f.name]
	if !ok || IsNull(raw) {
		if f.required {
			return fmt.Errorf("context.%s is required for %s", f.name, r.Hook)
		}
		return nil
	}
	switch f.kind {
	case kindID:
		v, _, err := r.ContextString(f.name)
		if err != nil {
			return err
		}
		if !isFHIRID(v) {
			return fmt.Errorf("context.%s must be a FHIR id (letters, digits, '-' and '.', at most 64)", f.name)
		}
	case kindReference:
		v, _, err := r.ContextString(f.name)
		if err != nil {
			return err
		}
		typ, id, _ := strings.Cut(v, "/")
		if !slices.Contains(f.refTypes, typ) || !isFHIRID(id) {
			return fmt.Errorf("context.%s must be a reference like %s/123 (one of %s)", f.name, f.refTypes[0], strings.Join(f.refTypes, ", "))
		}
	case kindStringArray:
		if _, _, err := r.ContextStrings(f.name); err != nil {
			return err
		}
	case kindBundle:
		// Only draftOrders is a Bundle of the hooks we know.
		if !r.readDraftOrders(readDrafts).isBundle {
			return fmt.Errorf("context.%s must be a FHIR Bundle", f.name)
		}
	}
	return nil
}

// isUUID reports whether s is a UUID in its canonical form
// (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), the only form card uuids take.
func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// MaxFeedbackItems is the most feedback items one request may hold: an EHR
// sends one per card the user acted on, and a panel shows a handful.
const MaxFeedbackItems = 100

// MaxAcceptedSuggestions is the most suggestions one feedback item may
// accept: a card carries a handful (issue 27: one item once carried ~100,000
// made-up ids, each meant to be a snooze).
const MaxAcceptedSuggestions = 20

// maxFeedbackCode bounds an override reason's code and a suggestion id; an
// override reason's system is a URL, bounded by maxFeedbackSystem. Products'
// own are far shorter.
const (
	maxFeedbackCode   = 64
	maxFeedbackSystem = 256
)

// textProblem says what is wrong with a caller string that may be stored:
// too long, or holding NUL or a character that was not valid UTF-8 (the JSON
// decoder turns those into U+FFFD); "" when nothing is.
func textProblem(s string, max int) string {
	switch {
	case len(s) > max:
		return fmt.Sprintf("is longer than %d bytes", max)
	case strings.ContainsRune(s, 0):
		return "holds a NUL character"
	case strings.ContainsRune(s, utf8.RuneError):
		return "is not valid UTF-8 text"
	}
	return ""
}

// Validate checks a feedback body: the feedback array (at most
// MaxFeedbackItems items), and for each
// item a card uuid (canonical form), an outcome of accepted or overridden, accepted suggestions
// (each with an id) when accepted, an override reason with a code or a
// comment when given, and an RFC 3339 outcomeTimestamp. It returns an invalid
// *Error listing every problem, or nil.
func (f *FeedbackRequest) Validate() error {
	if f.Feedback == nil {
		return Errorf(EINVALID, "feedback is required (an array)")
	}
	if len(f.Feedback) > MaxFeedbackItems {
		return Errorf(EINVALID, "feedback holds %d items; at most %d items are accepted in one request", len(f.Feedback), MaxFeedbackItems)
	}
	var problems []string
	for i, item := range f.Feedback {
		add := func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf("feedback[%d].", i)+fmt.Sprintf(format, args...))
		}
		switch {
		case item.Card == "":
			add("card is required")
		case !isUUID(item.Card):
			add("card must be the uuid of a card we sent (8-4-4-4-12 hexadecimal digits)")
		}
		switch item.Outcome {
		case OutcomeAccepted:
			if len(item.AcceptedSuggestions) == 0 {
				add("acceptedSuggestions is required when outcome is accepted")
			}
		case OutcomeOverridden:
		default:
			add("outcome must be accepted or overridden")
		}
		if len(item.AcceptedSuggestions) > MaxAcceptedSuggestions {
			add("acceptedSuggestions holds %d suggestions; at most %d are accepted in one item", len(item.AcceptedSuggestions), MaxAcceptedSuggestions)
		}
		for j, s := range item.AcceptedSuggestions[:min(len(item.AcceptedSuggestions), MaxAcceptedSuggestions)] {
			if s.ID == "" {
				add("acceptedSuggestions[%d].id is required", j)
			} else if p := textProblem(s.ID, maxFeedbackCode); p != "" {
				add("acceptedSuggestions[%d].id %s", j, p)
			}
		}
		// The sandbox sends reason.code and sometimes reason.system, never
		// display: be lenient beyond what identifies the reason.
		if o := item.OverrideReason; o != nil {
			if (o.Reason == nil || o.Reason.Code == "") && o.UserComment == "" {
				add("overrideReason needs reason.code or userComment")
			}
			if o.Reason != nil {
				if p := textProblem(o.Reason.Code, maxFeedbackCode); p != "" {
					add("overrideReason.reason.code %s", p)
				}
				if p := textProblem(o.Reason.System, maxFeedbackSystem); p != "" {
					add("overrideReason.reason.system %s", p)
				}
			}
		}
		if _, err := time.Parse(time.RFC3339, item.OutcomeTimestamp); err != nil {
			add("outcomeTimestamp must be an RFC 3339 date-time")
		}
	}
	if len(problems) > 0 {
		return Errorf(EINVALID, "%s", strings.Join(problems, "; "))
	}
	return nil
}

// Validate checks a response against the CDS Hooks 2.0 card rules a client
// may enforce: each card has a summary of at most MaxSummary characters, a known
// indicator and a source label; selectionBehavior is known and present
// whenever there are suggestions, with at most one recommended suggestion for
// at-most-one; override reasons have a code, system and display; links have a
// label, URL and known type, and appContext only on SMART links; actions have a
// known type and a description. The server refuses to send a response that
// fails (it answers 500 and logs why), so services can rely on it in tests.
func (r *Response) Validate() error {
	var errs []error
	for i, c := range r.Cards {
		errs = append(errs, c.validate(fmt.Sprintf("cards[%d]", i)))
	}
	for i, a := range r.SystemActions {
		errs = append(errs, a.validate(fmt.Sprintf("systemActions[%d]", i)))
	}
	return errors.Join(errs...)
}

func (c *Card) validate(at string) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s", at, fmt.Sprintf(format, args...)))
	}
	if !FitsSummary(c.Summary) {
		bad("summary must have 1 to %d characters, has %d", MaxSummary, utf8.RuneCountInString(c.Summary))
	}
	switch c.Indicator {
	case IndicatorInfo, IndicatorWarning, IndicatorCritical:
	default:
		bad("indicator %q is not info, warning or critical", c.Indicator)
	}
	if c.Source.Label == "" {
		bad("source.label is required")
	}
	if t := c.Source.Topic; t != nil && (t.Code == "" || t.System == "") {
		bad("source.topic needs system and code")
	}
	switch c.SelectionBehavior {
	case "":
		if len(c.Suggestions) > 0 {
			bad("selectionBehavior is required with suggestions")
		}
	case SelectAny, SelectAtMostOne:
	default:
		bad("selectionBehavior %q is not at-most-one or any", c.SelectionBehavior)
	}
	recommended := 0
	for j, s := range c.Suggestions {
		if s.Label == "" {
			bad("suggestions[%d].label is required", j)
		}
		if s.IsRecommended {
			recommended++
		}
		for k, a := range s.Actions {
			errs = append(errs, a.validate(fmt.Sprintf("%s.suggestions[%d].actions[%d]", at, j, k)))
		}
	}
	if c.SelectionBehavior == SelectAtMostOne && recommended > 1 {
		bad("at most one suggestion may be recommended with at-most-one")
	}
	for j, o := range c.OverrideReasons {
		if o.Code == "" || o.System == "" || o.Display == "" {
			bad("overrideReasons[%d] needs system, code and display", j)
		}
	}
	for j, l := range c.Links {
		if l.Label == "" || l.URL == "" {
			bad("links[%d] needs label and url", j)
		}
		switch l.Type {
		case LinkAbsolute:
			if l.AppContext != "" {
				bad("links[%d].appContext is only allowed on smart links", j)
			}
		case LinkSMART:
		default:
			bad("links[%d].type %q is not absolute or smart", j, l.Type)
		}
	}
	return errors.Join(errs...)
}

func (a *Action) validate(at string) error {
	var errs []error
	switch a.Type {
	case ActionCreate, ActionUpdate:
		if len(a.Resource) == 0 {
			errs = append(errs, fmt.Errorf("%s.resource is required for %s", at, a.Type))
		}
	case ActionDelete:
		if a.ResourceID == "" {
			errs = append(errs, fmt.Errorf("%s.resourceId is required for delete", at))
		}
	default:
		errs = append(errs, fmt.Errorf("%s.type %q is not create, update or delete", at, a.Type))
	}
	if a.Description == "" {
		errs = append(errs, fmt.Errorf("%s.description is required", at))
	}
	return errors.Join(errs...)
}
