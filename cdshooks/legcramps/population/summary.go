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
	// Ingredients, MissingAnalytes and AbnormalLabs count patients.
	Ingredients     []Count `json:"cramp_inducing_ingredients"`
	MissingAnalytes []Count `json:"missing_analytes"`
	AbnormalLabs    []Count `json:"abnormal_labs"`
	// Problems counts the input skipped; ProblemSamples are the first of
	// them by file and line (problems.csv has all).
	Problems       int            `json:"problems"`
	ProblemSamples []bulk.Problem `json:"problem_samples"`
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
	ingredients, missing, labs map[string]int
	samples                    []bulk.Problem
}

func newTally(run RunInfo) *tally {
	return &tally{
		run: run, cardsPerPatient: map[int]int{}, topicPatients: map[string]int{}, topicCards: map[string]int{},
		ingredients: map[string]int{}, missing: map[string]int{}, labs: map[string]int{},
	}
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
	countOnce(t.ingredients, r.Ingredients)
	countOnce(t.missing, r.MissingAnalytes)
	countOnce(t.labs, r.AbnormalLabs)
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
	addCounts(t.ingredients, s.Ingredients)
	addCounts(t.missing, s.MissingAnalytes)
	addCounts(t.labs, s.AbnormalLabs)
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
		Ingredients:     counts(t.ingredients, nil),
		MissingAnalytes: counts(t.missing, nil),
		AbnormalLabs:    counts(t.labs, nil),
		Problems:        t.problems,
		ProblemSamples:  append([]bulk.Problem{}, t.samples...),
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
