package calc

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/payrun/payrun/payrun"
)

// maxLevel is the highest needs level (Regelbedarfsstufe / Bedarfsstufe 6).
const maxLevel = 6

// Table indexes, in the order of payrun.RateTables.
const (
	tabSGB12 = iota
	tabSGB2
	tabAsylbLG2
	tabAsylbLG3a
	nTables
)

func tableIndex(t payrun.RateTable) int {
	switch t {
	case payrun.TableSGB12:
		return tabSGB12
	case payrun.TableSGB2:
		return tabSGB2
	case payrun.TableAsylbLG2:
		return tabAsylbLG2
	case payrun.TableAsylbLG3a:
		return tabAsylbLG3a
	}
	return -1
}

var tableNames = [nTables]payrun.RateTable{payrun.TableSGB12, payrun.TableSGB2, payrun.TableAsylbLG2, payrun.TableAsylbLG3a}

type rateRow struct {
	from   payrun.Date
	amount payrun.Cents
}

// Rates is the immutable index of the central rate tables and the
// Sofortzuschlag table, built once per run by NewRates. It holds no amount
// of its own: every figure comes from the rows it was built from. It is safe
// for concurrent use.
type Rates struct {
	levels [nTables][maxLevel + 1][]rateRow // ascending by from
	supp   []payrun.ChildSupplement         // ascending by ValidFrom
}

// ErrNoRate is wrapped by the errors for a needs level without a rate row
// valid on the day asked for.
var ErrNoRate = errors.New("no rate valid on that day")

// NewRates indexes rate rows and Sofortzuschlag rows. A row is valid from
// its ValidFrom until the next row of the same table and level (open-ended).
// It returns a *payrun.FieldError for an unknown table, a needs level outside
// 1–6, a negative amount or two rows for the same table, level and day.
func NewRates(rates []payrun.Rate, supp []payrun.ChildSupplement) (*Rates, error) {
	r := &Rates{}
	for i, x := range rates {
		rec := "rates[" + strconv.Itoa(i) + "]"
		ti := tableIndex(x.Table)
		switch {
		case ti < 0:
			return nil, &payrun.FieldError{Record: rec, Field: "table", Value: string(x.Table), Err: errors.New("unknown rate table")}
		case x.NeedsLevel < 1 || x.NeedsLevel > maxLevel:
			return nil, &payrun.FieldError{Record: rec, Field: "needs_level", Value: strconv.Itoa(x.NeedsLevel), Err: errors.New("must be 1–6")}
		case x.Amount < 0:
			return nil, &payrun.FieldError{Record: rec, Field: "amount", Value: x.Amount.String(), Err: errors.New("must not be negative")}
		}
		r.levels[ti][x.NeedsLevel] = append(r.levels[ti][x.NeedsLevel], rateRow{x.ValidFrom, x.Amount})
	}
	for ti := range r.levels {
		for lv := range r.levels[ti] {
			rows := r.levels[ti][lv]
			slices.SortFunc(rows, func(a, b rateRow) int { return int(a.from) - int(b.from) })
			for k := 1; k < len(rows); k++ {
				if rows[k].from == rows[k-1].from {
					return nil, &payrun.FieldError{Record: fmt.Sprintf("%s level %d", tableNames[ti], lv),
						Field: "valid_from", Value: rows[k].from.String(), Err: errors.New("two rates for the same day")}
				}
			}
		}
	}
	r.supp = slices.Clone(supp)
	slices.SortFunc(r.supp, func(a, b payrun.ChildSupplement) int { return int(a.ValidFrom) - int(b.ValidFrom) })
	for k, s := range r.supp {
		if s.Amount < 0 {
			return nil, &payrun.FieldError{Record: "child_supplement " + s.ValidFrom.String(), Field: "amount", Value: s.Amount.String(), Err: errors.New("must not be negative")}
		}
		if k > 0 && r.supp[k-1].ValidFrom == s.ValidFrom {
			return nil, &payrun.FieldError{Record: "child_supplement", Field: "valid_from", Value: s.ValidFrom.String(), Err: errors.New("two amounts for the same day")}
		}
	}
	return r, nil
}

// rate returns the amount of needs level lv in table ti valid on day d and
// the day that row became valid.
func (r *Rates) rate(ti, lv int, d payrun.Date) (payrun.Cents, payrun.Date, bool) {
	if ti < 0 || lv < 1 || lv > maxLevel {
		return 0, 0, false
	}
	rows := r.levels[ti][lv]
	for k := len(rows) - 1; k >= 0; k-- {
		if rows[k].from <= d {
			return rows[k].amount, rows[k].from, true
		}
	}
	return 0, 0, false
}

// Rate returns the monthly amount of needs level lv in table t valid on day
// d, and the day its row became valid; ok is false when there is none.
func (r *Rates) Rate(t payrun.RateTable, lv int, d payrun.Date) (amount payrun.Cents, validFrom payrun.Date, ok bool) {
	return r.rate(tableIndex(t), lv, d)
}

// childSupplement returns the Sofortzuschlag valid on day d (0 before the
// first row: the supplement did not exist before July 2022).
func (r *Rates) childSupplement(d payrun.Date) (payrun.Cents, payrun.Date) {
	for k := len(r.supp) - 1; k >= 0; k-- {
		if r.supp[k].ValidFrom <= d {
			return r.supp[k].Amount, r.supp[k].ValidFrom
		}
	}
	return 0, payrun.NoDate
}
