// Package page presents the knowledge base to people: the knowledge page that
// the cards' links and source.url open (HTML for a browser, readable on a
// phone, no script and no external asset; JSON for a machine), and the anchors
// of its entries. Each statement on the page traces to its seed document,
// reference and line.
package page

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cramp-cds/cramp-cds/knowledge"
)

//go:embed page.html.tmpl
var templates embed.FS

// Page is the rendered knowledge page of one knowledge base. It is built once
// and immutable, so it is safe for concurrent use.
type Page struct {
	html []byte
	json []byte
	csp  string
}

// New renders the page of kb. It fails only when the template cannot render
// the base, a programming error every test catches.
func New(kb *knowledge.Base) (*Page, error) {
	js, err := JSON(kb)
	if err != nil {
		return nil, err
	}
	t, err := template.New("page.html.tmpl").Funcs(funcs(kb)).ParseFS(templates, "page.html.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parsing the knowledge page template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, view{KB: kb, Rules: Rules(kb)}); err != nil {
		return nil, fmt.Errorf("rendering the knowledge page: %w", err)
	}
	return &Page{html: b.Bytes(), json: js, csp: policy(nil)}, nil
}

// FramedBy returns the page allowing the given origins (the EHRs configured
// with --cors-origins) to show it in a frame, so that a card's link opened
// inside the EHR's frame shows the page rather than a browser error. "*"
// allows any origin: the page is public, read-only, without script or form,
// so framing it lets nobody act on the clinician's behalf. An origin that is
// not a plain scheme://host[:port] is left out. No origin: no framing.
func (p *Page) FramedBy(origins []string) *Page {
	q := *p
	q.csp = policy(origins)
	return &q
}

// policy is the Content-Security-Policy allowing the page nothing but its own
// inline style, and framing by the given origins only.
func policy(origins []string) string {
	var allowed []string
	for _, o := range origins {
		if o == "*" {
			allowed = []string{"*"}
			break
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" ||
			u.RawQuery != "" || u.User != nil || strings.ContainsAny(u.Host, " ;,'\"") {
			continue
		}
		allowed = append(allowed, u.Scheme+"://"+u.Host)
	}
	ancestors := "'none'"
	if len(allowed) > 0 {
		ancestors = strings.Join(allowed, " ")
	}
	return contentSecurityPolicy + ancestors
}

// HTML returns the page as served to a browser.
func (p *Page) HTML() []byte { return p.html }

// contentSecurityPolicy allows the page nothing but its own inline style: no
// script, no image, font or style from anywhere else; the frame-ancestors
// sources follow it (policy).
const contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors "

// ServeHTTP serves the page: HTML by default, JSON when the query says
// format=json or the Accept header asks for application/json and not for
// text/html (a browser always lists text/html). format=html forces HTML.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Vary", "Accept")
	// It changes only with a new release.
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	if wantsJSON(r) {
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(p.json)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", p.csp)
	_, _ = w.Write(p.html)
}

func wantsJSON(r *http.Request) bool {
	switch r.URL.Query().Get("format") {
	case "json":
		return true
	case "html":
		return false
	}
	accept := r.Header.Values("Accept")
	return accepts(accept, "application/json") && !accepts(accept, "text/html")
}

// accepts reports whether an Accept header lists the media type with a
// non-zero quality.
func accepts(header []string, mediaType string) bool {
	for _, h := range header {
		for _, part := range strings.Split(h, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || !strings.EqualFold(mt, mediaType) {
				continue
			}
			if q, err := strconv.ParseFloat(params["q"], 64); err == nil && q == 0 {
				continue
			}
			return true
		}
	}
	return false
}

// machineView is the JSON view: the same fields as the data files, plus the
// version and the rules in words.
type machineView struct {
	Version           string                       `json:"version"`
	Sources           []*knowledge.Source          `json:"sources"`
	Publications      []*knowledge.Publication     `json:"publications"`
	Rules             []Rule                       `json:"rules"`
	Triggers          knowledge.TriggerSet         `json:"triggers"`
	Classes           []*knowledge.DrugClass       `json:"classes"`
	CombinationBrands []knowledge.CombinationBrand `json:"combination_brands"`
	Products          []*knowledge.Product         `json:"products"`
	LookbackMonths    int                          `json:"lookback_months"`
	Workup            []*knowledge.Workup          `json:"workup"`
	Panels            []*knowledge.Panel           `json:"panels"`
	Labs              []*knowledge.Lab             `json:"labs"`
	Conditions        []*knowledge.Condition       `json:"conditions"`
	Pearls            []*knowledge.Pearl           `json:"pearls"`
	ValueSets         []valueSetSummary            `json:"valuesets"`
}

// valueSetSummary is one value set in the machine view; the whole resource
// is served at /knowledge/ValueSet/{id}.
type valueSetSummary struct {
	ID      string                     `json:"id"`
	Title   string                     `json:"title"`
	Version string                     `json:"version"`
	Codes   int                        `json:"codes"`
	Sources []knowledge.ValueSetSource `json:"sources"`
}

// JSON returns the knowledge base as indented JSON, as served with
// ?format=json and printed by `cramp-cds knowledge --json`.
func JSON(kb *knowledge.Base) ([]byte, error) {
	out, err := json.MarshalIndent(machineView{
		Version: kb.Version(), Sources: kb.Sources(), Publications: kb.Publications(), Rules: Rules(kb), Triggers: kb.Triggers(), Classes: kb.Classes(),
		CombinationBrands: kb.CombinationBrands(), Products: kb.Products(), LookbackMonths: kb.LookbackMonths(),
		Workup: kb.Workups(), Panels: kb.Panels(), Labs: kb.Labs(), Conditions: kb.Conditions(), Pearls: kb.Pearls(),
		ValueSets: valueSets(kb),
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the knowledge base: %w", err)
	}
	return append(out, '\n'), nil
}

func valueSets(kb *knowledge.Base) []valueSetSummary {
	out := make([]valueSetSummary, 0, len(kb.ValueSets()))
	for _, vs := range kb.ValueSets() {
		out = append(out, valueSetSummary{ID: vs.ID, Title: vs.Title, Version: vs.Version, Codes: vs.Expansion.Total, Sources: vs.Sources})
	}
	return out
}

// view is what the template renders.
type view struct {
	KB    *knowledge.Base
	Rules []Rule
}

// Grade is the grade of a drug class or condition as the page and the cards
// print it: a condition without one is strong.
func Grade(s knowledge.Strength) string {
	if s == "" {
		return string(knowledge.StrengthStrong)
	}
	return string(s)
}

// Strength says how strongly the sources back a drug class, from the kind of
// document that names it: a clinical summary citing references, or only
// patient information pages; a publication beyond the seeds counts as a study.
func Strength(kb *knowledge.Base, cs []knowledge.Citation) string {
	for _, c := range cs {
		if c.Seed == "" && c.Resolved != nil {
			return "named by a published study"
		}
		if s := kb.Source(c.Seed); s != nil && strings.HasPrefix(s.Kind, "clinical summary") {
			return "named by clinical summaries citing their references"
		}
	}
	return "reported only by patient information pages"
}

// Cites returns the distinct short citations of cs, in order: what a card's
// sources line names.
func Cites(cs []knowledge.Citation) []knowledge.Citation {
	var out []knowledge.Citation
	seen := map[string]bool{}
	for _, c := range cs {
		if !seen[c.Cite] {
			seen[c.Cite] = true
			out = append(out, c)
		}
	}
	return out
}

func funcs(kb *knowledge.Base) template.FuncMap {
	return template.FuncMap{
		"classAnchor":       ClassAnchor,
		"ingredientAnchor":  IngredientAnchor,
		"workupAnchor":      WorkupAnchor,
		"panelAnchor":       PanelAnchor,
		"labAnchor":         LabAnchor,
		"conditionAnchor":   ConditionAnchor,
		"ruleAnchor":        RuleAnchor,
		"sourceAnchor":      SourceAnchor,
		"refAnchor":         RefAnchor,
		"citationAnchor":    CitationAnchor,
		"strength":          func(cs []knowledge.Citation) string { return Strength(kb, cs) },
		"grade":             Grade,
		"publicationAnchor": PublicationAnchor,
		"publication": func(id string) *knowledge.Publication {
			for _, p := range kb.Publications() {
				if p.ID == id {
					return p
				}
			}
			return nil
		},
		"codes": func(cs []knowledge.Code) string {
			parts := make([]string, len(cs))
			for i, c := range cs {
				parts[i] = c.Code
				if c.Prefix {
					parts[i] += "*"
				}
				if c.Unverified {
					parts[i] += "?"
				}
			}
			return strings.Join(parts, ", ")
		},
		"join":   strings.Join,
		"number": func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) },
		"workup": func(id string) *knowledge.Workup {
			for _, w := range kb.Workups() {
				if w.ID == id {
					return w
				}
			}
			return nil
		},
	}
}
