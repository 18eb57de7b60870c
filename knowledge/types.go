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
}

// Ref is one citable reference (a numbered reference, a list item or a section) of a Source.
type Ref struct {
	ID     string `json:"id"`
	Title  string `json:"title,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Citation points at the statement in a seed that supports an item.
// Load guarantees that Seed names a Source and Ref one of its Refs.
type Citation struct {
	Seed string `json:"seed"`
	Ref  string `json:"ref"`
	Line int    `json:"line"` // 1-based line in the seed file
	// SourceTitle and RefTitle are filled in at load from the Source, for display.
	SourceTitle string `json:"-"`
	RefTitle    string `json:"-"`
}

// Code is one code of a terminology with where it was checked.
type Code struct {
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
	// Source names where the code was verified: a public terminology release, value set or dataset a reader can open.
	Source string `json:"source"`
	// Prefix makes the code match every code that starts with it (ICD-10-CM and ATC only).
	Prefix bool `json:"prefix,omitempty"`
	// Unverified is true when no source confirms the code; matches through it are low confidence.
	Unverified bool   `json:"unverified,omitempty"`
	Note       string `json:"note,omitempty"`
	// SharedWith explains why another item may claim the same code; without it a second claim fails the load.
	SharedWith string `json:"shared_with,omitempty"`
}

// TriggerSet holds the codes that mean the patient has leg cramps.
type TriggerSet struct {
	Name     string     `json:"name"`
	Evidence []Citation `json:"evidence"`
	ICD10CM  []Code     `json:"icd10cm"`
	SNOMED   []Code     `json:"snomed"`
}

// DrugClass is a class of cramp-inducing drugs with its evidence and ingredients.
type DrugClass struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Group string `json:"group"` // heading for cards, e.g. "Diuretics" for the three diuretic classes
	Note  string `json:"note,omitempty"`
	// Evidence cites the seeds naming the class; it applies to every ingredient.
	Evidence []Citation `json:"evidence"`
	// ATCPrefixes match any ATC code under the root (except Exclude) when the ingredient is not known.
	ATCPrefixes []ATCPrefix   `json:"atc_prefixes,omitempty"`
	Ingredients []*Ingredient `json:"ingredients"`
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
	ATC      []Code   `json:"atc,omitempty"`    // substance codes, combination codes, or a class prefix
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
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Labs     []string   `json:"labs"`  // lab ids
	Order    Code       `json:"order"` // the LOINC code to order
	Evidence []Citation `json:"evidence"`
	// LookbackMonths is how old a result may be and still count; set at load from the file default.
	LookbackMonths int `json:"-"`
	// Resolved holds the labs, set at load.
	Resolved []*Lab `json:"-"`
}

// Lab is one analyte: every LOINC result code that counts, its units and its abnormal thresholds.
type Lab struct {
	ID            string      `json:"id"`
	Name          string      `json:"name"`
	Note          string      `json:"note,omitempty"`
	CanonicalUnit string      `json:"canonical_unit"`
	Results       []Code      `json:"results"`
	Units         []Unit      `json:"units"`
	Thresholds    []Threshold `json:"thresholds"`
	// Workup is the workup item this lab belongs to, set at load.
	Workup *Workup `json:"-"`
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
	SNOMED       []Code        `json:"snomed,omitempty"`
	ICD10CM      []Code        `json:"icd10cm,omitempty"`
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
