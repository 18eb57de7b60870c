package knowledge

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/cramp-cds/cramp-cds/fhir"
)

// ErrUnknownUnit is returned (wrapped) by Lab.ToCanonical for a unit the lab does not list.
var ErrUnknownUnit = errors.New("unknown unit")

// ToCanonical converts q to the lab's canonical unit (e.g. magnesium 0.85 mmol/L to 2.07 mg/dL).
// The unit is looked up by q.Code, then by q.Unit, exactly and then ignoring case. It returns an error
// wrapping ErrUnknownUnit for a unit the lab does not list, and an error for a value that is not finite.
// q.Comparator is left to the caller: "<0.5 mmol/L" converts to the bound. It is pure and does not allocate
// on success.
func (l *Lab) ToCanonical(q fhir.Quantity) (float64, error) {
	if math.IsNaN(q.Value) || math.IsInf(q.Value, 0) {
		return 0, fmt.Errorf("%s: value is not a finite number", l.ID)
	}
	u, ok := l.unit(q.Code)
	if !ok {
		u, ok = l.unit(q.Unit)
	}
	if !ok {
		return 0, fmt.Errorf("%s: %w %q (want one of %s)", l.ID, ErrUnknownUnit, firstNonEmpty(q.Code, q.Unit), l.unitList())
	}
	v := q.Value*u.Multiply/u.Divide + u.Add
	if math.IsInf(v, 0) {
		return 0, fmt.Errorf("%s: value %g %s overflows when converted", l.ID, q.Value, u.Code)
	}
	return v, nil
}

func (l *Lab) unit(code string) (Unit, bool) {
	code = strings.TrimSpace(code)
	if code == "" {
		return Unit{}, false
	}
	for _, u := range l.Units {
		if u.Code == code {
			return u, true
		}
	}
	for _, u := range l.Units {
		if strings.EqualFold(u.Code, code) {
			return u, true
		}
	}
	return Unit{}, false
}

func (l *Lab) unitList() string {
	codes := make([]string, len(l.Units))
	for i, u := range l.Units {
		codes[i] = u.Code
	}
	return strings.Join(codes, ", ")
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Crossed reports whether value, in the lab's canonical unit, is beyond the threshold.
func (t Threshold) Crossed(value float64) bool {
	switch t.Op {
	case "<":
		return value < t.Value
	case "<=":
		return value <= t.Value
	case ">":
		return value > t.Value
	case ">=":
		return value >= t.Value
	}
	return false
}
