package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/store"
)

// sqlState returns the SQLSTATE of err's PostgreSQL error, "" if none.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

func execAll(ctx context.Context, db *store.DB, scope, sql string, args ...any) error {
	return db.WithTx(ctx, scope, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
}

// TestMunicipalityReferences: decisions and cases name municipalities
// without foreign keys (0080), enforced per statement; a used key cannot be
// deleted or renamed.
func TestMunicipalityReferences(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	if _, err := db.Import(ctx, strings.NewReader(good1+"\n"), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	insertDecision := `INSERT INTO decisions (municipality, decision_id, case_id, law, valid_from, payee_channel,
		payee_name, payee_iban, persons, content_sha256, import_id)
		SELECT m, 'X-' || m, 'C-' || m, 'asylblg_3', '2026-01-01', 'sepa', 'A', 'DE89370400440532013000',
		       '[{"person_id":"P1"}]', sha256(m::bytea), 0
		FROM unnest($1::text[]) AS m`
	for _, tc := range []struct {
		name, sql string
		args      []any
		state     string
	}{
		{"decision of no municipality", insertDecision, []any{[]string{"luenen", "nowhere"}}, "23503"},
		{"decision of known municipalities", insertDecision, []any{[]string{"luenen", "unna"}}, ""},
		{"case of no municipality", `INSERT INTO cases (municipality, case_id) VALUES ('unna', 'C1'), ('nowhere', 'C2')`, nil, "23503"},
		{"case moved to no municipality", `UPDATE cases SET municipality = 'nowhere' WHERE case_id = 'LUE-000123'`, nil, "23503"},
		{"decision moved to no municipality", `UPDATE decisions SET municipality = 'nowhere' WHERE decision_id = 'LUE-B-000123-1'`, nil, "23503"},
		{"used municipality deleted", `DELETE FROM municipalities WHERE key = 'luenen'`, nil, "23503"},
	} {
		err := execAll(ctx, db, store.AllMunicipalities, tc.sql, tc.args...)
		if got := sqlState(err); got != tc.state {
			t.Errorf("%s: SQLSTATE %q (%v), want %q", tc.name, got, err, tc.state)
		}
		if tc.state == "23503" && !errors.Is(err, payrun.ErrConflict) {
			t.Errorf("%s: %v is not ErrConflict", tc.name, err)
		}
	}
	// A municipality whose only references are cases: its key cannot be
	// renamed or deleted until the cases are gone.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(execAll(ctx, db, store.AllMunicipalities, `INSERT INTO municipalities (key, name, kind, debtor_iban)
		VALUES ('testort', 'Testort', 'municipality', 'DE89370400440532013000')`))
	must(execAll(ctx, db, store.AllMunicipalities, `INSERT INTO cases (municipality, case_id) VALUES ('testort', 'T1')`))
	for _, q := range []string{`UPDATE municipalities SET key = 'testort2' WHERE key = 'testort'`, `DELETE FROM municipalities WHERE key = 'testort'`} {
		if err := execAll(ctx, db, store.AllMunicipalities, q); sqlState(err) != "23503" {
			t.Errorf("%s with a case: %v, want a foreign-key violation", q, err)
		}
	}
	must(execAll(ctx, db, store.AllMunicipalities, `UPDATE municipalities SET name = 'Testort (neu)' WHERE key = 'testort'`))
	must(execAll(ctx, db, store.AllMunicipalities, `DELETE FROM cases WHERE municipality = 'testort'`))
	must(execAll(ctx, db, store.AllMunicipalities, `DELETE FROM municipalities WHERE key = 'testort'`))
}

// TestIDChecksMatchPattern: 0080's id CHECK accepts exactly the strings the
// pattern of 0001 accepted, and refuses what payrun.ValidID refuses.
func TestIDChecksMatchPattern(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	ids := []string{"", "A", "LUE-B-000123-1", strings.Repeat("X", 35), strings.Repeat("X", 36), "a b", "a_b", "a\nb",
		"a\tb", "ä", "Müller", "é" + strings.Repeat("x", 34), "😀", "a'b", `a"b`, "(+?/:).,' -", "a\\b", "a%b",
		strings.Repeat("é", 35), "x\u00a0y", "ABCxyz0189"}
	var expr string
	err := db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
			WHERE conname = 'decisions_decision_id_check'`).Scan(&expr); err != nil {
			return err
		}
		// the constraint's own expression, applied to each id
		check := strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(expr, "CHECK ("), ")"), "decision_id", "s")
		rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT s, s ~ '^[A-Za-z0-9+?/:().,'' -]{1,35}$', %s FROM unnest($1::text[]) AS s`, check), ids)
		if err != nil {
			return err
		}
		var s string
		var old, cur bool
		_, err = pgx.ForEachRow(rows, []any{&s, &old, &cur}, func() error {
			if old != cur {
				t.Errorf("%q: pattern %v, constraint %v", s, old, cur)
			}
			if cur && !payrun.ValidID(s) {
				t.Errorf("%q: constraint accepts what ValidID refuses", s)
			}
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	if !strings.Contains(expr, "!~") {
		t.Errorf("constraint %s is not the character-class form of 0080", expr)
	}
}

// TestStatementGeneration: every statement that inserts or lowers cases
// draws one generation of recompute_gen after taking the municipality
// locks; all rows it writes carry it, later statements carry higher ones,
// raising recompute_from keeps a row's generation.
func TestStatementGeneration(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	gens := func(tx pgx.Tx, ids ...string) []int64 {
		t.Helper()
		rows, err := tx.Query(ctx, `SELECT recompute_gen FROM cases WHERE case_id = ANY ($1) ORDER BY case_id`, ids)
		if err != nil {
			t.Fatal(err)
		}
		g, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	err := db.WithTx(ctx, "luenen", func(tx pgx.Tx) error {
		var before int64
		if err := tx.QueryRow(ctx, `SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM recompute_gen`).Scan(&before); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO cases (municipality, case_id, recompute_from)
			VALUES ('luenen', 'A', '2026-05-01'), ('luenen', 'B', '2026-05-01'), ('luenen', 'C', '2026-05-01')`); err != nil {
			return err
		}
		g1 := gens(tx, "A", "B", "C")
		if g1[0] != g1[1] || g1[1] != g1[2] || g1[0] <= before {
			t.Errorf("one insert: generations %v (sequence was at %d), want one new generation", g1, before)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO cases (municipality, case_id, recompute_from) VALUES ('luenen', 'D', '2026-05-01')`); err != nil {
			return err
		}
		g2 := gens(tx, "D")
		if g2[0] <= g1[0] {
			t.Errorf("second insert: generation %d, first %d", g2[0], g1[0])
		}
		if _, err := tx.Exec(ctx, `UPDATE cases SET recompute_from = CASE case_id WHEN 'A' THEN '2026-03-01'::date
			WHEN 'B' THEN NULL ELSE '2026-09-01'::date END WHERE case_id IN ('A', 'B', 'C')`); err != nil {
			return err
		}
		g3 := gens(tx, "A", "B", "C")
		if g3[0] != g3[1] || g3[0] <= g2[0] || g3[2] != g1[2] {
			t.Errorf("update: generations %v (lowered A, B; raised C), before %v and %d", g3, g1, g2[0])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestImportGenerationAfterLock: an import waits for the municipality lock a
// run creation holds, and the cases it then writes carry generations above
// everything the run creation could see; a run created after the import
// sees them.
func TestImportGenerationAfterLock(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	if _, err := db.Import(ctx, strings.NewReader(good1+"\n"), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	// as after a signed run: the case is settled through 2026-12
	if err := execAll(ctx, db, "luenen", `UPDATE cases SET recompute_from = '2027-01-01'`); err != nil {
		t.Fatal(err)
	}
	locked, release := make(chan int64), make(chan struct{})
	holder := make(chan error, 1)
	go func() {
		holder <- db.WithTx(ctx, "luenen", func(tx pgx.Tx) error {
			var seen int64
			if _, err := tx.Exec(ctx, `SELECT payrun_lock_municipality('luenen')`); err != nil {
				return err
			}
			// what run creation reads under the lock
			if err := tx.QueryRow(ctx, `SELECT coalesce(max(recompute_gen), 0) FROM cases WHERE municipality = 'luenen'`).Scan(&seen); err != nil {
				return err
			}
			locked <- seen
			<-release
			return nil
		})
	}()
	seen := <-locked
	imported := make(chan error, 1)
	go func() {
		// good2 lowers LUE-000123 to 2026-11; a new case comes with it
		other := strings.NewReplacer("LUE-B-000123-1", "LUE-B-000900-1", "LUE-000123", "LUE-000900").Replace(good1)
		_, err := db.Import(ctx, strings.NewReader(good2+"\n"+other+"\n"), store.ImportOptions{})
		imported <- err
	}()
	select {
	case err := <-imported:
		t.Fatalf("the import finished (%v) while a run creation held the lock", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
	if err := <-imported; err != nil {
		t.Fatal(err)
	}
	err := db.WithTx(ctx, "luenen", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT case_id, recompute_from::text, recompute_gen FROM cases
			WHERE case_id IN ('LUE-000123', 'LUE-000900')`)
		if err != nil {
			return err
		}
		var id, from string
		var gen int64
		n := 0
		_, err = pgx.ForEachRow(rows, []any{&id, &from, &gen}, func() error {
			n++
			if gen <= seen {
				t.Errorf("case %s: generation %d, not above %d seen under the lock", id, gen, seen)
			}
			if id == "LUE-000123" && from != "2026-11-01" {
				t.Errorf("case %s: recompute_from %s, want 2026-11-01 (lowered by the import)", id, from)
			}
			return nil
		})
		if n != 2 {
			t.Errorf("cases: %d rows", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
