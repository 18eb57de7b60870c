package cdshooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

// The service pipeline: one POST /cds-services/{id}, top to bottom. Before
// handleService runs, the route's middleware has authenticated the caller
// (authn.go) and admitted the call (limit.go).
//
//	handle    handleService: the steps below, in order; any error is answered
//	          by writeError and ends the call
//	lookup    the service registered under the path's id (404 if none)
//	decode    decodeCall: the body read (decodeJSON, envelope.go) and checked
//	          against CDS Hooks 2.0 (validate.go), and its hook one the id serves
//	evaluate  the service's own Evaluate, inside a span (telemetry.go)
//	encode    encodeResponse: the response checked against the card rules,
//	          its cards counted, and written (writeJSON)

// handleService answers POST /cds-services/{id}.
func (s *Server) handleService(c *gin.Context) {
	reg, ok := s.lookup(c)
	if !ok {
		return
	}
	req, err := s.decodeCall(c, reg)
	if err != nil {
		s.writeError(c, err)
		return
	}
	// A PendingAuthenticator's late check may still be running: the
	// evaluation overlaps it, and writeJSON awaits it, so a call refused late
	// is evaluated but never answered.
	resp, err := s.evaluate(c.Request.Context(), reg, req, callerOf(c))
	if err != nil {
		s.writeError(c, fmt.Errorf("service %s: %w", reg.id, err))
		return
	}
	s.encodeResponse(c, reg, resp)
}

// lookup finds the service named in the path, or answers 404.
func (s *Server) lookup(c *gin.Context) (registered, bool) {
	reg, ok := s.services[c.Param("id")]
	if !ok {
		s.writeError(c, Errorf(ENOTFOUND, "no CDS service with this id; the services are listed at GET /cds-services"))
	}
	return reg, ok
}

// decodeCall reads the request body and checks it: a valid CDS Hooks 2.0
// request for a hook the service registered under reg.id serves.
func (s *Server) decodeCall(c *gin.Context, reg registered) (*Request, error) {
	var req Request
	if err := s.decodeJSON(c, &req, s.requestRules); err != nil {
		return nil, err
	}
	if err := req.Validate(s.isFHIRID, s.readDrafts); err != nil {
		return nil, err
	}
	if !slices.Contains(reg.hooks, req.Hook) {
		return nil, Errorf(EINVALID, "service %s does not serve %s (it serves %s)", reg.id, hookName(req.Hook), strings.Join(reg.hooks, ", "))
	}
	return &req, nil
}

// decodeJSON reads the request body into v: the content type must be JSON
// (application/json or application/fhir+json, any parameters), the body at
// most MaxBody bytes and exactly one JSON object, whose members pass rules
// (see checkMembers).
func (s *Server) decodeJSON(c *gin.Context, v any, rules *memberRules) error {
	r := c.Request
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && mt != "application/fhir+json") {
		return Errorf(EUNSUPPORTEDMEDIA, "Content-Type must be application/json")
	}
	tooLarge := Errorf(ETOOLARGE, "request body is larger than %d bytes", s.cfg.MaxBody)
	if r.ContentLength > s.cfg.MaxBody {
		return tooLarge
	}
	// Read the body whole (it is bounded by MaxBody): the duplicate-name check
	// below needs a second look at the bytes.
	// Content-Length (already checked against MaxBody) sizes the buffer, so a
	// large prefetch is not copied again at each doubling.
	body := bytes.NewBuffer(make([]byte, 0, max(r.ContentLength, 0)+bytes.MinRead))
	_, err = body.ReadFrom(http.MaxBytesReader(c.Writer, r.Body, s.cfg.MaxBody))
	data := body.Bytes()
	if req, ok := v.(*Request); ok && err == nil {
		return decodeRequest(data, req, rules)
	}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(data))
		err = dec.Decode(v)
		if err == nil {
			// Exactly one value: anything after it is a malformed body.
			if _, err = dec.Token(); errors.Is(err, io.EOF) {
				return checkMembers(data, rules)
			}
			if err == nil {
				return Errorf(EINVALID, "request body has data after the JSON object")
			}
		}
	}
	var maxErr *http.MaxBytesError
	var ours *Error // the admission's (see chargedBody)
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &ours):
		return ours
	case errors.As(err, &maxErr):
		return tooLarge
	case errors.Is(err, io.EOF):
		return Errorf(EINVALID, "request body is empty")
	case errors.As(err, &syntaxErr):
		return Errorf(EINVALID, "request body is not valid JSON (at byte %d)", syntaxErr.Offset)
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return Errorf(EINVALID, "request body must be a JSON object")
	case errors.As(err, &typeErr):
		return Errorf(EINVALID, "%s has the wrong JSON type", typeErr.Field)
	default:
		// io.ErrUnexpectedEOF and the like: the JSON stops early.
		return Errorf(EINVALID, "request body is not valid JSON")
	}
}

// evaluate calls the service; the span around it is telemetry's
// (traceEvaluation), so the call itself reads the same with or without it.
func (s *Server) evaluate(ctx context.Context, reg registered, req *Request, caller Caller) (resp *Response, err error) {
	ctx, end := s.traceEvaluation(ctx, reg.id, req.Hook)
	defer func() { end(resp, err) }() // deferred: a panicking service still ends its span
	return reg.service.Evaluate(ctx, req, caller)
}

// encodeResponse refuses to send a response that breaks the card rules (the
// service's bug: a 500, logged), counts its cards and writes it.
func (s *Server) encodeResponse(c *gin.Context, reg registered, resp *Response) {
	if resp == nil {
		resp = &Response{}
	}
	if err := resp.Validate(); err != nil {
		s.writeError(c, fmt.Errorf("service %s produced an invalid response: %w", reg.id, err))
		return
	}
	s.metrics.CardsReturned(c.Request.Context(), reg.id, resp.Cards)
	s.writeJSON(c, http.StatusOK, resp)
}

// writeError answers with the status and OperationOutcome body for err (see
// outcome). Internal errors are logged with their detail; authentication
// failures with their reason only (never the token).
func (s *Server) writeError(c *gin.Context, err error) {
	code := ErrorCode(err)
	c.Set(errorCodeKey, code)
	ctx := c.Request.Context()
	var af *AuthFailure
	switch {
	case code == EINTERNAL:
		s.logger.ErrorContext(ctx, "internal error", "route", routeOf(c), "error", logError(err))
	case errors.As(err, &af):
		s.logger.WarnContext(ctx, "authentication failed", "route", routeOf(c), "reason", af.Reason)
	}
	status, body := outcome(err)
	switch status {
	case http.StatusUnauthorized:
		c.Header("WWW-Authenticate", `Bearer error="invalid_token"`)
	case http.StatusServiceUnavailable:
		c.Header("Retry-After", retryAfterSeconds)
	}
	s.writeJSON(c, status, body)
}

// internalBody is what a client gets when even rendering an answer failed.
const internalBody = `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"internal error"}]}`

// writeJSON marshals v before writing anything, so a marshal failure (or an
// answer over MaxResponse) becomes a clean 500 instead of half a body. Every
// answer, error or not, first waits for the caller to be confirmed (see
// PendingAuthenticator): a call refused late gets its 401 and nothing else.
func (s *Server) writeJSON(c *gin.Context, status int, v any) {
	if !s.confirmed(c) {
		return
	}
	body, err := Marshal(v)
	if err == nil && len(body) > s.cfg.MaxResponse {
		err = fmt.Errorf("the answer is %d bytes, over the %d-byte limit", len(body), s.cfg.MaxResponse)
	}
	if err != nil {
		s.logger.ErrorContext(c.Request.Context(), "rendering response", "route", routeOf(c), "error", logError(err))
		c.Set(errorCodeKey, EINTERNAL)
		status, body = http.StatusInternalServerError, []byte(internalBody)
	}
	// Cards carry patient data: no cache may keep them.
	c.Header("Cache-Control", "no-store")
	c.Data(status, "application/json", body)
}
