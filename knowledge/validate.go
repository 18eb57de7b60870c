package knowledge

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// checker collects every problem so a reviewer sees them all at once.
type checker struct {
	errs    []error
	sources map[string]map[string]bool // seed -> ref ids
	pubs    map[string]*Publication    // publication id -> publication
	claims  map[claimKey]claim
}

type claimKey struct {
	sys  codeSystem
	code string
}

type claim struct {
	owner  string
	shared bool
}

func (c *checker) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

// validate checks the decoded content; it reports every problem, joined. Each data file has its own
// check (validate_<file>.go); sources come first because every other file cites them, value sets next
// because the YAML files name them.
func validate(ct *content) error {
	c := &checker{sources: map[string]map[string]bool{}, pubs: map[string]*Publication{}, claims: map[claimKey]claim{}}
	c.checkSources(&ct.sources)
	vs := c.checkValueSets(ct.valueSets)
	ix := indexIDs(ct)
	c.checkTriggers(&ct.triggers.Triggers)
	c.checkMedications(&ct.meds, vs, ix)
	c.checkLabs(&ct.labs, vs, ix)
	c.checkConditions(ct.conditions.Conditions, vs, ix)
	c.checkPearls(ct.pearls.Pearls)
	return errors.Join(c.errs...)
}

// dataIDs are the items one data file may name in another: the rules follow these references (a drug
// class's lab effect, a work-up's reasons, a condition's lab), so a dangling one is a load error.
type dataIDs struct {
	labs       map[string]*Lab
	classes    map[string]bool
	conditions map[string]bool
}

func indexIDs(ct *content) dataIDs {
	ix := dataIDs{labs: map[string]*Lab{}, classes: map[string]bool{}, conditions: map[string]bool{}}
	for _, l := range allLabs(&ct.labs) {
		ix.labs[l.ID] = l
	}
	for _, cl := range ct.meds.Classes {
		ix.classes[cl.ID] = true
	}
	for _, cd := range ct.conditions.Conditions {
		ix.conditions[cd.ID] = true
	}
	return ix
}

// need fails when a reference names no item of its kind.
func (c *checker) need(where, kind, id string, ok bool) {
	if !ok {
		c.fail("%s: unknown %s %q", where, kind, id)
	}
}

// checkCitations requires at least one citation, each naming a known seed and ref and a line.
func (c *checker) checkCitations(where string, cs []Citation) {
	if len(cs) == 0 {
		c.fail("%s: no evidence (every item must cite a seed)", where)
	}
	for _, ct := range cs {
		if ct.Publication != "" {
			p := c.pubs[ct.Publication]
			switch {
			case ct.Seed != "" || ct.Ref != "" || ct.Line != 0:
				c.fail("%s: a citation names either a seed reference or a publication, not both", where)
			case p == nil:
				c.fail("%s: cites unknown publication %q", where, ct.Publication)
			case !p.BeyondSeeds:
				c.fail("%s: cites publication %q directly; cite the seed reference it resolves, or mark it beyond_seeds", where, ct.Publication)
			}
			continue
		}
		refs, ok := c.sources[ct.Seed]
		switch {
		case !ok:
			c.fail("%s: cites unknown seed %q", where, ct.Seed)
		case !refs[ct.Ref]:
			c.fail("%s: cites unknown ref %q of seed %s", where, ct.Ref, ct.Seed)
		}
		if ct.Line < 1 {
			c.fail("%s: citation of %s ref %q has no line", where, ct.Seed, ct.Ref)
		}
	}
}

// checkCode validates a code's format and check digit and records who claims it.
func (c *checker) checkCode(where string, sys codeSystem, code Code) {
	if code.Source == "" {
		c.fail("%s: %s code %q has no source", where, sys, code.Code)
	}
	if err := checkFormat(sys, code.Code, code.Prefix); err != nil {
		c.fail("%s: %w", where, err)
	}
	c.claim(where, sys, code.Code, code.SharedWith != "")
}

// claim records that owner holds code; a second claim fails unless one of them says why it is shared.
func (c *checker) claim(owner string, sys codeSystem, code string, shared bool) {
	k := claimKey{sys, code}
	if prev, ok := c.claims[k]; ok && !prev.shared && !shared && prev.owner != owner {
		c.fail("%s %s is claimed by both %s and %s (add shared_with to say why)", sys, code, prev.owner, owner)
		return
	}
	if _, ok := c.claims[k]; !ok {
		c.claims[k] = claim{owner: owner, shared: shared}
	}
}

// reID is what every id in the data looks like: lower-case words joined by hyphens.
var reID = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func (c *checker) checkID(kind, id string, seen map[string]bool) {
	if !reID.MatchString(id) {
		c.fail("%s id %q must be lower-case words joined by hyphens", kind, id)
	}
	if seen[id] {
		c.fail("%s id %q is used twice", kind, id)
	}
	seen[id] = true
}

func (c *checker) checkStatement(where string, s Statement) {
	if strings.TrimSpace(s.Text) == "" {
		c.fail("%s: empty statement", where)
	}
	c.checkCitations(where, s.Evidence)
}
