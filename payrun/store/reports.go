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
// exported runs of municipality with a period from from through to booked
// (booking_lines, stored at export). Each entry counts in the quarter of
// its run's period: the month the run pays out (cash principle). Runs
// exported before their journal was stored contribute nothing. The lines
// are streamed in one read-only transaction under the municipality's RLS
// scope.
func (db *DB) Report46a(ctx context.Context, municipality string, from, to payrun.Month, r *booking.Report46a) error {
	if to < from {
		return fmt.Errorf("store: § 46a report of %s: %w: %s after %s", municipality, payrun.ErrInvalid, from, to)
	}
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET TRANSACTION READ ONLY"); err != nil {
			return err
		}
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
			 ORDER BY r.period, b.run_id, b.n`,
			municipality, from.First().Time(utc), to.First().Time(utc), string(payrun.BearerBund))
		if err != nil {
			return err
		}
		defer rows.Close()
		e := booking.Entry{Municipality: municipality, CostBearer: payrun.BearerBund}
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
	})
	if err != nil {
		return fmt.Errorf("store: § 46a report of %s %s–%s: %w", municipality, from, to, err)
	}
	return nil
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
