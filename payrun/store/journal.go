package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
)

// The journal of an exported run is not stored: it is a pure function of
// the run's lines (frozen once the run is signed) and the account rules it
// was booked with. booking_journals keeps the rules, the record count and
// the run's range of cursor positions; booking_journal_pages lets the pull
// API find the lines of a range (migration 0085).

// JournalPageLines is the number of run lines after which a journal page
// ends (at the next case boundary).
const JournalPageLines = 1024

// JournalPage is the lines FirstLine … FirstLine+Lines-1 (1-based, journal
// order) of a run: all lines of the run for Cases.
type JournalPage struct {
	FirstLine int64    `json:"first_line"`
	Lines     int      `json:"lines"`
	Cases     []string `json:"cases"`
}

// Journal is what an export records about a run's journal.
type Journal struct {
	Records       int64 // booking records: two per run line
	Debit, Credit payrun.Cents
	Rules         []booking.Rule // the rules booked with (wildcards expanded)
	Pages         []JournalPage
}

// StoredJournal is the stored journal of an exported run.
type StoredJournal struct {
	FirstPos int64 // cursor before the run's first record
	Records  int64
	Debit    payrun.Cents
	Rules    []booking.Rule
}

// JournalPager cuts a run's lines, in journal order, into JournalPages.
type JournalPager struct {
	pages    []JournalPage
	lastSeq  int64
	lastCase string
}

// Add records line seq (1-based, ascending; repeated calls for the same
// seq, e.g. its debit and credit entry, count once) of case caseID.
func (p *JournalPager) Add(seq int64, caseID string) {
	if seq == p.lastSeq {
		return
	}
	n := len(p.pages)
	switch {
	case n > 0 && caseID == p.lastCase:
		p.pages[n-1].Lines++
	case n > 0 && p.pages[n-1].Lines < JournalPageLines:
		p.pages[n-1].Lines++
		p.pages[n-1].Cases = append(p.pages[n-1].Cases, caseID)
	default:
		p.pages = append(p.pages, JournalPage{FirstLine: seq, Lines: 1, Cases: []string{caseID}})
	}
	p.lastSeq, p.lastCase = seq, caseID
}

// Pages returns the pages so far.
func (p *JournalPager) Pages() []JournalPage { return p.pages }

// LoadRules reads the account rules visible to municipality, wildcards
// expanded: what LoadChart resolves and a journal stores.
func (db *DB) LoadRules(ctx context.Context, municipality string) ([]booking.Rule, error) {
	var rules []booking.Rule
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		var err error
		rules, err = loadRules(ctx, tx, municipality)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: account rules of %s: %w", municipality, err)
	}
	return expandWildcards(rules), nil
}

// journalLinesSQL selects run lines as booking.Line values (scanJournalLine)
// in journal order: case, payee, month, component, kind, reclaim, amount,
// byte order. $1 municipality, $2 run id; extra conditions follow "AND".
const (
	journalLinesSQL = `
		SELECT l.case_id, (extract(year FROM l.month)::int * 12 + extract(month FROM l.month)::int - 1),
		       l.payee_role, l.component, l.kind, (l.amount * 100)::bigint, l.law, l.cost_bearer,
		       coalesce(l.reclaim_id, '')
		  FROM run_lines l
		 WHERE l.municipality = $1 AND `
	journalOrderSQL = `
		 ORDER BY l.case_id COLLATE "C", l.payee_role COLLATE "C", l.month, l.component COLLATE "C",
		          l.kind COLLATE "C", coalesce(l.reclaim_id, '') COLLATE "C", l.amount`
)

// scanJournalLine scans one row of journalLinesSQL into l (Seq untouched).
func scanJournalLine(rows pgx.Rows, l *booking.Line) error {
	var month int32
	if err := rows.Scan(&l.CaseID, &month, &l.Payee, &l.Component, &l.Kind, &l.Amount, &l.Law, &l.CostBearer, &l.ReclaimID); err != nil {
		return err
	}
	l.Month = payrun.Month(month)
	return nil
}

// bookingsLock serialises, per municipality, the assignment of journal
// positions and the pull API's batches: a cursor never passes a journal
// that is not committed yet.
const bookingsLock = `SELECT pg_advisory_xact_lock(hashtextextended('payrun.bookings:' || $1, 0))`

// loadJournal reads the stored journal of a run; nil when there is none.
// legacy reports whether journal rows of the run were stored in
// booking_lines before migration 0085.
func loadJournal(ctx context.Context, tx pgx.Tx, municipality string, runID int64) (j *StoredJournal, legacy bool, err error) {
	var sj StoredJournal
	var rules []byte
	err = tx.QueryRow(ctx, `SELECT first_pos, records, debit, rules FROM booking_journals
		WHERE municipality = $1 AND run_id = $2`, municipality, runID).Scan(&sj.FirstPos, &sj.Records, &sj.Debit, &rules)
	switch {
	case err == nil:
		if err := json.Unmarshal(rules, &sj.Rules); err != nil {
			return nil, false, fmt.Errorf("journal rules of run %d: %w", runID, err)
		}
		return &sj, false, nil
	case err != pgx.ErrNoRows:
		return nil, false, err
	}
	err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM booking_lines WHERE municipality = $1 AND run_id = $2)`,
		municipality, runID).Scan(&legacy)
	return nil, legacy, err
}

// storeJournal records the journal of a run exported for the first time
// (nothing when it has one already, legacy booking_lines rows, or no
// records): the
// next range of cursor positions of the municipality, the rules and the
// pages. It runs in the transaction that marks the run exported.
func storeJournal(ctx context.Context, tx pgx.Tx, municipality string, runID int64, j *Journal) error {
	if j.Debit != j.Credit || j.Records%2 != 0 {
		return fmt.Errorf("journal of run %d: %d records, debits %s, credits %s: %w", runID, j.Records, j.Debit, j.Credit, payrun.ErrInvalid)
	}
	if _, err := tx.Exec(ctx, bookingsLock, municipality); err != nil {
		return err
	}
	old, legacy, err := loadJournal(ctx, tx, municipality, runID)
	if err != nil || old != nil || legacy || j.Records == 0 {
		return err // a journal without records has nothing to serve
	}
	rules, err := json.Marshal(j.Rules)
	if err != nil {
		return err
	}
	pages, err := json.Marshal(j.Pages)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO booking_journals (municipality, run_id, first_pos, records, debit, credit, rules)
		SELECT $1, $2, greatest(
		         (SELECT coalesce(max(first_pos + records), 0) FROM booking_journals WHERE municipality = $1),
		         (SELECT coalesce(max(id), 0) FROM booking_lines WHERE municipality = $1)),
		       $3, $4, $5, $6`,
		municipality, runID, j.Records, int64(j.Debit), int64(j.Credit), rules); err != nil {
		return err
	}
	var lines int64
	err = tx.QueryRow(ctx, `
		WITH p AS (
			INSERT INTO booking_journal_pages (municipality, run_id, first_line, lines, cases)
			SELECT $1, $2, p.first_line, p.lines, ARRAY(SELECT jsonb_array_elements_text(p.cases))
			  FROM jsonb_to_recordset($3::jsonb) AS p(first_line bigint, lines integer, cases jsonb)
			RETURNING lines)
		SELECT coalesce(sum(lines), 0) FROM p`, municipality, runID, pages).Scan(&lines)
	if err != nil {
		return err
	}
	if 2*lines != j.Records {
		return fmt.Errorf("journal of run %d: pages hold %d lines, the journal %d records: %w", runID, lines, j.Records, payrun.ErrInvalid)
	}
	return nil
}

// journalRange is the part of one run's journal a batch covers.
type journalRange struct {
	runID    int64
	firstPos int64
	from, to int64 // record numbers in the run, 1-based, inclusive
	rules    []booking.Rule
}

// journalRecords appends the JSON records from, …, to (1-based record
// numbers of the run's journal; record 2k-1 is the debit, 2k the credit of
// line k) to out, generated from the run's lines exactly as the export
// writes them.
func journalRecords(ctx context.Context, tx pgx.Tx, municipality string, jr journalRange, out []string) ([]string, error) {
	chart, err := booking.NewChart(municipality, jr.rules)
	if err != nil {
		return nil, fmt.Errorf("journal of run %d: %w", jr.runID, err)
	}
	firstLine, lastLine := (jr.from+1)/2, (jr.to+1)/2
	rows, err := tx.Query(ctx, `SELECT first_line, lines, cases FROM booking_journal_pages
		WHERE municipality = $1 AND run_id = $2 AND first_line <= $4 AND first_line + lines > $3
		ORDER BY first_line`, municipality, jr.runID, firstLine, lastLine)
	if err != nil {
		return nil, err
	}
	var cases []string
	start, lines := int64(0), int64(0)
	for rows.Next() {
		var p JournalPage
		if err := rows.Scan(&p.FirstLine, &p.Lines, &p.Cases); err != nil {
			rows.Close()
			return nil, err
		}
		if start == 0 {
			start = p.FirstLine
		}
		lines += int64(p.Lines)
		cases = append(cases, p.Cases...)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if start == 0 || start > firstLine || start+lines <= lastLine || len(cases) == 0 {
		return nil, fmt.Errorf("journal of run %d: no pages for lines %d–%d", jr.runID, firstLine, lastLine)
	}
	// Only the chunks of the run that hold the pages' cases are read
	// (migration 0135), never the whole run.
	lo, hi := slices.Min(cases), slices.Max(cases)
	rows, err = tx.Query(ctx, journalLinesSQL+`l.run_id = $2 AND l.chunk_last >= $4 AND l.chunk_first <= $5
		AND l.case_id = ANY($3)`+journalOrderSQL, municipality, jr.runID, cases, lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	run := fmt.Sprint(jr.runID)
	var buf []byte
	l := booking.Line{Seq: start - 1}
	for rows.Next() {
		if err := scanJournalLine(rows, &l); err != nil {
			return nil, err
		}
		l.Seq++
		if l.Seq < firstLine || l.Seq > lastLine {
			continue
		}
		d, c, err := chart.Post(&l)
		if err != nil {
			return nil, fmt.Errorf("journal of run %d: %w", jr.runID, err)
		}
		for k, e := range []*booking.Entry{&d, &c} {
			if n := 2*l.Seq - 1 + int64(k); n >= jr.from && n <= jr.to {
				buf = booking.AppendJSON(buf[:0], run, e)
				out = append(out, string(buf))
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if l.Seq != start-1+lines {
		return nil, fmt.Errorf("journal of run %d: %d lines for the pages from line %d, want %d: %w",
			jr.runID, l.Seq-start+1, start, lines, payrun.ErrConflict)
	}
	return out, nil
}

// journalsIn returns the parts of the municipality's journals that cover
// the cursor positions after+1 … last.
func journalsIn(ctx context.Context, tx pgx.Tx, municipality string, after, last int64) ([]journalRange, error) {
	rows, err := tx.Query(ctx, `SELECT run_id, first_pos, records, rules FROM booking_journals
		WHERE municipality = $1 AND first_pos < $3 AND first_pos + records > $2 ORDER BY first_pos`,
		municipality, after, last)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (journalRange, error) {
		var jr journalRange
		var records int64
		var rules []byte
		if err := row.Scan(&jr.runID, &jr.firstPos, &records, &rules); err != nil {
			return jr, err
		}
		jr.from = max(after-jr.firstPos, 0) + 1
		jr.to = min(last-jr.firstPos, records)
		return jr, json.Unmarshal(rules, &jr.rules)
	})
}
