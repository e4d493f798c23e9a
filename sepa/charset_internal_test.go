package sepa

import "testing"

// FuzzCleanTextShortcut: the shortcut of CleanText for text that is clean
// already gives what the full cleaning gives.
func FuzzCleanTextShortcut(f *testing.F) {
	for _, s := range []string{"", " ", "Jürgen Müller", "Jürgen  Müller", " a", "a ", "Straße 1/2", "ä\u0308", "e\u0301",
		"Zoë", "a\tb", "Grete & Co. KG", "x_y", "€ 100", "123456789012345"} {
		f.Add(s, 10)
		f.Add(s, 140)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max > 1000 || max < -5 {
			return
		}
		if got, want := CleanText(s, max), cleanText(s, max); max > 0 && got != want {
			t.Errorf("CleanText(%q, %d) = %q, full cleaning %q", s, max, got, want)
		}
	})
}
