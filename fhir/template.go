package fhir

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// userTokens maps the CDS Hooks 2.0 user-identity prefetch tokens to the
// resource type context.userId must have for the token to get a value.
var userTokens = map[string]string{
	"userPractitionerId":     "Practitioner",
	"userPractitionerRoleId": "PractitionerRole",
	"userPatientId":          "Patient",
	"userRelatedPersonId":    "RelatedPerson",
}

// ExpandTemplate substitutes the prefetch tokens of a CDS Hooks 2.0 prefetch
// template (a relative FHIR read or search URL) with values from the hook
// context: {{context.X}} takes context[X], and the user tokens
// ({{userPractitionerId}}, {{userPractitionerRoleId}}, {{userPatientId}},
// {{userRelatedPersonId}}) take the id of context["userId"] ("Type/id") when
// its type matches. Values are URL-escaped for where they stand (path or
// query), so a value can never change the URL's shape. An unknown token, a
// token without a value, or a template that is not a relative URL is an error.
func ExpandTemplate(template string, context map[string]string) (string, error) {
	return substitute(template, func(name string) (string, error) { return tokenValue(name, context) })
}

// ValidateTemplate reports whether a prefetch template is a relative URL
// whose tokens are all ones ExpandTemplate knows, so a service definition can
// be checked at start-up rather than on the first request.
func ValidateTemplate(template string) error {
	_, err := substitute(template, func(name string) (string, error) {
		if _, ok := userTokens[name]; ok {
			return "x", nil
		}
		return tokenValue(name, map[string]string{strings.TrimPrefix(name, "context."): "x"})
	})
	return err
}

// substitute replaces each {{token}} of a relative URL template with
// value(token), escaped for its place in the URL.
func substitute(template string, value func(name string) (string, error)) (string, error) {
	if err := checkRelative(template); err != nil {
		return "", err
	}
	var out strings.Builder
	rest := template
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			out.WriteString(rest)
			return out.String(), nil
		}
		closing := strings.Index(rest[open:], "}}")
		if closing < 0 {
			return "", errors.New("prefetch template has an unclosed {{")
		}
		out.WriteString(rest[:open])
		name := strings.TrimSpace(rest[open+2 : open+closing])
		v, err := value(name)
		if err != nil {
			return "", err
		}
		if strings.Contains(out.String(), "?") {
			out.WriteString(url.QueryEscape(v))
		} else {
			if v == "." || v == ".." {
				return "", fmt.Errorf("prefetch token %s has a value that is not an id", name)
			}
			out.WriteString(url.PathEscape(v))
		}
		rest = rest[open+closing+2:]
	}
}

func tokenValue(name string, context map[string]string) (string, error) {
	if field, ok := strings.CutPrefix(name, "context."); ok {
		if field == "" || strings.ContainsAny(field, ".[]() ") {
			return "", fmt.Errorf("prefetch token %s is not a first-level context field", name)
		}
		v := context[field]
		if v == "" {
			return "", fmt.Errorf("prefetch token %s has no value in the request context", name)
		}
		return v, nil
	}
	wantType, ok := userTokens[name]
	if !ok {
		return "", fmt.Errorf("unknown prefetch token {{%s}}", name)
	}
	typ, id, _ := strings.Cut(context["userId"], "/")
	if typ != wantType || id == "" {
		return "", fmt.Errorf("prefetch token %s has no value: the user is not a %s", name, wantType)
	}
	return id, nil
}

// checkRelative refuses templates that would leave the FHIR server: absolute
// or scheme-relative URLs and paths starting with "/".
func checkRelative(template string) error {
	u, err := url.Parse(strings.NewReplacer("{{", "", "}}", "").Replace(template))
	if err != nil || template == "" || u.IsAbs() || u.Host != "" || strings.HasPrefix(template, "/") {
		return errors.New("prefetch template is not a relative FHIR URL")
	}
	return nil
}

// TemplateTypes returns the resource types the prefetch templates read, each
// once and sorted: the first path segment of each template ("Observation" of
// "Observation?patient={{context.patientId}}"). What a service prefetches is
// what its rules read, so a reader of a whole population (fhir/bulk) takes
// these types and no list of its own that could drift from them.
func TemplateTypes(templates map[string]string) []string {
	var types []string
	for _, t := range templates {
		typ := t
		if i := strings.IndexAny(typ, "/?"); i >= 0 {
			typ = typ[:i]
		}
		if typ != "" && !slices.Contains(types, typ) {
			types = append(types, typ)
		}
	}
	slices.Sort(types)
	return types
}
