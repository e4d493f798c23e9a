package export

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
)

// bookingCSV is the municipality setting "booking_csv" that configures the
// booking CSV layout; every field is optional and defaults to
// booking.DefaultCSVLayout.
type bookingCSV struct {
	Separator    string   `json:"separator"`
	DecimalComma *bool    `json:"decimal_comma"`
	Encoding     string   `json:"encoding"`
	Columns      []string `json:"columns"`
	CRLF         bool     `json:"crlf"`
}

// csvLayout builds the booking CSV layout from the municipality settings.
func csvLayout(raw json.RawMessage) (booking.CSVLayout, error) {
	l := booking.DefaultCSVLayout()
	if len(raw) == 0 || string(raw) == "null" {
		return l, nil
	}
	var s bookingCSV
	if err := json.Unmarshal(raw, &s); err != nil {
		return l, fmt.Errorf("export: setting booking_csv: %w: %v", payrun.ErrInvalid, err)
	}
	if s.Separator != "" {
		r, n := utf8.DecodeRuneInString(s.Separator)
		if n != len(s.Separator) {
			return l, fmt.Errorf("export: setting booking_csv.separator %q: %w: want one character", s.Separator, payrun.ErrInvalid)
		}
		l.Separator = r
	}
	if s.DecimalComma != nil {
		l.DecimalComma = *s.DecimalComma
	}
	if s.Encoding != "" {
		l.Encoding = s.Encoding
	}
	l.Columns, l.CRLF = s.Columns, s.CRLF
	return l, nil
}

// writeBookings books the run's lines on the municipality's chart and
// writes the journal as CSV (the municipality's layout) and JSON Lines in
// one pass over the lines. It checks that debits equal credits.
func (x *exporter) writeBookings(ctx context.Context) error {
	r := &x.run
	chart, err := x.db.LoadChart(ctx, r.Municipality)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	x.chart = chart
	layout, err := csvLayout(r.Settings.BookingCSV)
	if err != nil {
		return err
	}
	base := fmt.Sprintf("%s-%s-run%d-bookings", r.Municipality, r.Period, r.ID)
	cf, err := x.pub.create(base + ".csv")
	if err != nil {
		return err
	}
	jf, err := x.pub.create(base + ".jsonl")
	if err != nil {
		return err
	}
	cw, err := booking.NewCSVWriter(cf, x.man.Run, layout)
	if err != nil {
		return fmt.Errorf("export: %s: %w", cf.name, err)
	}
	jw := booking.NewJSONWriter(jf, x.man.Run)
	for e, err := range chart.Journal(x.db.StreamBookingLines(ctx, r.Municipality, r.ID)) {
		if err != nil {
			return fmt.Errorf("export: bookings of run %d: %w", r.ID, err)
		}
		if err := cw.Write(&e); err != nil {
			return fmt.Errorf("export: %s: %w", cf.name, err)
		}
		if err := jw.Write(&e); err != nil {
			return fmt.Errorf("export: %s: %w", jf.name, err)
		}
	}
	for _, w := range []struct {
		f     *pubFile
		kind  string
		close func() (booking.Result, error)
	}{{cf, KindBookings, cw.Close}, {jf, KindBookingsJSON, jw.Close}} {
		res, err := w.close()
		if err != nil {
			return fmt.Errorf("export: %s: %w", w.f.name, err)
		}
		if res.Debit != res.Credit {
			return fmt.Errorf("%w: %s: debits %s ≠ credits %s", ErrReconcile, w.f.name, res.Debit, res.Credit)
		}
		if err := w.f.finish(); err != nil {
			return err
		}
		if err := x.fileDone(File{Name: w.f.name, Kind: w.kind, SHA256: w.f.sum, Lines: res.Lines}); err != nil {
			return err
		}
	}
	return nil
}

// storeJournal stores the run's journal for the bookings pull API
// (idempotent: a re-export adds nothing).
func (x *exporter) storeJournal(ctx context.Context) error {
	r := &x.run
	if _, err := x.db.StoreJournal(ctx, r.Municipality, r.ID, x.chart.Journal(x.db.StreamBookingLines(ctx, r.Municipality, r.ID))); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
