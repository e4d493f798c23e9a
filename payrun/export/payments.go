package export

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/store"
)

// group is one transaction of the export: the payment lines of one (case,
// payee role) of a run summed over all months, paid to the payee of the
// decision of the latest month.
type group struct {
	CaseID  string
	Role    payrun.PayeeRole
	Amount  payrun.Cents
	Months  []payrun.Month // distinct, ascending
	Laws    []payrun.Law   // distinct, ascending
	Channel payrun.Channel // the decision's payee channel
	// Payee of the decision: for the landlord role the landlord's account.
	PayeeName, PayeeIBAN, PayeeBIC string
	// Beneficiary is the decision's payee name (the ultimate creditor of a
	// landlord transaction).
	Beneficiary       string
	LandlordReference string
}

// payments turns the run's lines (in case, payee order) into the
// transactions of the pain.001 files and the cash list. A (case, payee)
// is paid the sum of its payment lines when that is positive, to the
// payee of the decision of its latest month (the greatest decision id of
// that month). Decisions come from a second stream in case order, merged
// with the lines.
type payments struct {
	x *exporter

	// The group being summed.
	cur      group
	started  bool
	decision string       // of the latest month so far
	month    payrun.Month // of decision
	payments bool         // the group has payment lines

	payees   func() (*store.ExportPayee, error, bool)
	stop     func()             // ends the payees stream
	next     *store.ExportPayee // read ahead
	caseDecs []*store.ExportPayee
	decsOf   string // the case of caseDecs

	pain  painFiles
	cash  *cashList
	files []File // pain.001 files, then the cash list

	sepaSum, cashSum payrun.Cents
	paymentLines     payrun.Cents // Σ of every payment line
}

func (x *exporter) newPayments() *payments {
	return &payments{x: x, pain: painFiles{x: x}}
}

// paid is Σ pain.001 + cash.
func (p *payments) paid() payrun.Cents { return p.sepaSum + p.cashSum }

// open starts the stream of payees: its query (a sort of the
// municipality's decisions) runs while the lines are sorted. The caller
// must call p.stop.
func (p *payments) open(ctx context.Context) error {
	p.payees, p.stop = iter.Pull2(p.payeeStream(ctx))
	d, err, ok := p.payees()
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if ok {
		p.next = d
	}
	return nil
}

// run consumes the line batches, releasing each.
func (p *payments) run(_ context.Context, in <-chan *lineBatch, release func(*lineBatch)) error {
	p.pain.start()
	for b := range in {
		for i := range b.lines {
			if err := p.line(&b.lines[i]); err != nil {
				release(b)
				return err
			}
		}
		release(b)
	}
	if err := p.finishGroup(); err != nil {
		return err
	}
	if p.pain.batch.Len() > 0 {
		if err := p.pain.flush(); err != nil {
			return err
		}
	}
	p.files = append(p.files, p.pain.files...)
	if p.cash != nil {
		f, err := p.cash.close()
		if err != nil {
			return err
		}
		p.files = append(p.files, f)
	}
	return nil
}

// payeeStream is StreamExportPayees as a sequence.
func (p *payments) payeeStream(ctx context.Context) iter.Seq2[*store.ExportPayee, error] {
	return func(yield func(*store.ExportPayee, error) bool) {
		stopped := false
		err := p.x.db.StreamExportPayees(ctx, p.x.run.Municipality, func(pe *store.ExportPayee) error {
			if !yield(pe, nil) {
				stopped = true
				return errStopped
			}
			return nil
		})
		if err != nil && !stopped {
			yield(nil, err)
		}
	}
}

// line adds one run line.
func (p *payments) line(l *store.ExportLine) error {
	if !p.started || l.CaseID != p.cur.CaseID || l.Payee != p.cur.Role {
		if err := p.finishGroup(); err != nil {
			return err
		}
		p.cur = group{CaseID: l.CaseID, Role: l.Payee, Months: p.cur.Months[:0], Laws: p.cur.Laws[:0]}
		p.started, p.payments, p.decision = true, false, ""
	}
	if l.Kind != payrun.LinePayment {
		return nil
	}
	p.payments = true
	p.paymentLines += l.Amount
	g := &p.cur
	g.Amount += l.Amount
	if n := len(g.Months); n == 0 || g.Months[n-1] != l.Month {
		g.Months = append(g.Months, l.Month)
	}
	if !slices.Contains(g.Laws, l.Law) {
		g.Laws = append(g.Laws, l.Law)
	}
	if l.DecisionID != "" && (p.decision == "" || l.Month > p.month || (l.Month == p.month && l.DecisionID > p.decision)) {
		p.decision, p.month = l.DecisionID, l.Month
	}
	return nil
}

// finishGroup pays the group just summed, if its total is positive.
func (p *payments) finishGroup() error {
	g := &p.cur
	if !p.started || !p.payments || g.Amount <= 0 {
		return nil
	}
	slices.Sort(g.Laws)
	d, err := p.payee(g.CaseID, p.decision)
	if err != nil {
		return err
	}
	g.Channel, g.PayeeName, g.PayeeIBAN, g.PayeeBIC = d.Channel, d.Name, d.IBAN, d.BIC
	g.Beneficiary = d.Name
	g.LandlordReference = d.LandlordReference
	if g.Role == payrun.PayeeLandlord {
		g.PayeeName, g.PayeeIBAN, g.PayeeBIC = d.LandlordName, d.LandlordIBAN, d.LandlordBIC
	}
	if g.Role == payrun.PayeeBeneficiary && d.Channel == payrun.ChannelCash {
		p.cashSum += g.Amount
		return p.cashRow(g)
	}
	p.sepaSum += g.Amount
	return p.pain.add(g)
}

// payee returns the payee of decision decisionID of case caseID, reading
// the decisions stream up to the case.
func (p *payments) payee(caseID, decisionID string) (*store.ExportPayee, error) {
	if p.decsOf != caseID {
		p.caseDecs, p.decsOf = p.caseDecs[:0], caseID
		for {
			if p.next == nil {
				d, err, ok := p.payees()
				if err != nil {
					return nil, fmt.Errorf("export: %w", err)
				}
				if !ok {
					break
				}
				p.next = d
			}
			c := strings.Compare(p.next.CaseID, caseID)
			if c > 0 {
				break
			}
			if c == 0 {
				p.caseDecs = append(p.caseDecs, p.next)
			}
			p.next = nil
		}
	}
	for _, d := range p.caseDecs {
		if decisionID != "" && d.DecisionID == decisionID {
			return d, nil
		}
	}
	return nil, fmt.Errorf("export: case %s payee %s: payment lines without a decision", caseID, p.cur.Role)
}

// cashRow adds a cash payout to the cash list (created with the first).
func (p *payments) cashRow(g *group) error {
	if p.cash == nil {
		var err error
		if p.cash, err = p.x.newCashList(); err != nil {
			return err
		}
	}
	return p.cash.add(g)
}
