package booking

import (
	"fmt"
	"io"
)

// AppendJSON appends e as one JSON object (no newline) with the keys of
// Columns in their order plus "record":"booking" first; amounts are
// strings "12.34", side is "debit" or "credit". The pull API serves these
// objects; JSONWriter writes them one per line.
func AppendJSON(b []byte, run string, e *Entry) []byte {
	b = append(b, `{"record":"booking","municipality":`...)
	b = appendJSONString(b, e.Municipality)
	b = append(b, `,"run":`...)
	b = appendJSONString(b, run)
	b = append(b, `,"seq":`...)
	b = appendInt(b, e.Seq)
	b = append(b, `,"case":`...)
	b = appendJSONString(b, e.CaseID)
	b = append(b, `,"month":"`...)
	b = e.Month.Append(b)
	b = append(b, `","payee":`...)
	b = appendJSONString(b, string(e.Payee))
	b = append(b, `,"law":`...)
	b = appendJSONString(b, string(e.Law))
	b = append(b, `,"component":`...)
	b = appendJSONString(b, string(e.Component))
	b = append(b, `,"cost_bearer":`...)
	b = appendJSONString(b, string(e.CostBearer))
	b = append(b, `,"line_kind":`...)
	b = appendJSONString(b, string(e.LineKind))
	b = append(b, `,"account_kind":`...)
	b = appendJSONString(b, string(e.AccountKind))
	b = append(b, `,"account":`...)
	b = appendJSONString(b, e.Account)
	b = append(b, `,"product":`...)
	b = appendJSONString(b, e.Product)
	b = append(b, `,"cost_centre":`...)
	b = appendJSONString(b, e.CostCentre)
	b = append(b, `,"budget_position":`...)
	b = appendJSONString(b, e.BudgetPosition)
	b = append(b, `,"side":"`...)
	b = append(b, e.Side.String()...)
	b = append(b, `","amount":"`...)
	b = e.Amount.Append(b)
	b = append(b, `","reclaim":`...)
	b = appendJSONString(b, e.ReclaimID)
	b = append(b, `,"text":`...)
	var text [160]byte
	b = appendJSONString(b, e.AppendText(text[:0]))
	return append(b, '}')
}

// JSONWriter streams journal entries as JSON Lines: one AppendJSON object
// per line, then a control object {"record":"control","lines":N,
// "debit":"…","credit":"…","run":"…","sha256":"<hex of the lines before>"}.
// Output is UTF-8 and deterministic.
type JSONWriter struct {
	run    string
	s      *sink
	rec    []byte
	res    Result
	closed bool
}

// NewJSONWriter returns a JSON Lines writer of the bookings of run to w.
func NewJSONWriter(w io.Writer, run string) *JSONWriter {
	return &JSONWriter{run: run, s: newSink(w, nil), rec: make([]byte, 0, 768)}
}

// Write adds one booking record.
func (jw *JSONWriter) Write(e *Entry) error {
	if jw.closed {
		return fmt.Errorf("booking: json: write after close")
	}
	jw.rec = append(AppendJSON(jw.rec[:0], jw.run, e), '\n')
	jw.s.put(jw.rec, e.Seq)
	jw.res.add(e)
	return jw.s.err
}

// Close writes the control object, flushes and returns counts, totals and
// hashes.
func (jw *JSONWriter) Close() (Result, error) {
	if jw.closed {
		return jw.res, fmt.Errorf("booking: json: closed twice")
	}
	jw.closed = true
	body, err := jw.s.bodySum()
	if err != nil {
		return jw.res, err
	}
	b := append(jw.rec[:0], `{"record":"control","lines":`...)
	b = appendInt(b, jw.res.Lines)
	b = append(b, `,"debit":"`...)
	b = jw.res.Debit.Append(b)
	b = append(b, `","credit":"`...)
	b = jw.res.Credit.Append(b)
	b = append(b, `","run":`...)
	b = appendJSONString(b, jw.run)
	b = append(b, `,"sha256":"`...)
	b = append(b, body...)
	b = append(b, "\"}\n"...)
	jw.s.put(b, 0)
	sum, err := jw.s.finish()
	if err != nil {
		return jw.res, err
	}
	jw.res.BodySHA256, jw.res.SHA256, jw.res.Bytes = body, sum, jw.s.bytes
	return jw.res, nil
}
