package fhir

import "time"

// This file is the one place where FHIR status codes get their meaning for the
// rules. Everything else in the package asks these functions.

// ClockSkew is how far in the future a record's time (a medication's
// authored or asserted time, a condition's onset, a result's effective time
// in the knowledge rules) may lie and still count as "already happened": EHR
// clocks and ours are not in lock step, and an order signed a minute ago must
// not look like a future one.
const ClockSkew = 5 * time.Minute

// Statuses that say a resource "did not happen". Such resources never enter a
// Record; they are dropped while normalising and listed in Record.Skipped.
var (
	// MedicationRequest: cancelled means it never took effect.
	requestNeverHappened = map[string]bool{"entered-in-error": true, "cancelled": true}
	// MedicationStatement: not-taken means the patient is known not to take it.
	statementNeverHappened = map[string]bool{"entered-in-error": true, "not-taken": true}
	// MedicationAdministration: not-done means it was not given.
	administrationNeverHappened = map[string]bool{"entered-in-error": true, "not-done": true}
	// Condition.verificationStatus: refuted means "ruled out".
	conditionNeverHappened = map[string]bool{"entered-in-error": true, "refuted": true}
)

// currentMedicationStatus lists the statuses under which a medication entry is
// being taken now. Only "active", for both resource types:
//   - on-hold (both): the drug is paused, so it is not in the patient now and
//     cannot explain cramps happening now; a rule that cares about held drugs
//     can still read Medication.Status.
//   - intended (MedicationStatement): the patient has not started it yet.
//   - draft (MedicationRequest): not signed; order hooks read drafts explicitly.
//   - stopped, completed: finished. unknown: we cannot say, and a card must
//     not claim a drug is current on a guess.
var currentMedicationStatus = map[string]bool{"active": true}

// nonPrescribingIntent lists MedicationRequest intents that are not a decision
// to give the drug: a proposal (e.g. from another CDS system) or one option of
// a plan. They are kept in the Record but are never current.
var nonPrescribingIntent = map[string]bool{"proposal": true, "option": true}

// takenStatus lists the medication statuses under which the drug was taken or
// given at some time: active, completed, and an administration in progress.
// A MedicationAdministration is never current (its status is never "active"):
// it records one dose.
var takenStatus = map[string]bool{"active": true, "completed": true, "in-progress": true}

// presentClinicalStatus lists the Condition clinical statuses under which the
// condition is present.
var presentClinicalStatus = map[string]bool{"active": true, "recurrence": true, "relapse": true}

// resultStatus lists the Observation statuses that make it a result.
// cancelled and entered-in-error never were; unknown cannot be trusted.
var resultStatus = map[string]bool{"final": true, "amended": true, "corrected": true}

// pendingStatus lists the Observation statuses of a test ordered or under way
// whose result is not final yet. They are kept in a Record (with resultStatus
// the only ones), so that a rule can tell "pending" from "never ordered"; they
// are never judged as results. partial is a DiagnosticReport code that some
// servers send on Observations too.
var pendingStatus = map[string]bool{"registered": true, "preliminary": true, "partial": true}

// draftNotOrdered lists the statuses of a draft MedicationRequest in an order
// hook's draftOrders that is not an order being placed: withdrawn
// (cancelled), recorded by mistake, or already over. order-sign also fires on
// "re-sign" after a revision, so active and on-hold drafts are still being
// ordered.
var draftNotOrdered = map[string]bool{"cancelled": true, "entered-in-error": true, "stopped": true, "completed": true}

// DraftBeingOrdered reports whether a draft MedicationRequest of an order
// hook is an order being placed: its status is not one of draftNotOrdered,
// and it is not an order not to give the drug (doNotPerform).
func DraftBeingOrdered(status string, doNotPerform bool) bool {
	return !draftNotOrdered[status] && !doNotPerform
}

// IsCurrentStatus reports whether a MedicationRequest or MedicationStatement
// status means the drug is being taken now (only "active").
func IsCurrentStatus(status string) bool { return currentMedicationStatus[status] }

// IsResultStatus reports whether an Observation status makes it a result
// (final, amended or corrected).
func IsResultStatus(status string) bool { return resultStatus[status] }

// IsPendingStatus reports whether an Observation status says the test is
// registered or under way with no final result yet (registered, preliminary
// or partial).
func IsPendingStatus(status string) bool { return pendingStatus[status] }

// ActiveAt reports whether the medication is being taken at t: its status is
// current, its intent is a real prescription, it had been authored or asserted
// by t (allowing a few minutes of clock skew), and t lies inside its effective
// period (open sides are unbounded).
func (m Medication) ActiveAt(t time.Time) bool {
	if !IsCurrentStatus(m.Status) || nonPrescribingIntent[m.Intent] {
		return false
	}
	if !m.Asserted.IsZero() && m.Asserted.After(t.Add(ClockSkew)) {
		return false
	}
	return m.Effective.Contains(t)
}

// Contains reports whether t lies in the period: at or after Start and before
// End, with a zero side unbounded.
func (p Period) Contains(t time.Time) bool {
	if !p.Start.IsZero() && t.Before(p.Start) {
		return false
	}
	return p.End.IsZero() || t.Before(p.End)
}

// PresentAt reports whether the condition is present at t. The clinical
// status must be active, recurrence or relapse; a condition with no clinical
// status (allowed for some EHR diagnosis lists) counts as present unless it has
// abated. In both cases an onset after t or an abatement at or before t means
// "not present at t". Refuted and entered-in-error conditions never reach a
// Record, so the verification status needs no check here.
func (c Condition) PresentAt(t time.Time) bool {
	if c.ClinicalStatus != "" && !presentClinicalStatus[c.ClinicalStatus] {
		return false
	}
	if !c.Onset.IsZero() && c.Onset.After(t.Add(ClockSkew)) {
		return false
	}
	return c.Abatement.IsZero() || t.Before(c.Abatement)
}

// HasCategory reports whether the condition carries the category code (for
// example "problem-list-item" or "encounter-diagnosis").
func (c Condition) HasCategory(code string) bool {
	for _, have := range c.Categories {
		if have == code {
			return true
		}
	}
	return false
}

// IsPresentStatus reports whether a Condition clinical status says the
// condition is present (active, recurrence or relapse); "" is not a status.
func IsPresentStatus(status string) bool { return presentClinicalStatus[status] }

// LastTaken reports when the medication was last being taken (or given) as of
// t, for an entry whose status says it was taken: active or completed (for an
// administration also in-progress), and a real prescription (not a proposal or
// an option of a plan). For an entry
// ActiveAt(t) it is t. Otherwise it is the end of its effective period, else
// its start, else when it was asserted: the first of these that is known and
// not after t (with clock skew). ok is false when none is, or the status or
// intent says the drug was not taken (stopped, on-hold, not-taken...).
//
// Rules use it for drugs given in courses rather than daily, such as an iron
// infusion completed last week.
func (m Medication) LastTaken(t time.Time) (last time.Time, ok bool) {
	if m.ActiveAt(t) {
		return t, true
	}
	if !takenStatus[m.Status] || nonPrescribingIntent[m.Intent] {
		return time.Time{}, false
	}
	for _, d := range []time.Time{m.Effective.End, m.Effective.Start, m.Asserted} {
		if !d.IsZero() && !d.After(t.Add(ClockSkew)) {
			return d, true
		}
	}
	return time.Time{}, false
}
