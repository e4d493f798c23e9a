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
	reclaims []reclaim // the reclaims of the decisions; reclaim k has id rids[k+1]
	rids     []string  // reclaim ids by index; rids[0] = "" (no reclaim)

	// The month being computed: cells for the components but offset, offs
	// for the offsets (per payee and reclaim), entries for both in line
	// order once collected.
	cells   [nPayee][cOffset]entry
	offs    []entry
	entries []entry
	latest  [nPayee]int // per payee: index in decs of the latest segment with an amount this month
	anySeg  int         // latest segment of the month, -1 if none

	// memo of the last month's dates
	mm                   payrun.Month
	mFirst, mLast, mBorn payrun.Date
	mDays                int
	mValid               bool
}

type paidRec struct {
	month  payrun.Month
	payee  uint8
	comp   uint8
	rid    int32
	amount payrun.Cents
}

// reclaim tracks one reclaim_id's offsets across the months of a case.
type reclaim struct {
	elsewhere payrun.Cents // set off in live runs outside the months computed
	consumed  payrun.Cents // set off by the months computed so far
	month     payrun.Cents // set off in the current month so far
}

// entry is the due and paid amount of one (payee, component, reclaim) of the
// month being computed. It holds no pointers, so that moving it is cheap.
type entry struct {
	due   payrun.Cents
	paid  payrun.Cents
	dec1  int32 // 1 + index in decs of the latest segment that contributed to due; 0 if none
	rid   int32 // reclaim index into rids (offset only)
	payee uint8
	comp  uint8
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
// are *payrun.FieldError naming the decision (or paid entry) and field; on
// an error out is returned without any line of the case.
func (c *Calculator) Case(in *CaseInput, out []Line) ([]Line, error) {
	if err := c.prepare(in, in.From, in.Through); err != nil {
		return out, err
	}
	n := len(out)
	for m := in.From; m <= in.Through; m++ {
		if err := c.month(m, nil); err != nil {
			return out[:n], err // no lines of a case that failed
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
			res = append(res, Amount{Month: m, Payee: payeeNames[e.payee], Component: compNames[e.comp], Amount: e.due, ReclaimID: c.rids[e.rid]})
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
	c.rids = append(c.rids[:0], "")
	for i := range c.decs {
		if o := c.decs[i].d.Offset; o != nil && c.rid(o.ReclaimID) < 0 {
			c.rids = append(c.rids, o.ReclaimID)
			c.reclaims = append(c.reclaims, reclaim{})
		}
	}
}

// rid returns the index of reclaim id in rids, -1 if unknown.
func (c *Calculator) rid(id string) int32 {
	for k := range c.rids {
		if c.rids[k] == id {
			return int32(k)
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
		var rid int32
		if k == cOffset {
			switch {
			case a.ReclaimID == "" && len(c.reclaims) == 1:
				rid = 1
			default:
				if rid = c.rid(a.ReclaimID); rid < 0 {
					rid = int32(len(c.rids))
					c.rids = append(c.rids, a.ReclaimID)
				}
			}
		}
		c.paid = append(c.paid, paidRec{month: a.Month, payee: uint8(p), comp: uint8(k), rid: rid, amount: a.Amount})
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
	}
	return int(a.comp) - int(b.comp)
}

// initReclaims sets what each reclaim had set off outside the months
// computed: OffsetTaken minus the offsets paid inside them (those are
// recomputed, earliest month first).
func (c *Calculator) initReclaims(taken map[string]payrun.Cents, from, through payrun.Month) {
	for k := range c.reclaims {
		r := &c.reclaims[k]
		inside := payrun.Cents(0)
		for _, p := range c.paid {
			if p.comp == cOffset && int(p.rid) == k+1 {
				inside -= p.amount
			}
		}
		r.elsewhere = max(taken[c.rids[k+1]]-inside, 0)
	}
}

// month computes the due amounts of month m into c.entries and adds the
// paid amounts of m. Months must be computed in ascending order after
// prepare.
func (c *Calculator) month(m payrun.Month, x *Explanation) error {
	c.cells = [nPayee][cOffset]entry{}
	c.offs = c.offs[:0]
	c.latest = [nPayee]int{-1, -1}
	c.anySeg = -1
	for k := range c.reclaims {
		c.reclaims[k].month = 0
	}
	c.setMonth(m)
	first, last := c.mFirst, c.mLast
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
		c.find(int(p.payee), int(p.comp), p.rid).paid += p.amount
	}
	c.collect()
	return nil
}

// setMonth sets the memo of month m's dates.
func (c *Calculator) setMonth(m payrun.Month) {
	if c.mValid && c.mm == m {
		return
	}
	c.mm, c.mValid = m, true
	c.mFirst, c.mLast = m.First(), m.Last()
	c.mDays = int(c.mLast-c.mFirst) + 1
	c.mBorn = (m - 18*12).First()
}

// find returns the entry of (payee, comp, rid) of the month.
func (c *Calculator) find(payee, comp int, rid int32) *entry {
	if comp != cOffset {
		e := &c.cells[payee][comp]
		e.payee, e.comp = uint8(payee), uint8(comp)
		return e
	}
	for k := range c.offs {
		if e := &c.offs[k]; int(e.payee) == payee && e.rid == rid {
			return e
		}
	}
	c.offs = append(c.offs, entry{payee: uint8(payee), comp: cOffset, rid: rid})
	return &c.offs[len(c.offs)-1]
}

func (c *Calculator) addDue(payee, comp int, rid int32, amount payrun.Cents, di int) {
	if amount == 0 {
		return
	}
	e := c.find(payee, comp, rid)
	e.due += amount
	e.dec1 = int32(di) + 1
	c.latest[payee] = di
}

// collect puts the month's non-empty entries into c.entries in line order:
// payee, component, reclaim id.
func (c *Calculator) collect() {
	if len(c.offs) > 1 {
		sortSmall(c.offs, func(a, b entry) int {
			if a.payee != b.payee {
				return int(a.payee) - int(b.payee)
			}
			return strings.Compare(c.rids[a.rid], c.rids[b.rid])
		})
	}
	c.entries = c.entries[:0]
	for p := range nPayee {
		for k := range c.cells[p] {
			if e := &c.cells[p][k]; e.due != 0 || e.paid != 0 {
				c.entries = append(c.entries, *e)
			}
		}
		for _, e := range c.offs {
			if int(e.payee) == p && (e.due != 0 || e.paid != 0) {
				c.entries = append(c.entries, e)
			}
		}
	}
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
			di := int(e.dec1) - 1
			if di < 0 {
				di = group
			}
			d := &c.decs[di]
			out = append(out, Line{Month: m, Payee: payeeNames[p], Component: compNames[e.comp], Kind: kind,
				Amount: e.due - e.paid, Law: d.d.Law, CostBearer: d.bearer, DecisionID: d.d.DecisionID, ReclaimID: c.rids[e.rid]})
		}
	}
	return out
}
