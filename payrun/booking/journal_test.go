package booking_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
)

func TestJournalBalancesAndReconciles(t *testing.T) {
	t.Parallel()
	chart := mustChart(t, "luenen", defaultRules())
	for _, seed := range []uint64{1, 2, 3, 42} {
		g := newGenerator(seed, 3000)
		// Independent figures from the lines themselves.
		var payments, overpayments, offsets payrun.Cents
		want := map[int64]payrun.Cents{}
		kinds := map[payrun.LineKind]int{}
		comps := map[payrun.Component]int{}
		for l, err := range g.lines() {
			if err != nil {
				t.Fatal(err)
			}
			want[l.Seq] = l.Amount
			kinds[l.Kind]++
			comps[l.Component]++
			switch {
			case l.Kind == payrun.LinePayment:
				payments += l.Amount
				if l.Component == payrun.CompOffset {
					offsets -= l.Amount
				}
			default:
				overpayments -= l.Amount
			}
		}
		if kinds[payrun.LineOverpayment] == 0 || comps[payrun.CompOffset] == 0 || comps[payrun.CompIncome] == 0 || comps[payrun.CompRent] == 0 {
			t.Fatalf("seed %d: generator too narrow: %v %v", seed, kinds, comps)
		}

		sum := booking.NewSummary()
		type seen struct {
			debit, credit int
			amt           payrun.Cents
		}
		got := map[int64]*seen{}
		for _, e := range collect(t, chart, g.lines()) {
			sum.Add(&e)
			s := got[e.Seq]
			if s == nil {
				s = &seen{amt: e.Amount}
				got[e.Seq] = s
			}
			if e.Amount != s.amt || e.Amount < 0 {
				t.Fatalf("seed %d seq %d: entry amounts %s and %s", seed, e.Seq, s.amt, e.Amount)
			}
			if e.Side == booking.Debit {
				s.debit++
			} else {
				s.credit++
			}
		}
		// Every line booked exactly once: one debit and one credit of |amount|.
		if len(got) != len(want) {
			t.Fatalf("seed %d: %d lines, %d seqs in the journal", seed, len(want), len(got))
		}
		for seq, a := range want {
			s := got[seq]
			if s == nil || s.debit != 1 || s.credit != 1 || s.amt != max(a, -a) {
				t.Fatalf("seed %d seq %d (amount %s): booked as %+v", seed, seq, a, s)
			}
		}
		tot := sum.Totals()
		if !tot.Balanced() || tot.Debit == 0 {
			t.Errorf("seed %d: debit %s, credit %s", seed, tot.Debit, tot.Credit)
		}
		if id := tot.NetExpense() + tot.NewReceivables() - tot.OffsetRevenue(); id != payments {
			t.Errorf("seed %d: net expense %s + receivables %s − offset revenue %s = %s, Σ payments %s",
				seed, tot.NetExpense(), tot.NewReceivables(), tot.OffsetRevenue(), id, payments)
		}
		if tot.MoneyOut() != payments || tot.NewReceivables() != overpayments || tot.OffsetRevenue() != offsets {
			t.Errorf("seed %d: money out %s (want %s), receivables %s (want %s), revenue %s (want %s)",
				seed, tot.MoneyOut(), payments, tot.NewReceivables(), overpayments, tot.OffsetRevenue(), offsets)
		}
		// The summary rows add up to the totals.
		var d, c payrun.Cents
		var n int64
		for _, r := range sum.Rows() {
			n += r.Entries
			if r.Side == booking.Debit {
				d += r.Amount
			} else {
				c += r.Amount
			}
		}
		if d != tot.Debit || c != tot.Credit || n != tot.Entries || n != int64(2*len(want)) {
			t.Errorf("seed %d: summary rows %s/%s/%d, totals %s/%s/%d", seed, d, c, n, tot.Debit, tot.Credit, tot.Entries)
		}
	}
}

func TestPostSides(t *testing.T) {
	t.Parallel()
	chart := mustChart(t, "luenen", defaultRules())
	for _, tc := range []struct {
		kind          payrun.LineKind
		comp          payrun.Component
		amt           payrun.Cents
		debit, credit booking.AccountKind
	}{
		{payrun.LinePayment, payrun.CompRegular, 56300, booking.KindExpense, booking.KindPayable},
		{payrun.LinePayment, payrun.CompIncome, -10000, booking.KindPayable, booking.KindExpense},
		{payrun.LinePayment, payrun.CompOffset, -5630, booking.KindPayable, booking.KindRevenue},
		{payrun.LineOverpayment, payrun.CompRent, -60000, booking.KindReceivable, booking.KindExpense},
		{payrun.LineOverpayment, payrun.CompIncome, 500, booking.KindExpense, booking.KindReceivable},
	} {
		l := booking.Line{Seq: 9, CaseID: "C1", Month: payrun.MonthOf(2026, 12), Payee: payrun.PayeeBeneficiary,
			Component: tc.comp, Kind: tc.kind, Amount: tc.amt, Law: payrun.LawSGB12Ch4, CostBearer: payrun.BearerBund, ReclaimID: "R7"}
		d, c, err := chart.Post(&l)
		if err != nil {
			t.Fatal(err)
		}
		if d.AccountKind != tc.debit || c.AccountKind != tc.credit || d.Side != booking.Debit || c.Side != booking.Credit ||
			d.Amount != max(tc.amt, -tc.amt) || c.Amount != d.Amount || d.Seq != 9 || c.Seq != 9 {
			t.Errorf("%s %s %s: got Dr %s %s / Cr %s %s", tc.kind, tc.comp, tc.amt, d.AccountKind, d.Amount, c.AccountKind, c.Amount)
		}
		if tc.comp == payrun.CompOffset && !strings.Contains(d.Text(), "reclaim R7") {
			t.Errorf("offset text %q lacks the reclaim id", d.Text())
		}
	}
}

func TestMissingRuleNamesLawComponentBearer(t *testing.T) {
	t.Parallel()
	var rules []booking.Rule
	for _, r := range defaultRules() {
		if r.Law == payrun.LawSGB12Ch4 && r.Component == payrun.CompRent && r.Kind == booking.KindExpense {
			continue
		}
		rules = append(rules, r)
	}
	chart := mustChart(t, "luenen", rules)
	check := func(where string, err error) {
		t.Helper()
		if !errors.Is(err, booking.ErrMissingRule) {
			t.Fatalf("%s: err = %v, want ErrMissingRule", where, err)
		}
		var mre *booking.MissingRuleError
		if !errors.As(err, &mre) || mre.Law != payrun.LawSGB12Ch4 || mre.Component != payrun.CompRent || mre.CostBearer != payrun.BearerBund || mre.Kind != booking.KindExpense {
			t.Fatalf("%s: err = %#v", where, mre)
		}
		for _, s := range []string{"sgb12_4", "rent", "bund_46a", "expense", "luenen"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q does not name %s", where, err, s)
			}
		}
	}
	check("Validate", chart.Validate(payrun.LawSGB12Ch4, payrun.CompRent, payrun.BearerBund))
	check("ValidateAll", chart.ValidateAll())
	if err := chart.Validate(payrun.LawSGB12Ch4, payrun.CompHeating, payrun.BearerBund); err != nil {
		t.Errorf("heating: %v", err)
	}
	l := booking.Line{Seq: 1, CaseID: "C1", Payee: payrun.PayeeLandlord, Component: payrun.CompRent,
		Kind: payrun.LinePayment, Amount: 100, Law: payrun.LawSGB12Ch4, CostBearer: payrun.BearerBund}
	check("Check", chart.Check(&l))
	_, _, err := chart.Post(&l)
	check("Post", err)
	lines := func(yield func(booking.Line, error) bool) { yield(l, nil) }
	check("CheckLines", chart.CheckLines(lines))
	var jerr error
	for _, err := range chart.Journal(lines) {
		jerr = err
	}
	check("Journal", jerr)
}

func TestMunicipalityOverridesDefault(t *testing.T) {
	t.Parallel()
	own := booking.Rule{Municipality: "luenen", Law: payrun.LawAsylbLG3, Component: payrun.CompRegular,
		CostBearer: payrun.BearerFlueAG, Kind: booking.KindExpense, Account: "533920", Product: "050200", CostCentre: "LU1", BudgetPosition: "HH1"}
	other := own
	other.Municipality, other.Account = "kamen", "999999"
	// The own rule comes first and last: order must not matter.
	for _, rules := range [][]booking.Rule{
		append([]booking.Rule{own, other}, defaultRules()...),
		append(append(defaultRules(), other), own),
	} {
		lu := mustChart(t, "luenen", rules)
		a, err := lu.Resolve(payrun.LawAsylbLG3, payrun.CompRegular, payrun.BearerFlueAG, booking.KindExpense)
		if err != nil || a.Account != "533920" || a.Product != "050200" || a.Default {
			t.Errorf("luenen: %+v, %v", a, err)
		}
		def, _ := lu.Resolve(payrun.LawAsylbLG3, payrun.CompRent, payrun.BearerFlueAG, booking.KindExpense)
		if def == nil || !def.Default {
			t.Errorf("luenen rent: %+v, want the default", def)
		}
		un := mustChart(t, "unna", rules)
		b, err := un.Resolve(payrun.LawAsylbLG3, payrun.CompRegular, payrun.BearerFlueAG, booking.KindExpense)
		if err != nil || !b.Default || b.Account == "533920" || b.Account == "999999" {
			t.Errorf("unna: %+v, %v", b, err)
		}
	}
	if _, err := booking.NewChart("luenen", append(defaultRules(), own, own)); !errors.Is(err, payrun.ErrConflict) {
		t.Errorf("duplicate own rule: %v", err)
	}
	bad := own
	bad.Law = "sgb2"
	if _, err := booking.NewChart("luenen", []booking.Rule{bad}); !errors.Is(err, payrun.ErrInvalid) {
		t.Errorf("bad law: %v", err)
	}
}

func TestJournalRejectsBadGroups(t *testing.T) {
	t.Parallel()
	chart := mustChart(t, "luenen", defaultRules())
	mk := func(seq int64, kind payrun.LineKind, comp payrun.Component, amt payrun.Cents) booking.Line {
		return booking.Line{Seq: seq, CaseID: "C1", Month: payrun.MonthOf(2026, 11), Payee: payrun.PayeeBeneficiary,
			Component: comp, Kind: kind, Amount: amt, Law: payrun.LawSGB12Ch3, CostBearer: payrun.BearerMunicipality}
	}
	for name, ls := range map[string][]booking.Line{
		"overpayment sums positive": {mk(1, payrun.LineOverpayment, payrun.CompRegular, 100)},
		"payment sums negative":     {mk(1, payrun.LinePayment, payrun.CompRegular, 100), mk(2, payrun.LinePayment, payrun.CompIncome, -200)},
		"mixed kinds":               {mk(1, payrun.LinePayment, payrun.CompRegular, 100), mk(2, payrun.LineOverpayment, payrun.CompIncome, -20)},
	} {
		var last error
		for _, err := range chart.Journal(func(yield func(booking.Line, error) bool) {
			for _, l := range ls {
				if !yield(l, nil) {
					return
				}
			}
		}) {
			last = err
		}
		if !errors.Is(last, booking.ErrBadLine) {
			t.Errorf("%s: err = %v", name, last)
		}
	}
	// A payment group that sums to zero is a reclassification between
	// components (calc emits it when income moves): booked, balanced.
	var debit, credit payrun.Cents
	for e, err := range chart.Journal(func(yield func(booking.Line, error) bool) {
		for _, l := range []booking.Line{mk(1, payrun.LinePayment, payrun.CompRegular, 150), mk(2, payrun.LinePayment, payrun.CompHeating, -150)} {
			if !yield(l, nil) {
				return
			}
		}
	}) {
		if err != nil {
			t.Fatalf("zero-sum payment group: %v", err)
		}
		if e.Side == booking.Debit {
			debit += e.Amount
		} else {
			credit += e.Amount
		}
	}
	if debit != 300 || credit != 300 {
		t.Errorf("zero-sum group booked debit %s credit %s, want 3.00 each", debit, credit)
	}
}
