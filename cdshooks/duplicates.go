package cdshooks

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
)

// memberRules says which objects of a body checkMembers looks into, and what
// it knows of their members. Every object it looks into is refused when it
// names a member twice, or names a case variant of a known member.
//
// Duplicates: encoding/json keeps the last value, and another parser in the
// path (a gateway, an audit log) may keep the first: the two would then
// disagree on, say, which patient the request is about. Case variants:
// CDS Hooks member names are case-sensitive, but encoding/json folds case, so
// "HOOK" beside "hook" would win and "Hook" alone would be read as "hook";
// a parser that matches exactly would see something else again.
type memberRules struct {
	// known lists the member names we read in this object.
	known []string
	// objects gives the rules for the members whose value is an object (or an
	// array of objects) that is checked too; other values are skipped.
	objects map[string]*memberRules
}

// requestMembers returns the rules for a service call body: the envelope,
// fhirAuthorization, context (the context fields of every hook we know) and
// prefetch (duplicates only: its keys are the service's own). The FHIR
// resources inside prefetch and context are not checked: their members are
// not names we act on, and walking them would cost on every large prefetch.
func requestMembers() *memberRules {
	var contextNames []string
	for _, fields := range hookContexts {
		for _, f := range fields {
			if !slices.Contains(contextNames, f.name) {
				contextNames = append(contextNames, f.name)
			}
		}
	}
	return &memberRules{known: jsonNames(Request{}), objects: map[string]*memberRules{
		"fhirAuthorization": {known: jsonNames(FHIRAuthorization{})},
		"context":           {known: contextNames},
		"prefetch":          {},
	}}
}

// feedbackMembers returns the rules for a feedback body, every level of it.
func feedbackMembers() *memberRules {
	return &memberRules{known: jsonNames(FeedbackRequest{}), objects: map[string]*memberRules{
		"feedback": {known: jsonNames(Feedback{}), objects: map[string]*memberRules{
			"acceptedSuggestions": {known: jsonNames(AcceptedSuggestion{})},
			"overrideReason": {known: jsonNames(OverrideReason{}), objects: map[string]*memberRules{
				"reason": {known: jsonNames(Coding{})},
			}},
		}},
	}}
}

// jsonNames lists the JSON member names of a struct's fields, as encoding/json
// names them from the json tags.
func jsonNames(v any) []string {
	t := reflect.TypeOf(v)
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
			continue
		case name == "":
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

// checkMembers applies rules to data, which must already be known to be one
// valid JSON object (the typed decode has accepted it), so the scanner only
// tracks structure; it is a byte loop rather than json.Decoder tokens because
// it runs over every request and a token walk cost a quarter of the whole
// evaluation on large prefetches. Messages name a member only when it is one
// we know: any other name is the caller's, and is never echoed.
func checkMembers(data []byte, rules *memberRules) error {
	s := memberScanner{data: data}
	s.space()
	return s.object("", rules)
}

// memberScanner walks valid JSON, collecting member names where asked.
type memberScanner struct {
	data []byte
	i    int
}

// object reads the object at s.i under rules, at (the path of the object,
// for messages, such as "context.").
func (s *memberScanner) object(at string, rules *memberRules) error {
	if !s.at('{') {
		return nil
	}
	s.i++
	seen := map[string]bool{}
	for {
		s.space()
		if !s.at('"') {
			s.i++ // '}' (or a malformed body the decoder would not have accepted)
			return nil
		}
		name := s.name()
		if err := rules.check(at, seen, name); err != nil {
			return err
		}
		s.space()
		s.i++ // ':'
		s.space()
		if inner := rules.objects[name]; inner != nil {
			if err := s.objects(at+name+".", inner); err != nil {
				return err
			}
		} else {
			s.skipValue()
		}
		s.space()
		if s.at(',') {
			s.i++
		}
	}
}

// check records one member name of an object under the rules (at is the
// object's path, seen the names met so far) and refuses a name met twice or
// a case variant of a known one.
func (rules *memberRules) check(at string, seen map[string]bool, name string) error {
	known := slices.Contains(rules.known, name)
	switch {
	case seen[name] && known:
		return Errorf(EINVALID, "%s%q appears more than once", at, name)
	case seen[name]:
		return Errorf(EINVALID, "%s: a member name appears more than once", where(at))
	case !known:
		if i := slices.IndexFunc(rules.known, func(k string) bool { return strings.EqualFold(k, name) }); i >= 0 {
			return Errorf(EINVALID, "%s: a case variant of %q is not allowed (CDS Hooks member names are case-sensitive)", where(at), rules.known[i])
		}
	}
	seen[name] = true
	return nil
}

// objects reads the value at s.i: an object, or an array of them, checked
// under rules; any other value is skipped.
func (s *memberScanner) objects(at string, rules *memberRules) error {
	switch {
	case s.at('{'):
		return s.object(at, rules)
	case !s.at('['):
		s.skipValue()
		return nil
	}
	s.i++
	for {
		s.space()
		switch {
		case s.i >= len(s.data):
			return nil
		case s.at(']'):
			s.i++
			return nil
		case s.at('{'):
			if err := s.object(at, rules); err != nil {
				return err
			}
		default:
			s.skipValue()
		}
		s.space()
		if s.at(',') {
			s.i++
		}
	}
}

// where names the object at a path for messages: "context", or "the
// request body" at the top.
func where(at string) string {
	if at == "" {
		return "the request body"
	}
	return strings.TrimSuffix(at, ".")
}

// name reads the string at s.i as a member name, unescaping it only when it
// holds an escape (so "\u0070atientId" is patientId too).
func (s *memberScanner) name() string {
	start := s.i
	s.skipString()
	raw := s.data[start:min(s.i, len(s.data))]
	if bytes.IndexByte(raw, '\\') < 0 && len(raw) >= 2 {
		return string(raw[1 : len(raw)-1])
	}
	var name string
	_ = json.Unmarshal(raw, &name)
	return name
}

// skipValue moves past the value at s.i.
func (s *memberScanner) skipValue() {
	if s.at('"') {
		s.skipString()
		return
	}
	depth := 0
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case '"':
			s.skipString()
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return // the end of the enclosing object: a scalar ended here
			}
			depth--
			if depth == 0 {
				s.i++
				return
			}
		case ',':
			if depth == 0 {
				return
			}
		}
		s.i++
	}
}

// skipString moves past the string whose opening quote is at s.i.
func (s *memberScanner) skipString() {
	for s.i++; s.i < len(s.data); s.i++ {
		switch s.data[s.i] {
		case '\\':
			s.i++
		case '"':
			s.i++
			return
		}
	}
}

func (s *memberScanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *memberScanner) at(c byte) bool { return s.i < len(s.data) && s.data[s.i] == c }
