package legcramps

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cramp-cds/cramp-cds/knowledge"
)

// This file says what makes a leg-cramp card the same card for a patient
// (its fingerprint, see kit.CardIDs): a card whose fingerprint changed is
// shown again however it was snoozed.

// Fingerprints: what makes a card the same card for a patient. Each lists
// parts in a canonical order; Key.Fingerprint hashes them.

// medicationAbout is the ingredient (or class) and every current drug that
// holds it, as recognised: a new drug with the ingredient is a new card.
func medicationAbout(m knowledge.MedicationFinding) []string {
	drugs := make([]string, 0, len(m.Entries))
	for _, e := range m.Entries {
		drugs = append(drugs, fmt.Sprint(e.Match.Kind)+":"+e.Match.Matched)
	}
	slices.Sort(drugs)
	return append([]string{m.Key()}, slices.Compact(drugs)...)
}

// medicationsAbout is the fingerprint of the one medication card: every
// ingredient (or class) with its drugs, sorted, so a new drug with any of
// them makes a new card.
func medicationsAbout(ms []knowledge.MedicationFinding) []string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, medicationAbout(m)...)
	}
	slices.Sort(parts)
	return slices.Compact(parts)
}

// abnormalLabsAbout is the fingerprint of a results card: each result's
// analyte, direction, threshold and date, sorted (see abnormalLabAbout).
func abnormalLabsAbout(as []knowledge.AbnormalLabFinding) []string {
	parts := make([]string, 0, len(as))
	for _, a := range as {
		parts = append(parts, strings.Join(abnormalLabAbout(a), "|"))
	}
	slices.Sort(parts)
	return parts
}

// abnormalLabAbout is the analyte, which way it is abnormal, and when the
// result was taken: a newer abnormal result is a new card.
func abnormalLabAbout(a knowledge.AbnormalLabFinding) []string {
	return []string{a.Lab.ID, a.Threshold.Op, a.Threshold.Finding, a.Result.Observation.Effective.UTC().Format(time.RFC3339)}
}

// missingLabsAbout is the set of work-ups without a recent result.
func missingLabsAbout(ms []knowledge.MissingLabFinding) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.Workup.ID
	}
	slices.Sort(ids)
	return ids
}

// conditionsAbout is the set of conditions a card names.
func conditionsAbout(cs []knowledge.ConditionFinding) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.Condition.ID
	}
	slices.Sort(ids)
	return ids
}

// orderAbout is the set of cramp-inducing ingredients (or classes) of a draft.
func orderAbout(o orderedDrug) []string {
	ids := make([]string, 0, len(o.matches))
	for _, m := range o.matches {
		if m.Ingredient != nil {
			ids = append(ids, "ingredient:"+m.Ingredient.ID)
		} else {
			ids = append(ids, "class:"+m.Class.ID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}
