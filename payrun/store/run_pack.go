package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payrun/payrun/payrun"
)

// The lines of one case in one run are stored as one row of
// run_case_lines, their fields packed in a text column (migration 0095):
//
//	line (';' line)*, line = month|payee|component|kind|amount|law|cost_bearer|decision_id|reclaim_id
//
// in digest order. packLines writes that text, unpackLines reads it.

// errPackedID is returned for an identifier that would break the packing.
var errPackedID = errors.New("identifier contains '|' or ';'")

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
		if strings.ContainsAny(l.DecisionID, "|;") || strings.ContainsAny(l.ReclaimID, "|;") {
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

// packedReader streams rows whose first two columns are case_id and the
// packed lines, and unpacks each case's lines into a reused slice.
type packedReader struct {
	lines  []RunLine
	caseID string
	fds    []pgconn.FieldDescription // of the current query
}

// each runs sql on tx and calls fn with every row's case id and lines
// (fn must not keep the slice; raw is the row's raw values, for extra
// columns).
func (r *packedReader) each(ctx context.Context, tx pgx.Tx, sql string, args []any,
	fn func(caseID string, lines []RunLine, raw [][]byte) error) error {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	r.fds = rows.FieldDescriptions()
	for rows.Next() {
		raw := rows.RawValues()
		if len(raw) < 2 || raw[0] == nil || raw[1] == nil {
			return fmt.Errorf("store: packed lines: unexpected row")
		}
		r.caseID = reuse(r.caseID, raw[0])
		if r.lines, err = unpackLines(r.caseID, raw[1], r.lines[:0]); err != nil {
			return err
		}
		if err := fn(r.caseID, r.lines, raw); err != nil {
			return err
		}
	}
	return rows.Err()
}

// runPackedSQL selects a run's packed rows in case order (byte order).
const runPackedSQL = `SELECT case_id, lines FROM run_case_lines WHERE municipality = $1 AND run_id = $2
	ORDER BY case_id COLLATE "C"`
