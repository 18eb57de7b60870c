// Package legcramps is the nocturnal-leg-cramps product on top of the CDS
// Hooks protocol package: the patient-view service (PatientView) and the
// order-select/order-sign service (InducingOrder), their prefetch templates,
// the record-gathering step, and their cards: topics, sources, override
// reasons, wording and uuids.
//
// Clinical meaning comes from the knowledge package and the patient's record
// from the fhir package; this package decides only what to ask the EHR for
// and how the findings read on a card.
package legcramps
