package calc_test

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/calc"
)

// genHousehold returns a typical household for month m: mostly two adults
// and two children, rent and heating to the landlord, some with income,
// some starting within m, some with an offset, under one of the four laws
// with rates.
func genHousehold(rng *rand.Rand, n int, m payrun.Month) payrun.Decision {
	laws := [...]payrun.Law{asy3, asy3, asy2, sgb3, sgb4}
	law := laws[rng.IntN(len(laws))]
	id := "D" + strconv.Itoa(n)
	from := (m - payrun.Month(1+rng.IntN(20))).First()
	if rng.IntN(10) == 0 {
		from = m.First() + payrun.Date(rng.IntN(m.Days()))
	}
	adultLevel := 2
	var ps []payrun.Person
	nAdults := 1 + rng.IntN(2)
	if nAdults == 1 {
		adultLevel = 1
	}
	for k := range nAdults {
		ps = append(ps, payrun.Person{PersonID: "A" + strconv.Itoa(k), BirthDate: payrun.NewDate(1970+rng.IntN(30), time.Month(1+rng.IntN(12)), 1+rng.IntN(28)), NeedsLevel: adultLevel})
	}
	for k := range rng.IntN(4) {
		age := rng.IntN(18)
		lv := 6
		switch {
		case age >= 14:
			lv = 4
		case age >= 6:
			lv = 5
		}
		ps = append(ps, payrun.Person{PersonID: "K" + strconv.Itoa(k), BirthDate: (m - payrun.Month(age*12+rng.IntN(12))).First() + payrun.Date(rng.IntN(28)), NeedsLevel: lv})
	}
	if law != asy3 && nAdults == 1 && len(ps) > 1 {
		ps[0].ExtraNeeds = []payrun.ExtraNeed{{Kind: payrun.ExtraSingleParent, Percent: 3600}}
	}
	if law != asy3 && rng.IntN(4) == 0 {
		ps[0].ExtraNeeds = append(ps[0].ExtraNeeds, payrun.ExtraNeed{Kind: payrun.ExtraWarmWater, Percent: 230})
	}
	d := payrun.Decision{Municipality: "unna", DecisionID: id, CaseID: "C" + strconv.Itoa(n), Law: law, ValidFrom: from, Persons: ps,
		Housing: &payrun.Housing{Rent: payrun.Cents(30000 + rng.IntN(50000)), Heating: payrun.Cents(5000 + rng.IntN(8000)), PayTo: payrun.PayToLandlord}}
	if rng.IntN(3) == 0 {
		d.CountableIncome = payrun.Cents(rng.IntN(90000))
	}
	if rng.IntN(10) == 0 {
		d.Offset = &payrun.Offset{ReclaimID: "R" + strconv.Itoa(n), Monthly: 2815, Remaining: payrun.Cents(rng.IntN(100000))}
	}
	return d
}

// genCases returns n cases computing month m; every other one has already
// been paid what is due (a re-run), the others nothing.
func genCases(c *calc.Calculator, n int, seed uint64, m payrun.Month) []calc.CaseInput {
	rng := rand.New(rand.NewPCG(seed, 7))
	cases := make([]calc.CaseInput, n)
	for i := range cases {
		cases[i] = calc.CaseInput{Decisions: []payrun.Decision{genHousehold(rng, i, m)}, From: m, Through: m}
		if i%2 == 1 {
			due, err := c.Due(&cases[i], m)
			if err != nil {
				panic(err)
			}
			cases[i].Paid = due
		}
	}
	return cases
}
