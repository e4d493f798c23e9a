package booking_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
)

func TestReport46aNetEqualsBundLines(t *testing.T) {
	t.Parallel()
	chart := mustChart(t, "luenen", defaultRules())
	g := newGenerator(11, 4000)
	g.spread = 12
	want := map[[2]int]payrun.Cents{}
	var overpay, offsets payrun.Cents
	for l, err := range g.lines() {
		if err != nil {
			t.Fatal(err)
		}
		if l.CostBearer != payrun.BearerBund {
			continue
		}
		want[[2]int{l.Month.Year(), (int(l.Month.Mon())-1)/3 + 1}] += l.Amount
		if l.Kind == payrun.LineOverpayment {
			overpay -= l.Amount
		} else if l.Component == payrun.CompOffset {
			offsets -= l.Amount
		}
	}
	rep := booking.NewReport46a()
	for _, e := range collect(t, chart, g.lines()) {
		rep.Add(e.Month, &e)
	}
	rows := rep.Rows()
	if len(rows) != len(want) || len(rows) < 2 {
		t.Fatalf("%d rows, want %d (≥ 2)", len(rows), len(want))
	}
	var gotOver, gotOff payrun.Cents
	for _, r := range rows {
		w := want[[2]int{r.Year, r.Quarter}]
		if r.Net != w || r.Net != r.Expenses-r.Overpayments-r.OffsetRevenue || r.Municipality != "luenen" {
			t.Errorf("%d Q%d: %+v, want net %s", r.Year, r.Quarter, r, w)
		}
		gotOver += r.Overpayments
		gotOff += r.OffsetRevenue
	}
	if gotOver != overpay || gotOff != offsets || overpay == 0 || offsets == 0 {
		t.Errorf("receipts: overpayments %s (want %s), offsets %s (want %s)", gotOver, overpay, gotOff, offsets)
	}
	// Q4 2026 is called off in January and February 2027; Q3 from 15 Sep to 14 Nov.
	for _, r := range rows {
		var from, to payrun.Date
		switch r.Quarter {
		case 4:
			from, to = payrun.NewDate(r.Year+1, time.January, 1), payrun.NewDate(r.Year+1, time.February, 28)
		case 3:
			from, to = payrun.NewDate(r.Year, time.September, 15), payrun.NewDate(r.Year, time.November, 14)
		default:
			continue
		}
		if r.CallOffFrom != from || r.CallOffTo != to {
			t.Errorf("Q%d call-off %s–%s, want %s–%s", r.Quarter, r.CallOffFrom, r.CallOffTo, from, to)
		}
	}
	var buf bytes.Buffer
	if err := booking.WriteReport46aCSV(&buf, rows, booking.DefaultCSVLayout()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(rows)+1 || lines[0] != "municipality;year;quarter;call_off_from;call_off_to;expenses;overpayments;offset_revenue;net" ||
		!strings.HasSuffix(lines[1], ";"+strings.Replace(rows[0].Net.String(), ".", ",", 1)) {
		t.Errorf("csv:\n%s", buf.String())
	}
}

func TestFlueAGReport(t *testing.T) {
	t.Parallel()
	nov, dec := payrun.MonthOf(2026, 11), payrun.MonthOf(2026, 12)
	rep := booking.NewFlueAGReport()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(rep.AddCounts("unna", dec, map[payrun.Law]int{payrun.LawAsylbLG3: 7, payrun.LawAsylbLG2: 2, payrun.LawSGB12Ch4: 50}))
	must(rep.AddCounts("lünen", dec, map[payrun.Law]int{payrun.LawAsylbLG1a: 1}))
	must(rep.Add("lünen", nov, payrun.LawAsylbLG3, 4))
	must(rep.Add("lünen", nov, payrun.LawAsylbLG3, 1))
	if err := rep.Add("lünen", nov, payrun.LawAsylbLG2, -1); err == nil {
		t.Error("negative count accepted")
	}
	rows := rep.Rows()
	want := []booking.FlueAGMonth{
		{Municipality: "lünen", Month: nov, AsylbLG3: 5, Total: 5},
		{Municipality: "lünen", Month: dec, AsylbLG1a: 1, Total: 1},
		{Municipality: "unna", Month: dec, AsylbLG3: 7, AsylbLG2: 2, Total: 9},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
	l := booking.DefaultCSVLayout()
	l.Encoding = booking.EncodingWindows1252
	var buf bytes.Buffer
	if err := booking.WriteFlueAGCSV(&buf, rows, l); err != nil {
		t.Fatal(err)
	}
	wantCSV := "municipality;month;asylblg_3;asylblg_2;asylblg_1a;total\nl\xfcnen;2026-11;5;0;0;5\nl\xfcnen;2026-12;0;0;1;1\nunna;2026-12;7;2;0;9\n"
	if buf.String() != wantCSV {
		t.Errorf("csv %q, want %q", buf.String(), wantCSV)
	}
}
