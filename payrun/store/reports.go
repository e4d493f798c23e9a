package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
	"github.com/payrun/payrun/payrun/calc"
)

// Report46a adds to r the journal entries of cost bearer bund_46a that the
// exported runs of municipality with a period from from through to booked.
// Each entry counts in the quarter of its run's period: the month the run
// pays out (cash principle). The journal of a run exported since migration
// 0085 is booked again from its run lines with the rules stored with it
// (summed per line kind, component, law and sign first: the report adds
// amounts, so the sums book to the same totals); journals stored in
// booking_lines before count as stored. Runs exported before journals
// were kept contribute nothing. Everything is read in one read-only
// transaction under the municipality's RLS scope.
func (db *DB) Report46a(ctx context.Context, municipality string, from, to payrun.Month, r *booking.Report46a) error {
	if to < from {
		return fmt.Errorf("store: § 46a report of %s: %w: %s after %s", municipality, payrun.ErrInvalid, from, to)
	}
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET TRANSACTION READ ONLY"); err != nil {
			return err
		}
		args := []any{municipality, from.First().Time(utc), to.First().Time(utc), string(payrun.BearerBund)}
		if err := report46aJournals(ctx, tx, args, r); err != nil {
			return err
		}
		return report46aLegacy(ctx, tx, args, r)
	})
	if err != nil {
		return fmt.Errorf("store: § 46a report of %s %s–%s: %w", municipality, from, to, err)
	}
	return nil
}

// report46aJournals books the bund_46a lines of the runs with a stored
// journal. args: municipality, first and last period, cost bearer.
func report46aJournals(ctx context.Context, tx pgx.Tx, args []any, r *booking.Report46a) error {
	municipality := args[0].(string)
	rows, err := tx.Query(ctx, `SELECT j.run_id, j.rules FROM booking_journals j
		JOIN runs r ON r.municipality = j.municipality AND r.id = j.run_id
		WHERE r.municipality = $1 AND r.state = 'exported' AND r.period >= $2 AND r.period <= $3`, args[:3]...)
	if err != nil {
		return err
	}
	charts := map[int64]*booking.Chart{}
	for rows.Next() {
		var run int64
		var raw []byte
		var rules []booking.Rule
		if err := rows.Scan(&run, &raw); err != nil {
			rows.Close()
			return err
		}
		if err := json.Unmarshal(raw, &rules); err != nil {
			rows.Close()
			return fmt.Errorf("journal rules of run %d: %w", run, err)
		}
		if charts[run], err = booking.NewChart(municipality, rules); err != nil {
			rows.Close()
			return fmt.Errorf("journal rules of run %d: %w", run, err)
		}
	}
	if err := rows.Err(); err != nil || len(charts) == 0 {
		return err
	}
	rows, err = tx.Query(ctx, `
		SELECT r.id, `+sqlMonth("r.period")+`, l.kind, l.component, l.law,
		       coalesce((sum(l.amount) FILTER (WHERE l.amount > 0) * 100)::bigint, 0),
		       coalesce((sum(l.amount) FILTER (WHERE l.amount < 0) * 100)::bigint, 0)
		  FROM runs r
		  JOIN booking_journals j ON j.municipality = r.municipality AND j.run_id = r.id
		  JOIN run_lines l ON l.municipality = r.municipality AND l.run_id = r.id
		 WHERE r.municipality = $1 AND r.state = 'exported' AND r.period >= $2 AND r.period <= $3
		   AND l.cost_bearer = $4
		 GROUP BY r.id, r.period, l.kind, l.component, l.law`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var run int64
		var period int32
		var pos, neg int64
		l := booking.Line{Payee: payrun.PayeeBeneficiary, CostBearer: payrun.BearerBund}
		if err := rows.Scan(&run, &period, &l.Kind, &l.Component, &l.Law, &pos, &neg); err != nil {
			return fmt.Errorf("scan run lines: %w", err)
		}
		chart := charts[run]
		if chart == nil {
			return fmt.Errorf("run %d: no journal rules", run)
		}
		for _, amount := range []int64{pos, neg} {
			if amount == 0 {
				continue
			}
			l.Amount = payrun.Cents(amount)
			d, c, err := chart.Post(&l)
			if err != nil {
				return fmt.Errorf("run %d: %w", run, err)
			}
			r.Add(payrun.Month(period), &d)
			r.Add(payrun.Month(period), &c)
		}
	}
	return rows.Err()
}

// report46aLegacy adds the bund_46a entries stored in booking_lines
// before migration 0085.
func report46aLegacy(ctx context.Context, tx pgx.Tx, args []any, r *booking.Report46a) error {
	rows, err := tx.Query(ctx, `
		SELECT `+sqlMonth("r.period")+`, j.line_kind, j.account_kind, j.side,
		       (j.amount::numeric * 100)::bigint
		  FROM runs r
		  JOIN booking_lines b ON b.municipality = r.municipality AND b.run_id = r.id
		  CROSS JOIN LATERAL jsonb_to_record(b.record::jsonb)
		       AS j(cost_bearer text, line_kind text, account_kind text, side text, amount text)
		 WHERE r.municipality = $1 AND r.state = 'exported'
		   AND r.period >= $2 AND r.period <= $3
		   AND j.cost_bearer = $4
		 ORDER BY r.period, b.run_id, b.n`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	e := booking.Entry{Municipality: args[0].(string), CostBearer: payrun.BearerBund}
	var (
		period int32
		side   string
	)
	for rows.Next() {
		if err := rows.Scan(&period, &e.LineKind, &e.AccountKind, &side, &e.Amount); err != nil {
			return fmt.Errorf("scan booking line: %w", err)
		}
		switch side {
		case "debit":
			e.Side = booking.Debit
		case "credit":
			e.Side = booking.Credit
		default:
			return fmt.Errorf("booking line of period %s: side %q: %w", payrun.Month(period), side, payrun.ErrInvalid)
		}
		r.Add(payrun.Month(period), &e)
	}
	return rows.Err()
}

// ReportFlueAG adds to r the AsylbLG person-months of municipality for
// every month from from through to, counted with calc.PersonMonths over
// each case's decisions as imported (supersession applied). Only cases
// with an AsylbLG decision overlapping the range are read, but all of their
// decisions, so that a superseding decision of another law still ends the
// ones it supersedes. Decisions are streamed case by case in one read-only
// transaction under the municipality's RLS scope.
func (db *DB) ReportFlueAG(ctx context.Context, municipality string, from, to payrun.Month, r *booking.FlueAGReport) error {
	if to < from {
		return fmt.Errorf("store: flüag report of %s: %w: %s after %s", municipality, payrun.ErrInvalid, from, to)
	}
	var asyl []string
	for _, l := range payrun.Laws {
		if l.IsAsylbLG() {
			asyl = append(asyl, string(l))
		}
	}
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET TRANSACTION READ ONLY"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			SELECT d.case_id, d.decision_id, d.supersedes, d.law,
			       (d.valid_from - DATE '1970-01-01'), (d.valid_to - DATE '1970-01-01'), d.persons::text
			  FROM decisions d
			 WHERE d.municipality = $1 AND d.case_id IN (
			       SELECT a.case_id FROM decisions a
			        WHERE a.municipality = $1 AND a.law = ANY($2)
			          AND a.valid_from <= $4 AND (a.valid_to IS NULL OR a.valid_to >= $3))
			 ORDER BY d.case_id COLLATE "C", d.valid_from, d.decision_id COLLATE "C"`,
			municipality, asyl, from.First().Time(utc), to.Last().Time(utc))
		if err != nil {
			return err
		}
		defer rows.Close()
		var ds []payrun.Decision
		flush := func() error {
			if len(ds) == 0 {
				return nil
			}
			for m := from; m <= to; m++ {
				if err := r.AddCounts(municipality, m, calc.PersonMonths(ds, m)); err != nil {
					return fmt.Errorf("case %s: %w", ds[0].CaseID, err)
				}
			}
			ds = ds[:0]
			return nil
		}
		for rows.Next() {
			var (
				d         payrun.Decision
				law       string
				validFrom int32
				validTo   *int32
				persons   string
			)
			if err := rows.Scan(&d.CaseID, &d.DecisionID, &d.Supersedes, &law, &validFrom, &validTo, &persons); err != nil {
				return fmt.Errorf("scan decision: %w", err)
			}
			d.Municipality, d.Law, d.ValidFrom = municipality, payrun.Law(law), payrun.Date(validFrom)
			if validTo != nil {
				t := payrun.Date(*validTo)
				d.ValidTo = &t
			}
			if err := json.Unmarshal([]byte(persons), &d.Persons); err != nil {
				return fmt.Errorf("decision %s: persons: %w", d.DecisionID, err)
			}
			if len(ds) > 0 && ds[0].CaseID != d.CaseID {
				if err := flush(); err != nil {
					return err
				}
			}
			ds = append(ds, d)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return flush()
	})
	if err != nil {
		return fmt.Errorf("store: flüag report of %s %s–%s: %w", municipality, from, to, err)
	}
	return nil
}
