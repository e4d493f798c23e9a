package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/payrun/payrun/fixtures"
	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/export"
	"github.com/payrun/payrun/payrun/runs"
	"github.com/payrun/payrun/payrun/store"
	"github.com/payrun/payrun/payrun/store/storetest"
	"github.com/payrun/payrun/payrun/web"
	"github.com/payrun/payrun/scheduler"
	"github.com/payrun/payrun/sepa/bankday"
)

// fakeClock is a settable clock shared with the scheduler.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// pipeline is the nightly pipeline under test: the fixtures, n generated
// cases of unna, the scheduler with the real job bodies on a fake clock,
// and the HTTP server sharing the scheduler's metrics registry.
type pipeline struct {
	db        *store.DB
	clock     *fakeClock
	sched     *scheduler.Scheduler
	srv       *httptest.Server
	exportDir string
	decisions []payrun.Decision
	berlin    *time.Location
}

func newPipeline(t *testing.T, cases int) *pipeline {
	t.Helper()
	ctx := context.Background()
	berlin, err := time.LoadLocation("Europe/Berlin")
	check(t, err)
	p := &pipeline{db: storetest.NewDB(t), clock: &fakeClock{}, exportDir: t.TempDir(), berlin: berlin}
	_, err = loadFixtures(ctx, p.db, 0, 1)
	check(t, err)
	// An approver whose limit covers the generated arrears.
	_, err = p.db.EnsureUser(ctx, payrun.User{Municipality: "unna", Login: "amtsleitung", DisplayName: "Amtsleitung",
		Roles: []payrun.RoleGrant{{Role: payrun.RoleApprover, Limit: 100_000_000_00}}}, "", "test-unna-amtsleitung", time.Now())
	check(t, err)
	for d := range fixtures.Generate(7, cases, "unna") {
		p.decisions = append(p.decisions, d)
	}
	p.importDecisions(t, p.decisions...)
	reg := prometheus.NewRegistry()
	p.sched, err = scheduler.New(scheduler.Config{
		DB: p.db, Log: zaptest.NewLogger(t), NowFunc: p.clock.Now, Calendar: bankday.Calendar{NRW: true}, Registerer: reg,
		Actions: schedulerActions(p.db, actionsConfig{ExportDir: p.exportDir, Log: zaptest.NewLogger(t), Now: p.clock.Now}),
	})
	check(t, err)
	s, err := web.New(p.db, zaptest.NewLogger(t), reg)
	check(t, err)
	p.srv = httptest.NewServer(s.Handler())
	t.Cleanup(p.srv.Close)
	return p
}

func check(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func (p *pipeline) importDecisions(t *testing.T, ds ...payrun.Decision) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range ds {
		check(t, enc.Encode(&ds[i]))
	}
	_, err := p.db.Import(context.Background(), &buf, store.ImportOptions{Actor: "test", Now: p.clock.Now})
	check(t, err)
}

// at is a time in November 2026, Berlin.
func (p *pipeline) at(day, hour, minute int) time.Time {
	return time.Date(2026, time.November, day, hour, minute, 0, 0, p.berlin)
}

// runAt sets the clock and runs the due jobs; it returns how many ran.
func (p *pipeline) runAt(t *testing.T, at time.Time) int {
	t.Helper()
	p.clock.Set(at)
	n, err := p.sched.RunDue(context.Background())
	check(t, err)
	return n
}

// night runs the jobs of one night in schedule order: monthly run 02:00,
// supplementary run 02:30, export 03:00, reminders 07:00.
func (p *pipeline) night(t *testing.T, day int) {
	t.Helper()
	for _, hm := range [][2]int{{2, 5}, {2, 35}, {3, 5}, {7, 5}} {
		p.runAt(t, p.at(day, hm[0], hm[1]))
	}
}

// lastJob returns the latest job of kind in unna; it must have succeeded.
func (p *pipeline) lastJob(t *testing.T, kind scheduler.Kind) scheduler.JobInfo {
	t.Helper()
	js, err := scheduler.ListJobs(context.Background(), p.db, scheduler.ListOptions{Municipality: "unna", Kind: kind, Limit: 1})
	check(t, err)
	if len(js) == 0 {
		t.Fatalf("no %s job", kind)
	}
	if js[0].State != "succeeded" {
		t.Fatalf("%s job %d: %s, error %q", kind, js[0].ID, js[0].State, js[0].Error)
	}
	return js[0]
}

type runInfo struct {
	ID     int64
	Kind   payrun.RunKind
	State  payrun.RunState
	Digest string
}

// runsOf lists unna's runs in id order.
func (p *pipeline) runsOf(t *testing.T) []runInfo {
	t.Helper()
	ctx := context.Background()
	var out []runInfo
	check(t, p.db.WithTx(ctx, "unna", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, kind, state, coalesce(encode(digest, 'hex'), '') FROM runs WHERE municipality = 'unna' ORDER BY id`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (runInfo, error) {
			var x runInfo
			return x, r.Scan(&x.ID, &x.Kind, &x.State, &x.Digest)
		})
		return err
	}))
	return out
}

// successor returns a decision superseding the case's open decision from
// 2026-12-01 with the rent raised by raise; the case is one with housing,
// no income and no offset, not used yet (skip).
func (p *pipeline) successor(t *testing.T, raise payrun.Cents, skip map[string]bool) payrun.Decision {
	t.Helper()
	dec := payrun.MonthOf(2026, time.December).First()
	open := map[string]payrun.Decision{}
	superseded := map[string]bool{}
	for _, d := range p.decisions {
		for _, s := range d.Supersedes {
			superseded[s] = true
		}
	}
	for _, d := range p.decisions {
		if !superseded[d.DecisionID] && d.ValidTo == nil && d.Housing != nil && d.CountableIncome == 0 && d.Offset == nil &&
			d.ValidFrom < dec && !skip[d.CaseID] {
			open[d.CaseID] = d
		}
	}
	for _, d := range open {
		n := d
		h := *d.Housing
		h.Rent += raise
		n.Housing = &h
		n.DecisionID = d.DecisionID + "-T"
		n.Supersedes = []string{d.DecisionID}
		n.ValidFrom = dec
		skip[d.CaseID] = true
		p.decisions = append(p.decisions, n)
		return n
	}
	t.Fatal("no case with housing, no income and no offset among the generated cases")
	return payrun.Decision{}
}

// TestNightlyPipeline drives a month of nights with an injected clock:
// the monthly run appears within its window, is recomputed when a decision
// changes, is frozen by the first signature, is exported once after
// release, and a change after the first signature is paid by the next
// supplementary run.
func TestNightlyPipeline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPipeline(t, 40)
	used := map[string]bool{}

	// Start the scheduler on Thursday 12 November: default schedules from now.
	p.runAt(t, p.at(12, 22, 0))
	// Night to Friday 13: before the window (10 business days before the
	// execution date 2026-11-30 begin on Monday 16): no run.
	p.night(t, 13)
	if j := p.lastJob(t, scheduler.KindMonthlyRun); !strings.HasPrefix(j.Outcome, "skipped") {
		t.Errorf("monthly job before the window: %q", j.Outcome)
	}
	if rs := p.runsOf(t); len(rs) != 0 {
		t.Fatalf("runs before the window: %+v", rs)
	}

	// Monday 16: the run appears.
	p.night(t, 16)
	rs := p.runsOf(t)
	if len(rs) != 1 || rs[0].Kind != payrun.RunMonthly || rs[0].State != payrun.RunProposed || rs[0].Digest == "" {
		t.Fatalf("after the first night in the window: %+v", rs)
	}
	monthly := rs[0]

	// A decision changes during the day; the next night recomputes the run
	// under its id.
	p.clock.Set(p.at(16, 11, 0))
	p.importDecisions(t, p.successor(t, 50_00, used))
	p.night(t, 17)
	if j := p.lastJob(t, scheduler.KindMonthlyRun); !strings.HasPrefix(j.Outcome, "recomputed") {
		t.Errorf("monthly job after a change: %q", j.Outcome)
	}
	rs = p.runsOf(t)
	if len(rs) != 1 || rs[0].ID != monthly.ID || rs[0].Digest == monthly.Digest || rs[0].State != payrun.RunProposed {
		t.Fatalf("after the change: %+v, want run %d with a new digest", rs, monthly.ID)
	}
	monthly = rs[0]

	// The first signature freezes it: the next night changes nothing.
	p.clock.Set(p.at(17, 10, 0))
	_, err := runs.Sign(ctx, p.db, "demo-unna-pruefer", monthly.ID, monthly.Digest, p.clock.Now())
	check(t, err)
	p.night(t, 18)
	rs = p.runsOf(t)
	if len(rs) != 1 || rs[0].ID != monthly.ID || rs[0].Digest != monthly.Digest || rs[0].State != payrun.RunEstablished {
		t.Fatalf("after the first signature and a night: %+v", rs)
	}
	if j := p.lastJob(t, scheduler.KindSupplementaryRun); !strings.Contains(j.Outcome, "nothing to pay") {
		t.Errorf("supplementary job without changes: %q", j.Outcome)
	}

	// Released, and a change after the first signature.
	p.clock.Set(p.at(18, 10, 0))
	_, err = runs.Sign(ctx, p.db, "test-unna-amtsleitung", monthly.ID, monthly.Digest, p.clock.Now())
	check(t, err)
	changed := p.successor(t, 100_00, used)
	p.importDecisions(t, changed)
	p.night(t, 19)
	rs = p.runsOf(t)
	if len(rs) != 2 || rs[0].State != payrun.RunExported || rs[1].Kind != payrun.RunSupplementary || rs[1].State != payrun.RunProposed {
		t.Fatalf("after release, a change and a night: %+v, want the monthly run exported and a proposed supplementary run", rs)
	}
	supp := rs[1]
	manifest := filepath.Join(p.exportDir, "unna", strconv.FormatInt(monthly.ID, 10), export.ManifestName)
	first, err := os.ReadFile(manifest)
	check(t, err)
	if j := p.lastJob(t, scheduler.KindExport); !strings.Contains(j.Outcome, "run "+strconv.FormatInt(monthly.ID, 10)) {
		t.Errorf("export job: %q", j.Outcome)
	}

	// The supplementary run pays exactly the change: the raised rent for
	// December of the changed case.
	var total payrun.Cents
	check(t, p.db.StreamRunLines(ctx, "unna", supp.ID, func(l *store.RunLine) error {
		if l.CaseID != changed.CaseID || l.Month != payrun.MonthOf(2026, time.December) {
			t.Errorf("supplementary line of case %s month %s, want only %s 2026-12", l.CaseID, l.Month, changed.CaseID)
		}
		if l.Kind == payrun.LinePayment {
			total += l.Amount
		}
		return nil
	}))
	if total != 100_00 {
		t.Errorf("supplementary run pays %s, want 100.00", total)
	}

	// A second night exports nothing again.
	p.night(t, 20)
	if j := p.lastJob(t, scheduler.KindExport); j.Outcome != "no released runs" {
		t.Errorf("export job of the second night: %q", j.Outcome)
	}
	again, err := os.ReadFile(manifest)
	check(t, err)
	var exports int
	check(t, p.db.WithTx(ctx, "unna", func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM exports WHERE municipality = 'unna'`).Scan(&exports)
	}))
	if exports != 1 || !bytes.Equal(first, again) {
		t.Errorf("after a second night: %d exports, manifest unchanged %v; want 1, true", exports, bytes.Equal(first, again))
	}
	if rs = p.runsOf(t); len(rs) != 2 || rs[1].ID != supp.ID || rs[1].Digest != supp.Digest {
		t.Errorf("supplementary run after an unchanged night: %+v, want run %d digest %s", rs, supp.ID, supp.Digest)
	}

	// Friday 27: the supplementary run waits for release before the
	// execution date (Monday 30): the reminder lists it.
	p.night(t, 27)
	j := p.lastJob(t, scheduler.KindReminders)
	var reminders []scheduler.Reminder
	check(t, json.Unmarshal(j.Output, &reminders))
	if len(reminders) != 1 || reminders[0].RunID != supp.ID || reminders[0].ExecutionDate != payrun.NewDate(2026, time.November, 30) {
		t.Errorf("reminders on the 27th: %+v (outcome %q), want run %d due 2026-11-30", reminders, j.Outcome, supp.ID)
	}

	p.checkEndpoints(t)
}

// checkEndpoints checks /healthz, /readyz and /metrics after the jobs ran.
func (p *pipeline) checkEndpoints(t *testing.T) {
	t.Helper()
	get := func(path string) (int, string) {
		res, err := p.srv.Client().Get(p.srv.URL + path)
		check(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		check(t, err)
		return res.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != http.StatusOK || !strings.Contains(body, "ok") {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, body := get("/readyz"); code != http.StatusOK || !strings.Contains(body, "ready") {
		t.Errorf("/readyz: %d %s", code, body)
	}
	code, body := get("/metrics")
	for _, want := range []string{
		`payrun_scheduler_job_runs_total{kind="monthly_run",outcome="succeeded"}`,
		`payrun_scheduler_job_runs_total{kind="export",outcome="succeeded"}`,
		`payrun_scheduler_job_duration_seconds_count{kind="supplementary_run"}`,
		`payrun_runs{kind="monthly",municipality="unna",state="exported"} 1`,
		`payrun_runs{kind="supplementary",municipality="unna",state="proposed"} 1`,
	} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("/metrics (%d) lacks %s", code, want)
		}
	}
}
