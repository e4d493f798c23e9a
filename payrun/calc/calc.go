package calc

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/payrun/payrun/payrun"
)

// Calculator computes cases. It holds scratch buffers that are reused from
// case to case, so that computing a case allocates nothing in the steady
// state. It is not safe for concurrent use: give each goroutine its own.
type Calculator struct {
	rates *Rates
	pol   Policy

	decs     []dec
	paid     []paidRec
	pcur     int
	reclaims []reclaim
	entries  []entry
	latest   [nPayee]int // per payee: index in decs of the latest segment with an amount this month
	anySeg   int         // latest segment of the month, -1 if none
}

type paidRec struct {
	month   payrun.Month
	payee   uint8
	comp    uint8
	reclaim string
	amount  payrun.Cents
}

// reclaim tracks one reclaim_id's offsets across the months of a case.
type reclaim struct {
	id        string
	elsewhere payrun.Cents // set off in live runs outside the months computed
	consumed  payrun.Cents // set off by the months computed so far
	month     payrun.Cents // set off in the current month so far
}

// entry is the due and paid amount of one (payee, component, reclaim) of the
// month being computed.
type entry struct {
	payee   uint8
	comp    uint8
	reclaim string
	due     payrun.Cents
	paid    payrun.Cents
	dec     int // latest segment that contributed to due, -1 if none
}

// NewCalculator returns a calculator over rates r with policy p.
func NewCalculator(r *Rates, p Policy) *Calculator {
	return &Calculator{rates: r, pol: p}
}

// Case computes the months From..Through of the case and appends to out the
// netted run lines: per month and payee the difference between what is due
// and what Paid says was paid, as payment lines when the difference is
// positive (or zero with components that changed) and as overpayment lines
// when it is negative. Lines come ordered by month, payee (beneficiary,
// landlord), component (the order of payrun.Components) and reclaim. Errors
// are *payrun.FieldError naming the decision (or paid entry) and field.
func (c *Calculator) Case(in *CaseInput, out []Line) ([]Line, error) {
	if err := c.prepare(in, in.From, in.Through); err != nil {
		return out, err
	}
	for m := in.From; m <= in.Through; m++ {
		if err := c.month(m, nil); err != nil {
			return out, err
		}
		out = c.net(m, out)
	}
	return out, nil
}

// Due returns what is due for month m per payee and component (and reclaim
// for offsets) before netting, in the order of Case's lines; zero amounts are
// left out. Offsets depend on the earlier months, so the months from
// min(From, m) up to m are computed.
func (c *Calculator) Due(in *CaseInput, m payrun.Month) ([]Amount, error) {
	if err := c.upTo(in, m, nil); err != nil {
		return nil, err
	}
	var res []Amount
	for _, e := range c.entries {
		if e.due != 0 {
			res = append(res, Amount{Month: m, Payee: payeeNames[e.payee], Component: compNames[e.comp], Amount: e.due, ReclaimID: e.reclaim})
		}
	}
	return res, nil
}

// upTo prepares the range [min(From,m), max(Through,m)] and computes the
// months from its start up to and including m.
func (c *Calculator) upTo(in *CaseInput, m payrun.Month, x *Explanation) error {
	from, through := min(in.From, m), max(in.Through, m)
	if err := c.prepare(in, from, through); err != nil {
		return err
	}
	for k := from; k < m; k++ {
		if err := c.month(k, nil); err != nil {
			return err
		}
	}
	return c.month(m, x)
}

func (c *Calculator) prepare(in *CaseInput, from, through payrun.Month) error {
	if c.rates == nil {
		return errors.New("calc: calculator has no rates")
	}
	if from > through {
		return &payrun.FieldError{Record: "case", Field: "from", Value: from.String(), Err: fmt.Errorf("after through %s", through)}
	}
	if err := c.loadDecisions(in.Decisions); err != nil {
		return err
	}
	c.loadReclaims()
	if err := c.loadPaid(in.Paid, from, through); err != nil {
		return err
	}
	if len(c.decs) == 0 && len(c.paid) > 0 {
		return &payrun.FieldError{Record: "case", Field: "decisions", Err: errors.New("paid amounts but no decision to net them against")}
	}
	c.initReclaims(in.OffsetTaken, from, through)
	return nil
}

func (c *Calculator) loadReclaims() {
	c.reclaims = c.reclaims[:0]
	for i := range c.decs {
		o := c.decs[i].d.Offset
		if o == nil || c.reclaimIndex(o.ReclaimID) >= 0 {
			continue
		}
		c.reclaims = append(c.reclaims, reclaim{id: o.ReclaimID})
	}
}

func (c *Calculator) reclaimIndex(id string) int {
	for k := range c.reclaims {
		if c.reclaims[k].id == id {
			return k
		}
	}
	return -1
}

// loadPaid converts and sorts the paid entries of [from, through]. An offset
// entry without a reclaim id is taken to belong to the case's only reclaim
// when it has exactly one.
func (c *Calculator) loadPaid(paid []Amount, from, through payrun.Month) error {
	c.paid = c.paid[:0]
	for i := range paid {
		a := &paid[i]
		p, k := payeeIndex(a.Payee), compIndex(a.Component)
		if p < 0 || k < 0 {
			field, val := "payee", string(a.Payee)
			if k < 0 {
				field, val = "component", string(a.Component)
			}
			return &payrun.FieldError{Record: "paid[" + strconv.Itoa(i) + "]", Field: field, Value: val, Err: errors.New("unknown")}
		}
		if a.Month < from || a.Month > through || a.Amount == 0 {
			continue
		}
		r := ""
		if k == cOffset {
			r = a.ReclaimID
			if r == "" && len(c.reclaims) == 1 {
				r = c.reclaims[0].id
			}
		}
		c.paid = append(c.paid, paidRec{month: a.Month, payee: uint8(p), comp: uint8(k), reclaim: r, amount: a.Amount})
	}
	slices.SortFunc(c.paid, cmpPaid)
	c.pcur = 0
	return nil
}

func cmpPaid(a, b paidRec) int {
	switch {
	case a.month != b.month:
		return int(a.month) - int(b.month)
	case a.payee != b.payee:
		return int(a.payee) - int(b.payee)
	case a.comp != b.comp:
		return int(a.comp) - int(b.comp)
	}
	return strings.Compare(a.reclaim, b.reclaim)
}

// initReclaims sets what each reclaim had set off outside the months
// computed: OffsetTaken minus the offsets paid inside them (those are
// recomputed, earliest month first).
func (c *Calculator) initReclaims(taken map[string]payrun.Cents, from, through payrun.Month) {
	for k := range c.reclaims {
		r := &c.reclaims[k]
		inside := payrun.Cents(0)
		for _, p := range c.paid {
			if p.comp == cOffset && p.reclaim == r.id {
				inside -= p.amount
			}
		}
		r.elsewhere = max(taken[r.id]-inside, 0)
	}
}

// month computes the due amounts of month m into c.entries and adds the
// paid amounts of m. Months must be computed in ascending order after
// prepare.
func (c *Calculator) month(m payrun.Month, x *Explanation) error {
	c.entries = c.entries[:0]
	c.latest = [nPayee]int{-1, -1}
	c.anySeg = -1
	for k := range c.reclaims {
		c.reclaims[k].month = 0
	}
	first, last := m.First(), m.Last()
	for i := range c.decs {
		if !c.decs[i].active(first, last) {
			continue
		}
		var sx *SegmentExplanation
		if x != nil {
			x.Segments = append(x.Segments, SegmentExplanation{})
			sx = &x.Segments[len(x.Segments)-1]
		}
		if err := c.segment(i, m, first, last, sx); err != nil {
			return err
		}
		c.anySeg = i
	}
	for c.pcur < len(c.paid) && c.paid[c.pcur].month < m {
		c.pcur++
	}
	for ; c.pcur < len(c.paid) && c.paid[c.pcur].month == m; c.pcur++ {
		p := &c.paid[c.pcur]
		c.find(p.payee, p.comp, p.reclaim).paid += p.amount
	}
	return nil
}

// find returns the entry of (payee, comp, reclaim), inserting it in order.
func (c *Calculator) find(payee, comp uint8, reclaim string) *entry {
	k := 0
	for ; k < len(c.entries); k++ {
		e := &c.entries[k]
		if e.payee == payee && e.comp == comp && e.reclaim == reclaim {
			return e
		}
		if e.payee > payee || (e.payee == payee && (e.comp > comp || (e.comp == comp && e.reclaim > reclaim))) {
			break
		}
	}
	c.entries = slices.Insert(c.entries, k, entry{payee: payee, comp: comp, reclaim: reclaim, dec: -1})
	return &c.entries[k]
}

func (c *Calculator) addDue(payee, comp int, reclaim string, amount payrun.Cents, di int) {
	if amount == 0 {
		return
	}
	e := c.find(uint8(payee), uint8(comp), reclaim)
	e.due += amount
	e.dec = di
	c.latest[payee] = di
}

// net appends the lines of month m: per payee the differences due − paid.
func (c *Calculator) net(m payrun.Month, out []Line) []Line {
	for p := uint8(0); p < nPayee; p++ {
		var sum payrun.Cents
		changed := false
		for k := range c.entries {
			if e := &c.entries[k]; e.payee == p && e.due != e.paid {
				sum += e.due - e.paid
				changed = true
			}
		}
		if !changed {
			continue
		}
		kind := payrun.LinePayment
		if sum < 0 {
			kind = payrun.LineOverpayment
		}
		group := c.latest[p]
		if group < 0 {
			group = c.anySeg
		}
		if group < 0 {
			group = c.fallback(m)
		}
		for k := range c.entries {
			e := &c.entries[k]
			if e.payee != p || e.due == e.paid {
				continue
			}
			di := e.dec
			if di < 0 {
				di = group
			}
			d := &c.decs[di]
			out = append(out, Line{Month: m, Payee: payeeNames[p], Component: compNames[e.comp], Kind: kind,
				Amount: e.due - e.paid, Law: d.d.Law, CostBearer: d.bearer, DecisionID: d.d.DecisionID, ReclaimID: e.reclaim})
		}
	}
	return out
}
