package calc_test

import (
	"encoding/csv"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/calc"
)

// loadRates reads testdata/rates.csv (a copy of ../shared/rates.csv, see
// TestRatesCopyIsCurrent) and adds the Sofortzuschlag of DOMAIN.md §1:
// 20.00 from 2022-07-01, 25.00 from 2025-01-01.
func loadRates(tb testing.TB) *calc.Rates {
	tb.Helper()
	rows := readRatesCSV(tb, "testdata/rates.csv")
	supp := []payrun.ChildSupplement{
		{ValidFrom: date("2025-01-01"), Amount: cents("25.00")},
		{ValidFrom: date("2022-07-01"), Amount: cents("20.00")},
	}
	r, err := calc.NewRates(rows, supp)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func readRatesCSV(tb testing.TB, path string) []payrun.Rate {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	var rows []payrun.Rate
	for _, rec := range recs[1:] {
		lv, err := strconv.Atoi(rec[1])
		if err != nil {
			tb.Fatal(err)
		}
		amt, err := payrun.ParseCents(rec[3])
		if err != nil {
			tb.Fatal(err)
		}
		rows = append(rows, payrun.Rate{Table: payrun.RateTable(rec[0]), NeedsLevel: lv, ValidFrom: date(rec[2]), Amount: amt})
	}
	return rows
}

func date(s string) payrun.Date {
	d, err := payrun.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func month(s string) payrun.Month {
	m, err := payrun.ParseMonth(s)
	if err != nil {
		panic(err)
	}
	return m
}

func cents(s string) payrun.Cents { return payrun.MustCents(s) }

type opt func(*payrun.Decision)

func decision(id string, law payrun.Law, from string, opts ...opt) payrun.Decision {
	d := payrun.Decision{Municipality: "unna", DecisionID: id, CaseID: "C1", Law: law, ValidFrom: date(from),
		Payee: payrun.Payee{Channel: payrun.ChannelSEPA, Name: "X", IBAN: "DE89370400440532013000"}}
	for _, o := range opts {
		o(&d)
	}
	return d
}

func until(s string) opt { return func(d *payrun.Decision) { v := date(s); d.ValidTo = &v } }
func persons(ps ...payrun.Person) opt {
	return func(d *payrun.Decision) { d.Persons = append(d.Persons, ps...) }
}
func supersedes(ids ...string) opt { return func(d *payrun.Decision) { d.Supersedes = ids } }
func income(s string) opt          { return func(d *payrun.Decision) { d.CountableIncome = cents(s) } }
func housing(rent, heating string, to payrun.PayTo) opt {
	return func(d *payrun.Decision) {
		d.Housing = &payrun.Housing{Rent: cents(rent), Heating: cents(heating), PayTo: to}
		if to == payrun.PayToLandlord {
			d.Landlord = &payrun.Landlord{Name: "Wohnbau", IBAN: "DE02120300000000202051"}
		}
	}
}
func offset(id, monthly, remaining string) opt {
	return func(d *payrun.Decision) {
		d.Offset = &payrun.Offset{ReclaimID: id, Monthly: cents(monthly), Remaining: cents(remaining)}
	}
}

func person(level int, birth string, extras ...payrun.ExtraNeed) payrun.Person {
	return payrun.Person{PersonID: "P" + strconv.Itoa(level) + birth, Name: "N", BirthDate: date(birth), NeedsLevel: level, ExtraNeeds: extras}
}

func adult(level int, extras ...payrun.ExtraNeed) payrun.Person {
	return person(level, "1985-03-10", extras...)
}

func fixedPerson(id, amount, birth string, extras ...payrun.ExtraNeed) payrun.Person {
	a := cents(amount)
	return payrun.Person{PersonID: id, Name: "N", BirthDate: date(birth), FixedAmount: &a, ExtraNeeds: extras}
}

func pct(kind payrun.ExtraNeedKind, p string) payrun.ExtraNeed {
	v, err := payrun.ParsePercent(p)
	if err != nil {
		panic(err)
	}
	return payrun.ExtraNeed{Kind: kind, Percent: v}
}

func fixed(amount string) payrun.ExtraNeed {
	return payrun.ExtraNeed{Kind: payrun.ExtraFixed, Amount: cents(amount)}
}

// amounts renders amounts as "payee/component[/reclaim]" → "12.34".
func amounts(as []calc.Amount) map[string]string {
	res := map[string]string{}
	for _, a := range as {
		k := string(a.Payee) + "/" + string(a.Component)
		if a.ReclaimID != "" {
			k += "/" + a.ReclaimID
		}
		if _, dup := res[k]; dup {
			panic("duplicate key " + k)
		}
		res[k] = a.Amount.String()
	}
	return res
}

// lineStrings renders lines as "2026-03 beneficiary regular payment 12.34 D1".
func lineStrings(ls []calc.Line) []string {
	var res []string
	for _, l := range ls {
		s := strings.Join([]string{l.Month.String(), string(l.Payee), string(l.Component), string(l.Kind), l.Amount.String(), l.DecisionID}, " ")
		if l.ReclaimID != "" {
			s += " " + l.ReclaimID
		}
		res = append(res, s)
	}
	return res
}

// asPaid turns lines into paid amounts, as the store would sum them.
func asPaid(ls []calc.Line) []calc.Amount {
	var res []calc.Amount
	for _, l := range ls {
		res = append(res, calc.Amount{Month: l.Month, Payee: l.Payee, Component: l.Component, Amount: l.Amount, ReclaimID: l.ReclaimID})
	}
	return res
}

// offsetTaken sums the offsets of lines per reclaim (positive).
func offsetTaken(ls []calc.Line) map[string]payrun.Cents {
	res := map[string]payrun.Cents{}
	for _, l := range ls {
		if l.Component == payrun.CompOffset {
			res[l.ReclaimID] -= l.Amount
		}
	}
	return res
}
