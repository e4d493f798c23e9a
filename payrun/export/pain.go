package export

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/store"
	"github.com/payrun/payrun/sepa"
)

// Purpose codes (SEPA.md §2.6).
const (
	purposeBenefit = "SSBE"
	purposeRent    = "RENT"
)

// painFile is the pain.001 file being written.
type painFile struct {
	no    int
	f     *pubFile
	w     *sepa.Writer
	chunk store.ChunkTotal
	txs   int
}

// painName is the file name of pain.001 file n of the run.
func (x *exporter) painName(n int) string {
	kind := "sct"
	if x.run.Instant {
		kind = "inst"
	}
	return fmt.Sprintf("%s-%s-run%d-pain001-%s-%d.xml", x.run.Municipality, x.run.Period, x.run.ID, kind, n)
}

// writePain streams the SEPA transactions into one file per chunk and
// returns the sum written.
func (x *exporter) writePain(ctx context.Context, chunks []store.ChunkTotal) (payrun.Cents, error) {
	var cur *painFile
	var sum payrun.Cents
	next := 0
	err := x.db.StreamExportGroups(ctx, x.run.Municipality, x.run.ID, store.ExportSEPA, func(g *store.ExportGroup) error {
		if cur == nil {
			if next >= len(chunks) {
				return fmt.Errorf("export: more transactions than counted: %w", ErrReconcile)
			}
			var err error
			if cur, err = x.openPain(next+1, chunks[next]); err != nil {
				return err
			}
			next++
		}
		tx, err := x.transaction(g)
		if err != nil {
			return err
		}
		if err := cur.w.Transaction(tx); err != nil {
			return fmt.Errorf("export: %s: %w", cur.f.name, err)
		}
		sum += g.Amount
		cur.txs++
		if cur.txs == cur.chunk.Txs {
			err := x.closePain(cur)
			cur = nil
			return err
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if cur != nil || next != len(chunks) {
		return 0, fmt.Errorf("export: fewer transactions than counted: %w", ErrReconcile)
	}
	return sum, nil
}

// openPain starts file n with the totals of its chunk.
func (x *exporter) openPain(n int, chunk store.ChunkTotal) (*painFile, error) {
	r := &x.run
	f, err := x.pub.create(x.painName(n))
	if err != nil {
		return nil, err
	}
	w, err := sepa.NewWriter(f, sepa.GroupHeader{
		MsgID: MsgID(x.man.Run, r.Instant, n), CreatedAt: r.ReleasedAt,
		NbOfTxs: chunk.Txs, CtrlSum: int64(chunk.Sum),
		InitiatingParty: sepa.CleanText(r.DebtorName, sepa.MaxNameLen),
	})
	if err != nil {
		return nil, fmt.Errorf("export: %s: %w", f.name, err)
	}
	batch := true
	err = w.StartPaymentInfo(sepa.PaymentInfo{
		PmtInfID: PmtInfID(x.man.Run, r.Instant, n), ExecutionDate: x.exec.Time(time.UTC),
		Instant: r.Instant, BatchBooking: &batch,
		Debtor:     sepa.CleanText(r.DebtorName, sepa.MaxNameLen),
		DebtorIBAN: r.DebtorIBAN, DebtorBIC: r.DebtorBIC,
		NbOfTxs: chunk.Txs, CtrlSum: int64(chunk.Sum),
	})
	if err != nil {
		return nil, fmt.Errorf("export: %s: %w", f.name, err)
	}
	return &painFile{no: n, f: f, w: w, chunk: chunk}, nil
}

// closePain ends the message, syncs the temp file, checks it with
// sepa.Check and records it.
func (x *exporter) closePain(p *painFile) error {
	if err := p.w.EndPaymentInfo(); err != nil {
		return fmt.Errorf("export: %s: %w", p.f.name, err)
	}
	if err := p.w.Close(); err != nil {
		return fmt.Errorf("export: %s: %w", p.f.name, err)
	}
	if err := p.f.finish(); err != nil {
		return err
	}
	if err := checkPain(p.f.tmpPath(), p.chunk); err != nil {
		return fmt.Errorf("export: %s: %w", p.f.name, err)
	}
	return x.fileDone(File{Name: p.f.name, Kind: KindPain001, SHA256: p.f.sum,
		Transactions: p.txs, Total: p.chunk.Sum.String()})
}

// checkPain runs the DK business-rule checker over a written file.
func checkPain(path string, want store.ChunkTotal) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rep, err := sepa.Check(f)
	if err != nil {
		return fmt.Errorf("sepa check: %w", err)
	}
	if !rep.OK() {
		return fmt.Errorf("sepa check: %d problems, first: %v: %w", len(rep.Problems)+rep.Omitted, rep.Problems[0], sepa.ErrInvalid)
	}
	if rep.Transactions != want.Txs || rep.CtrlSum != int64(want.Sum) {
		return fmt.Errorf("sepa check: file has %d transactions / %s, the run %d / %s: %w",
			rep.Transactions, sepa.FormatAmount(rep.CtrlSum), want.Txs, want.Sum, ErrReconcile)
	}
	return nil
}

// transaction maps one (case, payee) group to a credit transfer.
func (x *exporter) transaction(g *store.ExportGroup) (sepa.Transaction, error) {
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
