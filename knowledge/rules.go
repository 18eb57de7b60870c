package knowledge

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/cramp-cds/cramp-cds/fhir"
)

// This file holds the rules: pure functions of a Record and an "as of" time
// that return Findings. They never format text (cards do) and never read the
// clock (the caller passes the time).

// Options tune the rules.
type Options struct {
	// Screening makes the rules speak for every patient (--trigger=always).
	// Without it they speak only for a patient with a present leg-cramp
	// condition (one of the trigger codes).
	Screening bool
	// AllAges makes the rules speak for patients younger than AdultAge too
	// (--all-ages). The seeds speak of adults, so by default they do not.
	AllAges bool
}

// AdultAge is the age from which the rules speak by default: the seeds
// describe cramps in adults (seed 000 line 45, seed 001 line 72).
const AdultAge = 18

// Evaluate applies every rule to rec as of asOf. knowledge/README.md states
// each rule in words with its source; the tests pin every boundary.
//
// In short:
//   - Death: silent for a deceased patient (deceasedBoolean true, or a
//     deceasedDateTime on or before asOf), whatever the options.
//   - Age: silent for a patient younger than AdultAge unless opts.AllAges
//     (unknown age: not silent).
//   - Trigger: a leg-cramp code on a condition present at asOf that is an
//     active problem-list entry, or otherwise dated (recorded, else onset)
//     within the trigger set's RecentMonths.
//   - Medications: entries ActiveAt(asOf); for a class with RecentDays (IV
//     iron sucrose) also an entry last taken within that many days.
//   - Conditions: present at asOf; a condition with RecentMonths (pregnancy)
//     only when dated within them, one with Plausible only for a patient
//     it is possible for, and a Transient one (electrolyte disorders,
//     dehydration) only when on the active problem list or dated within its
//     months, and not when the latest in-window result of its lab is normal.
//     One entry is listed under its most specific item (Specialises).
//   - Labs: see labFindings.
func (b *Base) Evaluate(rec *fhir.Record, asOf time.Time, opts Options) Findings {
	f := Findings{AsOf: asOf, Age: -1}
	if rec == nil {
		return f
	}
	p := patientOf(rec.Patient, asOf)
	f.Age = p.age
	if deceasedBy(rec.Patient, asOf) {
		f.Deceased = true
		return f
	}
	if UnderAge(rec, asOf, opts) {
		f.UnderAge = true
		return f
	}
	f.Triggers = b.TriggerEntries(rec, asOf)
	if len(f.Triggers) == 0 && !opts.Screening {
		return f
	}
	f.Triggered = true
	f.Medications = b.MedicationFindings(rec, asOf)
	f.DrugWarnings = b.drugWarningFindings(rec, asOf)
	f.Associated, f.Differentials = b.conditionFindings(rec, asOf, p)
	ctx := b.newLabContext(rec, asOf, p, &f)
	f.AbnormalLabs, f.MissingLabs, f.PendingLabs = b.labFindings(rec, &ctx)
	f.Associated = b.dropDisprovedByResult(f.Associated, &ctx)
	return f
}

// deceasedBy reports whether the patient had died by asOf: deceasedBoolean
// true, or a deceasedDateTime on or before asOf.
func deceasedBy(p *fhir.Patient, asOf time.Time) bool {
	return p != nil && p.Deceased && !p.DeceasedAt.After(asOf)
}

// UnderAge reports whether the rules keep silent for the record's patient:
// younger than AdultAge at asOf, unless opts.AllAges. A patient of unknown age
// is not silenced. The order hooks ask it before they speak.
func UnderAge(rec *fhir.Record, asOf time.Time, opts Options) bool {
	if opts.AllAges || rec == nil {
		return false
	}
	p := patientOf(rec.Patient, asOf)
	return p.age >= 0 && p.age < AdultAge
}

// patient holds the demographic facts the rules use.
type patient struct {
	age int    // whole years at asOf, -1 when unknown
	sex string // "male", "female", or "" when unknown or other
}

// patientOf reads age and sex. A partial birth date ("1950", "1950-04") is
// taken at its first day, which never makes a patient younger than they are.
func patientOf(p *fhir.Patient, asOf time.Time) patient {
	out := patient{age: -1}
	if p == nil {
		return out
	}
	if p.Gender == "male" || p.Gender == "female" {
		out.sex = p.Gender
	}
	for _, layout := range []string{time.DateOnly, "2006-01", "2006"} {
		born, err := time.Parse(layout, p.BirthDate)
		if err != nil {
			continue
		}
		if born.After(asOf) {
			break
		}
		age := asOf.Year() - born.Year()
		if asOf.Month() < born.Month() || (asOf.Month() == born.Month() && asOf.Day() < born.Day()) {
			age--
		}
		out.age = age
		break
	}
	return out
}

// ConceptText is how the record names a concept: its text, else its first
// coding's display, else its first code; "" when it has none.
func ConceptText(c fhir.Concept) string {
	if c.Text != "" {
		return c.Text
	}
	for _, cd := range c.Codings {
		if cd.Display != "" {
			return cd.Display
		}
	}
	for _, cd := range c.Codings {
		if cd.Code != "" {
			return cd.Code
		}
	}
	return ""
}

// TriggerEntries returns the record's leg-cramp conditions that say the
// patient has cramps now (Findings.Triggers; the rule the order hooks need,
// without the others): present at asOf, and either an active problem-list
// entry or dated (recorded, else onset) within the trigger set's RecentMonths.
// A deceased patient has none, so the order hooks keep silent too.
func (b *Base) TriggerEntries(rec *fhir.Record, asOf time.Time) []ConditionEntry {
	if deceasedBy(rec.Patient, asOf) {
		return nil
	}
	since := asOf.AddDate(0, -b.triggers.RecentMonths, 0)
	var out []ConditionEntry
	for _, c := range rec.Conditions {
		if !c.PresentAt(asOf) || !slices.ContainsFunc(c.Code.Codings, b.IsTrigger) {
			continue
		}
		if !listedOrDatedSince(c, since) {
			continue
		}
		out = append(out, ConditionEntry{Entry: Entry{Ref: c.Ref, Text: ConceptText(c.Code)}, Condition: c})
	}
	return out
}

// listedOrDatedSince reports whether a present condition says the patient
// has it now: an active problem-list entry, or dated (recorded, else onset)
// at or after since.
//
// An active (recurrence, relapse) entry with neither onset, recorded date nor
// category also says so: both dates are optional in FHIR R4 and US Core, and
// legacy problem-list imports lack them (issue 26 item 6).
func listedOrDatedSince(c fhir.Condition, since time.Time) bool {
	onProblemList := fhir.IsPresentStatus(c.ClinicalStatus) && c.HasCategory("problem-list-item")
	undatedActive := c.ClinicalStatus != "" && fhir.IsPresentStatus(c.ClinicalStatus) &&
		c.Onset.IsZero() && c.Recorded.IsZero() && len(c.Categories) == 0
	return onProblemList || undatedActive || datedSince(c, since)
}

// datedSince reports whether the condition is recorded (else has its onset)
// at or after since; an undated condition is not.
func datedSince(c fhir.Condition, since time.Time) bool {
	d := c.Recorded
	if d.IsZero() {
		d = c.Onset
	}
	return !d.IsZero() && !d.Before(since)
}

// MedicationFindings returns the cramp-inducing drugs the record shows the
// patient taking at asOf (Findings.Medications), whatever the trigger: entries
// ActiveAt(asOf), and for a class with RecentDays (IV iron sucrose) an entry
// last taken within that many days.
func (b *Base) MedicationFindings(rec *fhir.Record, asOf time.Time) []MedicationFinding {
	var out []MedicationFinding
	for _, m := range rec.Medications {
		active := m.ActiveAt(asOf)
		last, taken := m.LastTaken(asOf)
		if !active && !taken {
			continue
		}
		text := ConceptText(m.Drug)
		if text == "" && len(m.Ingredients) > 0 {
			text = ConceptText(m.Ingredients[0])
		}
		for _, match := range b.MatchMedication(m.Drug, m.Ingredients...) {
			entry := MedicationEntry{Entry: Entry{Ref: m.Ref, Text: text}, Medication: m, Match: match}
			if !active {
				// Only a drug given in courses counts once it is no longer current.
				days := match.Class.RecentDays
				if days == 0 || last.Before(asOf.AddDate(0, 0, -days)) {
					continue
				}
				entry.LastTaken = last
			}
			i := slices.IndexFunc(out, func(f MedicationFinding) bool {
				return f.Ingredient == match.Ingredient && f.Class == match.Class
			})
			if i < 0 {
				out = append(out, MedicationFinding{Class: match.Class, Ingredient: match.Ingredient})
				i = len(out) - 1
			}
			out[i].Entries = append(out[i].Entries, entry)
		}
	}
	// Data order (class, then ingredient), as MatchMedication orders one medication's matches.
	slices.SortStableFunc(out, func(x, y MedicationFinding) int {
		if c := cmp.Compare(b.classOrder[x.Class], b.classOrder[y.Class]); c != 0 {
			return c
		}
		return cmp.Compare(b.ingRank(x.Ingredient), b.ingRank(y.Ingredient))
	})
	return out
}

// conditionFindings groups the present conditions of the record by the
// associated conditions and differentials of the base they code for. A
// condition with RecentMonths counts only when dated within them (onset, else
// recorded: a pregnancy code from 1985 is not a current pregnancy), and one
// with Plausible only for a patient it is possible for.
func (b *Base) conditionFindings(rec *fhir.Record, asOf time.Time, p patient) (associated, differentials []ConditionFinding) {
	found := map[*Condition][]ConditionEntry{}
	// listed holds, per item, the entries listed under it as an associated
	// condition: an entry also coding for a more specific item is not.
	listed := map[*Condition][]ConditionEntry{}
	var matched, counting []*Condition
	for _, c := range rec.Conditions {
		if !c.PresentAt(asOf) {
			continue
		}
		matched, counting = matched[:0], counting[:0]
		for _, cd := range c.Code.Codings {
			matched = b.AppendConditions(matched, cd)
		}
		for _, kc := range matched {
			if kc.countsFor(c, asOf, p) {
				counting = append(counting, kc)
			}
		}
		e := ConditionEntry{Entry: Entry{Ref: c.Ref, Text: ConceptText(c.Code)}, Condition: c}
		for _, kc := range counting {
			found[kc] = append(found[kc], e)
			if !specialisedIn(kc, counting) {
				listed[kc] = append(listed[kc], e)
			}
		}
	}
	for _, kc := range b.conditions { // data order
		if entries, ok := listed[kc]; ok && kc.Associated {
			associated = append(associated, ConditionFinding{Condition: kc, Entries: entries})
		}
		if entries, ok := found[kc]; ok && kc.Differential != nil {
			differentials = append(differentials, ConditionFinding{Condition: kc, Entries: entries})
		}
	}
	return associated, differentials
}

// pendingOrder returns the first order of the record still on its way that
// covers the work-up test: an order of its own code or of one of its result
// codes, or of a panel covering it. Nil when there is none.
func (b *Base) pendingOrder(rec *fhir.Record, wu *Workup) *ServiceRequestEntry {
	for _, sr := range rec.ServiceRequests {
		for _, cd := range sr.Code.Codings {
			if systemOf(cd.System) == sysLOINC && b.orderCovers(cd.Code, wu) {
				return &ServiceRequestEntry{Entry: Entry{Ref: sr.Ref, Text: ConceptText(sr.Code)}, ServiceRequest: sr}
			}
		}
	}
	return nil
}

// orderCovers reports whether ordering the LOINC code loinc orders the work-up test.
func (b *Base) orderCovers(loinc string, wu *Workup) bool {
	if loinc == wu.Order.Code {
		return true
	}
	if lab := b.labByLOINC[loinc]; lab != nil && lab.Workup == wu {
		return true
	}
	for _, p := range b.panels {
		if !slices.Contains(p.Resolved, wu) {
			continue
		}
		if p.Order.Code == loinc || slices.ContainsFunc(p.Also, func(c Code) bool { return c.Code == loinc }) {
			return true
		}
	}
	return false
}

// specialisedIn reports whether one of the items an entry codes for is a more
// specific kc (diabetic neuropathy for diabetes): the entry is listed there.
func specialisedIn(kc *Condition, matched []*Condition) bool {
	return slices.ContainsFunc(matched, func(other *Condition) bool {
		return slices.Contains(other.Specialises, kc.ID)
	})
}

// countsFor reports whether a present record entry coding for kc counts: dated
// within kc.RecentMonths when set, on the problem list or dated within
// kc.Transient's months when set, and plausible for the patient.
func (kc *Condition) countsFor(c fhir.Condition, asOf time.Time, p patient) bool {
	if tr := kc.Transient; tr != nil && !listedOrDatedSince(c, asOf.AddDate(0, -tr.Months, 0)) {
		return false
	}
	if kc.RecentMonths > 0 {
		d := c.Onset
		if d.IsZero() {
			d = c.Recorded
		}
		if d.IsZero() || d.Before(asOf.AddDate(0, -kc.RecentMonths, 0)) {
			return false
		}
	}
	if pl := kc.Plausible; pl != nil {
		if pl.Sex != "" && p.sex != "" && p.sex != pl.Sex {
			return false
		}
		if p.age >= 0 && (p.age < pl.MinAge || (pl.MaxAge > 0 && p.age > pl.MaxAge)) {
			return false
		}
	}
	return true
}

// drugWarningFindings returns the warned-against drugs (quinine) among the
// record's medications active at asOf.
func (b *Base) drugWarningFindings(rec *fhir.Record, asOf time.Time) []DrugWarningFinding {
	var out []DrugWarningFinding
	for _, m := range rec.Medications {
		if !m.ActiveAt(asOf) {
			continue
		}
		for _, w := range b.DrugWarningsFor(m.Drug, m.Ingredients...) {
			i := slices.IndexFunc(out, func(f DrugWarningFinding) bool { return f.Warning == w })
			if i < 0 {
				out = append(out, DrugWarningFinding{Warning: w})
				i = len(out) - 1
			}
			out[i].Entries = append(out[i].Entries, Entry{Ref: m.Ref, Text: ConceptText(m.Drug)})
		}
	}
	return out
}

// DrugWarningsFor returns the warned-against drugs a medication holds: by
// RxNorm or ATC code of the drug or an ingredient, or by one of the warning's
// names as a word of its text or displays. The order hooks ask it of a draft.
func (b *Base) DrugWarningsFor(drug fhir.Concept, ingredients ...fhir.Concept) []*DrugWarning {
	var out []*DrugWarning
	for _, w := range b.warnings {
		for _, c := range append([]fhir.Concept{drug}, ingredients...) {
			if warnedIn(w, c) {
				out = append(out, w)
				break
			}
		}
	}
	return out
}

func warnedIn(w *DrugWarning, c fhir.Concept) bool {
	texts := []string{c.Text}
	for _, cd := range c.Codings {
		var codes []Code
		switch systemOf(cd.System) {
		case sysRxNorm:
			codes = w.RxNorm
		case sysATC:
			codes = w.ATC
		}
		if slices.ContainsFunc(codes, func(k Code) bool { return k.Code == cd.Code }) {
			return true
		}
		texts = append(texts, cd.Display)
	}
	return slices.ContainsFunc(texts, func(t string) bool { return hasWord(t, w.Names) })
}

// hasWord reports whether one of the lower-case words is a word of text.
func hasWord(text string, words []string) bool {
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) }) {
		if slices.Contains(words, w) {
			return true
		}
	}
	return false
}
