package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/payrun/payrun/fixtures"
	"github.com/payrun/payrun/payrun"
)

// FuzzParsePersons: parsePersons gives exactly what json.Unmarshal gives,
// and fails exactly when it fails.
func FuzzParsePersons(f *testing.F) {
	for d := range fixtures.Generate(3, 40, "unna") {
		b, err := json.Marshal(d.Persons)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{`[]`, `null`, `[{"name": "A\u00fcx", "person_id": "P1", "birth_date": "2001-02-03"}]`,
		`[{"Name": "A", "needs_level": 01}]`, `[{"needs_level": -1}]`, `[{"needs_level": 2.0}]`,
		`[{"fixed_amount": "1.234"}]`, `[{"extra_needs": [{"kind": "fixed", "amount": "40.21"}], "extra_needs": []}]`,
		`[{"extra_needs": null}]`, ` [ { "person_id" : "P1" , "needs_level" : 12345678901 } ] `, `[{}],`, `[{"name": "\xff"}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gotErr := parsePersons(b)
		var want []payrun.Person
		wantErr := json.Unmarshal(b, &want)
		if (gotErr != nil) != (wantErr != nil) {
			t.Fatalf("%q: error %v, json.Unmarshal %v", b, gotErr, wantErr)
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: %#v, json.Unmarshal %#v", b, got, want)
		}
	})
}

// TestParsePersonsFastPath: the persons the importer stores take the fast
// path (else the speed-up is gone silently).
func TestParsePersonsFastPath(t *testing.T) {
	n := 0
	for d := range fixtures.Generate(5, 200, "werne") {
		b, err := json.Marshal(d.Persons)
		if err != nil {
			t.Fatal(err)
		}
		// the jsonb text form: ", " and ": " between tokens
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		if _, ok := fastPersons(b); !ok {
			t.Fatalf("persons %s took the slow path", b)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no decisions generated")
	}
}

func BenchmarkParsePersons(b *testing.B) {
	var in [][]byte
	for d := range fixtures.Generate(1, 1000, "unna") {
		j, err := json.Marshal(d.Persons)
		if err != nil {
			b.Fatal(err)
		}
		in = append(in, j)
	}
	b.Run("fast", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := parsePersons(in[i%len(in)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			var ps []payrun.Person
			if err := json.Unmarshal(in[i%len(in)], &ps); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestParseDateFastPath compares parseDateBytes (the persons' and the
// import's fast path) with payrun.ParseDate over every day of several
// centuries and over invalid days: what the fast path accepts, ParseDate
// accepts as the same day, and every valid YYYY-MM-DD takes the fast path.
func TestParseDateFastPath(t *testing.T) {
	check := func(v string, valid bool) {
		got, ok := parseDateBytes([]byte(v))
		want, wantErr := payrun.ParseDate(v)
		if (ok && (wantErr != nil || got != want)) || (valid && !ok) {
			t.Fatalf("%q: %v %v, payrun.ParseDate %v %v", v, got, ok, want, wantErr)
		}
	}
	for d := payrun.NewDate(1600, time.January, 1); d <= payrun.NewDate(2400, time.December, 31); d++ {
		check(d.String(), true)
	}
	for _, v := range []string{"0000-01-01", "9999-12-31", "2026-02-29", "2028-02-30", "2100-02-29", "2000-02-29",
		"2026-13-01", "2026-00-10", "2026-04-31", "2026-04-00", "2026-4-01", "2026-04-1 ", "20a6-04-01", "+026-04-01"} {
		check(v, false)
	}
}
