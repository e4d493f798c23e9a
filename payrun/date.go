package payrun

import (
	"fmt"
	"time"
)

// Date is a civil (calendar) date without time or zone, held as the number
// of days since 1970-01-01. Arithmetic on it is plain integer arithmetic.
type Date int32

// NoDate stands for an open end (valid_to null). It is later than any real date.
const NoDate Date = 1 << 30

// NewDate returns the Date of year y, month m (1–12), day d. It does not
// normalise: callers pass valid dates (see ParseDate for checked input).
func NewDate(y int, m time.Month, d int) Date {
	// days_from_civil, H. Hinnant, public domain.
	yy := y
	if m <= 2 {
		yy--
	}
	era := yy / 400
	if yy < 0 && yy%400 != 0 {
		era = (yy - 399) / 400
	}
	yoe := yy - era*400
	mp := (int(m) + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return Date(era*146097 + doe - 719468)
}

// DateOf returns the civil date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return NewDate(y, m, d)
}

// YMD returns the year, month and day of d.
func (d Date) YMD() (int, time.Month, int) {
	z := int(d) + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, time.Month(m), day
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday {
	return time.Weekday((int(d)%7 + 7 + 4) % 7) // 1970-01-01 was a Thursday
}

// Time returns midnight of d in loc.
func (d Date) Time(loc *time.Location) time.Time {
	y, m, dd := d.YMD()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc)
}

// Month returns the calendar month that contains d.
func (d Date) Month() Month {
	y, m, _ := d.YMD()
	return MonthOf(y, m)
}

// String formats d as YYYY-MM-DD, or "open" for NoDate.
func (d Date) String() string {
	if d == NoDate {
		return "open"
	}
	y, m, dd := d.YMD()
	return fmt.Sprintf("%04d-%02d-%02d", y, int(m), dd)
}

// ParseDate parses an ISO date YYYY-MM-DD and rejects impossible dates.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || len(s) != 10 {
		return 0, fmt.Errorf("date %q: not a valid YYYY-MM-DD date", s)
	}
	return DateOf(t), nil
}

// MarshalJSON writes d as "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads "YYYY-MM-DD".
func (d *Date) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("date must be a string like \"2026-11-15\", got %s", b)
	}
	v, err := ParseDate(string(b[1 : len(b)-1]))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Month is a calendar month, held as year×12 + (month−1), so that months
// compare and subtract as integers. It is also the run period type.
type Month int32

// MonthOf returns the Month of year y and month m.
func MonthOf(y int, m time.Month) Month { return Month(y*12 + int(m) - 1) }

// Year returns the year of m.
func (m Month) Year() int { return int(m) / 12 }

// Mon returns the month of the year of m.
func (m Month) Mon() time.Month { return time.Month(int(m)%12 + 1) }

// First returns the first day of m.
func (m Month) First() Date { return NewDate(m.Year(), m.Mon(), 1) }

// Last returns the last day of m.
func (m Month) Last() Date { return (m + 1).First() - 1 }

// Days returns the number of days in m.
func (m Month) Days() int { return int((m + 1).First() - m.First()) }

// String formats m as YYYY-MM.
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year(), int(m.Mon())) }

// Append appends m as String formats it, without fmt for the years 0–9999
// (the run's digest, packed lines and bookings format millions of them).
func (m Month) Append(b []byte) []byte {
	y, mo := m.Year(), int(m.Mon())
	if y < 0 || y > 9999 {
		return append(b, m.String()...)
	}
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+mo/10), byte('0'+mo%10))
}

// ParseMonth parses YYYY-MM.
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != 7 {
		return 0, fmt.Errorf("period %q: not a valid YYYY-MM month", s)
	}
	return MonthOf(t.Year(), t.Month()), nil
}

// MarshalJSON writes m as "YYYY-MM".
func (m Month) MarshalJSON() ([]byte, error) { return []byte(`"` + m.String() + `"`), nil }

// UnmarshalJSON reads "YYYY-MM".
func (m *Month) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("month must be a string like \"2026-12\", got %s", b)
	}
	v, err := ParseMonth(string(b[1 : len(b)-1]))
	if err != nil {
		return err
	}
	*m = v
	return nil
}
