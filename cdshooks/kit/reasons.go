package kit

import (
	"slices"
	"strconv"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

// OverrideReasonSystem is the code system of the override reasons cramp-cds offers.
const OverrideReasonSystem = "https://cramp-cds.org/override-reason"

// The override reasons every card offers, which snooze it for the patient
// (see Memory). Feedback reports count them: never rename one.
const (
	OverrideAlreadyReviewed = "already-reviewed"
	OverrideNotRelevant     = "not-relevant"
)

// snoozeReasons are the reasons every card offers, with their displays.
func snoozeReasons() []cdshooks.Coding {
	return Codings(OverrideReasonSystem,
		[2]string{OverrideAlreadyReviewed, "Already reviewed with the patient"},
		[2]string{OverrideNotRelevant, "Not relevant for this patient"},
	)
}

// Reasons is the override reasons a topic offers: the snoozing ones every
// card offers, and the topic's own.
type Reasons struct {
	all []cdshooks.Coding
}

// NewReasons returns the snoozing reasons and a topic's own (code, display)
// pairs, in OverrideReasonSystem, in that order.
func NewReasons(own ...[2]string) Reasons {
	return Reasons{all: append(snoozeReasons(), Codings(OverrideReasonSystem, own...)...)}
}

// All returns every reason, snoozing ones first.
func (r Reasons) All() []cdshooks.Coding { return slices.Clone(r.all) }

// Pick returns the reason Codings for the given codes, in that order, each
// with its display. It panics on an unknown code (a programming error any
// test of the card catches).
func (r Reasons) Pick(codes ...string) []cdshooks.Coding {
	out := make([]cdshooks.Coding, 0, len(codes))
	for _, code := range codes {
		i := slices.IndexFunc(r.all, func(c cdshooks.Coding) bool { return c.Code == code })
		if i < 0 {
			panic("kit: unknown override reason " + strconv.Quote(code))
		}
		out = append(out, r.all[i])
	}
	return out
}

// WithSnoozeReasons adds to every card, after its own override reasons, the
// two that snooze it: already reviewed with the patient, not relevant for
// this patient.
func WithSnoozeReasons(cards []cdshooks.Card) {
	snoozing := snoozeReasons()
	for i := range cards {
		for _, r := range snoozing {
			if !slices.ContainsFunc(cards[i].OverrideReasons, func(c cdshooks.Coding) bool { return c.Code == r.Code }) {
				cards[i].OverrideReasons = append(cards[i].OverrideReasons, r)
			}
		}
	}
}
