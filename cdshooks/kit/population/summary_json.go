package population

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// summary.json keeps the members of a Summary in a fixed order, the topic's
// lists (Summary.Lists) under their own keys between topics and problems, so
// that tools reading it find a topic's counts where they always were.

type member struct {
	key   string
	value any
}

// MarshalJSON writes the summary's members in their order.
func (s Summary) MarshalJSON() ([]byte, error) {
	members := []member{
		{"run", s.Run}, {"patients", s.Patients}, {"patients_with_cards", s.PatientsWithCards}, {"cards", s.Cards},
		{"cards_per_patient", s.CardsPerPatient}, {"topics", s.Topics},
	}
	for _, l := range s.Lists {
		members = append(members, member{l.Key, l.Counts})
	}
	members = append(members, member{"problems", s.Problems}, member{"problem_samples", s.ProblemSamples})
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		key, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		value, err := json.Marshal(m.value)
		if err != nil {
			return nil, fmt.Errorf("summary member %s: %w", m.key, err)
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a summary: the fixed members, and every other member
// holding a list of counts as one of Lists, in the file's order. Members of
// another shape are ignored, as encoding/json ignores unknown fields.
func (s *Summary) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("a summary is a JSON object")
	}
	*s = Summary{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		var target any
		switch key {
		case "run":
			target = &s.Run
		case "patients":
			target = &s.Patients
		case "patients_with_cards":
			target = &s.PatientsWithCards
		case "cards":
			target = &s.Cards
		case "cards_per_patient":
			target = &s.CardsPerPatient
		case "topics":
			target = &s.Topics
		case "problems":
			target = &s.Problems
		case "problem_samples":
			target = &s.ProblemSamples
		}
		if target != nil {
			if err := dec.Decode(target); err != nil {
				return fmt.Errorf("summary member %s: %w", key, err)
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		var counts []Count
		if json.Unmarshal(raw, &counts) == nil && counts != nil {
			s.Lists = append(s.Lists, List{Key: key, Counts: counts})
		}
	}
	_, err := dec.Token()
	return err
}
