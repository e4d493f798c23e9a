package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/fixtures"
	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
	"github.com/payrun/payrun/payrun/export"
	"github.com/payrun/payrun/payrun/runs"
	"github.com/payrun/payrun/payrun/store"
	"github.com/payrun/payrun/payrun/store/storetest"
)

func rmust(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// reportSetup loads the fixtures (municipalities, rates, accounts, users)
// and imports n generated cases of m; it returns the imported decisions.
func reportSetup(t *testing.T, m string, n int) (*store.DB, []payrun.Decision) {
	t.Helper()
	ctx := context.Background()
	db := storetest.NewDB(t)
	storetest.LoadReference(t, db)
	for _, du := range fixtures.Users() {
		_, err := db.EnsureUser(ctx, du.User, "", du.Token, time.Now())
		rmust(t, err)
	}
	var ds []payrun.Decision
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for d := range fixtures.Generate(1, n, m) {
		ds = append(ds, d)
		rmust(t, enc.Encode(&d))
	}
	_, err := db.Import(ctx, &buf, store.ImportOptions{Actor: "test"})
	rmust(t, err)
	return db, ds
}

// personMonths counts, independently of calc, the distinct (law, case,
// person) of AsylbLG decisions in force on some day of month mo: a decision
// ends at its valid_to, or the day before a decision that supersedes it
// starts, whichever is earlier.
func personMonths(ds []payrun.Decision, mo payrun.Month) map[payrun.Law]int {
	type key struct{ law, caseID, person string }
	supersededFrom := map[string]payrun.Date{} // case/decision → first day of a superseder
	for _, d := range ds {
		for _, s := range d.Supersedes {
			k := d.CaseID + "/" + s
			if f, ok := supersededFrom[k]; !ok || d.ValidFrom < f {
				supersededFrom[k] = d.ValidFrom
			}
		}
	}
	seen := map[key]bool{}
	out := map[payrun.Law]int{}
	for _, d := range ds {
		if !d.Law.IsAsylbLG() {
			continue
		}
		last := mo.Last()
		if d.ValidTo != nil && *d.ValidTo < last {
			last = *d.ValidTo
		}
		if f, ok := supersededFrom[d.CaseID+"/"+d.DecisionID]; ok && f-1 < last {
			last = f - 1
		}
		first := max(d.ValidFrom, mo.First())
		if first > last {
			continue
		}
		for _, p := range d.Persons {
			k := key{string(d.Law), d.CaseID, p.PersonID}
			if !seen[k] {
				seen[k] = true
				out[d.Law]++
			}
		}
	}
	return out
}

func TestReportFlueAG(t *testing.T) {
	t.Parallel()
	const m = "bergkamen"
	db, ds := reportSetup(t, m, 300)
	from, to := payrun.MonthOf(2025, time.October), payrun.MonthOf(2026, time.December)
	r := booking.NewFlueAGReport()
	rmust(t, db.ReportFlueAG(context.Background(), m, from, to, r))
	rows := r.Rows()
	got := map[payrun.Month]booking.FlueAGMonth{}
	for _, row := range rows {
		if row.Municipality != m {
			t.Fatalf("row of %q", row.Municipality)
		}
		got[row.Month] = row
	}
	nonzero := 0
	for mo := from; mo <= to; mo++ {
		want := personMonths(ds, mo)
		g := got[mo]
		if g.AsylbLG3 != want[payrun.LawAsylbLG3] || g.AsylbLG2 != want[payrun.LawAsylbLG2] || g.AsylbLG1a != want[payrun.LawAsylbLG1a] ||
			g.Total != g.AsylbLG3+g.AsylbLG2+g.AsylbLG1a {
			t.Errorf("%s: report %+v, independent count %v", mo, g, want)
		}
		if g.Total > 0 {
			nonzero++
		}
	}
	t.Logf("%s: %+v", to, got[to])
	if nonzero == 0 {
		t.Fatal("no AsylbLG person-months at all: the test proves nothing")
	}
	// Another municipality's scope sees none of these decisions (RLS).
	other := booking.NewFlueAGReport()
	rmust(t, db.ReportFlueAG(context.Background(), "unna", from, to, other))
	for _, row := range other.Rows() {
		if row.Total != 0 {
			t.Fatalf("unna sees person-months: %+v", row)
		}
	}
}

func TestReport46a(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const m = "unna"
	db, _ := reportSetup(t, m, 80)
	period := payrun.MonthOf(2026, time.December)
	s, err := runs.Create(ctx, db, m, period, runs.Options{})
	rmust(t, err)
	for _, login := range []string{"pruefer", "leitung"} {
		d, err := db.RunDetails(ctx, m, s.ID, 0, 0)
		rmust(t, err)
		if _, err := runs.Sign(ctx, db, "demo-"+m+"-"+login, s.ID, d.Digest, time.Now()); err != nil {
			t.Fatalf("sign as %s: %v", login, err)
		}
	}
	// Before the export the run counts for nothing.
	r := booking.NewReport46a()
	rmust(t, db.Report46a(ctx, m, payrun.MonthOf(2026, time.January), payrun.MonthOf(2026, time.December), r))
	if rows := r.Rows(); len(rows) != 0 {
		t.Fatalf("report before export: %+v", rows)
	}
	cashier, err := db.UserByToken(ctx, store.TokenHash("demo-"+m+"-kasse"))
	rmust(t, err)
	dir := t.TempDir()
	man, err := export.Run(ctx, db, s.ID, dir, export.Options{Municipality: m, ActorID: cashier.ID, Actor: cashier.Login, BookingsJSON: true})
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	// The account rules change after the export: the report books with
	// the rules the journal was exported with (the totals by kind would
	// not change, but a rule moved to another cost bearer would).
	rmust(t, db.WithTx(ctx, "*", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE account_rules SET account = '1' || account`)
		return err
	}))

	// Σ of the run's bund_46a lines: payments (expense, income deducted)
	// minus receipts (new overpayments, offsets), all signed.
	var sum, payments payrun.Cents
	rmust(t, db.WithTx(ctx, m, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT coalesce((sum(amount) * 100)::bigint, 0),
			coalesce((sum(amount) FILTER (WHERE kind = 'payment' AND component <> 'offset') * 100)::bigint, 0)
			FROM run_lines WHERE municipality = $1 AND run_id = $2 AND cost_bearer = 'bund_46a'`, m, s.ID).Scan(&sum, &payments)
	}))
	if payments == 0 {
		t.Fatal("the run has no bund_46a payment lines: the test proves nothing")
	}

	r = booking.NewReport46a()
	rmust(t, db.Report46a(ctx, m, payrun.MonthOf(2026, time.January), payrun.MonthOf(2026, time.December), r))
	rows := r.Rows()
	if len(rows) != 1 {
		t.Fatalf("want one quarter, got %+v", rows)
	}
	q := rows[0]
	t.Logf("%+v", q)
	if q.Municipality != m || q.Year != 2026 || q.Quarter != 4 {
		t.Fatalf("quarter %+v", q)
	}
	if q.Net != sum || q.Net != q.Expenses-q.Overpayments-q.OffsetRevenue {
		t.Fatalf("net %s (expenses %s, overpayments %s, offset revenue %s), Σ bund_46a lines %s",
			q.Net, q.Expenses, q.Overpayments, q.OffsetRevenue, sum)
	}
	if q.Expenses != payments {
		t.Fatalf("expenses %s, Σ bund_46a payment lines without offsets %s", q.Expenses, payments)
	}
	if q.CallOffFrom != payrun.NewDate(2027, time.January, 1) || q.CallOffTo != payrun.NewDate(2027, time.February, 28) {
		t.Fatalf("call-off window %s–%s", q.CallOffFrom, q.CallOffTo)
	}

	// The same journal stored as rows before migration 0085
	// (booking_lines) reports the same.
	var jsonl string
	for _, f := range man.Files {
		if f.Kind == export.KindBookingsJSON {
			jsonl = filepath.Join(dir, f.Name)
		}
	}
	data, err := os.ReadFile(jsonl)
	rmust(t, err)
	rmust(t, db.WithTx(ctx, m, func(tx pgx.Tx) error {
		for _, q := range []string{`DELETE FROM booking_journal_pages WHERE run_id = $1`, `DELETE FROM booking_journals WHERE run_id = $1`} {
			if _, err := tx.Exec(ctx, q, s.ID); err != nil {
				return err
			}
		}
		n := 0
		for _, rec := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if strings.HasPrefix(rec, `{"record":"booking"`) {
				n++
				if _, err := tx.Exec(ctx, `INSERT INTO booking_lines (municipality, run_id, n, record) VALUES ($1, $2, $3, $4)`, m, s.ID, n, rec); err != nil {
					return err
				}
			}
		}
		return nil
	}))
	legacy := booking.NewReport46a()
	rmust(t, db.Report46a(ctx, m, payrun.MonthOf(2026, time.January), payrun.MonthOf(2026, time.December), legacy))
	if lr := legacy.Rows(); len(lr) != 1 || lr[0] != q {
		t.Errorf("from booking_lines rows: %+v, from the run lines %+v", lr, q)
	}

	// Another year is empty.
	r = booking.NewReport46a()
	rmust(t, db.Report46a(ctx, m, payrun.MonthOf(2025, time.January), payrun.MonthOf(2025, time.December), r))
	if rows := r.Rows(); len(rows) != 0 {
		t.Fatalf("2025: %+v", rows)
	}
}
