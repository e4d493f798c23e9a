package booking

import (
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/charmap"

	"github.com/payrun/payrun/payrun"
)

// Column names of the booking file, in their default order. The JSON
// records use the same names as keys.
const (
	ColMunicipality   = "municipality"
	ColRun            = "run"
	ColSeq            = "seq"
	ColCase           = "case"
	ColMonth          = "month"
	ColPayee          = "payee"
	ColLaw            = "law"
	ColComponent      = "component"
	ColCostBearer     = "cost_bearer"
	ColLineKind       = "line_kind"
	ColAccountKind    = "account_kind"
	ColAccount        = "account"
	ColProduct        = "product"
	ColCostCentre     = "cost_centre"
	ColBudgetPosition = "budget_position"
	ColSide           = "side"
	ColAmount         = "amount"
	ColReclaim        = "reclaim"
	ColText           = "text"
)

// Columns is the full column set in the default order.
var Columns = []string{
	ColMunicipality, ColRun, ColSeq, ColCase, ColMonth, ColPayee, ColLaw, ColComponent,
	ColCostBearer, ColLineKind, ColAccountKind, ColAccount, ColProduct, ColCostCentre,
	ColBudgetPosition, ColSide, ColAmount, ColReclaim, ColText,
}

// Column indexes into Columns.
const (
	ciMunicipality = iota
	ciRun
	ciSeq
	ciCase
	ciMonth
	ciPayee
	ciLaw
	ciComponent
	ciCostBearer
	ciLineKind
	ciAccountKind
	ciAccount
	ciProduct
	ciCostCentre
	ciBudgetPosition
	ciSide
	ciAmount
	ciReclaim
	ciText
)

// ControlRecordType is the first field of the closing control record.
const ControlRecordType = "CONTROL"

// Encodings a CSV file can be written in.
const (
	EncodingUTF8        = "utf-8"
	EncodingWindows1252 = "windows-1252"
	EncodingISO885915   = "iso-8859-15"
)

// CSVLayout configures the booking CSV of one municipality. Start from
// DefaultCSVLayout: the zero value has a decimal point, not a comma.
type CSVLayout struct {
	Separator    rune     // field separator; 0 means ';'
	DecimalComma bool     // "12,34" instead of "12.34"
	Encoding     string   // "" or "utf-8", "windows-1252", "iso-8859-15"
	Columns      []string // subset and order of Columns; nil means all
	CRLF         bool     // end records with CR LF instead of LF
}

// DefaultCSVLayout is the layout German finance systems expect most often:
// ';', decimal comma, UTF-8, all columns, LF.
func DefaultCSVLayout() CSVLayout {
	return CSVLayout{Separator: ';', DecimalComma: true, Encoding: EncodingUTF8}
}

// csvFormat is a checked CSVLayout.
type csvFormat struct {
	sep  byte
	mark byte
	eol  string
	cm   *charmap.Charmap
	cols []int // indexes into Columns
	// special marks the bytes that force a field to be quoted.
	special [256]bool
}

func (l CSVLayout) compile() (*csvFormat, error) {
	f := &csvFormat{sep: ';', mark: '.', eol: "\n"}
	if l.Separator != 0 {
		if l.Separator >= 0x80 || strings.ContainsRune("\"\r\n0123456789-", l.Separator) {
			return nil, fmt.Errorf("booking: csv layout: %w: separator %q", payrun.ErrInvalid, l.Separator)
		}
		f.sep = byte(l.Separator)
	}
	if l.DecimalComma {
		f.mark = ','
	}
	if f.sep == f.mark {
		return nil, fmt.Errorf("booking: csv layout: %w: separator %q equals the decimal mark", payrun.ErrInvalid, l.Separator)
	}
	if l.CRLF {
		f.eol = "\r\n"
	}
	for _, c := range []byte{f.sep, '"', '\r', '\n'} {
		f.special[c] = true
	}
	switch strings.ToLower(l.Encoding) {
	case "", EncodingUTF8, "utf8":
	case EncodingWindows1252, "cp1252":
		f.cm = charmap.Windows1252
	case EncodingISO885915, "latin-9", "latin9":
		f.cm = charmap.ISO8859_15
	default:
		return nil, fmt.Errorf("booking: csv layout: %w: encoding %q (want utf-8, windows-1252 or iso-8859-15)", payrun.ErrInvalid, l.Encoding)
	}
	cols, err := columnIndexes(l.Columns)
	if err != nil {
		return nil, err
	}
	f.cols = cols
	return f, nil
}

func columnIndexes(names []string) ([]int, error) {
	if len(names) == 0 {
		names = Columns
	}
	seen := make(map[string]bool, len(names))
	out := make([]int, 0, len(names))
	for _, n := range names {
		i := -1
		for j, c := range Columns {
			if c == n {
				i = j
			}
		}
		if i < 0 || seen[n] {
			return nil, fmt.Errorf("booking: csv layout: %w: column %q unknown or repeated (known: %s)",
				payrun.ErrInvalid, n, strings.Join(Columns, ", "))
		}
		seen[n] = true
		out = append(out, i)
	}
	return out, nil
}

// appendField appends s, quoted when it holds the separator, a quote or a
// line break (RFC 4180 quoting, quotes doubled). special marks those bytes.
func appendField[T string | []byte](b []byte, s T, special *[256]bool) []byte {
	need := false
	for i := 0; i < len(s); i++ {
		if special[s[i]] {
			need = true
			break
		}
	}
	if !need {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// CSVWriter streams journal entries as a booking CSV file: a header line,
// one record per entry, and a closing control record. It writes the same
// bytes for the same entries, run and layout.
type CSVWriter struct {
	f      *csvFormat
	run    string
	s      *sink
	rec    []byte
	text   []byte
	res    Result
	header bool
	closed bool
}

// NewCSVWriter returns a writer of the booking file of run to w.
func NewCSVWriter(w io.Writer, run string, layout CSVLayout) (*CSVWriter, error) {
	f, err := layout.compile()
	if err != nil {
		return nil, err
	}
	return &CSVWriter{f: f, run: run, s: newSink(w, f.cm), rec: make([]byte, 0, 512), text: make([]byte, 0, 128)}, nil
}

func (cw *CSVWriter) writeHeader() {
	b := cw.rec[:0]
	for i, c := range cw.f.cols {
		if i > 0 {
			b = append(b, cw.f.sep)
		}
		b = append(b, Columns[c]...)
	}
	b = append(b, cw.f.eol...)
	cw.rec = b
	cw.s.put(b, 0)
	cw.header = true
}

// Write adds one booking record.
func (cw *CSVWriter) Write(e *Entry) error {
	if cw.closed {
		return fmt.Errorf("booking: csv: write after close")
	}
	if !cw.header {
		cw.writeHeader()
	}
	if cw.s.err != nil {
		return cw.s.err
	}
	// UTF-8 records go straight into the sink's buffer; others are
	// transcoded from a scratch record.
	direct := cw.s.cm == nil
	b := cw.rec[:0]
	if direct {
		b = cw.s.buf
	}
	for i, c := range cw.f.cols {
		if i > 0 {
			b = append(b, cw.f.sep)
		}
		b = cw.appendColumn(b, c, e)
	}
	b = append(b, cw.f.eol...)
	if direct {
		cw.s.buf = b
		cw.s.maybeFlush()
	} else {
		cw.rec = b
		cw.s.put(b, e.Seq)
	}
	cw.res.add(e)
	return cw.s.err
}

func (r *Result) add(e *Entry) {
	r.Lines++
	if e.Side == Debit {
		r.Debit += e.Amount
	} else {
		r.Credit += e.Amount
	}
}

func (cw *CSVWriter) appendColumn(b []byte, col int, e *Entry) []byte {
	sep := &cw.f.special
	switch col {
	case ciMunicipality:
		return appendField(b, e.Municipality, sep)
	case ciRun:
		return appendField(b, cw.run, sep)
	case ciSeq:
		return appendInt(b, e.Seq)
	case ciCase:
		return appendField(b, e.CaseID, sep)
	case ciMonth:
		return e.Month.Append(b)
	case ciPayee:
		return append(b, e.Payee...) // a checked enum value
	case ciLaw:
		return append(b, e.Law...) // a checked enum value
	case ciComponent:
		return append(b, e.Component...) // a checked enum value
	case ciCostBearer:
		return append(b, e.CostBearer...) // a checked enum value
	case ciLineKind:
		return append(b, e.LineKind...) // a checked enum value
	case ciAccountKind:
		return append(b, e.AccountKind...) // a checked enum value
	case ciAccount:
		return appendField(b, e.Account, sep)
	case ciProduct:
		return appendField(b, e.Product, sep)
	case ciCostCentre:
		return appendField(b, e.CostCentre, sep)
	case ciBudgetPosition:
		return appendField(b, e.BudgetPosition, sep)
	case ciSide:
		if e.Side == Debit {
			return append(b, 'D')
		}
		return append(b, 'C')
	case ciAmount:
		return appendAmount(b, e.Amount, cw.f.mark)
	case ciReclaim:
		return appendField(b, e.ReclaimID, sep)
	case ciText:
		cw.text = e.AppendText(cw.text[:0])
		return appendField(b, cw.text, sep)
	}
	return b
}

// Close writes the header if nothing was written yet, then the control
// record "CONTROL;<records>;<debit total>;<credit total>;<run>;<sha256 of
// the body>", flushes, and returns the counts, totals and hashes.
func (cw *CSVWriter) Close() (Result, error) {
	if cw.closed {
		return cw.res, fmt.Errorf("booking: csv: closed twice")
	}
	cw.closed = true
	if !cw.header {
		cw.writeHeader()
	}
	body, err := cw.s.bodySum()
	if err != nil {
		return cw.res, err
	}
	sep := cw.f.sep
	b := append(cw.rec[:0], ControlRecordType...)
	b = appendInt(append(b, sep), cw.res.Lines)
	b = appendAmount(append(b, sep), cw.res.Debit, cw.f.mark)
	b = appendAmount(append(b, sep), cw.res.Credit, cw.f.mark)
	b = appendField(append(b, sep), cw.run, &cw.f.special)
	b = append(append(b, sep), body...)
	b = append(b, cw.f.eol...)
	cw.s.put(b, 0)
	sum, err := cw.s.finish()
	if err != nil {
		return cw.res, err
	}
	cw.res.BodySHA256, cw.res.SHA256, cw.res.Bytes = body, sum, cw.s.bytes
	return cw.res, nil
}
