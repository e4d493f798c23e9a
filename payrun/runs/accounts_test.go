package runs_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun/booking"
	"github.com/payrun/payrun/payrun/runs"
	"github.com/payrun/payrun/payrun/store"
)

// A run cannot be created while any of its lines has no account: the error
// names law, component and cost bearer, and no run is left behind.
func TestCreateRefusesLineWithoutAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, 60, "unna")
	err := b.db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM account_rules WHERE law = 'sgb12_4' AND kind = 'expense'`)
		return err
	})
	must(t, err)
	_, err = runs.Create(ctx, b.db, "unna", period, runs.Options{})
	if !errors.Is(err, booking.ErrMissingRule) {
		t.Fatalf("Create without sgb12_4 expense accounts: err = %v, want ErrMissingRule", err)
	}
	for _, want := range []string{"sgb12_4", "expense", "bund_46a"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	var n int
	must(t, b.db.WithTx(ctx, "unna", func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM runs`).Scan(&n)
	}))
	if n != 0 {
		t.Errorf("%d runs exist after the refused creation, want 0", n)
	}
}
