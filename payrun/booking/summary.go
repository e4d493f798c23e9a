package booking

import (
	"cmp"
	"slices"

	"github.com/payrun/payrun/payrun"
)

// SummaryKey is the per-account view's grouping: account × side × the
// booking dimensions.
type SummaryKey struct {
	AccountKind    AccountKind
	Account        string
	Side           Side
	Product        string
	CostCentre     string
	BudgetPosition string
	CostBearer     payrun.CostBearer
}

// SummaryRow is one row of the per-account view.
type SummaryRow struct {
	SummaryKey
	Entries int64        // booking lines summed
	Amount  payrun.Cents // their total (≥ 0)
}

// Totals are the control figures of a journal.
type Totals struct {
	Entries int64
	Debit   payrun.Cents
	Credit  payrun.Cents
	// Net holds debit − credit per account kind, indexed like AccountKinds.
	Net [nKinds]payrun.Cents
}

// Balanced reports whether debits equal credits.
func (t *Totals) Balanced() bool { return t.Debit == t.Credit }

// NetOf returns debit − credit of the accounts of kind k.
func (t *Totals) NetOf(k AccountKind) payrun.Cents {
	i := kindIndex(k)
	if i < 0 {
		return 0
	}
	return t.Net[i]
}

// NetExpense is Σ expense debits − Σ expense credits.
func (t *Totals) NetExpense() payrun.Cents { return t.NetOf(KindExpense) }

// NewReceivables is Σ receivable debits − Σ receivable credits: the
// overpayments recorded by the run.
func (t *Totals) NewReceivables() payrun.Cents { return t.NetOf(KindReceivable) }

// OffsetRevenue is Σ revenue credits − Σ revenue debits: reclaims set off.
func (t *Totals) OffsetRevenue() payrun.Cents { return -t.NetOf(KindRevenue) }

// MoneyOut is Σ payable credits − Σ payable debits: what the run pays out
// (pain.001 plus cash).
func (t *Totals) MoneyOut() payrun.Cents { return -t.NetOf(KindPayable) }

func (t *Totals) add(e *Entry) {
	t.Entries++
	i := kindIndex(e.AccountKind)
	if e.Side == Debit {
		t.Debit += e.Amount
		if i >= 0 {
			t.Net[i] += e.Amount
		}
		return
	}
	t.Credit += e.Amount
	if i >= 0 {
		t.Net[i] -= e.Amount
	}
}

// Summary aggregates a journal per account (the summary view) and keeps
// its totals. Its memory grows with the number of distinct accounts and
// dimensions, not with the number of lines.
type Summary struct {
	rows   map[SummaryKey]*SummaryRow
	totals Totals
}

// NewSummary returns an empty summary.
func NewSummary() *Summary { return &Summary{rows: make(map[SummaryKey]*SummaryRow)} }

// Add adds one booking line.
func (s *Summary) Add(e *Entry) {
	s.totals.add(e)
	k := SummaryKey{
		AccountKind: e.AccountKind, Account: e.Account, Side: e.Side, Product: e.Product,
		CostCentre: e.CostCentre, BudgetPosition: e.BudgetPosition, CostBearer: e.CostBearer,
	}
	r := s.rows[k]
	if r == nil {
		r = &SummaryRow{SummaryKey: k}
		s.rows[k] = r
	}
	r.Entries++
	r.Amount += e.Amount
}

// Totals returns the control figures so far.
func (s *Summary) Totals() Totals { return s.totals }

// Rows returns the rows sorted by account, side (debit first), product,
// cost centre, budget position, cost bearer and kind.
func (s *Summary) Rows() []SummaryRow {
	out := make([]SummaryRow, 0, len(s.rows))
	for _, r := range s.rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b SummaryRow) int {
		return cmp.Or(
			cmp.Compare(a.Account, b.Account),
			cmp.Compare(a.Side, b.Side),
			cmp.Compare(a.Product, b.Product),
			cmp.Compare(a.CostCentre, b.CostCentre),
			cmp.Compare(a.BudgetPosition, b.BudgetPosition),
			cmp.Compare(a.CostBearer, b.CostBearer),
			cmp.Compare(a.AccountKind, b.AccountKind),
		)
	})
	return out
}
