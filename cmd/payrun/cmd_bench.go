package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/payrun/payrun/fixtures"
	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
	"github.com/payrun/payrun/payrun/export"
	"github.com/payrun/payrun/payrun/pgserver"
	"github.com/payrun/payrun/payrun/runs"
	"github.com/payrun/payrun/payrun/store"
)

// benchPeriod is the month the bench's runs pay: after the last generated
// start date (2026-11-30), so every open case pays.
var benchPeriod = payrun.MonthOf(2026, time.December)

// benchStage is one measured stage of the bench.
type benchStage struct {
	Name       string  `json:"name"`
	Seconds    float64 `json:"seconds"`
	Rows       int64   `json:"rows"`
	RowsPerSec float64 `json:"rows_per_sec"`
	PeakRSSMiB float64 `json:"peak_rss_mib"` // VmHWM of the process so far; reset after the import (and vacuum) stages
	DBSizeMiB  float64 `json:"db_size_mib"`
	// CPU seconds (user + system) of payrun and of PostgreSQL in the
	// stage (Linux; the Σ stages only with one worker, where the stages do
	// not overlap).
	PayrunCPU   float64 `json:"payrun_cpu_s,omitempty"`
	PostgresCPU float64 `json:"postgres_cpu_s,omitempty"`
}

// cpuUse is CPU seconds of payrun (self) and of the PostgreSQL server.
type cpuUse struct{ self, server float64 }

func (b *bench) cpuNow() cpuUse {
	pm := 0
	if b.srv != nil {
		pm = b.srv.PID
	}
	self, server := cpuSeconds(pm)
	return cpuUse{self, server}
}

func (c cpuUse) since(o cpuUse) cpuUse { return cpuUse{c.self - o.self, c.server - o.server} }
func (c cpuUse) plus(o cpuUse) cpuUse  { return cpuUse{c.self + o.self, c.server + o.server} }

// timed is a stage's wall time and CPU use, summed over municipalities.
type timed struct {
	wall time.Duration
	cpu  cpuUse
}

// benchResult is the output of payrun bench.
type benchResult struct {
	Cases          int              `json:"cases"`
	Municipalities int              `json:"municipalities"`
	Workers        int              `json:"workers"`
	Mode           string           `json:"mode"` // goroutines, or processes (--processes)
	Period         string           `json:"period"`
	Backlog        bool             `json:"backlog"`
	PreviousMonth  bool             `json:"previous_month"` // --previous-month: the timed run follows a signed month
	Stages         []benchStage     `json:"stages"`
	RunPathSeconds float64          `json:"run_path_seconds"` // run creation to export, wall
	Files          map[string]int64 `json:"file_bytes"`
	Lines          int64            `json:"run_lines"`
	Total          string           `json:"payments_total"`
	Reconciled     bool             `json:"reconciled"`
	// Processes are the worker processes of --processes.
	Processes   []benchProcess `json:"processes,omitempty"`
	ProcessJobs int            `json:"process_jobs,omitempty"` // --process-jobs
	Dir         string         `json:"dir,omitempty"`          // kept with --keep
}

// cmdBench is `payrun bench`: a scratch embedded database, N generated
// cases over K municipalities, import, run creation, two signatures and
// export per municipality; it prints per stage wall time, rows/s, peak
// RSS and database size, and checks that the results reconcile.
func cmdBench(ctx context.Context, env *Env, args []string) error {
	fs := env.flagSet("bench")
	n := fs.Int("cases", 100_000, "generated cases, spread over the municipalities")
	k := fs.Int("municipalities", len(fixtures.MunicipalityKeys), "municipalities (1–6)")
	// one municipality per core by default: the night of a shared data
	// centre uses the machine, and so does its measurement
	workers := fs.Int("workers", runtime.NumCPU(), "municipalities computed and exported concurrently (the default is the number of CPUs)")
	keep := fs.Bool("keep", false, "keep the scratch database and files (else deleted)")
	seed := fs.Int64("seed", 1, "seed of the generator")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run path (run creation to export; with --import-only: of the import) to this file")
	logSlow := fs.Int("log-slow", 0, "milliseconds: PostgreSQL logs statements slower than this in the server log (with --keep)")
	backlog := fs.Bool("backlog", false, "compute every case from its first month (back pay since 2025) instead of the period only")
	previous := fs.Bool("previous-month", false, "first create, sign and export the month before the period (untimed), so the timed runs net against a live month (steady state)")
	importOnly := fs.Bool("import-only", false, "stop after the import stage (no runs, signatures or exports)")
	processes := fs.Bool("processes", false, "run creation and export by W `payrun worker` child processes through the scheduler (W = --workers) instead of W goroutines")
	processJobs := fs.Int("process-jobs", 1, "with --processes: jobs each worker process runs at once (its --max-jobs)")
	tick := fs.Duration("tick", 100*time.Millisecond, "with --processes: the workers' scheduler tick")
	if err := fs.Parse(args); err != nil {
		return badInput(err)
	}
	if *n < 1 || *k < 1 || *k > len(fixtures.MunicipalityKeys) || *workers < 1 || *processJobs < 1 || *tick <= 0 {
		return badInput(errors.New("usage: payrun bench --cases N (≥ 1) [--municipalities 1..6] [--workers W ≥ 1] [--processes [--process-jobs N ≥ 1] [--tick D]] [--keep]"))
	}
	if *processes && *cpuProfile != "" {
		return badInput(errors.New("bench: --cpuprofile profiles the bench process, which does no run work with --processes"))
	}
	dir, err := os.MkdirTemp("", "payrun-bench-")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	b := &bench{env: env, dir: dir, res: benchResult{Cases: *n, Municipalities: *k, Workers: *workers,
		Mode: "goroutines", Period: benchPeriod.String(), Files: map[string]int64{}}}
	b.backlog, b.cpuProfile, b.logSlow, b.importOnly = *backlog, *cpuProfile, *logSlow, *importOnly
	b.previous, b.res.PreviousMonth = *previous, *previous
	if *processes {
		b.procs = &benchProcsConfig{jobs: *processJobs, tick: *tick}
		b.res.Mode, b.res.ProcessJobs = "processes", *processJobs
	}
	err = b.run(ctx, *n, *k, *workers, *seed)
	if stopErr := b.stop(ctx); err == nil {
		err = stopErr
	}
	if *keep {
		b.res.Dir = dir
	} else {
		// The cluster may live outside the home (when the postgres user
		// cannot reach it, pgserver links home/pg to a directory of its own).
		if data, lerr := filepath.EvalSymlinks(filepath.Join(dir, "home", "pg")); lerr == nil && !strings.HasPrefix(data, dir) {
			if rmErr := os.RemoveAll(data); err == nil && rmErr != nil {
				err = fmt.Errorf("bench: remove %s: %w", data, rmErr)
			}
			_ = os.Remove(filepath.Dir(data)) // pgserver's own parent, when empty
		}
		if rmErr := os.RemoveAll(dir); err == nil && rmErr != nil {
			err = fmt.Errorf("bench: remove %s: %w", dir, rmErr)
		}
	}
	if err != nil {
		return err
	}
	return env.print(b.res, b.text())
}

type bench struct {
	env     *Env
	dir     string
	srv     *pgserver.Server
	db      *store.DB
	started bool
	// procs configures --processes; nil: goroutines.
	procs   *benchProcsConfig
	backlog bool
	// previous: an untimed cycle of the month before the period first.
	previous bool
	// importOnly stops after the import stage.
	importOnly bool
	// cpuProfile names the file for a CPU profile of the run path.
	cpuProfile string
	logSlow    int // ms; 0: off
	res        benchResult
}

func (b *bench) pgOptions() pgserver.Options {
	return pgserver.Options{Home: filepath.Join(b.dir, "home"), BinDir: b.env.Getenv("PAYRUN_PG_BINDIR"), Log: b.env.Log, Scratch: true}
}

func (b *bench) stop(ctx context.Context) error {
	if b.db != nil {
		b.db.Close()
	}
	if !b.started {
		return nil
	}
	if _, err := pgserver.Stop(ctx, b.pgOptions()); err != nil {
		return fmt.Errorf("bench: stop database: %w", err)
	}
	return nil
}

// stage records a stage that ended now.
func (b *bench) stage(ctx context.Context, name string, took time.Duration, rows int64) {
	b.stageCPU(ctx, name, timed{wall: took}, rows)
}

// stageCPU is stage with the CPU use of the stage.
func (b *bench) stageCPU(ctx context.Context, name string, t timed, rows int64) {
	took := t.wall
	s := benchStage{Name: name, Seconds: took.Seconds(), Rows: rows, PeakRSSMiB: peakRSSMiB(),
		PayrunCPU: t.cpu.self, PostgresCPU: t.cpu.server}
	if took > 0 {
		s.RowsPerSec = float64(rows) / took.Seconds()
	}
	var size int64
	if err := b.db.Pool().QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&size); err == nil {
		s.DBSizeMiB = float64(size) / (1 << 20)
	}
	b.res.Stages = append(b.res.Stages, s)
}

func (b *bench) run(ctx context.Context, n, k, workers int, seed int64) error {
	start := time.Now()
	srv, err := pgserver.Start(ctx, b.pgOptions())
	if err != nil {
		return fmt.Errorf("bench: start database: %w", err)
	}
	b.started = true
	b.srv = srv
	if b.logSlow > 0 {
		conn, err := pgx.Connect(ctx, srv.AdminURL("postgres"))
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		_, err = conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE payrun SET log_min_duration_statement = %d", b.logSlow))
		conn.Close(ctx)
		if err != nil {
			return fmt.Errorf("bench: --log-slow: %w", err)
		}
	}
	if err := store.Setup(ctx, srv.AdminURL("payrun"), srv.AppUser(), b.env.Log); err != nil {
		return err
	}
	if b.db, err = store.Open(ctx, srv.URL("payrun"), b.env.Log); err != nil {
		return err
	}
	if _, err := loadFixtures(ctx, b.db, 0, seed); err != nil {
		return fmt.Errorf("bench: fixtures: %w", err)
	}
	keys := fixtures.MunicipalityKeys[:k]
	if err := benchUsers(ctx, b.db, keys); err != nil {
		return err
	}
	b.stage(ctx, "setup", time.Since(start), 0)

	if b.importOnly && b.cpuProfile != "" {
		stop, err := startCPUProfile(b.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	start, cpu := time.Now(), b.cpuNow()
	imp, err := benchImport(ctx, b.db, n, seed, keys)
	if err != nil {
		return fmt.Errorf("bench: import: %w", err)
	}
	b.stageCPU(ctx, "import", timed{time.Since(start), b.cpuNow().since(cpu)}, int64(imp.New))
	if b.importOnly {
		return nil
	}
	if !b.backlog {
		// A month in steady state: the months before the period were paid
		// by earlier runs, so each case is computed for the period only
		// (about one payment per case and payee, as in a real night).
		first := benchPeriod
		if b.previous {
			first--
		}
		err := b.db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE cases SET recompute_from = $1 WHERE recompute_from < $1`, first.First().Time(time.UTC))
			return err
		})
		if err != nil {
			return fmt.Errorf("bench: steady state: %w", err)
		}
	}
	b.res.Backlog = b.backlog
	if err := b.vacuum(ctx); err != nil {
		return err
	}
	// The run path's peak RSS is its own, not the import's: the import's
	// memory goes back to the system and the peak is reset.
	debug.FreeOSMemory()
	resetPeakRSS()
	if b.previous {
		// Untimed: the month before the period, signed and exported, so
		// that the timed run nets against a live month (a night in
		// steady state: netting, last month's sums, IBANs paid before).
		if _, err := b.cycle(ctx, keys, workers, benchPeriod-1, filepath.Join(b.dir, "out-previous")); err != nil {
			return fmt.Errorf("bench: previous month: %w", err)
		}
	}
	if b.procs != nil {
		return b.runProcesses(ctx, keys, workers)
	}
	if b.cpuProfile != "" {
		stop, err := startCPUProfile(b.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	c, err := b.cycle(ctx, keys, workers, benchPeriod, filepath.Join(b.dir, "out"))
	if err != nil {
		return err
	}
	summaries, manifests, exportDir := c.summaries, c.manifests, c.dir
	if workers > 1 { // the stages overlap: their CPU is not theirs alone
		c.create.cpu, c.sign.cpu, c.exp.cpu = cpuUse{}, cpuUse{}, cpuUse{}
	}
	b.stageCPU(ctx, "run create (Σ over municipalities)", c.create, c.lines)
	b.stageCPU(ctx, "sign ×2 (Σ)", c.sign, int64(2*len(keys)))
	b.stageCPU(ctx, "export (Σ)", c.exp, c.txs)
	b.stageCPU(ctx, fmt.Sprintf("run path wall (%d workers)", workers), c.wall, c.lines)
	b.res.RunPathSeconds = c.wall.wall.Seconds()
	b.res.Lines = c.lines
	dirs := make([]string, len(summaries))
	for i, s := range summaries {
		dirs[i] = filepath.Join(exportDir, s.Municipality)
	}
	return b.reconcile(ctx, dirs, summaries, manifests)
}

// vacuum does what autovacuum does between the day's import and the
// night's run (hours apart in production): VACUUM ANALYZE of the imported
// tables sets their hint bits and visibility map and gives the planner
// statistics. Without it the first run reads a million freshly inserted rows
// and pays for that; the stage shows its own time.
func (b *bench) vacuum(ctx context.Context) error {
	start, cpu := time.Now(), b.cpuNow()
	conn, err := pgx.Connect(ctx, b.srv.AdminURL("payrun"))
	if err != nil {
		return fmt.Errorf("bench: vacuum: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) decisions, cases, reclaims"); err != nil {
		return fmt.Errorf("bench: vacuum: %w", err)
	}
	b.stageCPU(ctx, "vacuum analyze (autovacuum's work)", timed{time.Since(start), b.cpuNow().since(cpu)}, 0)
	return nil
}

// benchCycle is what one cycle of run creation, signatures and export of
// every municipality took.
type benchCycle struct {
	create, sign, exp, wall timed
	lines, txs              int64
	summaries               []store.RunSummary
	manifests               []export.Manifest
	dir                     string
}

// cycle creates, signs and exports the run of period of every municipality
// in keys with workers goroutines, exporting under exportDir.
func (b *bench) cycle(ctx context.Context, keys []string, workers int, period payrun.Month, exportDir string) (benchCycle, error) {
	var (
		mu                sync.Mutex
		create, sign, exp timed
		lines, txs        int64
		firstErr          error
		summaries         []store.RunSummary
		manifests         []export.Manifest
		todo              = make(chan string)
		wg                sync.WaitGroup
		runStart, cpu0    = time.Now(), b.cpuNow()
		fail              = func(err error) { mu.Lock(); firstErr = errors.Join(firstErr, err); mu.Unlock() }
		// add adds the wall time and CPU use since t, c to d and restarts them.
		add = func(d *timed, t *time.Time, c *cpuUse) {
			now, cpu := time.Now(), b.cpuNow()
			mu.Lock()
			d.wall += now.Sub(*t)
			d.cpu = d.cpu.plus(cpu.since(*c))
			mu.Unlock()
			*t, *c = now, cpu
		}
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range todo {
				t, c := time.Now(), b.cpuNow()
				s, err := runs.Create(ctx, b.db, m, period, runs.Options{Actor: "bench"})
				if err != nil {
					fail(err)
					continue
				}
				add(&create, &t, &c)
				for _, login := range []string{"checker", "approver"} {
					if _, err := runs.Sign(ctx, b.db, benchToken(m, login), s.ID, fmt.Sprintf("%x", s.Digest), time.Now()); err != nil {
						fail(fmt.Errorf("bench: sign run %d of %s as %s: %w", s.ID, m, login, err))
					}
				}
				add(&sign, &t, &c)
				u, err := b.db.UserByToken(ctx, store.TokenHash("demo-"+m+"-kasse"))
				if err != nil {
					fail(err)
					continue
				}
				man, err := export.Run(ctx, b.db, s.ID, filepath.Join(exportDir, m), export.Options{
					Municipality: m, ActorID: u.ID, Actor: u.Login, Log: b.env.Log})
				if err != nil {
					fail(fmt.Errorf("bench: export run %d of %s: %w", s.ID, m, err))
					continue
				}
				add(&exp, &t, &c)
				mu.Lock()
				summaries, manifests = append(summaries, s), append(manifests, man)
				lines += s.Lines
				for _, f := range man.Files {
					txs += int64(f.Transactions)
				}
				mu.Unlock()
			}
		}()
	}
	for _, m := range keys {
		todo <- m
	}
	close(todo)
	wg.Wait()
	if firstErr != nil {
		return benchCycle{}, firstErr
	}
	wall := timed{time.Since(runStart), b.cpuNow().since(cpu0)}
	return benchCycle{create: create, sign: sign, exp: exp, lines: lines, txs: txs, wall: wall,
		summaries: summaries, manifests: manifests, dir: exportDir}, nil
}

// benchUsers creates a checker and an approver without a payment limit
// per municipality for the bench's signatures.
func benchUsers(ctx context.Context, db *store.DB, keys []string) error {
	hash, err := bcrypt.GenerateFromPassword([]byte("bench"), bcrypt.MinCost)
	if err != nil {
		return fmt.Errorf("bench: users: %w", err)
	}
	for _, m := range keys {
		for _, u := range []payrun.User{
			{Municipality: m, Login: "bench-checker", DisplayName: "Bench checker", Roles: []payrun.RoleGrant{{Role: payrun.RoleChecker}}},
			{Municipality: m, Login: "bench-approver", DisplayName: "Bench approver", Roles: []payrun.RoleGrant{{Role: payrun.RoleApprover, Limit: 1_000_000_000_00}}},
		} {
			if _, err := db.EnsureUser(ctx, u, string(hash), benchToken(m, strings.TrimPrefix(u.Login, "bench-")), time.Now()); err != nil {
				return fmt.Errorf("bench: user %s/%s: %w", m, u.Login, err)
			}
		}
	}
	return nil
}

// startCPUProfile writes a CPU profile to path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func benchToken(m, role string) string { return "bench-" + m + "-" + role }

// benchImport imports n generated cases spread over keys through the
// importer's COPY path, generated in-process.
func benchImport(ctx context.Context, db *store.DB, n int, seed int64, keys []string) (store.ImportResult, error) {
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(pw, 1<<16)
		var err error
		for i, m := range keys {
			share := n / len(keys)
			if i < n%len(keys) {
				share++
			}
			if err = writeCases(bw, seed, share, m); err != nil {
				break
			}
		}
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	res, err := db.Import(ctx, pr, store.ImportOptions{Actor: "bench", Source: "bench"})
	pr.CloseWithError(io.ErrClosedPipe)
	return res, err
}

// reconcile checks the bench's own results: per run, Σ pain.001 + cash =
// Σ payment lines in the database = the run's total; the bookings CSV
// balances, agrees with its control record and has the lines the manifest
// and the stored journal (of the bookings pull API) say. Run ss[i] was
// exported to dirs[i] with manifest ms[i].
func (b *bench) reconcile(ctx context.Context, dirs []string, ss []store.RunSummary, ms []export.Manifest) error {
	var total payrun.Cents
	var problems []string
	for i, s := range ss {
		m, dir := ms[i], dirs[i]
		var files payrun.Cents
		for _, f := range m.Files {
			fi, err := os.Stat(filepath.Join(dir, f.Name))
			if err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			b.res.Files[f.Kind] += fi.Size()
			switch f.Kind {
			case export.KindPain001, export.KindCash:
				c, err := payrun.ParseCents(f.Total)
				if err != nil {
					return fmt.Errorf("bench: %s total %q: %w", f.Name, f.Total, err)
				}
				files += c
			case export.KindBookings:
				debit, credit, lines, err := sumBookings(filepath.Join(dir, f.Name))
				if err != nil {
					return err
				}
				if debit != credit || lines != f.Lines {
					problems = append(problems, fmt.Sprintf("%s: debits %s, credits %s, %d lines (manifest %d)", f.Name, debit, credit, lines, f.Lines))
				}
				// The journal the bookings pull API serves from.
				var records, jDebit int64
				err = b.db.WithTx(ctx, s.Municipality, func(tx pgx.Tx) error {
					return tx.QueryRow(ctx, `SELECT records, debit FROM booking_journals WHERE municipality = $1 AND run_id = $2`,
						s.Municipality, s.ID).Scan(&records, &jDebit)
				})
				if err != nil {
					return fmt.Errorf("bench: journal of run %d: %w", s.ID, err)
				}
				if records != lines || payrun.Cents(jDebit) != debit {
					problems = append(problems, fmt.Sprintf("run %d: stored journal %d records, debits %s; file %d, %s", s.ID, records, payrun.Cents(jDebit), lines, debit))
				}
			}
		}
		var dbSum payrun.Cents
		err := b.db.WithTx(ctx, s.Municipality, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT coalesce(sum(amount) * 100, 0)::bigint FROM run_lines
				WHERE municipality = $1 AND run_id = $2 AND kind = 'payment'`, s.Municipality, s.ID).Scan(&dbSum)
		})
		if err != nil {
			return fmt.Errorf("bench: sum lines of run %d: %w", s.ID, err)
		}
		if files != dbSum || dbSum != s.Total {
			problems = append(problems, fmt.Sprintf("run %d (%s): files %s, payment lines %s, run total %s", s.ID, s.Municipality, files, dbSum, s.Total))
		}
		total += s.Total
	}
	b.res.Total = total.String()
	if len(problems) > 0 {
		return fmt.Errorf("bench: results do not reconcile:\n  %s", strings.Join(problems, "\n  "))
	}
	b.res.Reconciled = true
	return nil
}

// sumBookings adds up the records of a booking CSV file (any layout with
// the side and amount columns; else the totals of its control record) and
// checks them against its control record.
func sumBookings(name string) (debit, credit payrun.Cents, lines int64, err error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("bench: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	header, err := br.ReadString('\n')
	if err != nil {
		return 0, 0, 0, fmt.Errorf("bench: %s: header: %w", name, err)
	}
	sep := ';'
	if i := strings.IndexFunc(header, func(r rune) bool { return r != '_' && (r < 'a' || r > 'z') }); i >= 0 && header[i] != '\n' && header[i] != '\r' {
		sep = rune(header[i])
	}
	cols := strings.Split(strings.TrimRight(header, "\r\n"), string(sep))
	side, amount := slices.Index(cols, booking.ColSide), slices.Index(cols, booking.ColAmount)
	cents := func(s string) (payrun.Cents, error) { return payrun.ParseCents(strings.Replace(s, ",", ".", 1)) }
	r := csv.NewReader(br)
	r.Comma, r.FieldsPerRecord, r.ReuseRecord = sep, -1, true
	for {
		rec, err := r.Read()
		if err != nil {
			return 0, 0, 0, fmt.Errorf("bench: %s: %w (no control record?)", name, err)
		}
		if rec[0] == booking.ControlRecordType {
			if len(rec) != 6 {
				return 0, 0, 0, fmt.Errorf("bench: %s: control record %v", name, rec)
			}
			n, err1 := strconv.ParseInt(rec[1], 10, 64)
			d, err2 := cents(rec[2])
			c, err3 := cents(rec[3])
			if err := errors.Join(err1, err2, err3); err != nil {
				return 0, 0, 0, fmt.Errorf("bench: %s: control record: %w", name, err)
			}
			if side < 0 || amount < 0 {
				return d, c, n, nil
			}
			if n != lines || d != debit || c != credit {
				return 0, 0, 0, fmt.Errorf("bench: %s: control record %d / %s / %s, records %d / %s / %s", name, n, d, c, lines, debit, credit)
			}
			return debit, credit, lines, nil
		}
		lines++
		if side < 0 || amount < 0 {
			continue
		}
		a, err := cents(rec[amount])
		if err != nil {
			return 0, 0, 0, fmt.Errorf("bench: %s: amount %q: %w", name, rec[amount], err)
		}
		switch rec[side] {
		case "D":
			debit += a
		case "C":
			credit += a
		default:
			return 0, 0, 0, fmt.Errorf("bench: %s: side %q", name, rec[side])
		}
	}
}

// peakRSSMiB is the process's peak resident set (VmHWM), 0 when unknown.
func peakRSSMiB() float64 { return vmHWM("/proc/self/status") }

// resetPeakRSS sets the process's VmHWM to its current resident set
// (Linux: "5" to /proc/self/clear_refs); elsewhere nothing happens.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// vmHWM reads the peak resident set (VmHWM) in MiB from a /proc/PID/status
// file, 0 when unknown.
func vmHWM(status string) float64 {
	b, err := os.ReadFile(status)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}

// cpuText shows CPU seconds, "-" when not measured.
func cpuText(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

func (b *bench) text() string {
	r := &b.res
	var s strings.Builder
	mode := "period only (earlier months paid)"
	if r.Backlog {
		mode = "backlog: every month since each case's start"
	}
	if r.PreviousMonth {
		mode += ", after a signed and exported previous month"
	}
	workers := fmt.Sprintf("%d workers", r.Workers)
	if r.Mode == "processes" {
		workers = fmt.Sprintf("%d worker processes (%d jobs each at once)", r.Workers, r.ProcessJobs)
	}
	fmt.Fprintf(&s, "bench: %d cases, %d municipalities, %s, period %s, %s\n", r.Cases, r.Municipalities, workers, r.Period, mode)
	fmt.Fprintf(&s, "  %-36s %9s %11s %12s %12s %10s %9s %9s\n", "stage", "wall s", "rows", "rows/s", "peak RSS MiB", "DB MiB",
		"CPU go s", "CPU pg s")
	for _, st := range r.Stages {
		fmt.Fprintf(&s, "  %-36s %9.2f %11d %12.0f %12.1f %10.1f %9s %9s\n", st.Name, st.Seconds, st.Rows, st.RowsPerSec,
			st.PeakRSSMiB, st.DBSizeMiB, cpuText(st.PayrunCPU), cpuText(st.PostgresCPU))
	}
	for _, k := range []string{export.KindPain001, export.KindCash, export.KindBookings, export.KindBookingsJSON} {
		fmt.Fprintf(&s, "  files %-14s %12d bytes\n", k, r.Files[k])
	}
	for _, p := range r.Processes {
		fmt.Fprintf(&s, "  worker %s (pid %d): %d runs created (%.2f s), %d exported (%.2f s), %d jobs, peak RSS %.1f MiB\n",
			p.Instance, p.PID, p.RunsCreated, p.CreateSeconds, p.RunsExported, p.ExportSeconds, p.Jobs, p.PeakRSSMiB)
	}
	fmt.Fprintf(&s, "  run lines %d, payments %s, reconciled: %v", r.Lines, r.Total, r.Reconciled)
	if r.Dir != "" {
		fmt.Fprintf(&s, "\n  kept in %s", r.Dir)
	}
	return s.String()
}
