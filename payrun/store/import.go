package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"sort"
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
// it is an error.
//
// Lines are parsed on all cores and stream, in line order, through two
// connections (see importTx): the import's transaction copies them into a
// staging table and inserts them, and a second connection, in a
// transaction of its own that writes nothing, copies the columns the
// checks need and runs the set-based checks against the decisions stored
// before the import while the first one inserts. The import commits only
// when both are done and nothing failed.
func (db *DB) Import(ctx context.Context, r io.Reader, opt ImportOptions) (ImportResult, error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	// The checker's connection is a new one, not the pool's: two imports
	// each holding one pooled connection while waiting for a second could
	// wait forever.
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return ImportResult{}, fmt.Errorf("store: import: checker connection: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var res ImportResult
	err = db.WithTx(ctx, AllMunicipalities, func(tx pgx.Tx) error {
		var err error
		res, err = importTx(ctx, tx, conn, r, opt, db.imp, now(), db.log)
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
	who  string
	last time.Time
}

func newStageLog(log *zap.Logger, who string) *stageLog {
	return &stageLog{log: log, who: who, last: time.Now()}
}

func (s *stageLog) done(stage string) {
	t := time.Now()
	s.log.Debug("import stage", zap.String("conn", s.who), zap.String("stage", stage), zap.Duration("took", t.Sub(s.last)))
	s.last = t
}

// importTx imports r in tx, checking on conn (see Import):
//
//   - the loader (tx) copies every valid line into import_staging, the
//     checker (conn) the columns the checks read into its own;
//   - then the loader takes the municipality locks, so that concurrent
//     imports and run creations see each other's results whole, and hands
//     the key tracker's lists to the checker, whose statements, starting
//     after that, see every decision stored before the import and none of
//     the import's own (they are not committed);
//   - while the checker checks, the loader inserts, unless a line has
//     already failed; it commits only when the checker found nothing;
//   - into empty decisions and cases tables (the first import), the loader
//     inserts without their indexes and builds them afterwards (migration
//     0100, loader.beginBulk); the checker then reads no stored decisions.
func importTx(ctx context.Context, tx pgx.Tx, conn *pgx.Conn, r io.Reader, opt ImportOptions, tuning importTuning, now time.Time, log *zap.Logger) (ImportResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st := newStageLog(log, "load")
	for _, q := range []string{`SET LOCAL jit = off`, `SET LOCAL work_mem = '64MB'`, stagingDDL} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return ImportResult{}, fmt.Errorf("store: import: prepare: %w", err)
		}
	}
	known, err := knownMunicipalities(ctx, tx)
	if err != nil {
		return ImportResult{}, err
	}
	h := sha256.New()
	src := newDecisionSource(ctx, io.TeeReader(r, h), known, tuning)
	defer src.stop()
	chk := startChecker(ctx, conn, src.narrow, cancel, newStageLog(log, "check"))
	defer chk.stop()
	ld := &loader{tx: tx, now: now, chunkRows: tuning.chunkRows}
	if err := ld.copy(ctx, src); err != nil {
		return ImportResult{}, chk.cause(err)
	}
	st.done("parse+copy")
	// The checks see the decisions stored before the locks were taken.
	if err := ld.lock(ctx); err != nil {
		return ImportResult{}, chk.cause(err)
	}
	errs := &errorSet{errs: src.errs, more: src.more}
	if len(errs.errs) == 0 {
		if err := ld.beginBulk(ctx); err != nil {
			return ImportResult{}, chk.cause(err)
		}
	}
	check, repeats := src.keys.done()
	municipalities := src.keys.municipalityList()
	chk.run(checkLists{check: check, repeats: repeats, municipalities: municipalities, bulk: ld.bulk})
	st.done("lock")
	res := ImportResult{}
	if len(errs.errs) == 0 {
		if err := tx.QueryRow(ctx, "SELECT nextval('import_ids')").Scan(&ld.importID); err != nil {
			return ImportResult{}, chk.cause(fmt.Errorf("store: import id: %w", err))
		}
		if err := ld.insert(ctx, &src.keys.cases, municipalities, st); err != nil {
			return ImportResult{}, chk.cause(err)
		}
	}
	found, err := chk.wait()
	if err != nil {
		return ImportResult{}, err
	}
	st.done("wait for the checks")
	for _, e := range found {
		errs.add(e)
	}
	if len(errs.errs) > 0 {
		return ImportResult{}, errs.list()
	}
	res.ImportID, res.FileSHA256, res.Lines, res.New = ld.importID, hex.EncodeToString(h.Sum(nil)), src.lines, ld.inserted
	res.Unchanged = res.Lines - res.New
	return res, auditImport(ctx, tx, res, opt, now)
}

// importTuning sizes the import's pipeline; tests shrink it and make the
// key tracker's hashes collide.
type importTuning struct {
	batchLines int                               // lines parsed as one batch
	chunkRows  int                               // rows copied and inserted as one chunk
	keyHash    func(maphash.Seed, string) uint64 // hash of the key tracker
}

var defaultImportTuning = importTuning{batchLines: 512, chunkRows: 16384, keyHash: maphash.String}

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

// The loader copies the input into import_staging, which has the column
// types of decisions, so that the insert copies columns without
// conversions. Its rows arrive in binary COPY form, encoded by the parser
// goroutines (writeStagingTuple).
const stagingDDL = `
CREATE TEMP TABLE import_staging (
    line int NOT NULL, municipality text, decision_id text, case_id text, law text,
    valid_from date, valid_to date, supersedes text[], rent numeric(14,2), heating numeric(14,2), pay_to text,
    countable_income numeric(14,2), payee_channel text, payee_name text, payee_iban text, payee_bic text,
    landlord_name text, landlord_iban text, landlord_bic text, landlord_reference text,
    reclaim_id text, offset_monthly numeric(14,2), offset_remaining numeric(14,2), persons json, content_sha256 bytea
) ON COMMIT DROP`

const stagingColumns = `municipality, decision_id, case_id, law, valid_from, valid_to, supersedes,
    rent, heating, pay_to, countable_income, payee_channel, payee_name, payee_iban, payee_bic,
    landlord_name, landlord_iban, landlord_bic, landlord_reference, reclaim_id, offset_monthly,
    offset_remaining, persons, content_sha256`

const stagingCopy = `COPY import_staging (line, ` + stagingColumns + `) FROM STDIN (FORMAT binary)`

// stagingFields is the number of columns stagingCopy names.
const stagingFields = 25

// The checker's import_staging: the columns the checks read, of every
// line (writeCheckTuple).
const (
	checkStagingDDL = `
CREATE TEMP TABLE import_staging (
    line int NOT NULL, municipality text, decision_id text, case_id text, valid_from date, valid_to date,
    supersedes text[], content_sha256 bytea
) ON COMMIT DROP`

	checkStagingCopy = `COPY import_staging (line, municipality, decision_id, case_id, valid_from, valid_to,
    supersedes, content_sha256) FROM STDIN (FORMAT binary)`

	checkStagingFields = 8
)

// writeCheckTuple appends the checker's row of d (line n) to w.
func writeCheckTuple(w *copyTuple, n int, d *payrun.Decision, sum []byte) {
	w.begin(checkStagingFields)
	w.int4(int32(n))
	w.text(d.Municipality)
	w.text(d.DecisionID)
	w.text(d.CaseID)
	w.date(d.ValidFrom)
	w.datePtr(d.ValidTo)
	w.textArray(d.Supersedes)
	w.bytes(sum)
}

// writeStagingTuple appends the staging row of d (line n) to w.
func writeStagingTuple(w *copyTuple, n int, d *payrun.Decision, persons, sum []byte) {
	w.begin(stagingFields)
	w.int4(int32(n))
	w.text(d.Municipality)
	w.text(d.DecisionID)
	w.text(d.CaseID)
	w.text(string(d.Law))
	w.date(d.ValidFrom)
	w.datePtr(d.ValidTo)
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
	w.json(persons)
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

// parseLine decodes, validates and encodes one line: its staging row goes
// to w, its checker's row to narrow, and its keys are returned, or its
// errors.
func (lp *lineParser) parseLine(n int, line []byte, w, narrow *copyTuple) (rowKey, []*payrun.FieldError) {
	var d payrun.Decision
	fast, complete := fastDecode(line, &d, &lp.cache)
	if !fast {
		d = payrun.Decision{}
		if fe := slowDecode(n, line, &d); fe != nil {
			return rowKey{}, []*payrun.FieldError{fe}
		}
	}
	errs := d.Validate()
	if !complete {
		errs = append(errs, missingFields(line, &d)...)
	}
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
	writeCheckTuple(narrow, n, &d, sum[:])
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
