package population

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/cramp-cds/cramp-cds/fhir/bulk"
)

// Merge combines the outputs of the shards of one run of topic (each directory
// written by Run with --shard I/N) into out, as if the run had not been
// sharded: the same worklist, problems and summary, and a report of the
// whole. It refuses shards of different runs (evaluation time, trigger,
// knowledge version, id mode), a shard given twice, and an incomplete set.
// Memory stays bounded: the files are streamed through external sorts.
func Merge(ctx context.Context, topic Topic, out, tempDir string, dirs []string) (*Summary, error) {
	summaries := make([]*Summary, len(dirs))
	for i, d := range dirs {
		s, err := readSummary(d)
		if err != nil {
			return nil, err
		}
		summaries[i] = s
	}
	run, err := mergedRun(dirs, summaries)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("population: creating the output directory: %w", err)
	}
	o := newOutputs(tempDir, run, topic)
	defer o.close()
	for i, d := range dirs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		o.tally.addSummary(summaries[i])
		err := readCSV(filepath.Join(d, WorklistFile), topic.worklistHeader(), func(rec []string) error {
			return o.worklist.Add([]byte(rec[0]), csvLine(rec))
		})
		if err != nil {
			return nil, err
		}
		err = readCSV(filepath.Join(d, ProblemsFile), problemsHeader, func(rec []string) error {
			line, err := strconv.Atoi(rec[1])
			if err != nil {
				return fmt.Errorf("line %q is not a number", rec[1])
			}
			return o.addProblemLine(problemKey(bulk.Problem{File: rec[0], Line: line, Reason: rec[2]}), csvLine(rec))
		})
		if err != nil {
			return nil, err
		}
	}
	if err := o.write(out); err != nil {
		return nil, err
	}
	s := o.tally.summary()
	return &s, nil
}

func readSummary(dir string) (*Summary, error) {
	data, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		return nil, fmt.Errorf("population: reading a shard: %w", err)
	}
	var s Summary
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("population: %s: %w", filepath.Join(dir, SummaryFile), err)
	}
	return &s, nil
}

// mergedRun checks that the summaries are the complete, distinct shards of
// one run and returns that run, unsharded.
func mergedRun(dirs []string, ss []*Summary) (RunInfo, error) {
	if len(ss) == 0 {
		return RunInfo{}, errors.New("population: nothing to merge")
	}
	run := ss[0].Run
	run.Shard = ""
	count := -1
	seen := map[int]string{}
	for i, s := range ss {
		other := s.Run
		other.Shard = ""
		if !other.AsOf.Equal(run.AsOf) || other.Trigger != run.Trigger || other.Knowledge != run.Knowledge ||
			other.IDs != run.IDs || other.IDKeyCheck != run.IDKeyCheck {
			return RunInfo{}, fmt.Errorf("population: %s and %s are not shards of one run (as of, trigger, knowledge, ids or id key differ)", dirs[0], dirs[i])
		}
		shard, err := bulk.ParseShard(s.Run.Shard)
		if err != nil {
			return RunInfo{}, fmt.Errorf("population: %s: %w", dirs[i], err)
		}
		n := max(shard.Count, 1)
		if count >= 0 && n != count {
			return RunInfo{}, fmt.Errorf("population: %s is a shard of %d, %s of %d", dirs[i], n, dirs[0], count)
		}
		count = n
		if prev, dup := seen[shard.Index]; dup {
			return RunInfo{}, fmt.Errorf("population: %s and %s are the same shard %d/%d", prev, dirs[i], shard.Index, n)
		}
		seen[shard.Index] = dirs[i]
	}
	var missing []int
	for i := range count {
		if _, ok := seen[i]; !ok {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		return RunInfo{}, fmt.Errorf("population: shards %v of %d are missing", missing, count)
	}
	return run, nil
}

// readCSV streams the records of a CSV output after checking its header.
func readCSV(path string, header []string, fn func([]string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("population: reading a shard: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 256<<10))
	r.FieldsPerRecord = len(header)
	r.ReuseRecord = true
	got, err := r.Read()
	if err != nil || !slices.Equal(got, header) {
		return fmt.Errorf("population: %s does not start with the header %v", path, header)
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err == nil {
			err = fn(rec)
		}
		if err != nil {
			return fmt.Errorf("population: %s: %w", path, err)
		}
	}
}
