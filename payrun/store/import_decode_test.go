package store

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"reflect"
	"strings"
	"testing"

	"github.com/payrun/payrun/fixtures"
	"github.com/payrun/payrun/payrun"
)

// sampleLines returns generated decisions of every municipality as JSON
// lines plus hand-made variants the fast decoder must take or refuse.
func sampleLines(tb testing.TB, perMunicipality int) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, m := range fixtures.MunicipalityKeys {
		for d := range fixtures.Generate(7, perMunicipality, m) {
			b, err := json.Marshal(d)
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, b)
		}
	}
	const base = `{"municipality":"unna","decision_id":"UNN-B-000001-1","case_id":"UNN-000001","law":"sgb12_3","valid_from":"2026-02-21","valid_to":null,"persons":[{"person_id":"P1","name":"Mehmet Rahimi","birth_date":"1980-11-27","needs_level":2},{"person_id":"P2","name":"Fatima Rahimi","birth_date":"2003-05-17","needs_level":5}],"housing":{"rent":"684.20","heating":"98.22","pay_to":"landlord"},"countable_income":"0.00","payee":{"channel":"sepa","name":"Mehmet Rahimi","iban":"DE45300501100949484195","bic":null},"landlord":{"name":"Vonovia SE","iban":"DE02120300000000202051","reference":"Whg 12"}}`
	out = append(out, []byte(base))
	for _, v := range []string{
		strings.Replace(base, `{"municipality"`, ` { "municipality" `, 1) + " \r\n",
		strings.Replace(base, `"Mehmet`, "\"Meh\u00e9met", 1),
		strings.Replace(base, `"Mehmet`, `"Meh\u00e9met`, 1), // escape: slow path
		strings.Replace(base, `"Mehmet`, `"Meh\"met`, 1),
		strings.Replace(base, `"Mehmet`, `"A&B<>`, 1),
		strings.Replace(base, `"Mehmet`, "\"A\u2028B", 1),
		strings.Replace(base, `"Mehmet`, "\"A\xffB", 1), // invalid UTF-8
		strings.Replace(base, `"municipality"`, `"Municipality"`, 1),
		strings.Replace(base, `"law"`, `"law":"sgb12_4","law"`, 1),
		strings.Replace(base, `"valid_to":null`, `"valid_to":"2026-02-29"`, 1),
		strings.Replace(base, `"valid_to":null`, `"valid_to":"2028-02-29"`, 1),
		strings.Replace(base, `"valid_to":null`, `"valid_to":"0000-01-01"`, 1),
		strings.Replace(base, `"needs_level":2`, `"needs_level":2.0`, 1),
		strings.Replace(base, `"needs_level":2`, `"needs_level":02`, 1),
		strings.Replace(base, `"needs_level":2`, `"needs_level":-0`, 1),
		strings.Replace(base, `"needs_level":2`, `"needs_level":null`, 1),
		strings.Replace(base, `"countable_income":"0.00"`, `"countable_income":"12.5"`, 1),
		strings.Replace(base, `"countable_income":"0.00"`, `"countable_income":"-12"`, 1),
		strings.Replace(base, `"countable_income":"0.00"`, `"countable_income":0`, 1),
		strings.Replace(base, `"countable_income":"0.00"`, `"countable_income":"99999999999.99"`, 1),
		strings.Replace(base, `"bic":null`, `"bic":"COBADEFFXXX"`, 1),
		strings.Replace(base, `"persons":[`, `"supersedes":["X-1","X 2"],"persons":[`, 1),
		strings.Replace(base, `"persons":[`, `"supersedes":[],"persons":[`, 1),
		strings.Replace(base, `"persons":[`, `"supersedes":null,"persons":[`, 1),
		strings.Replace(base, `"persons":[`, `"housing":null,"landlord":null,"offset":null,"persons":[`, 1),
		strings.Replace(base, `"persons":[`, `"offset":{"reclaim_id":"R-1","monthly":"10000.00","remaining":"0.05"},"persons":[`, 1),
		strings.Replace(base, `"needs_level":2}`, `"needs_level":2,"extra_needs":[{"kind":"fixed","amount":"30"},{"kind":"pregnancy","percent":"17"}]}`, 1),
		strings.Replace(base, `"needs_level":2}`, `"needs_level":2,"extra_needs":[]}`, 1),
		strings.Replace(base, `"needs_level":2}`, `"needs_level":2,"fixed_amount":null}`, 1),
		strings.Replace(base, `"needs_level":2}`, `"needs_level":2,"fixed_amount":"0"}`, 1),
		`{"municipality":"unna","persons":[]}`,
		`{"municipality":"unna","persons":null,"payee":null}`,
		`{}`, `{} {}`, `[]`, ``, `{"municipality":"unna",}`, `{"municipality":"unna"`,
	} {
		out = append(out, []byte(v))
	}
	return out
}

// checkFastDecode fails tb unless fastDecode, when it takes line, decodes
// exactly what encoding/json decodes (and reports complete only when
// missingFields finds nothing), and unless the canonical encoding of the
// decoded decision is json.Marshal's.
func checkFastDecode(tb testing.TB, line []byte) (fast bool) {
	tb.Helper()
	var f, s payrun.Decision
	var c internCache
	fast, complete := fastDecode(line, &f, &c)
	slowErr := slowDecode(1, line, &s)
	if fast {
		if slowErr != nil {
			tb.Fatalf("fast decoder took a line encoding/json refuses (%v):\n%s", slowErr, line)
		}
		if !reflect.DeepEqual(f, s) {
			tb.Fatalf("fast and encoding/json decode differently:\n%s\nfast %+v\njson %+v", line, f, s)
		}
		if missing := missingFields(line, &f); complete && missing != nil {
			tb.Fatalf("fast decoder found the line complete, missingFields %v:\n%s", missing[0], line)
		}
	}
	if slowErr != nil {
		return fast
	}
	want, err := json.Marshal(&s)
	if err != nil {
		return fast // e.g. a date json cannot write; never stored
	}
	got, from, to := appendCanonical(nil, &s)
	if !bytes.Equal(got, want) {
		tb.Fatalf("canonical form differs from json.Marshal:\n got %s\nwant %s", got, want)
	}
	wantPersons, _ := json.Marshal(s.Persons)
	if !bytes.Equal(got[from:to], wantPersons) {
		tb.Fatalf("persons slice %s, want %s", got[from:to], wantPersons)
	}
	return fast
}

func TestFastDecodeMatchesEncodingJSON(t *testing.T) {
	lines := sampleLines(t, 400)
	fast := 0
	for _, l := range lines {
		if checkFastDecode(t, l) {
			fast++
		}
	}
	// every generated line must take the fast path
	if fast < len(lines)-30 {
		t.Errorf("fast path took %d of %d lines", fast, len(lines))
	}
}

func FuzzFastDecode(f *testing.F) {
	for _, l := range sampleLines(f, 3) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		checkFastDecode(t, line)
	})
}

func TestNumericEncoding(t *testing.T) {
	for _, tc := range []struct {
		c    payrun.Cents
		want []uint16 // ndigits, weight, sign, dscale, digits...
	}{
		{0, []uint16{0, 0xffff, 0, 2}},
		{5, []uint16{1, 0xffff, 0, 2, 500}},
		{42000, []uint16{1, 0, 0, 2, 420}},
		{1000000, []uint16{2, 1, 0, 2, 1, 0}},
		{12345678, []uint16{3, 1, 0, 2, 12, 3456, 7800}},
		{-1250, []uint16{2, 0, 0x4000, 2, 12, 5000}},
	} {
		var w copyTuple
		w.numeric(tc.c)
		want := []byte{0, 0, 0, byte(2 * len(tc.want))}
		for _, v := range tc.want {
			want = append(want, byte(v>>8), byte(v))
		}
		if !bytes.Equal(w.b, want) {
			t.Errorf("numeric(%s) = % x, want % x", tc.c, w.b, want)
		}
	}
}

// BenchmarkParseLines measures parsing, validating and encoding lines into
// staging rows (the Go side of the import) on one goroutine.
func BenchmarkParseLines(b *testing.B) {
	var lines [][]byte
	for _, m := range fixtures.MunicipalityKeys {
		for d := range fixtures.Generate(1, 2000, m) {
			l, err := json.Marshal(d)
			if err != nil {
				b.Fatal(err)
			}
			lines = append(lines, append(l, '\n'))
		}
	}
	lp := lineParser{known: map[string]bool{}, seed: maphash.MakeSeed(), hash: maphash.String}
	for _, m := range fixtures.MunicipalityKeys {
		lp.known[m] = true
	}
	w, n := copyTuple{}, copyTuple{}
	b.ResetTimer()
	for b.Loop() {
		for i, l := range lines {
			w.b, n.b = w.b[:0], n.b[:0]
			if _, errs := lp.parseLine(i+1, l, &w, &n); errs != nil {
				b.Fatal(errs[0])
			}
		}
	}
	b.ReportMetric(float64(len(lines))*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
