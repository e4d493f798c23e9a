package main

// The process mode of payrun bench (--processes): the night's work is done
// by real `payrun worker` child processes through the scheduler, as in
// production, and the bench only signs and watches.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/export"
	"github.com/payrun/payrun/payrun/runs"
	"github.com/payrun/payrun/payrun/store"
	"github.com/payrun/payrun/scheduler"
)

// benchProcsConfig configures --processes.
type benchProcsConfig struct {
	jobs int           // jobs each worker runs at once (worker --max-jobs)
	tick time.Duration // the workers' scheduler tick
}

// benchProcess is one worker process of --processes and the work it did,
// from the jobs table (claimed_by).
type benchProcess struct {
	Instance      string  `json:"instance"`
	PID           int     `json:"pid"`
	PeakRSSMiB    float64 `json:"peak_rss_mib"` // VmHWM, read just before the bench stopped it
	Jobs          int     `json:"jobs"`         // every job it ran, including exports that found nothing
	RunsCreated   int     `json:"runs_created"`
	CreateSeconds float64 `json:"create_seconds"` // Σ of its run-creation jobs
	RunsExported  int     `json:"runs_exported"`
	ExportSeconds float64 `json:"export_seconds"` // Σ of its export jobs that exported a run
}

// Timing of the process mode.
const (
	benchPoll        = 50 * time.Millisecond // how often the bench looks at runs and jobs
	benchStopTimeout = 30 * time.Second      // SIGTERM → SIGKILL
	benchLogTail     = 8 << 10               // bytes of a failed worker's log in the error
	// benchWorkerShutdown is the workers' --shutdown-timeout: when the
	// bench is interrupted, their running jobs are cancelled after it.
	benchWorkerShutdown = 5 * time.Second
)

// benchFakeStart is the workers' clock at their start: 02:00 in Berlin,
// six days before the bench period, when the default monthly_run schedule
// ("0 2 * * *", 10 business days before the execution date) creates the
// run for the period. The clock runs at real speed, so durations in the
// jobs table are real.
func benchFakeStart() (time.Time, error) {
	berlin, err := time.LoadLocation(scheduler.Zone)
	if err != nil {
		return time.Time{}, fmt.Errorf("bench: %w", err)
	}
	d := benchPeriod.First().Time(time.UTC).AddDate(0, 0, -6)
	return time.Date(d.Year(), d.Month(), d.Day(), 2, 0, 0, 0, berlin), nil
}

// runProcesses is the run path of --processes: it prepares the schedules,
// starts n workers, waits until they are connected and enables the
// monthly_run schedules of keys; it signs each proposed run as the bench
// users and then enables the municipality's export schedule; when every
// run is exported it reads the workers' peak RSS, stops them and checks
// the results.
func (b *bench) runProcesses(ctx context.Context, keys []string, n int) error {
	start, err := benchFakeStart()
	if err != nil {
		return err
	}
	if err := b.prepareSchedules(ctx, start); err != nil {
		return err
	}
	exportDir := filepath.Join(b.dir, "out")
	epoch := time.Now()
	clock := func() time.Time { return start.Add(time.Since(epoch)) } // ahead of the workers' by their start-up
	f, err := b.startWorkers(n, exportDir, start)
	if err != nil {
		return err
	}
	defer f.stop() // on failure or interruption; a no-op after the stop below
	if err := b.awaitWorkers(ctx, f); err != nil {
		return err
	}
	ready := time.Since(epoch)
	if err := b.exec(ctx, `UPDATE schedules SET enabled = true WHERE kind = 'monthly_run' AND municipality = ANY($1)`, keys); err != nil {
		return fmt.Errorf("bench: enable monthly runs: %w", err)
	}
	sign, err := b.awaitNight(ctx, f, keys, clock)
	if err != nil {
		return err
	}
	wall := time.Since(epoch)
	for _, c := range f.children {
		c.rss = vmHWM(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	}
	if err := f.stop(); err != nil {
		return err
	}
	return b.finishProcesses(ctx, f, keys, exportDir, ready, sign, wall)
}

// exec runs one statement across municipalities.
func (b *bench) exec(ctx context.Context, sql string, args ...any) error {
	return b.db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
}

// prepareSchedules gives every municipality a disabled schedule of each
// job kind, so that the workers plan nothing of their own defaults, all
// last planned a day and a minute before the workers' clock starts. The
// bench enables the monthly runs (02:00 daily: due at once) once the
// workers are up, and a municipality's export schedule once its run is
// released. That schedule is 03:00 of the day before the clock's start,
// yearly: one missed occurrence, which the scheduler plans once (catch-up)
// however long the bench takes. (A more frequent export schedule lets two
// export jobs of one municipality overlap on two workers; export.Run does
// not support concurrent exports into one directory.)
func (b *bench) prepareSchedules(ctx context.Context, start time.Time) error {
	eve := start.AddDate(0, 0, -1)
	exportSpec := fmt.Sprintf("0 3 %d %d *", eve.Day(), int(eve.Month()))
	err := b.exec(ctx, `INSERT INTO schedules (municipality, kind, spec, enabled, business_days, last_planned_at)
		SELECT m.key, k.kind, k.spec, false, k.days, $1 FROM municipalities m,
			(VALUES ('monthly_run', $2, $3::int), ('supplementary_run', $4, 0), ('export', $5, 0), ('reminders', $6, 0)) AS k(kind, spec, days)
		WHERE m.kind = 'municipality'
		ON CONFLICT (municipality, kind) DO UPDATE SET spec = EXCLUDED.spec, enabled = false,
			business_days = EXCLUDED.business_days, last_planned_at = EXCLUDED.last_planned_at`,
		eve.Add(-time.Minute), scheduler.DefaultMonthlyRunSpec, scheduler.DefaultMonthlyRunLeadDays,
		scheduler.DefaultSupplementarySpec, exportSpec, scheduler.DefaultRemindersSpec)
	if err != nil {
		return fmt.Errorf("bench: schedules: %w", err)
	}
	return nil
}

// benchChild is one `payrun worker` child process.
type benchChild struct {
	name string
	cmd  *exec.Cmd
	log  string        // its stderr, a file in the bench directory
	done chan struct{} // closed when it has exited
	err  error         // of Wait, once done
	rss  float64       // VmHWM in MiB, read before it was stopped
}

// tail returns the end of the child's log.
func (c *benchChild) tail() string {
	f, err := os.Open(c.log)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > benchLogTail {
		_, _ = f.Seek(fi.Size()-benchLogTail, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return strings.TrimSpace(string(b))
}

// failure describes a child that exited while the bench still needed it.
func (c *benchChild) failure() error {
	return fmt.Errorf("bench: worker %s (pid %d) exited: %v; its log ends:\n%s", c.name, c.cmd.Process.Pid, c.err, c.tail())
}

// benchFleet is the bench's worker processes.
type benchFleet struct {
	children []*benchChild
	exited   chan *benchChild // each child once, when it exits
	stopped  bool
}

// startWorkers starts n `payrun worker` processes of this binary against
// the bench's database, with the fake clock at start and the export
// directory dir. Each is named bench-N in the jobs table and in
// pg_stat_activity (application_name).
func (b *bench) startWorkers(n int, dir string, start time.Time) (*benchFleet, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	f := &benchFleet{exited: make(chan *benchChild, n)}
	for i := 1; i <= n; i++ {
		c := &benchChild{name: fmt.Sprintf("bench-%d", i), done: make(chan struct{})}
		c.log = filepath.Join(b.dir, c.name+".log")
		logf, err := os.Create(c.log)
		if err != nil {
			_ = f.stop()
			return nil, fmt.Errorf("bench: %w", err)
		}
		c.cmd = exec.Command(exe, "--log-format", b.env.LogFormat, "--log-level", b.env.LogLevel, "worker",
			"--instance", c.name, "--tick", b.procs.tick.String(), "--max-jobs", strconv.Itoa(b.procs.jobs),
			"--shutdown-timeout", benchWorkerShutdown.String(), "--export-dir", dir)
		c.cmd.Env = append(os.Environ(),
			"PAYRUN_DATABASE_URL="+b.srv.URL("payrun"), "PAYRUN_OWNER_DATABASE_URL=",
			"PAYRUN_HOME="+filepath.Join(b.dir, c.name), "PGAPPNAME="+c.name,
			"PAYRUN_FAKE_NOW="+start.Format(time.RFC3339), "PAYRUN_FAKE_SPEED=1")
		c.cmd.Stdout, c.cmd.Stderr = logf, logf
		c.cmd.SysProcAttr = childProcAttr()
		err = c.cmd.Start()
		logf.Close() // the child has its own descriptor
		if err != nil {
			_ = f.stop()
			return nil, fmt.Errorf("bench: start worker %s: %w", c.name, err)
		}
		f.children = append(f.children, c)
		go func() {
			c.err = c.cmd.Wait()
			close(c.done)
			f.exited <- c
		}()
	}
	return f, nil
}

// stop sends SIGTERM to the children still running, kills those that have
// not exited after benchStopTimeout, and reports a child that did not exit
// with 0 (after SIGTERM, a worker finishes its jobs and exits 0).
func (f *benchFleet) stop() error {
	if f.stopped {
		return nil
	}
	f.stopped = true
	for _, c := range f.children {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	deadline := time.NewTimer(benchStopTimeout)
	defer deadline.Stop()
	var errs []error
	for _, c := range f.children {
		select {
		case <-c.done:
		case <-deadline.C:
			_ = c.cmd.Process.Kill()
			<-c.done
			errs = append(errs, fmt.Errorf("bench: worker %s did not stop within %s after SIGTERM; killed", c.name, benchStopTimeout))
			continue
		}
		if c.err != nil {
			errs = append(errs, c.failure())
		}
	}
	return errors.Join(errs...)
}

// awaitWorkers waits until every worker has a database connection, named
// by its application_name.
func (b *bench) awaitWorkers(ctx context.Context, f *benchFleet) error {
	names := make([]string, len(f.children))
	for i, c := range f.children {
		names[i] = c.name
	}
	t := time.NewTicker(benchPoll / 5)
	defer t.Stop()
	for {
		var up int
		err := b.db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(DISTINCT application_name) FROM pg_stat_activity
				WHERE application_name = ANY($1)`, names).Scan(&up)
		})
		if err != nil {
			return fmt.Errorf("bench: wait for workers: %w", err)
		}
		if up == len(names) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case c := <-f.exited:
			return c.failure()
		case <-t.C:
		}
	}
}

// benchRun is a monthly run of the period as the bench watches it.
type benchRun struct {
	municipality string
	id           int64
	state        payrun.RunState
	digest       []byte
}

// awaitNight watches runs and jobs until every municipality of keys has
// exported its monthly run of the period. It signs each proposed run as
// the bench's checker and approver (at the fake time of clock) and then
// enables that municipality's export schedule. It fails on a failed job
// attempt, a monthly job that created no run, or an exited worker. It
// returns the time spent signing.
func (b *bench) awaitNight(ctx context.Context, f *benchFleet, keys []string, clock func() time.Time) (time.Duration, error) {
	var signing time.Duration
	signed := map[string]bool{}
	t := time.NewTicker(benchPoll)
	defer t.Stop()
	for {
		if err := b.jobProblem(ctx); err != nil {
			return 0, err
		}
		rs, err := b.benchRuns(ctx, keys)
		if err != nil {
			return 0, err
		}
		exported := 0
		for _, r := range rs {
			switch {
			case r.state == payrun.RunExported:
				exported++
			case r.state == payrun.RunProposed && !signed[r.municipality]:
				s := time.Now()
				if err := b.signAndRelease(ctx, r, clock); err != nil {
					return 0, err
				}
				signing += time.Since(s)
				signed[r.municipality] = true
			}
		}
		if exported == len(keys) {
			return signing, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case c := <-f.exited:
			return 0, c.failure()
		case <-t.C:
		}
	}
}

// jobProblem returns an error for the first job whose attempt failed (or
// was lost or interrupted), and for a monthly run job that created no run.
func (b *bench) jobProblem(ctx context.Context) error {
	var m, kind, state, outcome, errText, by string
	var id int64
	err := b.db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT municipality, id, kind, state, coalesce(outcome, ''), coalesce(error, ''), coalesce(claimed_by, '')
			FROM jobs WHERE error IS NOT NULL OR state = 'failed'
				OR (kind = 'monthly_run' AND state = 'succeeded' AND outcome NOT LIKE 'created %')
			ORDER BY id LIMIT 1`).Scan(&m, &id, &kind, &state, &outcome, &errText, &by)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bench: jobs: %w", err)
	}
	return fmt.Errorf("bench: %s job %d of %s (worker %s) %s, outcome %q: %s", kind, id, m, by, state, outcome, errText)
}

// benchRuns returns the monthly runs of the period of keys.
func (b *bench) benchRuns(ctx context.Context, keys []string) ([]benchRun, error) {
	var out []benchRun
	err := b.db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT municipality, id, state, digest FROM runs
			WHERE period = $1 AND kind = 'monthly' AND municipality = ANY($2) AND state <> 'cancelled'`,
			benchPeriod.First().Time(time.UTC), keys)
		if err != nil {
			return err
		}
		var r benchRun
		_, err = pgx.ForEachRow(rows, []any{&r.municipality, &r.id, &r.state, &r.digest}, func() error {
			out = append(out, r)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("bench: runs: %w", err)
	}
	return out, nil
}

// signAndRelease gives run r its two signatures and enables its
// municipality's export schedule (see prepareSchedules).
func (b *bench) signAndRelease(ctx context.Context, r benchRun, clock func() time.Time) error {
	for _, login := range []string{"checker", "approver"} {
		if _, err := runs.Sign(ctx, b.db, benchToken(r.municipality, login), r.id, fmt.Sprintf("%x", r.digest), clock()); err != nil {
			return fmt.Errorf("bench: sign run %d of %s as %s: %w", r.id, r.municipality, login, err)
		}
	}
	err := b.exec(ctx, `UPDATE schedules SET enabled = true WHERE municipality = $1 AND kind = 'export'`, r.municipality)
	if err != nil {
		return fmt.Errorf("bench: enable export of %s: %w", r.municipality, err)
	}
	return nil
}

// finishProcesses records the stages and the per-process work of the jobs
// table, checks that every run was exported exactly once, and reconciles
// the files the workers wrote.
func (b *bench) finishProcesses(ctx context.Context, f *benchFleet, keys []string, exportDir string, ready, sign, wall time.Duration) error {
	rs, err := b.benchRuns(ctx, keys)
	if err != nil {
		return err
	}
	var (
		summaries = make([]store.RunSummary, len(rs))
		manifests = make([]export.Manifest, len(rs))
		dirs      = make([]string, len(rs))
		lines     int64
		txs       int64
	)
	for i, r := range rs {
		s := &summaries[i]
		var exports int
		err := b.db.WithTx(ctx, r.municipality, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT line_count, (total * 100)::bigint,
					(SELECT count(*) FROM exports e WHERE e.municipality = r.municipality AND e.run_id = r.id)
				FROM runs r WHERE municipality = $1 AND id = $2`, r.municipality, r.id).Scan(&s.Lines, &s.Total, &exports)
		})
		if err != nil {
			return fmt.Errorf("bench: run %d: %w", r.id, err)
		}
		if exports != 1 {
			return fmt.Errorf("bench: run %d of %s was exported %d times", r.id, r.municipality, exports)
		}
		s.ID, s.Municipality = r.id, r.municipality
		dirs[i] = filepath.Join(exportDir, r.municipality, strconv.FormatInt(r.id, 10))
		raw, err := os.ReadFile(filepath.Join(dirs[i], export.ManifestName))
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		if err := json.Unmarshal(raw, &manifests[i]); err != nil {
			return fmt.Errorf("bench: manifest of run %d: %w", r.id, err)
		}
		lines += s.Lines
		for _, f := range manifests[i].Files {
			txs += int64(f.Transactions)
		}
	}
	procs, err := b.processWork(ctx, f)
	if err != nil {
		return err
	}
	var create, exp float64
	var created, exported int
	maxRSS := 0.0
	for _, p := range procs {
		create, exp = create+p.CreateSeconds, exp+p.ExportSeconds
		created, exported = created+p.RunsCreated, exported+p.RunsExported
		maxRSS = max(maxRSS, p.PeakRSSMiB)
	}
	if created != len(keys) || exported != len(keys) {
		return fmt.Errorf("bench: the workers' jobs created %d and exported %d runs, want %d each", created, exported, len(keys))
	}
	b.res.Processes = procs
	seconds := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	b.stage(ctx, "workers up (start → connected)", ready, int64(len(procs)))
	b.stage(ctx, "run create (Σ of worker jobs)", seconds(create), lines)
	b.stage(ctx, "sign ×2 (Σ, bench)", sign, int64(2*len(keys)))
	b.stage(ctx, "export (Σ of worker jobs)", seconds(exp), txs)
	b.stage(ctx, fmt.Sprintf("run path wall (%d processes)", len(procs)), wall, lines)
	// The run work happened in the workers: their largest VmHWM.
	for i := len(b.res.Stages) - 4; i < len(b.res.Stages); i++ {
		b.res.Stages[i].PeakRSSMiB = maxRSS
	}
	b.res.RunPathSeconds = wall.Seconds()
	b.res.Lines = lines
	return b.reconcile(ctx, dirs, summaries, manifests)
}

// processWork sums up, per worker, the jobs it ran (jobs.claimed_by); the
// workers' clocks run at real speed, so job durations are real.
func (b *bench) processWork(ctx context.Context, f *benchFleet) ([]benchProcess, error) {
	procs := map[string]*benchProcess{}
	var out []benchProcess
	err := b.db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT claimed_by, kind, outcome, extract(epoch FROM finished_at - started_at)::float8
			FROM jobs WHERE state = 'succeeded' ORDER BY id`)
		if err != nil {
			return err
		}
		var by, kind, outcome string
		var secs float64
		_, err = pgx.ForEachRow(rows, []any{&by, &kind, &outcome, &secs}, func() error {
			p := procs[by]
			if p == nil {
				p = &benchProcess{Instance: by}
				procs[by] = p
			}
			p.Jobs++
			switch {
			case kind == string(scheduler.KindMonthlyRun):
				p.RunsCreated++
				p.CreateSeconds += secs
			case kind == string(scheduler.KindExport) && strings.HasPrefix(outcome, "exported"):
				p.RunsExported += strings.Count(outcome, "run ")
				p.ExportSeconds += secs
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("bench: jobs: %w", err)
	}
	for _, c := range f.children {
		p := procs[c.name]
		if p == nil {
			p = &benchProcess{Instance: c.name}
		}
		p.PID, p.PeakRSSMiB = c.cmd.Process.Pid, c.rss
		out = append(out, *p)
	}
	return out, nil
}
