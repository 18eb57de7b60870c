package population

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/fhir"
)

// Outcome is what the service made of one patient: the cards it would send,
// and what the topic lists and counts of them.
type Outcome struct {
	Cards []cdshooks.Card
	// Cells are the patient's values of the topic's worklist columns
	// (Topic.Columns), one list per column.
	Cells [][]string
	// Counted are the names the patient counts once in, one list per
	// Topic.Counts.
	Counted [][]string
}

// Evaluator evaluates one patient's Record as the service does (patientID is
// the bare Patient.id). It must be safe for concurrent use.
type Evaluator func(ctx context.Context, rec *fhir.Record, patientID string) (Outcome, error)

// Topic is what a topic package adds to a run: its service's evaluation, the
// worklist columns and summary counts it fills, how its card topics and its
// service are named, and the charts of the report.
type Topic struct {
	// Evaluate is the service's evaluation (required to Run; Merge needs none).
	Evaluate Evaluator
	// Service names the service in the report, e.g. "the example patient-view service".
	Service string
	// Columns are the worklist's columns after patient, cards and topics
	// (and before topic_labels): tools read them by these names.
	Columns []string
	// Counts are summary.json's lists of patients counted per name, in order,
	// each with its chart in the report.
	Counts []CountList
	// Label names a card topic code for a reader (its display); nil, or ok
	// false, shows the code.
	Label func(code string) (string, bool)
}

// CountList is one of a topic's summary counts: patients per name.
type CountList struct {
	// Key is the list's member name in summary.json.
	Key string
	// Chart is the report's chart id, Title its heading.
	Chart, Title string
	// Top, when positive, is how many names the chart shows; Noun then
	// names them in the note ("The 15 ingredients with most patients").
	Top  int
	Noun string
}

// label names a card topic code as the cards do, or the code itself.
func (t Topic) label(code string) string {
	if t.Label != nil {
		if l, ok := t.Label(code); ok {
			return l
		}
	}
	return code
}

// Row is one patient's line of the worklist.
type Row struct {
	// ID is the patient's id as IDs made it.
	ID    string
	Cards int
	// Topics are the card topic codes, in card order, each once; TopicCards
	// counts the cards of each; Labels names them as the cards do.
	Topics     []string
	TopicCards []int
	Labels     []string
	// Cells and Counted are the Outcome's.
	Cells, Counted [][]string
}

// newRow builds a patient's row from what the service said.
func (t Topic) newRow(id string, o Outcome) (Row, error) {
	if len(o.Cells) != len(t.Columns) || len(o.Counted) != len(t.Counts) {
		return Row{}, fmt.Errorf("population: the topic gave %d cells and %d counts, not %d and %d",
			len(o.Cells), len(o.Counted), len(t.Columns), len(t.Counts))
	}
	r := Row{ID: id, Cards: len(o.Cards), Cells: o.Cells, Counted: o.Counted}
	for _, c := range o.Cards {
		topic := ""
		if c.Source.Topic != nil {
			topic = c.Source.Topic.Code
		}
		if n := len(r.Topics); n > 0 && r.Topics[n-1] == topic {
			r.TopicCards[n-1]++
			continue
		}
		r.Topics = append(r.Topics, topic)
		r.TopicCards = append(r.TopicCards, 1)
		r.Labels = append(r.Labels, t.label(topic))
	}
	return r, nil
}

// worklistHeader is the first line of worklist.csv. topics holds the topic
// codes, the product's interface that tools filter on; topic_labels, last so
// that the columns before it keep their places, holds the same topics in the
// words of the cards for the person reading the worklist.
func (t Topic) worklistHeader() []string {
	return append(append([]string{"patient", "cards", "topics"}, t.Columns...), "topic_labels")
}

// listSep joins the values of one cell.
const listSep = "; "

// csvLine encodes one CSV record with its newline.
func csvLine(fields []string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(fields)
	w.Flush()
	return b.Bytes()
}

// worklistLine is the row's line of worklist.csv.
func (r Row) worklistLine() []byte {
	fields := []string{r.ID, strconv.Itoa(r.Cards), strings.Join(r.Topics, listSep)}
	for _, cell := range r.Cells {
		fields = append(fields, strings.Join(cell, listSep))
	}
	return csvLine(append(fields, strings.Join(r.Labels, listSep)))
}
