package calc

import "github.com/payrun/payrun/payrun"

// Explanation says how a month of a case came about: per decision segment
// the law, the rates and needs levels used, the factor, each component before
// and after it, the income taken and the offset; then the month's due, paid
// and netted lines. It holds values only (English names); the web pages
// render it.
type Explanation struct {
	Month    payrun.Month         `json:"month"`
	Policy   Policy               `json:"policy"`
	Segments []SegmentExplanation `json:"segments"`
	Due      []Amount             `json:"due"`   // per payee and component, before netting
	Paid     []Amount             `json:"paid"`  // live lines so far, summed
	Lines    []Line               `json:"lines"` // what a run would add now
}

// SegmentExplanation is what one decision contributes to the month.
type SegmentExplanation struct {
	DecisionID string            `json:"decision_id"`
	Law        payrun.Law        `json:"law"`
	CostBearer payrun.CostBearer `json:"cost_bearer"`
	PayTo      payrun.PayTo      `json:"pay_to,omitempty"`
	// From and Through are the days of the month the decision covers (after
	// supersession); Days counts them.
	From       payrun.Date `json:"from"`
	Through    payrun.Date `json:"through"`
	Days       int         `json:"days"`
	WholeMonth bool        `json:"whole_month"`
	// The factor is FactorNum/FactorDen: 1/1 for a whole month, else
	// min(days, 30)/30, or days/days-in-month under Policy.SGB12ActualDays.
	FactorNum int64 `json:"factor_num"`
	FactorDen int64 `json:"factor_den"`
	// Rounding is "once" (monthly × factor, rounded) or "daily_rate_first".
	Rounding string `json:"rounding"`
	// RateTable is the central table used ("" under asylblg_1a); RateDate
	// the day its rows were looked up for (the first covered day);
	// RateTableValidFrom the newest valid_from among the rows used.
	RateTable          payrun.RateTable `json:"rate_table,omitempty"`
	RateDate           payrun.Date      `json:"rate_date"`
	RateTableValidFrom payrun.Date      `json:"rate_table_valid_from,omitempty"`
	// ChildSupplementDate is the 1st of the month: age and Sofortzuschlag
	// are taken on that day.
	ChildSupplementDate payrun.Date            `json:"child_supplement_date"`
	Persons             []PersonExplanation    `json:"persons"`
	Components          []ComponentExplanation `json:"components"` // regular, extra, child_supplement, rent, heating
	Income              IncomeExplanation      `json:"income"`
	Offset              *OffsetExplanation     `json:"offset,omitempty"`
	Payees              []PayeeExplanation     `json:"payees"`
}

// PersonExplanation is one person's part of the monthly amounts.
type PersonExplanation struct {
	PersonID      string             `json:"person_id"`
	NeedsLevel    int                `json:"needs_level,omitempty"`
	FixedAmount   *payrun.Cents      `json:"fixed_amount,omitempty"` // asylblg_1a
	Rate          payrun.Cents       `json:"rate"`
	RateValidFrom payrun.Date        `json:"rate_valid_from,omitempty"`
	Extras        []ExtraExplanation `json:"extras,omitempty"`
	Under18       bool               `json:"under_18"`
	// ChildSupplement is the monthly Sofortzuschlag for this person, valid
	// from ChildSupplementValidFrom.
	ChildSupplement          payrun.Cents `json:"child_supplement"`
	ChildSupplementValidFrom payrun.Date  `json:"child_supplement_valid_from,omitempty"`
}

// ExtraExplanation is one extra need: Percent of Base (the rate of
// BaseNeedsLevel valid from BaseValidFrom) rounded half-up, or a fixed Amount.
type ExtraExplanation struct {
	Kind           payrun.ExtraNeedKind `json:"kind"`
	Percent        payrun.Percent       `json:"percent"`
	BaseNeedsLevel int                  `json:"base_needs_level,omitempty"`
	Base           payrun.Cents         `json:"base"`
	BaseValidFrom  payrun.Date          `json:"base_valid_from,omitempty"`
	Amount         payrun.Cents         `json:"amount"`
}

// ComponentExplanation is one component of a segment: the monthly amount,
// after the factor, the income taken from it and what is left.
type ComponentExplanation struct {
	Component   payrun.Component `json:"component"`
	Payee       payrun.PayeeRole `json:"payee"`
	Monthly     payrun.Cents     `json:"monthly"`
	Scaled      payrun.Cents     `json:"scaled"`
	IncomeTaken payrun.Cents     `json:"income_taken"`
	AfterIncome payrun.Cents     `json:"after_income"`
}

// IncomeExplanation is the countable income of a segment: Monthly, after
// the factor (Scaled), what was taken off the components and what found
// nothing left to reduce (Unused).
type IncomeExplanation struct {
	Monthly payrun.Cents `json:"monthly"`
	Scaled  payrun.Cents `json:"scaled"`
	Taken   payrun.Cents `json:"taken"`
	Unused  payrun.Cents `json:"unused"`
}

// OffsetExplanation shows how the offset was capped: by Monthly (less what
// earlier segments of the month set off), by Remaining less what was set off
// elsewhere and in earlier months, and by the beneficiary's amount after
// income.
type OffsetExplanation struct {
	ReclaimID              string       `json:"reclaim_id"`
	Monthly                payrun.Cents `json:"monthly"`
	Remaining              payrun.Cents `json:"remaining"`
	TakenElsewhere         payrun.Cents `json:"taken_elsewhere"`
	TakenEarlierMonths     payrun.Cents `json:"taken_earlier_months"`
	TakenEarlierThisMonth  payrun.Cents `json:"taken_earlier_this_month"`
	BeneficiaryAfterIncome payrun.Cents `json:"beneficiary_after_income"`
	Amount                 payrun.Cents `json:"amount"`
}

// PayeeExplanation is a payee's share of a segment.
type PayeeExplanation struct {
	Payee       payrun.PayeeRole `json:"payee"`
	Gross       payrun.Cents     `json:"gross"`
	IncomeTaken payrun.Cents     `json:"income_taken"`
	Offset      payrun.Cents     `json:"offset"`
	Net         payrun.Cents     `json:"net"`
}

// Explain returns how month m of the case came about. It computes the same
// way as Case and Due (the months from min(From, m) on, for the offsets).
func (c *Calculator) Explain(in *CaseInput, m payrun.Month) (Explanation, error) {
	x := Explanation{Month: m, Policy: c.pol}
	if err := c.upTo(in, m, &x); err != nil {
		return Explanation{}, err
	}
	for _, e := range c.entries {
		a := Amount{Month: m, Payee: payeeNames[e.payee], Component: compNames[e.comp], ReclaimID: c.rids[e.rid]}
		if e.due != 0 {
			a.Amount = e.due
			x.Due = append(x.Due, a)
		}
		if e.paid != 0 {
			a.Amount = e.paid
			x.Paid = append(x.Paid, a)
		}
	}
	x.Lines = c.net(m, nil)
	return x, nil
}

func fillSegment(sx *SegmentExplanation, dc *dec, m payrun.Month, start, end payrun.Date, days, num, den int64, pol Policy,
	monthly, scaled, taken *[nComp]payrun.Cents, housingTo int, grossBy, takenBy [nPayee]payrun.Cents, off payrun.Cents) {
	d := dc.d
	sx.DecisionID, sx.Law, sx.CostBearer = d.DecisionID, d.Law, dc.bearer
	if d.Housing != nil {
		sx.PayTo = d.Housing.PayTo
	}
	sx.From, sx.Through, sx.Days = start, end, int(days)
	sx.WholeMonth = num == den && den == 1
	sx.FactorNum, sx.FactorDen = num, den
	sx.Rounding = "once"
	if pol.RoundDailyRateFirst {
		sx.Rounding = "daily_rate_first"
	}
	sx.RateTable, sx.RateDate, sx.ChildSupplementDate = d.Law.RateTable(), start, m.First()
	for _, p := range sx.Persons {
		sx.RateTableValidFrom = max(sx.RateTableValidFrom, p.RateValidFrom)
	}
	for k := cRegular; k <= cHeating; k++ {
		p := pBen
		if k == cRent || k == cHeating {
			p = housingTo
		}
		sx.Components = append(sx.Components, ComponentExplanation{Component: compNames[k], Payee: payeeNames[p],
			Monthly: monthly[k], Scaled: scaled[k], IncomeTaken: taken[k], AfterIncome: scaled[k] - taken[k]})
	}
	used := takenBy[pBen] + takenBy[pLand]
	sx.Income = IncomeExplanation{Monthly: monthly[cIncome], Scaled: scaled[cIncome], Taken: used, Unused: scaled[cIncome] - used}
	for p := range nPayee {
		if grossBy[p] == 0 && (p != pLand || housingTo != pLand) {
			continue
		}
		o := payrun.Cents(0)
		if p == pBen {
			o = off
		}
		sx.Payees = append(sx.Payees, PayeeExplanation{Payee: payeeNames[p], Gross: grossBy[p], IncomeTaken: takenBy[p],
			Offset: o, Net: grossBy[p] - takenBy[p] - o})
	}
}

// PersonMonths counts, per law, the persons of the decisions in force
// (after supersession) on any day of month m, for the FlüAG report. A person
// (case_id, person_id) in two decisions of the same law in m counts once.
// Invalid or overlapping decisions are counted as given.
func PersonMonths(decisions []payrun.Decision, m payrun.Month) map[payrun.Law]int {
	first, last := m.First(), m.Last()
	type key struct {
		law              payrun.Law
		caseID, personID string
	}
	seen := map[key]bool{}
	res := map[payrun.Law]int{}
	ends := effectiveEnds(decisions)
	for i := range decisions {
		d := &decisions[i]
		if d.ValidFrom > last || ends[i] < first || ends[i] < d.ValidFrom {
			continue
		}
		for _, p := range d.Persons {
			k := key{d.Law, d.CaseID, p.PersonID}
			if !seen[k] {
				seen[k] = true
				res[d.Law]++
			}
		}
	}
	return res
}

// effectiveEnds returns each decision's last day after supersession.
func effectiveEnds(ds []payrun.Decision) []payrun.Date {
	idx := make(map[string][]int, len(ds))
	ends := make([]payrun.Date, len(ds))
	for i := range ds {
		idx[ds[i].DecisionID] = append(idx[ds[i].DecisionID], i)
		ends[i] = ds[i].End()
	}
	for j := range ds {
		for _, s := range ds[j].Supersedes {
			for _, i := range idx[s] {
				ends[i] = min(ends[i], ds[j].ValidFrom-1)
			}
		}
	}
	return ends
}
