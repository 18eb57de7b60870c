package cdshooks

import (
	"bytes"
	"encoding/json"
)

// checkDuplicateNames refuses a body whose top-level object, or whose context
// or prefetch object, names a member twice. encoding/json keeps the last
// value, and another parser in the path (a gateway, an audit log) may keep the
// first: the two would then disagree on, say, which patient the request is
// about. Deeper objects (the FHIR resources inside prefetch) are skipped, not
// checked: their members are not names we act on.
//
// data must already be known to be one valid JSON object (the typed decode
// has accepted it), so the scanner only tracks structure; it is a byte loop
// rather than json.Decoder tokens because it runs over every request and a
// token walk cost a quarter of the whole evaluation on large prefetches.
func checkDuplicateNames(data []byte) error {
	s := memberScanner{data: data}
	s.space()
	return s.object("", true)
}

// memberScanner walks valid JSON, collecting member names where asked.
type memberScanner struct {
	data []byte
	i    int
}

// object reads the object at s.i; with descend, the members named context and
// prefetch are read the same way (one level), the others skipped.
func (s *memberScanner) object(at string, descend bool) error {
	if !s.at('{') {
		return nil
	}
	s.i++
	seen := map[string]bool{}
	for {
		s.space()
		if !s.at('"') {
			s.i++ // '}' (or a malformed body the decoder would not have accepted)
			return nil
		}
		name := s.name()
		if seen[name] {
			return Errorf(EINVALID, "%s%q appears more than once", at, name)
		}
		seen[name] = true
		s.space()
		s.i++ // ':'
		s.space()
		if descend && (name == "context" || name == "prefetch") && s.at('{') {
			if err := s.object(name+".", false); err != nil {
				return err
			}
		} else {
			s.skipValue()
		}
		s.space()
		if s.at(',') {
			s.i++
		}
	}
}

// name reads the string at s.i as a member name, unescaping it only when it
// holds an escape (so "\u0070atientId" is patientId too).
func (s *memberScanner) name() string {
	start := s.i
	s.skipString()
	raw := s.data[start:min(s.i, len(s.data))]
	if bytes.IndexByte(raw, '\\') < 0 && len(raw) >= 2 {
		return string(raw[1 : len(raw)-1])
	}
	var name string
	_ = json.Unmarshal(raw, &name)
	return name
}

// skipValue moves past the value at s.i.
func (s *memberScanner) skipValue() {
	if s.at('"') {
		s.skipString()
		return
	}
	depth := 0
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case '"':
			s.skipString()
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return // the end of the enclosing object: a scalar ended here
			}
			depth--
			if depth == 0 {
				s.i++
				return
			}
		case ',':
			if depth == 0 {
				return
			}
		}
		s.i++
	}
}

// skipString moves past the string whose opening quote is at s.i.
func (s *memberScanner) skipString() {
	for s.i++; s.i < len(s.data); s.i++ {
		switch s.data[s.i] {
		case '\\':
			s.i++
		case '"':
			s.i++
			return
		}
	}
}

func (s *memberScanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *memberScanner) at(c byte) bool { return s.i < len(s.data) && s.data[s.i] == c }
