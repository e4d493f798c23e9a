package calc_test

import (
	"strconv"
	"testing"

	"github.com/payrun/payrun/payrun/calc"
)

// BenchmarkCase computes one month (2026-03) per op for generated typical
// households (genHousehold: mostly 2 adults + 0–3 children, rent and heating
// to the landlord, a third with income, a tenth starting in the month or
// with an offset), half of them already paid (a re-run that nets to
// nothing), half new. ns/op is ns per case. The pool size shows the memory
// effect: 1k cases stay in cache (as a case just decoded from the database
// stream would); 64k cases (~100 MB of scattered heap objects) add the cache
// misses of reading cold input. -benchtime 1000000x computes a million cases.
func BenchmarkCase(b *testing.B) {
	c := calc.NewCalculator(loadRates(b), calc.Policy{})
	for _, n := range []int{1 << 10, 1 << 13, 1 << 16} {
		b.Run("pool="+strconv.Itoa(n), func(b *testing.B) {
			cases := genCases(c, n, 1, month("2026-03"))
			out := make([]calc.Line, 0, 64)
			var err error
			for i := range cases { // warm the scratch buffers
				if out, err = c.Case(&cases[i], out[:0]); err != nil {
					b.Fatal(err)
				}
			}
			lines := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out, err = c.Case(&cases[i&(n-1)], out[:0])
				if err != nil {
					b.Fatal(err)
				}
				lines += len(out)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cases/s")
			b.ReportMetric(float64(lines)/float64(b.N), "lines/case")
		})
	}
}
