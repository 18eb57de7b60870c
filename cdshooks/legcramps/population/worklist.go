package population

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// IDs turns a bare Patient.id into the id the worklist shows.
type IDs func(patientID string) string

// PlainIDs shows patient ids as they are.
func PlainIDs() IDs { return func(id string) string { return id } }

// HashedIDs shows a pseudonym instead of the id: "h:" and the first 128 bits
// of HMAC-SHA256(key, id) in hex. The same key always gives the same
// pseudonym, so shards and later runs line up; without a secret key, anyone
// holding the patient ids can recompute the pseudonyms, so a worklist that
// leaves the hospital's systems needs one.
func HashedIDs(key []byte) IDs {
	return func(id string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id))
		return "h:" + hex.EncodeToString(m.Sum(nil)[:16])
	}
}

// KeyCheck is a short fingerprint of a HashedIDs key: the first 32 bits of
// its HMAC over a fixed text, so it tells keys apart and reveals nothing a
// pseudonym does not.
func KeyCheck(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("cramp-cds population id key check"))
	return hex.EncodeToString(m.Sum(nil)[:4])
}

// Row is one patient's line of the worklist.
type Row struct {
	// ID is the patient's id as IDs made it.
	ID    string
	Cards int
	// Topics are the card topic codes, in card order, each once; TopicCards
	// counts the cards of each.
	Topics     []string
	TopicCards []int
	// Ingredients are the cramp-inducing ingredients (or, when only the
	// class is known, the classes) of the medication cards.
	Ingredients []string
	// MissingAnalytes are the work-up labs with no recent result and no
	// order of them on its way: a worklist of care gaps does not list a test
	// already ordered, as the card does not propose it again.
	MissingAnalytes []string
	// AbnormalLabs are the analytes with an abnormal latest result, and
	// AbnormalResults the summaries of their cards, e.g.
	// "Potassium 3.1 mmol/L on 2020-03-02: hypokalemia".
	AbnormalLabs    []string
	AbnormalResults []string
}

// newRow builds a patient's row from what the service said.
func newRow(id string, o Outcome) Row {
	r := Row{ID: id, Cards: len(o.Cards)}
	for _, c := range o.Cards {
		topic := ""
		if c.Source.Topic != nil {
			topic = c.Source.Topic.Code
		}
		if topic == legcramps.TopicAbnormalLab {
			r.AbnormalResults = append(r.AbnormalResults, c.Summary)
		}
		if n := len(r.Topics); n > 0 && r.Topics[n-1] == topic {
			r.TopicCards[n-1]++
			continue
		}
		r.Topics = append(r.Topics, topic)
		r.TopicCards = append(r.TopicCards, 1)
	}
	if len(o.Cards) == 0 || o.Findings == nil {
		return r
	}
	f := o.Findings
	for _, m := range f.Medications {
		r.Ingredients = append(r.Ingredients, ingredientName(m))
	}
	for _, m := range f.MissingLabs {
		if m.Ordered != nil {
			continue
		}
		r.MissingAnalytes = append(r.MissingAnalytes, m.Workup.Name)
	}
	for _, a := range f.AbnormalLabs {
		r.AbnormalLabs = append(r.AbnormalLabs, a.Lab.Name)
	}
	return r
}

func ingredientName(m knowledge.MedicationFinding) string {
	if m.Ingredient != nil {
		return m.Ingredient.Name
	}
	return m.Class.Name + " (class)"
}

// worklistHeader is the first line of worklist.csv. topics holds the topic
// codes, the product's interface that tools filter on; topic_labels, last so
// that the columns before it keep their places, holds the same topics in the
// words of the cards for the person reading the worklist.
var worklistHeader = []string{"patient", "cards", "topics", "cramp_inducing_ingredients", "missing_analytes", "abnormal_results", "topic_labels"}

// topicLabel is the display of a card topic code (legcramps.Topics), or the
// code itself when it is not one of ours.
func topicLabel(code string) string {
	for _, t := range legcramps.Topics() {
		if t.Code == code {
			return t.Display
		}
	}
	return code
}

// topicLabels returns the labels of codes, in order.
func topicLabels(codes []string) []string {
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = topicLabel(c)
	}
	return out
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
	return csvLine([]string{
		r.ID, strconv.Itoa(r.Cards), strings.Join(r.Topics, listSep), strings.Join(r.Ingredients, listSep),
		strings.Join(r.MissingAnalytes, listSep), strings.Join(r.AbnormalResults, listSep),
		strings.Join(topicLabels(r.Topics), listSep),
	})
}
