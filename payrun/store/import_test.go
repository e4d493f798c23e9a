package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/fixtures"
	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/store"
	"github.com/payrun/payrun/payrun/store/storetest"
)

// setup returns a fresh database with the fixture municipalities.
func setup(t testing.TB) *store.DB {
	t.Helper()
	db := storetest.NewDB(t)
	ms, err := fixtures.Municipalities()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.UpsertMunicipalities(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	return db
}

const good1 = `{"municipality":"luenen","decision_id":"LUE-B-000123-1","case_id":"LUE-000123","law":"asylblg_3","valid_from":"2026-01-01","valid_to":null,"persons":[{"person_id":"P1","name":"Amina Haddad","birth_date":"1990-04-02","needs_level":1}],"housing":{"rent":"420.00","heating":"75.00","pay_to":"landlord"},"countable_income":"0.00","payee":{"channel":"sepa","name":"Amina Haddad","iban":"DE89370400440532013000","bic":null},"landlord":{"name":"Wohnbau Lünen GmbH","iban":"DE02120300000000202051","reference":"Whg 12"}}`

const good2 = `{"municipality":"luenen","decision_id":"LUE-B-000123-2","case_id":"LUE-000123","supersedes":["LUE-B-000123-1"],"law":"asylblg_3","valid_from":"2026-11-15","valid_to":null,"persons":[{"person_id":"P1","name":"Amina Haddad","birth_date":"1990-04-02","needs_level":1,"extra_needs":[{"kind":"fixed","amount":"30.00"}]},{"person_id":"P2","name":"Samir Haddad","birth_date":"2019-06-30","needs_level":6}],"housing":{"rent":"420.00","heating":"75.00","pay_to":"beneficiary"},"countable_income":"12.50","payee":{"channel":"cash","name":"Amina Haddad","bic":null},"offset":{"reclaim_id":"LUE-R-77","monthly":"28.15","remaining":"300.00"}}`

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	err := db.WithTx(context.Background(), store.AllMunicipalities, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportGoodIdempotentAndConflict(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	file := good1 + "\n" + good2 + "\n"
	res, err := db.Import(ctx, strings.NewReader(file), store.ImportOptions{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if res.New != 2 || res.Lines != 2 {
		t.Fatalf("first import: %+v", res)
	}
	var rent payrun.Cents
	var recompute, validTo *string
	err = db.WithTx(ctx, "luenen", func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT d.rent, c.recompute_from::text, d.valid_to::text FROM decisions d JOIN cases c USING (municipality, case_id)
			WHERE decision_id = 'LUE-B-000123-1'`).Scan((*store.Amount)(&rent), &recompute, &validTo)
	})
	if err != nil {
		t.Fatal(err)
	}
	if rent != 42000 || recompute == nil || *recompute != "2026-01-01" || validTo != nil {
		t.Errorf("stored rent %s, recompute_from %v, valid_to %v", rent, recompute, validTo)
	}
	if n := count(t, db, "reclaims"); n != 1 {
		t.Errorf("reclaims: %d", n)
	}
	// The same file again: a no-op.
	res, err = db.Import(ctx, strings.NewReader(file), store.ImportOptions{Actor: "test"})
	if err != nil || res.New != 0 || res.Unchanged != 2 {
		t.Fatalf("re-import: %+v, %v", res, err)
	}
	if n := count(t, db, "decisions"); n != 2 {
		t.Fatalf("decisions after re-import: %d", n)
	}
	// Same id, other content: an error naming the line and decision.
	changed := strings.Replace(good1, `"420.00"`, `"430.00"`, 1)
	_, err = db.Import(ctx, strings.NewReader(changed+"\n"), store.ImportOptions{Actor: "test"})
	var fe *payrun.FieldError
	if !errors.As(err, &fe) || fe.Line != 1 || fe.Record != "LUE-B-000123-1" || fe.Field != "decision_id" {
		t.Fatalf("conflicting re-import: %v", err)
	}
	if n := count(t, db, "audit_events"); n != 2 {
		t.Errorf("audit events: %d, want 2 (one per successful import)", n)
	}
}

func TestImportBadLines(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	if _, err := db.Import(ctx, strings.NewReader(good1+"\n"), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer
	cases := []struct {
		name, line, field string
	}{
		{"json syntax", `{"municipality":"luenen",`, "(json)"},
		{"unknown field", strings.Replace(good2, `"law"`, `"lawx":1,"law"`, 1), "lawx (unknown field)"},
		{"unknown municipality", strings.Replace(good2, `"luenen"`, `"dortmund"`, 1), "municipality"},
		{"county is no municipality", strings.Replace(good2, `"luenen"`, `"kreis_unna"`, 1), "municipality"},
		{"id charset", strings.Replace(good2, `"LUE-B-000123-2"`, `"LUE_B_2"`, 1), "decision_id"},
		{"id too long", strings.Replace(good2, `"LUE-B-000123-2"`, `"`+strings.Repeat("X", 36)+`"`, 1), "decision_id"},
		{"unknown law", strings.Replace(good2, `"asylblg_3"`, `"sgb2"`, 1), "law"},
		{"bad date", strings.Replace(good2, `"2026-11-15"`, `"2026-02-30"`, 1), "valid_from"},
		{"valid_to before valid_from", strings.Replace(good2, `"valid_to":null`, `"valid_to":"2026-11-01"`, 1), "valid_to"},
		{"no persons", r(`"persons":[{"person_id":"P1","name":"Amina Haddad","birth_date":"1990-04-02","needs_level":1,"extra_needs":[{"kind":"fixed","amount":"30.00"}]},{"person_id":"P2","name":"Samir Haddad","birth_date":"2019-06-30","needs_level":6}]`, `"persons":[]`).Replace(good2), "persons"},
		{"needs level 7", strings.Replace(good2, `"needs_level":6`, `"needs_level":7`, 1), "persons[1].needs_level"},
		{"1a without fixed amount", strings.Replace(good2, `"asylblg_3"`, `"asylblg_1a"`, 1), "persons[0].needs_level"},
		{"statutory extra under asylblg_3", strings.Replace(good2, `{"kind":"fixed","amount":"30.00"}`, `{"kind":"pregnancy","percent":"17"}`, 1), "persons[0].extra_needs[0].kind"},
		{"three decimals", strings.Replace(good2, `"12.50"`, `"12.505"`, 1), "countable_income"},
		{"negative amount", strings.Replace(good2, `"12.50"`, `"-12.50"`, 1), "countable_income"},
		{"bad IBAN", strings.Replace(good1, `"DE89370400440532013000"`, `"DE89370400440532013001"`, 1), "payee.iban"},
		{"cash with IBAN", strings.Replace(good2, `"channel":"cash","name":"Amina Haddad"`, `"channel":"cash","name":"Amina Haddad","iban":"DE89370400440532013000"`, 1), "payee.iban"},
		{"landlord missing", strings.Replace(good2, `"pay_to":"beneficiary"`, `"pay_to":"landlord"`, 1), "landlord"},
		{"supersedes unknown", strings.Replace(good2, `["LUE-B-000123-1"]`, `["LUE-B-000999-1"]`, 1), "supersedes[0]"},
		{"overlap without supersedes", strings.Replace(good2, `"supersedes":["LUE-B-000123-1"],`, ``, 1), "valid_from"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			line := tc.line
			if !strings.Contains(tc.name, "json syntax") && !strings.Contains(tc.name, "bad IBAN") {
				line = strings.Replace(line, "LUE-B-000123-2", "LUE-B-000123-2", 1)
			}
			if strings.Contains(tc.name, "bad IBAN") {
				line = strings.Replace(line, "LUE-B-000123-1", "LUE-B-000124-1", 1)
				line = strings.Replace(line, "LUE-000123", "LUE-000124", 1)
			}
			// A good line first, so the bad one is line 2 and nothing of the
			// good one may be written.
			good := strings.NewReplacer("LUE-B-000123-1", "LUE-B-000500-1", "LUE-000123", "LUE-000500").Replace(good1)
			_, err := db.Import(ctx, strings.NewReader(good+"\n"+line+"\n"), store.ImportOptions{})
			var list payrun.ErrorList
			if !errors.As(err, &list) || !errors.Is(err, payrun.ErrInvalid) {
				t.Fatalf("want an ErrorList of invalid input, got %v", err)
			}
			found := false
			for _, e := range list {
				var fe *payrun.FieldError
				if errors.As(e, &fe) && fe.Line == 2 && fe.Field == tc.field {
					found = true
				}
			}
			if !found {
				t.Errorf("no error on line 2 field %s in:\n%v", tc.field, err)
			}
			if n := count(t, db, "decisions"); n != 1 {
				t.Errorf("decisions written: %d, want 1 (from setup)", n)
			}
		})
	}
}

func TestImportDuplicateInFile(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	res, err := db.Import(ctx, strings.NewReader(good1+"\n\n"+good1+"\n"), store.ImportOptions{})
	if err != nil || res.New != 1 || res.Unchanged != 1 {
		t.Fatalf("same line twice: %+v %v", res, err)
	}
	other := strings.Replace(good1, "Whg 12", "Whg 13", 1)
	_, err = db.Import(ctx, strings.NewReader(good2+"\n"+strings.Replace(good2, "12.50", "13.50", 1)+"\n"), store.ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("same id, other content in one file: %v", err)
	}
	_ = other
}

func TestRowLevelSecurity(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	unna := strings.NewReplacer(`"luenen"`, `"unna"`, "LUE-", "UNN-").Replace(good1)
	if _, err := db.Import(ctx, strings.NewReader(unna+"\n"+good1+"\n"), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	var super bool
	var seen []string
	err := db.WithTx(ctx, "luenen", func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT municipality FROM decisions UNION ALL SELECT municipality FROM cases UNION ALL SELECT key FROM municipalities")
		if err != nil {
			return err
		}
		seen, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE decisions SET payee_name = 'x' WHERE municipality = 'unna'")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if super {
		t.Fatal("the application role is a superuser or bypasses RLS")
	}
	if fmt.Sprint(seen) != "[luenen luenen luenen]" {
		t.Errorf("luenen session saw %v", seen)
	}
	// Without a scope nothing is visible.
	var n int
	if err := db.Pool().QueryRow(ctx, "SELECT count(*) FROM decisions").Scan(&n); err != nil || n != 0 {
		t.Errorf("unscoped session sees %d decisions (%v)", n, err)
	}
	// Writing another tenant's row is refused.
	err = db.WithTx(ctx, "luenen", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO cases (municipality, case_id) VALUES ('unna', 'UNN-X')")
		return err
	})
	if err == nil {
		t.Error("luenen session inserted an unna case")
	}
	var name string
	_ = db.WithTx(ctx, "unna", func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT payee_name FROM decisions").Scan(&name)
	})
	if name == "x" {
		t.Error("luenen session updated an unna decision")
	}
}

func TestMigrationsFromEmpty(t *testing.T) {
	t.Parallel()
	u := storetest.NewURL(t)
	ctx := context.Background()
	if err := store.Setup(ctx, storetest.AdminURL(t, u), storetest.Role, nil); err != nil { // again: a no-op
		t.Fatal(err)
	}
	db, err := store.Open(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, _ := store.Migrations()
	var applied int
	var rls []string
	err = db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&applied); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relrowsecurity AND c.relforcerowsecurity ORDER BY 1`)
		if err != nil {
			return err
		}
		rls, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(ms) {
		t.Errorf("applied %d migrations, embedded %d", applied, len(ms))
	}
	for _, want := range []string{"municipalities", "users", "decisions", "cases", "runs", "run_chunks", "signatures", "audit_events"} {
		found := false
		for _, r := range rls {
			found = found || r == want
		}
		if !found {
			t.Errorf("table %s lacks forced row-level security (have %v)", want, rls)
		}
	}
	// The view of the packed run lines applies the caller's row-level security.
	var opts []string
	err = db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT coalesce(reloptions, '{}') FROM pg_class WHERE relname = 'run_lines' AND relkind = 'v'").Scan(&opts)
	})
	if err != nil || len(opts) != 1 || opts[0] != "security_invoker=true" {
		t.Errorf("view run_lines: options %v, %v; want security_invoker=true", opts, err)
	}
	// A constraint: at most one proposed run per municipality.
	err = db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO municipalities (key, name, kind, debtor_iban) VALUES ('unna', 'Unna', 'municipality', 'DE89370400440532013000');
			INSERT INTO users (municipality, login) VALUES ('unna', 'system');
			INSERT INTO runs (municipality, kind, period, created_by) SELECT 'unna', 'monthly', '2026-12-01', id FROM users;
			INSERT INTO runs (municipality, kind, period, created_by) SELECT 'unna', 'monthly', '2026-12-01', id FROM users`)
		return err
	})
	if !errors.Is(err, payrun.ErrConflict) {
		t.Errorf("second proposed run: want ErrConflict, got %v", err)
	}
}
