package export_test

import (
	"testing"
	"time"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/export"
)

func TestRemittanceMonths(t *testing.T) {
	t.Parallel()
	m := func(y int, mo time.Month) payrun.Month { return payrun.MonthOf(y, mo) }
	dec26, jan27 := m(2026, time.December), m(2027, time.January)
	for _, tc := range []struct {
		months []payrun.Month
		period payrun.Month
		want   string
	}{
		{[]payrun.Month{dec26}, dec26, "AsylbLG Par.3 12/2026 Fall C1"},
		{[]payrun.Month{m(2026, time.October), m(2026, time.November), dec26}, dec26, "AsylbLG Par.3 12/2026 Nachzahlung 10-11/2026 Fall C1"},
		{[]payrun.Month{dec26, jan27}, dec26, "AsylbLG Par.3 12/2026-01/2027 Fall C1"},
		{[]payrun.Month{m(2025, time.November), m(2025, time.December), m(2026, time.January), m(2026, time.March), jan27}, jan27,
			"AsylbLG Par.3 01/2027 Nachzahlung 11/2025-01/2026, 03/2026 Fall C1"},
	} {
		if got := export.Remittance([]payrun.Law{payrun.LawAsylbLG3}, tc.months, tc.period, "", "C1"); got != tc.want {
			t.Errorf("Remittance(%v) = %q, want %q", tc.months, got, tc.want)
		}
	}
}
