package web

import (
	"testing"
	"time"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/sepa/bankday"
)

// TestRunRowDue: before the export, the pages show the execution date the
// export would set, not the 1st of the period.
func TestRunRowDue(t *testing.T) {
	jan2030 := payrun.Month(2030*12 + 0)
	r := runRow{Period: jan2030}
	// 1 business day before 1 Jan 2030: 31 Dec is excluded, 29/30 Dec are a
	// weekend, so Friday 28 Dec 2029.
	if got, want := r.Due(), payrun.DateOf(time.Date(2029, 12, 28, 0, 0, 0, 0, time.UTC)); got != want {
		t.Errorf("Due of 2030-01 = %s, want %s", got, want)
	}
	r.settings.ExecutionDaysBefore = 2
	if got, want := r.Due(), payrun.DateOf(time.Date(2029, 12, 27, 0, 0, 0, 0, time.UTC)); got != want {
		t.Errorf("Due of 2030-01, 2 days before = %s, want %s", got, want)
	}
	exec := payrun.DateOf(time.Date(2029, 12, 20, 0, 0, 0, 0, time.UTC))
	r.ExecutionDate = &exec
	if got := r.Due(); got != exec {
		t.Errorf("Due of an exported run = %s, want its execution date %s", got, exec)
	}
	// a period long past: the next business day from today
	old := runRow{Period: payrun.Month(2020*12 + 0)}
	today := payrun.DateOf(time.Now().In(berlin()))
	got := old.Due()
	if got < today || got > today+5 || !(bankday.Calendar{}).IsBusinessDay(got.Time(time.UTC)) {
		t.Errorf("Due of a past period = %s, want the first business day from %s", got, today)
	}
}
