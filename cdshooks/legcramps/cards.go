package legcramps

import (
	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
)

// This file holds the leg-cramp cards' topics and override reasons; their
// codes, uuids and sources are the kit's.

// The card topic codes (in kit.TopicSystem). Each is listed in Topics.
const (
	TopicMedication          = "cramp-medication"
	TopicMissingLabs         = "cramp-missing-labs"
	TopicAbnormalLab         = "cramp-abnormal-lab"
	TopicAssociatedCondition = "cramp-associated-condition"
	TopicDifferential        = "cramp-differential"
	TopicInducingOrder       = "cramp-inducing-order"
)

// Topics lists every topic of the leg-cramp cards with its display, one
// line each, for the binary's kit.Registry. The position of a topic in the
// registry is written into its cards' uuids: append new topics at the end,
// never reorder, and register this list first.
func Topics() []cdshooks.Coding {
	return kit.Topics(
		[2]string{TopicMedication, "Medications that can cause leg cramps"},
		[2]string{TopicMissingLabs, "Work-up labs without a recent result"},
		[2]string{TopicAbnormalLab, "Results that may worsen leg cramps"},
		[2]string{TopicAssociatedCondition, "Conditions associated with leg cramps"},
		[2]string{TopicDifferential, "Disorders that mimic leg cramps"},
		[2]string{TopicInducingOrder, "Ordered drug that can cause leg cramps"},
	)
}

// The override reason codes of the leg-cramp cards, besides the kit's
// snoozing ones (kit.OverrideAlreadyReviewed, kit.OverrideNotRelevant).
// Feedback reports count them: never rename one.
const (
	OverrideBenefitOutweighsRisk = "benefit-outweighs-risk"
	OverridePatientNotTaking     = "patient-not-taking"
	OverrideOrderedElsewhere     = "already-ordered"
)

// Reasons are the override reasons the leg-cramp cards offer.
func Reasons() kit.Reasons {
	return kit.NewReasons(
		[2]string{OverrideBenefitOutweighsRisk, "Benefit outweighs the risk of cramps"},
		[2]string{OverridePatientNotTaking, "Patient is not taking it"},
		[2]string{OverrideOrderedElsewhere, "Already ordered or done elsewhere"},
	)
}

// OverrideReasons returns the override reason Codings for the given codes, in
// that order, each with its display. It panics on an unknown code (a
// programming error any test of the card catches).
func OverrideReasons(codes ...string) []cdshooks.Coding {
	return Reasons().Pick(codes...)
}

// MedicationOverrideReasons are the reasons offered on a card about a drug the
// patient takes; already reviewed and not relevant snooze the card (every
// card offers those two: see kit.WithSnoozeReasons).
func MedicationOverrideReasons() []cdshooks.Coding {
	return OverrideReasons(OverrideBenefitOutweighsRisk, kit.OverrideAlreadyReviewed, OverridePatientNotTaking, kit.OverrideNotRelevant)
}
