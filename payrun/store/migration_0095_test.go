package store_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun/store"
)

// legacyLines are run lines as the table before migration 0095 held them:
// municipality, run, case, month, payee, component, kind, amount, law,
// cost bearer, decision, reclaim ("" = NULL).
var legacyLines = [][]string{
	{"unna", "1", "C-1", "2026-11-01", "beneficiary", "regular", "payment", "563.00", "asylblg_3", "fluag", "D-1", ""},
	{"unna", "1", "C-1", "2026-11-01", "beneficiary", "offset", "payment", "-20.50", "asylblg_3", "fluag", "D-1", "R-1"},
	{"unna", "1", "C-1", "2026-10-01", "landlord", "rent", "payment", "400.00", "asylblg_3", "fluag", "D-1", ""},
	{"unna", "1", "C-1", "2026-11-01", "landlord", "rent", "overpayment", "-0.05", "asylblg_3", "fluag", "", ""},
	{"unna", "1", "C 2/x", "2026-11-01", "beneficiary", "regular", "payment", "0.00", "sgb12_4", "bund_46a", "D (2)", ""},
	{"unna", "2", "C-1", "2026-12-01", "beneficiary", "regular", "payment", "563.00", "asylblg_3", "fluag", "D-1", ""},
	{"werne", "3", "W-9", "2026-12-01", "beneficiary", "heating", "payment", "12345678901.99", "sgb12_3", "municipality", "D-9", ""},
}

// TestPackedLinesMigration: migration 0095 converts the lines of an older
// database into packed rows, and the run_lines view gives back exactly the
// old rows; the runs' payment groups are filled in.
func TestPackedLinesMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	appURL, adminURL, admin := migrateBelow(t, 95)
	// Fixture rows as they could be at version 0090 (guards off for the
	// setup: lines of signed runs cannot be inserted otherwise).
	setup := `SET session_replication_role = replica;
		INSERT INTO municipalities (key, name, kind, debtor_iban) VALUES
			('unna', 'Unna', 'municipality', 'DE89370400440532013000'), ('werne', 'Werne', 'municipality', 'DE89370400440532013000');
		INSERT INTO users (municipality, login) VALUES ('unna', 'system'), ('werne', 'system');
		INSERT INTO runs (municipality, id, kind, period, state, created_by)
			OVERRIDING SYSTEM VALUE SELECT m, i, 'monthly', p::date, s, (SELECT id FROM users u WHERE u.municipality = m)
			FROM (VALUES ('unna', 1, '2026-11-01', 'exported'), ('unna', 2, '2026-12-01', 'proposed'),
			             ('werne', 3, '2026-12-01', 'released')) v(m, i, p, s);`
	if _, err := admin.Exec(ctx, setup); err != nil {
		t.Fatal(err)
	}
	for _, l := range legacyLines {
		if _, err := admin.Exec(ctx, `INSERT INTO run_lines VALUES ($1, $2::bigint, $3, $4::date, $5, $6, $7, $8::numeric, $9, $10,
			nullif($11, ''), nullif($12, ''))`, l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7], l[8], l[9], l[10], l[11]); err != nil {
			t.Fatalf("legacy line %v: %v", l, err)
		}
	}
	admin.Close(ctx)

	db := setupRest(t, adminURL, appURL)

	var got []string
	payments := map[int64]int64{}
	packed := map[string]string{}
	err := db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT municipality, run_id::text, case_id, month::text, payee_role, component, kind,
			amount::text, law, cost_bearer, coalesce(decision_id, ''), coalesce(reclaim_id, '') FROM run_lines`)
		if err != nil {
			return err
		}
		var r [12]string
		dest := make([]any, 12)
		for i := range r {
			dest[i] = &r[i]
		}
		if _, err := pgx.ForEachRow(rows, dest, func() error { got = append(got, strings.Join(r[:], ",")); return nil }); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, "SELECT id, payments FROM runs")
		if err != nil {
			return err
		}
		var id, n int64
		if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { payments[id] = n; return nil }); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, "SELECT run_id::text || '/' || case_id, first_month::text || ' ' || last_month::text || ' ' || line_count::text || ' ' || lines FROM run_case_lines")
		if err != nil {
			return err
		}
		var k, v string
		_, err = pgx.ForEachRow(rows, []any{&k, &v}, func() error { packed[k] = v; return nil })
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range legacyLines {
		want = append(want, strings.Join(l, ","))
	}
	sort.Strings(got)
	sort.Strings(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("run_lines after the migration:\n got %q\nwant %q", got, want)
	}
	// Run 1: C-1 beneficiary 542.50 and landlord 400.00 (the overpayment is
	// not a payment), C 2/x 0.00 is no payment: 2 groups.
	if payments[1] != 2 || payments[2] != 1 || payments[3] != 1 {
		t.Errorf("payments per run: %v, want 1:2 2:1 3:1", payments)
	}
	wantC1 := "2026-10-01 2026-11-01 4 2026-10|landlord|rent|payment|400.00|asylblg_3|fluag|D-1|;" +
		"2026-11|beneficiary|regular|payment|563.00|asylblg_3|fluag|D-1|;" +
		"2026-11|beneficiary|offset|payment|-20.50|asylblg_3|fluag|D-1|R-1;" +
		"2026-11|landlord|rent|overpayment|-0.05|asylblg_3|fluag||"
	if packed["1/C-1"] != wantC1 {
		t.Errorf("packed C-1 of run 1:\n got %q\nwant %q", packed["1/C-1"], wantC1)
	}
	// Migration 0135: run 1 is one chunk of its two cases in byte order,
	// its offset line repeated in the offsets column.
	var first, last, offsets string
	var cases, lines int
	err = db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT first_case, last_case, cases, line_count, offsets FROM run_chunks WHERE run_id = 1`).
			Scan(&first, &last, &cases, &lines, &offsets)
	})
	if err != nil {
		t.Fatal(err)
	}
	wantOffsets := "C-1\t2026-11|beneficiary|offset|payment|-20.50|asylblg_3|fluag|D-1|R-1"
	if first != "C 2/x" || last != "C-1" || cases != 2 || lines != 5 || offsets != wantOffsets {
		t.Errorf("chunk of run 1: %q..%q, %d cases, %d lines, offsets %q; want \"C 2/x\"..\"C-1\", 2, 5, %q",
			first, last, cases, lines, offsets, wantOffsets)
	}
}
