package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/payrun/payrun/payrun"
)

// ImportOptions describe an import for its audit event.
type ImportOptions struct {
	Actor  string           // who imports (operator login or "cli")
	Source string           // file name or "http"
	Now    func() time.Time // clock; time.Now when nil
}

// ImportResult counts what an import did.
type ImportResult struct {
	ImportID   int64  `json:"import_id"`
	FileSHA256 string `json:"file_sha256"`
	Lines      int    `json:"lines"`     // non-empty input lines
	New        int    `json:"new"`       // decisions inserted
	Unchanged  int    `json:"unchanged"` // already imported with the same content (or repeated in the file)
}

// maxImportErrors bounds how many line errors an import reports.
const maxImportErrors = 1000

// maxLineBytes bounds one input line.
const maxLineBytes = 1 << 20

// Import reads approved decisions as JSON Lines (CONTRACT.md §2) from r and
// imports them all or nothing. Every line is validated (payrun.Decision
// Validate, municipality, supersession, overlaps, immutability); if any
// fails, Import returns a payrun.ErrorList of *payrun.FieldError (line,
// decision_id, field), sorted by line, and writes nothing. A decision that
// is already imported with the same content is skipped; with other content
// it is an error. Lines are parsed on all cores and stream through a binary
// COPY into a staging table; the checks and the inserts are set-based SQL
// over the few lines that can conflict (see keyTracker).
func (db *DB) Import(ctx context.Context, r io.Reader, opt ImportOptions) (ImportResult, error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	var res ImportResult
	err := db.WithTx(ctx, AllMunicipalities, func(tx pgx.Tx) error {
		var err error
		res, err = importTx(ctx, tx, r, opt, db.imp, now(), &stageLog{log: db.log, last: time.Now()})
		return err
	})
	if err != nil {
		return ImportResult{}, err
	}
	db.log.Info("import", zapFields(res)...)
	return res, nil
}

// stageLog logs the duration of each import stage at debug level.
type stageLog struct {
	log  *zap.Logger
	last time.Time
}

func (s *stageLog) done(stage string) {
	t := time.Now()
	s.log.Debug("import stage", zap.String("stage", stage), zap.Duration("took", t.Sub(s.last)))
	s.last = t
}

func importTx(ctx context.Context, tx pgx.Tx, r io.Reader, opt ImportOptions, tuning importTuning, now time.Time, st *stageLog) (ImportResult, error) {
	if _, err := tx.Exec(ctx, stagingDDL); err != nil {
		return ImportResult{}, fmt.Errorf("store: import staging: %w", err)
	}
	known, err := knownMunicipalities(ctx, tx)
	if err != nil {
		return ImportResult{}, err
	}
	h := sha256.New()
	src := newDecisionSource(ctx, io.TeeReader(r, h), known, tuning)
	_, err = tx.Conn().PgConn().CopyFrom(ctx, src, stagingCopy)
	src.stop()
	if err != nil {
		if src.readErr != nil {
			return ImportResult{}, fmt.Errorf("store: import: read: %w", src.readErr)
		}
		return ImportResult{}, fmt.Errorf("store: import: copy: %w", err)
	}
	st.done("parse+copy")
	// The municipality locks, so that concurrent imports and run creations
	// see each other's results whole. The import's own statements are big
	// joins over temp tables planned with their real sizes (JIT compiling
	// them costs more than it saves).
	for _, q := range []string{`SET LOCAL jit = off`, `SET LOCAL work_mem = '64MB'`,
		`SELECT payrun_lock_municipality(key) FROM municipalities ORDER BY key`} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return ImportResult{}, fmt.Errorf("store: import: %s: %w", q, err)
		}
	}
	errs := &errorSet{errs: src.errs, more: src.more}
	skip, err := checkStaged(ctx, tx, errs, src.keys, st)
	if err != nil {
		return ImportResult{}, err
	}
	if len(errs.errs) > 0 {
		return ImportResult{}, errs.list()
	}
	res := ImportResult{FileSHA256: hex.EncodeToString(h.Sum(nil)), Lines: src.lines}
	if err := insertStaged(ctx, tx, &res, skip, src.keys.municipalityList(), now, st); err != nil {
		return ImportResult{}, err
	}
	return res, auditImport(ctx, tx, res, opt, now)
}

// importTuning sizes the import's pipeline; tests shrink it and make the
// key tracker's hashes collide.
type importTuning struct {
	batchLines int                               // lines parsed as one batch
	keyHash    func(maphash.Seed, string) uint64 // hash of the key tracker
}

var defaultImportTuning = importTuning{batchLines: 512, keyHash: maphash.String}

// knownMunicipalities returns the keys of the municipalities decisions may
// name (kind municipality, not the county or the hub).
func knownMunicipalities(ctx context.Context, tx pgx.Tx) (map[string]bool, error) {
	rows, err := tx.Query(ctx, `SELECT key FROM municipalities WHERE kind = 'municipality'`)
	if err != nil {
		return nil, fmt.Errorf("store: import: municipalities: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: import: municipalities: %w", err)
	}
	known := make(map[string]bool, len(keys))
	for _, k := range keys {
		known[k] = true
	}
	return known, nil
}

// The staging table has the column types of decisions, so that the insert
// copies columns without conversions. Its rows arrive in binary COPY form,
// encoded by the parser goroutines (writeStagingTuple).
const stagingDDL = `
CREATE TEMP TABLE import_staging (
    line int NOT NULL, municipality text, decision_id text, case_id text, law text,
    valid_from date, valid_to date, supersedes text[], rent numeric(14,2), heating numeric(14,2), pay_to text,
    countable_income numeric(14,2), payee_channel text, payee_name text, payee_iban text, payee_bic text,
    landlord_name text, landlord_iban text, landlord_bic text, landlord_reference text,
    reclaim_id text, offset_monthly numeric(14,2), offset_remaining numeric(14,2), persons jsonb, content_sha256 bytea
) ON COMMIT DROP`

const stagingColumns = `municipality, decision_id, case_id, law, valid_from, valid_to, supersedes,
    rent, heating, pay_to, countable_income, payee_channel, payee_name, payee_iban, payee_bic,
    landlord_name, landlord_iban, landlord_bic, landlord_reference, reclaim_id, offset_monthly,
    offset_remaining, persons, content_sha256`

const stagingCopy = `COPY import_staging (line, ` + stagingColumns + `) FROM STDIN (FORMAT binary)`

// stagingFields is the number of columns stagingCopy names.
const stagingFields = 25

// writeStagingTuple appends the staging row of d (line n) to w.
func writeStagingTuple(w *copyTuple, n int, d *payrun.Decision, persons, sum []byte) {
	w.begin(stagingFields)
	w.int4(int32(n))
	w.text(d.Municipality)
	w.text(d.DecisionID)
	w.text(d.CaseID)
	w.text(string(d.Law))
	w.date(d.ValidFrom)
	if d.ValidTo == nil {
		w.null()
	} else {
		w.date(*d.ValidTo)
	}
	w.textArray(d.Supersedes)
	if h := d.Housing; h != nil {
		w.numeric(h.Rent)
		w.numeric(h.Heating)
		w.text(string(h.PayTo))
	} else {
		w.numeric(0)
		w.numeric(0)
		w.null()
	}
	w.numeric(d.CountableIncome)
	w.text(string(d.Payee.Channel))
	w.text(d.Payee.Name)
	w.textOrNull(d.Payee.IBAN)
	w.textPtr(d.Payee.BIC)
	if l := d.Landlord; l != nil {
		w.text(l.Name)
		w.text(l.IBAN)
		w.textPtr(l.BIC)
		w.textOrNull(l.Reference)
	} else {
		w.null()
		w.null()
		w.null()
		w.null()
	}
	if o := d.Offset; o != nil {
		w.text(o.ReclaimID)
		w.numeric(o.Monthly)
		w.numeric(o.Remaining)
	} else {
		w.null()
		w.null()
		w.null()
	}
	w.jsonb(persons)
	w.bytes(sum)
}

// errorSet collects line errors up to maxImportErrors.
type errorSet struct {
	errs []*payrun.FieldError
	more int
}

func (s *errorSet) add(e *payrun.FieldError) {
	if len(s.errs) >= maxImportErrors {
		s.more++
		return
	}
	s.errs = append(s.errs, e)
}

func (s *errorSet) list() payrun.ErrorList {
	sort.SliceStable(s.errs, func(i, j int) bool { return s.errs[i].Line < s.errs[j].Line })
	l := make(payrun.ErrorList, 0, len(s.errs)+1)
	for _, e := range s.errs {
		l = append(l, e)
	}
	if s.more > 0 {
		l = append(l, fmt.Errorf("%w: and %d more errors", payrun.ErrInvalid, s.more))
	}
	return l
}

// parsedBatch is a batch of consecutive lines after parsing: the staging
// rows of its valid lines in binary COPY form and the errors of the others.
type parsedBatch struct {
	data []byte
	keys []rowKey
	errs []*payrun.FieldError
}

type rawBatch struct {
	first int
	lines [][]byte
}

// decisionSource is the io.Reader of a binary COPY into import_staging: it
// reads lines, parses, validates and encodes them on all cores, and yields
// the rows of valid lines. Invalid lines are collected in errs.
type decisionSource struct {
	cancel  context.CancelFunc
	results chan parsedBatch
	wg      sync.WaitGroup
	mu      sync.Mutex // guards lines and readErr
	cur     []byte     // unread rest of the current batch
	ended   bool       // the trailer is in cur
	keys    *keyTracker
	tuning  importTuning
	errs    []*payrun.FieldError
	more    int
	lines   int // non-empty lines, set when reading ends
	readErr error
}

// pipelineBatches bounds the batches waiting between reader, parsers and
// COPY (memory: about 1 MB each).
const pipelineBatches = 8

func newDecisionSource(ctx context.Context, r io.Reader, known map[string]bool, tuning importTuning) *decisionSource {
	ctx, cancel := context.WithCancel(ctx)
	s := &decisionSource{cancel: cancel, results: make(chan parsedBatch, pipelineBatches),
		cur: copyHeader, keys: newKeyTracker(), tuning: tuning}
	seed := maphash.MakeSeed()
	// Batches are parsed out of order; line numbers travel with the rows.
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
	n, count := 0, 0
	b := rawBatch{first: 1}
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
				select {
				case jobs <- b:
				case <-ctx.Done():
					return count, ctx.Err()
				}
				b = rawBatch{}
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
		select {
		case jobs <- b:
		case <-ctx.Done():
			return count, ctx.Err()
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
	var out parsedBatch
	w := copyTuple{b: make([]byte, 0, 1024*len(b.lines))}
	for i, line := range b.lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		k, errs := lp.parseLine(b.first+i, line, &w)
		if len(errs) > 0 {
			out.errs = append(out.errs, errs...)
			continue
		}
		out.keys = append(out.keys, k)
	}
	out.data = w.b
	return out
}

// Read implements io.Reader: the binary COPY stream (header, rows,
// trailer). A read error of the input ends it with that error.
func (s *decisionSource) Read(p []byte) (int, error) {
	for len(s.cur) == 0 {
		if s.ended {
			return 0, io.EOF
		}
		b, ok := <-s.results
		if !ok {
			if err := s.err(); err != nil {
				return 0, err
			}
			s.cur, s.ended = copyTrailer, true
			break
		}
		for _, e := range b.errs {
			if len(s.errs) >= maxImportErrors {
				s.more++
				continue
			}
			s.errs = append(s.errs, e)
		}
		for _, k := range b.keys {
			s.keys.add(k)
		}
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

// parseLine decodes, validates and encodes one line: its staging row goes
// to w and its keys are returned, or its errors.
func (lp *lineParser) parseLine(n int, line []byte, w *copyTuple) (rowKey, []*payrun.FieldError) {
	var d payrun.Decision
	if !fastDecode(line, &d, &lp.cache) {
		d = payrun.Decision{}
		if fe := slowDecode(n, line, &d); fe != nil {
			return rowKey{}, []*payrun.FieldError{fe}
		}
	}
	errs := d.Validate()
	errs = append(errs, missingFields(line, &d)...)
	if len(errs) > 0 {
		for _, e := range errs {
			e.Line, e.Record = n, d.DecisionID
		}
		return rowKey{}, errs
	}
	if !lp.known[d.Municipality] {
		return rowKey{}, []*payrun.FieldError{{Line: n, Record: d.DecisionID, Field: "municipality",
			Value: d.Municipality, Err: errors.New("unknown municipality")}}
	}
	var from, to int
	lp.canon, from, to = appendCanonical(lp.canon[:0], &d)
	sum := sha256.Sum256(lp.canon)
	writeStagingTuple(w, n, &d, lp.canon[from:to], sum[:])
	return newRowKey(lp.hash, lp.seed, n, &d), nil
}

// slowDecode decodes line with encoding/json (unknown fields refused, one
// value per line) for what fastDecode does not take, and explains errors.
func slowDecode(n int, line []byte, d *payrun.Decision) *payrun.FieldError {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(d); err != nil {
		return jsonError(n, line, err)
	}
	if dec.More() {
		return &payrun.FieldError{Line: n, Field: "(line)", Err: errors.New("more than one JSON value on the line")}
	}
	return nil
}

// missingFields catches required fields whose absence decodes as a
// plausible zero value (birth dates as 1970-01-01).
func missingFields(line []byte, d *payrun.Decision) []*payrun.FieldError {
	if c := bytes.Count(line, []byte(`"birth_date"`)); c < len(d.Persons) {
		return []*payrun.FieldError{{Field: "persons[].birth_date", Err: payrun.ErrRequired}}
	}
	if !bytes.Contains(line, []byte(`"payee"`)) {
		return []*payrun.FieldError{{Field: "payee", Err: payrun.ErrRequired}}
	}
	return nil
}

// jsonError turns a decoding error into a FieldError that names the field
// where it can: it re-decodes the line key by key to find the culprit.
func jsonError(n int, line []byte, err error) *payrun.FieldError {
	fe := &payrun.FieldError{Line: n, Field: "(json)", Err: err}
	var probe struct {
		DecisionID any `json:"decision_id"`
	}
	if json.Unmarshal(line, &probe) == nil {
		if s, ok := probe.DecisionID.(string); ok {
			fe.Record = s
		}
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		fe.Err = fmt.Errorf("JSON syntax error at byte %d: %w", syn.Offset, err)
		return fe
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		fe.Field = typ.Field
		return fe
	}
	fe.Field = locateJSONField(line)
	return fe
}

// locateJSONField finds the (possibly nested) field of line that fails to
// decode into a payrun.Decision. Only called for bad lines.
func locateJSONField(line []byte) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(line, &top) != nil {
		return "(json)"
	}
	known := map[string]bool{}
	for _, k := range []string{"municipality", "decision_id", "case_id", "supersedes", "law", "valid_from",
		"valid_to", "persons", "housing", "countable_income", "payee", "landlord", "offset"} {
		known[k] = true
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !known[k] {
			return k + " (unknown field)"
		}
		if k == "persons" {
			if f := locatePersonField(top[k]); f != "" {
				return f
			}
		}
		one, _ := json.Marshal(map[string]json.RawMessage{k: top[k]})
		var d payrun.Decision
		if err := json.Unmarshal(one, &d); err != nil {
			return k
		}
	}
	return "(json)"
}

func locatePersonField(raw json.RawMessage) string {
	var persons []map[string]json.RawMessage
	if json.Unmarshal(raw, &persons) != nil {
		return ""
	}
	for i, p := range persons {
		for k, v := range p {
			one, _ := json.Marshal(map[string]json.RawMessage{k: v})
			dec := json.NewDecoder(bytes.NewReader(one))
			dec.DisallowUnknownFields()
			var x payrun.Person
			if err := dec.Decode(&x); err != nil {
				return fmt.Sprintf("persons[%d].%s", i, k)
			}
		}
	}
	return ""
}
