package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"runtime"
	"sync"

	"github.com/payrun/payrun/payrun"
)

// parsedBatch is a batch of consecutive lines after parsing: the rows of
// its valid lines in binary COPY form, for the loader (all columns) and for
// the checker (the columns the checks read), and the errors of the others.
type parsedBatch struct {
	seq    int
	data   []byte // the loader's import_staging tuples
	narrow []byte // the checker's import_staging tuples
	keys   []rowKey
	errs   []*payrun.FieldError
}

type rawBatch struct {
	seq   int
	first int
	lines [][]byte
}

// decisionSource reads lines, parses, validates and encodes them on all
// cores, and hands the batches out in line order: it is the io.Reader of
// the loader's binary COPY, and the checker's rows go to the channel narrow
// on the way. Invalid lines are collected in errs, the keys of the valid
// ones in keys.
type decisionSource struct {
	ctx      context.Context
	cancel   context.CancelFunc
	results  chan parsedBatch
	wg       sync.WaitGroup
	mu       sync.Mutex // guards lines and readErr
	pending  map[int]parsedBatch
	next     int         // seq of the next batch in line order
	cur      []byte      // unread rest of the current batch
	ended    bool        // the trailer is in cur
	drained  bool        // every batch has been taken
	narrow   chan []byte // the checker's rows, in line order; closed when drained
	held     []int32     // lines whose decision key occurred on an earlier line
	reclaims reclaimList // of the lines with an offset
	keys     *keyTracker
	errs     []*payrun.FieldError
	more     int
	lines    int // non-empty lines, set when reading ends
	readErr  error
}

// pipelineBatches bounds the batches waiting between reader, parsers and
// COPY (memory: about 1 MB each).
const pipelineBatches = 8

func newDecisionSource(ctx context.Context, r io.Reader, known map[string]bool, tuning importTuning) *decisionSource {
	ctx, cancel := context.WithCancel(ctx)
	s := &decisionSource{ctx: ctx, cancel: cancel, results: make(chan parsedBatch, pipelineBatches),
		pending: map[int]parsedBatch{}, cur: copyHeader, narrow: make(chan []byte, pipelineBatches), keys: newKeyTracker()}
	seed := maphash.MakeSeed()
	// Batches are parsed out of order and put back in order by nextBatch.
	jobs := make(chan rawBatch, pipelineBatches)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(jobs)
		n, err := readLines(ctx, r, jobs, tuning.batchLines)
		s.mu.Lock()
		s.lines, s.readErr = n, err
		s.mu.Unlock()
	}()
	workers := max(1, runtime.GOMAXPROCS(0))
	var pw sync.WaitGroup
	for range workers {
		pw.Add(1)
		go func() {
			defer pw.Done()
			lp := lineParser{seed: seed, hash: tuning.keyHash, known: known}
			for b := range jobs {
				select {
				case s.results <- lp.parseBatch(b):
				case <-ctx.Done():
				}
			}
		}()
	}
	go func() { pw.Wait(); close(s.results) }()
	return s
}

func readLines(ctx context.Context, r io.Reader, jobs chan<- rawBatch, batchLines int) (int, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	n, count, seq := 0, 0, 0
	b := rawBatch{first: 1}
	send := func() error {
		b.seq, seq = seq, seq+1
		select {
		case jobs <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		b = rawBatch{}
		return nil
	}
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			n++
			if len(line) > maxLineBytes {
				return count, fmt.Errorf("line %d: longer than %d bytes", n, maxLineBytes)
			}
			if len(bytes.TrimSpace(line)) > 0 {
				count++
			}
			if len(b.lines) == 0 {
				b.first = n
			}
			b.lines = append(b.lines, line)
			if len(b.lines) == batchLines {
				if err := send(); err != nil {
					return count, err
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return count, err
		}
	}
	if len(b.lines) > 0 {
		if err := send(); err != nil {
			return count, err
		}
	}
	return count, nil
}

// lineParser parses lines in one goroutine, reusing its buffers.
type lineParser struct {
	known map[string]bool // municipalities (kind municipality)
	seed  maphash.Seed
	hash  func(maphash.Seed, string) uint64
	cache internCache
	canon []byte
}

func (lp *lineParser) parseBatch(b rawBatch) parsedBatch {
	out := parsedBatch{seq: b.seq}
	w := copyTuple{b: make([]byte, 0, 1024*len(b.lines))}
	n := copyTuple{b: make([]byte, 0, 160*len(b.lines))}
	for i, line := range b.lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		k, errs := lp.parseLine(b.first+i, line, &w, &n)
		if len(errs) > 0 {
			out.errs = append(out.errs, errs...)
			continue
		}
		out.keys = append(out.keys, k)
	}
	out.data, out.narrow = w.b, n.b
	return out
}

// nextBatch returns the next batch in line order; false when all are
// taken.
func (s *decisionSource) nextBatch() (parsedBatch, bool) {
	for {
		if b, ok := s.pending[s.next]; ok {
			delete(s.pending, s.next)
			s.next++
			return b, true
		}
		b, ok := <-s.results
		if !ok {
			return parsedBatch{}, false
		}
		s.pending[b.seq] = b
	}
}

// take records the errors and keys of b and passes its checker rows on.
// It returns the lines whose decision key occurred on an earlier line.
func (s *decisionSource) take(b parsedBatch) (held []int32, err error) {
	for _, e := range b.errs {
		if len(s.errs) >= maxImportErrors {
			s.more++
			continue
		}
		s.errs = append(s.errs, e)
	}
	for _, k := range b.keys {
		if s.keys.add(k) {
			held = append(held, k.line)
		}
		if k.reclaim != nil {
			s.reclaims.add(k)
		}
	}
	if len(b.narrow) > 0 {
		select {
		case s.narrow <- b.narrow:
		case <-s.ctx.Done():
			return nil, s.ctx.Err()
		}
	}
	return held, nil
}

// Read implements io.Reader: the binary COPY stream (header, rows,
// trailer) of the loader. Batches are taken in line order; a read error of
// the input ends the stream with that error.
func (s *decisionSource) Read(p []byte) (int, error) {
	for len(s.cur) == 0 {
		if s.ended {
			return 0, io.EOF
		}
		b, ok := s.nextBatch()
		if !ok {
			s.drained = true
			close(s.narrow)
			if err := s.err(); err != nil {
				return 0, err
			}
			s.cur, s.ended = copyTrailer, true
			break
		}
		held, err := s.take(b)
		if err != nil {
			return 0, err
		}
		s.held = append(s.held, held...)
		s.cur = b.data
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

func (s *decisionSource) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readErr
}

// stop ends the pipeline (after success or failure) and waits for it.
func (s *decisionSource) stop() {
	s.cancel()
	for range s.results {
	}
	s.wg.Wait()
}

// narrowStream is the binary COPY stream of the checker's rows.
type narrowStream struct {
	ctx   context.Context
	rows  <-chan []byte
	cur   []byte
	ended bool
}

func newNarrowStream(ctx context.Context, rows <-chan []byte) *narrowStream {
	return &narrowStream{ctx: ctx, rows: rows, cur: copyHeader}
}

// Read implements io.Reader.
func (n *narrowStream) Read(p []byte) (int, error) {
	for len(n.cur) == 0 {
		if n.ended {
			return 0, io.EOF
		}
		select {
		case b, ok := <-n.rows:
			if !ok {
				n.cur, n.ended = copyTrailer, true
			} else {
				n.cur = b
			}
		case <-n.ctx.Done():
			return 0, n.ctx.Err()
		}
	}
	k := copy(p, n.cur)
	n.cur = n.cur[k:]
	return k, nil
}
