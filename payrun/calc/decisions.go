package calc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/payrun/payrun/payrun"
)

// dec is a decision prepared for the month loop.
type dec struct {
	d        *payrun.Decision
	from, to payrun.Date // effective interval after supersession; to < from: vanished
	ti       int         // rate table index, -1 under asylblg_1a
	actual   bool        // Policy.SGB12ActualDays applies to the law
	is1a     bool
	landlord bool // housing is paid to the landlord
	bearer   payrun.CostBearer
}

func (d *dec) vanished() bool { return d.to < d.from }

// active reports whether d covers a day of [first, last].
func (d *dec) active(first, last payrun.Date) bool {
	return d.from <= d.to && d.from <= last && d.to >= first
}

func cmpDec(a, b dec) int {
	if a.from != b.from {
		return int(a.from) - int(b.from)
	}
	return strings.Compare(a.d.DecisionID, b.d.DecisionID)
}

func fieldErr(d *payrun.Decision, field, value string, err error) error {
	return &payrun.FieldError{Record: d.DecisionID, Field: field, Value: value, Err: err}
}

func personField(pi int, rest string) string {
	return "persons[" + strconv.Itoa(pi) + "]." + rest
}

// validateDecision checks what the core relies on. The importer does the
// full validation; this keeps the core from computing nonsense from input
// that bypassed it.
func validateDecision(d *payrun.Decision) error {
	switch {
	case d.DecisionID == "":
		return fieldErr(d, "decision_id", "", errors.New("missing"))
	case !d.Law.Valid():
		return fieldErr(d, "law", string(d.Law), errors.New("unknown law"))
	case d.ValidTo != nil && *d.ValidTo < d.ValidFrom:
		return fieldErr(d, "valid_to", d.ValidTo.String(), errors.New("before valid_from"))
	case d.CountableIncome < 0:
		return fieldErr(d, "countable_income", d.CountableIncome.String(), errors.New("must not be negative"))
	}
	for _, s := range d.Supersedes {
		if s == d.DecisionID {
			return fieldErr(d, "supersedes", s, errors.New("a decision cannot supersede itself"))
		}
	}
	if h := d.Housing; h != nil {
		switch {
		case h.PayTo != payrun.PayToBeneficiary && h.PayTo != payrun.PayToLandlord:
			return fieldErr(d, "housing.pay_to", string(h.PayTo), errors.New("must be beneficiary or landlord"))
		case h.Rent < 0:
			return fieldErr(d, "housing.rent", h.Rent.String(), errors.New("must not be negative"))
		case h.Heating < 0:
			return fieldErr(d, "housing.heating", h.Heating.String(), errors.New("must not be negative"))
		}
	}
	if o := d.Offset; o != nil {
		switch {
		case o.ReclaimID == "":
			return fieldErr(d, "offset.reclaim_id", "", errors.New("missing"))
		case o.Monthly < 0:
			return fieldErr(d, "offset.monthly", o.Monthly.String(), errors.New("must not be negative"))
		case o.Remaining < 0:
			return fieldErr(d, "offset.remaining", o.Remaining.String(), errors.New("must not be negative"))
		}
	}
	for pi := range d.Persons {
		if err := validatePerson(d, pi); err != nil {
			return err
		}
	}
	return nil
}

func validatePerson(d *payrun.Decision, pi int) error {
	p := &d.Persons[pi]
	if d.Law == payrun.LawAsylbLG1a {
		if p.FixedAmount == nil {
			return fieldErr(d, personField(pi, "fixed_amount"), "", errors.New("required under asylblg_1a"))
		}
		if *p.FixedAmount < 0 {
			return fieldErr(d, personField(pi, "fixed_amount"), p.FixedAmount.String(), errors.New("must not be negative"))
		}
	} else if p.NeedsLevel < 1 || p.NeedsLevel > maxLevel {
		return fieldErr(d, personField(pi, "needs_level"), strconv.Itoa(p.NeedsLevel), errors.New("must be 1–6"))
	}
	onlyFixed := d.Law == payrun.LawAsylbLG3 || d.Law == payrun.LawAsylbLG1a
	for ei, e := range p.ExtraNeeds {
		f := func(rest string) string { return personField(pi, "extra_needs["+strconv.Itoa(ei)+"]."+rest) }
		switch e.Kind {
		case payrun.ExtraFixed:
			if e.Amount < 0 {
				return fieldErr(d, f("amount"), e.Amount.String(), errors.New("must not be negative"))
			}
		case payrun.ExtraSingleParent, payrun.ExtraPregnancy, payrun.ExtraDisability, payrun.ExtraWarmWater:
			if onlyFixed {
				return fieldErr(d, f("kind"), string(e.Kind), fmt.Errorf("%s knows no statutory extra needs: only fixed is accepted", d.Law))
			}
			if e.Percent < 0 || e.Percent > 100_00 {
				return fieldErr(d, f("percent"), e.Percent.String(), errors.New("must be between 0 and 100"))
			}
		default:
			return fieldErr(d, f("kind"), string(e.Kind), errors.New("unknown kind of extra need"))
		}
	}
	return nil
}

// loadDecisions validates ds, applies supersession and checks that the
// remaining intervals do not overlap. c.decs ends up sorted by valid_from.
func (c *Calculator) loadDecisions(ds []payrun.Decision) error {
	c.decs = c.decs[:0]
	for i := range ds {
		d := &ds[i]
		if err := validateDecision(d); err != nil {
			return err
		}
		x := dec{d: d, from: d.ValidFrom, to: d.End(), ti: tableIndex(d.Law.RateTable()), bearer: d.Law.CostBearer()}
		x.is1a = d.Law == payrun.LawAsylbLG1a
		x.actual = d.Law == payrun.LawSGB12Ch3 || d.Law == payrun.LawSGB12Ch4 || d.Law == payrun.LawAsylbLG2
		x.landlord = d.Housing != nil && d.Housing.PayTo == payrun.PayToLandlord
		c.decs = append(c.decs, x)
	}
	sortSmall(c.decs, cmpDec)
	for k := 1; k < len(c.decs); k++ {
		if c.decs[k].d.DecisionID == c.decs[k-1].d.DecisionID {
			return fieldErr(c.decs[k].d, "decision_id", c.decs[k].d.DecisionID, errors.New("given twice for the case"))
		}
	}
	for j := range c.decs {
		cut := c.decs[j].from - 1
		for _, s := range c.decs[j].d.Supersedes {
			for i := range c.decs {
				if c.decs[i].d.DecisionID == s && cut < c.decs[i].to {
					c.decs[i].to = cut
				}
			}
		}
	}
	prev := -1
	for i := range c.decs {
		if c.decs[i].vanished() {
			continue
		}
		if prev >= 0 && c.decs[i].from <= c.decs[prev].to {
			p := c.decs[prev]
			return fieldErr(c.decs[i].d, "valid_from", c.decs[i].from.String(),
				fmt.Errorf("overlaps decision %s (in force %s to %s) without superseding it", p.d.DecisionID, p.from, p.to))
		}
		prev = i
	}
	return nil
}

// fallback returns the decision whose law and id label lines of month m when
// no decision is in force in m (e.g. a superseding decision made a paid month
// vanish): the latest decision whose own interval touched m, else the
// latest that started before m ended, else the first.
func (c *Calculator) fallback(m payrun.Month) int {
	first, last := m.First(), m.Last()
	for i := len(c.decs) - 1; i >= 0; i-- {
		if c.decs[i].from <= last && c.decs[i].d.End() >= first {
			return i
		}
	}
	for i := len(c.decs) - 1; i >= 0; i-- {
		if c.decs[i].from <= last {
			return i
		}
	}
	return 0
}

// sortSmall is an insertion sort: the slices sorted per case hold a handful
// of elements, and it neither allocates nor calls through an interface.
func sortSmall[T any](s []T, cmp func(a, b T) int) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && cmp(s[j-1], s[j]) > 0; j-- {
			s[j-1], s[j] = s[j], s[j-1]
		}
	}
}
