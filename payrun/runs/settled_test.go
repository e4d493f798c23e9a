package runs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/store"
)

// TestSettledStepsMatchDefinition checks the two SQL forms of a case's
// effective recompute_from (migration 0090) against the definition, computed
// here: greatest(recompute_from, max{through : watermark gen ≥ case gen}),
// over random watermarks with tied generations and periods out of order.
func TestSettledStepsMatchDefinition(t *testing.T) {
	t.Parallel()
	b := setup(t, 1, "unna")
	ctx := context.Background()
	admin := b.adminConn(t)
	rng := rand.New(rand.NewPCG(9, 9))
	for round := range 4 {
		tx, err := admin.Begin(ctx)
		must(t, err)
		// watermarks reference runs: skip the foreign key and guard triggers
		_, err = tx.Exec(ctx, "SET LOCAL session_replication_role = replica")
		must(t, err)
		type mark struct {
			gen     int64
			through payrun.Month
		}
		var marks []mark
		for i := range 1 + round*6 {
			m := mark{gen: rng.Int64N(40), through: payrun.MonthOf(2026, time.January) + payrun.Month(rng.IntN(24))}
			if round == 3 {
				// signed in period order: one step
				m = mark{gen: int64(i * 3), through: payrun.MonthOf(2026, time.January) + payrun.Month(i)}
			}
			marks = append(marks, m)
			_, err := tx.Exec(ctx, "INSERT INTO settled (municipality, run_id, through, gen) VALUES ('unna', $1, $2, $3)",
				1000+i, m.through.First().Time(time.UTC), m.gen)
			must(t, err)
		}
		for gen := int64(-1); gen <= 41; gen++ {
			for _, from := range []*payrun.Month{nil, ptr(payrun.MonthOf(2025, time.March)), ptr(payrun.MonthOf(2026, time.July)), ptr(payrun.MonthOf(2028, time.May))} {
				var want *payrun.Month
				if from != nil {
					want = ptr(*from)
				}
				for _, m := range marks {
					if m.gen >= gen && (want == nil || m.through > *want) {
						want = ptr(m.through)
					}
				}
				var fromDate *time.Time
				if from != nil {
					fromDate = ptr(from.First().Time(time.UTC))
				}
				var byFunc, bySteps *time.Time
				var steps int
				must(t, tx.QueryRow(ctx, `SELECT payrun_effective_from('unna', $1, $2),
					(SELECT greatest($1::date, s.through) FROM (SELECT 1) x LEFT JOIN payrun_settled_steps() s
					 ON s.municipality = 'unna' AND $2 > s.lo AND $2 <= s.hi),
					(SELECT count(*) FROM payrun_settled_steps() WHERE municipality = 'unna')`,
					fromDate, gen).Scan(&byFunc, &bySteps, &steps))
				for name, got := range map[string]*time.Time{"payrun_effective_from": byFunc, "payrun_settled_steps": bySteps} {
					if (got == nil) != (want == nil) || (got != nil && payrun.MonthOf(got.Year(), got.Month()) != *want) {
						t.Fatalf("round %d, gen %d, recompute_from %v: %s gives %v, want %v (watermarks %v)",
							round, gen, from, name, got, want, marks)
					}
				}
				if round == 3 && steps != 1 {
					t.Fatalf("watermarks in period order give %d steps, want 1", steps)
				}
			}
		}
		must(t, tx.Rollback(ctx))
	}
}

func ptr[T any](v T) *T { return &v }

// TestSignatureRaisesNoCase: the first signature records one watermark and
// updates no case; the next run computes nothing, and a decision back in
// time that starts exactly in the case's stored recompute_from month (so the
// stored value does not change) is still paid.
func TestSignatureRaisesNoCase(t *testing.T) {
	t.Parallel()
	b := setup(t, 30, "werne")
	ctx := context.Background()
	s1 := b.create(t, "werne")
	before := b.caseRows(t, "werne")
	must(t, b.sign(t, "werne", "pruefer", s1.ID))
	must(t, b.sign(t, "werne", "chef", s1.ID))
	if after := b.caseRows(t, "werne"); after != before {
		t.Fatalf("the signatures changed cases: %s → %s", before, after)
	}
	var marks int
	must(t, b.db.WithTx(ctx, "werne", func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT count(*) FROM settled WHERE run_id = $1 AND through = '2027-01-01'", s1.ID).Scan(&marks)
	}))
	if marks != 1 {
		t.Fatalf("%d watermarks of run %d, want 1", marks, s1.ID)
	}
	if _, err := runsCreate(b.db, "werne"); err == nil {
		t.Fatal("a run after the release computed something")
	}
	// a case whose first decision starts in its stored recompute_from month
	var n payrun.Decision
	for _, ds := range b.decisions {
		d := ds[0]
		if len(ds) == 1 && d.ValidTo == nil && d.ValidFrom < payrun.MonthOf(2026, time.June).First() {
			n = supersede(d, d.ValidFrom)
			n.CountableIncome += 25_00
			break
		}
	}
	if n.CaseID == "" {
		t.Fatal("no open-ended case in the fixtures")
	}
	b.importDecisions(t, n)
	s2 := b.create(t, "werne")
	if s2.Cases != 1 || s2.Lines == 0 {
		t.Fatalf("after a change of %s from %s: %d cases, %d lines", n.CaseID, n.ValidFrom, s2.Cases, s2.Lines)
	}
	must(t, b.sign(t, "werne", "pruefer", s2.ID))
	must(t, b.sign(t, "werne", "chef", s2.ID))
	b.checkExactlyOnce(t, "werne", period)
}

// caseRows summarises m's cases (stored recompute_from and generation).
func (b *bundle) caseRows(tb testing.TB, m string) string {
	tb.Helper()
	var s string
	ctx := context.Background()
	must(tb, b.db.WithTx(ctx, m, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) || ' ' || md5(string_agg(case_id || coalesce(recompute_from::text, '-') || recompute_gen, ',' ORDER BY case_id))
			FROM cases`).Scan(&s)
	}))
	return s
}

// TestImportRacingFirstSignature: an import of a decision back in time
// waits for the municipality lock held by a first signature, which commits
// its watermark meanwhile; the import must still lower the case (it reads
// the watermarks after it holds the lock), and the next run pays it.
func TestImportRacingFirstSignature(t *testing.T) {
	t.Parallel()
	b := setup(t, 25, "bergkamen")
	ctx := context.Background()
	s1 := b.create(t, "bergkamen")
	var n payrun.Decision
	for _, ds := range b.decisions {
		d := ds[0]
		if len(ds) == 1 && d.ValidTo == nil && d.ValidFrom < payrun.MonthOf(2026, time.May).First() {
			n = supersede(d, payrun.MonthOf(2026, time.August).First())
			n.CountableIncome += 60_00
			break
		}
	}
	if n.CaseID == "" {
		t.Fatal("no open-ended case in the fixtures")
	}
	d, err := b.db.RunDetails(ctx, "bergkamen", s1.ID, 0, 0)
	must(t, err)
	// the first signature, held open
	sig, err := b.db.Pool().Begin(ctx)
	must(t, err)
	defer sig.Rollback(ctx)
	_, err = sig.Exec(ctx, "SELECT set_config('payrun.municipality', 'bergkamen', true)")
	must(t, err)
	_, err = sig.Exec(ctx, `INSERT INTO signatures (municipality, run_id, seq, user_id, role, digest)
		SELECT 'bergkamen', $1, 1, id, 'checker', decode($2, 'hex') FROM users WHERE login = 'pruefer'`, s1.ID, d.Digest)
	must(t, err)
	imported := make(chan error, 1)
	go func() {
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(&n); err != nil {
			imported <- err
			return
		}
		_, err := b.db.Import(context.Background(), &buf, store.ImportOptions{Actor: "test"})
		imported <- err
	}()
	// wait until the import waits for the lock
	admin := b.adminConn(t)
	var dbName string
	must(t, admin.QueryRow(ctx, "SELECT current_database()").Scan(&dbName))
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		must(t, admin.QueryRow(ctx, `SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
			WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = $1`, dbName).Scan(&waiting))
		if waiting > 0 {
			break
		}
		select {
		case err := <-imported:
			t.Fatalf("the import did not wait for the signature's lock (%v)", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the import never waited for the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	must(t, sig.Commit(ctx))
	must(t, <-imported)
	b.decisions["bergkamen/"+n.CaseID] = append(b.decisions["bergkamen/"+n.CaseID], n)
	must(t, b.sign(t, "bergkamen", "chef", s1.ID))
	s2 := b.create(t, "bergkamen")
	if s2.Cases != 1 {
		t.Fatalf("the run after the racing import computed %d cases, want 1 (%s)", s2.Cases, n.CaseID)
	}
	must(t, b.sign(t, "bergkamen", "pruefer", s2.ID))
	must(t, b.sign(t, "bergkamen", "chef", s2.ID))
	b.checkExactlyOnce(t, "bergkamen", period)
}
