package sepa_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/payrun/payrun/sepa"
)

// TestReconcile: Σ amounts handed to the writer = Writer.Written = the
// file's CtrlSum at both levels = Check's recount, to the cent, for random
// amounts spread over several PmtInf blocks.
func TestReconcile(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	var blocks []block
	var want int64
	n := 0
	for b := range 5 {
		var txs []sepa.Transaction
		for range 1 + rng.IntN(200) {
			tr := tx(n)
			tr.EndToEndID = fmt.Sprintf("REC-%d", n)
			tr.Amount = 1 + rng.Int64N(sepa.MaxAmount)
			want += tr.Amount
			txs = append(txs, tr)
			n++
		}
		blocks = append(blocks, block{pi: payment(fmt.Sprintf("REC-P%d", b)), txs: txs})
	}
	var buf bytes.Buffer
	h := header("REC")
	for _, b := range blocks {
		for _, tr := range b.txs {
			h.NbOfTxs++
			h.CtrlSum += tr.Amount
		}
	}
	w, err := sepa.NewWriter(&buf, h)
	mustNil(t, err)
	for _, b := range blocks {
		b.pi.NbOfTxs = len(b.txs)
		for _, tr := range b.txs {
			b.pi.CtrlSum += tr.Amount
		}
		mustNil(t, w.StartPaymentInfo(b.pi))
		for _, tr := range b.txs {
			mustNil(t, w.Transaction(tr))
		}
		mustNil(t, w.EndPaymentInfo())
	}
	if txs, sum := w.Written(); txs != n || sum != want {
		t.Errorf("Written() = %d, %d; want %d, %d", txs, sum, n, want)
	}
	mustNil(t, w.Close())
	rep := mustCheck(t, "reconcile", &buf)
	if rep.Transactions != n || rep.CtrlSum != want || rep.DeclaredCtrlSum != want || rep.DeclaredTransactions != n {
		t.Errorf("report %d/%d declared %d/%d, want %d/%d", rep.Transactions, rep.CtrlSum, rep.DeclaredTransactions, rep.DeclaredCtrlSum, n, want)
	}
}
