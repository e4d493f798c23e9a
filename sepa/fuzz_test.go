package sepa_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/payrun/payrun/sepa"
)

type parsedDoc struct {
	Txs []struct {
		Cdtr      string `xml:"Cdtr>Nm"`
		UltmtCdtr string `xml:"UltmtCdtr>Nm"`
		Ustrd     string `xml:"RmtInf>Ustrd"`
	} `xml:"CstmrCdtTrfInitn>PmtInf>CdtTrfTxInf"`
}

// FuzzWriterText feeds arbitrary text through CleanText into the writer:
// the output must be well-formed XML that round-trips the cleaned text and
// passes Check. Raw (uncleaned) text is either accepted and round-trips,
// or refused with ErrInvalid.
func FuzzWriterText(f *testing.F) {
	for _, s := range [][2]string{
		{"Jürgen Müßig", "SGB XII 12/2026"}, {"<&>\"'", "]]><!--"}, {"\x00\xff\xfe", "\u202e\u200b"},
		{"李小龙 & Zoë", "€ 100 @ home_x"}, {"", " "}, {"ß", string(make([]byte, 300))},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, name, text string) {
		cname := sepa.CleanText(name, sepa.MaxNameLen)
		if cname == "" {
			cname = "Unbekannt"
		}
		tr := tx(1)
		tr.CreditorName = cname
		tr.UltimateCreditor = sepa.CleanText(text+name, sepa.MaxNameLen)
		tr.Remittance = sepa.CleanText(text, sepa.MaxRemittanceLen)
		roundTrip(t, tr, true)

		raw := tx(2)
		raw.CreditorName, raw.Remittance = name, text
		roundTrip(t, raw, false)
	})
}

func roundTrip(t *testing.T, tr sepa.Transaction, mustAccept bool) {
	t.Helper()
	var buf bytes.Buffer
	err := write(&buf, header("FUZZ"), []block{{pi: payment("FUZZ-1"), txs: []sepa.Transaction{tr}}})
	if err != nil {
		if !mustAccept && errors.Is(err, sepa.ErrInvalid) {
			return
		}
		t.Fatalf("write(%q, %q, %q): %v", tr.CreditorName, tr.UltimateCreditor, tr.Remittance, err)
	}
	var doc parsedDoc
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("output is not well-formed XML: %v\n%s", err, buf.Bytes())
	}
	if len(doc.Txs) != 1 {
		t.Fatalf("parsed %d transactions", len(doc.Txs))
	}
	got := doc.Txs[0]
	if got.Cdtr != tr.CreditorName || got.UltmtCdtr != tr.UltimateCreditor || got.Ustrd != tr.Remittance {
		t.Fatalf("round trip: got %q/%q/%q, wrote %q/%q/%q", got.Cdtr, got.UltmtCdtr, got.Ustrd, tr.CreditorName, tr.UltimateCreditor, tr.Remittance)
	}
	rep, err := sepa.Check(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("Check: %v", rep.Problems)
	}
}

// FuzzCheck: Check never panics and never returns an error for input that
// reads without I/O errors.
func FuzzCheck(f *testing.F) {
	golden, _ := filepath.Glob("testdata/*.golden.xml")
	for _, p := range golden {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
			f.Add(b[:len(b)/3])
		}
	}
	f.Add([]byte(`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><CstmrCdtTrfInitn><PmtInf><CdtTrfTxInf><PstlAdr><AdrLine>x</AdrLine></PstlAdr></CdtTrfTxInf></PmtInf></CstmrCdtTrfInitn></Document>`))
	f.Add([]byte("\xef\xbb\xbf<a/>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := sepa.Check(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		if rep == nil {
			t.Fatal("nil report")
		}
	})
}
