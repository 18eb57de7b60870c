// Package extsort sorts more (key, value) records than fit in memory: records
// are buffered up to a byte budget, each full buffer is sorted and spilled to
// a temporary run file, and the runs are merged in one streaming pass. Memory
// stays near the budget whatever the number of records.
package extsort

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// recordOverhead approximates what a buffered record costs beyond its bytes
// (slice headers, allocation rounding), so the budget holds for tiny records.
const recordOverhead = 64

// maxFanIn bounds the runs merged at once (open files and their buffers);
// more runs are first merged into larger ones.
const maxFanIn = 64

// Sorter collects records and returns them ordered by key. Records with equal
// keys come back in the order they were added. A Sorter is not safe for
// concurrent use; Close removes its temporary files.
type Sorter struct {
	dir      string // parent of the spill directory
	budget   int
	spill    string // spill directory, created on the first spill
	buf      []record
	bufBytes int
	runs     []string
	nextRun  int
	done     bool
}

type record struct{ key, value []byte }

// New returns a Sorter that keeps about budget bytes of records in memory and
// spills the rest under a new directory in dir ("" is os.TempDir()).
func New(dir string, budget int) *Sorter {
	if budget <= 0 {
		budget = 32 << 20
	}
	return &Sorter{dir: dir, budget: budget}
}

// Add copies one record into the sorter, spilling to disk when the budget is
// reached. It fails only when the spill cannot be written, or after Each.
func (s *Sorter) Add(key, value []byte) error {
	if s.done {
		return errors.New("extsort: Add after Each")
	}
	b := make([]byte, len(key)+len(value))
	copy(b, key)
	copy(b[len(key):], value)
	s.buf = append(s.buf, record{key: b[:len(key):len(key)], value: b[len(key):]})
	s.bufBytes += len(b) + recordOverhead
	if s.bufBytes >= s.budget {
		return s.spillBuffer()
	}
	return nil
}

// sortBuffer orders the buffer by key; the stable sort keeps insertion order
// among equal keys.
func (s *Sorter) sortBuffer() {
	slices.SortStableFunc(s.buf, func(a, b record) int { return bytes.Compare(a.key, b.key) })
}

func (s *Sorter) spillBuffer() error {
	if len(s.buf) == 0 {
		return nil
	}
	s.sortBuffer()
	name, err := s.newRun()
	if err != nil {
		return err
	}
	w, err := createRun(name)
	if err != nil {
		return err
	}
	for _, r := range s.buf {
		if err := w.write(r.key, r.value); err != nil {
			w.close()
			return err
		}
	}
	if err := w.close(); err != nil {
		return err
	}
	s.runs = append(s.runs, name)
	s.buf, s.bufBytes = s.buf[:0], 0
	return nil
}

func (s *Sorter) newRun() (string, error) {
	if s.spill == "" {
		d, err := os.MkdirTemp(s.dir, "extsort-")
		if err != nil {
			return "", fmt.Errorf("extsort: creating the spill directory: %w", err)
		}
		s.spill = d
	}
	s.nextRun++
	return filepath.Join(s.spill, fmt.Sprintf("run-%06d", s.nextRun)), nil
}

// Each calls fn for every record in key order (equal keys in insertion
// order) and stops at fn's first error, which it returns. The slices passed
// to fn are valid only during the call. Each may be called once.
func (s *Sorter) Each(fn func(key, value []byte) error) error {
	if s.done {
		return errors.New("extsort: Each called twice")
	}
	s.done = true
	if len(s.runs) == 0 {
		s.sortBuffer()
		for _, r := range s.buf {
			if err := fn(r.key, r.value); err != nil {
				return err
			}
		}
		s.buf = nil
		return nil
	}
	if err := s.spillBuffer(); err != nil {
		return err
	}
	s.buf = nil
	for len(s.runs) > maxFanIn {
		if err := s.mergeFirstRuns(); err != nil {
			return err
		}
	}
	return mergeRuns(s.runs, fn)
}

// mergeFirstRuns merges the oldest maxFanIn runs into one that takes their
// place at the front: its records were all added before those of the runs
// after it, so equal keys stay in insertion order.
func (s *Sorter) mergeFirstRuns() error {
	name, err := s.newRun()
	if err != nil {
		return err
	}
	w, err := createRun(name)
	if err != nil {
		return err
	}
	first := s.runs[:maxFanIn]
	if err := mergeRuns(first, w.write); err != nil {
		w.close()
		return err
	}
	if err := w.close(); err != nil {
		return err
	}
	for _, r := range first {
		os.Remove(r)
	}
	s.runs = append([]string{name}, s.runs[maxFanIn:]...)
	return nil
}

// Close removes the sorter's temporary files.
func (s *Sorter) Close() error {
	s.buf = nil
	if s.spill == "" {
		return nil
	}
	if err := os.RemoveAll(s.spill); err != nil {
		return fmt.Errorf("extsort: removing the spill directory: %w", err)
	}
	return nil
}

// runWriter writes one run: per record, uvarint key length, key, uvarint
// value length, value.
type runWriter struct {
	f   *os.File
	w   *bufio.Writer
	tmp [binary.MaxVarintLen64]byte
}

func createRun(name string) (*runWriter, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("extsort: creating a run: %w", err)
	}
	return &runWriter{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

func (w *runWriter) write(key, value []byte) error {
	for _, b := range [][]byte{key, value} {
		n := binary.PutUvarint(w.tmp[:], uint64(len(b)))
		w.w.Write(w.tmp[:n])
		if _, err := w.w.Write(b); err != nil {
			return fmt.Errorf("extsort: writing a run: %w", err)
		}
	}
	return nil
}

func (w *runWriter) close() error {
	err := w.w.Flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("extsort: writing a run: %w", err)
	}
	return nil
}

// runReader reads a run back one record at a time.
type runReader struct {
	f          *os.File
	r          *bufio.Reader
	index      int // position among the runs merged, the tie-breaker
	key, value []byte
}

func (r *runReader) next() (bool, error) {
	var err error
	if r.key, err = r.field(r.key); err != nil {
		if err == io.EOF {
			return false, nil
		}
		return false, err
	}
	if r.value, err = r.field(r.value); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return false, err
	}
	return true, nil
}

func (r *runReader) field(buf []byte) ([]byte, error) {
	n, err := binary.ReadUvarint(r.r)
	if err != nil {
		return nil, err
	}
	buf = slices.Grow(buf[:0], int(n))[:n]
	if _, err := io.ReadFull(r.r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// mergeRuns streams the records of the runs in key order, equal keys in run
// order, to fn.
func mergeRuns(runs []string, fn func(key, value []byte) error) error {
	h := make(runHeap, 0, len(runs))
	defer func() {
		for _, r := range h {
			r.f.Close()
		}
	}()
	for i, name := range runs {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("extsort: opening a run: %w", err)
		}
		r := &runReader{f: f, r: bufio.NewReaderSize(f, 64<<10), index: i}
		ok, err := r.next()
		if err != nil {
			f.Close()
			return fmt.Errorf("extsort: reading a run: %w", err)
		}
		if !ok {
			f.Close()
			continue
		}
		h = append(h, r)
	}
	heap.Init(&h)
	for len(h) > 0 {
		r := h[0]
		if err := fn(r.key, r.value); err != nil {
			return err
		}
		ok, err := r.next()
		if err != nil {
			return fmt.Errorf("extsort: reading a run: %w", err)
		}
		if ok {
			heap.Fix(&h, 0)
			continue
		}
		r.f.Close()
		heap.Pop(&h)
	}
	return nil
}

type runHeap []*runReader

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	if c := bytes.Compare(h[i].key, h[j].key); c != 0 {
		return c < 0
	}
	return h[i].index < h[j].index
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	*h = old[:len(old)-1]
	return r
}
