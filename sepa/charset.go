package sepa

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Length limits of GBIC_5 in characters (runes).
const (
	MaxIDLen         = 35  // MsgId, PmtInfId, InstrId, EndToEndId
	MaxNameLen       = 70  // Nm of InitgPty, Dbtr, Cdtr, UltmtCdtr
	MaxRemittanceLen = 140 // RmtInf/Ustrd
)

// basicSet marks the ASCII bytes of the SEPA basic Latin character set
// a-z A-Z 0-9 / - ? : ( ) . , ' + and space.
var basicSet = func() (t [128]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "/-?:().,'+ " {
		t[c] = true
	}
	return t
}()

// dkASCII marks the ASCII part of the DK set: the basic set plus & * $ %.
var dkASCII = func() (t [128]bool) {
	t = basicSet
	for _, c := range "&*$%" {
		t[c] = true
	}
	return t
}()

// inDK reports whether r belongs to the DK character set (basic Latin set
// plus Ä Ö Ü ä ö ü ß & * $ %).
func inDK(r rune) bool {
	if r < utf8.RuneSelf {
		return dkASCII[r]
	}
	switch r {
	case 'Ä', 'Ö', 'Ü', 'ä', 'ö', 'ü', 'ß':
		return true
	}
	return false
}

// IDValid reports whether s is a valid identifier for MsgId, PmtInfId,
// InstrId or EndToEndId: 1 to 35 characters of [A-Za-z0-9 +?/-:().,'].
func IDValid(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || !basicSet[c] {
			return false
		}
	}
	return true
}

// TextValid reports whether s is a valid text field of at most max runes:
// not empty, not only spaces, and every rune in the DK character set.
func TextValid(s string, max int) bool {
	n, blank := 0, true
	for i := 0; i < len(s); n++ {
		if c := s[i]; c < utf8.RuneSelf {
			if !dkASCII[c] {
				return false
			}
			blank = blank && c == ' '
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !inDK(r) {
			return false
		}
		blank = false
		i += size
	}
	return !blank && n <= max
}

// translit maps characters outside the DK set that do not decompose into
// a DK base letter (or that should map to something else than their base).
var translit = map[rune]string{
	'Æ': "AE", 'æ': "ae", 'Œ': "OE", 'œ': "oe", 'Ø': "O", 'ø': "o",
	'Ł': "L", 'ł': "l", 'Đ': "D", 'đ': "d", 'Ð': "D", 'ð': "d",
	'Þ': "Th", 'þ': "th", 'Ħ': "H", 'ħ': "h", 'ı': "i", 'Ŀ': "L", 'ŀ': "l",
	'ẞ': "SS", 'ĸ': "k", 'Ŋ': "N", 'ŋ': "n", 'Ŧ': "T", 'ŧ': "t",
	'€': "EUR", '@': "(at)", '_': "-", '&': "&",
	'"': "'", '`': "'", '´': "'", '‘': "'", '’': "'", '‚': "'", '‛': "'",
	'“': "'", '”': "'", '„': "'", '«': "'", '»': "'", '‹': "'", '›': "'",
	'–': "-", '—': "-", '‐': "-", '‑': "-", '−': "-", '~': "-", '=': "-",
	'[': "(", ']': ")", '{': "(", '}': ")", '<': "(", '>': ")",
	'\\': "/", '|': "/", ';': ",", '!': ".", '#': "Nr.", '…': "...",
	'·': ".", '•': "-", '§': "Par.", '°': "Grad", '²': "2", '³': "3", '¹': "1",
	'½': "1/2", '¼': "1/4", '¾': "3/4", '×': "x", '÷': ":",
}

// CleanText maps s into the DK character set and shortens it to at most
// max runes. Umlauts (Ä Ö Ü ä ö ü) and ß are kept; other accented letters
// lose their accent (é→e, ł→l), a few symbols are spelled out (€→EUR,
// @→(at), _→-), characters with no mapping become spaces. Runs of
// whitespace collapse to one space, the result is trimmed, and a truncation
// never splits a rune. The result may be empty (e.g. for a name in a
// non-Latin script); callers must check that.
func CleanText(s string, max int) string {
	if max <= 0 {
		return ""
	}
	if isClean(s, max) {
		return s
	}
	return cleanText(s, max)
}

// isClean reports whether CleanText(s, max) is s: every rune is in the DK
// set (such text is in NFC and maps to itself), no space leads, trails or
// follows a space, and s has at most max runes. Most names and remittance
// texts are, and skip the normalisation.
func isClean(s string, max int) bool {
	n := 0
	space := true // a leading space is not clean
	for i := 0; i < len(s); n++ {
		c := s[i]
		if c < utf8.RuneSelf {
			if !dkASCII[c] || (c == ' ' && space) {
				return false
			}
			space = c == ' '
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !inDK(r) {
			return false
		}
		space = false
		i += size
	}
	return !space && n <= max
}

// cleanText is CleanText without the shortcut.
func cleanText(s string, max int) string {
	s = norm.NFC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space := true // drop leading spaces
	emit := func(t string) {
		for _, r := range t {
			if r == ' ' {
				if !space {
					b.WriteByte(' ')
				}
				space = true
				continue
			}
			b.WriteRune(r)
			space = false
		}
	}
	for _, r := range s {
		emit(mapRune(r))
	}
	return truncateRunes(strings.TrimRight(b.String(), " "), max)
}

// mapRune returns the DK-set replacement for one rune (" " when none).
func mapRune(r rune) string {
	if unicode.IsSpace(r) {
		return " "
	}
	if inDK(r) {
		return string(r)
	}
	if t, ok := translit[r]; ok {
		return t
	}
	if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Mn, r) {
		return "" // controls, zero-width and format characters, stray combining marks
	}
	// Decompose (é → e + combining acute) and keep the base letters when
	// they are all in the DK set.
	var out []rune
	for _, d := range norm.NFD.String(string(r)) {
		switch {
		case unicode.Is(unicode.Mn, d):
		case inDK(d) && d != ' ':
			out = append(out, d)
		default:
			return " "
		}
	}
	if len(out) == 0 {
		return " "
	}
	return string(out)
}

// truncateRunes cuts s to at most max runes and trims a trailing space.
func truncateRunes(s string, max int) string {
	n := 0
	for i := range s {
		if n == max {
			return strings.TrimRight(s[:i], " ")
		}
		n++
	}
	return s
}
