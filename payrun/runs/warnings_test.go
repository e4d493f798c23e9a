package runs_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/runs"
)

// expectedWarningsSQL computes a run's warnings independently of the run
// build: straight from its stored payment lines joined with their decisions
// (the form the warnings had before the build staged the payee groups).
// $1 municipality, $2 run, $3 the month before the period.
const expectedWarningsSQL = `
WITH pay AS (
    SELECT l.case_id, l.payee_role, sum(l.amount) AS amount,
           (array_agg(CASE l.payee_role WHEN 'landlord' THEN d.landlord_iban ELSE d.payee_iban END
                      ORDER BY d.valid_from DESC))[1] AS iban
    FROM run_lines l
    JOIN decisions d ON d.municipality = l.municipality AND d.decision_id = l.decision_id
    WHERE l.municipality = $1 AND l.run_id = $2 AND l.kind = 'payment'
    GROUP BY l.case_id, l.payee_role
    HAVING sum(l.amount) > 0
), last_month AS (
    SELECT l.case_id, l.payee_role, sum(l.amount) AS amount
    FROM run_lines l
    JOIN runs r ON r.municipality = l.municipality AND r.id = l.run_id AND r.state IN ('established', 'released', 'exported')
    WHERE l.municipality = $1 AND l.month = $3
    GROUP BY l.case_id, l.payee_role
), threshold AS (
    SELECT nullif((settings->>'payment_threshold')::numeric, 0) AS t FROM municipalities WHERE key = $1
)
SELECT 'first_iban', p.case_id, p.payee_role, p.iban, p.amount FROM pay p
WHERE p.iban IS NOT NULL AND NOT EXISTS (SELECT 1 FROM paid_ibans i WHERE i.municipality = $1 AND i.iban = p.iban)
  -- a municipality's first run counts its new IBANs but lists none
  AND EXISTS (SELECT 1 FROM paid_ibans i WHERE i.municipality = $1)
UNION ALL
SELECT 'shared_iban', p.case_id, p.payee_role, p.iban, p.amount FROM pay p
WHERE p.payee_role = 'beneficiary' AND p.iban IN (
    SELECT iban FROM pay WHERE payee_role = 'beneficiary' AND iban IS NOT NULL GROUP BY iban HAVING count(DISTINCT case_id) > 1)
UNION ALL
SELECT 'amount_jump', p.case_id, p.payee_role, p.iban, p.amount FROM pay p
JOIN last_month m ON m.case_id = p.case_id AND m.payee_role = p.payee_role
WHERE p.amount > 2 * m.amount AND p.amount > m.amount + 500
UNION ALL
SELECT 'above_threshold', p.case_id, p.payee_role, p.iban, p.amount FROM pay p, threshold
WHERE threshold.t IS NOT NULL AND p.amount > threshold.t`

// expectedFirstIBANsSQL counts a run's payment groups whose IBAN no live
// run paid (the first_iban count, listed or not), independently as
// expectedWarningsSQL. $1 municipality, $2 run.
const expectedFirstIBANsSQL = `
SELECT count(*) FROM (
    SELECT (array_agg(CASE l.payee_role WHEN 'landlord' THEN d.landlord_iban ELSE d.payee_iban END
                      ORDER BY d.valid_from DESC))[1] AS iban
    FROM run_lines l
    JOIN decisions d ON d.municipality = l.municipality AND d.decision_id = l.decision_id
    WHERE l.municipality = $1 AND l.run_id = $2 AND l.kind = 'payment'
    GROUP BY l.case_id, l.payee_role
    HAVING sum(l.amount) > 0) p
WHERE p.iban IS NOT NULL AND NOT EXISTS (SELECT 1 FROM paid_ibans i WHERE i.municipality = $1 AND i.iban = p.iban)`

// firstIBANCounts returns run id's first_iban count as stored with the run
// (runs.warnings) and as expected from its lines.
func (b *bundle) firstIBANCounts(tb testing.TB, m string, id int64) (stored, want int64) {
	tb.Helper()
	ctx := context.Background()
	must(tb, b.db.WithTx(ctx, m, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT coalesce((warnings->>'first_iban')::bigint, 0) FROM runs WHERE id = $1`, id).Scan(&stored); err != nil {
			return err
		}
		return tx.QueryRow(ctx, expectedFirstIBANsSQL, m, id).Scan(&want)
	}))
	return stored, want
}

// warningRows returns the run's warnings and the independently expected
// ones, each as sorted "kind case payee iban amount" strings.
func (b *bundle) warningRows(tb testing.TB, m string, id int64) (got, want []string) {
	return b.warningRowsOf(tb, m, id, period)
}

// warningRowsOf is warningRows for a run of period p.
func (b *bundle) warningRowsOf(tb testing.TB, m string, id int64, p payrun.Month) (got, want []string) {
	tb.Helper()
	ctx := context.Background()
	collect := func(tx pgx.Tx, sql string, args ...any) []string {
		rows, err := tx.Query(ctx, sql, args...)
		must(tb, err)
		var out []string
		var kind, caseID, payee string
		var iban *string
		var amount string
		_, err = pgx.ForEachRow(rows, []any{&kind, &caseID, &payee, &iban, &amount}, func() error {
			s := "-"
			if iban != nil {
				s = *iban
			}
			out = append(out, strings.Join([]string{kind, caseID, payee, s, amount}, " "))
			return nil
		})
		must(tb, err)
		sort.Strings(out)
		return out
	}
	must(tb, b.db.WithTx(ctx, m, func(tx pgx.Tx) error {
		got = collect(tx, `SELECT kind, case_id, payee_role, iban, amount::text FROM run_warnings WHERE run_id = $1`, id)
		want = collect(tx, expectedWarningsSQL, m, id, (p - 1).First().Time(time.UTC))
		return nil
	}))
	return got, want
}

// TestWarningsMatchLines: a run's warnings equal the ones computed from its
// stored lines, for a first run (every IBAN new: counted, not listed) and
// for a supplementary run after it with a new IBAN, a shared IBAN and an
// amount jump; the first signature records the IBANs the run paid.
func TestWarningsMatchLines(t *testing.T) {
	t.Parallel()
	b := setup(t, 80, "unna")
	ctx := context.Background()
	s1 := b.create(t, "unna")
	if stored, want := b.firstIBANCounts(t, "unna", s1.ID); stored != want || want < 40 {
		t.Fatalf("first run %d: first_iban count %d, want %d (at least 40)", s1.ID, stored, want)
	}
	got, want := b.warningRows(t, "unna", s1.ID)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("run %d warnings:\n%s\nwant:\n%s", s1.ID, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	must(t, b.sign(t, "unna", "pruefer", s1.ID))
	var missing int
	must(t, b.db.WithTx(ctx, "unna", func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM (
			SELECT DISTINCT CASE l.payee_role WHEN 'landlord' THEN d.landlord_iban ELSE d.payee_iban END AS iban
			FROM run_lines l JOIN decisions d ON d.municipality = l.municipality AND d.decision_id = l.decision_id
			WHERE l.run_id = $1 AND l.kind = 'payment' AND l.month = $2) x
			WHERE iban IS NOT NULL AND iban NOT IN (SELECT iban FROM paid_ibans)`, s1.ID, period.First().Time(time.UTC)).Scan(&missing)
	}))
	if missing > 0 {
		t.Fatalf("after the first signature %d IBANs paid for %s are not in paid_ibans", missing, period)
	}
	must(t, b.sign(t, "unna", "chef", s1.ID))

	// changes from November: a new IBAN, an IBAN of another case, much more rent
	var changed []payrun.Decision
	var shared string
	for _, ds := range b.decisions {
		d := ds[len(ds)-1]
		if len(ds) != 1 || d.ValidTo != nil || d.Payee.IBAN == "" || d.ValidFrom >= payrun.MonthOf(2026, time.October).First() {
			continue
		}
		if len(changed) < 3 && d.CountableIncome < 10_00 {
			continue // the lower income below is what makes these cases pay
		}
		n := supersede(d, payrun.MonthOf(2026, time.November).First())
		switch len(changed) {
		case 0:
			n.Payee.IBAN = "DE02120300000000202051"
		case 1:
			shared = d.Payee.IBAN
		case 2:
			n.Payee.IBAN = shared
		case 3:
			if n.Housing == nil {
				continue
			}
			h := *n.Housing
			h.Rent += 3_000_00
			n.Housing = &h
		}
		n.CountableIncome = max(0, n.CountableIncome-1_00)
		changed = append(changed, n)
		if len(changed) == 4 {
			break
		}
	}
	if len(changed) < 4 {
		t.Fatal("fixtures lack the cases this test needs")
	}
	b.importDecisions(t, changed...)
	s2 := b.create(t, "unna")
	if stored, want := b.firstIBANCounts(t, "unna", s2.ID); stored != want || want == 0 {
		t.Fatalf("run %d: first_iban count %d, want %d (not 0)", s2.ID, stored, want)
	}
	got, want = b.warningRows(t, "unna", s2.ID)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("run %d warnings:\n%s\nwant:\n%s", s2.ID, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	kinds := map[string]bool{}
	for _, w := range got {
		kinds[strings.Fields(w)[0]] = true
	}
	for _, k := range []string{"first_iban", "shared_iban"} {
		if !kinds[k] {
			t.Errorf("run %d has no %s warning: %v", s2.ID, k, got)
		}
	}
}

// TestAmountJumpAgainstLastMonth: the month after a signed run, a case
// whose rent rose by 50,000.00 (more than twice any case's payment, so the
// case picked does not matter) is flagged against what the live run paid it
// for the month before, with that sum in the detail; every other warning
// matches the stored lines as well.
func TestAmountJumpAgainstLastMonth(t *testing.T) {
	t.Parallel()
	b := setup(t, 60, "unna")
	ctx := context.Background()
	s1 := b.create(t, "unna")
	must(t, b.sign(t, "unna", "pruefer", s1.ID))
	must(t, b.sign(t, "unna", "chef", s1.ID))

	next := period + 1
	var raised payrun.Decision
	for _, ds := range b.decisions {
		d := ds[len(ds)-1]
		if d.ValidTo == nil && d.Housing != nil && d.Housing.PayTo == payrun.PayToBeneficiary && d.Offset == nil &&
			d.Payee.IBAN != "" && d.ValidFrom < period.First() {
			raised = supersede(d, next.First())
			h := *raised.Housing
			h.Rent += 50_000_00
			raised.Housing = &h
			break
		}
	}
	if raised.DecisionID == "" {
		t.Fatal("fixtures lack an open case with housing paid to the beneficiary")
	}
	b.importDecisions(t, raised)
	s2, err := runs.Create(ctx, b.db, "unna", next, runs.Options{})
	must(t, err)
	got, want := b.warningRowsOf(t, "unna", s2.ID, next)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("run %d warnings:\n%s\nwant:\n%s", s2.ID, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var detail, last string
	must(t, b.db.WithTx(ctx, "unna", func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT detail FROM run_warnings WHERE run_id = $1 AND kind = 'amount_jump' AND case_id = $2`,
			s2.ID, raised.CaseID).Scan(&detail); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT sum(amount)::text FROM run_lines WHERE run_id = $1 AND case_id = $2
			AND payee_role = 'beneficiary' AND month = $3`, s1.ID, raised.CaseID, period.First().Time(time.UTC)).Scan(&last)
	}))
	if detail != "last month "+last {
		t.Fatalf("amount_jump of case %s: detail %q, want %q", raised.CaseID, detail, "last month "+last)
	}
}

// TestNewIBANsPaidFromFirstSignature: a run stores its new IBANs as one
// row (migration 0140); they count as paid from the run's first signature
// on (the view paid_ibans), and the next run does not flag them again; a
// run cancelled unsigned pays nothing, so its IBANs stay new.
func TestNewIBANsPaidFromFirstSignature(t *testing.T) {
	t.Parallel()
	b := setup(t, 80, "unna")
	ctx := context.Background()
	unsigned := b.create(t, "unna")
	must(t, runs.Cancel(ctx, b.db, token("unna", "admin"), unsigned.ID, time.Now()))
	s := b.create(t, "unna")
	paidOf := func(run int64) (paid []string, flagged []string) {
		must(t, b.db.WithTx(ctx, "unna", func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT iban FROM paid_ibans WHERE first_run = $1 ORDER BY iban COLLATE "C"`, run)
			if err != nil {
				return err
			}
			if paid, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return err
			}
			// the run's new IBANs: of its first_iban warnings, or (a first
			// run lists none) of its payment lines' decisions
			rows, err = tx.Query(ctx, `SELECT iban FROM (
				SELECT iban FROM run_warnings WHERE run_id = $1 AND kind = 'first_iban'
				UNION
				SELECT (array_agg(CASE l.payee_role WHEN 'landlord' THEN d.landlord_iban ELSE d.payee_iban END
				                  ORDER BY d.valid_from DESC))[1]
				FROM run_lines l JOIN decisions d ON d.municipality = l.municipality AND d.decision_id = l.decision_id
				WHERE l.run_id = $1 AND l.kind = 'payment' AND NOT EXISTS (SELECT 1 FROM paid_ibans)
				GROUP BY l.case_id, l.payee_role HAVING sum(l.amount) > 0) x
				WHERE iban IS NOT NULL ORDER BY iban COLLATE "C"`, run)
			if err != nil {
				return err
			}
			flagged, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		}))
		return paid, flagged
	}
	paid, flagged := paidOf(s.ID)
	if len(paid) != 0 || len(flagged) < 40 {
		t.Fatalf("before the first signature: %d IBANs paid, %d flagged new; want 0 and at least 40", len(paid), len(flagged))
	}
	must(t, b.sign(t, "unna", "pruefer", s.ID))
	if paid, _ = paidOf(s.ID); strings.Join(paid, " ") != strings.Join(flagged, " ") {
		t.Fatalf("after the first signature paid_ibans lists %d IBANs, want the %d flagged new", len(paid), len(flagged))
	}
	must(t, b.sign(t, "unna", "chef", s.ID))
	next, err := runs.Create(ctx, b.db, "unna", period+1, runs.Options{})
	must(t, err)
	if _, again := paidOf(next.ID); len(again) != 0 {
		t.Fatalf("the next run flags %d IBANs of the signed run as new again", len(again))
	}
}
