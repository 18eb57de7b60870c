// Package cdshooks is the CDS Hooks 2.0 protocol (https://cds-hooks.hl7.org/2.0/)
// and nothing of any clinical product: the wire types, request and response
// validation, the Markdown and summary rules of a card, response encoding,
// errors as OperationOutcome bodies, and the HTTP server (discovery, service
// calls, feedback, CORS, authentication hook, health, telemetry).
//
// A product plugs in through Deps: its Services, the FHIR id grammar the
// context ids are held to, how to read a card's topic back from its uuid
// (for feedback metrics), and documents to serve (such as a knowledge base).
// A service counts its own prefetch keys with Metrics.PrefetchKey. The JWT
// verification lives in the auth sub-package; the first product in the
// legcramps sub-package.
package cdshooks
