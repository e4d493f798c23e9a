package calc_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/calc"
)

const (
	ben = payrun.PayToBeneficiary
	ll  = payrun.PayToLandlord
)

const (
	sgb3  = payrun.LawSGB12Ch3
	sgb4  = payrun.LawSGB12Ch4
	asy2  = payrun.LawAsylbLG2
	asy3  = payrun.LawAsylbLG3
	asy1a = payrun.LawAsylbLG1a
)

// TestDueWorkedExamples checks the month's gross due against amounts worked
// out by hand from DOMAIN.md and rates.csv. The arithmetic is in the comments;
// "r(x)" is round half-up to the cent.
func TestDueWorkedExamples(t *testing.T) {
	t.Parallel()
	rates := loadRates(t)
	for _, tc := range []struct {
		name   string
		pol    calc.Policy
		decs   []payrun.Decision
		month  string
		want   map[string]string
		bearer payrun.CostBearer
	}{
		{
			// SGB XII ch. 3, whole March 2026: RBS 1 = 563 (2026 row); rent and heating as given.
			name:  "full month sgb12_3",
			decs:  []payrun.Decision{decision("D1", sgb3, "2026-01-01", persons(adult(1)), housing("400.00", "60.00", ben))},
			month: "2026-03", bearer: payrun.BearerMunicipality,
			want: map[string]string{"beneficiary/regular": "563.00", "beneficiary/rent": "400.00", "beneficiary/heating": "60.00"},
		},
		{
			// SGB XII ch. 4, whole month: 563; Merkzeichen G 17 % of own RBS 1: r(563 × 0.17 = 95.71) = 95.71;
			// housing to the landlord.
			name: "full month sgb12_4",
			decs: []payrun.Decision{decision("D1", sgb4, "2025-07-01",
				persons(adult(1, pct(payrun.ExtraDisability, "17"))), housing("450.00", "80.00", ll))},
			month: "2026-04", bearer: payrun.BearerBund,
			want: map[string]string{"beneficiary/regular": "563.00", "beneficiary/extra": "95.71",
				"landlord/rent": "450.00", "landlord/heating": "80.00"},
		},
		{
			// § 2 AsylbLG, February 2026 (28 days, whole month → factor 1): RBS 2 + 2 + 5 = 506 + 506 + 390 = 1402;
			// warm water 2.3 % of 506 = 11.638 → 11.64; child born 2018 is under 18: Sofortzuschlag 25 (2025 on).
			name: "full month asylblg_2 in February",
			decs: []payrun.Decision{decision("D1", asy2, "2025-11-03",
				persons(adult(2, pct(payrun.ExtraWarmWater, "2.3")), adult(2), person(5, "2018-05-05")))},
			month: "2026-02", bearer: payrun.BearerFlueAG,
			want: map[string]string{"beneficiary/regular": "1402.00", "beneficiary/extra": "11.64", "beneficiary/child_supplement": "25.00"},
		},
		{
			// § 3 AsylbLG, May 2026: BS 1 455 + BS 6 309 = 764; fixed § 6 need 30.00; one child: 25.00.
			name: "full month asylblg_3",
			decs: []payrun.Decision{decision("D1", asy3, "2026-01-01",
				persons(adult(1, fixed("30.00")), person(6, "2023-09-01")))},
			month: "2026-05", bearer: payrun.BearerFlueAG,
			want: map[string]string{"beneficiary/regular": "764.00", "beneficiary/extra": "30.00", "beneficiary/child_supplement": "25.00"},
		},
		{
			// § 1a AsylbLG: fixed amounts 250.00 + 180.50 = 430.50, no Sofortzuschlag even for the child;
			// rent to the landlord.
			name: "asylblg_1a fixed amounts",
			decs: []payrun.Decision{decision("D1", asy1a, "2026-02-01",
				persons(fixedPerson("A", "250.00", "1990-01-01"), fixedPerson("B", "180.50", "2015-01-01", fixed("12.34"))),
				housing("300.00", "0.00", ll))},
			month: "2026-03", bearer: payrun.BearerFlueAG,
			want: map[string]string{"beneficiary/regular": "430.50", "beneficiary/extra": "12.34", "landlord/rent": "300.00"},
		},
		{
			// Start on the 15th of April (30 days): 15–30 = 16 days, factor 16/30.
			// BS 1 455 × 16/30 = 242.666… → 242.67; rent 420 × 16/30 = 224.00; heating 75 × 16/30 = 40.00.
			name:  "start on the 15th of a 30-day month",
			decs:  []payrun.Decision{decision("D1", asy3, "2026-04-15", persons(adult(1)), housing("420.00", "75.00", ll))},
			month: "2026-04",
			want:  map[string]string{"beneficiary/regular": "242.67", "landlord/rent": "224.00", "landlord/heating": "40.00"},
		},
		{
			// Start on the 31st of January: 1 day, factor 1/30. 563/30 = 18.766… → 18.77; rent 390/30 = 13.00.
			name:  "start on the 31st of a 31-day month",
			decs:  []payrun.Decision{decision("D1", sgb3, "2026-01-31", persons(adult(1)), housing("390.00", "0.00", ben))},
			month: "2026-01",
			want:  map[string]string{"beneficiary/regular": "18.77", "beneficiary/rent": "13.00"},
		},
		{
			// 15 Feb 2024 (leap year): 15–29 = 15 days, factor 15/30. 2024 § 3a rates: BS 1 460 × 15/30 = 230.00,
			// BS 6 312 × 15/30 = 156.00 → 386.00; supplement 2024 20.00 × 15/30 = 10.00.
			name:  "start 15 February, leap year",
			decs:  []payrun.Decision{decision("D1", asy3, "2024-02-15", persons(adult(1), person(6, "2022-01-10")))},
			month: "2024-02",
			want:  map[string]string{"beneficiary/regular": "386.00", "beneficiary/child_supplement": "10.00"},
		},
		{
			// 15 Feb 2025: 15–28 = 14 days, factor 14/30. 2025 rates: 441 × 14/30 = 205.80, 299 × 14/30 = 139.533… → 139.53;
			// regular 345.33 (each person's rate summed first: 740 × 14/30 = 345.333… → 345.33);
			// supplement 25 × 14/30 = 11.666… → 11.67.
			name:  "start 15 February, non-leap year",
			decs:  []payrun.Decision{decision("D1", asy3, "2025-02-15", persons(adult(1), person(6, "2022-01-10")))},
			month: "2025-02",
			want:  map[string]string{"beneficiary/regular": "345.33", "beneficiary/child_supplement": "11.67"},
		},
		{
			// Policy: actual days for SGB XII. 15–28 Feb 2025 = 14 of 28 days: 563 × 14/28 = 281.50.
			name:  "start 15 February, SGB XII actual days",
			pol:   calc.Policy{SGB12ActualDays: true},
			decs:  []payrun.Decision{decision("D1", sgb3, "2025-02-15", persons(adult(1)))},
			month: "2025-02",
			want:  map[string]string{"beneficiary/regular": "281.50"},
		},
		{
			// The same policy leaves § 3 AsylbLG on 30 days: 441 × 14/30 = 205.80.
			name:  "actual days do not apply to asylblg_3",
			pol:   calc.Policy{SGB12ActualDays: true},
			decs:  []payrun.Decision{decision("D1", asy3, "2025-02-15", persons(adult(1)))},
			month: "2025-02",
			want:  map[string]string{"beneficiary/regular": "205.80"},
		},
		{
			// DOMAIN.md §4 example, 17 days (15–31 March): once: 563 × 17/30 = 319.033… → 319.03.
			name:  "round once",
			decs:  []payrun.Decision{decision("D1", sgb3, "2026-03-15", persons(adult(1)))},
			month: "2026-03",
			want:  map[string]string{"beneficiary/regular": "319.03"},
		},
		{
			// Daily rate first: r(563/30 = 18.766…) = 18.77 × 17 = 319.09.
			name:  "round daily rate first",
			pol:   calc.Policy{RoundDailyRateFirst: true},
			decs:  []payrun.Decision{decision("D1", sgb3, "2026-03-15", persons(adult(1)))},
			month: "2026-03",
			want:  map[string]string{"beneficiary/regular": "319.09"},
		},
		{
			// Full supplement policy: 15–30 April = 16 days; regular 563 × 16/30 + 357 × 16/30 = 920 × 16/30 = 490.666… → 490.67;
			// supplement 25.00 unscaled.
			name:  "full child supplement",
			pol:   calc.Policy{FullChildSupplement: true},
			decs:  []payrun.Decision{decision("D1", sgb3, "2026-04-15", persons(adult(1), person(6, "2024-01-01")))},
			month: "2026-04",
			want:  map[string]string{"beneficiary/regular": "490.67", "beneficiary/child_supplement": "25.00"},
		},
		{
			// End on the 31st: March is covered whole → factor 1 → 563.00.
			name:  "end on the 31st",
			decs:  []payrun.Decision{decision("D1", sgb3, "2026-01-01", until("2026-03-31"), persons(adult(1)))},
			month: "2026-03",
			want:  map[string]string{"beneficiary/regular": "563.00"},
		},
		{
			// End on the 30th of a 31-day month: 30 days, min(30, 30)/30 = 1 → 563.00 though not the whole month.
			name:  "end on the 30th of a 31-day month",
			decs:  []payrun.Decision{decision("D1", sgb3, "2026-01-01", until("2026-03-30"), persons(adult(1)))},
			month: "2026-03",
			want:  map[string]string{"beneficiary/regular": "563.00"},
		},
		{
			// End on 31 January: nothing is due in February.
			name:  "nothing after the end",
			decs:  []payrun.Decision{decision("D1", sgb3, "2026-01-01", until("2026-01-31"), persons(adult(1)))},
			month: "2026-02",
			want:  map[string]string{},
		},
		{
			// Two decisions split March 2026. D1 covers 1–10 (superseded by D2 from the 11th): 455 × 10/30 = 151.666… → 151.67.
			// D2 covers 11–31 = 21 days: (455 + 309) × 21/30 = 534.80, supplement 25 × 21/30 = 17.50.
			// regular = 151.67 + 534.80 = 686.47.
			name: "two decisions split a month",
			decs: []payrun.Decision{
				decision("D2", asy3, "2026-03-11", supersedes("D1"), persons(adult(1), person(6, "2026-02-20"))),
				decision("D1", asy3, "2026-01-01", persons(adult(1))),
			},
			month: "2026-03",
			want:  map[string]string{"beneficiary/regular": "686.47", "beneficiary/child_supplement": "17.50"},
		},
		{
			// Child born 15 June 2008 is 17 on 1 June 2026: RBS 1 + RBS 4 = 563 + 471 = 1034; supplement 25.00.
			name:  "child turning 18 in the month",
			decs:  []payrun.Decision{decision("D1", sgb3, "2026-01-01", persons(adult(1), person(4, "2008-06-15")))},
			month: "2026-06",
			want:  map[string]string{"beneficiary/regular": "1034.00", "beneficiary/child_supplement": "25.00"},
		},
		{
			// The same child is 18 on 1 July 2026: no supplement.
			name:  "child 18 on the 1st",
			decs:  []payrun.Decision{decision("D1", sgb3, "2026-01-01", persons(adult(1), person(4, "2008-06-15")))},
			month: "2026-07",
			want:  map[string]string{"beneficiary/regular": "1034.00"},
		},
		{
			// Born 1 June 2008: turns 18 on 1 June 2026 itself, so is not under 18 on the 1st: no supplement.
			name:  "child turning 18 on the 1st",
			decs:  []payrun.Decision{decision("D1", sgb3, "2026-01-01", persons(adult(1), person(4, "2008-06-01")))},
			month: "2026-06",
			want:  map[string]string{"beneficiary/regular": "1034.00"},
		},
		{
			// Income 2000 > all needs (563 + 60 + 400 = 1023): taken regular 563, heating 60, rent 400;
			// income line −1023.00; 977.00 unused. The beneficiary's net is 0.
			name:  "income above all needs",
			decs:  []payrun.Decision{decision("D1", sgb3, "2026-01-01", persons(adult(1)), housing("400.00", "60.00", ben), income("2000.00"))},
			month: "2026-03",
			want: map[string]string{"beneficiary/regular": "563.00", "beneficiary/rent": "400.00",
				"beneficiary/heating": "60.00", "beneficiary/income": "-1023.00"},
		},
		{
			// Income 500: taken off regular 455 (all), then heating 45 (75 → 30); the landlord's 420 + 75 = 495 is more
			// than the 455 + 495 − 500 = 450 left: landlord gets 420 + 75 − 45 = 450, beneficiary 455 − 455 = 0.
			name:  "landlord share larger than what is left after income",
			decs:  []payrun.Decision{decision("D1", asy3, "2026-01-01", persons(adult(1)), housing("420.00", "75.00", ll), income("500.00"))},
			month: "2026-03",
			want: map[string]string{"beneficiary/regular": "455.00", "beneficiary/income": "-455.00",
				"landlord/rent": "420.00", "landlord/heating": "75.00", "landlord/income": "-45.00"},
		},
		{
			// Offset 168.90 a month, but the beneficiary keeps only 563 − 520 = 43.00 after income: offset −43.00.
			name: "offset larger than the beneficiary's share",
			decs: []payrun.Decision{decision("D1", sgb3, "2026-01-01", persons(adult(1)), housing("400.00", "0.00", ll),
				income("520.00"), offset("R1", "168.90", "300.00"))},
			month: "2026-03",
			want: map[string]string{"beneficiary/regular": "563.00", "beneficiary/income": "-520.00",
				"beneficiary/offset/R1": "-43.00", "landlord/rent": "400.00"},
		},
		{
			// § 3 AsylbLG from 10 Dec 2024: 22 days. 2024 rates BS 1 + BS 5 = 460 + 341 = 801 × 22/30 = 587.40;
			// supplement 20 × 22/30 = 14.666… → 14.67.
			name:  "asylblg_3 December 2024",
			decs:  []payrun.Decision{decision("D1", asy3, "2024-12-10", persons(adult(1), person(5, "2017-04-04")))},
			month: "2024-12",
			want:  map[string]string{"beneficiary/regular": "587.40", "beneficiary/child_supplement": "14.67"},
		},
		{
			// January 2025, rates fell: 441 + 327 = 768.00; supplement now 25.00.
			name:  "asylblg_3 January 2025 (rates fell)",
			decs:  []payrun.Decision{decision("D1", asy3, "2024-12-10", persons(adult(1), person(5, "2017-04-04")))},
			month: "2025-01",
			want:  map[string]string{"beneficiary/regular": "768.00", "beneficiary/child_supplement": "25.00"},
		},
		{
			// December 2025: 441 + 327 = 768.00.
			name:  "asylblg_3 December 2025",
			decs:  []payrun.Decision{decision("D1", asy3, "2024-12-10", persons(adult(1), person(5, "2017-04-04")))},
			month: "2025-12",
			want:  map[string]string{"beneficiary/regular": "768.00", "beneficiary/child_supplement": "25.00"},
		},
		{
			// January 2026: 455 + 337 = 792.00.
			name:  "asylblg_3 January 2026",
			decs:  []payrun.Decision{decision("D1", asy3, "2024-12-10", persons(adult(1), person(5, "2017-04-04")))},
			month: "2026-01",
			want:  map[string]string{"beneficiary/regular": "792.00", "beneficiary/child_supplement": "25.00"},
		},
		{
			// Single parent under SGB XII: 36 % of RBS 1 = 202.68 (DOMAIN.md §3 table) even though the parent is RBS 2
			// (506); pregnancy 17 % of own RBS 2 = 86.02; extra = 288.70. Child (RBS 6, 357) supplement 25.
			// regular = 506 + 357 = 863.
			name: "single parent base is RBS 1",
			decs: []payrun.Decision{decision("D1", sgb3, "2026-01-01",
				persons(adult(2, pct(payrun.ExtraSingleParent, "36"), pct(payrun.ExtraPregnancy, "17")), person(6, "2023-01-01")))},
			month: "2026-03",
			want:  map[string]string{"beneficiary/regular": "863.00", "beneficiary/extra": "288.70", "beneficiary/child_supplement": "25.00"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := calc.NewCalculator(rates, tc.pol)
			m := month(tc.month)
			in := &calc.CaseInput{Decisions: tc.decs, From: m, Through: m}
			due, err := c.Due(in, m)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, amounts(due)); diff != "" {
				t.Errorf("due (-want +got):\n%s", diff)
			}
			lines, err := c.Case(in, nil)
			if err != nil {
				t.Fatal(err)
			}
			// With nothing paid, the lines are exactly the due amounts.
			if diff := cmp.Diff(tc.want, amounts(asPaid(lines))); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			for _, l := range lines {
				if tc.bearer != "" && l.CostBearer != tc.bearer {
					t.Errorf("line %v: cost bearer %s, want %s", l, l.CostBearer, tc.bearer)
				}
			}
		})
	}
}

// TestSplitMonthLinesCarryLatestDecision: merged lines carry the latest
// decision's id.
func TestSplitMonthLinesCarryLatestDecision(t *testing.T) {
	t.Parallel()
	c := calc.NewCalculator(loadRates(t), calc.Policy{})
	in := &calc.CaseInput{Decisions: []payrun.Decision{
		decision("D1", asy3, "2026-01-01", persons(adult(1))),
		decision("D2", asy3, "2026-03-11", supersedes("D1"), persons(adult(1), person(6, "2026-02-20"))),
	}, From: month("2026-02"), Through: month("2026-03")}
	lines, err := c.Case(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"2026-02 beneficiary regular payment 455.00 D1",
		"2026-03 beneficiary regular payment 686.47 D2",
		"2026-03 beneficiary child_supplement payment 17.50 D2",
	}
	if diff := cmp.Diff(want, lineStrings(lines)); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

// TestRetroactiveArrears: D1 (§ 3 AsylbLG, single BS 1, 455.00) was paid for
// January to March 2026. D2, decided later, supersedes it from 16 February
// and adds a child (BS 6, 309; born 2025). The April run recomputes January
// to April.
//   - January: unchanged, no line.
//   - February (28 days): D1 1–15 = 15 days: 455 × 15/30 = 227.50; D2 16–28 =
//     13 days: 764 × 13/30 = 331.066… → 331.07; regular 558.57 − 455 paid =
//     103.57; supplement 25 × 13/30 = 10.833… → 10.83.
//   - March: 764 − 455 = 309.00; supplement 25.00.
//   - April: 764.00 and 25.00, nothing paid yet.
func TestRetroactiveArrears(t *testing.T) {
	t.Parallel()
	c := calc.NewCalculator(loadRates(t), calc.Policy{})
	d1 := decision("D1", asy3, "2026-01-01", persons(adult(1)))
	var paid []calc.Amount
	for _, m := range []string{"2026-01", "2026-02", "2026-03"} {
		paid = append(paid, calc.Amount{Month: month(m), Payee: payrun.PayeeBeneficiary, Component: payrun.CompRegular, Amount: cents("455.00")})
	}
	in := &calc.CaseInput{
		Decisions: []payrun.Decision{d1, decision("D2", asy3, "2026-02-16", supersedes("D1"), persons(adult(1), person(6, "2025-03-01")))},
		From:      month("2026-01"), Through: month("2026-04"), Paid: paid,
	}
	lines, err := c.Case(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"2026-02 beneficiary regular payment 103.57 D2",
		"2026-02 beneficiary child_supplement payment 10.83 D2",
		"2026-03 beneficiary regular payment 309.00 D2",
		"2026-03 beneficiary child_supplement payment 25.00 D2",
		"2026-04 beneficiary regular payment 764.00 D2",
		"2026-04 beneficiary child_supplement payment 25.00 D2",
	}
	if diff := cmp.Diff(want, lineStrings(lines)); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	assertNettedOut(t, c, in, lines)
}

// TestRetroactiveOverpayment: D1 (SGB XII ch. 3, RBS 1 563, rent 400 and
// heating 60 to the landlord) was paid for January to March 2026. D2
// supersedes it from 16 February: a job brings 600.00 countable income.
//   - February: D1 1–15: regular 563 × 15/30 = 281.50, rent 200.00, heating
//     30.00. D2 16–28 (13 days): regular 563 × 13/30 = 243.966… → 243.97,
//     rent 400 × 13/30 = 173.333… → 173.33, heating 60 × 13/30 = 26.00,
//     income 600 × 13/30 = 260.00, taken off regular 243.97, then heating
//     16.03. Beneficiary: regular 525.47 − 563 = −37.53, income −243.97:
//     Σ −281.50 → overpayment. Landlord: rent 373.33 − 400 = −26.67, heating
//     56.00 − 60 = −4.00, income −16.03: Σ −46.70 → overpayment.
//   - March: regular 563 fully taken by income, then heating 37 of 60:
//     beneficiary income −563.00; landlord income −37.00; both overpayments.
func TestRetroactiveOverpayment(t *testing.T) {
	t.Parallel()
	c := calc.NewCalculator(loadRates(t), calc.Policy{})
	var paid []calc.Amount
	for _, m := range []string{"2026-01", "2026-02", "2026-03"} {
		paid = append(paid,
			calc.Amount{Month: month(m), Payee: payrun.PayeeBeneficiary, Component: payrun.CompRegular, Amount: cents("563.00")},
			calc.Amount{Month: month(m), Payee: payrun.PayeeLandlord, Component: payrun.CompRent, Amount: cents("400.00")},
			calc.Amount{Month: month(m), Payee: payrun.PayeeLandlord, Component: payrun.CompHeating, Amount: cents("60.00")})
	}
	in := &calc.CaseInput{
		Decisions: []payrun.Decision{
			decision("D1", sgb3, "2026-01-01", persons(adult(1)), housing("400.00", "60.00", ll)),
			decision("D2", sgb3, "2026-02-16", supersedes("D1"), persons(adult(1)), housing("400.00", "60.00", ll), income("600.00")),
		},
		From: month("2026-01"), Through: month("2026-03"), Paid: paid,
	}
	lines, err := c.Case(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"2026-02 beneficiary regular overpayment -37.53 D2",
		"2026-02 beneficiary income overpayment -243.97 D2",
		"2026-02 landlord rent overpayment -26.67 D2",
		"2026-02 landlord heating overpayment -4.00 D2",
		"2026-02 landlord income overpayment -16.03 D2",
		"2026-03 beneficiary income overpayment -563.00 D2",
		"2026-03 landlord income overpayment -37.00 D2",
	}
	if diff := cmp.Diff(want, lineStrings(lines)); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	assertNettedOut(t, c, in, lines)
}

// TestVanishedDecisionIsOverpaid: D2 supersedes D1 from before D1's start,
// so D1 vanishes; what was paid under D1 in January is recorded as an
// overpayment labelled with D1, and February pays D2's amounts.
func TestVanishedDecisionIsOverpaid(t *testing.T) {
	t.Parallel()
	c := calc.NewCalculator(loadRates(t), calc.Policy{})
	in := &calc.CaseInput{
		Decisions: []payrun.Decision{
			decision("D1", asy3, "2026-01-01", persons(adult(1))),
			decision("D2", asy3, "2026-02-01", supersedes("D1"), persons(adult(2))),
			decision("D3", asy3, "2025-12-01", until("2025-12-31"), supersedes("D1"), persons(adult(1))),
		},
		From: month("2026-01"), Through: month("2026-02"),
		Paid: []calc.Amount{{Month: month("2026-01"), Payee: payrun.PayeeBeneficiary, Component: payrun.CompRegular, Amount: cents("455.00")}},
	}
	lines, err := c.Case(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	// D3 (from 2025-12-01) supersedes D1 from before its start: D1 vanishes. February: D2, BS 2 = 409.00.
	want := []string{
		"2026-01 beneficiary regular overpayment -455.00 D1",
		"2026-02 beneficiary regular payment 409.00 D2",
	}
	if diff := cmp.Diff(want, lineStrings(lines)); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	assertNettedOut(t, c, in, lines)
}

// TestOffsetAcrossMonths: 28.15 a month against 50.00 remaining: March
// 28.15, April 50 − 28.15 = 21.85, May nothing. Run month by month, with the
// lines of earlier runs in Paid and OffsetTaken, the result is the same.
func TestOffsetAcrossMonths(t *testing.T) {
	t.Parallel()
	c := calc.NewCalculator(loadRates(t), calc.Policy{})
	decs := []payrun.Decision{decision("D1", sgb3, "2026-03-01", persons(adult(1)), offset("R1", "28.15", "50.00"))}
	in := &calc.CaseInput{Decisions: decs, From: month("2026-03"), Through: month("2026-05")}
	all, err := c.Case(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"2026-03 beneficiary regular payment 563.00 D1",
		"2026-03 beneficiary offset payment -28.15 D1 R1",
		"2026-04 beneficiary regular payment 563.00 D1",
		"2026-04 beneficiary offset payment -21.85 D1 R1",
		"2026-05 beneficiary regular payment 563.00 D1",
	}
	if diff := cmp.Diff(want, lineStrings(all)); diff != "" {
		t.Errorf("all at once (-want +got):\n%s", diff)
	}
	// Month by month, each run recomputing only its own month.
	var live []calc.Line
	for _, m := range []string{"2026-03", "2026-04", "2026-05"} {
		in := &calc.CaseInput{Decisions: decs, From: month(m), Through: month(m), Paid: asPaid(live), OffsetTaken: offsetTaken(live)}
		ls, err := c.Case(in, nil)
		if err != nil {
			t.Fatal(err)
		}
		live = append(live, ls...)
	}
	if diff := cmp.Diff(want, lineStrings(live)); diff != "" {
		t.Errorf("month by month (-want +got):\n%s", diff)
	}
	// Set off elsewhere (e.g. by an earlier system): 280 of 300 → only 20.00 is left.
	in = &calc.CaseInput{Decisions: []payrun.Decision{decision("D1", sgb3, "2026-01-01", persons(adult(1)),
		housing("400.00", "0.00", ll), income("520.00"), offset("R1", "168.90", "300.00"))},
		From: month("2026-03"), Through: month("2026-04"), OffsetTaken: map[string]payrun.Cents{"R1": cents("280.00")}}
	due, err := c.Due(in, month("2026-03"))
	if err != nil {
		t.Fatal(err)
	}
	if got := amounts(due)["beneficiary/offset/R1"]; got != "-20.00" {
		t.Errorf("March offset %s, want -20.00", got)
	}
	due, err = c.Due(in, month("2026-04"))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := amounts(due)["beneficiary/offset/R1"]; ok {
		t.Errorf("April offset %s, want none", got)
	}
}

// TestReclassification: income moves 100.00 from regular to nothing while
// extra rises by 100.00: Σ diff = 0 but components differ → payment lines
// with total 0.
func TestReclassification(t *testing.T) {
	t.Parallel()
	c := calc.NewCalculator(loadRates(t), calc.Policy{})
	m := month("2026-03")
	in := &calc.CaseInput{
		Decisions: []payrun.Decision{decision("D1", asy3, "2026-01-01", persons(adult(1, fixed("100.00"))), income("100.00"))},
		From:      m, Through: m,
		Paid: []calc.Amount{{Month: m, Payee: payrun.PayeeBeneficiary, Component: payrun.CompRegular, Amount: cents("455.00")}},
	}
	lines, err := c.Case(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"2026-03 beneficiary extra payment 100.00 D1",
		"2026-03 beneficiary income payment -100.00 D1",
	}
	if diff := cmp.Diff(want, lineStrings(lines)); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

func assertNettedOut(t *testing.T, c *calc.Calculator, in *calc.CaseInput, lines []calc.Line) {
	t.Helper()
	again := *in
	again.Paid = append(append([]calc.Amount(nil), in.Paid...), asPaid(lines)...)
	more, err := c.Case(&again, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(more) != 0 {
		t.Errorf("netting again gave lines: %v", lineStrings(more))
	}
}

func TestValidationErrors(t *testing.T) {
	t.Parallel()
	rates := loadRates(t)
	m := month("2026-03")
	for _, tc := range []struct {
		name, record, field string
		decs                []payrun.Decision
	}{
		{"percent extra under asylblg_3", "D1", "persons[0].extra_needs[0].kind",
			[]payrun.Decision{decision("D1", asy3, "2026-01-01", persons(adult(1, pct(payrun.ExtraPregnancy, "17"))))}},
		{"needs level 7", "D1", "persons[1].needs_level",
			[]payrun.Decision{decision("D1", sgb3, "2026-01-01", persons(adult(1), adult(7)))}},
		{"asylblg_1a without fixed amount", "D1", "persons[0].fixed_amount",
			[]payrun.Decision{decision("D1", asy1a, "2026-01-01", persons(adult(1)))}},
		{"overlap without supersession", "D2", "valid_from",
			[]payrun.Decision{decision("D1", sgb3, "2026-01-01", persons(adult(1))), decision("D2", sgb3, "2026-02-01", persons(adult(1)))}},
		{"no rate before the table starts", "D1", "persons[0].needs_level",
			[]payrun.Decision{decision("D1", sgb3, "2022-12-01", persons(adult(1)))}},
		{"bad pay_to", "D1", "housing.pay_to",
			[]payrun.Decision{decision("D1", sgb3, "2026-01-01", persons(adult(1)), housing("1.00", "1.00", "tenant"))}},
		{"valid_to before valid_from", "D1", "valid_to",
			[]payrun.Decision{decision("D1", sgb3, "2026-01-01", until("2025-12-31"), persons(adult(1)))}},
		{"negative income", "D1", "countable_income",
			[]payrun.Decision{decision("D1", sgb3, "2026-01-01", persons(adult(1)), income("-1.00"))}},
		{"duplicate id", "D1", "decision_id",
			[]payrun.Decision{decision("D1", sgb3, "2026-01-01", persons(adult(1))), decision("D1", sgb3, "2026-01-01", persons(adult(1)))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			from := m
			if tc.decs[0].ValidFrom < m.First() {
				from = tc.decs[0].ValidFrom.Month()
			}
			_, err := calc.NewCalculator(rates, calc.Policy{}).Case(&calc.CaseInput{Decisions: tc.decs, From: from, Through: m}, nil)
			var fe *payrun.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v, want a *payrun.FieldError", err)
			}
			if fe.Record != tc.record || fe.Field != tc.field || !errors.Is(err, payrun.ErrInvalid) {
				t.Errorf("error %v: record %q field %q, want %q %q", err, fe.Record, fe.Field, tc.record, tc.field)
			}
		})
	}
}

// TestErrorAppendsNothing: a rate missing for a later month fails the case
// without leaving the earlier months' lines in out.
func TestErrorAppendsNothing(t *testing.T) {
	t.Parallel()
	var level1 []payrun.Rate
	for _, r := range readRatesCSV(t, "testdata/rates.csv") {
		if r.NeedsLevel == 1 {
			level1 = append(level1, r)
		}
	}
	rates, err := calc.NewRates(level1, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := calc.NewCalculator(rates, calc.Policy{})
	out := []calc.Line{{DecisionID: "earlier case"}}
	// January is fine (level 1); February needs level 2, which this table lacks.
	in := &calc.CaseInput{Decisions: []payrun.Decision{
		decision("D1", sgb3, "2026-01-01", until("2026-01-31"), persons(adult(1))),
		decision("D2", sgb3, "2026-02-01", persons(adult(2))),
	}, From: month("2026-01"), Through: month("2026-02")}
	out, err = c.Case(in, out)
	var fe *payrun.FieldError
	if !errors.Is(err, calc.ErrNoRate) || !errors.As(err, &fe) || fe.Record != "D2" || len(out) != 1 {
		t.Errorf("err %v, %d lines; want ErrNoRate for D2 and only the earlier case's line", err, len(out))
	}
	in.Through = month("2026-01")
	out, err = c.Case(in, out[:0])
	if err != nil || len(out) != 1 || out[0].Amount != cents("563.00") {
		t.Errorf("January alone: %v %v", err, lineStrings(out))
	}
}
