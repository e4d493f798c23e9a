package booking_test

import (
	"iter"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
)

// defaultRules returns a complete county-wide default chart: one account
// per (law, component, kind), dimensions derived from the law.
func defaultRules() []booking.Rule {
	var rules []booking.Rule
	for li, law := range payrun.Laws {
		for ci, comp := range payrun.Components {
			for ki, kind := range booking.AccountKinds {
				rules = append(rules, booking.Rule{
					Law: law, Component: comp, CostBearer: law.CostBearer(), Kind: kind,
					Account:        strconv.Itoa(5330 + ki*1000 + li*10 + ci),
					Product:        "05." + strconv.Itoa(li),
					CostCentre:     "KS" + strconv.Itoa(100+li),
					BudgetPosition: "HH-" + string(law),
				})
			}
		}
	}
	return rules
}

func mustChart(tb testing.TB, muni string, rules []booking.Rule) *booking.Chart {
	tb.Helper()
	c, err := booking.NewChart(muni, rules)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// generator yields deterministic run lines in (case, payee, month,
// component) order: payment groups with income and offsets, overpayment
// groups, beneficiary and landlord, all laws. It allocates nothing per line.
type generator struct {
	seed  uint64
	cases int
	ids   []string
	recl  []string
	// spread > 0 moves each case's period up to spread−1 months back, so
	// that reports see several quarters.
	spread int
}

func newGenerator(seed uint64, cases int) *generator {
	ids, recl := make([]string, 1000), make([]string, 1000)
	for i := range ids {
		ids[i] = "C" + strconv.Itoa(100000+i)
		recl[i] = "R-" + ids[i]
	}
	return &generator{seed: seed, cases: cases, ids: ids, recl: recl}
}

func (g *generator) lines() iter.Seq2[booking.Line, error] {
	return func(yield func(booking.Line, error) bool) {
		r := rand.New(rand.NewPCG(g.seed, 7))
		var seq int64
		emit := func(l booking.Line) bool {
			seq++
			l.Seq = seq
			return yield(l, nil)
		}
		period := payrun.MonthOf(2026, 12)
		for c := range g.cases {
			law := payrun.Laws[r.IntN(len(payrun.Laws))]
			base := booking.Line{CaseID: g.ids[c%len(g.ids)], Law: law, CostBearer: law.CostBearer(), Channel: payrun.ChannelSEPA}
			months := 1 + r.IntN(2)
			p := period
			if g.spread > 0 {
				p -= payrun.Month(r.IntN(g.spread))
			}
			for _, payee := range []payrun.PayeeRole{payrun.PayeeBeneficiary, payrun.PayeeLandlord} {
				if payee == payrun.PayeeLandlord && r.IntN(3) > 0 {
					continue
				}
				for m := range months {
					l := base
					l.Payee, l.Month = payee, p-payrun.Month(months-1-m)
					if !g.group(r, l, g.recl[c%len(g.recl)], emit) {
						return
					}
				}
			}
		}
	}
}

// group emits one (case, month, payee) group.
func (g *generator) group(r *rand.Rand, l booking.Line, reclaim string, emit func(booking.Line) bool) bool {
	type part struct {
		comp payrun.Component
		amt  payrun.Cents
	}
	var parts [6]part
	n := 0
	add := func(c payrun.Component, a payrun.Cents) { parts[n] = part{c, a}; n++ }
	over := r.IntN(10) == 0
	l.Kind = payrun.LinePayment
	if over {
		l.Kind = payrun.LineOverpayment
	}
	switch {
	case l.Payee == payrun.PayeeLandlord && !over:
		add(payrun.CompRent, payrun.Cents(30000+r.IntN(50000)))
		add(payrun.CompHeating, payrun.Cents(5000+r.IntN(10000)))
	case l.Payee == payrun.PayeeLandlord:
		add(payrun.CompRent, -payrun.Cents(30000+r.IntN(50000)))
		add(payrun.CompHeating, payrun.Cents(r.IntN(2000))-1000)
	case over:
		add(payrun.CompRegular, -payrun.Cents(1000+r.IntN(40000)))
		add(payrun.CompIncome, payrun.Cents(r.IntN(900)))
	default:
		regular := payrun.Cents(40000 + r.IntN(20000))
		add(payrun.CompRegular, regular)
		if r.IntN(3) == 0 {
			add(payrun.CompExtra, payrun.Cents(r.IntN(10000)))
		}
		if r.IntN(4) == 0 {
			add(payrun.CompChildSupplement, 2500)
		}
		if r.IntN(3) == 0 {
			add(payrun.CompIncome, -payrun.Cents(r.IntN(int(regular)/2)))
		}
		if r.IntN(4) == 0 {
			add(payrun.CompOffset, -payrun.Cents(1000+r.IntN(5000)))
		}
	}
	for _, p := range parts[:n] {
		x := l
		x.Component, x.Amount = p.comp, p.amt
		if p.comp == payrun.CompOffset {
			x.ReclaimID = reclaim
		}
		if !emit(x) {
			return false
		}
	}
	return true
}

// collect returns all entries of the journal of lines or fails.
func collect(tb testing.TB, c *booking.Chart, lines iter.Seq2[booking.Line, error]) []booking.Entry {
	tb.Helper()
	var out []booking.Entry
	for e, err := range c.Journal(lines) {
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}
