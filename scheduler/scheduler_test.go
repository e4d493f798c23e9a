package scheduler_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/scheduler"
)

// TestDaylightSavingNights steps a fake clock in 5-minute steps through
// both daylight-saving nights: a 02:30 job runs exactly once each night.
func TestDaylightSavingNights(t *testing.T) {
	t.Parallel()
	for _, day := range []time.Time{time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), time.Date(2026, 10, 25, 0, 0, 0, 0, berlin)} {
		t.Run(day.Format("2006-01-02"), func(t *testing.T) {
			t.Parallel()
			db := setup(t, "unna")
			start := day.Add(-4 * time.Hour)
			addSchedule(t, db, "unna", scheduler.KindExport, "30 2 * * *", 0, start)
			c := &clock{t: start}
			s, _ := newScheduler(t, db, c, exportAction(record(db, "")), nil)
			for at := start; at.Before(day.Add(30 * time.Hour)); at = at.Add(5 * time.Minute) {
				c.Set(at)
				runDue(t, s)
			}
			ex := executions(t, db)
			if len(ex) != 2 {
				t.Fatalf("executions = %v, want one on %s and one the day after", ex, day.Format(time.DateOnly))
			}
			if d := ex[0].ScheduledFor.In(berlin); d.Day() != day.Day() || d.Hour() < 2 || d.Hour() > 3 {
				t.Errorf("first execution scheduled for %s, want 02:30 or 03:30 on %s", d, day.Format(time.DateOnly))
			}
			if d := ex[1].ScheduledFor.In(berlin); d.Day() != day.Day()+1 || d.Hour() != 2 || d.Minute() != 30 {
				t.Errorf("second execution scheduled for %s, want 02:30 the day after", d)
			}
		})
	}
}

// TestTwoInstancesRunEachJobOnce runs two schedulers with separate pools
// on one database concurrently through a day of 5-minute jobs.
func TestTwoInstancesRunEachJobOnce(t *testing.T) {
	t.Parallel()
	db := setup(t, "unna", "werne", "boenen")
	db2 := openSecondPool(t, db)
	start := time.Date(2026, 6, 10, 0, 0, 0, 0, berlin)
	for _, m := range []string{"unna", "werne", "boenen"} {
		addSchedule(t, db, m, scheduler.KindExport, "*/5 * * * *", 0, start)
	}
	c := &clock{t: start}
	a, _ := newScheduler(t, db, c, exportAction(record(db, "a")), nil)
	b, _ := newScheduler(t, db2, c, exportAction(record(db2, "b")), nil)
	steps := 60
	for i := 1; i <= steps; i++ {
		c.Set(start.Add(time.Duration(i) * 5 * time.Minute))
		var wg sync.WaitGroup
		for _, s := range []*scheduler.Scheduler{a, b} {
			wg.Go(func() {
				if _, err := s.RunDue(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	ex := executions(t, db)
	if len(ex) != 3*steps {
		t.Fatalf("%d executions, want %d", len(ex), 3*steps)
	}
	seen := map[string]bool{}
	by := map[string]int{}
	for _, e := range ex {
		k := e.Municipality + e.ScheduledFor.String()
		if seen[k] {
			t.Errorf("job %s ran twice", k)
		}
		seen[k] = true
		by[e.Arg]++
	}
	t.Logf("executions by instance: %v", by)
	for _, j := range jobRows(t, db) {
		if j.State != "succeeded" || j.Attempts != 1 {
			t.Errorf("job %d: state %s after %d attempts", j.ID, j.State, j.Attempts)
		}
	}
}

// TestCatchUpRunsMissedJobOnce: after three days of downtime a daily job
// runs once, for its latest occurrence.
func TestCatchUpRunsMissedJobOnce(t *testing.T) {
	t.Parallel()
	db := setup(t, "unna")
	last := time.Date(2026, 6, 10, 2, 0, 0, 0, berlin)
	addSchedule(t, db, "unna", scheduler.KindExport, "0 2 * * *", 0, last)
	c := &clock{t: time.Date(2026, 6, 13, 9, 15, 0, 0, berlin)}
	s, _ := newScheduler(t, db, c, exportAction(record(db, "")), nil)
	if n := runDue(t, s); n != 1 {
		t.Fatalf("ran %d jobs on start, want 1", n)
	}
	if n := runDue(t, s); n != 0 {
		t.Fatalf("ran %d more jobs, want 0", n)
	}
	ex := executions(t, db)
	if want := time.Date(2026, 6, 13, 2, 0, 0, 0, berlin); len(ex) != 1 || !ex[0].ScheduledFor.Equal(want) {
		t.Fatalf("executions %v, want one for %s", ex, want)
	}
}

// TestFailingJobRetriedThenFailed: attempts at t0, t0+1m, t0+3m (backoff
// 1m, 2m), then the job is failed, counted and listed with its error.
func TestFailingJobRetriedThenFailed(t *testing.T) {
	t.Parallel()
	db := setup(t, "unna")
	t0 := time.Date(2026, 6, 10, 2, 0, 0, 0, berlin)
	addSchedule(t, db, "unna", scheduler.KindExport, "0 2 * * *", 0, t0.Add(-time.Hour))
	c := &clock{t: t0}
	calls := 0
	s, reg := newScheduler(t, db, c, exportAction(func(context.Context) error {
		calls++
		return errors.New("bank share unreachable")
	}), func(cfg *scheduler.Config) { cfg.MaxAttempts = 3; cfg.RetryBase = time.Minute })
	for _, step := range []struct {
		after time.Duration
		runs  int
	}{{0, 1}, {30 * time.Second, 0}, {time.Minute, 1}, {2*time.Minute + 59*time.Second, 0}, {3 * time.Minute, 1}, {time.Hour, 0}} {
		c.Set(t0.Add(step.after))
		if n := runDue(t, s); n != step.runs {
			t.Errorf("at t0+%s: ran %d, want %d", step.after, n, step.runs)
		}
	}
	js := jobRows(t, db)
	if len(js) != 1 || js[0].State != "failed" || js[0].Attempts != 3 || !strings.Contains(js[0].Error, "bank share unreachable") {
		t.Fatalf("jobs = %+v, want one failed after 3 attempts with the error", js)
	}
	if calls != 3 {
		t.Errorf("body called %d times, want 3", calls)
	}
	if v := metricValue(t, reg, "payrun_scheduler_job_failures_total", nil); v != 1 {
		t.Errorf("payrun_scheduler_job_failures_total = %v, want 1", v)
	}
}

// TestLeaseExpiryRetries: an instance claims a job and dies (never
// finishes, never extends its lease); after the lease another instance
// runs it, and the dead instance's late result is not recorded.
func TestLeaseExpiryRetries(t *testing.T) {
	t.Parallel()
	db := setup(t, "unna")
	t0 := time.Date(2026, 6, 10, 2, 0, 0, 0, berlin)
	addSchedule(t, db, "unna", scheduler.KindExport, "0 2 * * *", 0, t0.Add(-time.Hour))
	c := &clock{t: t0}
	started, release := make(chan struct{}), make(chan struct{})
	dead, _ := newScheduler(t, db, c, exportAction(func(context.Context) error {
		close(started)
		<-release
		return nil
	}), func(cfg *scheduler.Config) { cfg.Lease = time.Minute; cfg.InstanceID = "dead" })
	live, _ := newScheduler(t, db, c, exportAction(record(db, "live")), func(cfg *scheduler.Config) { cfg.InstanceID = "live" })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	if err := dead.Tick(ctx, ctx, &wg); err != nil {
		t.Fatal(err)
	}
	<-started
	c.Set(t0.Add(59 * time.Second))
	if n := runDue(t, live); n != 0 {
		t.Fatalf("live ran %d jobs while the lease held", n)
	}
	c.Set(t0.Add(61 * time.Second))
	if n := runDue(t, live); n != 1 {
		t.Fatalf("live ran %d jobs after the lease expired, want 1", n)
	}
	close(release)
	wg.Wait()
	js := jobRows(t, db)
	if len(js) != 1 || js[0].State != "succeeded" || js[0].Attempts != 2 || js[0].ClaimedBy != "live" {
		t.Fatalf("jobs = %+v, want succeeded by live on attempt 2", js)
	}
	if ex := executions(t, db); len(ex) != 1 {
		t.Fatalf("executions = %v, want 1", ex)
	}
}

// TestMonthlyRunWindow: the nightly job asks for the coming period only
// within 10 business days of its execution date (30 Apr 2026 for May).
func TestMonthlyRunWindow(t *testing.T) {
	t.Parallel()
	db := setup(t, "unna")
	start := time.Date(2026, 4, 5, 12, 0, 0, 0, berlin)
	addSchedule(t, db, "unna", scheduler.KindMonthlyRun, "0 2 * * *", 10, start)
	c := &clock{t: start}
	var calls []string
	s, _ := newScheduler(t, db, c, scheduler.Actions{
		MonthlyRunFunc: func(ctx context.Context, m string, p payrun.Month) (string, error) {
			calls = append(calls, fmt.Sprintf("%s %s", payrun.DateOf(c.Now().In(berlin)), p))
			return "proposed run recomputed", nil
		}}, nil)
	for d := start.AddDate(0, 0, 1); d.Before(time.Date(2026, 5, 2, 12, 0, 0, 0, berlin)); d = d.AddDate(0, 0, 1) {
		c.Set(d)
		if n := runDue(t, s); n != 1 {
			t.Fatalf("%s: ran %d jobs, want 1", d, n)
		}
	}
	if len(calls) != 15 || calls[0] != "2026-04-16 2026-05" || calls[14] != "2026-04-30 2026-05" {
		t.Fatalf("calls = %v, want 2026-04-16 … 2026-04-30 for 2026-05", calls)
	}
	skipped := 0
	for _, j := range jobRows(t, db) {
		if strings.HasPrefix(j.Outcome, "skipped") {
			skipped++
		}
	}
	if skipped != 26-15 {
		t.Errorf("%d skipped jobs, want %d", skipped, 26-15)
	}
}

// TestRemindersStoredAsOutput: the reminder list is the job's output.
func TestRemindersStoredAsOutput(t *testing.T) {
	t.Parallel()
	db := setup(t, "unna")
	start := time.Date(2026, 4, 27, 6, 0, 0, 0, berlin) // Monday
	addSchedule(t, db, "unna", scheduler.KindReminders, "0 7 * * *", 2, start)
	c := &clock{t: start.Add(time.Hour)}
	var gotUntil payrun.Date
	s, _ := newScheduler(t, db, c, scheduler.Actions{
		RemindersFunc: func(ctx context.Context, m string, until payrun.Date) ([]scheduler.Reminder, error) {
			gotUntil = until
			return []scheduler.Reminder{{RunID: 42, Period: payrun.MonthOf(2026, 5), State: "established", ExecutionDate: payrun.NewDate(2026, 4, 29)}}, nil
		}}, nil)
	runDue(t, s)
	if want := payrun.NewDate(2026, 4, 29); gotUntil != want {
		t.Errorf("until = %s, want %s (two business days after Monday)", gotUntil, want)
	}
	js := jobRows(t, db)
	var rs []scheduler.Reminder
	if len(js) != 1 || json.Unmarshal(js[0].Output, &rs) != nil || len(rs) != 1 || rs[0].RunID != 42 {
		t.Fatalf("jobs = %+v, want one with the reminder of run 42 as output", js)
	}
}

// TestShutdownLetsRunningJobFinish: Run stops claiming on cancel and
// returns after the running job has finished and been recorded.
func TestShutdownLetsRunningJobFinish(t *testing.T) {
	t.Parallel()
	db := setup(t, "unna")
	t0 := time.Date(2026, 6, 10, 2, 0, 0, 0, berlin)
	addSchedule(t, db, "unna", scheduler.KindExport, "0 2 * * *", 0, t0.Add(-time.Hour))
	c := &clock{t: t0}
	started, release := make(chan struct{}), make(chan struct{})
	s, reg := newScheduler(t, db, c, exportAction(func(ctx context.Context) error {
		close(started)
		<-release
		return record(db, "")(ctx)
	}), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	<-started
	cancel()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if js := jobRows(t, db); len(js) != 1 || js[0].State != "succeeded" {
		t.Fatalf("jobs = %+v, want one succeeded", js)
	}
	if v := metricValue(t, reg, "payrun_scheduler_job_runs_total", map[string]string{"outcome": "succeeded"}); v != 1 {
		t.Errorf("succeeded runs counted %v, want 1", v)
	}
}

// TestShutdownTimeoutInterruptsJob: a job still running at the shutdown
// bound is cancelled and goes back to pending without losing an attempt.
func TestShutdownTimeoutInterruptsJob(t *testing.T) {
	t.Parallel()
	db := setup(t, "unna")
	t0 := time.Date(2026, 6, 10, 2, 0, 0, 0, berlin)
	addSchedule(t, db, "unna", scheduler.KindExport, "0 2 * * *", 0, t0.Add(-time.Hour))
	c := &clock{t: t0}
	started := make(chan struct{})
	s, _ := newScheduler(t, db, c, exportAction(func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}), func(cfg *scheduler.Config) { cfg.ShutdownTimeout = time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	js := jobRows(t, db)
	if len(js) != 1 || js[0].State != "pending" || js[0].MaxAttempts != scheduler.DefaultMaxAttempts+1 {
		t.Fatalf("jobs = %+v, want one pending with an extra attempt", js)
	}
}
