package payrun_test

import (
	"testing"

	"github.com/payrun/payrun/payrun"
)

func TestCheckIBAN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		iban string
		ok   bool
	}{
		{"DE89370400440532013000", true},
		{"DE02120300000000202051", true},
		{"GB82WEST12345698765432", true},
		{"DE89370400440532013001", false}, // check digits
		{"DE8937040044053201300", false},  // length
		{"de89370400440532013000", false}, // lower case
		{"DE89 3704 0044 0532 0130 00", false},
		{"", false},
	} {
		if err := payrun.CheckIBAN(tc.iban); (err == nil) != tc.ok {
			t.Errorf("CheckIBAN(%q) = %v, want ok=%v", tc.iban, err, tc.ok)
		}
	}
	bban := "370400440532013000"
	if got := "DE" + payrun.IBANCheckDigits("DE", bban) + bban; got != "DE89370400440532013000" {
		t.Errorf("IBANCheckDigits: got %s", got)
	}
}
