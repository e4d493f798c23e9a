package export

import (
	"context"
	"errors"
	"fmt"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
	"github.com/payrun/payrun/payrun/store"
)

// AccountKey is what decides the accounts of a run line.
type AccountKey struct {
	Law        payrun.Law
	Component  payrun.Component
	CostBearer payrun.CostBearer
	Kind       payrun.LineKind
}

// CheckAccounts reports whether every key (of the lines of a run about to
// be created) has both accounts it is booked on in the municipality's chart
// (account_rules: the municipality's own rules over the county defaults).
// The error joins one *booking.MissingRuleError per missing rule, each
// naming law, component, cost bearer and account kind, and wraps
// booking.ErrMissingRule; the run code must then not create the run.
func CheckAccounts(ctx context.Context, db *store.DB, municipality string, keys []AccountKey) error {
	chart, err := db.LoadChart(ctx, municipality)
	if err != nil {
		return fmt.Errorf("export: check accounts: %w", err)
	}
	return CheckChart(chart, keys)
}

// CheckChart is CheckAccounts on an already loaded chart. Each missing
// rule is reported once.
func CheckChart(chart *booking.Chart, keys []AccountKey) error {
	var errs []error
	seen := make(map[string]bool)
	for _, k := range keys {
		main, counter := booking.RequiredKinds(k.Kind, k.Component)
		for _, kind := range []booking.AccountKind{main, counter} {
			if _, err := chart.Resolve(k.Law, k.Component, k.CostBearer, kind); err != nil {
				if msg := err.Error(); !seen[msg] {
					seen[msg] = true
					errs = append(errs, err)
				}
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("export: %s: no account for %d rule(s): %w", chart.Municipality(), len(errs), errors.Join(errs...))
	}
	return nil
}
