package export

import (
	"context"
	"encoding/csv"
	"fmt"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/store"
)

// cashHeader is the header record of the cash payout list.
var cashHeader = []string{"voucher", "name", "amount", "case", "valid_until"}

// writeCash writes the cash payout list (CSV, ';'-separated, UTF-8, amounts
// with a decimal point): one voucher per case paid in cash, valid until the
// last day of the period. It writes no file when no case is paid in cash,
// and returns the sum written.
func (x *exporter) writeCash(ctx context.Context, want int) (payrun.Cents, error) {
	if want == 0 {
		return 0, nil
	}
	r := &x.run
	f, err := x.pub.create(fmt.Sprintf("%s-%s-run%d-cash.csv", r.Municipality, r.Period, r.ID))
	if err != nil {
		return 0, err
	}
	w := csv.NewWriter(f)
	w.Comma = ';'
	if err := w.Write(cashHeader); err != nil {
		return 0, fmt.Errorf("export: %s: %w", f.name, err)
	}
	validUntil := r.Period.Last().String()
	var sum payrun.Cents
	n := 0
	err = x.db.StreamExportGroups(ctx, r.Municipality, r.ID, store.ExportCash, func(g *store.ExportGroup) error {
		n++
		sum += g.Amount
		return w.Write([]string{VoucherNo(x.man.Run, g.CaseID), g.PayeeName, g.Amount.String(), g.CaseID, validUntil})
	})
	if err != nil {
		return 0, err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return 0, fmt.Errorf("export: %s: %w", f.name, err)
	}
	if n != want {
		return 0, fmt.Errorf("export: cash list has %d vouchers, counted %d: %w", n, want, ErrReconcile)
	}
	if err := f.finish(); err != nil {
		return 0, err
	}
	return sum, x.fileDone(File{Name: f.name, Kind: KindCash, SHA256: f.sum, Transactions: n, Total: sum.String()})
}
