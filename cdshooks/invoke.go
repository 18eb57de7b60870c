package cdshooks

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/gin-gonic/gin"
)

// documentHandler serves one of Deps.Documents. Browsers may cache it for a
// few minutes: documents change only with a new release.
func documentHandler(body []byte) gin.HandlerFunc { return servedAs("application/json", body) }

func fhirDocumentHandler(body []byte) gin.HandlerFunc { return servedAs("application/fhir+json", body) }

// servedAs serves a fixed body with a content type, cacheable for five minutes.
func servedAs(contentType string, body []byte) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		c.Data(http.StatusOK, contentType, body)
	}
}

// Invoke runs one service call, with body as the request body, through
// exactly the pipeline of POST /cds-services/{serviceID} (decoding,
// validation, hook check, evaluation, response validation, rendering) without
// a network, and returns the status and the body the server would send.
// `cramp-cds evaluate` uses it, so its output is the server's by
// construction. Authentication applies as configured: build the server
// without an Authenticator to invoke it locally.
func (s *Server) Invoke(ctx context.Context, serviceID string, body []byte) (status int, respBody []byte, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/cds-services/"+url.PathEscape(serviceID), bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("building the service call: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	// The recorder keeps the answer in memory; it is the standard
	// library's http.ResponseWriter for exactly that.
	w := httptest.NewRecorder()
	s.engine.ServeHTTP(w, req)
	return w.Code, w.Body.Bytes(), nil
}

// ServiceFor returns the discovery id of the one entry for hook (aliases are
// not considered). It fails when none is, or when several are (the caller
// must then name one).
func (s *Server) ServiceFor(hook string) (string, error) {
	var ids []string
	for _, d := range s.defs {
		if d.Hook == hook {
			ids = append(ids, d.ID)
		}
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("no service serves hook %q", hook)
	case 1:
		return ids[0], nil
	default:
		return "", fmt.Errorf("several services serve hook %q: name one", hook)
	}
}
