package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// Defaults of GathererOptions.
const (
	DefaultTimeout  = 2 * time.Second
	DefaultMaxPages = 10
	DefaultMaxBytes = 8 << 20
)

// maxParallel bounds the requests one Gather has in flight at once.
const maxParallel = 8

// GathererOptions configure a Gatherer. Zero values take the defaults.
type GathererOptions struct {
	// HTTPClient sends every FHIR request (wrap its transport for tracing).
	// Its redirect policy is replaced: redirects are never followed.
	HTTPClient *http.Client
	// Timeout bounds one whole Gather, all fetches and retries included.
	Timeout time.Duration
	// MaxPages caps the pages read for one key; more pages fail the key.
	MaxPages int
	// MaxBytes caps one response body; a larger one fails its key.
	MaxBytes int64
	// AllowHTTP lets a plain-http fhirServer be fetched from (test and sandbox set-ups).
	AllowHTTP bool
	// Logger receives debug lines about requests; it never sees URLs, tokens or bodies.
	Logger *slog.Logger
}

// Gatherer builds a patient's Record from a CDS Hooks request: it decodes the
// prefetch and fetches what is missing from the request's FHIR server. It is
// safe for concurrent use.
type Gatherer struct {
	client *http.Client
	opts   GathererOptions
}

// NewGatherer returns a Gatherer with the options' defaults filled in.
func NewGatherer(opts GathererOptions) *Gatherer {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = DefaultMaxPages
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	client := &http.Client{}
	if opts.HTTPClient != nil {
		c := *opts.HTTPClient // a copy: the caller's client keeps its own policy
		client = &c
	}
	// A redirect could carry the bearer token to another host, or lead a
	// request to a server that was never allowed: never follow one.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Gatherer{client: client, opts: opts}
}

// GatherInput is what Gather needs from one CDS Hooks request.
type GatherInput struct {
	// Prefetch is the request's prefetch object: a key that is absent differs
	// from a key whose value is JSON null.
	Prefetch map[string]json.RawMessage
	// Templates are the service's prefetch templates, by key. Only these keys
	// are read or fetched.
	Templates map[string]string
	// Context holds the hook context's first-level string fields (patientId, userId, encounterId...).
	Context map[string]string
	// FHIRServer is the request's fhirServer, "" when absent.
	FHIRServer string
	// AccessToken is fhirAuthorization.access_token, "" when absent. It is sent
	// only to FHIRServer, and never logged.
	AccessToken string
	// AllowedServer says whether FHIRServer may be fetched from (from the trust
	// configuration or --fhir-allow), and which allow-list entry let it: the
	// entry names the server in metrics (GatherReport.Server, ServerLabel),
	// so it must come from configuration, never from the request. nil allows
	// none.
	AllowedServer func(base string) (entry string, ok bool)
}

// Values of GatherReport.Server besides an allow-list entry.
const (
	ServerNone  = "none"  // the request named no fhirServer
	ServerOther = "other" // its fhirServer is unusable or not allowed
)

// serverLabelKey keys the context value ServerLabel reads.
type serverLabelKey struct{}

// ServerLabel returns, for a context of a request Gather sends to a FHIR
// server, the allow-list entry that allowed the server (see
// GatherInput.AllowedServer), and ServerOther for any other context. Its
// values are bounded by the configuration, so they may label metrics, where
// a caller-chosen URL or port would make a new series per request.
func ServerLabel(ctx context.Context) string {
	if l, ok := ctx.Value(serverLabelKey{}).(string); ok {
		return l
	}
	return ServerOther
}

// KeyStatus says how a prefetch key's data was obtained.
type KeyStatus string

// The states of a prefetch key after Gather.
const (
	KeyPrefetched KeyStatus = "prefetched" // the prefetch held the data
	KeyNull       KeyStatus = "null"       // the prefetch said "no data": nothing fetched
	KeyFetched    KeyStatus = "fetched"    // read from the FHIR server (all or in part)
	KeyFailed     KeyStatus = "failed"     // could not be obtained: see Reason
)

// KeyReport says what happened to one prefetch key. All its fields are safe
// to log and to count in metrics: they hold no URL, token or patient data.
type KeyReport struct {
	Key    string
	Status KeyStatus
	// Prefetch is what the request held for the key: "absent", "null",
	// "resource", "bundle", "paged" (a Bundle with a next link),
	// "operation-outcome", "outcome-entries" (a Bundle with failing
	// OperationOutcome entries) or "malformed".
	Prefetch string
	// Reason says why the key was fetched or failed; "" when prefetched.
	Reason string
	// Requests counts the HTTP requests sent for the key, retries and Medication reads included.
	Requests int
	// Skipped counts the key's resources left out of the Record (each is in
	// Record.Skipped with its reason).
	Skipped int
}

// GatherReport says, key by key in key order, where the Record's data came from.
type GatherReport struct {
	Keys []KeyReport
	// Server names the request's FHIR server by a bounded label: the
	// allow-list entry that allowed it, ServerNone or ServerOther.
	Server string
}

// UnavailableError reports prefetch keys whose data could not be obtained:
// the CDS Hooks answer is 412 naming Keys. Reasons (by key) are safe to log.
type UnavailableError struct {
	Keys    []string
	Reasons map[string]string
}

func (e *UnavailableError) Error() string {
	parts := make([]string, 0, len(e.Keys))
	for _, k := range e.Keys {
		parts = append(parts, k+": "+e.Reasons[k])
	}
	return "FHIR data unavailable for prefetch keys (" + strings.Join(parts, "; ") + ")"
}

// keyJob is the work and the outcome for one prefetch key.
type keyJob struct {
	report KeyReport
	start  string // expanded relative template, or an absolute next link
	pages  []page
	err    error
}

// Gather builds the Record for one request under one deadline
// (GathererOptions.Timeout). For each template key, the prefetch value is
// used when it holds data, JSON null means "no data", and a key that is
// absent, failed (an OperationOutcome, or a Bundle with failing
// OperationOutcome entries), malformed or paged is fetched from FHIRServer,
// all keys in parallel, with the token, only if AllowedServer allows the
// server. Medication references that nothing at hand resolves are read from
// the server too. One malformed resource is skipped and listed in
// Record.Skipped, never fatal; so is any resource about another patient than
// Context["patientId"] (see patientMatcher: only a subject that names
// exactly this patient counts), and any resource whose id is not a FHIR id
// (ValidID). KeyReport.Skipped counts them per key. AllowedServer is asked with the fhirServer URL
// without its trailing slash, before any request is made.
//
// When any key cannot be obtained, Gather returns the partial Record, the
// report, and an *UnavailableError naming the keys: the caller must answer
// 412, never act as if the data did not exist.
func (g *Gatherer) Gather(ctx context.Context, in GatherInput) (*Record, *GatherReport, error) {
	ctx, cancel := context.WithTimeout(ctx, g.opts.Timeout)
	defer cancel()

	a := newAssembler()
	keys := make([]string, 0, len(in.Templates))
	for k := range in.Templates {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	jobs := make([]*keyJob, 0, len(keys))
	var toFetch []*keyJob
	for _, key := range keys {
		j := &keyJob{report: KeyReport{Key: key}}
		jobs = append(jobs, j)
		if g.readPrefetch(a, j, in) {
			toFetch = append(toFetch, j)
		}
	}

	f, serverErr := g.fetcherFor(in)
	server := ServerOther
	switch {
	case in.FHIRServer == "":
		server = ServerNone
	case serverErr == nil:
		server = f.label
		ctx = context.WithValue(ctx, serverLabelKey{}, f.label)
	}
	if len(toFetch) > 0 {
		if serverErr != nil {
			for _, j := range toFetch {
				j.err = serverErr
			}
		} else {
			g.fetchKeys(ctx, f, toFetch)
		}
		for _, j := range toFetch {
			j.report.Status = KeyFetched
			for _, p := range j.pages {
				if p.bundle == nil {
					a.add(j.report.Key, "", *p.resource)
				} else if a.addBundle(j.report.Key, p.bundle) {
					j.err = failf("FHIR server's Bundle holds an error OperationOutcome")
				}
			}
		}
	}

	patient := patientMatcher{id: in.Context["patientId"], base: strings.TrimRight(in.FHIRServer, "/"), check: true}
	rec, pending := a.build(patient)
	if len(pending) > 0 {
		rec, pending = g.readMedications(ctx, f, serverErr, a, jobs, pending, patient)
	}
	for _, p := range pending {
		if j := jobFor(jobs, p.source); j != nil && j.err == nil {
			j.err = failf("medicationReference could not be resolved")
		}
	}
	for _, s := range rec.Skipped {
		if j := jobFor(jobs, s.Source); j != nil {
			j.report.Skipped++
		}
	}
	report, err := g.finish(ctx, jobs)
	report.Server = server
	return rec, report, err
}

// readPrefetch reads a key's prefetch value into the assembler and reports
// whether the key must be fetched.
func (g *Gatherer) readPrefetch(a *assembler, j *keyJob, in GatherInput) (fetch bool) {
	key := j.report.Key
	raw, present := in.Prefetch[key]
	expand := func(reason string) bool {
		j.report.Reason = reason
		j.start, j.err = ExpandTemplate(in.Templates[key], in.Context)
		return true
	}
	if !present {
		j.report.Prefetch = "absent"
		return expand("not prefetched")
	}
	if string(bytes.TrimSpace(raw)) == "null" {
		j.report.Prefetch, j.report.Status = "null", KeyNull
		return false
	}
	p, err := parsePage(raw)
	switch {
	case errors.Is(err, errOutcome):
		j.report.Prefetch = "operation-outcome"
		return expand("prefetch held an OperationOutcome")
	case err != nil:
		j.report.Prefetch = "malformed"
		return expand("prefetch value is not a FHIR resource")
	case p.bundle == nil:
		j.report.Prefetch, j.report.Status = "resource", KeyPrefetched
		a.add(key, "", *p.resource)
		return false
	}
	if a.addBundle(key, p.bundle) {
		j.report.Prefetch = "outcome-entries"
		return expand("prefetch Bundle held an error OperationOutcome")
	}
	if next := p.bundle.next; next != "" {
		j.report.Prefetch = "paged"
		j.report.Reason, j.start = "prefetch Bundle has more pages", next
		return true
	}
	j.report.Prefetch, j.report.Status = "bundle", KeyPrefetched
	return false
}

// fetcherFor checks the request's FHIR server: present, a usable URL, and
// allowed. The error explains, safely, why nothing may be fetched.
func (g *Gatherer) fetcherFor(in GatherInput) (*fetcher, error) {
	if in.FHIRServer == "" {
		return nil, failf("no fhirServer in the request")
	}
	base, err := parseServer(in.FHIRServer, g.opts.AllowHTTP)
	if err != nil {
		return nil, &fetchFailure{reason: err.Error()}
	}
	var entry string
	var ok bool
	if in.AllowedServer != nil {
		entry, ok = in.AllowedServer(base.String())
	}
	if !ok {
		return nil, failf("fhirServer is not on the allow list")
	}
	return &fetcher{client: g.client, base: base, label: entry, token: in.AccessToken, maxPages: g.opts.MaxPages, maxBytes: g.opts.MaxBytes, logger: g.opts.Logger}, nil
}

// fetchKeys fetches every job in parallel; each job records its own result.
func (g *Gatherer) fetchKeys(ctx context.Context, f *fetcher, jobs []*keyJob) {
	var eg errgroup.Group
	eg.SetLimit(maxParallel)
	for _, j := range jobs {
		if j.err != nil {
			continue // the template could not be expanded
		}
		eg.Go(func() error {
			var n int
			if isAbsoluteURL(j.start) {
				j.pages, n, j.err = f.fetchPages(ctx, j.report.Key, j.start, nil)
			} else {
				j.pages, n, j.err = f.fetchRelative(ctx, j.report.Key, j.start)
			}
			j.report.Requests += n
			return nil
		})
	}
	_ = eg.Wait() // jobs never return errors: each keeps its own
}

// readMedications reads, in parallel, the Medications that pending
// references name on the FHIR server, adds them and rebuilds the Record.
func (g *Gatherer) readMedications(ctx context.Context, f *fetcher, serverErr error, a *assembler, jobs []*keyJob, pending []pendingMedication, patient patientMatcher) (*Record, []pendingMedication) {
	type read struct {
		source string
		body   *resource
		err    error
		n      int
	}
	byRef := map[string]*read{}
	var eg errgroup.Group
	eg.SetLimit(maxParallel)
	for _, p := range pending {
		if _, done := byRef[p.reference]; done {
			continue
		}
		r := &read{source: p.source}
		byRef[p.reference] = r
		if serverErr != nil {
			r.err = failf("medicationReference to a Medication not in the prefetch, and %s", serverErr)
			continue
		}
		target, ok := f.medicationURL(p.reference)
		if !ok {
			r.err = failf("medicationReference is not a Medication on the FHIR server")
			continue
		}
		eg.Go(func() error {
			// Each goroutine writes only its own read; Wait orders the reads below.
			pages, n, err := f.fetchPages(ctx, p.source, target, nil)
			r.n, r.err = n, err
			if err == nil && (len(pages) != 1 || pages[0].resource == nil) {
				r.err = failf("Medication read did not return a resource")
			} else if err == nil {
				r.body = pages[0].resource
			}
			return nil
		})
	}
	_ = eg.Wait()
	for ref, r := range byRef {
		j := jobFor(jobs, r.source)
		if j != nil {
			j.report.Requests += r.n
			if r.err != nil && j.err == nil {
				j.err = r.err
			}
		}
		if r.body != nil {
			// Index it under the reference as written, so build resolves it
			// whatever form (relative or absolute) the reference took.
			a.add(r.source, ref, *r.body)
		}
	}
	return a.build(patient)
}

// medicationURL turns a reference to a Medication into a read URL on the FHIR
// server: "Medication/id", or an absolute URL on the same server.
func (f *fetcher) medicationURL(ref string) (string, bool) {
	typ, id := splitRef(ref)
	if typ != "Medication" || id == "" || !ValidID(id) {
		return "", false
	}
	if isAbsoluteURL(ref) {
		u, err := url.Parse(ref)
		if err != nil || !f.sameServer(u) {
			return "", false
		}
	} else if ref != "Medication/"+id {
		return "", false
	}
	return f.base.String() + "/Medication/" + id, true
}

func jobFor(jobs []*keyJob, key string) *keyJob {
	for _, j := range jobs {
		if j.report.Key == key {
			return j
		}
	}
	return nil
}

// finish turns the jobs into the report and, when any key failed, the
// UnavailableError.
func (g *Gatherer) finish(ctx context.Context, jobs []*keyJob) (*GatherReport, error) {
	report := &GatherReport{}
	var unavailable *UnavailableError
	for _, j := range jobs {
		if j.err != nil {
			j.report.Status, j.report.Reason = KeyFailed, j.err.Error()
			if unavailable == nil {
				unavailable = &UnavailableError{Reasons: map[string]string{}}
			}
			unavailable.Keys = append(unavailable.Keys, j.report.Key)
			unavailable.Reasons[j.report.Key] = j.report.Reason
		}
		report.Keys = append(report.Keys, j.report)
		g.opts.Logger.DebugContext(ctx, "prefetch key gathered", "key", j.report.Key, "status", string(j.report.Status),
			"prefetch", j.report.Prefetch, "reason", j.report.Reason, "requests", j.report.Requests, "skipped", j.report.Skipped)
	}
	if unavailable != nil {
		return report, unavailable
	}
	return report, nil
}

// isAbsoluteURL tells an absolute URL (a next link, a full reference) from a
// relative search. Looking for "://" anywhere is not enough: token searches
// carry a system URI in their query ("code=http://loinc.org|2823-3").
func isAbsoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != ""
}
