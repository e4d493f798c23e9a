package bankday_test

import (
	"testing"
	"time"

	"github.com/payrun/payrun/sepa/bankday"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// DOMAIN.md §9, "Computed movable dates".
var movable = []struct {
	year                                                  int
	goodFri, easterMon, ascension, whitMon, corpusChristi time.Time
}{
	{2024, day(2024, 3, 29), day(2024, 4, 1), day(2024, 5, 9), day(2024, 5, 20), day(2024, 5, 30)},
	{2025, day(2025, 4, 18), day(2025, 4, 21), day(2025, 5, 29), day(2025, 6, 9), day(2025, 6, 19)},
	{2026, day(2026, 4, 3), day(2026, 4, 6), day(2026, 5, 14), day(2026, 5, 25), day(2026, 6, 4)},
	{2027, day(2027, 3, 26), day(2027, 3, 29), day(2027, 5, 6), day(2027, 5, 17), day(2027, 5, 27)},
}

func TestMovableHolidays(t *testing.T) {
	t.Parallel()
	de, nrw := bankday.Calendar{}, bankday.Calendar{NRW: true}
	for _, tc := range movable {
		for _, d := range []time.Time{tc.goodFri, tc.easterMon, tc.ascension, tc.whitMon} {
			if de.IsBusinessDay(d) || nrw.IsBusinessDay(d) {
				t.Errorf("%d: %s should be a closing day", tc.year, d.Format(time.DateOnly))
			}
		}
		if !de.IsBusinessDay(tc.corpusChristi) {
			t.Errorf("%d: Corpus Christi %s is a business day nationwide", tc.year, tc.corpusChristi.Format(time.DateOnly))
		}
		if nrw.IsBusinessDay(tc.corpusChristi) {
			t.Errorf("%d: Corpus Christi %s is a holiday in NRW", tc.year, tc.corpusChristi.Format(time.DateOnly))
		}
		if got := bankday.Easter(tc.year); !got.Equal(tc.easterMon.AddDate(0, 0, -1)) {
			t.Errorf("Easter %d = %s", tc.year, got.Format(time.DateOnly))
		}
		// The days around the movable holidays are ordinary (Thursday before
		// Good Friday, Tuesday after Easter Monday).
		for _, d := range []time.Time{tc.goodFri.AddDate(0, 0, -1), tc.easterMon.AddDate(0, 0, 1), tc.whitMon.AddDate(0, 0, 1)} {
			if !nrw.IsBusinessDay(d) {
				t.Errorf("%d: %s should be a business day", tc.year, d.Format(time.DateOnly))
			}
		}
	}
}

func TestFixedDays(t *testing.T) {
	t.Parallel()
	de, nrw := bankday.Calendar{}, bankday.Calendar{NRW: true}
	tests := []struct {
		d        time.Time
		de, nrwB bool
	}{
		{day(2026, 1, 1), false, false},   // Thursday, New Year
		{day(2026, 1, 2), true, true},     // Friday
		{day(2025, 5, 1), false, false},   // Thursday, Labour Day
		{day(2025, 10, 3), false, false},  // Friday, German Unity Day
		{day(2025, 11, 3), true, true},    // Monday
		{day(2024, 11, 1), true, false},   // Friday, All Saints (NRW only)
		{day(2025, 12, 24), false, false}, // Wednesday, bank holiday
		{day(2025, 12, 25), false, false},
		{day(2025, 12, 26), false, false},
		{day(2025, 12, 31), false, false}, // Wednesday, bank holiday
		{day(2025, 12, 23), true, true},
		{day(2026, 5, 30), false, false}, // Saturday
		{day(2026, 5, 31), false, false}, // Sunday
		{day(2026, 5, 29), true, true},   // Friday
	}
	for _, tc := range tests {
		if got := de.IsBusinessDay(tc.d); got != tc.de {
			t.Errorf("nationwide %s: got %v, want %v", tc.d.Format(time.DateOnly), got, tc.de)
		}
		if got := nrw.IsBusinessDay(tc.d); got != tc.nrwB {
			t.Errorf("NRW %s: got %v, want %v", tc.d.Format(time.DateOnly), got, tc.nrwB)
		}
	}
}

func TestExecutionDate(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.FixedZone("CET", 3600)
	}
	tests := []struct {
		name   string
		cal    bankday.Calendar
		period time.Time
		n      int
		want   time.Time
	}{
		// DOMAIN.md §5: June 2025 went out Fri 30 May (Ascension 29 May, Sat 31 May).
		{"June 2025", bankday.Calendar{}, day(2025, 6, 1), 1, day(2025, 5, 30)},
		{"June 2025 two days", bankday.Calendar{}, day(2025, 6, 1), 2, day(2025, 5, 28)},
		{"n=0 means 1", bankday.Calendar{}, day(2025, 6, 1), 0, day(2025, 5, 30)},
		// January 2026: 31 Dec (Wed) is closed, so 30 Dec (Tue).
		{"January 2026", bankday.Calendar{}, day(2026, 1, 1), 1, day(2025, 12, 30)},
		// 3 days before 1 Jan 2026: 30, 29 Dec, then 23 Dec (24-28 closed or weekend).
		{"January 2026 three days", bankday.Calendar{}, day(2026, 1, 1), 3, day(2025, 12, 23)},
		// November 2024: 31 Oct 2024 is a Thursday, an ordinary day.
		{"November 2024", bankday.Calendar{NRW: true}, day(2024, 11, 1), 1, day(2024, 10, 31)},
		// December 2024 NRW: 1 Dec is a Sunday; 30 Nov Sat; 29 Nov Fri.
		{"December 2024", bankday.Calendar{NRW: true}, day(2024, 12, 1), 1, day(2024, 11, 29)},
		// April 2026: 1 Apr is Wednesday, so 31 Mar (Tue).
		{"April 2026", bankday.Calendar{}, day(2026, 4, 1), 1, day(2026, 3, 31)},
		// The location of the input does not matter, only its date.
		{"Berlin midnight", bankday.Calendar{}, time.Date(2025, 6, 1, 0, 0, 0, 0, berlin), 1, day(2025, 5, 30)},
		// Corpus Christi 2027 is Thu 27 May; 1 Jun 2027 is a Tuesday.
		{"June 2027 NRW", bankday.Calendar{NRW: true}, day(2027, 6, 1), 4, day(2027, 5, 25)}, // 31, 28, 26, 25 May
		{"June 2027", bankday.Calendar{}, day(2027, 6, 1), 4, day(2027, 5, 26)},              // 31, 28, 27, 26 May
	}
	for _, tc := range tests {
		got := tc.cal.ExecutionDate(tc.period, tc.n)
		if !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("%s: ExecutionDate(%s, %d) = %s, want %s", tc.name, tc.period.Format(time.DateOnly), tc.n, got, tc.want.Format(time.DateOnly))
		}
	}
}

// TestEasterRange checks Easter's known bounds (22 Mar..25 Apr, a Sunday)
// over four centuries and a few published dates.
func TestEasterRange(t *testing.T) {
	t.Parallel()
	known := map[int]time.Time{1818: day(1818, 3, 22), 2038: day(2038, 4, 25), 2000: day(2000, 4, 23), 2019: day(2019, 4, 21)}
	for y := 1900; y < 2300; y++ {
		e := bankday.Easter(y)
		if e.Weekday() != time.Sunday || e.Before(day(y, 3, 22)) || e.After(day(y, 4, 25)) {
			t.Fatalf("Easter %d = %s", y, e.Format(time.DateOnly))
		}
	}
	for y, want := range known {
		if got := bankday.Easter(y); !got.Equal(want) {
			t.Errorf("Easter %d = %s, want %s", y, got.Format(time.DateOnly), want.Format(time.DateOnly))
		}
	}
}
