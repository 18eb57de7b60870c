// Package legcramps is the nocturnal-leg-cramps topic, built on the kit
// (cdshooks/kit): the patient-view service (PatientView) and the
// order-select/order-sign service (InducingOrder), their prefetch templates,
// their card topics and override reasons, and their cards' wording, one file
// per card kind (card_*.go, the text they share in format.go).
//
// Clinical meaning comes from the knowledge package and the patient's record
// from the fhir package; gathering the record, card uuids, snoozes and
// sources come from the kit. This package decides only what to ask the EHR
// for and how the findings read on a card.
package legcramps
