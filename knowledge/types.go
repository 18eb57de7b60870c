package knowledge

// The types below are both the schema of the data files (json tags; unknown fields are rejected at load)
// and the read-only view the rules get. Fields tagged `json:"-"` are filled in at load.
// Everything reachable from a *Base is shared and must not be modified by callers.

// Source is one seed document and the references inside it that items may cite.
type Source struct {
	Seed         string   `json:"seed"`    // file name, e.g. "001_ef64482ccbaa6c09.txt"
	Title        string   `json:"title"`   // the document's own title
	CiteAs       string   `json:"cite_as"` // how ref ids are formed for this document
	Refs         []Ref    `json:"refs"`
	Bibliography []string `json:"bibliography,omitempty"` // reference list not tied to statements (seed 004)
	// Cite names the document for a clinician in a few words, for refs whose primary source it does not name.
	Cite string `json:"cite"`
	// Kind says what sort of document it is (clinical summary, patient information page...).
	Kind string `json:"kind"`
}

// Ref is one citable reference (a numbered reference, a list item or a section) of a Source.
type Ref struct {
	ID     string `json:"id"`
	Title  string `json:"title,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Publication is the id of the publication behind this reference (a Publication of sources.yaml), when
	// the seed's text and a public bibliographic record identify it with confidence; empty otherwise, and
	// then the reference's primary source is unidentified and cards cite the seed document itself.
	Publication string `json:"publication,omitempty"`
}

// Publication is a primary source: a published article a seed reference resolves to, or (BeyondSeeds) one
// cited directly for a fact the seeds do not state. IdentifiedBy says how it was matched and checked.
type Publication struct {
	ID      string `json:"id"`
	Authors string `json:"authors"`
	Title   string `json:"title"`
	Journal string `json:"journal"`
	Year    int    `json:"year"`
	// Issue is volume, issue and pages as the journal prints them ("86(4):350-355"), when checked.
	Issue string `json:"issue,omitempty"`
	// PMID and DOI are given only when a public record confirmed them.
	PMID string `json:"pmid,omitempty"`
	DOI  string `json:"doi,omitempty"`
	// Record is the address of the public bibliographic record (or copy of the article) that was read.
	Record string `json:"record"`
	// Cite names it on a card in a few words ("Allen & Kirby, Am Fam Physician 2012").
	Cite string `json:"cite"`
	// IdentifiedBy says what matched the seed's reference to this record, and which public record was read.
	IdentifiedBy string `json:"identified_by"`
	// BeyondSeeds marks a publication no seed reference names: the curator cites it for what Supports says.
	BeyondSeeds bool   `json:"beyond_seeds,omitempty"`
	Supports    string `json:"supports,omitempty"`
}

// Citation points at the statement in a seed that supports an item, or (Publication without Seed) at a
// publication beyond the seeds. Load guarantees that Seed names a Source and Ref one of its Refs, or that
// Publication names a publication marked beyond_seeds.
type Citation struct {
	Seed        string `json:"seed,omitempty"`
	Ref         string `json:"ref,omitempty"`
	Line        int    `json:"line,omitempty"` // 1-based line in the seed file
	Publication string `json:"publication,omitempty"`
	// SourceTitle and RefTitle are filled in at load from the Source, for display.
	SourceTitle string `json:"-"`
	RefTitle    string `json:"-"`
	// Cite is filled in at load: the publication behind the ref (its Publication.Cite), else the document
	// itself (Source.Cite, its own title). It is how a card names the source to a clinician.
	Cite string `json:"-"`
	// Primary is true when Cite names a publication, not the seed itself; Resolved is that publication.
	Primary  bool         `json:"-"`
	Resolved *Publication `json:"-"`
}

// Code is one code of a terminology with where it was checked.
type Code struct {
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
	// Source names where the code was verified: a public terminology release, value set or dataset a reader can open.
	Source string `json:"source"`
	// Prefix marks an ATC class root (a class's atc_prefixes); codes in value sets and ingredient codes are exact.
	Prefix bool `json:"prefix,omitempty"`
	// Unverified is true when no source confirms the code; matches through it are low confidence.
	Unverified bool   `json:"unverified,omitempty"`
	Note       string `json:"note,omitempty"`
	// SharedWith explains why another item may claim the same code; without it a second claim fails the load.
	SharedWith string `json:"shared_with,omitempty"`
}

// DrugWarning is a drug the service warns against for a patient with leg
// cramps whatever else the record holds (quinine, used off-label for cramps):
// a standard-practice fact beyond the seeds, cited to its public source.
type DrugWarning struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	RxNorm []Code `json:"rxnorm"`
	ATC    []Code `json:"atc"`
	// Names are lower-case words that name the drug in a medication's text or
	// display: the ingredient and its brands.
	Names []string `json:"names"`
	// Warning is what the card says, in a sentence.
	Warning string `json:"warning"`
	Source  string `json:"source"`
	URL     string `json:"url"`
	// StandardPractice marks a fact beyond the seeds (the knowledge page says so).
	StandardPractice bool `json:"standard_practice"`
}

// TriggerSet holds the codes that mean the patient has leg cramps.
type TriggerSet struct {
	Name     string     `json:"name"`
	Evidence []Citation `json:"evidence"`
	ICD10CM  []Code     `json:"icd10cm"`
	SNOMED   []Code     `json:"snomed"`
	// RecentMonths is how recent (recorded, else onset) a trigger condition
	// must be when it is not an active problem-list entry: an encounter
	// diagnosis from years ago does not make the patient have cramps now.
	RecentMonths int `json:"recent_months"`
}

// DrugClass is a class of cramp-inducing drugs with its evidence and ingredients.
type DrugClass struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Group string `json:"group"` // heading for cards, e.g. "Diuretics" for the three diuretic classes
	Note  string `json:"note,omitempty"`
	// Evidence cites the seeds naming the class; it applies to every ingredient.
	Evidence []Citation `json:"evidence"`
	// Strength is how strongly the seeds tie the class to cramps: StrengthStrong
	// for the guideline-backed list that "strongly predispose", StrengthReported
	// for classes named only by patient-information pages, or by a clinical
	// summary citing a reference it does not list (CCBs, lithium).
	Strength Strength `json:"strength"`
	// StrengthEvidence cites the statement that sets the strength.
	StrengthEvidence []Citation `json:"strength_evidence"`
	// AlsoTreatment cites seeds that list the class as a treatment for cramps
	// (calcium channel blockers, seed 004): such a drug is never proposed for removal.
	AlsoTreatment []Citation `json:"also_treatment,omitempty"`
	// LabEffects are the abnormal results the class is known to cause, so an
	// abnormal result can name the drug that may explain it.
	LabEffects []LabEffect `json:"lab_effects,omitempty"`
	// RecentDays, when set, makes an entry that is no longer active still
	// count when it was given within that many days (an intermittent infusion).
	RecentDays int `json:"recent_days,omitempty"`
	// ValueSet names the class's value set (data/valuesets/<id>.json): every RxNorm and ATC code that means
	// a drug of the class, each naming its ingredients. Matching uses it; the codes below are what it is built from.
	ValueSet string `json:"valueset"`
	// ATCPrefixes are ATC class roots whose every substance code (except Exclude) the value set holds,
	// expanded from the WHO ATC index by the generator.
	ATCPrefixes []ATCPrefix `json:"atc_prefixes,omitempty"`
	// ExcludeForms are words of a medication's text or display (dose forms, routes) that take it out of the
	// class, because the seeds' claim is about another route: "topical" for NSAIDs, which the seeds name as
	// systemic drugs. Product codes of those forms are left out of the value set by the generator.
	ExcludeForms []string      `json:"exclude_forms,omitempty"`
	Ingredients  []*Ingredient `json:"ingredients"`
}

// Strength is the strength of evidence tying a drug class (or condition) to cramps.
type Strength string

// The strengths of evidence.
const (
	// StrengthStrong: named by the guideline-backed seed statements as strongly predisposing.
	StrengthStrong Strength = "strong"
	// StrengthReported: named only by patient-information pages or a clinical summary without the
	// guideline behind it; cards say "reported by" whom (cdshooks/legcramps reportedBy).
	StrengthReported Strength = "reported"
)

// LabEffect is an abnormal result a drug class is known to cause.
type LabEffect struct {
	Lab        string `json:"lab"`       // lab id, e.g. "potassium"
	Direction  string `json:"direction"` // "low" or "high"
	Source     string `json:"source"`
	Unverified bool   `json:"unverified,omitempty"`
}

// ATCPrefix is an ATC class root that identifies a drug class, minus excluded sub-roots.
type ATCPrefix struct {
	Code    string   `json:"code"`
	Exclude []string `json:"exclude,omitempty"`
	Display string   `json:"display,omitempty"`
	Source  string   `json:"source"`
	Note    string   `json:"note,omitempty"`
}

// Ingredient is one cramp-inducing substance with every way the base recognises it.
type Ingredient struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Note     string   `json:"note,omitempty"`
	Synonyms []string `json:"synonyms,omitempty"`
	RxNorm   []Code   `json:"rxnorm,omitempty"` // ingredient-level RxCUIs (IN, PIN)
	ATC      []Code   `json:"atc,omitempty"`    // substance codes and combination codes that contain it
	// Brands are brand names from a cited source; BrandsUnverified are the curator's additions.
	Brands           []string `json:"brands,omitempty"`
	BrandsUnverified []string `json:"brands_unverified,omitempty"`
	// Class is the ingredient's class, set at load.
	Class *DrugClass `json:"-"`
}

// CombinationBrand is a brand name of a product holding several ingredients of the base.
type CombinationBrand struct {
	Name        string   `json:"name"`
	Ingredients []string `json:"ingredients"`
	Unverified  bool     `json:"unverified,omitempty"`
}

// Product is a product-level RxNorm code (SCD, SBD, SCDC, SCDF, MIN...) and the ingredients of the base it holds.
type Product struct {
	RxCUI       string   `json:"rxcui"`
	TTY         string   `json:"tty,omitempty"` // RxNorm term type; "SCDC?" when the type is not confirmed
	Display     string   `json:"display"`
	Ingredients []string `json:"ingredients"` // ingredient ids
	Source      string   `json:"source"`
	Unverified  bool     `json:"unverified,omitempty"`
	Note        string   `json:"note,omitempty"`
	SharedWith  string   `json:"shared_with,omitempty"`
	// Resolved holds the ingredients, set at load.
	Resolved []*Ingredient `json:"-"`
}

// Workup is one test a clinician orders for cramps; a recent result of any of its Labs satisfies it.
type Workup struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Short is the test's everyday name for an order button ("Order TSH").
	Short    string     `json:"short"`
	Labs     []string   `json:"labs"`  // lab ids
	Order    Code       `json:"order"` // the LOINC code to order
	Evidence []Citation `json:"evidence"`
	// RecommendWhen says what in the record makes the test matter for this
	// patient (the suggestion is then marked recommended).
	RecommendWhen *Recommendation `json:"recommend_when,omitempty"`
	// LookbackMonths is how old a result may be and still count; set at load from the file default.
	LookbackMonths int `json:"-"`
	// Resolved holds the labs, set at load.
	Resolved []*Lab `json:"-"`
}

// Panel is one order a laboratory runs as several work-up tests (a basic metabolic panel covers
// potassium, calcium and creatinine).
type Panel struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Order Code   `json:"order"` // the LOINC code to order
	// Also are other panel codes that, already ordered, cover the same tests (the panel in blood, a larger panel).
	Also   []Code   `json:"also,omitempty"`
	Covers []string `json:"covers"` // workup ids
	// Resolved holds the covered work-up tests, set at load.
	Resolved []*Workup `json:"-"`
}

// Recommendation lists what in a record points to a work-up test.
type Recommendation struct {
	// DrugClasses: a current drug of one of these classes (ids).
	DrugClasses []string `json:"drug_classes,omitempty"`
	// Conditions: one of these conditions (ids) present at the evaluation time.
	Conditions []string `json:"conditions,omitempty"`
	// History: one of these conditions (ids) anywhere in the record, whatever its status.
	History []string `json:"history,omitempty"`
	// PriorResult: an earlier result of the work-up beyond this threshold.
	PriorResult *Threshold `json:"prior_result,omitempty"`
	Source      string     `json:"source"`
}

// Lab is one analyte: every LOINC result code that counts, its units and its abnormal thresholds.
type Lab struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Note          string `json:"note,omitempty"`
	CanonicalUnit string `json:"canonical_unit"`
	// ValueSet names the analyte's value set (data/valuesets/<id>.json): every LOINC code of its results.
	ValueSet string `json:"valueset"`
	// Results are the value set's codes, filled in at load.
	Results    []Code      `json:"-"`
	Units      []Unit      `json:"units"`
	Thresholds []Threshold `json:"thresholds"`
	// Critical are the critical limits: a result beyond one is a critical value
	// whatever the laboratory's range says.
	Critical []Threshold `json:"critical,omitempty"`
	// MovedBy are the drugs known to move the analyte, beyond the
	// cramp-inducing classes' lab effects.
	MovedBy []LabDrugs `json:"moved_by,omitempty"`
	// AlbuminCorrection, for total calcium, corrects the value for albumin before it is judged.
	AlbuminCorrection *AlbuminCorrection `json:"albumin_correction,omitempty"`
	// NeverCorrected marks a lab that must not be corrected (ionized calcium).
	NeverCorrected bool `json:"never_corrected,omitempty"`
	// Chronic, for eGFR, says when a reduced result means chronic kidney disease.
	Chronic *Chronicity `json:"chronic,omitempty"`
	// DefersTo names a lab of the same work-up that, when it has a result of the
	// same draw, is judged instead of this one (creatinine defers to eGFR).
	DefersTo string `json:"defers_to,omitempty"`
	// Workup is the workup item this lab belongs to, set at load.
	Workup *Workup `json:"-"`
}

// Chronicity says when an abnormal result is a chronic disease: an earlier
// result beyond the same threshold at least Months before the latest, with none
// inside it between, or one of Conditions (ids) present.
type Chronicity struct {
	Months     int      `json:"months"`
	Finding    string   `json:"finding"`
	Conditions []string `json:"conditions"`
	Source     string   `json:"source"`
}

// AlbuminCorrection is the albumin correction of total calcium:
// corrected = measured + Factor * (Reference - albumin), albumin in g/dL, taken
// from a result within WithinDays of the calcium result.
type AlbuminCorrection struct {
	Albumin    string  `json:"albumin"` // lab id of albumin
	Factor     float64 `json:"factor"`
	Reference  float64 `json:"reference"`
	WithinDays int     `json:"within_days"`
	Source     string  `json:"source"`
}

// Unit is a unit a lab may arrive in: canonical = value * Multiply / Divide + Add.
type Unit struct {
	Code       string  `json:"code"`
	Multiply   float64 `json:"multiply,omitempty"` // 0 in the file means 1
	Divide     float64 `json:"divide,omitempty"`   // 0 in the file means 1
	Add        float64 `json:"add,omitempty"`
	Source     string  `json:"source"`
	Unverified bool    `json:"unverified,omitempty"`
	Note       string  `json:"note,omitempty"`
}

// Threshold is a cut-off in the lab's canonical unit beyond which a result matters for cramps.
type Threshold struct {
	Finding    string  `json:"finding"` // e.g. "hypokalemia"
	Op         string  `json:"op"`      // "<", "<=", ">", ">="
	Value      float64 `json:"value"`
	Source     string  `json:"source"`
	Unverified bool    `json:"unverified,omitempty"`
	Note       string  `json:"note,omitempty"`
	// Sex limits the threshold to one administrative gender ("male", "female");
	// for a patient of unknown sex the least sensitive threshold of the lab applies.
	Sex string `json:"sex,omitempty"`
	// KnownBy lists conditions (ids) that already explain a result beyond the
	// threshold: with one present, the result is not reported again.
	KnownBy []string `json:"known_by,omitempty"`
	// Action, on a critical limit, is what a clinician is expected to do
	// (repeat or confirm, treat, consider an ECG...), as the card says it.
	Action string `json:"action,omitempty"`
	// Strict makes the value itself decide this side: the laboratory's flag
	// or reference range alone does not make a finding short of the threshold
	// (a potassium of 5.3 flagged H is not the review's 5.6 warning).
	Strict bool `json:"strict,omitempty"`
}

// LabDrugs are drugs, cramp-inducing or not, known to move an analyte to one
// side (ACE inhibitors raise potassium): a finding on that side names those on
// record. Matched by ATC code prefix or by a name word of the medication.
type LabDrugs struct {
	Direction string   `json:"direction"` // "low" or "high"
	Name      string   `json:"name"`      // e.g. "ACE inhibitors"
	Names     []string `json:"names"`     // ingredient names, lower case
	ATC       []string `json:"atc,omitempty"`
	Source    string   `json:"source"`
}

// Condition is an associated condition, a differential diagnosis, or both.
type Condition struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Category string `json:"category"`
	Note     string `json:"note,omitempty"`
	// Associated is true when the seeds name the condition as a cause or risk factor; Evidence says where.
	Associated bool       `json:"associated,omitempty"`
	Evidence   []Citation `json:"evidence,omitempty"`
	// Differential is set when the seeds say the condition must be told apart from cramps.
	Differential *Differential `json:"differential,omitempty"`
	// ValueSets name the condition's value sets (data/valuesets/<id>.json) of SNOMED CT and ICD-10-CM codes.
	ValueSets []string `json:"valuesets"`
	// SNOMED and ICD10CM are the value sets' codes, filled in at load.
	SNOMED  []Code `json:"-"`
	ICD10CM []Code `json:"-"`
	// RecentMonths, when set, makes an entry count only when recorded or with
	// onset within that many months (pregnancy: 10).
	RecentMonths int `json:"recent_months,omitempty"`
	// Plausible, when set, limits the condition to patients for whom it is possible.
	Plausible *Plausibility `json:"plausible,omitempty"`
	// Strength is how strongly the seeds tie the condition to cramps; empty means strong.
	Strength Strength `json:"strength,omitempty"`
	// Transient, when set, marks a passing disorder (an electrolyte
	// disorder, dehydration): a stale one-off diagnosis does not count.
	Transient *Transient `json:"transient,omitempty"`
	// Specialises names less specific items (diabetes for diabetic
	// neuropathy): a record entry coding for this item and one of those is
	// listed under this item only.
	Specialises []string `json:"specialises,omitempty"`
}

// Transient says when a diagnosis of a passing disorder still counts: an
// active problem-list entry, or one recorded (else with onset) within Months;
// and, when Lab is set, not when the latest in-window result of that lab is
// normal.
type Transient struct {
	Months int    `json:"months"`
	Lab    string `json:"lab,omitempty"`
	Source string `json:"source"`
}

// Plausibility is who a condition is possible for. A patient of unknown sex
// or age is given the benefit of the doubt.
type Plausibility struct {
	Sex    string `json:"sex,omitempty"` // administrative gender, e.g. "female"
	MinAge int    `json:"min_age,omitempty"`
	MaxAge int    `json:"max_age,omitempty"`
	Source string `json:"source"`
}

// Differential holds what distinguishes a mimic from true cramps.
type Differential struct {
	Features []Statement `json:"features"`
	Question *Statement  `json:"question,omitempty"` // a screening question to ask the patient
}

// Statement is a short quotable text with its evidence.
type Statement struct {
	Text     string     `json:"text"`
	Evidence []Citation `json:"evidence"`
}

// Pearl is a clinical pearl or pitfall the cards may quote.
type Pearl struct {
	ID       string     `json:"id"`
	Kind     string     `json:"kind"` // "pearl" or "pitfall"
	Text     string     `json:"text"`
	Evidence []Citation `json:"evidence"`
}
