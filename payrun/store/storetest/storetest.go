// Package storetest gives each test its own migrated PostgreSQL database,
// owned by a non-superuser role so that row-level security applies as in
// production. Databases are cloned from a template database built once per
// cluster and schema version (CREATE DATABASE … TEMPLATE is much faster than
// migrating) and dropped when the test ends. Parallel test processes share
// the cluster safely: the role and the template are created under an
// advisory lock.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/payrun/payrun/fixtures"
	"github.com/payrun/payrun/payrun/pgserver/pgtest"
	"github.com/payrun/payrun/payrun/store"
)

// Role and password of the application role tests connect as. It is a
// test-only credential on a test cluster.
const (
	Role     = "payrun_test"
	password = "payrun_test"
)

// setupVersion names the way templates are set up (2: migrated by the
// superuser, the application role only granted rows), so that a template
// built the old way is not reused.
const setupVersion = "s2"

// setupLockKey serialises role and template creation across processes.
const setupLockKey = 0x7061797275_6e02

// NewDB returns a connection pool, as the non-superuser application role, to
// a fresh migrated database that is dropped in tb.Cleanup.
func NewDB(tb testing.TB) *store.DB {
	tb.Helper()
	u := NewURL(tb)
	ctx := context.Background()
	db, err := store.Open(ctx, u, zap.NewNop())
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	tb.Cleanup(db.Close) // runs before the drop registered by NewURL
	return db
}

// NewURL creates a fresh migrated database (as NewDB) and returns the URL
// of the application role for it, e.g. for PAYRUN_DATABASE_URL in
// command-level tests.
func NewURL(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tmpl, err := ensureTemplate(ctx, pgtest.AdminURL(tb))
	if err != nil {
		tb.Fatalf("storetest: template: %v", err)
	}
	return newDatabase(tb, "TEMPLATE "+tmpl)
}

// NewEmptyURL creates an empty database (no migrations, owned by the
// superuser), dropped when the test ends, and returns the application
// role's URL for it.
func NewEmptyURL(tb testing.TB) string {
	tb.Helper()
	return newDatabase(tb, "")
}

// newDatabase creates a database with CREATE DATABASE options opts as the
// superuser, drops it in tb.Cleanup and returns the application role's URL.
func newDatabase(tb testing.TB, opts string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin := pgtest.AdminURL(tb)
	name := "payrun_t_" + randomHex(8)
	if err := adminExec(ctx, admin, strings.TrimSpace("CREATE DATABASE "+name+" "+opts)); err != nil {
		tb.Fatalf("storetest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := adminExec(ctx, admin, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			tb.Errorf("storetest: drop database %s: %v", name, err)
		}
	})
	u, err := roleURL(admin, name)
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	return u
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// roleURL returns admin with the application role's credentials and dbname.
func roleURL(admin, dbname string) (string, error) {
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("admin URL must be a postgres:// URL, got %q", admin)
	}
	u.User = url.UserPassword(Role, password)
	u.Path = "/" + dbname
	return u.String(), nil
}

func adminExec(ctx context.Context, admin, sql string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// ensureTemplate makes sure the application role and a migrated template
// database for the current schema exist, and returns the template's name.
func ensureTemplate(ctx context.Context, admin string) (string, error) {
	hash, err := store.SchemaHash()
	if err != nil {
		return "", err
	}
	tmpl := "payrun_tmpl_" + hash + "_" + setupVersion
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", tmpl).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return tmpl, nil
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(setupLockKey)); err != nil {
		return "", err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(setupLockKey)) //nolint:errcheck
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", tmpl).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return tmpl, nil
	}
	if err := ensureRole(ctx, conn); err != nil {
		return "", err
	}
	return tmpl, buildTemplate(ctx, conn, admin, tmpl)
}

func ensureRole(ctx context.Context, conn *pgx.Conn) error {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", Role).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err := conn.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '%s'", Role, password))
	return err
}

// buildTemplate migrates a database under a temporary name as the
// superuser (the schema owner), grants the application role its row
// privileges (store.GrantApp) and renames the database when complete, so
// that a crash never leaves a half-built template behind under the final
// name.
func buildTemplate(ctx context.Context, conn *pgx.Conn, admin, tmpl string) error {
	building := tmpl + "_building"
	if _, err := conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", building)); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s", building)); err != nil {
		return err
	}
	u, err := withDB(admin, building)
	if err != nil {
		return err
	}
	if err := store.Setup(ctx, u, Role, nil); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, tmpl))
	return err
}

// withDB returns the postgres:// URL u with database dbname.
func withDB(u, dbname string) (string, error) {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "postgres" && p.Scheme != "postgresql") {
		return "", fmt.Errorf("URL must be a postgres:// URL, got %q", u)
	}
	p.Path = "/" + dbname
	return p.String(), nil
}

// AdminURL returns the superuser's URL for the database of appURL (a URL
// from NewURL), for tests that must act as the schema owner: prepare
// tables the application role may not create, or tamper with rows the way
// only an administrator could.
func AdminURL(tb testing.TB, appURL string) string {
	tb.Helper()
	p, err := url.Parse(appURL)
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	u, err := withDB(pgtest.AdminURL(tb), p.Path[1:])
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	return u
}

// AdminExec runs sql as the superuser in the database of appURL.
func AdminExec(tb testing.TB, appURL, sql string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := adminExec(ctx, AdminURL(tb, appURL), sql); err != nil {
		tb.Fatalf("storetest: as superuser: %s: %v", sql, err)
	}
}

// LoadReference loads the fixtures' reference data into db: the
// municipalities, the rates and child supplements, the charts of accounts
// and the account rules (no users, no cases).
func LoadReference(tb testing.TB, db *store.DB) {
	tb.Helper()
	ctx := context.Background()
	ms, err := fixtures.Municipalities()
	if err == nil {
		err = db.UpsertMunicipalities(ctx, ms)
	}
	rates, rerr := fixtures.Rates()
	sup, serr := fixtures.ChildSupplements()
	if err = errors.Join(err, rerr, serr); err == nil {
		err = db.UpsertRates(ctx, rates, sup, "test")
	}
	accounts, err2 := fixtures.Accounts()
	if err = errors.Join(err, err2); err == nil {
		err = db.UpsertAccounts(ctx, accounts)
	}
	rules, err3 := fixtures.AccountRules()
	if err = errors.Join(err, err3); err == nil {
		err = db.UpsertAccountRules(ctx, rules)
	}
	if err != nil {
		tb.Fatalf("storetest: reference data: %v", err)
	}
}
