package sepa_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/sepa"
)

func TestWriterFieldErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*sepa.GroupHeader, *sepa.PaymentInfo, *sepa.Transaction)
		field  string
		record string
	}{
		{"MsgId underscore", func(h *sepa.GroupHeader, _ *sepa.PaymentInfo, _ *sepa.Transaction) { h.MsgID = "RUN_1" }, "MsgID", "GrpHdr"},
		{"initiating party", func(h *sepa.GroupHeader, _ *sepa.PaymentInfo, _ *sepa.Transaction) { h.InitiatingParty = "" }, "InitiatingParty", "GrpHdr"},
		{"PmtInfId too long", func(_ *sepa.GroupHeader, p *sepa.PaymentInfo, _ *sepa.Transaction) {
			p.PmtInfID = strings.Repeat("P", 36)
		}, "PmtInfID", "PmtInf"},
		{"debtor IBAN", func(_ *sepa.GroupHeader, p *sepa.PaymentInfo, _ *sepa.Transaction) {
			p.DebtorIBAN = "DE00440501990000000001"
		}, "DebtorIBAN", "PmtInf"},
		{"debtor BIC", func(_ *sepa.GroupHeader, p *sepa.PaymentInfo, _ *sepa.Transaction) { p.DebtorBIC = "WELADE" }, "DebtorBIC", "PmtInf"},
		{"no execution date", func(_ *sepa.GroupHeader, p *sepa.PaymentInfo, _ *sepa.Transaction) { p.ExecutionDate = time.Time{} }, "ExecutionDate", "PmtInf"},
		{"category purpose", func(_ *sepa.GroupHeader, p *sepa.PaymentInfo, _ *sepa.Transaction) { p.CategoryPurpose = "SS" }, "CategoryPurpose", "PmtInf"},
		{"amount zero", func(h *sepa.GroupHeader, p *sepa.PaymentInfo, tr *sepa.Transaction) {
			tr.Amount, h.NbOfTxs, h.CtrlSum, p.NbOfTxs, p.CtrlSum = 0, 1, 1, 1, 1
		}, "Amount", `EndToEndId "R7-C1-2026-12"`},
		{"amount too large", func(_ *sepa.GroupHeader, _ *sepa.PaymentInfo, tr *sepa.Transaction) { tr.Amount = sepa.MaxAmount + 1 }, "Amount", "R7-C1-2026-12"},
		{"EndToEndId umlaut", func(_ *sepa.GroupHeader, _ *sepa.PaymentInfo, tr *sepa.Transaction) { tr.EndToEndID = "Fall-Müller" }, "EndToEndID", "Fall-Müller"},
		{"InstrId", func(_ *sepa.GroupHeader, _ *sepa.PaymentInfo, tr *sepa.Transaction) { tr.InstrID = "a@b" }, "InstrID", "R7-C1-2026-12"},
		{"creditor IBAN", func(_ *sepa.GroupHeader, _ *sepa.PaymentInfo, tr *sepa.Transaction) { tr.CreditorIBAN = "US12345" }, "CreditorIBAN", "R7-C1-2026-12"},
		{"creditor IBAN lower case", func(_ *sepa.GroupHeader, _ *sepa.PaymentInfo, tr *sepa.Transaction) {
			tr.CreditorIBAN = strings.ToLower(tr.CreditorIBAN)
		}, "CreditorIBAN", "R7-C1-2026-12"},
		{"creditor BIC", func(_ *sepa.GroupHeader, _ *sepa.PaymentInfo, tr *sepa.Transaction) { tr.CreditorBIC = "NOTPROVIDED" }, "CreditorBIC", "R7-C1-2026-12"},
		{"creditor name 71 runes", func(_ *sepa.GroupHeader, _ *sepa.PaymentInfo, tr *sepa.Transaction) {
			tr.CreditorName = strings.Repeat("ö", 71)
		}, "CreditorName", "R7-C1-2026-12"},
		{"creditor name charset", func(_ *sepa.GroupHeader, _ *sepa.PaymentInfo, tr *sepa.Transaction) { tr.CreditorName = "José" }, "CreditorName", "R7-C1-2026-12"},
		{"ultimate creditor", func(_ *sepa.GroupHeader, _ *sepa.PaymentInfo, tr *sepa.Transaction) { tr.UltimateCreditor = "<b>" }, "UltimateCreditor", "R7-C1-2026-12"},
		{"purpose", func(_ *sepa.GroupHeader, _ *sepa.PaymentInfo, tr *sepa.Transaction) { tr.Purpose = "rent" }, "Purpose", "R7-C1-2026-12"},
		{"remittance 141", func(_ *sepa.GroupHeader, _ *sepa.PaymentInfo, tr *sepa.Transaction) {
			tr.Remittance = strings.Repeat("ß", 141)
		}, "Remittance", "R7-C1-2026-12"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, p, tr := header("MSG-E"), payment("P-E"), tx(1)
			tc.change(&h, &p, &tr)
			var buf bytes.Buffer
			err := write(&buf, h, []block{{pi: p, txs: []sepa.Transaction{tr}}})
			var fe *sepa.FieldError
			if !errors.As(err, &fe) || !errors.Is(err, sepa.ErrInvalid) {
				t.Fatalf("err = %v, want a *FieldError wrapping ErrInvalid", err)
			}
			if fe.Field != tc.field || !strings.Contains(fe.Record, tc.record) {
				t.Errorf("FieldError record %q field %q, want %q in record and field %q", fe.Record, fe.Field, tc.record, tc.field)
			}
			if tc.record != "GrpHdr" && strings.Contains(buf.String(), "R7-C1-2026-12") {
				t.Error("the invalid transaction was written")
			}
		})
	}
}

func TestWriterTotals(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	// PmtInf declares one cent more than its transaction.
	p := payment("P1")
	p.NbOfTxs, p.CtrlSum = 1, tx(1).Amount+1
	h := header("M1")
	h.NbOfTxs, h.CtrlSum = 1, p.CtrlSum
	if err := write(&buf, h, []block{{pi: p, txs: []sepa.Transaction{tx(1)}}}); !errors.Is(err, sepa.ErrTotals) {
		t.Errorf("PmtInf CtrlSum mismatch: %v", err)
	}
	// Group header declares two transactions, one written.
	h.NbOfTxs, h.CtrlSum = 2, tx(1).Amount
	if err := write(&buf, h, []block{{pi: payment("P1"), txs: []sepa.Transaction{tx(1)}}}); !errors.Is(err, sepa.ErrTotals) {
		t.Errorf("GrpHdr NbOfTxs mismatch: %v", err)
	}
}

func TestWriterOrderAndMixing(t *testing.T) {
	t.Parallel()
	h := header("M2")
	h.NbOfTxs, h.CtrlSum = 2, tx(1).Amount+tx(2).Amount
	w, err := sepa.NewWriter(&bytes.Buffer{}, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Transaction(tx(1)); !errors.Is(err, sepa.ErrOrder) {
		t.Errorf("Transaction outside PmtInf: %v", err)
	}
	// The first error sticks.
	if err := w.StartPaymentInfo(payment("P")); !errors.Is(err, sepa.ErrOrder) {
		t.Errorf("after an error: %v", err)
	}

	w, _ = sepa.NewWriter(&bytes.Buffer{}, h)
	p := payment("P1")
	p.NbOfTxs, p.CtrlSum = 1, tx(1).Amount
	mustNil(t, w.StartPaymentInfo(p))
	mustNil(t, w.Transaction(tx(1)))
	mustNil(t, w.EndPaymentInfo())
	inst := payment("P2")
	inst.Instant, inst.NbOfTxs, inst.CtrlSum = true, 1, tx(2).Amount
	err = w.StartPaymentInfo(inst)
	var fe *sepa.FieldError
	if !errors.As(err, &fe) || fe.Field != "Instant" {
		t.Errorf("mixing SCT and Inst: %v", err)
	}
	if err := w.Close(); err == nil {
		t.Error("Close after an error succeeded")
	}

	w, _ = sepa.NewWriter(&bytes.Buffer{}, h)
	if err := w.Close(); !errors.Is(err, sepa.ErrOrder) {
		t.Errorf("Close without PmtInf: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriterWriteError(t *testing.T) {
	t.Parallel()
	err := write(failWriter{}, header("M3"), []block{{pi: payment("P1"), txs: []sepa.Transaction{tx(1)}}})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("err = %v, want the write error", err)
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
