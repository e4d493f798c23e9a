package calc

import (
	"fmt"
	"strconv"

	"github.com/payrun/payrun/payrun"
)

// scale returns amount × num/den rounded half-up once, or with
// RoundDailyRateFirst the daily rate amount/den rounded first, times num.
// A factor of exactly 1 returns the monthly amount either way.
func (c *Calculator) scale(amount payrun.Cents, num, den int64) payrun.Cents {
	if num == den {
		return amount
	}
	if c.pol.RoundDailyRateFirst {
		return payrun.MulDivRound(amount, 1, den) * payrun.Cents(num)
	}
	return payrun.MulDivRound(amount, num, den)
}

// incomeOrder is the order in which income is taken off (CONTRACT.md §3.4).
var incomeOrder = [...]int{cRegular, cExtra, cChild, cHeating, cRent}

// segment computes what decision c.decs[i] contributes to month m and adds
// it to c.entries. sx, when not nil, receives the explanation.
func (c *Calculator) segment(i int, m payrun.Month, first, last payrun.Date, sx *SegmentExplanation) error {
	dc := &c.decs[i]
	d := dc.d
	start, end := max(dc.from, first), min(dc.to, last)
	days := int64(end-start) + 1
	num, den := int64(1), int64(1)
	if start != first || end != last {
		if c.pol.SGB12ActualDays && dc.actual {
			num, den = days, int64(c.mDays)
		} else {
			num, den = min(days, 30), 30
		}
	}

	var monthly [nComp]payrun.Cents
	if err := c.persons(dc, m, first, start, &monthly, sx); err != nil {
		return err
	}
	landlord := false
	if h := d.Housing; h != nil {
		monthly[cRent], monthly[cHeating] = h.Rent, h.Heating
		landlord = h.PayTo == payrun.PayToLandlord
	}
	monthly[cIncome] = d.CountableIncome

	var scaled, taken [nComp]payrun.Cents
	for k := cRegular; k <= cIncome; k++ {
		scaled[k] = c.scale(monthly[k], num, den)
	}
	if c.pol.FullChildSupplement {
		scaled[cChild] = monthly[cChild]
	}
	left := scaled[cIncome]
	for _, k := range incomeOrder {
		t := min(left, scaled[k])
		taken[k] = t
		left -= t
	}

	var takenBy, grossBy [nPayee]payrun.Cents
	housingTo := pBen
	if landlord {
		housingTo = pLand
	}
	for k := cRegular; k <= cHeating; k++ {
		p := pBen
		if k == cRent || k == cHeating {
			p = housingTo
		}
		takenBy[p] += taken[k]
		grossBy[p] += scaled[k]
		c.addDue(p, k, 0, scaled[k], i)
	}
	c.addDue(pBen, cIncome, 0, -takenBy[pBen], i)
	c.addDue(pLand, cIncome, 0, -takenBy[pLand], i)

	benAfter := grossBy[pBen] - takenBy[pBen]
	off := c.offset(dc, i, benAfter, sx)

	if sx != nil {
		fillSegment(sx, dc, m, start, end, days, num, den, c.pol, &monthly, &scaled, &taken, housingTo, grossBy, takenBy, off)
	}
	return nil
}

// persons adds the persons' regular rates, extra needs and child
// supplements to monthly.
func (c *Calculator) persons(dc *dec, m payrun.Month, first, start payrun.Date, monthly *[nComp]payrun.Cents, sx *SegmentExplanation) error {
	d := dc.d
	bornAfter := c.mBorn // born after this day: under 18 on the 1st of m
	supp, suppFrom := payrun.Cents(0), payrun.NoDate
	if !dc.is1a {
		supp, suppFrom = c.rates.childSupplement(first)
	}
	for pi := range d.Persons {
		p := &d.Persons[pi]
		var px *PersonExplanation
		if sx != nil {
			sx.Persons = append(sx.Persons, PersonExplanation{PersonID: p.PersonID, NeedsLevel: p.NeedsLevel, FixedAmount: p.FixedAmount})
			px = &sx.Persons[len(sx.Persons)-1]
		}
		var own payrun.Cents
		if dc.is1a {
			own = *p.FixedAmount
		} else {
			var from payrun.Date
			var ok bool
			own, from, ok = c.rates.rate(dc.ti, p.NeedsLevel, start)
			if !ok {
				return noRate(dc, personField(pi, "needs_level"), p.NeedsLevel, start)
			}
			if px != nil {
				px.Rate, px.RateValidFrom = own, from
			}
		}
		monthly[cRegular] += own
		for ei := range p.ExtraNeeds {
			amt, err := c.extra(dc, pi, ei, own, start, px)
			if err != nil {
				return err
			}
			monthly[cExtra] += amt
		}
		if !dc.is1a && p.BirthDate > bornAfter {
			monthly[cChild] += supp
			if px != nil {
				px.Under18, px.ChildSupplement, px.ChildSupplementValidFrom = true, supp, suppFrom
			}
		}
	}
	return nil
}

// extra returns the monthly amount of extra need ei of person pi.
func (c *Calculator) extra(dc *dec, pi, ei int, own payrun.Cents, start payrun.Date, px *PersonExplanation) (payrun.Cents, error) {
	e := &dc.d.Persons[pi].ExtraNeeds[ei]
	var base, amt payrun.Cents
	baseLevel := dc.d.Persons[pi].NeedsLevel
	var baseFrom payrun.Date
	switch e.Kind {
	case payrun.ExtraFixed:
		amt = e.Amount
		baseLevel = 0
	case payrun.ExtraSingleParent:
		var ok bool
		baseLevel = 1
		base, baseFrom, ok = c.rates.rate(dc.ti, 1, start)
		if !ok {
			return 0, noRate(dc, personField(pi, "extra_needs["+strconv.Itoa(ei)+"].kind"), 1, start)
		}
		amt = e.Percent.Of(base)
	default: // pregnancy, disability, warm_water: the person's own level
		base = own
		amt = e.Percent.Of(base)
	}
	if px != nil {
		px.Extras = append(px.Extras, ExtraExplanation{Kind: e.Kind, Percent: e.Percent, BaseNeedsLevel: baseLevel, Base: base, BaseValidFrom: baseFrom, Amount: amt})
	}
	return amt, nil
}

func noRate(dc *dec, field string, level int, day payrun.Date) error {
	return fieldErr(dc.d, field, strconv.Itoa(level),
		fmt.Errorf("%w: table %s has no rate for needs level %d on %s", ErrNoRate, dc.d.Law.RateTable(), level, day))
}

// offset sets off the decision's reclaim: at most its monthly amount (less
// what earlier segments of the month set off for the same reclaim), what is
// left of remaining, and the beneficiary's amount after income.
func (c *Calculator) offset(dc *dec, di int, benAfter payrun.Cents, sx *SegmentExplanation) payrun.Cents {
	o := dc.d.Offset
	if o == nil {
		return 0
	}
	rid := c.rid(o.ReclaimID)
	r := &c.reclaims[rid-1]
	avail := o.Remaining - r.elsewhere - r.consumed
	off := max(min(o.Monthly-r.month, avail, benAfter), 0)
	if sx != nil {
		sx.Offset = &OffsetExplanation{ReclaimID: o.ReclaimID, Monthly: o.Monthly, Remaining: o.Remaining,
			TakenElsewhere: r.elsewhere, TakenEarlierMonths: r.consumed - r.month, TakenEarlierThisMonth: r.month,
			BeneficiaryAfterIncome: benAfter, Amount: off}
	}
	r.consumed += off
	r.month += off
	c.addDue(pBen, cOffset, rid, -off, di)
	return off
}
