package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
)

// LoadChart reads the account rules of municipality (its own rules and the
// county-wide defaults) and resolves them into a booking.Chart.
func (db *DB) LoadChart(ctx context.Context, municipality string) (*booking.Chart, error) {
	var rules []booking.Rule
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		var err error
		rules, err = loadRules(ctx, tx, municipality)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: account rules of %s: %w", municipality, err)
	}
	return booking.NewChart(municipality, expandWildcards(rules))
}

// expandWildcards replaces a rule for component "*" by one rule per
// component that has no rule of its own at the same level (county default
// or municipality) for the same law, cost bearer and kind.
func expandWildcards(rules []booking.Rule) []booking.Rule {
	type key struct {
		mun  string
		law  payrun.Law
		comp payrun.Component
		cb   payrun.CostBearer
		kind booking.AccountKind
	}
	have := make(map[key]bool)
	for _, r := range rules {
		have[key{r.Municipality, r.Law, r.Component, r.CostBearer, r.Kind}] = true
	}
	out := make([]booking.Rule, 0, len(rules))
	for _, r := range rules {
		if r.Component != "*" {
			out = append(out, r)
			continue
		}
		for _, c := range payrun.Components {
			if !have[key{r.Municipality, r.Law, c, r.CostBearer, r.Kind}] {
				x := r
				x.Component = c
				out = append(out, x)
			}
		}
	}
	return out
}

// loadRules reads the rules visible to municipality in a fixed order.
func loadRules(ctx context.Context, tx pgx.Tx, municipality string) ([]booking.Rule, error) {
	rows, err := tx.Query(ctx, `
		SELECT coalesce(municipality, ''), law, component, cost_bearer, kind, account, product, cost_centre, budget_position
		  FROM account_rules
		 WHERE municipality IS NULL OR municipality = $1
		 ORDER BY municipality NULLS FIRST, law, component, cost_bearer, kind`, municipality)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (booking.Rule, error) {
		var r booking.Rule
		err := row.Scan(&r.Municipality, &r.Law, &r.Component, &r.CostBearer, &r.Kind,
			&r.Account, &r.Product, &r.CostCentre, &r.BudgetPosition)
		return r, err
	})
}

// StreamBookingLines yields the lines of run runID in journal order (case,
// payee, month, component; byte order) with their 1-based position as Seq
// and the channel of their decision. It holds a read-only transaction open
// while the caller consumes the sequence; stop early by breaking out.
func (db *DB) StreamBookingLines(ctx context.Context, municipality string, runID int64) iter.Seq2[booking.Line, error] {
	return func(yield func(booking.Line, error) bool) {
		stopped := false
		err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET TRANSACTION READ ONLY"); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `
				SELECT l.case_id, l.month, l.payee_role, coalesce(d.payee_channel, ''), l.component, l.kind,
				       (l.amount * 100)::bigint, l.law, l.cost_bearer, coalesce(l.reclaim_id, '')
				  FROM run_lines l
				  LEFT JOIN decisions d ON d.municipality = l.municipality AND d.decision_id = l.decision_id
				 WHERE l.municipality = $1 AND l.run_id = $2
				 ORDER BY l.case_id COLLATE "C", l.payee_role COLLATE "C", l.month, l.component COLLATE "C",
				          l.kind COLLATE "C", coalesce(l.reclaim_id, '') COLLATE "C", l.amount`, municipality, runID)
			if err != nil {
				return err
			}
			defer rows.Close()
			var l booking.Line
			var month time.Time
			for rows.Next() {
				if err := rows.Scan(&l.CaseID, &month, &l.Payee, &l.Channel, &l.Component, &l.Kind,
					&l.Amount, &l.Law, &l.CostBearer, &l.ReclaimID); err != nil {
					return err
				}
				l.Seq++
				l.Month = payrun.DateOf(month).Month()
				if !yield(l, nil) {
					stopped = true
					return errStopped
				}
			}
			return rows.Err()
		})
		if err != nil && !stopped {
			yield(booking.Line{}, fmt.Errorf("store: lines of run %d: %w", runID, err))
		}
	}
}

// errStopped ends a stream's transaction when the consumer stopped early.
var errStopped = errors.New("store: stream stopped by the consumer")
