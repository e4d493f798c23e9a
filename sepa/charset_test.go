package sepa_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/payrun/payrun/sepa"
)

func TestCleanText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"Jürgen Müßig", 70, "Jürgen Müßig"},
		{"ÄÖÜäöüß & * $ %", 70, "ÄÖÜäöüß & * $ %"},
		{"José Éléonore Çelik", 70, "Jose Eleonore Celik"},
		{"Łukasz Żółć", 70, "Lukasz Zolc"},
		{"Søren Ærø Œuvre", 70, "Soren AEro OEuvre"},
		{"a_b@c.de", 70, "a-b(at)c.de"},
		{"100 € Miete", 70, "100 EUR Miete"},
		{"  viel \t\n  Platz  ", 70, "viel Platz"},
		{"Mu\u0308ller", 70, "Müller"},         // decomposed umlaut is composed, not dropped
		{"李小龙", 70, ""},                        // nothing transliterable
		{"Anna 李 Schmidt", 70, "Anna Schmidt"}, // unknown → space, collapsed
		{"<Tag> \"quoted\" [x] {y}", 70, "(Tag) 'quoted' (x) (y)"},
		{"Ünïcödé", 3, "Üni"},                // truncation counts runes
		{"Müller Meier", 7, "Müller"},        // trailing space trimmed after cut
		{"zero\u200bwidth", 70, "zerowidth"}, // format characters removed
		{"tab\x00null", 70, "tabnull"},       // control characters are removed
		{"x", 0, ""},
	}
	for _, tc := range tests {
		got := sepa.CleanText(tc.in, tc.max)
		if got != tc.want {
			t.Errorf("CleanText(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
		if got != "" && !sepa.TextValid(got, tc.max) {
			t.Errorf("CleanText(%q) = %q is not valid DK text", tc.in, got)
		}
	}
}

func TestCleanTextAlwaysValid(t *testing.T) {
	t.Parallel()
	// Every rune of the BMP, in chunks: the result is DK text within the limit.
	for start := rune(0); start < 0x10000; start += 200 {
		var b strings.Builder
		for r := start; r < start+200; r++ {
			if utf8.ValidRune(r) {
				b.WriteRune(r)
			}
			b.WriteByte('a')
		}
		got := sepa.CleanText(b.String(), 140)
		if !sepa.TextValid(got, 140) {
			t.Fatalf("CleanText(runes from %U) = %q is not valid", start, got)
		}
	}
}

func TestIDValid(t *testing.T) {
	t.Parallel()
	good := []string{"A", "R7-C1-2026-12", "a/b?c:d(e).f,g'h+i j", strings.Repeat("9", 35), "NOTPROVIDED"}
	bad := []string{"", strings.Repeat("9", 36), "a_b", "Müller", "a&b", "a@b", "a|b", "a\tb", "a*b"}
	for _, s := range good {
		if !sepa.IDValid(s) {
			t.Errorf("IDValid(%q) = false", s)
		}
	}
	for _, s := range bad {
		if sepa.IDValid(s) {
			t.Errorf("IDValid(%q) = true", s)
		}
	}
}

func TestTextValid(t *testing.T) {
	t.Parallel()
	if !sepa.TextValid(strings.Repeat("ß", 70), 70) || sepa.TextValid(strings.Repeat("ß", 71), 70) {
		t.Error("length must count runes")
	}
	for _, s := range []string{"", "   ", "é", "a_b", "a@b", "a<b", "a\nb", "€"} {
		if sepa.TextValid(s, 70) {
			t.Errorf("TextValid(%q) = true", s)
		}
	}
	for _, s := range []string{"Müller & Söhne", "50% * 2 $", "O'Brien (Jr.), a/b?c:d+e-f"} {
		if !sepa.TextValid(s, 70) {
			t.Errorf("TextValid(%q) = false", s)
		}
	}
}

func TestIBANValid(t *testing.T) {
	t.Parallel()
	good := []string{
		"DE89370400440532013000", "DE02120300000000202051", "GB29NWBK60161331926819", "FR1420041010050500013M02606",
		"NL91ABNA0417164300", "AT611904300234573201", "CH9300762011623852957", "NO9386011117947", "MT84MALT011000012345MTLCAST001S",
	}
	bad := []string{
		"", "DE8937040044053201300", "DE893704004405320130000", "DE88370400440532013000", "de89370400440532013000",
		"DE89 3704 0044 0532 0130 00", "US64SVBKUS6S3300958879", "XX89370400440532013000", "DE8937040044053201300X", "DEAB370400440532013000",
	}
	for _, s := range good {
		if !sepa.IBANValid(s) {
			t.Errorf("IBANValid(%q) = false", s)
		}
	}
	for _, s := range bad {
		if sepa.IBANValid(s) {
			t.Errorf("IBANValid(%q) = true", s)
		}
	}
}

func TestBICValid(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"COBADEFF", "COBADEFFXXX", "WELADED1LUN", "1234DE12"} {
		if !sepa.BICValid(s) {
			t.Errorf("BICValid(%q) = false", s)
		}
	}
	for _, s := range []string{"", "COBADEF", "COBADEFFXX", "COBA1EFF", "cobadeff", "COBADEFF XX", "COBADEFFXXXX"} {
		if sepa.BICValid(s) {
			t.Errorf("BICValid(%q) = true", s)
		}
	}
}

func TestAmounts(t *testing.T) {
	t.Parallel()
	for cents, want := range map[int64]string{1: "0.01", 10: "0.10", 100: "1.00", 300000000: "3000000.00", 123456789: "1234567.89", 99999999999: "999999999.99", -5: "-0.05"} {
		if got := sepa.FormatAmount(cents); got != want {
			t.Errorf("FormatAmount(%d) = %q, want %q", cents, got, want)
		}
	}
	parse := map[string]int64{"0.01": 1, "12": 1200, "12.5": 1250, "+1.00": 100, "1.": 100, ".5": 50, "3000000.00": 300000000}
	for s, want := range parse {
		if got, ok := sepa.ParseAmount(s); !ok || got != want {
			t.Errorf("ParseAmount(%q) = %d, %v, want %d", s, got, ok, want)
		}
	}
	for _, s := range []string{"", ".", "1.234", "1.000", "3e+06", "-1.00", "1,00", " 1.00", "1234567890123456"} {
		if _, ok := sepa.ParseAmount(s); ok {
			t.Errorf("ParseAmount(%q) accepted", s)
		}
	}
}

func TestSplitCounts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		total, max int
		want       []int
	}{
		{0, 0, nil}, {1, 0, []int{1}}, {100_000, 0, []int{100_000}}, {100_001, 0, []int{50_001, 50_000}},
		{150_000, 0, []int{75_000, 75_000}}, {10, 3, []int{3, 3, 2, 2}},
	}
	for _, tc := range tests {
		got := sepa.SplitCounts(tc.total, tc.max)
		if len(got) != len(tc.want) {
			t.Errorf("SplitCounts(%d, %d) = %v, want %v", tc.total, tc.max, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("SplitCounts(%d, %d) = %v, want %v", tc.total, tc.max, got, tc.want)
				break
			}
		}
	}
}
