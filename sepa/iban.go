package sepa

// ibanLengths holds the IBAN length of every country (IBAN prefix) that
// takes part in the SEPA schemes. French overseas departments, Monaco's
// neighbours etc. use the FR/GB prefixes and need no entry of their own.
var ibanLengths = map[string]int{
	"AD": 24, "AL": 28, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28,
	"CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27,
	"GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26,
	"IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
	"ME": 22, "MK": 19, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25,
	"RO": 24, "RS": 22, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22,
}

// ibanLenTable is ibanLengths indexed by the two country letters.
var ibanLenTable = func() (t [26 * 26]uint8) {
	for cc, n := range ibanLengths {
		t[int(cc[0]-'A')*26+int(cc[1]-'A')] = uint8(n)
	}
	return t
}()

// IBANValid reports whether s is an IBAN in electronic format (upper case,
// no spaces) of a SEPA country with that country's length and correct
// ISO 7064 mod-97 check digits.
func IBANValid(s string) bool {
	if len(s) < 5 || !isUpper(s[0]) || !isUpper(s[1]) || !isDigit(s[2]) || !isDigit(s[3]) {
		return false
	}
	if int(ibanLenTable[int(s[0]-'A')*26+int(s[1]-'A')]) != len(s) {
		return false
	}
	return ibanMod97(s) == 1
}

// ibanMod97 computes the mod-97 remainder of the rearranged IBAN (BBAN,
// country, check digits; letters as 10–35). It returns -1 on a character
// outside [A-Z0-9].
func ibanMod97(s string) int {
	rem := 0 // reduced mod 97 only when large: far fewer divisions
	add := func(c byte) bool {
		switch {
		case isDigit(c):
			rem = rem*10 + int(c-'0')
		case isUpper(c):
			rem = rem*100 + int(c-'A') + 10
		default:
			return false
		}
		if rem >= 1<<40 {
			rem %= 97
		}
		return true
	}
	for i := 4; i < len(s); i++ {
		if !add(s[i]) {
			return -1
		}
	}
	for i := 0; i < 4; i++ {
		if !add(s[i]) {
			return -1
		}
	}
	return rem % 97
}

// BICValid reports whether s is a BIC (ISO 9362, the BICFIDec2014Identifier
// pattern): 4 alphanumeric institution characters, a 2-letter country,
// 2 alphanumeric location characters and an optional 3-character branch.
func BICValid(s string) bool {
	if len(s) != 8 && len(s) != 11 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i == 4 || i == 5 {
			if !isUpper(c) {
				return false
			}
		} else if !isUpper(c) && !isDigit(c) {
			return false
		}
	}
	return true
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
