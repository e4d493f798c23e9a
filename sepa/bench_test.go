package sepa_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moov-io/iso20022/pkg/common"
	"github.com/moov-io/iso20022/pkg/pain_v10"

	"github.com/payrun/payrun/sepa"
)

const benchTxs = 1_000_000

// benchPool is a small pool of distinct transactions cycled through by the
// benchmarks, so that generating input does not dominate or hold memory.
var benchPool = sync.OnceValue(func() []sepa.Transaction {
	pool := make([]sepa.Transaction, 1024)
	for i := range pool {
		pool[i] = genTx(i)
	}
	return pool
})

// countWriter counts the bytes written and discards them.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// peakHeap samples the live heap every millisecond until stop is called,
// and reports the peak in MB as a benchmark metric together with the
// process's VmHWM (peak RSS) from /proc/self/status.
func peakHeap(b *testing.B) (stop func()) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		if hwm := vmHWM(); hwm > 0 {
			b.ReportMetric(float64(hwm)/1024, "VmHWM-MB")
		}
	}
}

// vmHWM returns the process's peak resident set size in kB (0 if unknown).
func vmHWM() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// BenchmarkWriter1M streams 1,000,000 transactions in 10 PmtInf blocks
// per iteration (run with -benchtime=1x for one file).
func BenchmarkWriter1M(b *testing.B) {
	pool := benchPool()
	var sum int64
	for i := range benchTxs {
		sum += pool[i%len(pool)].Amount
	}
	const blocks = 10
	stop := peakHeap(b)
	b.ReportAllocs()
	b.ResetTimer()
	var bytes int64
	for range b.N {
		out := &countWriter{}
		h := header("BENCH-1M")
		h.NbOfTxs, h.CtrlSum = benchTxs, sum
		w, err := sepa.NewWriter(out, h)
		if err != nil {
			b.Fatal(err)
		}
		for blk := range blocks {
			p := payment(fmt.Sprintf("BENCH-%d", blk))
			p.NbOfTxs = benchTxs / blocks
			for i := blk * p.NbOfTxs; i < (blk+1)*p.NbOfTxs; i++ {
				p.CtrlSum += pool[i%len(pool)].Amount
			}
			if err := w.StartPaymentInfo(p); err != nil {
				b.Fatal(err)
			}
			for i := blk * p.NbOfTxs; i < (blk+1)*p.NbOfTxs; i++ {
				if err := w.Transaction(pool[i%len(pool)]); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.EndPaymentInfo(); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		bytes = out.n
	}
	b.StopTimer()
	b.SetBytes(bytes)
	stop()
}

type moovDocument struct {
	XMLName          xml.Name `xml:"urn:iso:std:iso:20022:tech:xsd:pain.001.001.10 Document"`
	CstmrCdtTrfInitn pain_v10.CustomerCreditTransferInitiationV10
}

// BenchmarkMoovPain00100110_1M builds the same 1,000,000 transactions as
// moov-io/iso20022 pain.001.001.10 structs and marshals them with
// encoding/xml, for comparison. Its float64 amounts are used only here.
func BenchmarkMoovPain00100110_1M(b *testing.B) {
	pool := benchPool()
	stop := peakHeap(b)
	b.ReportAllocs()
	b.ResetTimer()
	var bytes int64
	for range b.N {
		doc := moovDoc(pool)
		out := &countWriter{}
		if err := xml.NewEncoder(out).Encode(doc); err != nil {
			b.Fatal(err)
		}
		bytes = out.n
	}
	b.StopTimer()
	b.SetBytes(bytes)
	stop()
}

func moovDoc(pool []sepa.Transaction) *moovDocument {
	const blocks = 10
	sepaCd := pain_v10.ExternalServiceLevel1Code("SEPA")
	chrg := pain_v10.ChargeBearerType1Code("SLEV")
	bic := common.BICFIDec2014Identifier("WELADED1LUN")
	nm := func(s string) *common.Max140Text { v := common.Max140Text(s); return &v }
	doc := &moovDocument{}
	var total float64
	for blk := range blocks {
		pi := pain_v10.PaymentInstruction34{
			PmtInfId: common.Max35Text(fmt.Sprintf("BENCH-%d", blk)), PmtMtd: "TRF",
			PmtTpInf:    &pain_v10.PaymentTypeInformation26{SvcLvl: []pain_v10.ServiceLevel8Choice{{Cd: sepaCd}}},
			ReqdExctnDt: pain_v10.DateAndDateTime2Choice{Dt: common.ISODate(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC))},
			Dbtr:        pain_v10.PartyIdentification135{Nm: nm("Stadt Lünen")},
			DbtrAcct:    pain_v10.CashAccount38{Id: pain_v10.AccountIdentification4Choice{IBAN: common.IBAN2007Identifier(debtorIBAN)}},
			DbtrAgt:     pain_v10.BranchAndFinancialInstitutionIdentification6{FinInstnId: pain_v10.FinancialInstitutionIdentification18{BICFI: &bic}},
			ChrgBr:      &chrg,
		}
		n := benchTxs / blocks
		pi.CdtTrfTxInf = make([]pain_v10.CreditTransferTransaction40, 0, n)
		var sum float64
		for i := blk * n; i < (blk+1)*n; i++ {
			t := pool[i%len(pool)]
			amt := float64(t.Amount) / 100
			sum += amt
			tx := pain_v10.CreditTransferTransaction40{
				PmtId:    pain_v10.PaymentIdentification6{EndToEndId: common.Max35Text(t.EndToEndID)},
				Amt:      pain_v10.AmountType4Choice{InstdAmt: pain_v10.ActiveOrHistoricCurrencyAndAmount{Value: amt, Ccy: "EUR"}},
				Cdtr:     &pain_v10.PartyIdentification135{Nm: nm(t.CreditorName)},
				CdtrAcct: &pain_v10.CashAccount38{Id: pain_v10.AccountIdentification4Choice{IBAN: common.IBAN2007Identifier(t.CreditorIBAN)}},
				Purp:     &pain_v10.Purpose2Choice{Cd: "SSBE"},
				RmtInf:   &pain_v10.RemittanceInformation16{Ustrd: []common.Max140Text{common.Max140Text(t.Remittance)}},
			}
			if t.UltimateCreditor != "" {
				tx.UltmtCdtr = &pain_v10.PartyIdentification135{Nm: nm(t.UltimateCreditor)}
			}
			pi.CdtTrfTxInf = append(pi.CdtTrfTxInf, tx)
		}
		nb := common.Max15NumericText(strconv.Itoa(n))
		pi.NbOfTxs, pi.CtrlSum = &nb, sum
		total += sum
		doc.CstmrCdtTrfInitn.PmtInf = append(doc.CstmrCdtTrfInitn.PmtInf, pi)
	}
	doc.CstmrCdtTrfInitn.GrpHdr = pain_v10.GroupHeader95{
		MsgId: "BENCH-1M", CreDtTm: common.ISODateTime(created), NbOfTxs: common.Max15NumericText(strconv.Itoa(benchTxs)),
		CtrlSum: total, InitgPty: pain_v10.PartyIdentification135{Nm: nm("Stadt Lünen Sozialamt")},
	}
	return doc
}

var _ io.Writer = (*countWriter)(nil)

// checkBenchFile is a 100,000-transaction message (distinct EndToEndIds,
// one PmtInf), built once for BenchmarkCheck1M.
var checkBenchFile = sync.OnceValue(func() []byte {
	const n = benchTxs / 10
	txs := make([]sepa.Transaction, n)
	for i := range txs {
		txs[i] = genTx(i)
	}
	var buf strings.Builder
	if err := write(&buf, header("BENCH-CHECK"), []block{{pi: payment("BENCH-CHECK-1"), txs: txs}}); err != nil {
		panic(err)
	}
	return []byte(buf.String())
})

// BenchmarkCheck1M runs sepa.Check over 1,000,000 transactions per
// iteration: a 100,000-transaction file (the export's file size) ten
// times. MB/s is the check's throughput.
func BenchmarkCheck1M(b *testing.B) {
	data := checkBenchFile()
	stop := peakHeap(b)
	b.ReportAllocs()
	b.SetBytes(10 * int64(len(data)))
	b.ResetTimer()
	for range b.N {
		for range 10 {
			rep, err := sepa.Check(bytes.NewReader(data))
			if err != nil || !rep.OK() || rep.Transactions != benchTxs/10 {
				b.Fatalf("check: %v, %d transactions, problems %v", err, rep.Transactions, rep.Problems)
			}
		}
	}
	b.StopTimer()
	stop()
}
