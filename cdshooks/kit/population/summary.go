package population

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"github.com/cramp-cds/cramp-cds/fhir/bulk"
)

// Summary is summary.json: what a run found, in counts that add up across
// shards (Merge sums them), and the run it describes.
type Summary struct {
	Run RunInfo `json:"run"`
	// Patients were evaluated; PatientsWithCards would have seen at least
	// one card; Cards is every card all of them would have seen.
	Patients          int `json:"patients"`
	PatientsWithCards int `json:"patients_with_cards"`
	Cards             int `json:"cards"`
	// CardsPerPatient counts the patients by the number of cards they would
	// see, 0 included, by increasing number of cards.
	CardsPerPatient []Bucket `json:"cards_per_patient"`
	// Topics counts, per card topic, the patients with such a card and the cards.
	Topics []Count `json:"topics"`
	// Lists are the topic's counts of patients per name (Topic.Counts), in
	// summary.json each a member of its own between topics and problems.
	Lists []List `json:"-"`
	// Problems counts the input skipped; ProblemSamples are the first of
	// them by file and line (problems.csv has all).
	Problems       int            `json:"problems"`
	ProblemSamples []bulk.Problem `json:"problem_samples"`
}

// List is one of a topic's counts: patients per name.
type List struct {
	Key    string
	Counts []Count
}

// List returns the counts of the list named key, nil when there is none.
func (s *Summary) List(key string) []Count {
	for _, l := range s.Lists {
		if l.Key == key {
			return l.Counts
		}
	}
	return nil
}

// Bucket is a number of cards and how many patients would see that many.
type Bucket struct {
	Cards    int `json:"cards"`
	Patients int `json:"patients"`
}

// Count is how many patients (and, for topics, cards) have one thing. Lists
// of counts are ordered by patients, most first, then by name.
type Count struct {
	Name     string `json:"name"`
	Patients int    `json:"patients"`
	Cards    int    `json:"cards,omitempty"`
}

// maxProblemSamples bounds Summary.ProblemSamples.
const maxProblemSamples = 100

// tally adds rows (or whole summaries) up into a Summary.
type tally struct {
	run                        RunInfo
	patients, withCards, cards int
	problems                   int
	cardsPerPatient            map[int]int
	topicPatients, topicCards  map[string]int
	// keys name the topic's lists; lists count patients per name in each.
	keys    []string
	lists   []map[string]int
	samples []bulk.Problem
}

func newTally(run RunInfo, topic Topic) *tally {
	t := &tally{run: run, cardsPerPatient: map[int]int{}, topicPatients: map[string]int{}, topicCards: map[string]int{}}
	for _, l := range topic.Counts {
		t.keys = append(t.keys, l.Key)
		t.lists = append(t.lists, map[string]int{})
	}
	return t
}

func (t *tally) addRow(r *Row) {
	t.patients++
	t.cardsPerPatient[r.Cards]++
	if r.Cards == 0 {
		return
	}
	t.withCards++
	t.cards += r.Cards
	for i, topic := range r.Topics {
		t.topicPatients[topic]++
		t.topicCards[topic] += r.TopicCards[i]
	}
	for i, names := range r.Counted {
		countOnce(t.lists[i], names)
	}
}

// countOnce counts each distinct name of one patient once.
func countOnce(m map[string]int, names []string) {
	for i, n := range names {
		if !slices.Contains(names[:i], n) {
			m[n]++
		}
	}
}

func (t *tally) addProblems(ps []bulk.Problem) {
	t.problems += len(ps)
	t.samples = append(t.samples, ps...)
	if len(t.samples) > 2*maxProblemSamples {
		t.trimSamples()
	}
}

func (t *tally) trimSamples() {
	slices.SortFunc(t.samples, compareProblems)
	t.samples = slices.Compact(t.samples)
	t.samples = t.samples[:min(len(t.samples), maxProblemSamples)]
}

func compareProblems(a, b bulk.Problem) int {
	return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), strings.Compare(a.Reason, b.Reason))
}

// addSummary adds a shard's summary.
func (t *tally) addSummary(s *Summary) {
	t.patients += s.Patients
	t.withCards += s.PatientsWithCards
	t.cards += s.Cards
	for _, b := range s.CardsPerPatient {
		t.cardsPerPatient[b.Cards] += b.Patients
	}
	for _, c := range s.Topics {
		t.topicPatients[c.Name] += c.Patients
		t.topicCards[c.Name] += c.Cards
	}
	for i, key := range t.keys {
		addCounts(t.lists[i], s.List(key))
	}
	t.problems += s.Problems
	t.samples = append(t.samples, s.ProblemSamples...)
	t.trimSamples()
}

func addCounts(m map[string]int, cs []Count) {
	for _, c := range cs {
		m[c.Name] += c.Patients
	}
}

func (t *tally) summary() Summary {
	t.trimSamples()
	s := Summary{
		Run: t.run, Patients: t.patients, PatientsWithCards: t.withCards, Cards: t.cards,
		CardsPerPatient: []Bucket{},
		Topics:          counts(t.topicPatients, t.topicCards),
		Problems:        t.problems,
		ProblemSamples:  append([]bulk.Problem{}, t.samples...),
	}
	for i, key := range t.keys {
		s.Lists = append(s.Lists, List{Key: key, Counts: counts(t.lists[i], nil)})
	}
	for _, n := range slices.Sorted(maps.Keys(t.cardsPerPatient)) {
		s.CardsPerPatient = append(s.CardsPerPatient, Bucket{Cards: n, Patients: t.cardsPerPatient[n]})
	}
	return s
}

func counts(patients, cards map[string]int) []Count {
	out := []Count{}
	for name, n := range patients {
		out = append(out, Count{Name: name, Patients: n, Cards: cards[name]})
	}
	slices.SortFunc(out, func(a, b Count) int {
		return cmp.Or(cmp.Compare(b.Patients, a.Patients), strings.Compare(a.Name, b.Name))
	})
	return out
}
