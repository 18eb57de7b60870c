// Package bulk reads a whole population's FHIR R4 data one patient at a time:
// a FHIR Bulk Data export ($export NDJSON files, one resource per line,
// optionally gzip-compressed), or a directory of whole-patient Bundles such
// as Synthea writes.
//
// NDJSON is not sorted by patient: a patient's Observations may be anywhere
// in a file of millions of lines. Read groups the lines with a bounded
// external sort (internal/extsort) keyed by patient id, so its memory stays
// near Options.MemoryBudget plus the largest patient, whatever the size of
// the export; the spill on disk is about the size of the lines read.
//
// Input problems never stop a run: a line that is not a resource, that names
// no patient, or whose patient has no Patient resource in the export is
// reported (file and line, never its content) and skipped.
package bulk

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/cramp-cds/cramp-cds/fhir"
	"github.com/cramp-cds/cramp-cds/internal/extsort"
)

// Defaults for Options' zero fields.
const (
	DefaultMemoryBudget    = 32 << 20
	DefaultMaxLineBytes    = 16 << 20
	DefaultMaxPatientBytes = 64 << 20

	DefaultMaxMedicationBytes = 64 << 20
)

// Options tune Read. The zero value reads the whole population with the
// defaults above.
type Options struct {
	// Types are the resource types read from an NDJSON export (required):
	// those the services' rules read, as their prefetch templates name them
	// (fhir.TemplateTypes). Patient is always read, and so are Medications
	// (files Medication*.ndjson), for the medicationReferences of the others.
	// Lines of other types are reported and skipped.
	Types []string
	// Shard selects the patients read; the zero Shard is everyone. Problems
	// that belong to no patient (a line that names none, a file that does
	// not read) are reported by shard 0 only, so that the shards' problems
	// add up to those of the whole run.
	Shard Shard
	// MemoryBudget bounds the bytes of NDJSON lines held in memory while
	// grouping them by patient; the rest is spilled to TempDir.
	MemoryBudget int
	// TempDir holds the spill ("" is os.TempDir()).
	TempDir string
	// MaxLineBytes is the longest NDJSON line read; longer lines are problems.
	MaxLineBytes int
	// MaxPatientBytes caps one patient's resources (or one Bundle file);
	// a larger patient is a problem and skipped.
	MaxPatientBytes int
	// MaxMedicationBytes caps the Medication resources of an export
	// (Medication*.ndjson), held in memory for the medicationReferences of
	// every patient; those beyond it are problems.
	MaxMedicationBytes int
	// OnProblem is told about every input problem, from Read's goroutine.
	OnProblem func(Problem)
	// OnTotal, when set, is told once how many patients Read will pass to
	// its callback, as soon as that is known; -1 when it cannot be known
	// beforehand (a sharded directory of Bundles).
	OnTotal func(n int)
	// Logger receives a line per file skipped for its type; nil discards.
	Logger *slog.Logger

	onPatientProblem func(Problem) // OnProblem for problems of a patient of the shard
}

func (o *Options) setDefaults() {
	if o.MemoryBudget <= 0 {
		o.MemoryBudget = DefaultMemoryBudget
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if o.MaxPatientBytes <= 0 {
		o.MaxPatientBytes = DefaultMaxPatientBytes
	}
	if o.MaxMedicationBytes <= 0 {
		o.MaxMedicationBytes = DefaultMaxMedicationBytes
	}
	if o.OnProblem == nil {
		o.OnProblem = func(Problem) {}
	}
	// A patient's problems go to its shard; the rest to shard 0 alone.
	o.onPatientProblem = o.OnProblem
	if o.Shard.Index != 0 {
		o.OnProblem = func(Problem) {}
	}
	if o.OnTotal == nil {
		o.OnTotal = func(int) {}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Problem is a piece of input that was skipped, and why. It names where the
// input is (file, line) and never holds its content, so it is safe to log.
type Problem struct {
	File string `json:"file"`
	// Line is the 1-based NDJSON line; 0 for a problem with a whole file or
	// an entry of a Bundle file (then Reason names the entry).
	Line   int    `json:"line,omitempty"`
	Reason string `json:"reason"`
}

// String is "file:line: reason".
func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Reason)
	}
	return p.File + ": " + p.Reason
}

// Patient is one patient's resources, ready to be read into a Record.
type Patient struct {
	// ID is the bare Patient.id.
	ID string
	// bundle holds the resources as one collection Bundle, so that a
	// patient from NDJSON is read exactly as a Bundle file is.
	bundle []byte
	// file is the Bundle file, or "" for NDJSON.
	file string
	// lines locates each entry of bundle in the NDJSON files.
	lines []location
}

type location struct {
	file string
	line int
}

// Record reads the patient's resources with fhir.ReadBundle (the reader of
// `cramp-cds evaluate` for a Bundle file), and returns what it skipped as
// problems naming the file and line. It fails only when the resources do not
// form a readable Bundle, which Read has already checked for NDJSON.
func (p *Patient) Record() (*fhir.Record, []Problem, error) {
	rec, err := fhir.ReadBundle(bytes.NewReader(p.bundle), int64(len(p.bundle)))
	if err != nil {
		return nil, nil, err
	}
	var problems []Problem
	for _, s := range rec.Skipped {
		problems = append(problems, p.locate(s))
	}
	return rec, problems, nil
}

// locate turns a skip of ReadBundle ("entry N") into a problem at its origin.
func (p *Patient) locate(s fhir.Skipped) Problem {
	var entry int
	_, err := fmt.Sscanf(s.Source, "entry %d", &entry)
	switch {
	case err != nil:
		file := p.file
		if file == "" && len(p.lines) > 0 {
			file = p.lines[0].file
		}
		return Problem{File: file, Reason: s.Reason}
	case p.file != "":
		return Problem{File: p.file, Reason: fmt.Sprintf("entry %d: %s", entry, s.Reason)}
	case entry >= 0 && entry < len(p.lines):
		return Problem{File: p.lines[entry].file, Line: p.lines[entry].line, Reason: s.Reason}
	default:
		return Problem{Reason: s.Reason}
	}
}

// Read calls fn with each patient of the shard from dir, one at a time, and
// stops at fn's first error. dir holds an NDJSON export (files ending .ndjson
// or .ndjson.gz) or else whole-patient Bundles (.json). Read fails only when
// dir cannot be read, the spill cannot be written, ctx ends, or fn fails;
// every problem with the input itself is passed to opts.OnProblem and skipped.
func Read(ctx context.Context, dir string, opts Options, fn func(*Patient) error) error {
	opts.setDefaults()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading the input directory: %w", err)
	}
	var ndjson, bundles []string
	for _, e := range entries {
		switch name := e.Name(); {
		case e.IsDir():
		case strings.HasSuffix(name, ".ndjson"), strings.HasSuffix(name, ".ndjson.gz"):
			ndjson = append(ndjson, name)
		case strings.HasSuffix(name, ".json") && name != "manifest.json":
			bundles = append(bundles, name)
		}
	}
	switch {
	case len(ndjson) > 0:
		return readNDJSON(ctx, dir, ndjson, opts, fn)
	case len(bundles) > 0:
		return readBundles(ctx, dir, bundles, opts, fn)
	default:
		return fmt.Errorf("%s holds no .ndjson, .ndjson.gz or .json files", dir)
	}
}

// fileType is the resource type an export file's name announces
// ("Observation.ndjson", "Observation_2.ndjson.gz", "Observation.003.ndjson"),
// or "" when the name does not start with one.
func fileType(name string) string {
	end := strings.IndexFunc(name, func(r rune) bool { return !unicode.IsLetter(r) })
	if end <= 0 || !unicode.IsUpper(rune(name[0])) {
		return ""
	}
	return name[:end]
}

// readNDJSON groups the lines of the files by patient and passes each group on.
func readNDJSON(ctx context.Context, dir string, names []string, opts Options, fn func(*Patient) error) error {
	if len(opts.Types) == 0 {
		return errors.New("reading an NDJSON export: no resource types to read (Options.Types)")
	}
	if !slices.Contains(opts.Types, "Patient") {
		opts.Types = append(slices.Clip(opts.Types), "Patient")
	}
	// Patient files first: a patient's group then starts with its Patient.
	slices.SortStableFunc(names, func(a, b string) int {
		pa, pb := fileType(a) == "Patient", fileType(b) == "Patient"
		switch {
		case pa == pb:
			return strings.Compare(a, b)
		case pa:
			return -1
		default:
			return 1
		}
	})
	var files, medications []string
	for _, name := range names {
		switch t := fileType(name); {
		case t == "Medication":
			medications = append(medications, name)
		case t != "" && !slices.Contains(opts.Types, t):
			opts.Logger.Info("skipping an export file: its resource type is not read", slog.String("file", name))
		default:
			files = append(files, name)
		}
	}
	catalog, err := loadMedications(ctx, dir, medications, opts)
	if err != nil {
		return err
	}
	sorter := extsort.New(opts.TempDir, opts.MemoryBudget)
	defer sorter.Close()
	patients := 0
	for i, name := range files {
		n, err := indexFile(ctx, dir, name, i, sorter, opts)
		if err != nil {
			return err
		}
		patients += n
	}
	opts.OnTotal(patients)
	g := grouper{files: files, catalog: catalog, opts: opts, fn: fn}
	err = sorter.Each(func(key, value []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return g.add(string(key), value)
	})
	if err != nil {
		return err
	}
	return g.flush()
}

// Flags of a spilled line.
const (
	flagPatient = 1 << iota
)

// resourceLine is one readable line of an export file: its number, its
// bytes (valid only during the callback) and its resource's head, read by
// the fhir reader with the member-name rules of every other entry point.
type resourceLine struct {
	line int
	raw  []byte
	head fhir.Head
}

// eachResource calls fn for every line of the export file that is a JSON
// resource with a resourceType; every other line is a problem. A gzip file
// that is corrupt or truncated is a problem, and what was read before counts.
func eachResource(ctx context.Context, dir, name string, opts Options, fn func(resourceLine) error) error {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return fmt.Errorf("opening %s: %w", name, err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(name, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			opts.OnProblem(Problem{File: name, Reason: "not a gzip file: skipped"})
			return nil
		}
		defer gz.Close()
		r = gz
	}
	err = eachLine(r, opts.MaxLineBytes, func(line int, b []byte, tooLong bool) error {
		if line%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		problem := func(reason string) error {
			opts.OnProblem(Problem{File: name, Line: line, Reason: reason})
			return nil
		}
		if tooLong {
			return problem(fmt.Sprintf("line longer than %d bytes", opts.MaxLineBytes))
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			return nil
		}
		head, err := fhir.ReadHead(b)
		switch {
		case errors.Is(err, fhir.ErrNotJSON):
			return problem("not valid JSON")
		case err != nil:
			return problem(err.Error())
		}
		return fn(resourceLine{line: line, raw: b, head: head})
	})
	if errors.Is(err, errRead) && strings.HasSuffix(name, ".gz") {
		opts.OnProblem(Problem{File: name, Reason: "gzip stream is corrupt or truncated: the rest of the file is skipped"})
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	return nil
}

// indexFile spills every usable line of one file into the sorter, keyed by
// patient id, and returns how many Patient lines of the shard it held.
func indexFile(ctx context.Context, dir, name string, fileIndex int, sorter *extsort.Sorter, opts Options) (int, error) {
	patients := 0
	var value []byte
	err := eachResource(ctx, dir, name, opts, func(rl resourceLine) error {
		p := rl.head
		problem := func(reason string) error {
			opts.OnProblem(Problem{File: name, Line: rl.line, Reason: reason})
			return nil
		}
		var key string
		var flags byte
		switch {
		case !slices.Contains(opts.Types, p.Type):
			return problem(fmt.Sprintf("resource type %s is not read", p.Type))
		case p.Type == "Patient":
			if p.ID == "" {
				return problem("Patient without an id")
			}
			key, flags = p.ID, flagPatient
		default:
			if key = referencedID("Patient", p.Subject); key == "" {
				if p.Problem != "" {
					// Why the subject was not read (a member in another case...).
					return problem(p.Problem)
				}
				return problem(p.Type + " without a subject reference to a Patient")
			}
		}
		if !opts.Shard.Has(key) {
			return nil
		}
		if flags&flagPatient != 0 {
			patients++
		}
		medication := referencedID("Medication", p.MedicationRef)
		value = append(value[:0], flags)
		value = binary.AppendUvarint(value, uint64(fileIndex))
		value = binary.AppendUvarint(value, uint64(rl.line))
		value = binary.AppendUvarint(value, uint64(len(medication)))
		value = append(value, medication...)
		value = append(value, rl.raw...)
		if err := sorter.Add([]byte(key), value); err != nil {
			return fmt.Errorf("grouping by patient: %w", err)
		}
		return nil
	})
	return patients, err
}

// catalogEntry is one Medication of the export, and where it is.
type catalogEntry struct {
	raw []byte
	at  location
}

// loadMedications reads the export's Medication files into memory, by id.
// Medications are not about a patient: many patients' requests refer to the
// same one, and their number is that of the formulary, not the population;
// opts.MaxMedicationBytes caps them all the same.
func loadMedications(ctx context.Context, dir string, names []string, opts Options) (map[string]catalogEntry, error) {
	catalog := map[string]catalogEntry{}
	size := 0
	for _, name := range names {
		err := eachResource(ctx, dir, name, opts, func(rl resourceLine) error {
			problem := func(reason string) error {
				opts.OnProblem(Problem{File: name, Line: rl.line, Reason: reason})
				return nil
			}
			switch {
			case rl.head.Type != "Medication":
				return problem(fmt.Sprintf("resource type %s in a Medication file", rl.head.Type))
			case rl.head.ID == "":
				return problem("Medication without an id")
			case size+len(rl.raw) > opts.MaxMedicationBytes:
				return problem(fmt.Sprintf("the export's Medications exceed %d bytes: this one is skipped", opts.MaxMedicationBytes))
			}
			if _, dup := catalog[rl.head.ID]; !dup {
				size += len(rl.raw)
				catalog[rl.head.ID] = catalogEntry{raw: bytes.Clone(rl.raw), at: location{file: name, line: rl.line}}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return catalog, nil
}

// referencedID returns the id of a reference to a resource of type typ
// ("Patient/1", "https://x/fhir/Patient/1", "Patient/1/_history/2"), or "".
func referencedID(typ, ref string) string {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if len(parts) < 2 || parts[len(parts)-2] != typ || parts[len(parts)-1] == "" {
		return ""
	}
	return parts[len(parts)-1]
}

// errRead marks an error reading the input, as opposed to one of fn.
var errRead = errors.New("reading")

// eachLine calls fn for every non-empty line of r (without its newline),
// numbered from 1. A line longer than max is passed empty with tooLong set.
// An error reading r wraps errRead.
func eachLine(r io.Reader, max int, fn func(line int, b []byte, tooLong bool) error) error {
	br := bufio.NewReaderSize(r, 256<<10)
	var buf []byte
	for line := 1; ; line++ {
		buf = buf[:0]
		tooLong := false
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			switch {
			case tooLong:
			case len(buf)+len(chunk) > max+1: // +1: the newline
				tooLong, buf = true, buf[:0]
			default:
				buf = append(buf, chunk...)
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: %w", errRead, err)
		}
		if len(buf) > 0 || tooLong {
			if ferr := fn(line, bytes.TrimSuffix(buf, []byte("\n")), tooLong); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			return nil // io.EOF
		}
	}
}

// grouper assembles the sorted lines into patients.
type grouper struct {
	files   []string
	catalog map[string]catalogEntry
	opts    Options
	fn      func(*Patient) error

	key         string
	hasPatient  bool
	tooLarge    bool
	bundle      []byte
	lines       []location // of each entry of bundle
	medications []string   // ids the patient's medication entries refer to
}

const bundleHead = `{"resourceType":"Bundle","type":"collection","entry":[`

func (g *grouper) add(key string, value []byte) error {
	if key != g.key || g.bundle == nil {
		if err := g.flush(); err != nil {
			return err
		}
		g.key = key
		g.bundle = append(g.bundle[:0], bundleHead...)
	}
	flags := value[0]
	rest := value[1:]
	file, n := binary.Uvarint(rest)
	rest = rest[n:]
	line, n := binary.Uvarint(rest)
	rest = rest[n:]
	medLen, n := binary.Uvarint(rest)
	rest = rest[n:]
	if medication := string(rest[:medLen]); medication != "" && !slices.Contains(g.medications, medication) {
		g.medications = append(g.medications, medication)
	}
	g.hasPatient = g.hasPatient || flags&flagPatient != 0
	g.addEntry(rest[medLen:], location{file: g.files[file], line: int(line)})
	return nil
}

// addEntry appends one resource to the patient's Bundle, unless the patient
// is already too large.
func (g *grouper) addEntry(raw []byte, at location) {
	g.lines = append(g.lines, at)
	if g.tooLarge || len(g.bundle)+len(raw)+16 > g.opts.MaxPatientBytes {
		g.tooLarge = true
		return
	}
	if len(g.lines) > 1 {
		g.bundle = append(g.bundle, ',')
	}
	g.bundle = append(g.bundle, `{"resource":`...)
	g.bundle = append(g.bundle, raw...)
	g.bundle = append(g.bundle, '}')
}

// flush passes on the patient gathered so far, or reports why it cannot.
func (g *grouper) flush() error {
	if g.bundle == nil || len(g.lines) == 0 {
		return nil
	}
	defer func() {
		g.bundle, g.lines, g.medications, g.hasPatient, g.tooLarge = g.bundle[:0], g.lines[:0], g.medications[:0], false, false
	}()
	if !g.hasPatient {
		for _, l := range g.lines {
			g.opts.onPatientProblem(Problem{File: l.file, Line: l.line, Reason: "its patient has no Patient resource in the export"})
		}
		return nil
	}
	// The Medications the patient's entries refer to join its Bundle, where
	// the record reader resolves "Medication/id"; one the export lacks is
	// reported by the reader as unresolved, at the referring line.
	for _, id := range g.medications {
		if m, ok := g.catalog[id]; ok {
			g.addEntry(m.raw, m.at)
		}
	}
	if g.tooLarge {
		first := g.lines[0]
		g.opts.onPatientProblem(Problem{File: first.file, Line: first.line,
			Reason: fmt.Sprintf("this patient's resources exceed %d bytes: the patient is skipped", g.opts.MaxPatientBytes)})
		return nil
	}
	// The Patient gets its own copies: fn may keep it while the next
	// patient is gathered.
	bundle := make([]byte, 0, len(g.bundle)+2)
	bundle = append(append(bundle, g.bundle...), "]}"...)
	p := &Patient{ID: g.key, bundle: bundle, lines: slices.Clone(g.lines)}
	return g.fn(p)
}

// readBundles passes on each Bundle file of the shard, each patient once.
func readBundles(ctx context.Context, dir string, names []string, opts Options, fn func(*Patient) error) error {
	slices.Sort(names)
	seen := make(map[string]string) // patient id -> the file that gave it
	if opts.Shard.Whole() {
		opts.OnTotal(len(names))
	} else {
		opts.OnTotal(-1)
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := readCapped(filepath.Join(dir, name), opts.MaxPatientBytes)
		if errors.Is(err, fhir.ErrTooLarge) {
			opts.OnProblem(Problem{File: name, Reason: fmt.Sprintf("larger than %d bytes: skipped", opts.MaxPatientBytes)})
			continue
		}
		if err != nil {
			return err
		}
		id, reason := bundlePatient(data)
		if reason != "" {
			opts.OnProblem(Problem{File: name, Reason: reason})
			continue
		}
		if !opts.Shard.Has(id) {
			continue
		}
		// A copy of a patient's file would give the patient two worklist
		// rows: the first file (in name order) counts, the others are reported.
		if first, dup := seen[id]; dup {
			opts.onPatientProblem(Problem{File: name, Reason: "the same Patient as " + first + ": skipped"})
			continue
		}
		seen[id] = name
		if err := fn(&Patient{ID: id, bundle: data, file: name}); err != nil {
			return err
		}
	}
	return nil
}

func readCapped(path string, max int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening a Bundle file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Base(path), err)
	}
	if len(data) > max {
		return nil, fhir.ErrTooLarge
	}
	return data, nil
}

// bundlePatient returns the id of the Bundle's first Patient, or why there is none.
func bundlePatient(data []byte) (id, problem string) {
	id, err := fhir.BundlePatientID(data)
	switch {
	case errors.Is(err, fhir.ErrNoPatient):
		return "", "the Bundle holds no Patient with an id: skipped"
	case err != nil:
		return "", "not a FHIR Bundle: skipped"
	}
	return id, ""
}
