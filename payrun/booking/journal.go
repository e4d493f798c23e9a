package booking

import (
	"errors"
	"fmt"
	"iter"

	"github.com/payrun/payrun/payrun"
)

// Line is one run line as the bookings see it: one per case, month, payee
// role and component. Amounts are signed: components positive, income and
// offset negative; the lines of a (case, month, payee) group of kind
// overpayment sum to less than zero, of kind payment to more than zero.
type Line struct {
	Seq        int64 // position in the run, for traceability
	CaseID     string
	Month      payrun.Month
	Payee      payrun.PayeeRole
	Channel    payrun.Channel
	Component  payrun.Component
	Kind       payrun.LineKind
	Amount     payrun.Cents
	Law        payrun.Law
	CostBearer payrun.CostBearer
	ReclaimID  string
}

// Side is the side of a booking line.
type Side uint8

// The sides.
const (
	Debit  Side = 1 // Soll
	Credit Side = 2 // Haben
)

// String returns "debit" or "credit".
func (s Side) String() string {
	switch s {
	case Debit:
		return "debit"
	case Credit:
		return "credit"
	}
	return "invalid"
}

// Entry is one booking line of the journal: one account, one side, a
// non-negative amount. Every run line gives exactly two entries (debit and
// credit of the same amount), both carrying the line's Seq.
type Entry struct {
	Municipality   string
	Seq            int64
	CaseID         string
	Month          payrun.Month
	Payee          payrun.PayeeRole
	Law            payrun.Law
	Component      payrun.Component
	CostBearer     payrun.CostBearer
	LineKind       payrun.LineKind
	AccountKind    AccountKind
	Account        string
	Product        string
	CostCentre     string
	BudgetPosition string
	Side           Side
	Amount         payrun.Cents // ≥ 0
	ReclaimID      string
}

// AppendText appends the booking text of e to b without allocating:
// "<case> <YYYY-MM> <law> <component> <payee>", then " reclaim <id>" when
// the line sets off a reclaim.
func (e *Entry) AppendText(b []byte) []byte {
	b = append(b, e.CaseID...)
	b = append(b, ' ')
	b = e.Month.Append(b)
	b = append(b, ' ')
	b = append(b, e.Law...)
	b = append(b, ' ')
	b = append(b, e.Component...)
	b = append(b, ' ')
	b = append(b, e.Payee...)
	if e.ReclaimID != "" {
		b = append(b, " reclaim "...)
		b = append(b, e.ReclaimID...)
	}
	return b
}

// Text returns the booking text (see AppendText).
func (e *Entry) Text() string { return string(e.AppendText(nil)) }

// ErrBadLine is matched by errors about run lines the journal refuses.
var ErrBadLine = errors.New("bad run line")

// Post books one run line on chart c and returns its debit and credit entry
// (same amount |l.Amount|). The amount side is expense (revenue for the
// offset component); the counter side is payable for payments and
// receivable for overpayments. A positive amount debits the amount side
// and credits the counter side; a negative amount (income, offset, or a
// reduction inside an overpayment) swaps them.
func (c *Chart) Post(l *Line) (debit, credit Entry, err error) {
	if l.Kind != payrun.LinePayment && l.Kind != payrun.LineOverpayment {
		return debit, credit, fmt.Errorf("booking: line %d: %w: kind %q", l.Seq, ErrBadLine, l.Kind)
	}
	if l.Payee != payrun.PayeeBeneficiary && l.Payee != payrun.PayeeLandlord {
		return debit, credit, fmt.Errorf("booking: line %d: %w: payee %q", l.Seq, ErrBadLine, l.Payee)
	}
	mainKind, counterKind := RequiredKinds(l.Kind, l.Component)
	main, err := c.Resolve(l.Law, l.Component, l.CostBearer, mainKind)
	if err != nil {
		return debit, credit, fmt.Errorf("booking: line %d (case %s): %w", l.Seq, l.CaseID, err)
	}
	counter, err := c.Resolve(l.Law, l.Component, l.CostBearer, counterKind)
	if err != nil {
		return debit, credit, fmt.Errorf("booking: line %d (case %s): %w", l.Seq, l.CaseID, err)
	}
	amt := l.Amount
	if amt < 0 {
		amt = -amt
		mainKind, counterKind = counterKind, mainKind
		main, counter = counter, main
	}
	debit = c.entry(l, mainKind, main, Debit, amt)
	credit = c.entry(l, counterKind, counter, Credit, amt)
	return debit, credit, nil
}

func (c *Chart) entry(l *Line, k AccountKind, a *Assignment, s Side, amt payrun.Cents) Entry {
	return Entry{
		Municipality: c.municipality, Seq: l.Seq, CaseID: l.CaseID, Month: l.Month, Payee: l.Payee,
		Law: l.Law, Component: l.Component, CostBearer: l.CostBearer, LineKind: l.Kind,
		AccountKind: k, Account: a.Account, Product: a.Product, CostCentre: a.CostCentre,
		BudgetPosition: a.BudgetPosition, Side: s, Amount: amt, ReclaimID: l.ReclaimID,
	}
}

// groupCheck verifies, on a stream in (case, payee, month, component)
// order, that each (case, month, payee) group has one kind and the sign
// that kind requires: payment groups ≥ 0 (0 is a reclassification between
// components, e.g. when income moved from one component to another),
// overpayment groups < 0. It holds one group at a time.
type groupCheck struct {
	started bool
	caseID  string
	month   payrun.Month
	payee   payrun.PayeeRole
	kind    payrun.LineKind
	first   int64
	sum     payrun.Cents
}

func (g *groupCheck) add(l *Line) error {
	if g.started && l.CaseID == g.caseID && l.Month == g.month && l.Payee == g.payee {
		if l.Kind != g.kind {
			return fmt.Errorf("booking: line %d (case %s %s %s): %w: kinds %s and %s in one group",
				l.Seq, l.CaseID, l.Month, l.Payee, ErrBadLine, g.kind, l.Kind)
		}
		g.sum += l.Amount
		return nil
	}
	if err := g.finish(); err != nil {
		return err
	}
	*g = groupCheck{started: true, caseID: l.CaseID, month: l.Month, payee: l.Payee, kind: l.Kind, first: l.Seq, sum: l.Amount}
	return nil
}

func (g *groupCheck) finish() error {
	if !g.started {
		return nil
	}
	if (g.kind == payrun.LinePayment && g.sum < 0) || (g.kind == payrun.LineOverpayment && g.sum >= 0) {
		return fmt.Errorf("booking: lines from %d (case %s %s %s): %w: a %s group sums to %s",
			g.first, g.caseID, g.month, g.payee, ErrBadLine, g.kind, g.sum)
	}
	return nil
}

// Journal books a stream of run lines (in case, payee, month, component
// order) and yields two entries per line, debit first. It holds one line
// and one (case, month, payee) group at a time. The first error (from the
// input, a missing rule or a group whose sum has the wrong sign) is yielded
// and ends the stream.
func (c *Chart) Journal(lines iter.Seq2[Line, error]) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		var g groupCheck
		for l, err := range lines {
			if err != nil {
				yield(Entry{}, fmt.Errorf("booking: reading run lines: %w", err))
				return
			}
			if err := g.add(&l); err != nil {
				yield(Entry{}, err)
				return
			}
			d, cr, err := c.Post(&l)
			if err != nil {
				yield(Entry{}, err)
				return
			}
			if !yield(d, nil) || !yield(cr, nil) {
				return
			}
		}
		if err := g.finish(); err != nil {
			yield(Entry{}, err)
		}
	}
}

// CheckLines runs the chart over a stream of lines without booking them
// and returns every missing rule once (joined), or the first input error.
// The run code calls it (or Validate per key) before it creates a run.
func (c *Chart) CheckLines(lines iter.Seq2[Line, error]) error {
	var seen [nSlots]bool
	var errs []error
	for l, err := range lines {
		if err != nil {
			return fmt.Errorf("booking: reading run lines: %w", err)
		}
		main, counter := RequiredKinds(l.Kind, l.Component)
		for _, k := range [2]AccountKind{main, counter} {
			s := slot(l.Law, l.Component, l.CostBearer, k)
			if s >= 0 && seen[s] {
				continue
			}
			if _, err := c.Resolve(l.Law, l.Component, l.CostBearer, k); err != nil {
				errs = append(errs, err)
			}
			if s >= 0 {
				seen[s] = true
			}
		}
	}
	return errors.Join(errs...)
}
