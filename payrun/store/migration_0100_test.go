package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun/store"
)

// bulkSchema describes the indexes and constraints that a bulk load drops
// and rebuilds (definitions, not oids), and the oid of decisions_pkey.
func bulkSchema(t *testing.T, ctx context.Context, db *store.DB) (defs string, pkey uint32) {
	t.Helper()
	err := db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `
SELECT string_agg(d, E'\n' ORDER BY d COLLATE "C") FROM (
    SELECT pg_get_indexdef(indexrelid) AS d FROM pg_index
    WHERE indrelid IN ('decisions'::regclass, 'cases'::regclass, 'reclaims'::regclass)
    UNION ALL
    SELECT format('%s %s %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid), condeferrable, convalidated)
    FROM pg_constraint WHERE conrelid IN ('decisions'::regclass, 'cases'::regclass, 'reclaims'::regclass)) x`).Scan(&defs); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT 'decisions_pkey'::regclass::oid`).Scan(&pkey)
	})
	if err != nil {
		t.Fatal(err)
	}
	return defs, pkey
}

// TestImportBulkIndexes: the first import into empty tables rebuilds the
// indexes and constraints of decisions and cases (new oids) with the same
// definitions, and they hold afterwards; the next import keeps them.
func TestImportBulkIndexes(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	before, pkey := bulkSchema(t, ctx, db)
	for _, want := range []string{"decisions_pkey", "decisions_case", "cases_pkey", "reclaims_municipality_case_id_fkey"} {
		if !strings.Contains(before, want) {
			t.Fatalf("schema lacks %s:\n%s", want, before)
		}
	}
	if _, err := db.Import(ctx, strings.NewReader(good1+"\n"+good1+"\n"), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	after, pkey2 := bulkSchema(t, ctx, db)
	if after != before {
		t.Errorf("definitions after the first import:\n%s\nbefore:\n%s", after, before)
	}
	if pkey2 == pkey {
		t.Error("the first import into empty tables kept decisions_pkey (no bulk load)")
	}
	// enforced again
	for _, sql := range []string{
		`INSERT INTO decisions SELECT * FROM decisions`,
		`INSERT INTO cases SELECT * FROM cases`,
		`INSERT INTO reclaims (municipality, reclaim_id, case_id, amount) VALUES ('luenen', 'R-X', 'NO-SUCH-CASE', 1)`,
	} {
		if err := execAll(ctx, db, store.AllMunicipalities, sql); sqlState(err) != "23505" && sqlState(err) != "23503" {
			t.Errorf("%s: %v, want a unique or foreign-key violation", sql, err)
		}
	}
	other := strings.NewReplacer("LUE-B-000123-1", "LUE-B-000124-1", "LUE-000123", "LUE-000124").Replace(good1)
	if _, err := db.Import(ctx, strings.NewReader(other+"\n"), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, pkey3 := bulkSchema(t, ctx, db); pkey3 != pkey2 {
		t.Error("an import into filled tables rebuilt decisions_pkey")
	}
}

// TestImportBulkBegin: payrun_import_bulk_begin drops the constraints only
// in the operator scope, only when decisions, cases and reclaims are empty
// and can be locked at once; whatever the caller does then, they are back
// at commit (rows that break them make the commit fail) or the rollback
// restores them.
func TestImportBulkBegin(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	before, _ := bulkSchema(t, ctx, db)
	begin := func(tx pgx.Tx) bool {
		t.Helper()
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT payrun_import_bulk_begin()`).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	dropped := func(tx pgx.Tx) bool {
		t.Helper()
		var gone bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass('decisions_pkey') IS NULL AND to_regclass('cases_pkey') IS NULL
			AND to_regclass('decisions_case') IS NULL`).Scan(&gone); err != nil {
			t.Fatal(err)
		}
		return gone
	}
	restored := func(step string) {
		t.Helper()
		if after, _ := bulkSchema(t, ctx, db); after != before {
			t.Errorf("%s: definitions\n%s\nwant\n%s", step, after, before)
		}
	}

	// Only in the operator scope.
	if err := db.WithTx(ctx, "luenen", func(tx pgx.Tx) error {
		if begin(tx) || dropped(tx) {
			t.Error("bulk load begun in a municipality's scope")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Committed without calling end: the deferred rebuild restores them.
	if err := db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		if !begin(tx) || !dropped(tx) {
			t.Error("bulk load not begun on empty tables")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	restored("commit without end")

	// Duplicates inserted meanwhile: the commit fails, nothing is left.
	dup := `INSERT INTO cases (municipality, case_id, recompute_from) VALUES ('luenen', 'C1', '2026-01-01'), ('luenen', 'C1', '2026-01-01')`
	err := db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		if !begin(tx) {
			t.Error("bulk load not begun on empty tables")
		}
		_, err := tx.Exec(ctx, dup)
		return err
	})
	if sqlState(err) != "23505" {
		t.Errorf("commit with duplicate cases: %v, want a unique violation", err)
	}
	restored("failed commit")
	var n int
	if err := db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM cases`).Scan(&n)
	}); err != nil || n != 0 {
		t.Errorf("cases after the failed commit: %d (%v)", n, err)
	}

	// SET CONSTRAINTS ... IMMEDIATE only rebuilds earlier.
	err = db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		if !begin(tx) {
			t.Error("bulk load not begun on empty tables")
		}
		if _, err := tx.Exec(ctx, `SET CONSTRAINTS ALL IMMEDIATE`); err != nil {
			return err
		}
		if dropped(tx) {
			t.Error("SET CONSTRAINTS ALL IMMEDIATE did not rebuild")
		}
		_, err := tx.Exec(ctx, dup)
		return err
	})
	if sqlState(err) != "23505" {
		t.Errorf("duplicate cases after the early rebuild: %v, want a unique violation", err)
	}
	restored("early rebuild")

	// With a reader of decisions in another transaction: refused.
	hold := make(chan struct{})
	locked := make(chan error, 1)
	go func() {
		locked <- db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT count(*) FROM decisions`); err != nil {
				return err
			}
			hold <- struct{}{}
			<-hold
			return nil
		})
	}()
	<-hold
	if err := db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		if begin(tx) {
			t.Error("bulk load begun beside a reader")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	hold <- struct{}{}
	if err := <-locked; err != nil {
		t.Fatal(err)
	}

	// Not on filled tables.
	if err := execAll(ctx, db, store.AllMunicipalities, `INSERT INTO cases (municipality, case_id) VALUES ('luenen', 'C1')`); err != nil {
		t.Fatal(err)
	}
	if err := db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		if begin(tx) || dropped(tx) {
			t.Error("bulk load begun on a filled table")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	restored("filled tables")
}

// TestConcurrentFirstImports: two imports into empty tables at once: one
// may build the indexes, the other waits for it; both are imported, and
// the constraints are the same as before.
func TestConcurrentFirstImports(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	before, _ := bulkSchema(t, ctx, db)
	unna := strings.NewReplacer(`"luenen"`, `"unna"`, "LUE-", "UNN-").Replace(good1)
	errs := make(chan error, 2)
	for _, file := range []string{good1 + "\n", unna + "\n"} {
		go func() {
			_, err := db.Import(ctx, strings.NewReader(file), store.ImportOptions{})
			errs <- err
		}()
	}
	for range 2 {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("concurrent imports did not finish")
		}
	}
	var n int
	if err := db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM decisions) + (SELECT count(*) FROM cases)`).Scan(&n)
	}); err != nil || n != 4 {
		t.Errorf("decisions and cases: %d rows (%v), want 4", n, err)
	}
	if after, _ := bulkSchema(t, ctx, db); after != before {
		t.Errorf("definitions after concurrent imports:\n%s\nbefore:\n%s", after, before)
	}
}
