package sepa

import (
	"strconv"
)

// Amount limits of GBIC_5 for one transaction, in cents.
const (
	MinAmount int64 = 1              // 0.01
	MaxAmount int64 = 99999999999    // 999,999,999.99
	maxCtrl   int64 = 99999999999999 // control sums: far below 18 digits, no overflow
)

// AppendAmount appends cents formatted as an XML decimal with exactly two
// fraction digits ("1234567.89"); negative values get a leading minus.
func AppendAmount(b []byte, cents int64) []byte {
	if cents < 0 {
		b = append(b, '-')
		cents = -cents // int64 minimum is far outside every limit here
	}
	b = strconv.AppendInt(b, cents/100, 10)
	f := cents % 100
	return append(b, '.', byte('0'+f/10), byte('0'+f%10))
}

// FormatAmount formats cents as "1234567.89".
func FormatAmount(cents int64) string { return string(AppendAmount(nil, cents)) }

// ParseAmount parses an XML decimal with at most two fraction digits into
// cents. It accepts what xs:decimal allows for a non-negative amount
// ("12", "12.5", "012.50", "+1.00", "1.") and rejects exponents, more than
// two fraction digits (even trailing zeros: stricter than xs:decimal, since
// bank checkers may count them), signs other than a leading "+", and more
// than 15 integer digits.
func ParseAmount(s string) (int64, bool) {
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	intPart, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac = s[:i], s[i+1:]
			break
		}
	}
	if (intPart == "" && frac == "") || len(frac) > 2 || len(intPart) > 15 {
		return 0, false
	}
	var v int64
	for i := 0; i < len(intPart); i++ {
		if !isDigit(intPart[i]) {
			return 0, false
		}
		v = v*10 + int64(intPart[i]-'0')
	}
	v *= 100
	for i, m := 0, int64(10); i < len(frac); i, m = i+1, m/10 {
		if !isDigit(frac[i]) {
			return 0, false
		}
		v += int64(frac[i]-'0') * m
	}
	return v, true
}
