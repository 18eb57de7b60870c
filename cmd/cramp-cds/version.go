package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/internal/version"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// versionExtensionKey names our discovery extension: reverse-domain, as
// CDS Hooks 2.0 §11 asks of extension keys.
const versionExtensionKey = "org.cramp-cds.version"

// discoveryExtension is what every discovery entry carries in "extension":
// the software's version and the knowledge base's content version.
func discoveryExtension(knowledgeVersion string) cdshooks.Extension {
	v, err := json.Marshal(map[string]string{"software": version.Version(), "knowledge": knowledgeVersion})
	if err != nil {
		panic(err) // two strings always marshal
	}
	return cdshooks.Extension{versionExtensionKey: v}
}

// runVersion is `cramp-cds version`: the release version, then the knowledge
// base's content version (what the cards' source label shows).
func runVersion(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("version takes no arguments")
	}
	kb, err := knowledge.Load()
	if err != nil {
		return fmt.Errorf("loading the knowledge base: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "cramp-cds %s\nknowledge %s\n", version.Version(), kb.Version())
	return err
}

// readyLine says where the started server answers: its first public URL, or
// the address it listens on.
func (m *Main) readyLine() string {
	base := "http://" + m.Addr()
	if urls := m.Config.PublicURLs; len(urls) > 0 {
		base = strings.TrimRight(urls[0], "/")
	}
	line := fmt.Sprintf("cramp-cds %s ready: %s/cds-services", version.Version(), base)
	if a := m.AdminAddr(); a != "" {
		line += fmt.Sprintf(" (probes and metrics on %s)", a)
	}
	return line
}
