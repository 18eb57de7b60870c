package population

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/cramp-cds/cramp-cds/fhir/bulk"
	"github.com/cramp-cds/cramp-cds/internal/extsort"
)

// sortBudget bounds the memory of each output's external sort.
const sortBudget = 16 << 20

// problemsHeader is the first line of problems.csv.
var problemsHeader = []string{"file", "line", "reason"}

// outputs collects a run's (or a merge's) results and writes its files: the
// worklist and the problems through external sorts, so that they come out in
// the same order however the patients were split and scheduled.
type outputs struct {
	topic    Topic
	tally    *tally
	worklist *extsort.Sorter
	problems *extsort.Sorter
}

func newOutputs(tempDir string, run RunInfo, topic Topic) *outputs {
	return &outputs{
		topic:    topic,
		tally:    newTally(run, topic),
		worklist: extsort.New(tempDir, sortBudget),
		problems: extsort.New(tempDir, sortBudget),
	}
}

func (o *outputs) close() {
	o.worklist.Close()
	o.problems.Close()
}

// add counts one evaluated patient (row may be nil: a patient skipped) and
// its problems.
func (o *outputs) add(row *Row, problems []bulk.Problem) error {
	if row != nil {
		o.tally.addRow(row)
		if row.Cards > 0 {
			if err := o.worklist.Add([]byte(row.ID), row.worklistLine()); err != nil {
				return fmt.Errorf("population: sorting the worklist: %w", err)
			}
		}
	}
	for _, p := range problems {
		if err := o.addProblemLine(problemKey(p), csvLine([]string{p.File, strconv.Itoa(p.Line), p.Reason})); err != nil {
			return err
		}
	}
	o.tally.addProblems(problems)
	return nil
}

func (o *outputs) addProblemLine(key, line []byte) error {
	if err := o.problems.Add(key, line); err != nil {
		return fmt.Errorf("population: sorting the problems: %w", err)
	}
	return nil
}

// problemKey orders problems by file, line and reason.
func problemKey(p bulk.Problem) []byte {
	return fmt.Appendf(nil, "%s\x00%012d\x00%s", p.File, p.Line, p.Reason)
}

// write writes every output file into dir.
func (o *outputs) write(dir string) error {
	s := o.tally.summary()
	summary, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("population: encoding the summary: %w", err)
	}
	report, err := Report(&s, o.topic)
	if err != nil {
		return err
	}
	return errors.Join(
		writeSorted(filepath.Join(dir, WorklistFile), o.topic.worklistHeader(), o.worklist),
		writeSorted(filepath.Join(dir, ProblemsFile), problemsHeader, o.problems),
		writeFile(filepath.Join(dir, SummaryFile), append(summary, '\n')),
		writeFile(filepath.Join(dir, ReportFile), report),
	)
}

// writeSorted writes a CSV file: the header, then the sorter's lines.
func writeSorted(path string, header []string, lines *extsort.Sorter) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("population: %w", err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	w.Write(csvLine(header))
	err = lines.Each(func(_, line []byte) error {
		_, err := w.Write(line)
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("population: writing %s: %w", filepath.Base(path), err)
	}
	return nil
}

func writeFile(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("population: %w", err)
	}
	return nil
}
