package export

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/sepa"
)

// Purpose codes (SEPA.md §2.6).
const (
	purposeBenefit = "SSBE"
	purposeRent    = "RENT"
)

// painFiles collects the SEPA transactions of one file at a time (their
// count and sum open the file) and writes the file when it is full or the
// run ends. A separate goroutine checks each written file with
// sepa.Check while the next one is collected.
type painFiles struct {
	x     *exporter
	batch sepa.Batch
	files []File
	n     int // files written

	checks chan painCheck
	done   chan error
}

// painCheck is a written file to check.
type painCheck struct {
	name, path string
	txs        int
	sum        payrun.Cents
}

// start starts the checking goroutine.
func (pf *painFiles) start() {
	checks, done := make(chan painCheck, 64), make(chan error, 1)
	pf.checks, pf.done = checks, done
	go func() {
		var first error
		for c := range checks {
			if first == nil {
				first = checkPain(c)
			}
		}
		done <- first
	}()
}

// wait ends the checking and returns its first error.
func (pf *painFiles) wait() error {
	if pf.checks == nil {
		return nil
	}
	close(pf.checks)
	pf.checks = nil
	return <-pf.done
}

// waitChecks waits for the checks of the pain.001 files.
func (p *payments) waitChecks() error { return p.pain.wait() }

// painName is the file name of pain.001 file n of the run.
func (x *exporter) painName(n int) string {
	kind := "sct"
	if x.run.Instant {
		kind = "inst"
	}
	return fmt.Sprintf("%s-%s-run%d-pain001-%s-%d.xml", x.run.Municipality, x.run.Period, x.run.ID, kind, n)
}

// add adds a transaction, writing the file when it is full.
func (pf *painFiles) add(g *group) error {
	t, err := pf.x.transaction(g)
	if err != nil {
		return err
	}
	if err := pf.batch.Add(t); err != nil {
		return fmt.Errorf("export: %s: %w", pf.x.painName(pf.n+1), err)
	}
	if pf.batch.Len() < pf.x.opts.MaxTransactionsPerFile {
		return nil
	}
	return pf.flush()
}

// flush writes the collected transactions as the next file, syncs it and
// queues it for the check.
func (pf *painFiles) flush() error {
	x, r := pf.x, &pf.x.run
	pf.n++
	n, txs, sum := pf.n, pf.batch.Len(), payrun.Cents(pf.batch.Sum())
	f, err := x.pub.create(x.painName(n))
	if err != nil {
		return err
	}
	w, err := sepa.NewWriter(f, sepa.GroupHeader{
		MsgID: MsgID(x.man.Run, r.Instant, n), CreatedAt: r.ReleasedAt,
		NbOfTxs: txs, CtrlSum: int64(sum),
		InitiatingParty: sepa.CleanText(r.DebtorName, sepa.MaxNameLen),
	})
	if err != nil {
		return fmt.Errorf("export: %s: %w", f.name, err)
	}
	batch := true
	err = w.StartPaymentInfo(sepa.PaymentInfo{
		PmtInfID: PmtInfID(x.man.Run, r.Instant, n), ExecutionDate: x.exec.Time(time.UTC),
		Instant: r.Instant, BatchBooking: &batch,
		Debtor:     sepa.CleanText(r.DebtorName, sepa.MaxNameLen),
		DebtorIBAN: r.DebtorIBAN, DebtorBIC: r.DebtorBIC,
		NbOfTxs: txs, CtrlSum: int64(sum),
	})
	if err == nil {
		err = w.WriteBatch(&pf.batch)
	}
	if err == nil {
		err = w.EndPaymentInfo()
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return fmt.Errorf("export: %s: %w", f.name, err)
	}
	if err := f.finish(); err != nil {
		return err
	}
	pf.batch.Reset()
	pf.checks <- painCheck{name: f.name, path: f.tmpPath(), txs: txs, sum: sum}
	pf.files = append(pf.files, File{Name: f.name, Kind: KindPain001, SHA256: f.sum, Transactions: txs, Total: sum.String()})
	return x.fileDone(f.name)
}

// checkPain runs the DK business-rule checker over a written file: the
// file must have no problem and the transactions and sum written.
func checkPain(c painCheck) error {
	f, err := os.Open(c.path)
	if err != nil {
		return fmt.Errorf("export: %s: %w", c.name, err)
	}
	defer f.Close()
	rep, err := sepa.Check(f)
	if err != nil {
		return fmt.Errorf("export: %s: sepa check: %w", c.name, err)
	}
	if !rep.OK() {
		return fmt.Errorf("export: %s: sepa check: %d problems, first: %v: %w", c.name, len(rep.Problems)+rep.Omitted, rep.Problems[0], sepa.ErrInvalid)
	}
	if rep.Transactions != c.txs || rep.CtrlSum != int64(c.sum) {
		return fmt.Errorf("export: %s: sepa check: file has %d transactions / %s, written %d / %s: %w",
			c.name, rep.Transactions, sepa.FormatAmount(rep.CtrlSum), c.txs, c.sum, ErrReconcile)
	}
	return nil
}

// transaction maps one (case, payee) group to a credit transfer.
func (x *exporter) transaction(g *group) (sepa.Transaction, error) {
	t := sepa.Transaction{
		EndToEndID:   EndToEndID(x.man.Run, g.CaseID, g.Role),
		Amount:       int64(g.Amount),
		CreditorName: sepa.CleanText(g.PayeeName, sepa.MaxNameLen),
		CreditorIBAN: strings.ToUpper(strings.ReplaceAll(g.PayeeIBAN, " ", "")),
		CreditorBIC:  g.PayeeBIC,
		Purpose:      purposeBenefit,
	}
	ref := ""
	switch {
	case g.Role == payrun.PayeeLandlord:
		t.UltimateCreditor = sepa.CleanText(g.Beneficiary, sepa.MaxNameLen)
		t.Purpose = purposeRent
		ref = strings.TrimSpace("Miete " + g.LandlordReference)
	case g.Channel == payrun.ChannelCard && x.run.Settings.CardAccountHolder != "":
		t.CreditorName = sepa.CleanText(x.run.Settings.CardAccountHolder, sepa.MaxNameLen)
		t.UltimateCreditor = sepa.CleanText(g.Beneficiary, sepa.MaxNameLen)
		ref = "Kartenaufladung"
	case g.Channel == payrun.ChannelCard:
		ref = "Kartenaufladung"
	}
	t.Remittance = Remittance(g.Laws, g.Months, x.run.Period, ref, g.CaseID)
	if t.CreditorName == "" {
		return t, fmt.Errorf("export: case %s payee %s: name %q has no character SEPA can carry: %w",
			g.CaseID, g.Role, g.PayeeName, payrun.ErrInvalid)
	}
	return t, nil
}
