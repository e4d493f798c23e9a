package sepa_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/payrun/payrun/sepa"
)

func goldenCases() map[string]func() (sepa.GroupHeader, []block) {
	yes := true
	return map[string]func() (sepa.GroupHeader, []block){
		"normal": func() (sepa.GroupHeader, []block) {
			p := payment("R7-2026-12-1")
			p.BatchBooking = &yes
			t2 := tx(2)
			t2.CreditorBIC = "COBADEFFXXX"
			t2.InstrID = "R7-I2"
			return header("PAYRUN-R7-1"), []block{{pi: p, txs: []sepa.Transaction{tx(1), t2}}}
		},
		"instant": func() (sepa.GroupHeader, []block) {
			p := payment("R8-INST-1")
			p.Instant = true
			p.DebtorBIC = ""
			p.CategoryPurpose = "SSBE"
			return header("PAYRUN-R8-INST"), []block{{pi: p, txs: []sepa.Transaction{tx(3)}}}
		},
		"ultimate": func() (sepa.GroupHeader, []block) {
			t := tx(4)
			t.CreditorName = "Wohnungsbau GmbH & Co. KG"
			t.UltimateCreditor = "Jana Kowalski"
			t.Purpose = "RENT"
			t.Remittance = "KdU 12/2026 Fall 4 Kowalski"
			no := false
			p := payment("R9-1")
			p.BatchBooking = &no
			p2 := payment("R9-2")
			p2.DebtorIBAN = deIBAN(2)
			return header("PAYRUN-R9"), []block{{pi: p, txs: []sepa.Transaction{t}}, {pi: p2, txs: []sepa.Transaction{tx(5)}}}
		},
		"umlauts": func() (sepa.GroupHeader, []block) {
			t := tx(6)
			t.CreditorName = sepa.CleanText("Jürgen Müßig-Özdemir", sepa.MaxNameLen)
			t.UltimateCreditor = sepa.CleanText("Zoë Łukasiewicz_Ärger", sepa.MaxNameLen)
			t.Remittance = sepa.CleanText("AsylbLG 12/2026 Fall 6: Grundleistung 50% * 2 $ & Übernahme", sepa.MaxRemittanceLen)
			return header("PAYRUN-R10"), []block{{pi: payment("R10-1"), txs: []sepa.Transaction{t}}}
		},
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for name, build := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, blocks := build()
			got := mustWrite(t, h, blocks)
			path := filepath.Join("testdata", name+".golden.xml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s differs from golden file (-want +got):\n%s", path, diff)
			}
			rep := mustCheck(t, name, bytes.NewReader(got))
			if rep.Transactions != countTxs(blocks) {
				t.Errorf("report counts %d transactions", rep.Transactions)
			}
			validateXSD(t, path)
		})
	}
}

func countTxs(blocks []block) (n int) {
	for _, b := range blocks {
		n += len(b.txs)
	}
	return n
}

func TestGoldenContent(t *testing.T) {
	t.Parallel()
	h, blocks := goldenCases()["umlauts"]()
	out := string(mustWrite(t, h, blocks))
	for _, want := range []string{
		"<Nm>Jürgen Müßig-Özdemir</Nm>",     // umlauts and ß kept
		"<Nm>Zoe Lukasiewicz-Ärger</Nm>",    // ë→e, Ł→L, _→-
		"50% * 2 $ &amp; Übernahme</Ustrd>", // & escaped
		"<Cd>SSBE</Cd>",                     // default purpose
		`<InstdAmt Ccy="EUR">500.06</InstdAmt>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, bad := range []string{"UETR", "\ufeff", "e+"} {
		if strings.Contains(out, bad) {
			t.Errorf("output contains %q", bad)
		}
	}
}

func TestLargeControlSum(t *testing.T) {
	t.Parallel()
	var txs []sepa.Transaction
	for i, cents := range []int64{999_999_999_99, 450_000_00, 300_000_00, 1_234_567_89} {
		tr := tx(i)
		tr.Amount = cents
		txs = append(txs, tr)
	}
	h := header("PAYRUN-BIG")
	out := mustWrite(t, h, []block{{pi: payment("BIG-1"), txs: txs}})
	s := string(out)
	for _, want := range []string{"<CtrlSum>1001984567.88</CtrlSum>", `<InstdAmt Ccy="EUR">999999999.99</InstdAmt>`,
		`<InstdAmt Ccy="EUR">1234567.89</InstdAmt>`} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	rep := mustCheck(t, "big", bytes.NewReader(out))
	if rep.CtrlSum != 1_001_984_567_88 || rep.DeclaredCtrlSum != rep.CtrlSum {
		t.Errorf("report CtrlSum %d declared %d", rep.CtrlSum, rep.DeclaredCtrlSum)
	}
	validateBytes(t, "big", out)
}

// TestWriteBatch: transactions collected in a Batch and written with
// WriteBatch give the bytes Transaction gives; an invalid transaction is
// refused by Add and leaves the batch as it was; the totals are checked
// as for single transactions.
func TestWriteBatch(t *testing.T) {
	t.Parallel()
	txs := []sepa.Transaction{tx(1), tx(2), tx(3)}
	want := mustWrite(t, header("MSG-B"), []block{{pi: payment("P1"), txs: txs}})

	var b sepa.Batch
	for _, tr := range txs {
		if err := b.Add(tr); err != nil {
			t.Fatal(err)
		}
	}
	bad := tx(4)
	bad.CreditorIBAN = "DE00"
	if err := b.Add(bad); !errors.Is(err, sepa.ErrInvalid) {
		t.Fatalf("Add(invalid IBAN) = %v, want ErrInvalid", err)
	}
	if b.Len() != 3 || b.Sum() != 50001+50002+50003 {
		t.Fatalf("batch %d / %d after a refused transaction", b.Len(), b.Sum())
	}
	h := header("MSG-B")
	h.NbOfTxs, h.CtrlSum = b.Len(), b.Sum()
	p := payment("P1")
	p.NbOfTxs, p.CtrlSum = b.Len(), b.Sum()
	var got bytes.Buffer
	w, err := sepa.NewWriter(&got, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.StartPaymentInfo(p); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteBatch(&b); err != nil {
		t.Fatal(err)
	}
	if err := w.EndPaymentInfo(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("WriteBatch output differs from Transaction output:\n%s\n%s", got.Bytes(), want)
	}

	// Declared totals that the batch does not meet fail as ever.
	p.NbOfTxs++
	w, _ = sepa.NewWriter(io.Discard, h)
	_ = w.StartPaymentInfo(p)
	_ = w.WriteBatch(&b)
	if err := w.EndPaymentInfo(); !errors.Is(err, sepa.ErrTotals) {
		t.Errorf("EndPaymentInfo after a short batch = %v, want ErrTotals", err)
	}
	b.Reset()
	if b.Len() != 0 || b.Sum() != 0 {
		t.Errorf("Reset left %d / %d", b.Len(), b.Sum())
	}
}

// TestWriteBatchBlocks: a batch larger than one block, emptied and filled
// again, still writes what Transaction writes.
func TestWriteBatchBlocks(t *testing.T) {
	t.Parallel()
	var b sepa.Batch
	for round, n := range []int{5000, 7000} {
		var txs []sepa.Transaction
		b.Reset()
		for i := range n {
			tr := tx(round*10000 + i)
			txs = append(txs, tr)
			if err := b.Add(tr); err != nil {
				t.Fatal(err)
			}
		}
		want := mustWrite(t, header("MSG-B"), []block{{pi: payment("P1"), txs: txs}})
		h, p := header("MSG-B"), payment("P1")
		h.NbOfTxs, h.CtrlSum, p.NbOfTxs, p.CtrlSum = b.Len(), b.Sum(), b.Len(), b.Sum()
		var got bytes.Buffer
		w, err := sepa.NewWriter(&got, h)
		if err == nil {
			err = w.StartPaymentInfo(p)
		}
		if err == nil {
			err = w.WriteBatch(&b)
		}
		if err == nil {
			err = w.EndPaymentInfo()
		}
		if err == nil {
			err = w.Close()
		}
		if err != nil || !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("round %d (%d transactions, %d bytes): %v, output equal: %v", round, n, len(want), err, bytes.Equal(got.Bytes(), want))
		}
	}
}
