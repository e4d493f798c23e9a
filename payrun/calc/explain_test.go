package calc_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/calc"
)

// TestExplain: § 3 AsylbLG from 15 April 2026 (16 days, factor 16/30),
// BS 1 455 and a child BS 6 309 (born 2024), rent 420 + heating 75 to the
// landlord, income 300, offset 20.00 a month.
//   - regular 764 × 16/30 = 407.466… → 407.47; supplement 25 × 16/30 =
//     13.333… → 13.33; rent 224.00; heating 40.00; income 300 × 16/30 = 160.00.
//   - income taken off regular: 160.00 → regular after income 247.47.
//   - beneficiary 407.47 + 13.33 − 160.00 = 260.80; offset 20.00 → 240.80.
//   - landlord 224.00 + 40.00 = 264.00.
func TestExplain(t *testing.T) {
	t.Parallel()
	c := calc.NewCalculator(loadRates(t), calc.Policy{})
	m := month("2026-04")
	in := &calc.CaseInput{Decisions: []payrun.Decision{decision("D1", asy3, "2026-04-15",
		persons(adult(1), person(6, "2024-02-02")), housing("420.00", "75.00", ll), income("300.00"), offset("R1", "20.00", "100.00"))},
		From: m, Through: m}
	x, err := c.Explain(in, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Segments) != 1 {
		t.Fatalf("%d segments, want 1", len(x.Segments))
	}
	s := x.Segments[0]
	if s.FactorNum != 16 || s.FactorDen != 30 || s.Days != 16 || s.WholeMonth || s.From != date("2026-04-15") || s.Through != date("2026-04-30") {
		t.Errorf("factor %d/%d days %d whole %v %s–%s", s.FactorNum, s.FactorDen, s.Days, s.WholeMonth, s.From, s.Through)
	}
	if s.RateTable != payrun.TableAsylbLG3a || s.RateDate != date("2026-04-15") || s.RateTableValidFrom != date("2026-01-01") {
		t.Errorf("rate table %s looked up %s valid from %s", s.RateTable, s.RateDate, s.RateTableValidFrom)
	}
	if p := s.Persons; len(p) != 2 || p[0].Rate != cents("455.00") || p[1].Rate != cents("309.00") || p[0].Under18 || !p[1].Under18 || p[1].ChildSupplement != cents("25.00") {
		t.Errorf("persons %+v", p)
	}
	wantComps := []calc.ComponentExplanation{
		{Component: payrun.CompRegular, Payee: payrun.PayeeBeneficiary, Monthly: cents("764.00"), Scaled: cents("407.47"), IncomeTaken: cents("160.00"), AfterIncome: cents("247.47")},
		{Component: payrun.CompExtra, Payee: payrun.PayeeBeneficiary},
		{Component: payrun.CompChildSupplement, Payee: payrun.PayeeBeneficiary, Monthly: cents("25.00"), Scaled: cents("13.33"), AfterIncome: cents("13.33")},
		{Component: payrun.CompRent, Payee: payrun.PayeeLandlord, Monthly: cents("420.00"), Scaled: cents("224.00"), AfterIncome: cents("224.00")},
		{Component: payrun.CompHeating, Payee: payrun.PayeeLandlord, Monthly: cents("75.00"), Scaled: cents("40.00"), AfterIncome: cents("40.00")},
	}
	if diff := cmp.Diff(wantComps, s.Components); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
	if want := (calc.IncomeExplanation{Monthly: cents("300.00"), Scaled: cents("160.00"), Taken: cents("160.00")}); s.Income != want {
		t.Errorf("income %+v, want %+v", s.Income, want)
	}
	if s.Offset == nil || s.Offset.Amount != cents("20.00") || s.Offset.BeneficiaryAfterIncome != cents("260.80") {
		t.Errorf("offset %+v", s.Offset)
	}
	wantPayees := []calc.PayeeExplanation{
		{Payee: payrun.PayeeBeneficiary, Gross: cents("420.80"), IncomeTaken: cents("160.00"), Offset: cents("20.00"), Net: cents("240.80")},
		{Payee: payrun.PayeeLandlord, Gross: cents("264.00"), Net: cents("264.00")},
	}
	if diff := cmp.Diff(wantPayees, s.Payees); diff != "" {
		t.Errorf("payees (-want +got):\n%s", diff)
	}
	var sum payrun.Cents
	for _, l := range x.Lines {
		sum += l.Amount
	}
	if sum != cents("504.80") || len(x.Due) != 6 || len(x.Paid) != 0 {
		t.Errorf("lines total %s (want 504.80), %d due (want 6), %d paid", sum, len(x.Due), len(x.Paid))
	}
	if _, err := json.Marshal(x); err != nil {
		t.Error(err)
	}
}

// TestPersonMonths: in March 2026 D1 (2 persons, § 3) runs to the 10th and
// D2 (same two persons plus one, § 3) from the 11th: 3 person-months under
// asylblg_3; D3 (§ 2, other case) 1 person; D4 ended in February: not
// counted; D5 was superseded before its start: not counted.
func TestPersonMonths(t *testing.T) {
	t.Parallel()
	a, b, k := adult(1), adult(2), person(6, "2025-01-01")
	a.PersonID, b.PersonID, k.PersonID = "A", "B", "K"
	other := decision("D3", asy2, "2026-01-01", persons(a))
	other.CaseID = "C2"
	gone := decision("D5", asy2, "2026-03-05", persons(a))
	gone.CaseID = "C3"
	ds := []payrun.Decision{
		decision("D1", asy3, "2026-01-01", persons(a, b)),
		decision("D2", asy3, "2026-03-11", supersedes("D1"), persons(a, b, k)),
		other,
		decision("D4", sgb3, "2026-01-01", until("2026-02-28"), persons(a)),
		gone,
		func() payrun.Decision {
			d := decision("D6", asy2, "2026-03-01", supersedes("D5"), persons(b))
			d.CaseID = "C3"
			return d
		}(),
	}
	got := calc.PersonMonths(ds, month("2026-03"))
	want := map[payrun.Law]int{asy3: 3, asy2: 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("person months (-want +got):\n%s", diff)
	}
}

func TestNewRatesErrors(t *testing.T) {
	t.Parallel()
	ok := payrun.Rate{Table: payrun.TableSGB12, NeedsLevel: 1, ValidFrom: date("2026-01-01"), Amount: cents("563.00")}
	for _, tc := range []struct {
		name  string
		rows  []payrun.Rate
		field string
	}{
		{"unknown table", []payrun.Rate{{Table: "SGB_IX", NeedsLevel: 1, ValidFrom: date("2026-01-01")}}, "table"},
		{"level 0", []payrun.Rate{{Table: payrun.TableSGB12, NeedsLevel: 0}}, "needs_level"},
		{"negative", []payrun.Rate{{Table: payrun.TableSGB12, NeedsLevel: 1, Amount: -1}}, "amount"},
		{"duplicate", []payrun.Rate{ok, ok}, "valid_from"},
	} {
		_, err := calc.NewRates(tc.rows, nil)
		var fe *payrun.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: error %v, want field %s", tc.name, err, tc.field)
		}
	}
	r, err := calc.NewRates([]payrun.Rate{ok}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, from, found := r.Rate(payrun.TableSGB12, 1, date("2027-06-01")); !found || a != cents("563.00") || from != date("2026-01-01") {
		t.Errorf("open-ended rate: %s %s %v", a, from, found)
	}
	if _, _, found := r.Rate(payrun.TableSGB12, 1, date("2025-12-31")); found {
		t.Error("rate before the first row found")
	}
}

// TestRatesCopyIsCurrent: testdata/rates.csv must equal the product's
// ../shared/rates.csv when that is present beside the repository.
func TestRatesCopyIsCurrent(t *testing.T) {
	t.Parallel()
	shared, err := os.ReadFile("../../../shared/rates.csv")
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("no ../shared beside the repository")
	}
	if err != nil {
		t.Fatal(err)
	}
	local, err := os.ReadFile("testdata/rates.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared, local) {
		t.Error("testdata/rates.csv differs from ../shared/rates.csv: copy it again and recheck the worked examples")
	}
}

// TestOrderOfRatesRowsDoesNotMatter: reversed rows give the same results.
func TestOrderOfRatesRowsDoesNotMatter(t *testing.T) {
	t.Parallel()
	rows := readRatesCSV(t, "testdata/rates.csv")
	rev := make([]payrun.Rate, len(rows))
	for i := range rows {
		rev[len(rows)-1-i] = rows[i]
	}
	r1, err1 := calc.NewRates(rows, nil)
	r2, err2 := calc.NewRates(rev, nil)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for _, d := range []string{"2023-01-01", "2024-06-30", "2025-01-01", "2026-12-31"} {
		for lv := 1; lv <= 6; lv++ {
			a1, _, _ := r1.Rate(payrun.TableAsylbLG3a, lv, date(d))
			a2, _, _ := r2.Rate(payrun.TableAsylbLG3a, lv, date(d))
			if a1 != a2 || a1 == 0 {
				t.Errorf("%s level %d: %s vs %s", d, lv, a1, a2)
			}
		}
	}
}
