package pgtest_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun/pgserver/pgtest"
)

func query(t *testing.T, connURL, sql string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func TestAdminURLIsSuperuser(t *testing.T) {
	t.Parallel()
	u := pgtest.AdminURL(t)
	if got := query(t, u, "SELECT current_database() || ' ' || rolsuper::text FROM pg_roles WHERE rolname = current_user"); got != "postgres true" {
		t.Errorf("AdminURL connects to %q, want database postgres as superuser", got)
	}
}

func TestNewDatabaseIsDroppedAfterTheTest(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("inner", func(t *testing.T) {
		u := pgtest.NewDatabase(t)
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		name = strings.TrimPrefix(parsed.Path, "/")
		if got := query(t, u, "SELECT current_database()"); got != name {
			t.Errorf("NewDatabase URL connects to %q, want %q", got, name)
		}
		if other := pgtest.NewDatabase(t); other == u {
			t.Errorf("two NewDatabase calls gave the same URL %s", u)
		}
	})
	got := query(t, pgtest.AdminURL(t), "SELECT count(*)::text FROM pg_database WHERE datname = $1", name)
	if got != "0" {
		t.Errorf("database %s still exists after its test ended", name)
	}
}
