package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"go.uber.org/zap"

	"github.com/payrun/payrun/payrun"
)

// RunStart is what BuildRun reads once, inside the run's transaction, before
// the first case: the central rate tables and the municipality's settings.
type RunStart struct {
	Municipality     string
	Period           payrun.Month
	Rates            []payrun.Rate
	ChildSupplements []payrun.ChildSupplement
	Settings         json.RawMessage // municipalities.settings
}

// RunCase is one case as BuildRun streams it to the builder: its decisions
// (superseded ones included; of the payees only channel and IBANs, the
// rest is the export's), the first month to compute, and what live runs
// paid for it.
type RunCase struct {
	CaseID string
	// From is the first month to compute: the case's effective
	// recompute_from (cases.recompute_from raised by the settled watermarks
	// of signed runs, migration 0090), or when that is NULL the earliest
	// month of a decision or a paid line of the case.
	From      payrun.Month
	Decisions []payrun.Decision
	// Paid is Σ of the lines of live runs (established, released, exported)
	// per (month, payee, component, reclaim) for the months from From on,
	// plus the offset lines of every month (for what a reclaim has taken).
	Paid []PaidAmount
	// LastMonth is Σ of the lines of live runs in the month before the
	// period, per payee (beneficiary, landlord): the amount-jump warning
	// compares a payment with it.
	LastMonth [2]LastMonthSum
}

// LastMonthSum is one entry of RunCase.LastMonth.
type LastMonthSum struct {
	Amount payrun.Cents
	Lines  int // 0: no line of that month and payee (no comparison)
}

func (s *LastMonthSum) add(a payrun.Cents) { s.Amount += a; s.Lines++ }

// PaidAmount is one entry of RunCase.Paid.
type PaidAmount struct {
	Month     payrun.Month
	Payee     payrun.PayeeRole
	Component payrun.Component
	ReclaimID string
	Amount    payrun.Cents
}

// RunLine is one line of a run as the builder produces it.
type RunLine struct {
	CaseID     string
	Month      payrun.Month
	Payee      payrun.PayeeRole
	Component  payrun.Component
	Kind       payrun.LineKind
	Amount     payrun.Cents
	Law        payrun.Law
	CostBearer payrun.CostBearer
	DecisionID string
	ReclaimID  string
}

// RunBuilder computes a run's lines for BuildRun, case by case, in case
// order (byte order of case_id).
type RunBuilder interface {
	// Start is called once with the rates and settings.
	Start(s *RunStart) error
	// Case appends the lines of c to out and returns it.
	Case(c *RunCase, out []RunLine) ([]RunLine, error)
	// Digest returns the content digest (32 bytes) over every line returned.
	Digest() []byte
}

// BuildOptions tune BuildRun.
type BuildOptions struct {
	// CreatedBy is the user who creates the run; 0: the municipality's
	// system user.
	CreatedBy int64
	// Actor names the creator in the audit trail (default "system").
	Actor string
	// BatchCases is the number of cases fetched, computed and copied per
	// batch (default 1000): it bounds memory.
	BatchCases int
	// AfterBatchFunc, when set, is called after each batch of lines was
	// copied, with the number of lines written so far (tests use it to kill
	// the process mid-run).
	AfterBatchFunc func(lines int64)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Warnings are the thresholds of the risk warnings.
	Warnings WarningRules
}

// WarningRules are the thresholds of a run's risk warnings.
type WarningRules struct {
	// JumpFactor and JumpMin: a payee's payment is flagged when it exceeds
	// JumpFactor × what the payee got for the month before the period and
	// also by more than JumpMin (defaults 2 and 500.00).
	JumpFactor int64
	JumpMin    payrun.Cents
}

// RunSummary is what BuildRun wrote.
type RunSummary struct {
	ID           int64
	Municipality string
	Kind         payrun.RunKind
	Period       payrun.Month
	Refreshed    bool // an existing proposed run was recomputed
	Cases        int64
	Lines        int64
	Total        payrun.Cents // Σ payment lines
	Overpayments payrun.Cents // Σ |overpayment lines|
	MaxPayment   payrun.Cents // largest Σ per (case, payee) of payment lines
	Payments     int64        // (case, payee) groups whose payment lines sum to more than 0
	Digest       []byte
	Warnings     map[string]int64
}

// BuildRun creates (or recomputes) the proposed run of municipality for
// period in one transaction under the municipality's advisory lock (see
// migration 0020 for the key): an existing proposed run keeps its id and
// loses its lines; the cases whose effective recompute_from is NULL or ≤
// period are streamed with two cursors (decisions, and the paid sums of live
// runs), both in case order, merged, computed by b, and their lines written
// batch by batch (run_pipeline.go: reading, computing and writing overlap).
// The kind is supplementary when a monthly run of the period
// is already signed (live). It returns an error wrapping
// payrun.ErrNothingToPay, and leaves no run, when no line results.
func (db *DB) BuildRun(ctx context.Context, municipality string, period payrun.Month, opts BuildOptions, b RunBuilder) (RunSummary, error) {
	sum := RunSummary{Municipality: municipality, Period: period}
	nothing := false
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		bt := &buildTx{log: db.log, conn: db.pool.Config().ConnConfig, tx: tx, opts: opts, b: b, sum: &sum}
		if err := bt.run(ctx); err != nil {
			return err
		}
		if sum.Lines == 0 {
			nothing = true
			_, err := tx.Exec(ctx, "DELETE FROM runs WHERE municipality = $1 AND id = $2", municipality, sum.ID)
			return err
		}
		return nil
	})
	if err != nil {
		return RunSummary{}, fmt.Errorf("store: build run %s %s: %w", municipality, period, err)
	}
	if nothing {
		return RunSummary{}, fmt.Errorf("store: run %s %s: %w", municipality, period, payrun.ErrNothingToPay)
	}
	return sum, nil
}

type buildTx struct {
	log  *zap.Logger
	conn *pgx.ConnConfig // for the reader's own connection
	tx   pgx.Tx
	opts BuildOptions
	b    RunBuilder
	sum  *RunSummary

	gen        int64
	st         stageTimes
	firstMonth payrun.Month
	// per (case, payee) payment sums of the case being written
	payeeSum [2]payrun.Cents
	warn     warningSet // the run's payment groups and warnings (compute stage)
}

func (bt *buildTx) run(ctx context.Context) error {
	s := bt.sum
	bt.st.lap("")
	defer bt.logStages(s)
	if _, err := bt.tx.Exec(ctx, "SELECT payrun_lock_municipality($1)", s.Municipality); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	start, err := loadRunStart(ctx, bt.tx, s.Municipality, s.Period)
	if err != nil {
		return err
	}
	if err := bt.b.Start(start); err != nil {
		return err
	}
	if err := bt.openRun(ctx); err != nil {
		return err
	}
	if err := bt.warn.load(ctx, bt.tx, s.Municipality); err != nil {
		return err
	}
	bt.st.lap("open")
	if err := bt.stream(ctx); err != nil {
		return err
	}
	if s.Lines == 0 {
		return nil
	}
	s.Digest = bt.b.Digest()
	return bt.finish(ctx)
}

// openRun finds or inserts the proposed run and decides its kind.
func (bt *buildTx) openRun(ctx context.Context) error {
	s, tx := bt.sum, bt.tx
	s.Kind = payrun.RunMonthly
	var live bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM runs WHERE municipality = $1 AND period = $2
		AND kind = 'monthly' AND state IN ('established', 'released', 'exported'))`,
		s.Municipality, s.Period.First().Time(utc)).Scan(&live); err != nil {
		return fmt.Errorf("run kind: %w", err)
	}
	if live {
		s.Kind = payrun.RunSupplementary
	}
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(recompute_gen), 0) FROM cases WHERE municipality = $1",
		s.Municipality).Scan(&bt.gen); err != nil {
		return fmt.Errorf("recompute generation: %w", err)
	}
	createdBy := bt.opts.CreatedBy
	if createdBy == 0 {
		err := tx.QueryRow(ctx, "SELECT id FROM users WHERE municipality = $1 AND system ORDER BY id LIMIT 1",
			s.Municipality).Scan(&createdBy)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("municipality %s has no system user to create runs: %w", s.Municipality, payrun.ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("system user: %w", err)
		}
	}
	err := tx.QueryRow(ctx, "SELECT id FROM runs WHERE municipality = $1 AND state = 'proposed' FOR UPDATE",
		s.Municipality).Scan(&s.ID)
	switch {
	case err == nil:
		s.Refreshed = true
		if _, err := tx.Exec(ctx, "DELETE FROM run_chunks WHERE municipality = $1 AND run_id = $2", s.Municipality, s.ID); err != nil {
			return fmt.Errorf("run %d: delete lines: %w", s.ID, err)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM run_warnings WHERE municipality = $1 AND run_id = $2", s.Municipality, s.ID); err != nil {
			return fmt.Errorf("run %d: delete warnings: %w", s.ID, err)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM run_new_ibans WHERE municipality = $1 AND run_id = $2", s.Municipality, s.ID); err != nil {
			return fmt.Errorf("run %d: delete new IBANs: %w", s.ID, err)
		}
		_, err = tx.Exec(ctx, `UPDATE runs SET kind = $3, period = $4, created_by = $5, created_at = now(), recompute_gen = $6
			WHERE municipality = $1 AND id = $2`, s.Municipality, s.ID, s.Kind, s.Period.First().Time(utc), createdBy, bt.gen)
		if err != nil {
			return fmt.Errorf("run %d: refresh: %w", s.ID, err)
		}
	case errors.Is(err, pgx.ErrNoRows):
		err = tx.QueryRow(ctx, `INSERT INTO runs (municipality, kind, period, created_by, recompute_gen)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, s.Municipality, s.Kind, s.Period.First().Time(utc), createdBy, bt.gen).Scan(&s.ID)
		if err != nil {
			return fmt.Errorf("insert run: %w", err)
		}
	default:
		return fmt.Errorf("find proposed run: %w", err)
	}
	return nil
}

func loadRunStart(ctx context.Context, tx pgx.Tx, municipality string, period payrun.Month) (*RunStart, error) {
	st := &RunStart{Municipality: municipality, Period: period}
	if err := tx.QueryRow(ctx, "SELECT settings FROM municipalities WHERE key = $1", municipality).Scan(&st.Settings); err != nil {
		return nil, fmt.Errorf("municipality %s: %w", municipality, err)
	}
	rows, err := tx.Query(ctx, `SELECT rate_table, needs_level, (valid_from - DATE '1970-01-01'), (amount * 100)::bigint
		FROM rates ORDER BY rate_table, needs_level, valid_from`)
	if err != nil {
		return nil, fmt.Errorf("rates: %w", err)
	}
	var r payrun.Rate
	if _, err := pgx.ForEachRow(rows, []any{&r.Table, &r.NeedsLevel, &r.ValidFrom, &r.Amount}, func() error {
		st.Rates = append(st.Rates, r)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("rates: %w", err)
	}
	rows, err = tx.Query(ctx, "SELECT (valid_from - DATE '1970-01-01'), (amount * 100)::bigint FROM child_supplements ORDER BY valid_from")
	if err != nil {
		return nil, fmt.Errorf("child supplements: %w", err)
	}
	var c payrun.ChildSupplement
	if _, err := pgx.ForEachRow(rows, []any{&c.ValidFrom, &c.Amount}, func() error {
		st.ChildSupplements = append(st.ChildSupplements, c)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("child supplements: %w", err)
	}
	return st, nil
}

// settledJoin joins the settled watermarks of the case c (migration 0090) as
// s; effectiveFrom is then the first month the run must compute for c
// (NULL: from the case's earliest month).
const (
	settledJoin = `LEFT JOIN payrun_settled_steps() s ON s.municipality = c.municipality
		AND c.recompute_gen > s.lo AND c.recompute_gen <= s.hi`
	effectiveFrom = "greatest(c.recompute_from, s.through)"
)

// monthSQL turns a date column into a payrun.Month.
const monthSQL = "(extract(year FROM %[1]s)::int * 12 + extract(month FROM %[1]s)::int - 1)"

func sqlMonth(col string) string { return fmt.Sprintf(monthSQL, col) }

// utc is the location of dates handed to pgx.
var utc = time.UTC

// earliestMonth is the first month of a case never settled by a signed run:
// its earliest decision or paid line.
func earliestMonth(c *RunCase) payrun.Month {
	m := payrun.Month(1 << 30)
	for i := range c.Decisions {
		m = min(m, c.Decisions[i].ValidFrom.Month())
	}
	for _, p := range c.Paid {
		m = min(m, p.Month)
	}
	return m
}

// account adds one case's lines to the run's totals and the warnings of
// its payment groups to warn.
func (bt *buildTx) account(c *RunCase, lines []RunLine, warn *warnRows) {
	s := bt.sum
	bt.payeeSum = [2]payrun.Cents{}
	var groups [2]payGroup
	for i := range lines {
		l := &lines[i]
		if s.Lines == 0 || l.Month < bt.firstMonth {
			bt.firstMonth = l.Month
		}
		s.Lines++
		if l.Kind == payrun.LineOverpayment {
			s.Overpayments -= l.Amount
			continue
		}
		s.Total += l.Amount
		p := payeeIndex(l.Payee)
		bt.payeeSum[p] += l.Amount
		groups[p].add(c, l)
	}
	s.MaxPayment = max(s.MaxPayment, bt.payeeSum[0], bt.payeeSum[1])
	for _, v := range bt.payeeSum {
		if v > 0 {
			s.Payments++
		}
	}
	for p, g := range groups {
		if g.lines > 0 && g.amount > 0 {
			role := payrun.PayeeBeneficiary
			if p == 1 {
				role = payrun.PayeeLandlord
			}
			r := payRow{caseID: c.CaseID, payee: role, amount: g.amount, iban: g.iban()}
			if last := c.LastMonth[p]; last.Lines > 0 && bt.opts.Warnings.jump(g.amount, last.Amount) {
				r.jumpFrom = &last.Amount
			}
			bt.warn.add(&r, warn)
		}
	}
}

// jump says whether a payee's payment of amount is flagged against last
// month's sum: more than JumpFactor × last and more than last + JumpMin.
func (w WarningRules) jump(amount, last payrun.Cents) bool {
	factor, jumpMin := w.JumpFactor, w.JumpMin
	if factor <= 0 {
		factor = 2
	}
	if jumpMin <= 0 {
		jumpMin = 500_00
	}
	return amount > payrun.Cents(factor)*last && amount > last+jumpMin
}

// payGroup is one (case, payee) group of a run's payment lines as the
// warnings see it: Σ of the lines that name a decision of the case, and the
// IBAN of the latest of those decisions (by valid_from).
type payGroup struct {
	lines  int
	amount payrun.Cents
	latest *payrun.Decision
	payee  payrun.PayeeRole
}

func (g *payGroup) add(c *RunCase, l *RunLine) {
	if l.DecisionID == "" {
		return
	}
	for i := range c.Decisions {
		d := &c.Decisions[i]
		if d.DecisionID != l.DecisionID {
			continue
		}
		g.lines++
		g.amount += l.Amount
		g.payee = l.Payee
		if g.latest == nil || d.ValidFrom >= g.latest.ValidFrom {
			g.latest = d
		}
		return
	}
}

func (g *payGroup) iban() *string {
	if g.payee == payrun.PayeeLandlord {
		if g.latest.Landlord == nil {
			return nil
		}
		return nullString(g.latest.Landlord.IBAN)
	}
	return nullString(g.latest.Payee.IBAN)
}

// payRow is one payment group of a run (case, payee), as the warnings see
// it.
type payRow struct {
	caseID   string
	payee    payrun.PayeeRole
	amount   payrun.Cents
	iban     *string
	jumpFrom *payrun.Cents // last month's sum when the amount jumped
}

// insertLinesSQL writes one batch of cases' lines as one chunk (migration
// 0135): one row per batch, so no COPY is needed (PostgreSQL refuses COPY
// FROM into a table with row-level security anyway).
const insertLinesSQL = `INSERT INTO run_chunks (municipality, run_id, first_case, last_case, cases, line_count, lines, offsets)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

// insertLinesWarningsSQL writes one batch's chunk and its warnings in one
// statement (one round trip).
const insertLinesWarningsSQL = `WITH chunk AS (
    INSERT INTO run_chunks (municipality, run_id, first_case, last_case, cases, line_count, lines, offsets)
    VALUES ($1, $2, $9, $10, $11, $12, $13, $14)
)
` + warningsSQL

// packChunk packs lines (consecutive lines of a case together, cases in
// ascending order, as the builder returns them) into c.
func packChunk(c *chunk, lines []RunLine) error {
	c.reset()
	for i := 0; i < len(lines); {
		j := i + 1
		for j < len(lines) && lines[j].CaseID == lines[i].CaseID {
			j++
		}
		if err := c.add(lines[i:j]); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// writeBatch inserts a batch's lines as a chunk (the writer stage, on the
// run's transaction).
func (bt *buildTx) writeBatch(ctx context.Context, lb *lineBatch, st *stageTimes) error {
	if len(lb.lines) == 0 {
		return nil
	}
	ch := &lb.chunk
	if err := packChunk(ch, lb.lines); err != nil {
		return err
	}
	st.lap("encode lines")
	// the lines go as []byte: pgx encodes them into the text parameter
	// without a copy as string (≈ 300 kB per chunk); the offsets (few, and
	// often none: a nil []byte would be NULL) as a string
	m, id, text, offsets := bt.sum.Municipality, bt.sum.ID, ch.text, string(ch.offsets)
	var err error
	if w := &lb.warn; len(w.kind) == 0 {
		_, err = bt.tx.Exec(ctx, insertLinesSQL, m, id, ch.firstCase, ch.lastCase, ch.cases, ch.lines, text, offsets)
	} else {
		_, err = bt.tx.Exec(ctx, insertLinesWarningsSQL, m, id, w.kind, w.caseID, w.payee, w.iban, w.cents, w.detail,
			ch.firstCase, ch.lastCase, ch.cases, ch.lines, text, offsets)
	}
	if err != nil {
		return fmt.Errorf("insert lines: %w", err)
	}
	st.lap("insert lines and warnings")
	if bt.opts.AfterBatchFunc != nil {
		bt.opts.AfterBatchFunc(lb.upTo)
	}
	return nil
}

// CentsNumeric converts c to a pgtype.Numeric with two decimals.
func CentsNumeric(c payrun.Cents) pgtype.Numeric {
	return pgtype.Numeric{Int: big.NewInt(int64(c)), Exp: -2, Valid: true}
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// finish stores totals, digest and warnings, and appends the audit event.
func (bt *buildTx) finish(ctx context.Context) error {
	s, tx := bt.sum, bt.tx
	s.Warnings = map[string]int64{}
	for k, n := range bt.warn.counts {
		s.Warnings[k] = n
	}
	if err := bt.warn.storeNewIBANs(ctx, tx, s); err != nil {
		return err
	}
	bt.st.lap("warnings")
	w, err := json.Marshal(s.Warnings)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE runs SET digest = $3, line_count = $4, total = $5, overpayments = $6, max_payment = $7,
		cases_computed = $8, first_month = $9, warnings = $10, payments = $11 WHERE municipality = $1 AND id = $2`,
		s.Municipality, s.ID, s.Digest, s.Lines, CentsNumeric(s.Total), CentsNumeric(s.Overpayments),
		CentsNumeric(s.MaxPayment), s.Cases, bt.firstMonth.First().Time(utc), w, s.Payments)
	if err != nil {
		return fmt.Errorf("run %d: store totals: %w", s.ID, err)
	}
	action := "run.create"
	if s.Refreshed {
		action = "run.refresh"
	}
	actor := bt.opts.Actor
	if actor == "" {
		actor = "system"
	}
	details, err := json.Marshal(map[string]any{
		"run": s.ID, "kind": s.Kind, "period": s.Period, "lines": s.Lines, "total": s.Total,
		"overpayments": s.Overpayments, "digest": fmt.Sprintf("%x", s.Digest), "cases": s.Cases,
	})
	if err != nil {
		return err
	}
	err = AppendAudit(ctx, tx, bt.opts.now(), s.Municipality, actor, action, details)
	bt.st.lap("totals and audit")
	return err
}

func (o *BuildOptions) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// stageTimes adds up where a run's creation spends its wall time; logged at
// debug level when the run is built.
type stageTimes struct {
	last time.Time
	d    map[string]time.Duration
}

// lap adds the time since the previous lap to stage.
func (s *stageTimes) lap(stage string) {
	t := time.Now()
	if s.d == nil {
		s.d = map[string]time.Duration{}
	} else {
		s.d[stage] += t.Sub(s.last)
	}
	s.last = t
}

// logStages logs where the run's creation spent its time (debug level).
func (bt *buildTx) logStages(s *RunSummary) {
	if !bt.log.Core().Enabled(zap.DebugLevel) {
		return
	}
	fields := []zap.Field{zap.String("municipality", s.Municipality), zap.Int64("run", s.ID), zap.Int64("lines", s.Lines)}
	keys := make([]string, 0, len(bt.st.d))
	for k := range bt.st.d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fields = append(fields, zap.Duration(k, bt.st.d[k]))
	}
	bt.log.Debug("run build stages", fields...)
}

// merge adds o's stages to s under prefix.
func (s *stageTimes) merge(prefix string, o *stageTimes) {
	if s.d == nil {
		s.d = map[string]time.Duration{}
	}
	for k, v := range o.d {
		s.d[prefix+k] += v
	}
}
