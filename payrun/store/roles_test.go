package store_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun/store"
	"github.com/payrun/payrun/payrun/store/storetest"
)

// TestAppRoleCannotBypassGuards: the application role reads and writes
// rows but cannot switch off, drop or sidestep the triggers that enforce
// four-eyes, frozen lines and the audit trail (issue 4).
func TestAppRoleCannotBypassGuards(t *testing.T) {
	t.Parallel()
	u := storetest.NewURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	refused := []struct{ name, sql, want string }{
		{"disable signature triggers", `ALTER TABLE signatures DISABLE TRIGGER USER`, "must be owner"},
		{"disable one trigger", `ALTER TABLE runs DISABLE TRIGGER runs_guard`, "must be owner"},
		{"disable all triggers", `ALTER TABLE run_lines DISABLE TRIGGER ALL`, "must be owner"},
		{"drop trigger", `DROP TRIGGER signatures_check ON signatures`, "must be owner"},
		{"replace trigger function", `CREATE OR REPLACE FUNCTION payrun_signature_check() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`, "must be owner"},
		{"replica mode skips triggers", `SET session_replication_role = replica`, "permission denied"},
		{"truncate signatures", `TRUNCATE signatures`, "permission denied"},
		{"update audit trail", `UPDATE audit_events SET actor = 'mallory'`, "permission denied"},
		{"delete signatures", `DELETE FROM signatures`, "permission denied"},
		{"create own trigger", `CREATE TRIGGER x BEFORE INSERT ON signatures FOR EACH ROW EXECUTE FUNCTION payrun_refuse_truncate()`, "permission denied"},
		{"create table in schema", `CREATE TABLE public.x (a int)`, "permission denied"},
		{"disable row-level security", `ALTER TABLE runs NO FORCE ROW LEVEL SECURITY`, "must be owner"},
		{"fake a migration", `INSERT INTO schema_migrations (version, name) VALUES (9999, 'x')`, "permission denied"},
	}
	for _, c := range refused {
		_, err := conn.Exec(ctx, c.sql)
		if err == nil || !(strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "permission denied")) {
			t.Errorf("%s: %q as the application role: got %v, want an error containing %q", c.name, c.sql, err, c.want)
		}
	}
	// and it still does its work: rows in, rows out
	if _, err := conn.Exec(ctx, `SELECT set_config('payrun.municipality', '*', false)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO municipalities (key, name, kind, debtor_iban) VALUES ('testort', 'Testort', 'municipality', 'DE02120300000000202051')`); err != nil {
		t.Fatalf("the application role cannot insert rows: %v", err)
	}
}

// TestOpenRefusesUnsafeRoles: a superuser, or a role that owns the
// tables (a database set up before the owner/application split), is
// refused by Open; Setup as the owner hands the tables over, after which
// the same role is accepted and can no longer disable triggers.
func TestOpenRefusesUnsafeRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := storetest.NewURL(t)
	admin := storetest.AdminURL(t, u)
	if _, err := store.Open(ctx, admin, nil); !errors.Is(err, store.ErrUnsafeAppRole) {
		t.Fatalf("Open as the superuser: got %v, want ErrUnsafeAppRole", err)
	}

	// A legacy database: role owner_app created and owns the schema.
	const role = "payrun_t_legacy"
	storetest.AdminExec(t, u, `DROP ROLE IF EXISTS `+role)
	storetest.AdminExec(t, u, `CREATE ROLE `+role+` LOGIN PASSWORD 'legacy'`)
	legacyURL := storetest.NewEmptyURL(t)
	storetest.AdminExec(t, legacyURL, `GRANT ALL ON SCHEMA public TO `+role)
	t.Cleanup(func() {
		storetest.AdminExec(t, legacyURL, `REASSIGN OWNED BY `+role+` TO CURRENT_USER; DROP OWNED BY `+role)
		storetest.AdminExec(t, u, `DROP ROLE IF EXISTS `+role)
	})
	lu, _ := url.Parse(legacyURL)
	lu.User = url.UserPassword(role, "legacy")
	legacy, err := pgx.Connect(ctx, lu.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	legacy.Close(ctx)
	if _, err := store.Open(ctx, lu.String(), nil); !errors.Is(err, store.ErrUnsafeAppRole) {
		t.Fatalf("Open as the owner of the tables: got %v, want ErrUnsafeAppRole", err)
	}
	if err := store.Setup(ctx, storetest.AdminURL(t, legacyURL), role, nil); err != nil {
		t.Fatalf("Setup hands the tables to the owner: %v", err)
	}
	db, err := store.Open(ctx, lu.String(), nil)
	if err != nil {
		t.Fatalf("Open after Setup: %v", err)
	}
	defer db.Close()
	if _, err := db.Pool().Exec(ctx, `ALTER TABLE signatures DISABLE TRIGGER USER`); err == nil || !strings.Contains(err.Error(), "must be owner") {
		t.Fatalf("after Setup the former owner still disables triggers: %v", err)
	}
	if err := store.Setup(ctx, lu.String(), role, nil); !errors.Is(err, store.ErrUnsafeAppRole) {
		t.Fatalf("Setup with the application role as owner: got %v, want ErrUnsafeAppRole", err)
	}
}
