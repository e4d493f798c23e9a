package runs_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun/runs"
)

// benchSetup loads PAYRUN_BENCH_CASES generated cases (default 100,000) of
// one municipality. Like payrun bench it models a steady month — the months
// before the period paid by earlier runs, so each case is computed for the
// period only — unless PAYRUN_BENCH_BACKLOG=1 (every month since the start).
func benchSetup(b *testing.B) (*bundle, int) {
	n := 100_000
	if v := os.Getenv("PAYRUN_BENCH_CASES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	bb := setup(b, n, "unna")
	if os.Getenv("PAYRUN_BENCH_BACKLOG") != "1" {
		ctx := context.Background()
		must(b, bb.db.WithTx(ctx, "unna", func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE cases SET recompute_from = $1 WHERE recompute_from < $1", period.First().Time(time.UTC))
			return err
		}))
	}
	return bb, n
}

// BenchmarkRunCreate creates (recomputes) the run of one municipality (see
// benchSetup) and reports cases/s.
func BenchmarkRunCreate(b *testing.B) {
	bb, n := benchSetup(b)
	ctx := context.Background()
	b.ResetTimer()
	var lines int64
	for b.Loop() {
		s, err := runs.Create(ctx, bb.db, "unna", period, runs.Options{})
		if err != nil {
			b.Fatal(err)
		}
		lines = s.Lines
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "cases/s")
	b.ReportMetric(float64(lines), "lines/run")
}

// BenchmarkRunCreateSign creates the run of one municipality, signs it
// twice and (untimed) cancels it, which gives its case-months back for the
// next round; it reports cases/s of creation and signatures/s.
func BenchmarkRunCreateSign(b *testing.B) {
	bb, n := benchSetup(b)
	ctx := context.Background()
	var create, sign time.Duration
	for b.Loop() {
		t := time.Now()
		s := bb.create(b, "unna")
		create += time.Since(t)
		t = time.Now()
		for _, login := range []string{"pruefer", "chef"} {
			if _, err := runsSign(bb.db, token("unna", login), s.ID, fmt.Sprintf("%x", s.Digest)); err != nil {
				b.Fatal(err)
			}
		}
		sign += time.Since(t)
		b.StopTimer()
		must(b, runs.Cancel(ctx, bb.db, token("unna", "admin"), s.ID, time.Now()))
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/create.Seconds(), "created-cases/s")
	b.ReportMetric(sign.Seconds()/float64(b.N), "s/2-signatures")
}
