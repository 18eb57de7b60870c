package fhir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxGetURL is the longest GET URL sent; longer searches go as POST _search,
// since servers and proxies commonly refuse URLs over 8 KB.
const maxGetURL = 8 << 10

// maxAttempts bounds the tries of one retryable GET.
const maxAttempts = 3

// fetchFailure is why a key could not be fetched. Its text is safe to log
// and to return to the EHR: it never holds a URL (URLs carry patient ids),
// a response body or the token.
type fetchFailure struct{ reason string }

func (f *fetchFailure) Error() string { return f.reason }

// errOutcome is parsePage's answer to a body that is an OperationOutcome.
var errOutcome = &fetchFailure{reason: "server answered with an OperationOutcome"}

func failf(format string, args ...any) error {
	return &fetchFailure{reason: fmt.Sprintf(format, args...)}
}

// fetcher reads from one FHIR server for one Gather call.
type fetcher struct {
	client   *http.Client // the caller's client, with redirects refused
	base     *url.URL     // fhirServer, without a trailing slash
	label    string       // the allow-list entry that allowed base
	token    string
	maxPages int
	maxBytes int64
	logger   *slog.Logger
}

// page is one fetched response body: a Bundle, or a single resource.
type page struct {
	bundle   *bundleDoc
	resource *resource
}

// parseServer checks a fhirServer base URL: absolute, https (or http when
// allowHTTP), with a host, and without credentials, query or fragment.
func parseServer(base string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	switch {
	case err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("fhirServer is not a usable base URL")
	case u.Scheme == "https", u.Scheme == "http" && allowHTTP:
		return u, nil
	case u.Scheme == "http":
		return nil, errors.New("fhirServer is not https, and plain http is not allowed")
	default:
		return nil, errors.New("fhirServer is not an http(s) URL")
	}
}

// sameServer reports whether u is on the fhirServer: same scheme, host and
// port, and a path under the base path. Only such URLs ever get the token.
func (f *fetcher) sameServer(u *url.URL) bool {
	return u.Scheme == f.base.Scheme &&
		strings.EqualFold(u.Hostname(), f.base.Hostname()) &&
		portOf(u) == portOf(f.base) &&
		(u.Path == f.base.Path || strings.HasPrefix(u.Path, f.base.Path+"/"))
}

// onServer returns the URL to request for target when it is on the
// fhirServer once its dot segments are resolved ("..", ".", and their
// percent-encoded forms, which servers decode before routing). A path with
// an encoded slash or backslash, or a backslash, is refused outright:
// servers disagree on whether they separate segments.
func (f *fetcher) onServer(target string) (*url.URL, bool) {
	u, err := url.Parse(target)
	if err != nil || u.User != nil {
		return nil, false
	}
	if raw := strings.ToLower(u.EscapedPath()); strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") || strings.Contains(u.Path, `\`) {
		return nil, false
	}
	resolved := *u
	resolved.Path, resolved.RawPath = removeDotSegments(u.Path), ""
	if !f.sameServer(&resolved) {
		return nil, false
	}
	return &resolved, true
}

// removeDotSegments resolves the "." and ".." segments of an absolute path
// as RFC 3986 section 5.2.4 does; ".." never climbs above the root.
func removeDotSegments(p string) string {
	segments := strings.Split(p, "/")
	out := make([]string, 0, len(segments))
	for i, s := range segments {
		last := i == len(segments)-1
		switch s {
		case ".", "..":
			if s == ".." && len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "") // "a/b/.." names the directory "a/"
			}
		default:
			out = append(out, s)
		}
	}
	return strings.Join(out, "/")
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// fetchRelative runs a relative read or search (an expanded template) and
// follows its next links.
func (f *fetcher) fetchRelative(ctx context.Context, key, rel string) ([]page, int, error) {
	full := f.base.String() + "/" + rel
	if len(full) <= maxGetURL {
		return f.fetchPages(ctx, key, full, nil)
	}
	// A search too long for GET goes as POST {base}/{Type}/_search with a form body.
	path, query, _ := strings.Cut(rel, "?")
	if strings.Contains(path, "/") {
		return nil, 0, failf("read URL too long")
	}
	form := []byte(query)
	return f.fetchPages(ctx, key, f.base.String()+"/"+path+"/_search", form)
}

// fetchPages fetches a first URL (POSTing form when it is not nil) and the
// next pages of the Bundle it returns, up to the page cap. A next link to
// another server, or more pages than the cap, fail the whole fetch: a partial
// result would read as "no such data".
func (f *fetcher) fetchPages(ctx context.Context, key, first string, form []byte) ([]page, int, error) {
	var pages []page
	requests := 0
	next := first
	for {
		u, ok := f.onServer(next)
		if !ok {
			return nil, requests, failf("next link leads off the FHIR server")
		}
		body, n, err := f.do(ctx, key, u.String(), form)
		requests += n
		if err != nil {
			return nil, requests, err
		}
		form = nil // next links are always GET
		p, err := parsePage(body)
		if err != nil {
			return nil, requests, err
		}
		pages = append(pages, p)
		if p.bundle == nil || p.bundle.next == "" {
			return pages, requests, nil
		}
		if len(pages) >= f.maxPages {
			return nil, requests, failf("more than %d pages", f.maxPages)
		}
		nu, err := u.Parse(p.bundle.next) // relative links resolve against the page
		if err != nil {
			return nil, requests, failf("malformed next link")
		}
		next = nu.String()
	}
}

// parsePage reads a response body: a Bundle, an OperationOutcome (a failure)
// or a single resource, in one pass (see decode.go).
func parsePage(body []byte) (page, error) {
	d, err := readDocument(body)
	switch {
	case err != nil, d.typ == "", d.typ != "Bundle" && d.malformed:
		return page{}, failf("response is not a FHIR resource")
	case d.typ == "OperationOutcome":
		return page{}, errOutcome
	case d.typ == "Bundle" && d.malformed:
		return page{}, failf("response Bundle is malformed")
	case d.typ == "Bundle":
		return page{bundle: d.bundle}, nil
	default:
		return page{resource: &d.res}, nil
	}
}

// do sends one request, retrying a GET on transport errors and on 429, 502,
// 503 and 504, honouring Retry-After, as long as the deadline allows. It
// returns the body of a 200 response and the number of requests sent.
func (f *fetcher) do(ctx context.Context, key, target string, form []byte) ([]byte, int, error) {
	for attempt := 1; ; attempt++ {
		body, retryAfter, err := f.once(ctx, key, target, form)
		var retry *retryable
		if err == nil || !errors.As(err, &retry) || form != nil || attempt == maxAttempts {
			if retry != nil {
				err = retry.err
			}
			return body, attempt, err
		}
		wait := time.Duration(100<<(attempt-1)) * time.Millisecond
		if retryAfter > 0 {
			wait = retryAfter
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
			return nil, attempt, failf("%s, and retrying would pass the deadline", retry.err)
		}
		f.logger.DebugContext(ctx, "retrying FHIR request", "key", key, "attempt", attempt, "wait", wait, "reason", retry.err.Error())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, attempt, failf("timed out")
		case <-t.C:
		}
	}
}

// retryable wraps a failure worth retrying.
type retryable struct{ err error }

func (r *retryable) Error() string { return r.err.Error() }

// once sends a single request and reads at most maxBytes of its response.
func (f *fetcher) once(ctx context.Context, key, target string, form []byte) (body []byte, retryAfter time.Duration, err error) {
	method := http.MethodGet
	var reqBody io.Reader
	if form != nil {
		method, reqBody = http.MethodPost, bytes.NewReader(form)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reqBody)
	if err != nil {
		return nil, 0, failf("cannot build request")
	}
	req.Header.Set("Accept", "application/fhir+json")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	start := time.Now()
	resp, err := f.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, failf("timed out")
		}
		// *url.Error's text holds the URL; log only what lies beneath it.
		f.logger.DebugContext(ctx, "FHIR request failed", "key", key, "method", method, "error", errors.Unwrap(err))
		return nil, 0, &retryable{failf("connection to the FHIR server failed")}
	}
	defer resp.Body.Close()
	f.logger.DebugContext(ctx, "FHIR response", "key", key, "method", method, "status", resp.StatusCode, "duration", time.Since(start))
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code == http.StatusTooManyRequests, code == http.StatusBadGateway, code == http.StatusServiceUnavailable, code == http.StatusGatewayTimeout:
		return nil, parseRetryAfter(resp.Header.Get("Retry-After")), &retryable{failf("FHIR server answered HTTP %d", code)}
	case code >= 300 && code < 400:
		return nil, 0, failf("FHIR server redirected (HTTP %d); redirects are refused", code)
	default:
		return nil, 0, failf("FHIR server answered HTTP %d", code)
	}
	if resp.ContentLength > f.maxBytes {
		return nil, 0, failf("response larger than %d bytes", f.maxBytes)
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, f.maxBytes+1))
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, 0, failf("timed out")
	case err != nil:
		return nil, 0, &retryable{failf("reading the response failed")}
	case int64(len(body)) > f.maxBytes:
		return nil, 0, failf("response larger than %d bytes", f.maxBytes)
	}
	return body, 0, nil
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date; 0 if absent or unreadable.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
