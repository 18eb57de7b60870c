// Package kit is what every CDS service of this module needs besides its own
// topic: gathering the patient's record from prefetch or the FHIR server
// (Env), card topics and the uuids that carry them (Registry, CardIDs), the
// snooze and feedback policy (Memory), card sources and override reasons
// (Sources, Reasons), and the population runner (sub-package population).
//
// A topic package (such as cdshooks/legcramps) builds its services from these
// parts and adds only what is about its topic: prefetch templates, rules and
// card wording. The kit knows no topic: a second one is a second package
// beside the first, not an edit here.
package kit
