package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/cramp-cds/cramp-cds/knowledge"
	"github.com/cramp-cds/cramp-cds/knowledge/page"
)

// runKnowledge prints the clinical knowledge base: a table for clinicians to review, or JSON with --json.
func runKnowledge(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("knowledge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the knowledge base as JSON instead of tables")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("knowledge: unexpected arguments %q", fs.Args())
	}
	kb, err := knowledge.Load()
	if err != nil {
		return fmt.Errorf("loading the knowledge base: %w", err)
	}
	if *asJSON {
		return writeKnowledgeJSON(stdout, kb)
	}
	return writeKnowledgeTables(stdout, kb)
}

// sourcesText is "owner/repo@commit7 path" per source, or the release.
func sourcesText(ss []knowledge.ValueSetSource) string {
	parts := make([]string, 0, len(ss))
	for _, s := range ss {
		if s.Repository == "" {
			parts = append(parts, "curation")
			continue
		}
		commit := s.Commit
		if len(commit) > 7 {
			commit = commit[:7]
		}
		parts = append(parts, s.Repository+"@"+commit+" "+s.Path)
	}
	return strings.Join(parts, "; ")
}

func writeKnowledgeJSON(w io.Writer, kb *knowledge.Base) error {
	out, err := page.JSON(kb)
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

// writeKnowledgeTables prints one table per kind of content; "?" marks a code or name no source confirms.
func writeKnowledgeTables(w io.Writer, kb *knowledge.Base) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }

	p("cramp-cds knowledge base %s\n", kb.Version())
	p("Evidence is seed#ref:line (e.g. 001#2:43 = seed 001, its reference 2, line 43). ? = unverified code or name. * = ICD-10-CM/ATC prefix.\n\n")

	p("TRIGGERS (%s)\nSYSTEM\tCODE\tDISPLAY\tEVIDENCE\n", kb.Triggers().Name)
	for _, c := range kb.Triggers().ICD10CM {
		p("ICD-10-CM\t%s\t%s\t%s\n", codeText(c), c.Display, evidence(kb.Triggers().Evidence))
	}
	for _, c := range kb.Triggers().SNOMED {
		p("SNOMED CT\t%s\t%s\t%s\n", codeText(c), c.Display, evidence(kb.Triggers().Evidence))
	}

	p("\nCRAMP-INDUCING MEDICATIONS\nCLASS\tINGREDIENT\tRXNORM\tATC\tNAMES AND BRANDS\tEVIDENCE\n")
	for _, cl := range kb.Classes() {
		// The class name, its strength of evidence and the evidence are printed on the class's first row only.
		name, ev := cl.Name+" ["+string(cl.Strength)+"]", evidence(cl.Evidence)
		if len(cl.AlsoTreatment) > 0 {
			name = cl.Name + " [" + string(cl.Strength) + "; also a treatment, " + evidence(cl.AlsoTreatment) + "]"
		}
		if len(cl.ATCPrefixes) > 0 {
			roots := make([]string, len(cl.ATCPrefixes))
			for i, r := range cl.ATCPrefixes {
				roots[i] = r.Code + "*"
				for _, ex := range r.Exclude {
					roots[i] += " except " + ex
				}
			}
			p("%s\t(every WHO substance code under the root)\t\t%s\t\t%s\n", name, strings.Join(roots, ", "), ev)
			name, ev = "", ""
		}
		for _, ing := range cl.Ingredients {
			names := append(append([]string{}, ing.Synonyms...), ing.Brands...)
			for _, b := range ing.BrandsUnverified {
				names = append(names, b+"?")
			}
			p("%s\t%s\t%s\t%s\t%s\t%s\n", name, ing.Name, codesText(ing.RxNorm), codesText(ing.ATC), strings.Join(names, ", "), ev)
			name, ev = "", ""
		}
	}
	for _, cb := range kb.CombinationBrands() {
		mark := ""
		if cb.Unverified {
			mark = "?"
		}
		p("(combination brand)\t%s\t\t\t%s%s\t\n", strings.Join(cb.Ingredients, " + "), cb.Name, mark)
	}

	p("\nPRODUCT CODES (RxNorm, mapped to ingredients)\nRXCUI\tTTY\tDISPLAY\tINGREDIENTS\tSOURCE\n")
	for _, pr := range kb.Products() {
		p("%s\t%s\t%s\t%s\t%s\n", codeText(knowledge.Code{Code: pr.RxCUI, Unverified: pr.Unverified}), pr.TTY, pr.Display, strings.Join(pr.Ingredients, " + "), pr.Source)
	}

	p("\nWORK-UP LABS (a result counts for %d months)\nWORKUP (ORDER LOINC)\tLAB\tRESULT LOINC\tUNITS (to canonical)\tABNORMAL WHEN\tEVIDENCE\n", kb.LookbackMonths())
	for _, wu := range kb.Workups() {
		name, ev := wu.Name+" ("+wu.Order.Code+")", evidence(wu.Evidence)
		for _, l := range wu.Resolved {
			p("%s\t%s\t%s\t%s\t%s\t%s\n", name, l.Name, codesText(l.Results), unitsText(l), thresholdsText(l), ev)
			name, ev = "", ""
		}
	}
	for _, l := range kb.Labs() {
		if l.Workup == nil {
			p("(adjunct: %s)\t%s\t%s\t%s\t\t\n", l.Note, l.Name, codesText(l.Results), unitsText(l))
		}
	}

	p("\nASSOCIATED CONDITIONS AND DIFFERENTIALS\nCONDITION\tROLE\tVALUE SETS\tSNOMED CT\tICD-10-CM\tEVIDENCE\n")
	for _, c := range kb.Conditions() {
		var roles []string
		if c.Associated {
			roles = append(roles, "associated")
		}
		if c.Differential != nil {
			roles = append(roles, "differential")
		}
		p("%s\t%s\t%s\t%d codes\t%d codes\t%s\n", c.Name, strings.Join(roles, "+"), strings.Join(c.ValueSets, ", "), len(c.SNOMED), len(c.ICD10CM), evidence(c.Evidence))
	}

	p("\nDIFFERENTIAL DIAGNOSES: HOW TO TELL THEM FROM CRAMPS\nCONDITION\tFEATURE\tEVIDENCE\n")
	for _, c := range kb.Differentials() {
		for _, f := range c.Differential.Features {
			p("%s\t%s\t%s\n", c.Name, f.Text, evidence(f.Evidence))
		}
		if q := c.Differential.Question; q != nil {
			p("%s\tAsk: %s\t%s\n", c.Name, q.Text, evidence(q.Evidence))
		}
	}

	p("\nVALUE SETS (the codes each item matches; GET /knowledge/ValueSet/{id} serves each as FHIR JSON)\nID\tCODES\tVERSION\tSOURCES\n")
	for _, vs := range kb.ValueSets() {
		p("%s\t%d\t%s\t%s\n", vs.ID, vs.Expansion.Total, vs.Version, sourcesText(vs.Sources))
	}

	p("\nPEARLS AND PITFALLS\nKIND\tTEXT\tEVIDENCE\n")
	for _, pl := range kb.Pearls() {
		p("%s\t%s\t%s\n", pl.Kind, pl.Text, evidence(pl.Evidence))
	}

	p("\nSOURCES\nSEED\tREF\tTITLE\n")
	for _, s := range kb.Sources() {
		p("%s\t\t%s\n", s.Seed, s.Title)
		for _, r := range s.Refs {
			if r.Title != "" || r.Detail != "" || r.Publication != "" {
				p("\t%s\t%s\n", r.ID, strings.TrimSpace(r.Title+" "+r.Detail+" -> "+primarySource(r)))
			}
		}
	}

	p("\nPUBLICATIONS (primary sources)\nID\tCITATION\tPMID\tDOI\n")
	for _, pb := range kb.Publications() {
		beyond := ""
		if pb.BeyondSeeds {
			beyond = " [beyond the seeds]"
		}
		p("%s\t%s. %s %s %d;%s%s\t%s\t%s\n", pb.ID, pb.Authors, pb.Title, pb.Journal, pb.Year, pb.Issue, beyond, pb.PMID, pb.DOI)
	}
	return tw.Flush()
}

// primarySource names the publication behind a seed reference, or says that it is unidentified.
func primarySource(r knowledge.Ref) string {
	if r.Publication == "" {
		return "primary source unidentified"
	}
	return "publication " + r.Publication
}

func codeText(c knowledge.Code) string {
	s := c.Code
	if c.Prefix {
		s += "*"
	}
	if c.Unverified {
		s += "?"
	}
	return s
}

func codesText(cs []knowledge.Code) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = codeText(c)
	}
	return strings.Join(out, ", ")
}

func evidence(cs []knowledge.Citation) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		if c.Seed == "" { // a publication beyond the seeds
			out[i] = c.Cite
			continue
		}
		out[i] = fmt.Sprintf("%s#%s:%d", c.Seed[:3], c.Ref, c.Line)
	}
	return strings.Join(out, "; ")
}

func unitsText(l *knowledge.Lab) string {
	out := make([]string, len(l.Units))
	for i, u := range l.Units {
		s := u.Code
		if u.Multiply != 1 {
			s += " x" + strconv.FormatFloat(u.Multiply, 'g', -1, 64)
		}
		if u.Divide != 1 {
			s += " /" + strconv.FormatFloat(u.Divide, 'g', -1, 64)
		}
		if u.Add != 0 {
			s += " +" + strconv.FormatFloat(u.Add, 'g', -1, 64)
		}
		if u.Unverified {
			s += "?"
		}
		out[i] = s
	}
	return strings.Join(out, ", ")
}

// thresholdsText lists a lab's thresholds (with the sex they apply to) and its critical limits.
func thresholdsText(l *knowledge.Lab) string {
	out := make([]string, 0, len(l.Thresholds)+len(l.Critical))
	for _, t := range append(append([]knowledge.Threshold(nil), l.Thresholds...), l.Critical...) {
		s := fmt.Sprintf("%s %s %g %s", t.Finding, t.Op, t.Value, l.CanonicalUnit)
		if t.Sex != "" {
			s += " (" + t.Sex + ")"
		}
		if t.Unverified {
			s += "?"
		}
		out = append(out, s)
	}
	if l.AlbuminCorrection != nil {
		out = append(out, "corrected for albumin")
	}
	return strings.Join(out, "; ")
}
