package export

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
	"github.com/payrun/payrun/payrun/store"
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

// bookings books the run's lines on the chart and writes the journal as
// CSV (the municipality's layout) and, when asked for, JSON Lines. It
// checks that debits equal credits, and records what the bookings pull
// API needs (store.Journal).
type bookings struct {
	x     *exporter
	chart *booking.Chart
	rules []booking.Rule
	cf    *pubFile
	cw    *booking.CSVWriter
	jf    *pubFile // nil without JSON Lines
	jw    *booking.JSONWriter
	pager store.JournalPager
	res   booking.Result
	files []File

	lines      int64
	netPayable payrun.Cents // payable credits − debits: the money paid out
}

func (x *exporter) newBookings(chart *booking.Chart, layout booking.CSVLayout, rules []booking.Rule) (*bookings, error) {
	r := &x.run
	b := &bookings{x: x, chart: chart, rules: rules}
	base := fmt.Sprintf("%s-%s-run%d-bookings", r.Municipality, r.Period, r.ID)
	var err error
	if b.cf, err = x.pub.createHashed(base + ".csv"); err != nil {
		return nil, err
	}
	if b.cw, err = booking.NewCSVWriter(b.cf, x.man.Run, layout); err != nil {
		return nil, fmt.Errorf("export: %s: %w", b.cf.name, err)
	}
	if x.opts.BookingsJSON || r.Settings.BookingsJSONL {
		if b.jf, err = x.pub.createHashed(base + ".jsonl"); err != nil {
			return nil, err
		}
		b.jw = booking.NewJSONWriter(b.jf, x.man.Run)
	}
	return b, nil
}

// run consumes the line batches, releasing each.
func (b *bookings) run(_ context.Context, in <-chan *lineBatch, release func(*lineBatch)) error {
	lines := func(yield func(booking.Line, error) bool) {
		for lb := range in {
			for i := range lb.lines {
				if !yield(lb.lines[i].Line, nil) {
					release(lb)
					return
				}
			}
			release(lb)
		}
	}
	for e, err := range b.chart.Journal(lines) {
		if err != nil {
			return fmt.Errorf("export: bookings of run %d: %w", b.x.run.ID, err)
		}
		if err := b.entry(&e); err != nil {
			return err
		}
	}
	return b.close()
}

// entry writes one journal entry.
func (b *bookings) entry(e *booking.Entry) error {
	if e.Side == booking.Debit {
		b.lines++ // every line gives its debit first
		b.pager.Add(e.Seq, e.CaseID)
	}
	if e.AccountKind == booking.KindPayable {
		if e.Side == booking.Credit {
			b.netPayable += e.Amount
		} else {
			b.netPayable -= e.Amount
		}
	}
	if err := b.cw.Write(e); err != nil {
		return fmt.Errorf("export: %s: %w", b.cf.name, err)
	}
	if b.jw != nil {
		if err := b.jw.Write(e); err != nil {
			return fmt.Errorf("export: %s: %w", b.jf.name, err)
		}
	}
	return nil
}

// close completes the files.
func (b *bookings) close() error {
	type out struct {
		f     *pubFile
		kind  string
		close func() (booking.Result, error)
	}
	outs := []out{{b.cf, KindBookings, b.cw.Close}}
	if b.jw != nil {
		outs = append(outs, out{b.jf, KindBookingsJSON, b.jw.Close})
	}
	for i, w := range outs {
		res, err := w.close()
		if err != nil {
			return fmt.Errorf("export: %s: %w", w.f.name, err)
		}
		if res.Debit != res.Credit {
			return fmt.Errorf("%w: %s: debits %s ≠ credits %s", ErrReconcile, w.f.name, res.Debit, res.Credit)
		}
		if i == 0 {
			b.res = res
		}
		if err := w.f.finishHashed(res.SHA256, res.Bytes); err != nil {
			return err
		}
		b.files = append(b.files, File{Name: w.f.name, Kind: w.kind, SHA256: w.f.sum, Lines: res.Lines})
		if err := b.x.fileDone(w.f.name); err != nil {
			return err
		}
	}
	return nil
}

// journal is what the bookings pull API needs of the journal written.
func (b *bookings) journal() *store.Journal {
	return &store.Journal{Records: b.res.Lines, Debit: b.res.Debit, Credit: b.res.Credit,
		Rules: b.rules, Pages: b.pager.Pages()}
}
