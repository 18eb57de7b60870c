package feedback

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"
)

// FlagOverrideRate is the override rate above which a topic is flagged:
// advice that clinicians dismiss this often is training them to dismiss it.
const FlagOverrideRate = 0.9

// FlagMinDecisions is how many decisions (accepted plus overridden) a topic
// needs before it can be flagged, so one early override is not a verdict.
const FlagMinDecisions = 10

// Report is the history of a store since a date, per topic and knowledge
// version, for a CDS committee: what was issued, what clinicians did with it
// and why, and what is snoozed now.
type Report struct {
	Since     time.Time `json:"since"`
	Generated time.Time `json:"generated"`
	Topics    []Topic   `json:"topics"`
}

// Topic is one topic under one knowledge version.
type Topic struct {
	Topic string `json:"topic"`
	// Label is the topic's name in the service's own words (see Name), ""
	// when the service did not name it.
	Label            string `json:"label,omitempty"`
	KnowledgeVersion string `json:"knowledgeVersion"`
	// Issued counts cards sent; Patients the distinct patients they were for.
	Issued   int `json:"issued"`
	Patients int `json:"patients"`
	// Feedback counts feedback items; Accepted and Overridden split them.
	Feedback   int `json:"feedback"`
	Accepted   int `json:"accepted"`
	Overridden int `json:"overridden"`
	// OverrideRate is Overridden / Feedback (0 without feedback): of the
	// decisions clinicians reported, the share that dismissed the card.
	OverrideRate float64 `json:"overrideRate"`
	// Reasons counts overrides by reason code ("" for none given), most first.
	Reasons []Reason `json:"reasons"`
	// SnoozesInForce counts snoozes of this topic not yet expired.
	SnoozesInForce int `json:"snoozesInForce"`
	// Flagged is set when OverrideRate > FlagOverrideRate over at least
	// FlagMinDecisions decisions.
	Flagged bool `json:"flagged"`
	// Days is the history per UTC day, oldest first, days without activity left out.
	Days []Day `json:"days"`
}

// Reason is one override reason and how often it was given.
type Reason struct {
	Code string `json:"code"`
	// Label is the reason as the card offered it (see Name), "" when not named.
	Label string `json:"label,omitempty"`
	Count int    `json:"count"`
}

// Names are a service's names for its topic and override reason codes:
// this package stores only codes, and a committee reads the words the
// cards used.
type Names struct {
	Topics, Reasons map[string]string
}

// Name labels r's topics and override reasons with names; codes names lacks
// keep no label and are shown as codes.
func (r *Report) Name(names Names) {
	for i := range r.Topics {
		t := &r.Topics[i]
		t.Label = names.Topics[t.Topic]
		for j := range t.Reasons {
			t.Reasons[j].Label = names.Reasons[t.Reasons[j].Code]
		}
	}
}

// Day is one UTC day of a topic's history.
type Day struct {
	Date       string `json:"date"`
	Issued     int    `json:"issued"`
	Accepted   int    `json:"accepted"`
	Overridden int    `json:"overridden"`
}

// dayMillis is one day in the unit of the time columns; the queries divide by it.
const dayMillis = 24 * 60 * 60 * 1000

// Report aggregates the history since a time.
func (s *SQL) Report(ctx context.Context, since, now time.Time) (*Report, error) {
	acc := newReportBuilder()
	from := millis(since)
	queries := []struct {
		what string
		sql  string
		args []any
		scan func(*sql.Rows) error
	}{
		{"cards", `SELECT topic, knowledge_version, COUNT(*), COUNT(DISTINCT patient) FROM cards
		           WHERE issued_at >= $1 GROUP BY topic, knowledge_version`, []any{from},
			func(r *sql.Rows) error {
				var topic, version string
				var issued, patients int
				if err := r.Scan(&topic, &version, &issued, &patients); err != nil {
					return err
				}
				t := acc.topic(topic, version)
				t.Issued, t.Patients = issued, patients
				return nil
			}},
		// A card counts once per decision (accepted, overridden) however
		// often feedback repeated it, and once per reason it was given.
		{"feedback", `SELECT topic, knowledge_version, outcome, COUNT(DISTINCT card) FROM outcomes
		              WHERE received_at >= $1 GROUP BY topic, knowledge_version, outcome`, []any{from},
			func(r *sql.Rows) error {
				var topic, version, outcome string
				var n int
				if err := r.Scan(&topic, &version, &outcome, &n); err != nil {
					return err
				}
				t := acc.topic(topic, version)
				switch outcome {
				case "accepted":
					t.Accepted += n
				case "overridden":
					t.Overridden += n
				default:
					return nil
				}
				t.Feedback += n
				return nil
			}},
		{"override reasons", `SELECT topic, knowledge_version, reason_code, COUNT(DISTINCT card) FROM outcomes
		                      WHERE received_at >= $1 AND outcome = 'overridden'
		                      GROUP BY topic, knowledge_version, reason_code`, []any{from},
			func(r *sql.Rows) error {
				var topic, version, reason string
				var n int
				if err := r.Scan(&topic, &version, &reason, &n); err != nil {
					return err
				}
				acc.reason(topic, version, reason, n)
				return nil
			}},
		{"snoozes", `SELECT topic, knowledge_version, COUNT(*) FROM snoozes
		             WHERE snoozed_until > $1 GROUP BY topic, knowledge_version`, []any{millis(now)},
			func(r *sql.Rows) error {
				var topic, version string
				var n int
				if err := r.Scan(&topic, &version, &n); err != nil {
					return err
				}
				acc.topic(topic, version).SnoozesInForce = n
				return nil
			}},
		{"cards per day", `SELECT topic, knowledge_version, issued_at / 86400000, COUNT(*) FROM cards
		                   WHERE issued_at >= $1 GROUP BY topic, knowledge_version, issued_at / 86400000`,
			[]any{from},
			func(r *sql.Rows) error {
				var topic, version string
				var day int64
				var n int
				if err := r.Scan(&topic, &version, &day, &n); err != nil {
					return err
				}
				acc.day(topic, version, day).Issued += n
				return nil
			}},
		{"feedback per day", `SELECT topic, knowledge_version, received_at / 86400000, outcome, COUNT(DISTINCT card) FROM outcomes
		                      WHERE received_at >= $1 GROUP BY topic, knowledge_version, received_at / 86400000, outcome`,
			[]any{from},
			func(r *sql.Rows) error {
				var topic, version, outcome string
				var day int64
				var n int
				if err := r.Scan(&topic, &version, &day, &outcome, &n); err != nil {
					return err
				}
				d := acc.day(topic, version, day)
				switch outcome {
				case "accepted":
					d.Accepted += n
				case "overridden":
					d.Overridden += n
				}
				return nil
			}},
	}
	for _, q := range queries {
		if err := s.queryRows(ctx, q.sql, q.scan, q.args...); err != nil {
			return nil, fmt.Errorf("reporting %s: %w", q.what, err)
		}
	}
	return acc.build(since, now), nil
}

// Caps on what one report holds, whatever the database holds (without them a
// report over rows with made-up reason codes needs 1.3 GB): groups
// beyond them are folded into one, named otherGroup.
const (
	maxReportTopics  = 1000 // topic and knowledge version pairs
	maxReportReasons = 50   // override reasons per topic
	maxReportDays    = 1000 // days per topic (retention keeps 400)
	maxReportValue   = 128  // bytes of a topic, version or reason shown
)

// otherGroup names the group rows beyond a cap are counted in.
const otherGroup = "(other)"

// reportBuilder gathers query rows into topics.
type reportBuilder struct {
	topics map[[2]string]*Topic
	days   map[[2]string]map[int64]*Day
}

// reason counts n overrides of a topic with a reason code, folding codes
// beyond maxReportReasons (or over maxReportValue bytes) into otherGroup.
func (b *reportBuilder) reason(topic, version, code string, n int) {
	t := b.topic(topic, version)
	if len(code) > maxReportValue {
		code = otherGroup
	}
	for i := range t.Reasons {
		if t.Reasons[i].Code == code {
			t.Reasons[i].Count += n
			return
		}
	}
	if len(t.Reasons) >= maxReportReasons {
		code = otherGroup
		for i := range t.Reasons {
			if t.Reasons[i].Code == code {
				t.Reasons[i].Count += n
				return
			}
		}
	}
	t.Reasons = append(t.Reasons, Reason{Code: code, Count: n})
}

func newReportBuilder() *reportBuilder {
	return &reportBuilder{topics: map[[2]string]*Topic{}, days: map[[2]string]map[int64]*Day{}}
}

func (b *reportBuilder) topic(topic, version string) *Topic {
	k := b.key(topic, version)
	t, ok := b.topics[k]
	if !ok {
		topic, version = k[0], k[1]
		t = &Topic{Topic: topic, KnowledgeVersion: version, Reasons: []Reason{}, Days: []Day{}}
		b.topics[k] = t
	}
	return t
}

// key is the group a topic and version are counted in: their own while
// there is room for it, else otherGroup's.
func (b *reportBuilder) key(topic, version string) [2]string {
	k := [2]string{topic, version}
	if _, ok := b.topics[k]; ok {
		return k
	}
	if len(topic) > maxReportValue || len(version) > maxReportValue || len(b.topics) >= maxReportTopics-1 {
		return [2]string{otherGroup, otherGroup}
	}
	return k
}

func (b *reportBuilder) day(topic, version string, day int64) *Day {
	k := b.key(topic, version)
	b.topic(topic, version)
	if b.days[k] == nil {
		b.days[k] = map[int64]*Day{}
	}
	d, ok := b.days[k][day]
	if !ok && len(b.days[k]) >= maxReportDays {
		return &Day{} // counted nowhere: the report shows the first maxReportDays days
	}
	if !ok {
		d = &Day{Date: time.UnixMilli(day * dayMillis).UTC().Format(time.DateOnly)}
		b.days[k][day] = d
	}
	return d
}

// build orders topics by code then version, reasons by count, days by date,
// and derives the rates and flags.
func (b *reportBuilder) build(since, now time.Time) *Report {
	r := &Report{Since: since.UTC(), Generated: now.UTC(), Topics: []Topic{}}
	for k, t := range b.topics {
		if t.Feedback > 0 {
			t.OverrideRate = float64(t.Overridden) / float64(t.Feedback)
		}
		t.Flagged = t.OverrideRate > FlagOverrideRate && t.Accepted+t.Overridden >= FlagMinDecisions
		sort.Slice(t.Reasons, func(i, j int) bool {
			if t.Reasons[i].Count != t.Reasons[j].Count {
				return t.Reasons[i].Count > t.Reasons[j].Count
			}
			return t.Reasons[i].Code < t.Reasons[j].Code
		})
		for _, d := range b.days[k] {
			t.Days = append(t.Days, *d)
		}
		sort.Slice(t.Days, func(i, j int) bool { return t.Days[i].Date < t.Days[j].Date })
		r.Topics = append(r.Topics, *t)
	}
	sort.Slice(r.Topics, func(i, j int) bool {
		if r.Topics[i].Topic != r.Topics[j].Topic {
			return r.Topics[i].Topic < r.Topics[j].Topic
		}
		return r.Topics[i].KnowledgeVersion < r.Topics[j].KnowledgeVersion
	})
	return r
}
