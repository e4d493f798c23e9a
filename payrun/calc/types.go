package calc

import "github.com/payrun/payrun/payrun"

// Policy holds a municipality's settings for the choices the law leaves open
// (DOMAIN.md §4). The zero value is the contract's default (CONTRACT.md §3):
// a 30-day month for every law, rounding once per component, and the child
// supplement pro-rated like every other component.
type Policy struct {
	// SGB12ActualDays divides partial months by the actual days of the
	// calendar month instead of 30 for sgb12_3, sgb12_4 and asylblg_2 (which
	// follows SGB XII). AsylbLG §§ 3, 1a keep the statutory 30 days.
	SGB12ActualDays bool `json:"sgb12_actual_days"`
	// RoundDailyRateFirst rounds the daily rate (monthly / basis) to the cent
	// first and multiplies it by the days, instead of rounding
	// monthly × days / basis once.
	RoundDailyRateFirst bool `json:"round_daily_rate_first"`
	// FullChildSupplement pays the Sofortzuschlag in full in a partial month
	// (SG Augsburg, S 5 AS 726/25) instead of pro-rating it.
	FullChildSupplement bool `json:"full_child_supplement"`
}

// CaseInput is everything the core needs for one case.
type CaseInput struct {
	// Decisions are all decisions of the case, in any order, superseded ones
	// included: a decision listed in another's supersedes ends the day
	// before that one's valid_from (and vanishes if that is before its own
	// start).
	Decisions []payrun.Decision
	// From and Through are the months to compute, inclusive; the caller
	// chooses the range (usually from the first month that can have changed
	// up to the run's period).
	From, Through payrun.Month
	// Paid is Σ of the live run lines so far per (Month, Payee, Component,
	// ReclaimID), in any order; several entries for one key are added up.
	// Entries outside [From, Through] are ignored.
	Paid []Amount
	// OffsetTaken is, per reclaim_id, Σ already set off in live runs
	// (positive), over all months including those inside [From, Through].
	OffsetTaken map[string]payrun.Cents
}

// Amount is a sum of money per month, payee and component: an entry of
// CaseInput.Paid, or a result of Calculator.Due.
type Amount struct {
	Month     payrun.Month     `json:"month"`
	Payee     payrun.PayeeRole `json:"payee"`
	Component payrun.Component `json:"component"`
	Amount    payrun.Cents     `json:"amount"`
	// ReclaimID names the reclaim of an offset amount; empty for the other
	// components. Paid offsets should carry it (their lines do), so that the
	// core can tell which reclaim was already set off in the months it
	// recomputes and net offsets per reclaim.
	ReclaimID string `json:"reclaim_id,omitempty"`
}

// Line is one run line: the netted difference between what is due and what
// was paid for a (month, payee, component) of a case (ARCHITECTURE.md, "Run
// lines and netting").
type Line struct {
	Month      payrun.Month      `json:"month"`
	Payee      payrun.PayeeRole  `json:"payee"`
	Component  payrun.Component  `json:"component"`
	Kind       payrun.LineKind   `json:"kind"`
	Amount     payrun.Cents      `json:"amount"`
	Law        payrun.Law        `json:"law"`
	CostBearer payrun.CostBearer `json:"cost_bearer"`
	DecisionID string            `json:"decision_id"`
	ReclaimID  string            `json:"reclaim_id,omitempty"`
}

// Component indexes, in the order of payrun.Components.
const (
	cRegular = iota
	cExtra
	cChild
	cRent
	cHeating
	cIncome
	cOffset
	nComp
)

var compNames = [nComp]payrun.Component{
	payrun.CompRegular, payrun.CompExtra, payrun.CompChildSupplement, payrun.CompRent,
	payrun.CompHeating, payrun.CompIncome, payrun.CompOffset,
}

func compIndex(c payrun.Component) int {
	switch c {
	case payrun.CompRegular:
		return cRegular
	case payrun.CompExtra:
		return cExtra
	case payrun.CompChildSupplement:
		return cChild
	case payrun.CompRent:
		return cRent
	case payrun.CompHeating:
		return cHeating
	case payrun.CompIncome:
		return cIncome
	case payrun.CompOffset:
		return cOffset
	}
	return -1
}

// Payee indexes.
const (
	pBen = iota
	pLand
	nPayee
)

var payeeNames = [nPayee]payrun.PayeeRole{payrun.PayeeBeneficiary, payrun.PayeeLandlord}

func payeeIndex(p payrun.PayeeRole) int {
	switch p {
	case payrun.PayeeBeneficiary:
		return pBen
	case payrun.PayeeLandlord:
		return pLand
	}
	return -1
}
