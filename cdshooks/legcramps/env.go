package legcramps

import (
	"fmt"

	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
	"github.com/cramp-cds/cramp-cds/knowledge"
)

// Env is what every leg-cramp service works with: the kit's environment
// (record gathering, clock, memory, topic registry) and the clinical
// knowledge.
type Env struct {
	kit.Env
	// Knowledge is the clinical knowledge base (required).
	Knowledge *knowledge.Base
	// AllAges makes every service speak for patients under
	// knowledge.AdultAge too (--all-ages); by default they are silent for them.
	AllAges bool
}

// check fills the defaults (a registry of this package's topics alone when
// none is given) and reports a missing required dependency of the service
// named id.
func (e *Env) check(id string) error {
	if e.Knowledge == nil {
		return fmt.Errorf("%s: no knowledge base", id)
	}
	if e.Topics == nil {
		reg, err := kit.NewRegistry(Topics())
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		e.Topics = reg
	}
	codes := make([]string, 0, len(Topics()))
	for _, t := range Topics() {
		codes = append(codes, t.Code)
	}
	return e.Env.Check(id, codes...)
}
