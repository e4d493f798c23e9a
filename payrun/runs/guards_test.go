package runs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payrun/payrun/fixtures"
	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/runs"
)

// sqlAs runs sql as the application role in municipality m's scope and
// returns the SQLSTATE of its error ("" when it succeeded).
func (b *bundle) sqlAs(t *testing.T, m, sql string, args ...any) string {
	t.Helper()
	err := b.db.WithTx(context.Background(), m, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), sql, args...)
		return err
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return ""
}

func TestOnePersonWithBothRolesCannotRelease(t *testing.T) {
	t.Parallel()
	b := setup(t, 20, "unna")
	ctx := context.Background()
	solo := payrun.User{Municipality: "unna", Login: "solo", Roles: []payrun.RoleGrant{
		{Role: payrun.RoleChecker}, {Role: payrun.RoleApprover, Limit: 10_000_000_00}}}
	soloID, err := b.db.AddUser(ctx, solo, "", token("unna", "solo"), time.Now())
	must(t, err)
	s := b.create(t, "unna")
	must(t, b.sign(t, "unna", "solo", s.ID))
	// the Go API
	if err := b.sign(t, "unna", "solo", s.ID); !errors.Is(err, payrun.ErrSameSigner) {
		t.Fatalf("API: second signature by the same person: %v", err)
	}
	// hand-written SQL through the application's role
	for _, c := range []struct{ name, sql string }{
		{"second signature by the same person",
			`INSERT INTO signatures (municipality, run_id, seq, user_id, role, digest) SELECT 'unna', $1, 2, $2, 'approver', digest FROM runs WHERE id = $1`},
		{"release without a second signature", `UPDATE runs SET state = 'released' WHERE id = $1 AND $2::bigint > 0`},
		{"back to proposed", `UPDATE runs SET state = 'proposed' WHERE id = $1 AND $2::bigint > 0`},
		{"remove the first signature", `DELETE FROM signatures WHERE run_id = $1 AND $2::bigint > 0`},
		{"change the signer", `UPDATE signatures SET user_id = user_id WHERE run_id = $1 AND $2::bigint > 0`},
		{"change a signed line", `UPDATE run_chunks SET lines = replace(lines, '|payment|', '|payment|1') WHERE run_id = $1 AND $2::bigint > 0`},
		{"delete a signed line", `DELETE FROM run_chunks WHERE run_id = $1 AND $2::bigint > 0`},
		{"add a line to a signed run", `INSERT INTO run_chunks SELECT municipality, run_id, 'ZZ-1', 'ZZ-1', 1, 1,
			'ZZ-1' || E'\t' || '2026-12|beneficiary|regular|payment|1.00|sgb12_3|municipality||', ''
			FROM run_chunks WHERE run_id = $1 AND $2::bigint > 0 LIMIT 1`},
		{"change the digest", `UPDATE runs SET digest = sha256('x') WHERE id = $1 AND $2::bigint > 0`},
		{"insert a released run", `INSERT INTO runs (municipality, kind, period, state, created_by) VALUES ('unna', 'supplementary', '2026-12-01', 'released', $2) RETURNING $1::bigint`},
		{"truncate lines", `TRUNCATE run_chunks`},
		// the guards themselves belong to the schema owner, not to the
		// application role (issue 4: no SQL typed by hand switches them off)
		{"switch off the signature triggers", `ALTER TABLE signatures DISABLE TRIGGER USER`},
		{"switch off the run lifecycle trigger", `ALTER TABLE runs DISABLE TRIGGER runs_guard`},
		{"drop the four-eyes trigger", `DROP TRIGGER signatures_check ON signatures`},
		{"skip triggers by replication mode", `SET session_replication_role = replica`},
		{"replace the four-eyes function", `CREATE OR REPLACE FUNCTION payrun_signature_check() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`},
	} {
		sql := c.sql
		var code string
		if !strings.Contains(sql, "$1") {
			code = b.sqlAs(t, "unna", sql)
		} else {
			code = b.sqlAs(t, "unna", sql, s.ID, soloID)
		}
		switch {
		case code == "":
			t.Errorf("%s: the database accepted it", c.name)
		case code[:2] == "PR", code == "23505":
			// a run rule or the unique signer constraint refused it
		case code == "42501":
			// insufficient privilege: the application role may not do it at all
		default:
			t.Errorf("%s: refused with SQLSTATE %s, want a run rule (PR…) or insufficient privilege (42501)", c.name, code)
		}
	}
	// and the second signature by the same person still fails afterwards
	if code := b.sqlAs(t, "unna", `INSERT INTO signatures (municipality, run_id, seq, user_id, role, digest) SELECT 'unna', $1, 2, $2, 'approver', digest FROM runs WHERE id = $1`, s.ID, soloID); code != "PR001" && code != "23505" {
		t.Errorf("second signature by the same person after the attempts: SQLSTATE %q", code)
	}
	d, err := b.db.RunDetails(ctx, "unna", s.ID, 0, 0)
	must(t, err)
	if d.State != payrun.RunEstablished || len(d.Signatures) != 1 {
		t.Fatalf("state %s with %d signatures, want established with 1", d.State, len(d.Signatures))
	}
	ok, err := runs.VerifyDigest(ctx, b.db, "unna", s.ID)
	must(t, err)
	if !ok {
		t.Fatal("signed lines changed")
	}
	// another person may release
	must(t, b.sign(t, "unna", "chef", s.ID))
}

func TestProposedLinesChangedByHandCannotBeSigned(t *testing.T) {
	t.Parallel()
	b := setup(t, 10, "werne")
	s := b.create(t, "werne")
	d, err := b.db.RunDetails(context.Background(), "werne", s.ID, 0, 0)
	must(t, err)
	if code := b.sqlAs(t, "werne", `UPDATE run_chunks SET lines = replace(lines, '|payment|', '|payment|1') WHERE run_id = $1`, s.ID); code != "" {
		t.Fatalf("proposed lines: %s", code)
	}
	if _, err := runsSign(b.db, token("werne", "pruefer"), s.ID, d.Digest); !errors.Is(err, payrun.ErrRunChanged) {
		t.Fatalf("signing over the old digest after a change: %v", err)
	}
}

func TestCancelGivesCaseMonthsBack(t *testing.T) {
	t.Parallel()
	b := setup(t, 30, "bergkamen")
	ctx := context.Background()
	s1 := b.create(t, "bergkamen")
	must(t, b.sign(t, "bergkamen", "pruefer", s1.ID))
	must(t, b.sign(t, "bergkamen", "chef", s1.ID))
	if _, err := runs.Create(ctx, b.db, "bergkamen", period, runs.Options{}); !errors.Is(err, payrun.ErrNothingToPay) {
		t.Fatalf("after release: %v", err)
	}
	if err := runs.Cancel(ctx, b.db, token("bergkamen", "kasse"), s1.ID, time.Now()); !errors.Is(err, payrun.ErrForbidden) {
		t.Fatalf("cashier cancels: %v", err)
	}
	must(t, runs.Cancel(ctx, b.db, token("bergkamen", "admin"), s1.ID, time.Now()))
	s2 := b.create(t, "bergkamen")
	if s2.ID == s1.ID || s2.Total != s1.Total || s2.Lines != s1.Lines || string(s2.Digest) != string(s1.Digest) {
		t.Fatalf("after cancel: run %d total %s lines %d; cancelled run %d total %s lines %d",
			s2.ID, s2.Total, s2.Lines, s1.ID, s1.Total, s1.Lines)
	}
	if s2.Kind != payrun.RunMonthly {
		t.Fatalf("kind %s, want monthly (the monthly run was cancelled)", s2.Kind)
	}
	must(t, b.sign(t, "bergkamen", "pruefer", s2.ID))
	must(t, b.sign(t, "bergkamen", "chef", s2.ID))
	b.checkExactlyOnce(t, "bergkamen", period)
}

func TestArrearsAfterSupersedingDecision(t *testing.T) {
	t.Parallel()
	b := setup(t, 40, "schwerte")
	ctx := context.Background()
	s1 := b.create(t, "schwerte")
	must(t, b.sign(t, "schwerte", "pruefer", s1.ID))
	must(t, b.sign(t, "schwerte", "chef", s1.ID))
	// two changes back in time: more rent from August, less income from September
	var up, down payrun.Decision
	for _, ds := range b.decisions {
		d := ds[len(ds)-1]
		if len(ds) != 1 || d.ValidTo != nil || d.ValidFrom >= payrun.MonthOf(2026, time.July).First() {
			continue
		}
		switch {
		case up.CaseID == "" && d.Housing != nil:
			up = d
		case down.CaseID == "" && d.Housing == nil && d.Offset == nil:
			down = d
		}
	}
	if up.CaseID == "" || down.CaseID == "" {
		t.Fatal("fixtures lack the cases this test needs")
	}
	n1 := supersede(up, payrun.MonthOf(2026, time.August).First())
	h := *n1.Housing
	h.Rent += 50_00
	n1.Housing = &h
	n2 := supersede(down, payrun.MonthOf(2026, time.September).First())
	n2.CountableIncome += 1_000_00 // more income: an overpayment for the paid months
	b.importDecisions(t, n1, n2)
	s2 := b.create(t, "schwerte")
	if s2.Kind != payrun.RunSupplementary {
		t.Fatalf("kind %s, want supplementary", s2.Kind)
	}
	d, err := b.db.RunDetails(ctx, "schwerte", s2.ID, 100, 0)
	must(t, err)
	var rent payrun.Cents
	overpaid := false
	for _, l := range d.FirstLines {
		if l.CaseID == up.CaseID && l.Component == payrun.CompRent {
			rent += l.Amount
		}
		if l.CaseID == down.CaseID && l.Kind == payrun.LineOverpayment {
			overpaid = true
		}
	}
	if rent != 5*50_00 {
		t.Errorf("rent arrears of %s: %s, want 250.00 (Aug–Dec)", up.CaseID, rent)
	}
	if !overpaid || s2.Overpayments <= 0 {
		t.Errorf("income rise of %s: no overpayment recorded (overpayments %s)", down.CaseID, s2.Overpayments)
	}
	must(t, b.sign(t, "schwerte", "pruefer", s2.ID))
	must(t, b.sign(t, "schwerte", "chef", s2.ID))
	b.checkExactlyOnce(t, "schwerte", period)
}

func supersede(d payrun.Decision, from payrun.Date) payrun.Decision {
	n := d
	n.DecisionID = d.DecisionID + "-n"
	n.Supersedes = []string{d.DecisionID}
	n.ValidFrom = from
	return n
}

func TestTenancy(t *testing.T) {
	t.Parallel()
	b := setup(t, 10, "unna", "luenen")
	ctx := context.Background()
	s := b.create(t, "unna")
	for _, table := range []string{"runs", "run_lines", "run_case_lines", "run_chunks", "decisions", "cases", "users", "api_tokens", "audit_events", "run_warnings", "municipalities"} {
		var n int64
		must(t, b.db.WithTx(ctx, "luenen", func(tx pgx.Tx) error {
			col := "municipality"
			if table == "municipalities" {
				col = "key"
			}
			return tx.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE "+col+" = 'unna'").Scan(&n)
		}))
		if n != 0 {
			t.Errorf("a Lünen session sees %d Unna rows of %s", n, table)
		}
	}
	if _, err := b.db.RunDetails(ctx, "luenen", s.ID, 0, 0); !errors.Is(err, payrun.ErrNotFound) {
		t.Errorf("Lünen reads Unna's run: %v", err)
	}
	// a Lünen checker cannot sign Unna's run
	if _, err := runsSign(b.db, token("luenen", "pruefer"), s.ID, ""); !errors.Is(err, payrun.ErrNotFound) {
		t.Errorf("Lünen checker signs Unna's run: %v", err)
	}
	if code := b.sqlAs(t, "luenen", `UPDATE run_chunks SET lines = replace(lines, '|payment|', '|payment|1') WHERE municipality = 'unna'`); code != "" {
		t.Fatalf("update: %s", code)
	}
	ok, err := runs.VerifyDigest(ctx, b.db, "unna", s.ID)
	must(t, err)
	if !ok {
		t.Error("a Lünen session changed Unna's lines")
	}
}

func TestRateChangeRecomputesPaidMonths(t *testing.T) {
	t.Parallel()
	b := setup(t, 25, "luenen")
	ctx := context.Background()
	s1 := b.create(t, "luenen")
	must(t, b.sign(t, "luenen", "pruefer", s1.ID))
	must(t, b.sign(t, "luenen", "chef", s1.ID))
	// the same rates again: no change, nothing to pay
	rates, err := fixtures.Rates()
	must(t, err)
	sup, err := fixtures.ChildSupplements()
	must(t, err)
	must(t, b.db.UpsertRates(ctx, rates, sup, "test"))
	if _, err := runs.Create(ctx, b.db, "luenen", period, runs.Options{}); !errors.Is(err, payrun.ErrNothingToPay) {
		t.Fatalf("after an unchanged upsert: %v", err)
	}
	// a higher AsylbLG § 3a level-1 rate from October 2026
	extra := payrun.Rate{Table: payrun.TableAsylbLG3a, NeedsLevel: 1, ValidFrom: payrun.MonthOf(2026, time.October).First(), Amount: 600_00}
	must(t, b.db.UpsertRates(ctx, []payrun.Rate{extra}, nil, "test"))
	s2 := b.create(t, "luenen")
	if s2.Total <= 0 {
		t.Fatalf("rate rise: total %s", s2.Total)
	}
	must(t, b.sign(t, "luenen", "pruefer", s2.ID))
	must(t, b.sign(t, "luenen", "chef", s2.ID))
	b.extraRates = append(b.extraRates, extra)
	b.checkExactlyOnce(t, "luenen", period)
}
