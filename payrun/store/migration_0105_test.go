package store_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/payrun/payrun/payrun/store"
	"github.com/payrun/payrun/payrun/store/storetest"
)

// migrateBelow makes an empty database, applies the migrations before
// version v as its owner and records them; it returns the database's URLs
// (application role, owner) and the owner's connection (closed at the end
// of the test).
func migrateBelow(tb testing.TB, v int) (appURL, adminURL string, admin *pgx.Conn) {
	tb.Helper()
	ctx := context.Background()
	appURL = storetest.NewEmptyURL(tb)
	adminURL = storetest.AdminURL(tb, appURL)
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { admin.Close(context.Background()) })
	ms, err := store.Migrations()
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		tb.Fatal(err)
	}
	for _, m := range ms {
		if m.Version >= v {
			break
		}
		if _, err := admin.Exec(ctx, m.SQL); err != nil {
			tb.Fatalf("migration %d: %v", m.Version, err)
		}
		if _, err := admin.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			tb.Fatal(err)
		}
	}
	return appURL, adminURL, admin
}

// setupRest applies the remaining migrations with store.Setup and opens
// the database as the application role.
func setupRest(tb testing.TB, adminURL, appURL string) *store.DB {
	tb.Helper()
	ctx := context.Background()
	u, err := url.Parse(appURL)
	if err != nil {
		tb.Fatal(err)
	}
	if err := store.Setup(ctx, adminURL, u.User.Username(), zap.NewNop()); err != nil {
		tb.Fatalf("migrate the rest: %v", err)
	}
	db, err := store.Open(ctx, appURL, zap.NewNop())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	return db
}

// TestPersonsJSONMigration: migration 0105 turns decisions.persons into
// json with the same content, and the check still refuses an empty list.
func TestPersonsJSONMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	appURL, adminURL, admin := migrateBelow(t, 105)
	const persons = `[{"name": "Eva Ö", "person_id": "P1", "birth_date": "1980-01-02", "needs_level": 1,
		"extra_needs": [{"kind": "disability", "percent": "35.00"}]}, {"person_id": "P2", "birth_date": "2015-06-30", "needs_level": 5}]`
	if _, err := admin.Exec(ctx, `SET session_replication_role = replica;
		INSERT INTO municipalities (key, name, kind, debtor_iban) VALUES ('unna', 'Unna', 'municipality', 'DE89370400440532013000')`); err != nil {
		t.Fatal(err)
	}
	setup := `INSERT INTO decisions (municipality, decision_id, case_id, law, valid_from, payee_channel, payee_name, payee_iban,
			persons, content_sha256, import_id)
		VALUES ('unna', 'D-1', 'C-1', 'sgb12_3', '2026-01-01', 'sepa', 'Eva Ö', 'DE89370400440532013000', $1::jsonb,
			sha256('x'), 1)`
	if _, err := admin.Exec(ctx, setup, persons); err != nil {
		t.Fatal(err)
	}
	var want string
	if err := admin.QueryRow(ctx, "SELECT persons::text FROM decisions").Scan(&want); err != nil {
		t.Fatal(err)
	}
	admin.Close(ctx)

	db := setupRest(t, adminURL, appURL)
	err := db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		var typ, got string
		var same bool
		if err := tx.QueryRow(ctx, `SELECT pg_typeof(persons)::text, persons::text, persons::jsonb = $1::jsonb FROM decisions`,
			persons).Scan(&typ, &got, &same); err != nil {
			return err
		}
		if typ != "json" || got != want || !same {
			t.Errorf("after 0105: %s %s (same content: %v), want json %s", typ, got, same, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE decisions SET persons = '[]'")
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "decisions_persons_check") {
		t.Fatalf("an empty persons list: %v, want the check to refuse it", err)
	}
}
