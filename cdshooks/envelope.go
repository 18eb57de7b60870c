package cdshooks

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/cramp-cds/cramp-cds/internal/jsonscan"
)

// decodeRequest reads a service call's body into req in one pass over its
// bytes (internal/jsonscan): the envelope members are decoded, and each
// context and prefetch value is kept as the slice of data it occupies, so
// the FHIR reader scans those bytes once more at most, never a copy. data
// must stay unchanged while req is in use.
//
// Its error texts are those of an encoding/json decode followed by
// checkMembers, the path the feedback body takes, so a caller meets one set
// of messages: member names match exactly, and the members rules covers (the envelope, fhirAuthorization, context, prefetch)
// are refused when repeated or spelt as a case variant of a known one, all
// found in the same pass.
func decodeRequest(data []byte, req *Request, rules *memberRules) error {
	d := envelopeDecoder{r: jsonscan.New(data)}
	if len(bytes.TrimSpace(data)) == 0 {
		return Errorf(EINVALID, "request body is empty")
	}
	if d.r.Kind() != jsonscan.Object {
		d.r.Skip()
		if d.r.Err() == nil {
			return Errorf(EINVALID, "request body must be a JSON object")
		}
		return d.syntax()
	}
	d.r.BeginObject()
	seen := map[string]bool{}
	for d.r.More() {
		name := string(d.r.Name())
		d.check(rules, "", seen, name)
		switch name {
		case "hook":
			d.str(&req.Hook, name)
		case "hookInstance":
			d.str(&req.HookInstance, name)
		case "fhirServer":
			d.str(&req.FHIRServer, name)
		case "fhirAuthorization":
			d.authorization(req, rules.objects[name])
		case "context":
			req.Context = d.members(req.Context, name, rules.objects[name])
		case "prefetch":
			req.Prefetch = d.members(req.Prefetch, name, rules.objects[name])
		case "extension":
			req.Extension = d.members(req.Extension, name, rules.objects[name])
		default:
			d.r.Skip()
		}
	}
	if d.r.Err() != nil {
		return d.syntax()
	}
	if !d.r.End() {
		return Errorf(EINVALID, "request body has data after the JSON object")
	}
	if d.typeErr != "" {
		return Errorf(EINVALID, "%s has the wrong JSON type", d.typeErr)
	}
	return d.memberErr
}

// envelopeDecoder keeps the first error of each kind: a syntax error wins
// over a type error, which wins over a repeated or misspelt member.
type envelopeDecoder struct {
	r         *jsonscan.Reader
	typeErr   string
	memberErr error
}

func (d *envelopeDecoder) syntax() error {
	if e, ok := d.r.Err().(*jsonscan.SyntaxError); ok {
		return Errorf(EINVALID, "request body is not valid JSON (at byte %d)", e.Offset)
	}
	return Errorf(EINVALID, "request body is not valid JSON")
}

// check applies rules (nil: none) to one member name of the object at at.
func (d *envelopeDecoder) check(rules *memberRules, at string, seen map[string]bool, name string) {
	if rules == nil || d.memberErr != nil {
		return
	}
	if err := rules.check(at, seen, name); err != nil {
		d.memberErr = err
	}
}

func (d *envelopeDecoder) wrongType(at string) {
	if d.typeErr == "" {
		d.typeErr = at
	}
}

// str reads a string member; null leaves it empty.
func (d *envelopeDecoder) str(dst *string, at string) {
	if d.r.Null() {
		return
	}
	s, ok := d.r.String()
	if !ok {
		d.wrongType(at)
		return
	}
	*dst = s
}

// members reads an object of raw values (context, prefetch, extension)
// under rules (nil: none): null is no object.
func (d *envelopeDecoder) members(m map[string]json.RawMessage, at string, rules *memberRules) map[string]json.RawMessage {
	if d.r.Null() {
		return nil
	}
	if !d.r.BeginObject() {
		d.wrongType(at)
		return m
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	seen := map[string]bool{}
	for d.r.More() {
		name := string(d.r.Name())
		d.check(rules, at+".", seen, name)
		m[name] = d.r.Raw()
	}
	return m
}

func (d *envelopeDecoder) authorization(req *Request, rules *memberRules) {
	if d.r.Null() {
		req.FHIRAuthorization = nil
		return
	}
	if !d.r.BeginObject() {
		d.wrongType("fhirAuthorization")
		return
	}
	if req.FHIRAuthorization == nil {
		req.FHIRAuthorization = &FHIRAuthorization{}
	}
	a := req.FHIRAuthorization
	seen := map[string]bool{}
	for d.r.More() {
		name := string(d.r.Name())
		d.check(rules, "fhirAuthorization.", seen, name)
		at := "fhirAuthorization." + name
		switch name {
		case "access_token":
			d.str(&a.AccessToken, at)
		case "token_type":
			d.str(&a.TokenType, at)
		case "scope":
			d.str(&a.Scope, at)
		case "subject":
			d.str(&a.Subject, at)
		case "patient":
			d.str(&a.Patient, at)
		case "expires_in":
			if d.r.Null() {
				a.ExpiresIn = nil
				continue
			}
			text, ok := d.r.Number()
			n, err := strconv.ParseInt(string(text), 10, 64)
			if !ok || err != nil {
				d.wrongType(at)
				continue
			}
			a.ExpiresIn = &n
		default:
			d.r.Skip()
		}
	}
}
