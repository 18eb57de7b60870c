// Package fhir reads a patient's FHIR R4 data into the small Record the
// clinical rules reason on.
//
// Data arrives three ways: as CDS Hooks prefetch values, from the EHR's FHIR
// server when prefetch is absent or failed (Gatherer), or as a whole-patient
// Bundle file (ReadBundle). Each document is read in one pass over its bytes
// (decode.go), straight into the few fields the rules read, with member
// names matched exactly; one bad resource is skipped and reported rather
// than failing the rest, and resources are normalised by FHIR status rules
// kept in one place (status.go). Only ids of the FHIR grammar (ValidID), and
// only resources about the request's patient, reach a Record.
//
// Fetching is guarded: only allow-listed servers, https unless allowed
// otherwise, no redirects, next links only on the same server, capped pages
// and bytes, one deadline, and the access token sent only to that server and
// never logged. Data that cannot be obtained is reported as such
// (UnavailableError), never treated as absent.
package fhir
