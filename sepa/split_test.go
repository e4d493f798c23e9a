package sepa_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/payrun/payrun/sepa"
)

// genTx returns the i-th of a large synthetic run's transactions.
func genTx(i int) sepa.Transaction {
	t := sepa.Transaction{
		EndToEndID:   fmt.Sprintf("R42-C%07d-2026-12", i),
		Amount:       int64(1 + (i*7919)%150_000),
		CreditorName: "Empfänger Müller-Lüdenscheidt",
		CreditorIBAN: deIBAN(i),
		Remittance:   fmt.Sprintf("SGB XII 12/2026 Fall %d Regelbedarf und KdU", i),
	}
	if i%10 == 0 {
		t.UltimateCreditor = "Leistungsberechtigte Person"
		t.Purpose = "RENT"
	}
	return t
}

// TestSplit150k writes 150,000 transactions into the files SplitCounts
// asks for, validates both against both schemas and checks that the file
// totals reconcile with the transactions, to the cent.
func TestSplit150k(t *testing.T) {
	t.Parallel()
	const total = 150_000
	counts := sepa.SplitCounts(total, 0)
	if len(counts) != 2 {
		t.Fatalf("SplitCounts(%d) = %v, want 2 files", total, counts)
	}
	var wantSum int64
	for i := range total {
		wantSum += genTx(i).Amount
	}
	dir := t.TempDir()
	var files []string
	var sums []int64
	next := 0
	for f, n := range counts {
		path := filepath.Join(dir, fmt.Sprintf("part%d.xml", f+1))
		files = append(files, path)
		sum := int64(0)
		for i := next; i < next+n; i++ {
			sum += genTx(i).Amount
		}
		writeFile(t, path, f, next, n, sum)
		sums = append(sums, sum)
		next += n
	}
	// Check the files while xmllint validates them.
	reports := make([]*sepa.Report, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, path := range files {
		wg.Go(func() { reports[i], errs[i] = checkFile(path) })
	}
	skip := lintXSD(t, files...)
	wg.Wait()
	var gotTxs int
	var gotSum int64
	for i, rep := range reports {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		for _, p := range rep.Problems {
			t.Errorf("%s: %s", files[i], p)
		}
		if rep.Transactions != counts[i] || rep.CtrlSum != sums[i] || rep.DeclaredCtrlSum != sums[i] {
			t.Errorf("%s: %d transactions / %d cents, want %d / %d", files[i], rep.Transactions, rep.CtrlSum, counts[i], sums[i])
		}
		gotTxs += rep.Transactions
		gotSum += rep.CtrlSum
	}
	if gotTxs != total || gotSum != wantSum {
		t.Errorf("files hold %d transactions / %s, want %d / %s", gotTxs, sepa.FormatAmount(gotSum), total, sepa.FormatAmount(wantSum))
	}
	if skip != "" {
		t.Skip(skip)
	}
}

func checkFile(path string) (*sepa.Report, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return sepa.Check(bufio.NewReader(fh))
}

func writeFile(t *testing.T, path string, part, first, n int, sum int64) {
	t.Helper()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	h := header(fmt.Sprintf("PAYRUN-R42-%d", part+1))
	h.NbOfTxs, h.CtrlSum = n, sum
	w, err := sepa.NewWriter(fh, h)
	if err != nil {
		t.Fatal(err)
	}
	p := payment(fmt.Sprintf("R42-%d-1", part+1))
	p.NbOfTxs, p.CtrlSum = n, sum
	mustNil(t, w.StartPaymentInfo(p))
	var written int64
	for i := first; i < first+n; i++ {
		tr := genTx(i)
		written += tr.Amount
		mustNil(t, w.Transaction(tr))
	}
	if txs, cents := w.Written(); txs != n || cents != written {
		t.Errorf("Written() = %d, %d; want %d, %d", txs, cents, n, written)
	}
	mustNil(t, w.EndPaymentInfo())
	mustNil(t, w.Close())
}
