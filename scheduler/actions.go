package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/payrun/payrun/payrun"
)

// Kind is the kind of a job; a municipality has at most one schedule per
// kind.
type Kind string

// The job kinds.
const (
	// KindMonthlyRun creates or recomputes the proposed monthly run for the
	// coming period once it is within the schedule's business days of its
	// execution date.
	KindMonthlyRun Kind = "monthly_run"
	// KindSupplementaryRun pays what changed after a run was signed.
	KindSupplementaryRun Kind = "supplementary_run"
	// KindExport exports released runs.
	KindExport Kind = "export"
	// KindReminders lists runs not released the schedule's business days
	// before their execution date.
	KindReminders Kind = "reminders"
)

// Kinds lists every job kind.
var Kinds = []Kind{KindMonthlyRun, KindSupplementaryRun, KindExport, KindReminders}

// Default schedules (Europe/Berlin) and business-day windows, used for
// municipalities that have no schedule of a kind yet.
const (
	DefaultMonthlyRunSpec       = "0 2 * * *"
	DefaultSupplementarySpec    = "30 2 * * *"
	DefaultExportSpec           = "0 3 * * *"
	DefaultRemindersSpec        = "0 7 * * *"
	DefaultMonthlyRunLeadDays   = 10 // business days before the execution date
	DefaultReminderBusinessDays = 2
	DefaultExecutionDaysBefore  = 1 // execution date: last business day before the 1st
)

// defaultSchedule returns the default spec and business days of kind.
func defaultSchedule(k Kind) (spec string, businessDays int) {
	switch k {
	case KindMonthlyRun:
		return DefaultMonthlyRunSpec, DefaultMonthlyRunLeadDays
	case KindSupplementaryRun:
		return DefaultSupplementarySpec, 0
	case KindExport:
		return DefaultExportSpec, 0
	default:
		return DefaultRemindersSpec, DefaultReminderBusinessDays
	}
}

// Reminder is one run that is not released although its execution date is
// near.
type Reminder struct {
	RunID         int64        `json:"run_id"`
	Period        payrun.Month `json:"period"`
	State         string       `json:"state"`
	ExecutionDate payrun.Date  `json:"execution_date"`
}

// Actions are the job bodies, injected by cmd/payrun. A nil function
// means its kind is not planned (it is wired later); a job of that kind
// that is already queued waits. Each returns a short outcome for the job
// history. Bodies must be idempotent or transactional: a retried job (after
// an error or a killed process) runs its body again.
type Actions struct {
	// MunicipalitiesFunc lists the municipalities that get default
	// schedules. Nil: only schedules already in the database are planned.
	MunicipalitiesFunc func(ctx context.Context) ([]string, error)
	// MonthlyRunFunc creates or recomputes the proposed monthly run of
	// municipality for period.
	MonthlyRunFunc func(ctx context.Context, municipality string, period payrun.Month) (string, error)
	// SupplementaryRunFunc creates a supplementary run for what changed
	// after a run was signed, if anything did; today is the Berlin date.
	SupplementaryRunFunc func(ctx context.Context, municipality string, today payrun.Date) (string, error)
	// ExportFunc exports the municipality's released runs.
	ExportFunc func(ctx context.Context, municipality string) (string, error)
	// RemindersFunc lists the municipality's runs with an execution date
	// on or before until that are not released yet.
	RemindersFunc func(ctx context.Context, municipality string, until payrun.Date) ([]Reminder, error)
}

// has reports whether kind has a body.
func (a *Actions) has(k Kind) bool {
	switch k {
	case KindMonthlyRun:
		return a.MonthlyRunFunc != nil
	case KindSupplementaryRun:
		return a.SupplementaryRunFunc != nil
	case KindExport:
		return a.ExportFunc != nil
	case KindReminders:
		return a.RemindersFunc != nil
	}
	return false
}

// Calendar tells bank business days; bankday.Calendar satisfies it.
type Calendar interface {
	IsBusinessDay(t time.Time) bool
}

func (s *Scheduler) isBusinessDay(d payrun.Date) bool {
	return s.cfg.Calendar.IsBusinessDay(d.Time(time.UTC))
}

// executionDate returns the n-th business day before the first of period.
func (s *Scheduler) executionDate(period payrun.Month, n int) payrun.Date {
	d := period.First()
	for n = max(n, 1); n > 0; {
		d--
		if s.isBusinessDay(d) {
			n--
		}
	}
	return d
}

// addBusinessDays returns the n-th business day after d (d itself when n is 0).
func (s *Scheduler) addBusinessDays(d payrun.Date, n int) payrun.Date {
	for n > 0 {
		d++
		if s.isBusinessDay(d) {
			n--
		}
	}
	return d
}

// body runs the action of job j and returns its outcome and output.
func (s *Scheduler) body(ctx context.Context, j Job, p jobParams) (string, any, error) {
	today := payrun.DateOf(s.now().In(s.loc))
	a := &s.cfg.Actions
	switch j.Kind {
	case KindMonthlyRun:
		period := today.Month() + 1
		exec := s.executionDate(period, p.executionDaysBefore)
		if today > exec {
			return fmt.Sprintf("skipped: execution date %s of %s has passed", exec, period), nil, nil
		}
		if start := s.windowStart(exec, p.businessDays); today < start {
			return fmt.Sprintf("skipped: %s is before %s, %d business days before the execution date %s of %s",
				today, start, p.businessDays, exec, period), nil, nil
		}
		out, err := a.MonthlyRunFunc(ctx, j.Municipality, period)
		return out, nil, err
	case KindSupplementaryRun:
		out, err := a.SupplementaryRunFunc(ctx, j.Municipality, today)
		return out, nil, err
	case KindExport:
		out, err := a.ExportFunc(ctx, j.Municipality)
		return out, nil, err
	case KindReminders:
		until := s.addBusinessDays(today, p.businessDays)
		rs, err := a.RemindersFunc(ctx, j.Municipality, until)
		if err != nil {
			return "", nil, err
		}
		if len(rs) == 0 {
			return "no runs waiting for release", nil, nil
		}
		return fmt.Sprintf("%d runs not released with execution date on or before %s", len(rs), until), rs, nil
	}
	return "", nil, fmt.Errorf("scheduler: unknown job kind %q", j.Kind)
}

// windowStart returns the first day of the window of n business days
// before exec: the n-th business day before exec (exec itself for n = 0).
func (s *Scheduler) windowStart(exec payrun.Date, n int) payrun.Date {
	d := exec
	for n > 0 {
		d--
		if s.isBusinessDay(d) {
			n--
		}
	}
	return d
}
