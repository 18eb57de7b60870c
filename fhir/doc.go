// Package fhir reads a patient's FHIR R4 data into the small Record the
// clinical rules reason on.
//
// Data arrives three ways: as CDS Hooks prefetch values, from the EHR's FHIR
// server when prefetch is absent or failed (Gatherer), or as a whole-patient
// Bundle file (ReadBundle). Resources are decoded one by one with
// golang-fhir-models, so one bad resource is skipped and reported rather than
// failing the rest, and are normalised by FHIR status rules kept in one place
// (status.go). The package never marshals golang-fhir-models types back out.
//
// Fetching is guarded: only allow-listed servers, https unless allowed
// otherwise, no redirects, next links only on the same server, capped pages
// and bytes, one deadline, and the access token sent only to that server and
// never logged. Data that cannot be obtained is reported as such
// (UnavailableError), never treated as absent.
package fhir
