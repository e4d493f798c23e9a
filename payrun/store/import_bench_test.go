package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"

	"github.com/payrun/payrun/fixtures"
	"github.com/payrun/payrun/payrun/store"
)

// benchCases is the number of generated cases of the import benchmarks:
// PAYRUN_BENCH_IMPORT_CASES, default 20,000 (spread over the six fixture
// municipalities).
func benchCases(b *testing.B) int {
	n := 20_000
	if v := os.Getenv("PAYRUN_BENCH_IMPORT_CASES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("PAYRUN_BENCH_IMPORT_CASES=%q: want a positive number", v)
		}
	}
	return n
}

// benchFile returns n generated cases over the six municipalities as JSON
// Lines, as `payrun fixtures generate` writes them, and the decision count.
func benchFile(b *testing.B, n int) ([]byte, int) {
	b.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	decisions := 0
	keys := fixtures.MunicipalityKeys
	for i, m := range keys {
		share := n / len(keys)
		if i < n%len(keys) {
			share++
		}
		for d := range fixtures.Generate(1, share, m) {
			if err := enc.Encode(d); err != nil {
				b.Fatal(err)
			}
			decisions++
		}
	}
	return buf.Bytes(), decisions
}

// BenchmarkImport imports PAYRUN_BENCH_IMPORT_CASES generated cases into a
// fresh database per iteration and reports decisions/s.
func BenchmarkImport(b *testing.B) {
	file, decisions := benchFile(b, benchCases(b))
	ctx := context.Background()
	b.SetBytes(int64(len(file)))
	var took float64
	for b.Loop() {
		b.StopTimer()
		db := setup(b)
		b.StartTimer()
		res, err := db.Import(ctx, bytes.NewReader(file), store.ImportOptions{Actor: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if res.New != decisions {
			b.Fatalf("imported %d new decisions, want %d", res.New, decisions)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	took = b.Elapsed().Seconds()
	b.ReportMetric(float64(decisions)*float64(b.N)/took, "decisions/s")
}
