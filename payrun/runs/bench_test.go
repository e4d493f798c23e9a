package runs_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/payrun/payrun/payrun/runs"
)

// BenchmarkRunCreate creates (recomputes) the run of one municipality with
// PAYRUN_BENCH_CASES generated cases (default 100,000) and reports cases/s.
func BenchmarkRunCreate(b *testing.B) {
	n := 100_000
	if v := os.Getenv("PAYRUN_BENCH_CASES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	bb := setup(b, n, "unna")
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
