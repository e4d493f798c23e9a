package sepa

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"testing"
	"time"
)

// checkWithDecoder is Check driven by encoding/xml's Decoder.Token instead
// of xmlScanner: the reference the scanner is compared against (it was
// Check's own loop before the scanner).
func checkWithDecoder(r io.Reader) (*Report, error) {
	c := newChecker()
	br := bufio.NewReaderSize(r, 64<<10)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		c.problem("/", "bom", "file starts with a byte order mark (DK: UTF-8 without BOM)")
		_, _ = br.Discard(3)
	}
	er := &errReader{r: br}
	d := xml.NewDecoder(er)
	names := map[xml.Name]*xmlName{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			if er.err != nil {
				return &c.rep, fmt.Errorf("sepa: check: read: %w", er.err)
			}
			c.problem(c.path(), "xml", "not well-formed XML: "+err.Error())
			return &c.rep, nil
		}
		switch t := tok.(type) {
		case xml.StartElement:
			ccy := ""
			for _, a := range t.Attr {
				if a.Name.Local == "Ccy" {
					ccy = a.Value
				}
			}
			name := names[t.Name]
			if name == nil {
				name = &xmlName{local: t.Name.Local}
				names[t.Name] = name
			}
			if !c.open(name, t.Name.Space, ccy) {
				return &c.rep, nil
			}
		case xml.EndElement:
			c.close()
		case xml.CharData:
			c.chars(t)
		}
	}
	if c.root {
		c.problem("/", "xml", "no root element")
		return &c.rep, nil
	}
	c.finish()
	return &c.rep, nil
}

// errReader remembers a read error other than io.EOF, so that
// checkWithDecoder can tell I/O failures from malformed XML.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// BenchmarkCheckDecoder100k is the reference for BenchmarkCheck1M: the same
// checker driven by encoding/xml over one 100,000-transaction file.
func BenchmarkCheckDecoder100k(b *testing.B) {
	data := benchCheckFile(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rep, err := checkWithDecoder(bytes.NewReader(data))
		if err != nil || !rep.OK() {
			b.Fatal(err, rep.Problems)
		}
	}
}

// BenchmarkCheck100k is Check over the same file.
func BenchmarkCheck100k(b *testing.B) {
	data := benchCheckFile(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rep, err := Check(bytes.NewReader(data))
		if err != nil || !rep.OK() {
			b.Fatal(err, rep.Problems)
		}
	}
}

// benchCheckFile is a valid 100,000-transaction message.
func benchCheckFile(b *testing.B) []byte {
	b.Helper()
	var buf bytes.Buffer
	const n = 100_000
	var sum int64
	for i := range n {
		sum += int64(1 + i%150_000)
	}
	w, err := NewWriter(&buf, GroupHeader{MsgID: "BENCH", CreatedAt: time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC),
		NbOfTxs: n, CtrlSum: sum, InitiatingParty: "Stadt Lünen"})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.StartPaymentInfo(PaymentInfo{PmtInfID: "BENCH-1", ExecutionDate: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		Debtor: "Stadt Lünen", DebtorIBAN: "DE77440501990000000001", NbOfTxs: n, CtrlSum: sum}); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		t := Transaction{EndToEndID: fmt.Sprintf("R42-C%07d-2026-12", i), Amount: int64(1 + i%150_000),
			CreditorName: "Empfänger Müller-Lüdenscheidt", CreditorIBAN: "DE77440501990000000001",
			Remittance: fmt.Sprintf("SGB XII 12/2026 Fall %d Regelbedarf und KdU", i)}
		if i%10 == 0 {
			t.UltimateCreditor, t.Purpose = "Leistungsberechtigte Person", "RENT"
		}
		if err := w.Transaction(t); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.EndPaymentInfo(); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}
