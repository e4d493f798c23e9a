package sepa

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// scanBase is a small valid message for the scanner comparisons.
func scanBase(tb testing.TB) string {
	tb.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, GroupHeader{MsgID: "MSG-1", CreatedAt: time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC),
		NbOfTxs: 2, CtrlSum: 100003, InitiatingParty: "Stadt Lünen"})
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.StartPaymentInfo(PaymentInfo{PmtInfID: "P1", ExecutionDate: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		Debtor: "Stadt Lünen", DebtorIBAN: "DE77440501990000000001", NbOfTxs: 2, CtrlSum: 100003}); err != nil {
		tb.Fatal(err)
	}
	for i, amt := range []int64{50001, 50002} {
		if err := w.Transaction(Transaction{EndToEndID: fmt.Sprintf("E2E-%d", i), Amount: amt, CreditorName: "Jürgen Müller",
			CreditorIBAN: "DE77440501990000000001", UltimateCreditor: "Grete", Remittance: "SGB XII 12/2026"}); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.EndPaymentInfo(); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.String()
}

// scanCorpus is XML the scanner must read as encoding/xml does: valid
// variants (comments, CDATA, entities, prefixes, CR LF, directives) and
// every kind of malformation.
func scanCorpus(tb testing.TB) []string {
	base := scanBase(tb)
	rep := func(old, repl string) string { return strings.Replace(base, old, repl, 1) }
	out := []string{
		base, "", " ", "hello", "<", "<Document", "<Document/>", "<?xml version=\"1.0\"?>",
		rep(`<?xml version="1.0" encoding="UTF-8"?>`, ""),
		rep(`<?xml version="1.0" encoding="UTF-8"?>`, `<?xml version="1.1"?>`),
		rep(`<?xml version="1.0" encoding="UTF-8"?>`, `<?xml version='1.0' encoding='ISO-8859-1'?>`),
		rep(`<?xml version="1.0" encoding="UTF-8"?>`, `<?xml version="1.0" encoding="utf-8"?><!-- c --><?pi data?>`),
		rep(`<?xml version="1.0" encoding="UTF-8"?>`, `<!DOCTYPE Document [<!ENTITY x "y"> <!-- > --> ]>`),
		rep(`<?xml version="1.0" encoding="UTF-8"?>`, `<!DOCTYPE Document SYSTEM "a>b">`),
		rep(`<?xml version="1.0" encoding="UTF-8"?>`, `<!>x>`),
		rep(`<?xml version="1.0" encoding="UTF-8"?>`, `<? x?>`),
		rep(`<?xml version="1.0" encoding="UTF-8"?>`, `<?x`),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG<!-- x -->-1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG<!-- x -- y -->-1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG<!- x -->-1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId><![CDATA[MSG-1]]></MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId><![CDATA[MSG-<1>]]></MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId><![CDATX[MSG-1]]></MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG]]>1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG&#45;1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG&#x2D;1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG&#x2d;1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG&#0;1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG&#xD800;1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG&#99999999;1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG&#;1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG&nbsp;1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG&amp1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG & 1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG&lt;&gt;&quot;&apos;&amp;1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG\x011</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG\xff1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG\uFFFE1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG\r\n1\r2</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId >MSG-1</MsgId >"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG-1</MsgId x>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG-1</MsgID>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG-1</p:MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG-1</>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId>MSG-1</MsgId></MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId a='1' b=\"2\">MSG-1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId a='1'b=\"2\">MSG-1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId a='>'>MSG-1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId a='<'>MSG-1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId a=1>MSG-1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId a>MSG-1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId a = 'x&amp;y' >MSG-1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId a='x&bad;y'>MSG-1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId/ >MSG-1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId/><X/>"),
		rep("<MsgId>MSG-1</MsgId>", "<a:b:MsgId>MSG-1</a:b:MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<:MsgId>MSG-1</:MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<MsgId:>MSG-1</MsgId:>"),
		rep("<MsgId>MSG-1</MsgId>", "<1MsgId>MSG-1</1MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<Mßg>MSG-1</Mßg>"),
		rep("<MsgId>MSG-1</MsgId>", "<M\xffg>MSG-1</M\xffg>"),
		rep("<MsgId>MSG-1</MsgId>", "< MsgId>MSG-1</MsgId>"),
		rep("<MsgId>MSG-1</MsgId>", "<p:MsgId xmlns:p='x'>MSG-1</p:MsgId>"),
		rep(`<InstdAmt Ccy="EUR">`, `<InstdAmt Ccy='USD' Ccy="EUR">`),
		rep(`<InstdAmt Ccy="EUR">`, `<InstdAmt x:Ccy="EUR">`),
		rep(`<InstdAmt Ccy="EUR">`, `<InstdAmt>`),
		rep(`<Document xmlns="`+Namespace+`">`, `<p:Document xmlns:p="`+Namespace+`">`),
		rep(`<Document xmlns="`+Namespace+`">`, `<p:Document xmlns="`+Namespace+`">`),
		rep(`<Document xmlns="`+Namespace+`">`, `<Document>`),
		rep(`<Document xmlns="`+Namespace+`">`, `<Document xmlns='`+Namespace+`' xmlns='x'>`),
		rep(`<Document xmlns="`+Namespace+`">`, `<xml:Document>`),
		rep(`<Document xmlns="`+Namespace+`">`, `<Document xmlns="`+Namespace+`"><Document>`),
		base + "trailing text", base + "<Document/>", base + "<!-- end -->", base + "</Document>",
		base[:len(base)/3], base[:len(base)-2], strings.ReplaceAll(base, "\n", "\r\n"),
		strings.ReplaceAll(base, "><", ">\n  <"),
	}
	return out
}

// TestScannerMatchesDecoder: Check (xmlScanner) and the same checker
// driven by encoding/xml give the same report, problems and messages
// included, on valid files, on files with business-rule problems and on
// every malformation of scanCorpus.
func TestScannerMatchesDecoder(t *testing.T) {
	t.Parallel()
	for i, in := range scanCorpus(t) {
		compareCheck(t, fmt.Sprintf("corpus %d %.60q", i, in), in)
	}
}

// TestScannerSmallReads: reading one byte at a time (every token crosses
// a buffer refill) gives the same report.
func TestScannerSmallReads(t *testing.T) {
	t.Parallel()
	for i, in := range scanCorpus(t) {
		want, werr := Check(strings.NewReader(in))
		got, gerr := Check(iotest.OneByteReader(strings.NewReader(in)))
		if (werr == nil) != (gerr == nil) || !reflect.DeepEqual(want, got) {
			t.Errorf("corpus %d: one-byte reads give %+v (%v), whole %+v (%v)", i, got, gerr, want, werr)
		}
	}
}

func compareCheck(t *testing.T, name, in string) {
	t.Helper()
	want, werr := checkWithDecoder(strings.NewReader(in))
	got, gerr := Check(strings.NewReader(in))
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%s: error %v, encoding/xml %v", name, gerr, werr)
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%s:\n scanner      %+v\n encoding/xml %+v", name, got, want)
	}
}

// FuzzScannerMatchesDecoder: for any input Check reports what the checker
// driven by encoding/xml reports (line numbers of syntax errors aside).
func FuzzScannerMatchesDecoder(f *testing.F) {
	for _, in := range scanCorpus(f) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		want, werr := checkWithDecoder(strings.NewReader(in))
		got, gerr := Check(strings.NewReader(in))
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("error %v, encoding/xml %v", gerr, werr)
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("scanner      %+v\nencoding/xml %+v", got, want)
		}
	})
}
