package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
)

// The lines of a run are stored in chunks of consecutive cases, one row of
// run_chunks each (migration 0135), their fields packed in a text column:
//
//	chunk   = section ('\n' section)*, sections in case order
//	section = case_id '\t' line (';' line)*
//	line    = month|payee|component|kind|amount|law|cost_bearer|decision_id|reclaim_id
//
// a case's lines in digest order (migration 0095). packChunk writes that
// text, eachSection and unpackLines read it.

// errPackedID is returned for an identifier that would break the packing.
var errPackedID = errors.New("identifier contains '|', ';', tab or newline")

// packSeparators are the characters no packed identifier may contain.
const packSeparators = "|;\t\n"

// componentRank is the position of each component in payrun.Components:
// the digest order of components.
var componentRank = func() map[payrun.Component]int {
	m := make(map[payrun.Component]int, len(payrun.Components))
	for i, c := range payrun.Components {
		m[c] = i
	}
	return m
}()

// digestLess orders two lines of one case in digest order: month, payee,
// component (payrun.Components order), reclaim (the builder's order; a
// stable sort keeps it for lines equal in these).
func digestLess(a, b *RunLine) bool {
	switch {
	case a.Month != b.Month:
		return a.Month < b.Month
	case a.Payee != b.Payee:
		return a.Payee < b.Payee
	case a.Component != b.Component:
		return componentRank[a.Component] < componentRank[b.Component]
	}
	return a.ReclaimID < b.ReclaimID
}

// sortLines sorts the lines of one case by less (a case has a handful of
// lines: a stable insertion sort without allocation).
func sortLines(lines []RunLine, less func(a, b *RunLine) bool) { insertionSort(lines, less) }

// insertionSort sorts the few elements of s by less, stably and without
// allocating.
func insertionSort[T any](s []T, less func(a, b *T) bool) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && less(&s[j], &s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// packLines appends the packed text of lines (one case, digest order) to
// b and returns it with the first and last month.
func packLines(b []byte, lines []RunLine) (out []byte, first, last payrun.Month, err error) {
	for i := range lines {
		l := &lines[i]
		if strings.ContainsAny(l.DecisionID, packSeparators) || strings.ContainsAny(l.ReclaimID, packSeparators) {
			return b, 0, 0, fmt.Errorf("case %s: decision %q, reclaim %q: %w", l.CaseID, l.DecisionID, l.ReclaimID, errPackedID)
		}
		if i == 0 {
			first, last = l.Month, l.Month
		} else {
			b = append(b, ';')
			first, last = min(first, l.Month), max(last, l.Month)
		}
		b = l.Month.Append(b)
		for _, s := range [...]string{string(l.Payee), string(l.Component), string(l.Kind)} {
			b = append(b, '|')
			b = append(b, s...)
		}
		b = append(b, '|')
		b = l.Amount.Append(b)
		for _, s := range [...]string{string(l.Law), string(l.CostBearer), l.DecisionID, l.ReclaimID} {
			b = append(b, '|')
			b = append(b, s...)
		}
	}
	return b, first, last, nil
}

// parseMonth reads YYYY-MM.
func parseMonth(b []byte) (payrun.Month, error) {
	if len(b) != 7 || b[4] != '-' {
		return 0, fmt.Errorf("month %q", b)
	}
	n := 0
	for i, c := range b {
		if i == 4 {
			continue
		}
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("month %q", b)
		}
		n = n*10 + int(c-'0')
	}
	y, mo := n/100, n%100
	if mo < 1 || mo > 12 {
		return 0, fmt.Errorf("month %q", b)
	}
	return payrun.Month(y*12 + mo - 1), nil
}

// unpackLines appends the lines of case caseID packed in text to out. The
// enumerations become their constants; equal decision and reclaim ids of
// consecutive lines share one string.
func unpackLines(caseID string, text []byte, out []RunLine) ([]RunLine, error) {
	var prev RunLine
	for len(text) > 0 {
		line := text
		if i := bytes.IndexByte(text, ';'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = nil
		}
		whole := line
		var f [9][]byte
		n := 0
		for n < 8 {
			i := bytes.IndexByte(line, '|')
			if i < 0 {
				break
			}
			f[n], line = line[:i], line[i+1:]
			n++
		}
		if n != 8 || bytes.IndexByte(line, '|') >= 0 {
			return out, fmt.Errorf("store: case %s: packed line %q: not 9 fields", caseID, whole)
		}
		f[8] = line
		l := RunLine{CaseID: caseID}
		var err error
		if l.Month, err = parseMonth(f[0]); err != nil {
			return out, fmt.Errorf("store: case %s: packed line: %w", caseID, err)
		}
		if l.Amount, err = payrun.ParseCentsBytes(f[4]); err != nil {
			return out, fmt.Errorf("store: case %s: packed line: amount %q: %w", caseID, f[4], err)
		}
		l.Payee = payrun.PayeeRole(known(f[1], rawPayees))
		l.Component = payrun.Component(known(f[2], rawComps))
		l.Kind = payrun.LineKind(known(f[3], rawKinds))
		l.Law = payrun.Law(known(f[5], rawLaws))
		l.CostBearer = payrun.CostBearer(known(f[6], rawBearers))
		l.DecisionID = reuse(prev.DecisionID, f[7])
		l.ReclaimID = reuse(prev.ReclaimID, f[8])
		out = append(out, l)
		prev = l
	}
	return out, nil
}

// journalLess orders two lines of one case in journal order (the order of
// the bookings journal and the payment files): payee, month, component,
// kind, reclaim, amount, all in byte order.
func journalLess(a, b *RunLine) bool {
	switch {
	case a.Payee != b.Payee:
		return a.Payee < b.Payee
	case a.Month != b.Month:
		return a.Month < b.Month
	case a.Component != b.Component:
		return a.Component < b.Component
	case a.Kind != b.Kind:
		return a.Kind < b.Kind
	case a.ReclaimID != b.ReclaimID:
		return a.ReclaimID < b.ReclaimID
	}
	return a.Amount < b.Amount
}

// chunk is the packed text of one row of run_chunks being written: the
// sections of consecutive cases, and of their offset lines.
type chunk struct {
	firstCase, lastCase string
	cases, lines        int32
	text, offsets       []byte
	caseText            []byte // scratch: one case's packed lines
}

// reset empties c for the next chunk.
func (c *chunk) reset() {
	c.firstCase, c.lastCase, c.cases, c.lines = "", "", 0, 0
	c.text, c.offsets = c.text[:0], c.offsets[:0]
}

// add appends the section of one case (its lines, sorted in digest order
// here) to c; cases come in ascending byte order.
func (c *chunk) add(lines []RunLine) error {
	caseID := lines[0].CaseID
	if caseID == "" || strings.ContainsAny(caseID, packSeparators) {
		return fmt.Errorf("case %q: %w", caseID, errPackedID)
	}
	if c.cases > 0 && caseID <= c.lastCase {
		return fmt.Errorf("case %s after case %s: cases must ascend", caseID, c.lastCase)
	}
	sortLines(lines, digestLess)
	var err error
	if c.caseText, _, _, err = packLines(c.caseText[:0], lines); err != nil {
		return err
	}
	if c.cases == 0 {
		c.firstCase = caseID
	} else {
		c.text = append(c.text, '\n')
	}
	c.lastCase = caseID
	c.cases++
	c.lines += int32(len(lines))
	c.text = appendSection(c.text, caseID, c.caseText)
	c.addOffsets(caseID, lines)
	return nil
}

// addOffsets appends the section of the case's offset lines to c.offsets,
// if it has any.
func (c *chunk) addOffsets(caseID string, lines []RunLine) {
	started := false
	for i := range lines {
		if lines[i].Component != payrun.CompOffset {
			continue
		}
		if !started {
			if len(c.offsets) > 0 {
				c.offsets = append(c.offsets, '\n')
			}
			c.offsets = append(c.offsets, caseID...)
			c.offsets = append(c.offsets, '\t')
			started = true
		} else {
			c.offsets = append(c.offsets, ';')
		}
		c.offsets, _, _, _ = packLines(c.offsets, lines[i:i+1])
	}
}

func appendSection(b []byte, caseID string, packed []byte) []byte {
	b = append(b, caseID...)
	b = append(b, '\t')
	return append(b, packed...)
}

// eachSection calls fn with the case id and packed lines of every section
// of a chunk's text. prev is the previous case id: an equal id is not
// allocated again.
func eachSection(text []byte, prev string, fn func(caseID string, lines []byte) error) error {
	for len(text) > 0 {
		sec := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			sec, text = text[:i], text[i+1:]
		} else {
			text = nil
		}
		tab := bytes.IndexByte(sec, '\t')
		if tab <= 0 {
			return fmt.Errorf("store: packed chunk: section %.40q has no case id", sec)
		}
		prev = reuse(prev, sec[:tab])
		if err := fn(prev, sec[tab+1:]); err != nil {
			return err
		}
	}
	return nil
}

// packedReader streams rows whose first column is a chunk's packed text
// and unpacks each case's lines into a reused slice.
type packedReader struct {
	lines []RunLine
}

// each runs sql on tx and calls fn with the case id and lines of every
// case of every chunk, in the order of the rows (fn must not keep the
// slice).
func (r *packedReader) each(ctx context.Context, tx pgx.Tx, sql string, args []any,
	fn func(caseID string, lines []RunLine) error) error {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		raw := rows.RawValues()
		if len(raw) < 1 || raw[0] == nil {
			return fmt.Errorf("store: packed lines: unexpected row")
		}
		err := eachSection(raw[0], "", func(caseID string, text []byte) error {
			var err error
			if r.lines, err = unpackLines(caseID, text, r.lines[:0]); err != nil {
				return err
			}
			return fn(caseID, r.lines)
		})
		if err != nil {
			return err
		}
	}
	return rows.Err()
}

// runPackedSQL selects a run's chunks in case order (byte order; the
// primary key's order).
const runPackedSQL = `SELECT lines FROM run_chunks WHERE municipality = $1 AND run_id = $2
	ORDER BY first_case`
