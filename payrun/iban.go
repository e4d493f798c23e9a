package payrun

import (
	"errors"
	"fmt"
)

// ErrIBAN is returned for a malformed IBAN or one with wrong check digits.
var ErrIBAN = errors.New("not a valid IBAN")

// CheckIBAN checks the syntax (country code, check digits, 11–30
// alphanumerics, no spaces, upper case) and the ISO 7064 mod-97 check
// digits of iban, and the length 22 of German IBANs. Package sepa has the
// full per-country check; this one guards the importer.
func CheckIBAN(iban string) error {
	if len(iban) < 15 || len(iban) > 34 {
		return fmt.Errorf("%w: length %d", ErrIBAN, len(iban))
	}
	for i := 0; i < len(iban); i++ {
		c := iban[i]
		letter := c >= 'A' && c <= 'Z'
		digit := c >= '0' && c <= '9'
		if (i < 2 && !letter) || (i >= 2 && i < 4 && !digit) || (!letter && !digit) {
			return fmt.Errorf("%w: unexpected character at position %d", ErrIBAN, i+1)
		}
	}
	if iban[:2] == "DE" && len(iban) != 22 {
		return fmt.Errorf("%w: German IBANs have 22 characters", ErrIBAN)
	}
	if ibanMod97(iban[4:]+iban[:4]) != 1 {
		return fmt.Errorf("%w: wrong check digits", ErrIBAN)
	}
	return nil
}

// IBANCheckDigits returns the two check digits for an IBAN of country cc
// (two upper-case letters) and basic bank account number bban.
func IBANCheckDigits(cc, bban string) string {
	r := 98 - ibanMod97(bban+cc+"00")
	return string([]byte{byte('0' + r/10), byte('0' + r%10)})
}

// ibanMod97 returns s mod 97 with letters counted as 10–35.
func ibanMod97(s string) int {
	r := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			v := int(c-'A') + 10
			r = (r*100 + v) % 97
		} else {
			r = (r*10 + int(c-'0')) % 97
		}
	}
	return r
}
