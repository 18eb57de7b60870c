// Package version is cramp-cds's release version: the one place it is written
// (the file VERSION beside this one). `cramp-cds version`, the discovery
// extension, the OpenTelemetry resource and the image tag read it; the Helm
// chart's appVersion and CHANGELOG.md's latest entry are checked against it by
// tests.
package version

import (
	_ "embed"
	"strings"
)

//go:embed VERSION
var file string

// Version returns the semantic version of this build, e.g. "0.1.0".
func Version() string { return strings.TrimSpace(file) }
