package booking

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/payrun/payrun/payrun"
)

// Quarter46a is one row of the § 46a SGB XII report: the net expenditure
// of cost bearer bund_46a of one municipality in one calendar quarter,
// with the window in which the Land calls the refund off (DOMAIN.md §7).
type Quarter46a struct {
	Municipality  string
	Year          int
	Quarter       int         // 1–4
	CallOffFrom   payrun.Date // first day of the call-off window
	CallOffTo     payrun.Date // last day of the call-off window
	Expenses      payrun.Cents
	Overpayments  payrun.Cents // new receivables (receipts)
	OffsetRevenue payrun.Cents // reclaims set off (receipts)
	Net           payrun.Cents // Expenses − Overpayments − OffsetRevenue
}

type quarterKey struct {
	municipality string
	year         int
	quarter      int
}

// Report46a accumulates the § 46a quarterly report from journal entries.
// Expenses are the expense entries of payment lines (income already
// deducted); receipts are new overpayment receivables and offset revenue.
// The expense credits of overpayment lines are the counterpart of the
// receivables and are not counted twice. Net therefore equals Σ amounts of
// all bund_46a run lines of the quarter.
type Report46a struct {
	rows map[quarterKey]*Quarter46a
}

// NewReport46a returns an empty report.
func NewReport46a() *Report46a { return &Report46a{rows: make(map[quarterKey]*Quarter46a)} }

// Add counts e in the quarter of month m. Pass the month the run pays out
// (cash principle) or e.Month (benefit month), as the county's statement
// requires. Entries of other cost bearers are ignored.
func (r *Report46a) Add(m payrun.Month, e *Entry) {
	if e.CostBearer != payrun.BearerBund {
		return
	}
	k := quarterKey{e.Municipality, m.Year(), (int(m.Mon())-1)/3 + 1}
	row := r.rows[k]
	if row == nil {
		row = newQuarter(k)
		r.rows[k] = row
	}
	signed := e.Amount
	if e.Side == Credit {
		signed = -signed
	}
	switch {
	case e.AccountKind == KindExpense && e.LineKind == payrun.LinePayment:
		row.Expenses += signed
	case e.AccountKind == KindReceivable:
		row.Overpayments += signed
	case e.AccountKind == KindRevenue:
		row.OffsetRevenue -= signed
	default:
		return
	}
	row.Net = row.Expenses - row.Overpayments - row.OffsetRevenue
}

func newQuarter(k quarterKey) *Quarter46a {
	q := &Quarter46a{Municipality: k.municipality, Year: k.year, Quarter: k.quarter}
	switch k.quarter {
	case 1, 2, 3:
		from := time.Month(3 * k.quarter)
		q.CallOffFrom = payrun.NewDate(k.year, from, 15)
		q.CallOffTo = payrun.NewDate(k.year, from+2, 14)
	default:
		q.CallOffFrom = payrun.NewDate(k.year+1, time.January, 1)
		q.CallOffTo = payrun.NewDate(k.year+1, time.February, 28)
	}
	return q
}

// Rows returns the quarters sorted by municipality, year and quarter.
func (r *Report46a) Rows() []Quarter46a {
	out := make([]Quarter46a, 0, len(r.rows))
	for _, q := range r.rows {
		out = append(out, *q)
	}
	slices.SortFunc(out, func(a, b Quarter46a) int {
		return cmp.Or(cmp.Compare(a.Municipality, b.Municipality), cmp.Compare(a.Year, b.Year), cmp.Compare(a.Quarter, b.Quarter))
	})
	return out
}

// FlueAGMonth is one row of the FlüAG report: AsylbLG person-months of one
// municipality in one month, by category (§ 3, § 2, § 1a AsylbLG).
type FlueAGMonth struct {
	Municipality string
	Month        payrun.Month
	AsylbLG3     int
	AsylbLG2     int
	AsylbLG1a    int
	Total        int
}

type flueagKey struct {
	municipality string
	month        payrun.Month
}

// FlueAGReport accumulates person-months for § 4 FlüAG NRW.
type FlueAGReport struct {
	rows map[flueagKey]*FlueAGMonth
}

// NewFlueAGReport returns an empty report.
func NewFlueAGReport() *FlueAGReport { return &FlueAGReport{rows: make(map[flueagKey]*FlueAGMonth)} }

// Add counts persons under law in municipality and month m. Laws outside
// the AsylbLG are ignored; negative counts are an error.
func (r *FlueAGReport) Add(municipality string, m payrun.Month, law payrun.Law, persons int) error {
	if persons < 0 {
		return fmt.Errorf("booking: flüag report %s %s %s: %w: %d persons", municipality, m, law, payrun.ErrInvalid, persons)
	}
	if !law.IsAsylbLG() {
		return nil
	}
	k := flueagKey{municipality, m}
	row := r.rows[k]
	if row == nil {
		row = &FlueAGMonth{Municipality: municipality, Month: m}
		r.rows[k] = row
	}
	switch law {
	case payrun.LawAsylbLG3:
		row.AsylbLG3 += persons
	case payrun.LawAsylbLG2:
		row.AsylbLG2 += persons
	case payrun.LawAsylbLG1a:
		row.AsylbLG1a += persons
	}
	row.Total += persons
	return nil
}

// AddCounts adds the per-law counts of one municipality and month, the
// shape calc.PersonMonths returns.
func (r *FlueAGReport) AddCounts(municipality string, m payrun.Month, counts map[payrun.Law]int) error {
	for _, law := range payrun.Laws {
		if err := r.Add(municipality, m, law, counts[law]); err != nil {
			return err
		}
	}
	return nil
}

// Rows returns the rows sorted by municipality and month.
func (r *FlueAGReport) Rows() []FlueAGMonth {
	out := make([]FlueAGMonth, 0, len(r.rows))
	for _, q := range r.rows {
		out = append(out, *q)
	}
	slices.SortFunc(out, func(a, b FlueAGMonth) int {
		return cmp.Or(cmp.Compare(a.Municipality, b.Municipality), cmp.Compare(a.Month, b.Month))
	})
	return out
}

// reportWriter writes simple report CSVs with a layout's separator,
// decimal mark, encoding and line end (Columns is ignored).
type reportWriter struct {
	f   *csvFormat
	s   *sink
	rec []byte
}

func newReportWriter(w io.Writer, layout CSVLayout) (*reportWriter, error) {
	layout.Columns = nil
	f, err := layout.compile()
	if err != nil {
		return nil, err
	}
	return &reportWriter{f: f, s: newSink(w, f.cm)}, nil
}

func (rw *reportWriter) record(fields ...func([]byte) []byte) {
	b := rw.rec[:0]
	for i, f := range fields {
		if i > 0 {
			b = append(b, rw.f.sep)
		}
		b = f(b)
	}
	rw.rec = append(b, rw.f.eol...)
	rw.s.put(rw.rec, 0)
}

func (rw *reportWriter) str(s string) func([]byte) []byte {
	return func(b []byte) []byte { return appendField(b, s, &rw.f.special) }
}

func (rw *reportWriter) amount(c payrun.Cents) func([]byte) []byte {
	return func(b []byte) []byte { return appendAmount(b, c, rw.f.mark) }
}

func num(v int) func([]byte) []byte {
	return func(b []byte) []byte { return appendInt(b, int64(v)) }
}

func (rw *reportWriter) header(names ...string) {
	fs := make([]func([]byte) []byte, len(names))
	for i, n := range names {
		fs[i] = rw.str(n)
	}
	rw.record(fs...)
}

// WriteReport46aCSV writes the quarterly rows with the header
// municipality, year, quarter, call_off_from, call_off_to, expenses,
// overpayments, offset_revenue, net.
func WriteReport46aCSV(w io.Writer, rows []Quarter46a, layout CSVLayout) error {
	rw, err := newReportWriter(w, layout)
	if err != nil {
		return err
	}
	rw.header("municipality", "year", "quarter", "call_off_from", "call_off_to", "expenses", "overpayments", "offset_revenue", "net")
	for _, q := range rows {
		rw.record(rw.str(q.Municipality), num(q.Year), num(q.Quarter), rw.str(q.CallOffFrom.String()), rw.str(q.CallOffTo.String()),
			rw.amount(q.Expenses), rw.amount(q.Overpayments), rw.amount(q.OffsetRevenue), rw.amount(q.Net))
	}
	_, err = rw.s.finish()
	return err
}

// WriteFlueAGCSV writes the person-month rows with the header
// municipality, month, asylblg_3, asylblg_2, asylblg_1a, total.
func WriteFlueAGCSV(w io.Writer, rows []FlueAGMonth, layout CSVLayout) error {
	rw, err := newReportWriter(w, layout)
	if err != nil {
		return err
	}
	rw.header("municipality", "month", "asylblg_3", "asylblg_2", "asylblg_1a", "total")
	for _, r := range rows {
		rw.record(rw.str(r.Municipality), rw.str(r.Month.String()), num(r.AsylbLG3), num(r.AsylbLG2), num(r.AsylbLG1a), num(r.Total))
	}
	_, err = rw.s.finish()
	return err
}
