package export

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/sepa"
)

// lawLabel is the short name of a law in remittance texts, within the DK
// character set (no "§").
func lawLabel(l payrun.Law) string {
	switch l {
	case payrun.LawAsylbLG3:
		return "AsylbLG Par.3"
	case payrun.LawAsylbLG2:
		return "AsylbLG Par.2"
	case payrun.LawAsylbLG1a:
		return "AsylbLG Par.1a"
	case payrun.LawSGB12Ch3:
		return "SGB XII Kap.3"
	case payrun.LawSGB12Ch4:
		return "SGB XII Kap.4"
	}
	return string(l)
}

// Remittance returns the unstructured remittance text (≤ 140 characters,
// DK character set) of a transaction: the laws, the months (the period's
// and later ones as they are, earlier ones as "Nachzahlung"), an optional
// reference (the landlord's) and the case, e.g.
// "AsylbLG Par.3 12/2026 Nachzahlung 10-11/2026 Fall LUE-000123".
// When the month list does not fit, it is shortened to its first and last
// month so that the case always stays in the text.
func Remittance(laws []payrun.Law, months []payrun.Month, period payrun.Month, reference, caseID string) string {
	labels := make([]string, 0, len(laws))
	for _, l := range laws {
		labels = append(labels, lawLabel(l))
	}
	head := strings.Join(labels, "/")
	tail := "Fall " + caseID
	if reference != "" {
		tail = reference + " " + tail
	}
	var current, arrears []payrun.Month
	for _, m := range months {
		if m < period {
			arrears = append(arrears, m)
		} else {
			current = append(current, m)
		}
	}
	var mid []string
	if len(current) > 0 {
		mid = append(mid, monthRanges(current))
	}
	if len(arrears) > 0 {
		mid = append(mid, "Nachzahlung "+monthRanges(arrears))
	}
	text := join(head, strings.Join(mid, " "), tail)
	if utf8.RuneCountInString(sepa.CleanText(text, 1000)) > sepa.MaxRemittanceLen && len(months) > 0 {
		text = join(head, monthRange(months[0], months[len(months)-1]), tail)
	}
	return sepa.CleanText(text, sepa.MaxRemittanceLen)
}

// join joins the non-empty parts with spaces.
func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

// monthRanges formats sorted months as ranges of consecutive months:
// "10-11/2026, 01/2027", "12/2026-01/2027".
func monthRanges(ms []payrun.Month) string {
	var out []string
	start := ms[0]
	for i := 1; i <= len(ms); i++ {
		if i < len(ms) && ms[i] == ms[i-1]+1 {
			continue
		}
		out = append(out, monthRange(start, ms[i-1]))
		if i < len(ms) {
			start = ms[i]
		}
	}
	return strings.Join(out, ", ")
}

// monthRange formats one range "12/2026", "10-11/2026" or "12/2026-01/2027".
func monthRange(a, b payrun.Month) string {
	buf := make([]byte, 0, 16)
	mm := func(m payrun.Month) {
		n := int(m.Mon())
		buf = append(buf, byte('0'+n/10), byte('0'+n%10))
	}
	switch {
	case a == b:
		mm(a)
	case a.Year() == b.Year():
		mm(a)
		buf = append(buf, '-')
		mm(b)
	default:
		mm(a)
		buf = strconv.AppendInt(append(buf, '/'), int64(a.Year()), 10)
		buf = append(buf, '-')
		mm(b)
		buf = strconv.AppendInt(append(buf, '/'), int64(b.Year()), 10)
		return string(buf)
	}
	return string(strconv.AppendInt(append(buf, '/'), int64(b.Year()), 10))
}
