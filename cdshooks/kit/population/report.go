package population

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"strconv"
	"time"
)

//go:embed report.html.tmpl
var reportTemplate string

var reportPage = template.Must(template.New("report").Parse(reportTemplate))

// Chart geometry, in SVG user units.
const (
	chartWidth  = 720
	labelWidth  = 300 // right edge of the labels
	barMax      = 340 // the longest bar
	barHeight   = 20
	barGap      = 6
	chartMargin = 4
)

// Report renders a summary of a run of topic as a self-contained HTML page:
// the headline counts and bar charts (cards per patient, patients per card
// topic, then one per count list of the topic) drawn as inline SVG, with no
// script and no external asset, so it opens anywhere, offline.
func Report(s *Summary, topic Topic) ([]byte, error) {
	cardsPerPatient := make([]Count, len(s.CardsPerPatient))
	for i, b := range s.CardsPerPatient {
		label := strconv.Itoa(b.Cards) + " cards"
		if b.Cards == 1 {
			label = "1 card"
		}
		cardsPerPatient[i] = Count{Name: label, Patients: b.Patients}
	}
	// The summary keeps the topic codes (tools and merges read it); the page names each topic as the cards do.
	topics := make([]Count, len(s.Topics))
	for i, t := range s.Topics {
		topics[i] = Count{Name: topic.label(t.Name), Patients: t.Patients}
	}
	charts := []chart{
		newChart("cards-per-patient", "Patients by number of cards", cardsPerPatient, ""),
		newChart("patients-per-topic", "Patients per card topic", topics, ""),
	}
	for _, l := range topic.Counts {
		counts, note := s.List(l.Key), ""
		if l.Top > 0 && len(counts) > l.Top {
			note = fmt.Sprintf("The %d %s with most patients, of %d (summary.json has all).", l.Top, l.Noun, len(counts))
			counts = counts[:l.Top]
		}
		charts = append(charts, newChart(l.Chart, l.Title, counts, note))
	}
	data := struct {
		*Summary
		Service                                                 string
		AsOf, WithCardsPercent, CardsPerPatient, CardsPerCarded string
		Charts                                                  []chart
	}{
		Summary:          s,
		Service:          topic.Service,
		AsOf:             s.Run.AsOf.UTC().Format(time.RFC3339),
		WithCardsPercent: percent(s.PatientsWithCards, s.Patients),
		CardsPerPatient:  ratio(s.Cards, s.Patients),
		CardsPerCarded:   ratio(s.Cards, s.PatientsWithCards),
		Charts:           charts,
	}
	var b bytes.Buffer
	if err := reportPage.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("population: rendering the report: %w", err)
	}
	return b.Bytes(), nil
}

func percent(n, of int) string {
	if of == 0 {
		return "0%"
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64) + "%"
}

func ratio(n, of int) string {
	if of == 0 {
		return "0"
	}
	return strconv.FormatFloat(float64(n)/float64(of), 'f', 2, 64)
}

// chart is one horizontal bar chart, laid out for the template.
type chart struct {
	ID, Title, Note string
	Width, Height   int
	Bars            []bar
}

type bar struct {
	Label                 string
	Value                 int
	X, Y, W, H            int
	LabelX, ValueX, TextY int
}

// newChart lays out one bar per count (its patients), scaled to the largest.
func newChart(id, title string, counts []Count, note string) chart {
	c := chart{ID: id, Title: title, Note: note, Width: chartWidth}
	largest := 0
	for _, n := range counts {
		largest = max(largest, n.Patients)
	}
	for i, n := range counts {
		w := 0
		if largest > 0 {
			w = max(1, n.Patients*barMax/largest) // a non-zero count stays visible
		}
		if n.Patients == 0 {
			w = 0
		}
		y := chartMargin + i*(barHeight+barGap)
		c.Bars = append(c.Bars, bar{
			Label: n.Name, Value: n.Patients,
			X: labelWidth + 8, Y: y, W: w, H: barHeight,
			LabelX: labelWidth, ValueX: labelWidth + 8 + w + 6, TextY: y + barHeight - 5,
		})
	}
	c.Height = 2*chartMargin + len(counts)*(barHeight+barGap)
	return c
}
