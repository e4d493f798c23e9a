package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun/store"
)

// TestPaidIBANsMigration: migration 0140 turns the rows of paid_ibans into
// the new IBANs of their first runs (byte order, one per line), and the
// view paid_ibans lists the same rows as before.
func TestPaidIBANsMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	appURL, adminURL, admin := migrateBelow(t, 140)
	rows := []string{"unna 1 AT611904300234573201", "unna 1 DE02120300000000202051", "unna 2 DE89370400440532013000",
		"werne 3 DE89370400440532013000"}
	if _, err := admin.Exec(ctx, `SET session_replication_role = replica;
		INSERT INTO paid_ibans (municipality, first_run, iban) VALUES
			('unna', 1, 'DE02120300000000202051'), ('unna', 2, 'DE89370400440532013000'),
			('unna', 1, 'AT611904300234573201'), ('werne', 3, 'DE89370400440532013000');
		INSERT INTO signatures (municipality, run_id, seq, user_id, role, digest) VALUES
			('unna', 1, 1, 1, 'checker', sha256('1')), ('unna', 2, 1, 1, 'checker', sha256('2')),
			('werne', 3, 1, 2, 'checker', sha256('3'))`); err != nil {
		t.Fatal(err)
	}
	db := setupRest(t, adminURL, appURL)
	var got []string
	var first string
	err := db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		r, err := tx.Query(ctx, `SELECT municipality || ' ' || first_run || ' ' || iban FROM paid_ibans ORDER BY 1`)
		if err != nil {
			return err
		}
		if got, err = pgx.CollectRows(r, pgx.RowTo[string]); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT ibans FROM run_new_ibans WHERE municipality = 'unna' AND run_id = 1`).Scan(&first)
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ", ") != strings.Join(rows, ", ") {
		t.Errorf("paid_ibans after the migration:\n got %q\nwant %q", got, rows)
	}
	if want := "AT611904300234573201\nDE02120300000000202051"; first != want {
		t.Errorf("new IBANs of run 1: %q, want %q", first, want)
	}
}
