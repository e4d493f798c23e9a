package store

import (
	"encoding/binary"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/payrun/payrun/payrun"
)

// AppendDecisionJSON appends json.Marshal(d) to b without reflection (the
// fixture writer uses it; the importer hashes the same form).
func AppendDecisionJSON(b []byte, d *payrun.Decision) []byte {
	b, _, _ = appendCanonical(b, d)
	return b
}

// appendCanonical appends json.Marshal(d) to b, without reflection, and
// returns the offsets of the persons array in the result (json.Marshal of
// d.Persons). The canonical form is what content_sha256 hashes, so it must
// stay byte-identical to json.Marshal: TestCanonicalMatchesMarshal and
// FuzzFastDecode compare the two.
func appendCanonical(b []byte, d *payrun.Decision) (out []byte, personsFrom, personsTo int) {
	b = append(b, `{"municipality":`...)
	b = appendJSONString(b, d.Municipality)
	b = append(b, `,"decision_id":`...)
	b = appendJSONString(b, d.DecisionID)
	b = append(b, `,"case_id":`...)
	b = appendJSONString(b, d.CaseID)
	if len(d.Supersedes) > 0 {
		b = append(b, `,"supersedes":[`...)
		for i, s := range d.Supersedes {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	b = append(b, `,"law":`...)
	b = appendJSONString(b, string(d.Law))
	b = append(b, `,"valid_from":`...)
	b = appendJSONDate(b, d.ValidFrom)
	b = append(b, `,"valid_to":`...)
	if d.ValidTo == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONDate(b, *d.ValidTo)
	}
	b = append(b, `,"persons":`...)
	personsFrom = len(b)
	b = appendPersons(b, d.Persons)
	personsTo = len(b)
	if h := d.Housing; h != nil {
		b = append(b, `,"housing":{"rent":`...)
		b = appendJSONCents(b, h.Rent)
		b = append(b, `,"heating":`...)
		b = appendJSONCents(b, h.Heating)
		b = append(b, `,"pay_to":`...)
		b = appendJSONString(b, string(h.PayTo))
		b = append(b, '}')
	}
	b = append(b, `,"countable_income":`...)
	b = appendJSONCents(b, d.CountableIncome)
	b = append(b, `,"payee":{"channel":`...)
	b = appendJSONString(b, string(d.Payee.Channel))
	b = append(b, `,"name":`...)
	b = appendJSONString(b, d.Payee.Name)
	if d.Payee.IBAN != "" {
		b = append(b, `,"iban":`...)
		b = appendJSONString(b, d.Payee.IBAN)
	}
	b = append(b, `,"bic":`...)
	if d.Payee.BIC == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, *d.Payee.BIC)
	}
	b = append(b, '}')
	if l := d.Landlord; l != nil {
		b = append(b, `,"landlord":{"name":`...)
		b = appendJSONString(b, l.Name)
		b = append(b, `,"iban":`...)
		b = appendJSONString(b, l.IBAN)
		if l.BIC != nil {
			b = append(b, `,"bic":`...)
			b = appendJSONString(b, *l.BIC)
		}
		if l.Reference != "" {
			b = append(b, `,"reference":`...)
			b = appendJSONString(b, l.Reference)
		}
		b = append(b, '}')
	}
	if o := d.Offset; o != nil {
		b = append(b, `,"offset":{"reclaim_id":`...)
		b = appendJSONString(b, o.ReclaimID)
		b = append(b, `,"monthly":`...)
		b = appendJSONCents(b, o.Monthly)
		b = append(b, `,"remaining":`...)
		b = appendJSONCents(b, o.Remaining)
		b = append(b, '}')
	}
	return append(b, '}'), personsFrom, personsTo
}

func appendPersons(b []byte, ps []payrun.Person) []byte {
	if ps == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range ps {
		p := &ps[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"person_id":`...)
		b = appendJSONString(b, p.PersonID)
		b = append(b, `,"name":`...)
		b = appendJSONString(b, p.Name)
		b = append(b, `,"birth_date":`...)
		b = appendJSONDate(b, p.BirthDate)
		if p.NeedsLevel != 0 {
			b = append(b, `,"needs_level":`...)
			b = strconv.AppendInt(b, int64(p.NeedsLevel), 10)
		}
		if p.FixedAmount != nil {
			b = append(b, `,"fixed_amount":`...)
			b = appendJSONCents(b, *p.FixedAmount)
		}
		if len(p.ExtraNeeds) > 0 {
			b = append(b, `,"extra_needs":[`...)
			for j, e := range p.ExtraNeeds {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"kind":`...)
				b = appendJSONString(b, string(e.Kind))
				if e.Percent != 0 {
					b = append(b, `,"percent":`...)
					b = appendJSONCents(b, payrun.Cents(e.Percent))
				}
				if e.Amount != 0 {
					b = append(b, `,"amount":`...)
					b = appendJSONCents(b, e.Amount)
				}
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendJSONCents(b []byte, c payrun.Cents) []byte {
	b = append(b, '"')
	b = c.Append(b)
	return append(b, '"')
}

var (
	minFastDate = payrun.NewDate(0, 1, 1)
	maxFastDate = payrun.NewDate(9999, 12, 31)
)

// appendJSONDate appends Date.MarshalJSON's "YYYY-MM-DD".
func appendJSONDate(b []byte, d payrun.Date) []byte {
	b = append(b, '"')
	if d < minFastDate || d > maxFastDate {
		b = append(b, d.String()...)
		return append(b, '"')
	}
	y, m, dd := d.YMD()
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(m)/10), byte('0'+int(m)%10), '-', byte('0'+dd/10), byte('0'+dd%10))
	return append(b, '"')
}

// appendJSONString appends s as encoding/json writes a string (with its
// default HTML escaping): plain bytes are copied, anything that needs
// escaping goes through json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return appendMarshalled(b, s)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			return appendMarshalled(b, s)
		}
		i += size
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendMarshalled(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// Binary COPY (PostgreSQL's "binary" format) of the staging rows.

var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// copyTrailer ends a binary COPY stream (a tuple with field count -1).
var copyTrailer = []byte{0xff, 0xff}

// pgEpochDays is 2000-01-01, day zero of PostgreSQL's binary dates.
var pgEpochDays = int32(payrun.NewDate(2000, 1, 1))

const textOID = 25

type copyTuple struct{ b []byte }

func (w *copyTuple) begin(fields int) { w.b = binary.BigEndian.AppendUint16(w.b, uint16(fields)) }

func (w *copyTuple) null() { w.b = binary.BigEndian.AppendUint32(w.b, 0xffffffff) }

func (w *copyTuple) text(s string) {
	w.b = binary.BigEndian.AppendUint32(w.b, uint32(len(s)))
	w.b = append(w.b, s...)
}

// textOrNull writes "" as NULL.
func (w *copyTuple) textOrNull(s string) {
	if s == "" {
		w.null()
		return
	}
	w.text(s)
}

func (w *copyTuple) textPtr(s *string) {
	if s == nil {
		w.null()
		return
	}
	w.text(*s)
}

func (w *copyTuple) bytes(b []byte) {
	w.b = binary.BigEndian.AppendUint32(w.b, uint32(len(b)))
	w.b = append(w.b, b...)
}

func (w *copyTuple) int4(v int32) {
	w.b = binary.BigEndian.AppendUint32(w.b, 4)
	w.b = binary.BigEndian.AppendUint32(w.b, uint32(v))
}

func (w *copyTuple) date(d payrun.Date) { w.int4(int32(d) - pgEpochDays) }

// datePtr writes *d, or NULL when d is nil.
func (w *copyTuple) datePtr(d *payrun.Date) {
	if d == nil {
		w.null()
		return
	}
	w.date(*d)
}

// json writes a JSON document in json's binary input form (its text).
func (w *copyTuple) json(doc []byte) {
	w.b = binary.BigEndian.AppendUint32(w.b, uint32(len(doc)))
	w.b = append(w.b, doc...)
}

// textArray writes a one-dimensional text[] (empty for no elements).
func (w *copyTuple) textArray(ss []string) {
	size := 12
	if len(ss) > 0 {
		size += 8
	}
	for _, s := range ss {
		size += 4 + len(s)
	}
	w.b = binary.BigEndian.AppendUint32(w.b, uint32(size))
	if len(ss) == 0 {
		w.b = binary.BigEndian.AppendUint32(w.b, 0) // ndim
		w.b = binary.BigEndian.AppendUint32(w.b, 0) // no nulls
		w.b = binary.BigEndian.AppendUint32(w.b, textOID)
		return
	}
	w.b = binary.BigEndian.AppendUint32(w.b, 1)
	w.b = binary.BigEndian.AppendUint32(w.b, 0)
	w.b = binary.BigEndian.AppendUint32(w.b, textOID)
	w.b = binary.BigEndian.AppendUint32(w.b, uint32(len(ss)))
	w.b = binary.BigEndian.AppendUint32(w.b, 1) // lower bound
	for _, s := range ss {
		w.text(s)
	}
}

// numeric writes c/100 as a numeric with two decimals (base-10000 digits).
func (w *copyTuple) numeric(c payrun.Cents) {
	sign := uint16(0)
	u := uint64(c)
	if c < 0 {
		sign, u = 0x4000, uint64(-c)
	}
	units, frac := u/100, uint16(u%100)
	var groups [6]uint16
	n := 0
	for ; units > 0; units /= 10000 {
		groups[n] = uint16(units % 10000)
		n++
	}
	ndigits := n
	if frac != 0 {
		ndigits++
	}
	w.b = binary.BigEndian.AppendUint32(w.b, uint32(8+2*ndigits))
	w.b = binary.BigEndian.AppendUint16(w.b, uint16(ndigits))
	w.b = binary.BigEndian.AppendUint16(w.b, uint16(int16(n-1))) // weight
	w.b = binary.BigEndian.AppendUint16(w.b, sign)
	w.b = binary.BigEndian.AppendUint16(w.b, 2) // dscale
	for i := n - 1; i >= 0; i-- {
		w.b = binary.BigEndian.AppendUint16(w.b, groups[i])
	}
	if frac != 0 {
		w.b = binary.BigEndian.AppendUint16(w.b, frac*100)
	}
}
