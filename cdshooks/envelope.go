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
// It answers as the encoding/json decode it replaced did (the error texts
// below), with two differences that CDS Hooks asks for: member names match
// exactly (a member spelt like one of ours in another letter case is a
// 400, not silently the same member), and a member named twice at the top
// level, in context or in prefetch is a 400 naming it, found in the same pass.
func decodeRequest(data []byte, req *Request) error {
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
		d.dup(seen, "", name)
		switch name {
		case "hook":
			d.str(&req.Hook, name)
		case "hookInstance":
			d.str(&req.HookInstance, name)
		case "fhirServer":
			d.str(&req.FHIRServer, name)
		case "fhirAuthorization":
			d.authorization(req)
		case "context":
			req.Context = d.members(req.Context, name, true)
		case "prefetch":
			req.Prefetch = d.members(req.Prefetch, name, true)
		case "extension":
			req.Extension = d.members(req.Extension, name, false)
		default:
			d.other(name, requestMembers)
		}
	}
	if d.r.Err() != nil {
		return d.syntax()
	}
	if !d.r.End() {
		return Errorf(EINVALID, "request body has data after the JSON object")
	}
	switch {
	case d.typeErr != "":
		return Errorf(EINVALID, "%s has the wrong JSON type", d.typeErr)
	case d.caseErr != "":
		return Errorf(EINVALID, "%s", d.caseErr)
	case d.dupErr != "":
		return Errorf(EINVALID, "%s", d.dupErr)
	}
	return nil
}

// The member names of the request envelope and of fhirAuthorization.
var (
	requestMembers       = []string{"hook", "hookInstance", "fhirServer", "fhirAuthorization", "context", "prefetch", "extension"}
	authorizationMembers = []string{"access_token", "token_type", "expires_in", "scope", "subject", "patient"}
)

// envelopeDecoder keeps the first error of each kind: a syntax error wins
// over a type error, which wins over a misspelt or repeated member.
type envelopeDecoder struct {
	r                        *jsonscan.Reader
	typeErr, caseErr, dupErr string
}

func (d *envelopeDecoder) syntax() error {
	if e, ok := d.r.Err().(*jsonscan.SyntaxError); ok {
		return Errorf(EINVALID, "request body is not valid JSON (at byte %d)", e.Offset)
	}
	return Errorf(EINVALID, "request body is not valid JSON")
}

func (d *envelopeDecoder) dup(seen map[string]bool, at, name string) {
	if seen[name] && d.dupErr == "" {
		d.dupErr = at + strconv.Quote(name) + " appears more than once"
	}
	seen[name] = true
}

func (d *envelopeDecoder) wrongType(at string) {
	if d.typeErr == "" {
		d.typeErr = at
	}
}

// other skips a member the envelope does not read; one spelt like a known
// member in another letter case is an error (CDS Hooks names are
// case-sensitive). The message names the member we know, never the
// caller's spelling.
func (d *envelopeDecoder) other(name string, known []string) {
	for _, k := range known {
		if bytes.EqualFold([]byte(name), []byte(k)) && d.caseErr == "" {
			d.caseErr = "a member is spelt like " + strconv.Quote(k) + " in another letter case: member names are case-sensitive"
		}
	}
	d.r.Skip()
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

// members reads an object of raw values (context, prefetch, extension):
// null is no object, and with checkDup a name given twice is an error.
func (d *envelopeDecoder) members(m map[string]json.RawMessage, at string, checkDup bool) map[string]json.RawMessage {
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
		if checkDup {
			d.dup(seen, at+".", name)
		}
		m[name] = d.r.Raw()
	}
	return m
}

func (d *envelopeDecoder) authorization(req *Request) {
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
	for d.r.More() {
		name := string(d.r.Name())
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
			d.other(name, authorizationMembers)
		}
	}
}
