package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// A run is built by three goroutines that overlap reading, computing and
// writing, so that PostgreSQL and the Go side work at the same time:
//
//   - the reader streams the cases (a cursor over the cases to compute, one
//     over the municipality's decisions and one over the paid sums, all in
//     case order, merged in Go) on a connection of its own, in a read-only REPEATABLE READ
//     transaction that imports the run transaction's snapshot
//     (pg_export_snapshot, taken after the municipality lock): it sees
//     exactly what the run's transaction sees;
//   - the caller's goroutine computes the cases in order (the builder's
//     digest depends on it) and accounts the totals;
//   - the writer inserts each batch's lines as a chunk, and its warnings, in
//     the run's transaction.
//
// Batches travel through channels of capacity 2 and are recycled, so memory
// stays bounded by a few batches of BatchCases cases (and, for the warnings,
// the IBANs live runs paid and the first case of each beneficiary IBAN). A failure anywhere
// cancels the others and the run's transaction rolls back; a killed process
// loses both connections, so nothing of the run is committed either.

// caseBatch is up to BatchCases cases as the reader hands them on.
type caseBatch struct {
	cases []RunCase
	n     int
}

// lineBatch is the lines and warnings of up to BatchCases computed cases.
type lineBatch struct {
	lines []RunLine
	warn  warnRows
	chunk chunk
	upTo  int64 // lines computed up to and including this batch
}

// snapshotID is the form of pg_export_snapshot()'s result.
var snapshotID = regexp.MustCompile(`^[0-9A-Fa-f-]+$`)

func (bt *buildTx) batchCases() int {
	if bt.opts.BatchCases > 0 {
		return bt.opts.BatchCases
	}
	return 1000
}

// stream reads, computes and writes every case of the run.
func (bt *buildTx) stream(ctx context.Context) error {
	var snap string
	if err := bt.tx.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&snap); err != nil {
		return fmt.Errorf("export snapshot: %w", err)
	}
	if !snapshotID.MatchString(snap) {
		return fmt.Errorf("export snapshot: unexpected id %q", snap)
	}
	rconn, err := pgx.ConnectConfig(ctx, bt.conn.Copy())
	if err != nil {
		return fmt.Errorf("reader connection: %w", err)
	}
	defer rconn.Close(context.WithoutCancel(ctx))
	rtx, err := rconn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("reader transaction: %w", err)
	}
	defer func() { _ = rtx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := rtx.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+snap+"'"); err != nil {
		return fmt.Errorf("reader snapshot: %w", err)
	}
	if _, err := rtx.Exec(ctx, "SELECT set_config('payrun.municipality', $1, true)", bt.sum.Municipality); err != nil {
		return fmt.Errorf("reader tenancy: %w", err)
	}
	// The reader's sorts of a large municipality fit in memory (a
	// municipality of 170,000 cases sorts ≈ 110 MB of decisions).
	if _, err := rtx.Exec(ctx, "SET LOCAL work_mem = '256MB'"); err != nil {
		return fmt.Errorf("reader work_mem: %w", err)
	}
	if err := declareCursors(ctx, rtx, bt.sum); err != nil {
		return err
	}
	bt.st.lap("declare cursors")

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg        sync.WaitGroup
		read      = make(chan *caseBatch, 2)
		freeCases = make(chan *caseBatch, 4)
		write     = make(chan *lineBatch, 2)
		freeLines = make(chan *lineBatch, 4)
		rst, wst  stageTimes
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(read)
		if err := bt.readCases(ctx, rtx, read, freeCases, &rst); err != nil {
			cancel(err)
		}
	}()
	go func() {
		defer wg.Done()
		wst.lap("")
		for lb := range write {
			if ctx.Err() == nil {
				if err := bt.writeBatch(ctx, lb, &wst); err != nil {
					cancel(err)
				}
			}
			freeLines <- lb
		}
	}()
	err = bt.computeCases(ctx, read, freeCases, write, freeLines)
	close(write)
	if err != nil {
		cancel(err)
	}
	for range read { // let the reader end
	}
	wg.Wait()
	bt.st.merge("reader: ", &rst)
	bt.st.merge("writer: ", &wst)
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// casesSelectSQL selects the cases of municipality $1 to compute for the
// period starting $2, with their first month, in case order (the primary
// key's order, migration 0130).
var casesSelectSQL = `SELECT c.case_id, coalesce(` + sqlMonth(effectiveFrom) + `, -1)
		FROM cases c ` + settledJoin + `
		WHERE c.municipality = $1 AND (` + effectiveFrom + ` IS NULL OR ` + effectiveFrom + ` <= $2)
		ORDER BY c.case_id COLLATE "C"`

// declareCursors opens the run_cases and run_paid cursors on tx.
func declareCursors(ctx context.Context, tx pgx.Tx, s *RunSummary) error {
	period := s.Period.First().Time(utc)
	// The cases to compute, in case order; their decisions come from the
	// run_decisions cursor (decisionsCursorSQL), merged in Go.
	_, err := tx.Exec(ctx, "DECLARE run_cases NO SCROLL CURSOR FOR "+casesSelectSQL, s.Municipality, period)
	if err != nil {
		return fmt.Errorf("open cases cursor: %w", err)
	}
	if _, err := tx.Exec(ctx, decisionsCursorSQL, s.Municipality); err != nil {
		return fmt.Errorf("open decisions cursor: %w", err)
	}
	recent, older, err := paidRuns(ctx, tx, s)
	if err != nil {
		return err
	}
	// The paid cursor reads the chunks of live runs (migration 0135): the
	// lines of the recent runs, the offsets of the older ones (migration
	// 0110), in order of their first case (a few hundred rows per run; the
	// reader merges the runs per case). The reader keeps the lines from
	// each case's first month to compute on, the offsets of every month and
	// the lines of the month before the period (the amount-jump warning),
	// and sums them per case.
	_, err = tx.Exec(ctx, `DECLARE run_paid NO SCROLL CURSOR FOR
		SELECT p.first_case, CASE WHEN p.run_id = ANY ($2::bigint[]) THEN p.lines ELSE p.offsets END
		FROM run_chunks p
		WHERE p.municipality = $1
		  AND (p.run_id = ANY ($2::bigint[]) OR (p.run_id = ANY ($3::bigint[]) AND p.offsets <> ''))
		ORDER BY p.first_case`, s.Municipality, recent, older)
	if err != nil {
		return fmt.Errorf("open paid cursor: %w", err)
	}
	return nil
}

// paidRuns splits the municipality's live runs into those whose lines the
// run must read (their period reaches the earliest first month of the cases
// to compute, or the month before the period) and the older ones, of which
// only offsets count. A case without a first month (computed from its
// earliest month) makes every live run recent. A run's lines never lie
// after its period (the builder computes through the period).
func paidRuns(ctx context.Context, tx pgx.Tx, s *RunSummary) (recent, older []int64, err error) {
	var bound pgtype.Date
	err = tx.QueryRow(ctx, `SELECT CASE WHEN bool_or(`+effectiveFrom+` IS NULL) THEN '-infinity'::date
		ELSE least(min(`+effectiveFrom+`), $3) END
		FROM cases c `+settledJoin+`
		WHERE c.municipality = $1 AND (`+effectiveFrom+` IS NULL OR `+effectiveFrom+` <= $2)`,
		s.Municipality, s.Period.First().Time(utc), (s.Period - 1).First().Time(utc)).Scan(&bound)
	if err != nil {
		return nil, nil, fmt.Errorf("paid runs: earliest month: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT id, $2::date IS NULL OR period >= $2::date
		FROM runs WHERE municipality = $1 AND state IN ('established', 'released', 'exported')`, s.Municipality, bound)
	if err != nil {
		return nil, nil, fmt.Errorf("paid runs: %w", err)
	}
	var id int64
	var isRecent bool
	_, err = pgx.ForEachRow(rows, []any{&id, &isRecent}, func() error {
		if isRecent {
			recent = append(recent, id)
		} else {
			older = append(older, id)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("paid runs: %w", err)
	}
	return recent, older, nil
}

// readCases is the reader: it merges the two cursors per case and sends
// batches of cases on read until the cases are exhausted.
func (bt *buildTx) readCases(ctx context.Context, tx pgx.Tx, read chan<- *caseBatch, free chan *caseBatch, st *stageTimes) error {
	batch := bt.batchCases()
	dc := &decisionCursor{tx: tx, batch: batch}
	pc := &paidCursor{tx: tx, batch: 4, prev: bt.sum.Period - 1}
	st.lap("")
	for {
		var b *caseBatch
		select {
		case b = <-free:
		default:
			b = &caseBatch{cases: make([]RunCase, batch)}
		}
		b.n = 0
		for b.n < batch {
			c := &b.cases[b.n]
			ok, err := dc.nextCase(ctx, c)
			if err != nil {
				return err
			}
			st.lap("read decisions")
			if !ok {
				break
			}
			if err = pc.casePaid(ctx, c); err != nil {
				return err
			}
			st.lap("read paid")
			b.n++
		}
		if b.n == 0 {
			return nil
		}
		select {
		case read <- b:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		st.lap("wait for computing")
	}
}

// computeCases computes the cases the reader sends, in order, and hands
// each batch's lines to the writer.
func (bt *buildTx) computeCases(ctx context.Context, read <-chan *caseBatch, freeCases chan<- *caseBatch,
	write chan<- *lineBatch, freeLines chan *lineBatch) error {
	st := &bt.st
	newBatch := func() *lineBatch {
		select {
		case lb := <-freeLines:
			lb.lines = lb.lines[:0]
			lb.warn.reset()
			return lb
		default:
			return &lineBatch{}
		}
	}
	lb := newBatch()
	for {
		st.lap("compute")
		var b *caseBatch
		var ok bool
		select {
		case b, ok = <-read:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		st.lap("wait for reader")
		if !ok {
			break
		}
		for i := range b.n {
			c := &b.cases[i]
			if c.From < 0 {
				c.From = earliestMonth(c)
			}
			n := len(lb.lines)
			var err error
			if lb.lines, err = bt.b.Case(c, lb.lines); err != nil {
				return fmt.Errorf("case %s: %w", c.CaseID, err)
			}
			bt.account(c, lb.lines[n:], &lb.warn)
			bt.sum.Cases++
		}
		freeCases <- b
		lb.upTo = bt.sum.Lines
		st.lap("compute")
		select {
		case write <- lb:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		st.lap("wait for writer")
		lb = newBatch()
	}
	return ctx.Err()
}
