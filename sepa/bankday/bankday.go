// Package bankday computes German bank business days for SEPA execution
// dates (DOMAIN.md §9): a day is a business day unless it is a Saturday or
// Sunday, a TARGET closing day (1 Jan, Good Friday, Easter Monday, 1 May,
// 25 and 26 Dec), a German nationwide holiday (additionally Ascension, Whit
// Monday, 3 Oct), 24 or 31 Dec, or, with Calendar.NRW, an NRW-only holiday
// (Corpus Christi, 1 Nov). Easter is computed (anonymous Gregorian
// algorithm); nothing is listed per year.
//
// Dates are time.Time values: only the calendar date in the value's own
// location is used, and every returned date is midnight UTC. SCT Inst runs
// 24/7 and does not need this calendar.
package bankday

import "time"

// Calendar is a bank business day calendar. The zero value is the
// nationwide calendar; NRW adds Corpus Christi and All Saints' Day.
type Calendar struct {
	NRW bool
}

// civil returns the calendar date of t as midnight UTC.
func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Easter returns Easter Sunday of year y (Gregorian calendar) at midnight
// UTC, by the anonymous Gregorian (Meeus/Jones/Butcher) algorithm.
func Easter(y int) time.Time {
	a := y % 19
	b, c := y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(y, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}

// Holiday returns the name of the closing day t falls on ("" if none),
// weekends excluded.
func (c Calendar) Holiday(t time.Time) string {
	t = civil(t)
	y, m, d := t.Date()
	switch {
	case m == time.January && d == 1:
		return "New Year's Day"
	case m == time.May && d == 1:
		return "Labour Day"
	case m == time.October && d == 3:
		return "German Unity Day"
	case m == time.November && d == 1 && c.NRW:
		return "All Saints' Day (NRW)"
	case m == time.December && d == 24:
		return "Christmas Eve (bank holiday)"
	case m == time.December && d == 25:
		return "Christmas Day"
	case m == time.December && d == 26:
		return "St Stephen's Day"
	case m == time.December && d == 31:
		return "New Year's Eve (bank holiday)"
	}
	switch int(t.Sub(Easter(y)).Hours() / 24) {
	case -2:
		return "Good Friday"
	case 1:
		return "Easter Monday"
	case 39:
		return "Ascension Day"
	case 50:
		return "Whit Monday"
	case 60:
		if c.NRW {
			return "Corpus Christi (NRW)"
		}
	}
	return ""
}

// IsBusinessDay reports whether t's calendar date is a bank business day.
func (c Calendar) IsBusinessDay(t time.Time) bool {
	switch t.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	return c.Holiday(t) == ""
}

// ExecutionDate returns the n-th bank business day before periodFirst
// (normally the 1st of the paid month): n = 1 is the last business day
// before it. n < 1 is treated as 1.
func (c Calendar) ExecutionDate(periodFirst time.Time, n int) time.Time {
	if n < 1 {
		n = 1
	}
	d := civil(periodFirst)
	for n > 0 {
		d = d.AddDate(0, 0, -1)
		if c.IsBusinessDay(d) {
			n--
		}
	}
	return d
}
