package payrun

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/shopspring/decimal"
)

// Cents is an exact amount of money in euro cents. Every amount in payrun is
// a Cents value inside the program and a decimal string ("1234.56") at its
// edges (JSON, CSV, XML, SQL numeric). It is never a float.
type Cents int64

// MaxCents bounds amounts accepted from the outside (999,999,999.99 €, the
// largest amount a SEPA transaction may carry).
const MaxCents Cents = 99_999_999_999

// ErrAmountSyntax is returned for a string that is not an amount with at
// most two decimals.
var ErrAmountSyntax = errors.New("not an amount with at most two decimals")

// ParseCents parses "123", "123.4", "123.45" or "-5.00" exactly. It rejects
// more than two decimals, exponents, spaces and thousands separators.
func ParseCents(s string) (Cents, error) { return parseCents(s) }

// ParseCentsBytes is ParseCents for a byte slice (parsers of raw input
// use it without converting to a string).
func ParseCentsBytes(b []byte) (Cents, error) { return parseCents(b) }

func parseCents[T ~string | ~[]byte](s T) (Cents, error) {
	if len(s) == 0 {
		return 0, ErrAmountSyntax
	}
	neg := false
	i := 0
	if s[0] == '-' {
		neg = true
		i = 1
	}
	var units, frac int64
	digits, fracDigits := 0, 0
	seenDot := false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' && !seenDot:
			seenDot = true
		case c >= '0' && c <= '9':
			if seenDot {
				fracDigits++
				if fracDigits > 2 {
					return 0, ErrAmountSyntax
				}
				frac = frac*10 + int64(c-'0')
			} else {
				digits++
				if digits > 13 {
					return 0, fmt.Errorf("%w: too large", ErrAmountSyntax)
				}
				units = units*10 + int64(c-'0')
			}
		default:
			return 0, ErrAmountSyntax
		}
	}
	if digits == 0 || (seenDot && fracDigits == 0) {
		return 0, ErrAmountSyntax
	}
	if fracDigits == 1 {
		frac *= 10
	}
	v := Cents(units*100 + frac)
	if neg {
		v = -v
	}
	return v, nil
}

// MustCents parses s or panics; for tests and constant tables only.
func MustCents(s string) Cents {
	c, err := ParseCents(s)
	if err != nil {
		panic(fmt.Sprintf("payrun.MustCents(%q): %v", s, err))
	}
	return c
}

// String formats c as "-1234.56": no thousands separator, always two
// decimals, the format of pain.001, JSON and SQL.
func (c Cents) String() string {
	var buf [24]byte
	return string(c.Append(buf[:0]))
}

// Append appends the String form of c to b without allocating.
func (c Cents) Append(b []byte) []byte {
	u := uint64(c)
	if c < 0 {
		b = append(b, '-')
		u = uint64(-c)
	}
	b = strconv.AppendUint(b, u/100, 10)
	r := u % 100
	return append(b, '.', byte('0'+r/10), byte('0'+r%10))
}

// Decimal converts c to a decimal.Decimal with exponent -2.
func (c Cents) Decimal() decimal.Decimal { return decimal.New(int64(c), -2) }

// CentsFromDecimal converts d to Cents; it fails if d has a fraction of a
// cent or does not fit.
func CentsFromDecimal(d decimal.Decimal) (Cents, error) {
	scaled := d.Shift(2)
	if !scaled.IsInteger() {
		return 0, fmt.Errorf("amount %s has more than two decimals", d.String())
	}
	if scaled.Abs().GreaterThan(decimal.New(int64(MaxCents), 0).Mul(decimal.New(1000, 0))) {
		return 0, fmt.Errorf("amount %s is too large", d.String())
	}
	return Cents(scaled.IntPart()), nil
}

// MarshalJSON writes c as a JSON string "12.34", the contract's amount form.
func (c Cents) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 24)
	b = append(b, '"')
	b = c.Append(b)
	return append(b, '"'), nil
}

// UnmarshalJSON reads a JSON string "12.34". Bare JSON numbers are refused
// because they invite floats upstream.
func (c *Cents) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("amount must be a string like \"12.34\", got %s", b)
	}
	v, err := ParseCents(string(b[1 : len(b)-1]))
	if err != nil {
		return fmt.Errorf("amount %s: %w", b, err)
	}
	*c = v
	return nil
}

// Percent is a percentage with at most two decimals, held as hundredths of a
// percent: "36" is 3600, "2.3" is 230.
type Percent int64

// ParsePercent parses "36", "2.3" or "0.80".
func ParsePercent(s string) (Percent, error) {
	c, err := ParseCents(s)
	if err != nil {
		return 0, fmt.Errorf("percent %q: %w", s, err)
	}
	if c < 0 || c > 100_00 {
		return 0, fmt.Errorf("percent %q: must be between 0 and 100", s)
	}
	return Percent(c), nil
}

// String formats p with two decimals, e.g. "2.30".
func (p Percent) String() string { return Cents(p).String() }

// Of returns p percent of base, rounded half-up to the cent.
func (p Percent) Of(base Cents) Cents { return MulDivRound(base, int64(p), 100_00) }

// MarshalJSON writes p as a JSON string.
func (p Percent) MarshalJSON() ([]byte, error) { return Cents(p).MarshalJSON() }

// UnmarshalJSON reads a JSON string "36" or "2.3".
func (p *Percent) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("percent must be a string like \"36\", got %s", b)
	}
	v, err := ParsePercent(string(b[1 : len(b)-1]))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// MulDivRound returns a × num / den rounded half-up (away from zero at .5),
// exactly, for den > 0. Intermediate products must fit in int64, which holds
// for every amount × day or percent factor payrun uses.
func MulDivRound(a Cents, num, den int64) Cents {
	p := int64(a) * num
	if p >= 0 {
		return Cents((p + den/2) / den)
	}
	return -Cents((-p + den/2) / den)
}
