package export

import (
	"encoding/csv"
	"fmt"

	"github.com/payrun/payrun/payrun"
)

// cashHeader is the header record of the cash payout list.
var cashHeader = []string{"voucher", "name", "amount", "case", "valid_until"}

// cashList is the cash payout list (CSV, ';'-separated, UTF-8, amounts
// with a decimal point): one voucher per case paid in cash, valid until the
// last day of the period. It is created with the first cash payout: a run
// without one has no cash list.
type cashList struct {
	x          *exporter
	f          *pubFile
	w          *csv.Writer
	validUntil string
	n          int
	sum        payrun.Cents
}

func (x *exporter) newCashList() (*cashList, error) {
	r := &x.run
	f, err := x.pub.create(fmt.Sprintf("%s-%s-run%d-cash.csv", r.Municipality, r.Period, r.ID))
	if err != nil {
		return nil, err
	}
	c := &cashList{x: x, f: f, w: csv.NewWriter(f), validUntil: r.Period.Last().String()}
	c.w.Comma = ';'
	if err := c.w.Write(cashHeader); err != nil {
		return nil, fmt.Errorf("export: %s: %w", f.name, err)
	}
	return c, nil
}

// add writes the voucher of one cash payout.
func (c *cashList) add(g *group) error {
	c.n++
	c.sum += g.Amount
	if err := c.w.Write([]string{VoucherNo(c.x.man.Run, g.CaseID), g.PayeeName, g.Amount.String(), g.CaseID, c.validUntil}); err != nil {
		return fmt.Errorf("export: %s: %w", c.f.name, err)
	}
	return nil
}

// close completes the file and returns its manifest entry.
func (c *cashList) close() (File, error) {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return File{}, fmt.Errorf("export: %s: %w", c.f.name, err)
	}
	if err := c.f.finish(); err != nil {
		return File{}, err
	}
	return File{Name: c.f.name, Kind: KindCash, SHA256: c.f.sum, Transactions: c.n, Total: c.sum.String()},
		c.x.fileDone(c.f.name)
}
