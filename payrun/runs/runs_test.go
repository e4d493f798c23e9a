package runs_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/runs"
	"github.com/payrun/payrun/payrun/store"
)

func TestCreateSignExactlyOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, 60, "unna")
	ctx := context.Background()
	s := b.create(t, "unna")
	if s.Lines == 0 || s.Total <= 0 || s.Kind != "monthly" {
		t.Fatalf("summary %+v", s)
	}
	ok, err := runs.VerifyDigest(ctx, b.db, "unna", s.ID)
	must(t, err)
	if !ok {
		t.Fatal("stored digest differs from the lines")
	}
	b.checkLineGroups(t, "unna", s.ID)
	must(t, b.sign(t, "unna", "pruefer", s.ID))
	if s.MaxPayment > 25_000_00 {
		if err := b.sign(t, "unna", "anordner", s.ID); !errors.Is(err, payrun.ErrForbidden) {
			t.Fatalf("approver with limit 25000.00 releases a payment of %s: %v", s.MaxPayment, err)
		}
	}
	must(t, b.sign(t, "unna", "chef", s.ID))
	d, err := b.db.RunDetails(ctx, "unna", s.ID, 5, 5)
	must(t, err)
	if d.State != payrun.RunReleased || len(d.Signatures) != 2 {
		t.Fatalf("after two signatures: state %s, %d signatures", d.State, len(d.Signatures))
	}
	b.checkExactlyOnce(t, "unna", period)
	// nothing changed: the next run has nothing to pay
	if _, err := runs.Create(ctx, b.db, "unna", period, runs.Options{}); !errors.Is(err, payrun.ErrNothingToPay) {
		t.Fatalf("second create: %v, want ErrNothingToPay", err)
	}
}

func TestOnePersonCannotRelease(t *testing.T) {
	t.Parallel()
	b := setup(t, 20, "unna")
	s := b.create(t, "unna")
	if err := b.sign(t, "unna", "system", s.ID); !errors.Is(err, payrun.ErrForbidden) {
		t.Fatalf("system signs: %v", err)
	}
	if err := b.sign(t, "unna", "anordner", s.ID); !errors.Is(err, payrun.ErrForbidden) {
		t.Fatalf("approver gives the first signature: %v", err)
	}
	must(t, b.sign(t, "unna", "pruefer", s.ID))
	if err := b.sign(t, "unna", "pruefer", s.ID); !errors.Is(err, payrun.ErrSameSigner) {
		t.Fatalf("checker signs twice: %v", err)
	}
	if _, err := runsSign(b.db, token("unna", "anordner"), s.ID, "00"); !errors.Is(err, payrun.ErrRunChanged) {
		t.Fatalf("wrong digest: %v", err)
	}
	d, err := b.db.RunDetails(context.Background(), "unna", s.ID, 0, 0)
	must(t, err)
	if d.State != payrun.RunEstablished {
		t.Fatalf("state %s", d.State)
	}
}

func TestRecomputeProposedRun(t *testing.T) {
	t.Parallel()
	b := setup(t, 30, "luenen")
	s1 := b.create(t, "luenen")
	var d payrun.Decision
	for _, ds := range b.decisions {
		if len(ds) == 1 && ds[0].Housing != nil && ds[0].ValidTo == nil {
			d = ds[0]
			break
		}
	}
	if d.CaseID == "" {
		t.Fatal("no open-ended case with housing in the fixtures")
	}
	n := d
	n.DecisionID = d.DecisionID + "-x"
	n.Supersedes = []string{d.DecisionID}
	h := *d.Housing
	h.Rent += 100_00
	n.Housing = &h
	n.ValidFrom = payrun.MonthOf(2026, time.October).First()
	b.importDecisions(t, n)
	s2 := b.create(t, "luenen")
	if s2.ID != s1.ID || !s2.Refreshed {
		t.Fatalf("recompute: run %d refreshed=%v, want run %d", s2.ID, s2.Refreshed, s1.ID)
	}
	if s2.Total != s1.Total+3*100_00 {
		t.Fatalf("total %s, want %s + 300.00", s2.Total, s1.Total)
	}
}

// TestOffsetsOfOlderRunsCount: three signed months in a row, a reclaim set
// off at 50.00 a month with 120.00 remaining from the first of them. The
// third run reads the first month's lines only for their offsets (its
// period is before the months the third run computes), and must still see
// the 50.00 taken then: it sets off the last 20.00, not another 50.00.
func TestOffsetsOfOlderRunsCount(t *testing.T) {
	t.Parallel()
	b := setup(t, 40, "unna")
	ctx := context.Background()
	var reclaimed payrun.Decision
	for _, ds := range b.decisions {
		d := ds[len(ds)-1]
		if d.ValidTo == nil && d.Offset == nil && d.ValidFrom < period.First() {
			reclaimed = supersede(d, period.First())
			// no income: the beneficiary's amount (the regular need) covers
			// the 50.00 a month whatever case is picked
			reclaimed.CountableIncome = 0
			reclaimed.Offset = &payrun.Offset{ReclaimID: "R-OLDER-1", Monthly: 50_00, Remaining: 120_00}
			break
		}
	}
	if reclaimed.DecisionID == "" {
		t.Fatal("fixtures lack an open case")
	}
	b.importDecisions(t, reclaimed)
	for p := period; p <= period+2; p++ {
		s, err := runs.Create(ctx, b.db, "unna", p, runs.Options{})
		must(t, err)
		must(t, b.sign(t, "unna", "pruefer", s.ID))
		must(t, b.sign(t, "unna", "chef", s.ID))
	}
	b.checkExactlyOnce(t, "unna", period+2)
	var taken string
	must(t, b.db.WithTx(ctx, "unna", func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT coalesce(sum(amount), 0)::text FROM run_lines
			WHERE case_id = $1 AND component = 'offset' AND reclaim_id = 'R-OLDER-1'`, reclaimed.CaseID).Scan(&taken)
	}))
	if taken != "-120.00" {
		t.Fatalf("case %s: offsets of reclaim R-OLDER-1 over three months %s, want -120.00", reclaimed.CaseID, taken)
	}
}

// TestCaseWithoutFirstMonth: a case whose recompute_from is NULL (data of
// older versions; no settled run covers it) is computed from its earliest
// month, and the netting reads every live run for it (the earliest month
// to compute is unbounded: -infinity in the paid cursor's bound).
func TestCaseWithoutFirstMonth(t *testing.T) {
	t.Parallel()
	b := setup(t, 20, "unna")
	ctx := context.Background()
	admin := b.adminConn(t)
	var caseID string
	must(t, admin.QueryRow(ctx, `SELECT case_id FROM cases WHERE municipality = 'unna' ORDER BY case_id LIMIT 1`).Scan(&caseID))
	_, err := admin.Exec(ctx, `SET session_replication_role = replica`)
	must(t, err)
	_, err = admin.Exec(ctx, `UPDATE cases SET recompute_from = NULL WHERE municipality = 'unna' AND case_id = $1`, caseID)
	must(t, err)
	s := b.create(t, "unna")
	if s.Cases != 20 {
		t.Fatalf("run computed %d cases, want 20", s.Cases)
	}
	must(t, b.sign(t, "unna", "pruefer", s.ID))
	must(t, b.sign(t, "unna", "chef", s.ID))
	b.checkExactlyOnce(t, "unna", period)
}

// checkLineGroups compares store.RunLineGroups (unpacked in Go) with the
// same sums over the run_lines view (decoded in SQL).
func (b *bundle) checkLineGroups(tb testing.TB, m string, id int64) {
	tb.Helper()
	ctx := context.Background()
	var got, want []string
	must(tb, b.db.WithTx(ctx, m, func(tx pgx.Tx) error {
		gs, err := store.RunLineGroups(ctx, tx, m, id)
		if err != nil {
			return err
		}
		for _, g := range gs {
			got = append(got, fmt.Sprintf("%s %s %s %s %d %s", g.Law, g.Component, g.CostBearer, g.Kind, g.Lines, g.Amount))
		}
		rows, err := tx.Query(ctx, `SELECT law || ' ' || component || ' ' || cost_bearer || ' ' || kind || ' ' || count(*) || ' ' || sum(amount)
			FROM run_lines WHERE municipality = $1 AND run_id = $2 GROUP BY law, component, cost_bearer, kind
			ORDER BY law, component, cost_bearer, kind`, m, id)
		if err != nil {
			return err
		}
		want, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}))
	if len(want) == 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		tb.Fatalf("run %d line groups:\n%s\nwant:\n%s", id, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestNettingAcrossChunks: runs store their lines in chunks of a batch of
// cases each (migration 0135), so the chunks of different runs cover
// different ranges of cases, and run creation merges them per case. Four
// months with different batch sizes, corrections back to the first month
// (the third run nets against the first two) and a reclaim that the
// fourth run reads from older runs' offsets: every month of every case is
// paid exactly once.
func TestNettingAcrossChunks(t *testing.T) {
	t.Parallel()
	b := setup(t, 40, "unna")
	ctx := context.Background()
	createSigned := func(p payrun.Month, batch int) {
		t.Helper()
		s, err := runs.Create(ctx, b.db, "unna", p, runs.Options{BatchCases: batch})
		must(t, err)
		must(t, b.sign(t, "unna", "pruefer", s.ID))
		must(t, b.sign(t, "unna", "chef", s.ID))
	}
	createSigned(period, 7)
	createSigned(period+1, 3)
	var fixes []payrun.Decision
	for _, k := range sortedKeys(b.decisions) {
		d := b.decisions[k][len(b.decisions[k])-1]
		if d.ValidTo != nil || d.Offset != nil || d.ValidFrom >= period.First() || len(fixes) >= 12 {
			continue
		}
		n := supersede(d, period.First())
		n.CountableIncome = 0
		if n.Housing != nil {
			h := *n.Housing
			h.Heating += 25_00
			n.Housing = &h
		}
		if len(fixes)%4 == 1 {
			n.Offset = &payrun.Offset{ReclaimID: "R-CHUNK-" + d.CaseID, Monthly: 10_00, Remaining: 1000_00}
		}
		fixes = append(fixes, n)
	}
	if len(fixes) < 8 {
		t.Fatalf("fixtures have %d open cases to correct, want 8", len(fixes))
	}
	b.importDecisions(t, fixes...)
	createSigned(period+2, 5)
	createSigned(period+3, 4)
	b.checkExactlyOnce(t, "unna", period+3)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
