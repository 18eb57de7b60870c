package feedback

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"

	"github.com/cramp-cds/cramp-cds/internal/csvsafe"
)

// Report formats.
const (
	FormatHTML = "html"
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// ContentType is the media type of a report format.
func ContentType(format string) string {
	switch format {
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatJSON:
		return "application/json"
	default:
		return "text/html; charset=utf-8"
	}
}

// Write renders r in a format (html, csv or json) to w. It renders into
// memory first, so a failure never leaves half a report.
func (r *Report) Write(w io.Writer, format string) error {
	var buf bytes.Buffer
	var err error
	switch format {
	case FormatJSON:
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		err = enc.Encode(r)
	case FormatCSV:
		err = r.writeCSV(&buf)
	case FormatHTML:
		err = reportPage.Execute(&buf, r)
	default:
		return fmt.Errorf("report format %q: want html, csv or json", format)
	}
	if err != nil {
		return fmt.Errorf("rendering the report as %s: %w", format, err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// writeCSV writes one row per topic and version over the whole period
// ("all"), then one per day with activity.
func (r *Report) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"topic", "knowledge_version", "period", "issued", "patients", "feedback", "accepted",
		"overridden", "override_rate", "override_reasons", "snoozes_in_force", "flagged", "topic_label"})
	for _, t := range r.Topics {
		// Codes come from the store, which may hold what a caller sent
		// before the store kept only its own: neutralised (csvsafe).
		topic, version, label := csvsafe.Cell(t.Topic), csvsafe.Cell(t.KnowledgeVersion), csvsafe.Cell(t.Label)
		_ = cw.Write([]string{topic, version, "all", itoa(t.Issued), itoa(t.Patients), itoa(t.Feedback),
			itoa(t.Accepted), itoa(t.Overridden), strconv.FormatFloat(t.OverrideRate, 'f', 3, 64), csvsafe.Cell(reasonList(t.Reasons)),
			itoa(t.SnoozesInForce), strconv.FormatBool(t.Flagged), label})
		for _, d := range t.Days {
			_ = cw.Write([]string{topic, version, d.Date, itoa(d.Issued), "", itoa(d.Accepted + d.Overridden),
				itoa(d.Accepted), itoa(d.Overridden), "", "", "", "", label})
		}
	}
	cw.Flush()
	return cw.Error()
}

func itoa(n int) string { return strconv.Itoa(n) }

// reasonList is "code:n;code:n", "(none)" standing for an override without a reason.
func reasonList(rs []Reason) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = reasonName(r.Code) + ":" + itoa(r.Count)
	}
	return strings.Join(parts, ";")
}

func reasonName(code string) string {
	if code == "" {
		return "(none)"
	}
	return code
}

// reasonLabel is how the HTML page names a reason: as the card offered it
// when named, else by its code.
func reasonLabel(r Reason) string {
	if r.Label != "" {
		return r.Label
	}
	return reasonName(r.Code)
}

// Chart geometry, in SVG user units.
const (
	chartWidth  = 640
	chartHeight = 120
	rateWidth   = 200
)

// dayChart draws a topic's days as bars: issued (light), overridden (dark)
// and accepted (green) side by side, scaled to the busiest day. The SVG is
// built from numbers and escaped dates only.
func dayChart(t Topic) template.HTML {
	if len(t.Days) == 0 {
		return ""
	}
	peak := 1
	for _, d := range t.Days {
		peak = max(peak, d.Issued, d.Accepted+d.Overridden)
	}
	slot := float64(chartWidth) / float64(len(t.Days))
	bar := max(slot/3-1, 1)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="cards issued, overridden and accepted per day">`,
		chartWidth, chartHeight+16, chartWidth, chartHeight+16)
	for i, d := range t.Days {
		x := float64(i) * slot
		for j, v := range []struct {
			n     int
			class string
		}{{d.Issued, "issued"}, {d.Overridden, "overridden"}, {d.Accepted, "accepted"}} {
			h := float64(v.n) / float64(peak) * chartHeight
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %s: %d</title></rect>`,
				v.class, x+float64(j)*(bar+1), chartHeight-h, bar, h, template.HTMLEscapeString(d.Date), v.class, v.n)
		}
	}
	fmt.Fprintf(&b, `<text x="0" y="%d">%s</text><text x="%d" y="%d" text-anchor="end">%s</text>`,
		chartHeight+14, template.HTMLEscapeString(t.Days[0].Date), chartWidth, chartHeight+14,
		template.HTMLEscapeString(t.Days[len(t.Days)-1].Date))
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // numbers and escaped text only
}

// rateBar draws an override rate as a bar with a mark at FlagOverrideRate.
func rateBar(t Topic) template.HTML {
	w := t.OverrideRate * rateWidth
	class := "rate"
	if t.Flagged {
		class = "rate flagged"
	}
	return template.HTML(fmt.Sprintf( //nolint:gosec // numbers only
		`<svg viewBox="0 0 %d 14" width="%d" height="14" role="img" aria-label="override rate %.0f%%">`+
			`<rect class="track" x="0" y="2" width="%d" height="10"/><rect class="%s" x="0" y="2" width="%.1f" height="10"/>`+
			`<line class="limit" x1="%.1f" y1="0" x2="%.1f" y2="14"/></svg>`,
		rateWidth, rateWidth, t.OverrideRate*100, rateWidth, class, w,
		FlagOverrideRate*rateWidth, FlagOverrideRate*rateWidth))
}

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"dayChart": dayChart,
	"rateBar":  rateBar,
	"percent":  func(f float64) string { return strconv.FormatFloat(f*100, 'f', 0, 64) + "%" },
	"reason":   reasonLabel,
	"flagRate": func() string { return strconv.FormatFloat(FlagOverrideRate*100, 'f', 0, 64) + "%" },
	"flagMin":  func() int { return FlagMinDecisions },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>cramp-cds: cards and feedback since {{.Since.Format "2006-01-02"}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:right;vertical-align:top}
th:first-child,td:first-child,td.text{text-align:left}
tr.flagged td{background:#fde8e8}
.flag{color:#b00;font-weight:bold}
small.code{color:#777;font-family:monospace}
svg text{font-size:10px;fill:#555}
rect.issued{fill:#c8d3e0} rect.overridden{fill:#c0392b} rect.accepted{fill:#27ae60}
rect.track{fill:#eee} rect.rate{fill:#7f8c8d} rect.rate.flagged{fill:#c0392b} line.limit{stroke:#222;stroke-dasharray:2,2}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
</style></head><body>
<h1>Cards and feedback</h1>
<p>From {{.Since.Format "2006-01-02"}} to {{.Generated.Format "2006-01-02 15:04"}} UTC. Override rate = overridden ÷ feedback received
(cards a clinician ignored send no feedback). A topic is <span class="flag">flagged</span> when it is overridden more than
{{flagRate}} of the time over at least {{flagMin}} decisions.</p>
{{if not .Topics}}<p>Nothing recorded in this period.</p>{{else}}
<table>
<tr><th>topic</th><th>knowledge version</th><th>issued</th><th>patients</th><th>feedback</th><th>accepted</th><th>overridden</th>
<th>override rate</th><th></th><th>override reasons</th><th>snoozes in force</th></tr>
{{range .Topics}}<tr{{if .Flagged}} class="flagged"{{end}}>
<td>{{template "topic" .}}{{if .Flagged}} <span class="flag">⚑ overridden &gt; {{flagRate}}</span>{{end}}</td><td class="text">{{.KnowledgeVersion}}</td>
<td>{{.Issued}}</td><td>{{.Patients}}</td><td>{{.Feedback}}</td><td>{{.Accepted}}</td><td>{{.Overridden}}</td>
<td>{{percent .OverrideRate}}</td><td>{{rateBar .}}</td>
<td class="text">{{range .Reasons}}{{reason .}}: {{.Count}}<br>{{end}}</td><td>{{.SnoozesInForce}}</td></tr>
{{end}}</table>
<h2>Per day</h2>
<p class="legend"><span style="background:#c8d3e0"></span>issued<span style="background:#c0392b"></span>overridden<span style="background:#27ae60"></span>accepted</p>
{{range .Topics}}<h3>{{template "topic" .}} <small>{{.KnowledgeVersion}}</small></h3>
{{dayChart .}}
{{end}}{{end}}
</body></html>
{{define "topic"}}{{if .Label}}{{.Label}} <small class="code">{{.Topic}}</small>{{else}}{{.Topic}}{{end}}{{end}}`))
