package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
)

// LoadChart reads the account rules of municipality (its own rules and the
// county-wide defaults) and resolves them into a booking.Chart.
func (db *DB) LoadChart(ctx context.Context, municipality string) (*booking.Chart, error) {
	rules, err := db.LoadRules(ctx, municipality)
	if err != nil {
		return nil, err
	}
	return booking.NewChart(municipality, rules)
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
