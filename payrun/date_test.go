package payrun_test

import (
	"testing"
	"time"

	"github.com/payrun/payrun/payrun"
)

func TestDateRoundTrip(t *testing.T) {
	t.Parallel()
	start := time.Date(1899, 12, 25, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 80000; i++ {
		tm := start.AddDate(0, 0, i)
		d := payrun.DateOf(tm)
		y, m, dd := d.YMD()
		if y != tm.Year() || m != tm.Month() || dd != tm.Day() {
			t.Fatalf("%v: got %d-%d-%d", tm, y, m, dd)
		}
		if d.Weekday() != tm.Weekday() {
			t.Fatalf("%v: weekday %v, want %v", tm, d.Weekday(), tm.Weekday())
		}
		if want := int(tm.Sub(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)).Hours() / 24); int(d) != want {
			t.Fatalf("%v: days %d, want %d", tm, d, want)
		}
	}
}

func TestMonth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    string
		days int
	}{{"2024-02", 29}, {"2025-02", 28}, {"2026-12", 31}, {"2026-11", 30}} {
		m, err := payrun.ParseMonth(tc.s)
		if err != nil {
			t.Fatal(err)
		}
		if m.String() != tc.s || m.Days() != tc.days || m.Last().Month() != m || (m+1).First()-1 != m.Last() {
			t.Errorf("%s: got %s days %d", tc.s, m, m.Days())
		}
	}
	if _, err := payrun.ParseDate("2025-02-29"); err == nil {
		t.Error("2025-02-29 accepted")
	}
}

// TestMonthAppend: Append writes what String does, for every month of the
// years 0–9999 and beyond them.
func TestMonthAppend(t *testing.T) {
	t.Parallel()
	for m := payrun.MonthOf(0, time.January); m <= payrun.MonthOf(10001, time.December); m++ {
		if got := string(m.Append([]byte("x"))); got != "x"+m.String() {
			t.Fatalf("month %d: Append %q, String %q", int(m), got, m.String())
		}
	}
}

func TestCents(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, out string
		ok      bool
	}{
		{"0", "0.00", true}, {"12.3", "12.30", true}, {"-5.05", "-5.05", true},
		{"999999999.99", "999999999.99", true}, {"1.234", "", false}, {"1e3", "", false},
		{"", "", false}, {"1.", "", false}, {".5", "", false}, {" 1", "", false}, {"1,5", "", false},
	} {
		c, err := payrun.ParseCents(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseCents(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && c.String() != tc.out {
			t.Errorf("ParseCents(%q) = %s, want %s", tc.in, c, tc.out)
		}
	}
	if got := payrun.MulDivRound(56300, 17, 30); got != 31903 {
		t.Errorf("563.00*17/30 = %s, want 319.03", got)
	}
	if got := payrun.MulDivRound(-5, 1, 2); got != -3 {
		t.Errorf("-0.05/2 = %s, want -0.03 (half away from zero)", got)
	}
	if got := payrun.Percent(3600).Of(56300); got != 20268 {
		t.Errorf("36%% of 563 = %s, want 202.68", got)
	}
}
