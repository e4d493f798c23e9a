package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun/store"
	"github.com/payrun/payrun/payrun/store/storetest"
	"github.com/payrun/payrun/scheduler"
)

// TestMain turns the test binary into a `payrun worker` with test job
// bodies when PAYRUN_TEST_WORKER is set (see TestWorkersRunEachJobOnce),
// and into payrun itself (or a worker that fails at start) when
// PAYRUN_TEST_MAIN is set (see TestBenchProcesses).
func TestMain(m *testing.M) {
	if os.Getenv("PAYRUN_TEST_WORKER") == "1" {
		os.Exit(testWorkerMain())
	}
	switch os.Getenv("PAYRUN_TEST_MAIN") { // the children of bench --processes (cmd_bench_test.go)
	case "1":
		os.Exit(testPayrunMain())
	case "fail":
		fmt.Fprintln(os.Stderr, "test worker: failing at start as told")
		os.Exit(exitFailure)
	}
	os.Exit(m.Run())
}

// testWorkerMain runs the real worker path with an export body that
// records each execution in its own transaction; with PAYRUN_TEST_BLOCK it
// blocks inside that transaction on its first job of unna and says so
// on stdout.
func testWorkerMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	env := NewEnv(os.Stdout, os.Stderr)
	defer env.Close()
	rest, err := env.ParseGlobalFlags(os.Args[1:])
	if err == nil {
		var c serveConfig
		if c, err = env.parseServeFlags("worker", rest[1:], false); err == nil {
			var db *store.DB
			if db, err = openDB(ctx, env); err == nil {
				err = serve(ctx, env, c, db, recordingActions(db, os.Getenv("PAYRUN_TEST_BLOCK") == "1"))
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return exitCode(err)
	}
	return exitOK
}

func recordingActions(db *store.DB, block bool) scheduler.Actions {
	return scheduler.Actions{ExportFunc: func(ctx context.Context, m string) (string, error) {
		j, _ := scheduler.JobFrom(ctx)
		if block && m != "unna" {
			// The killed worker touches nothing else: a body that committed
			// just before the kill would (correctly) run again on retry.
			return "", fmt.Errorf("test worker a only takes unna's jobs")
		}
		err := db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO executions VALUES ($1, $2)`, m, j.ScheduledFor); err != nil {
				return err
			}
			if block && m == "unna" {
				fmt.Printf("BLOCKED %d\n", j.ID)
				select {} // until SIGKILL: the transaction never commits
			}
			return nil
		})
		return "recorded", err
	}}
}

// TestWorkersRunEachJobOnce: a worker blocks in its first job and is
// killed with SIGKILL; two more workers on the same database run every
// job of the fake night (the DST night of 29 Mar 2026) exactly once,
// including the killed one after its lease, and exit 0 on SIGTERM.
func TestWorkersRunEachJobOnce(t *testing.T) {
	t.Parallel()
	url := storetest.NewURL(t)
	ctx := context.Background()
	db, err := store.Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Date(2026, 3, 29, 0, 55, 0, 0, time.UTC) // 01:55 CET
	horizon := start.Add(65 * time.Minute)                 // 04:00 CEST
	err = db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		for _, m := range []string{"unna", "werne"} {
			if _, err := tx.Exec(ctx, `INSERT INTO municipalities (key, name, kind, debtor_iban)
				VALUES ($1, $1, 'municipality', 'DE02120300000000202051')`, m); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schedules (municipality, kind, spec, last_planned_at)
				VALUES ($1, 'export', '*/10 * * * *', $2)`, m, start); err != nil {
				return err
			}
		}
		return nil
	})
	// a test table the application role may use but not create
	storetest.AdminExec(t, url, `CREATE TABLE executions (municipality text, scheduled_for timestamptz);
		GRANT SELECT, INSERT, UPDATE, DELETE ON executions TO `+storetest.Role)
	if err != nil {
		t.Fatal(err)
	}
	worker := func(name string, block bool) (*exec.Cmd, io.Reader, io.Reader) {
		cmd := exec.Command(os.Args[0], "--log-format", "json", "worker", "--tick", "20ms", "--lease", "5m", "--instance", name)
		cmd.Env = append(os.Environ(), "PAYRUN_TEST_WORKER=1", "PAYRUN_DATABASE_URL="+url,
			"PAYRUN_FAKE_NOW="+start.Format(time.RFC3339), "PAYRUN_FAKE_SPEED=1200", "PAYRUN_TEST_BLOCK="+map[bool]string{true: "1", false: "0"}[block])
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		return cmd, stdout, stderr
	}
	a, aout, aerr := worker("a", true)
	go func() { _, _ = io.Copy(io.Discard, aerr) }()
	line, err := bufio.NewReader(aout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "BLOCKED") {
		t.Fatalf("worker a: %q, %v", line, err)
	}
	if err := a.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = a.Wait()

	done := make(chan string, 100)
	var cmds []*exec.Cmd
	for _, name := range []string{"b", "c"} {
		cmd, out, errs := worker(name, false)
		cmds = append(cmds, cmd)
		go func() { _, _ = io.Copy(io.Discard, out) }()
		go scanSucceeded(errs, horizon, done)
	}
	seen := map[string]bool{}
	for len(seen) < 2 {
		select {
		case m := <-done:
			seen[m] = true
		case <-time.After(time.Minute):
			t.Fatal("workers did not reach the horizon within a minute")
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("worker exit after SIGTERM: %v", err)
		}
	}
	checkOnce(t, db, horizon)
}

// scanSucceeded sends the municipality of each "job succeeded" log line
// scheduled at or after horizon.
func scanSucceeded(r io.Reader, horizon time.Time, out chan<- string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var l struct {
			Msg          string `json:"msg"`
			Municipality string `json:"municipality"`
			ScheduledFor string `json:"scheduled_for"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Msg != "job succeeded" {
			continue
		}
		if at, err := time.Parse("2006-01-02T15:04:05.000Z0700", l.ScheduledFor); err == nil && !at.Before(horizon) {
			out <- l.Municipality
		}
	}
}

// checkOnce asserts that every job up to horizon succeeded and executed
// exactly once, and that the killed job was retried.
func checkOnce(t *testing.T, db *store.DB, horizon time.Time) {
	t.Helper()
	ctx := context.Background()
	var jobs, succeeded, lost, dup, missing int
	err := db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT
				(SELECT count(*) FROM jobs WHERE scheduled_for <= $1),
				(SELECT count(*) FROM jobs WHERE scheduled_for <= $1 AND state = 'succeeded'),
				(SELECT count(*) FROM job_attempts WHERE outcome = 'lost'),
				(SELECT count(*) FROM (SELECT 1 FROM executions GROUP BY municipality, scheduled_for HAVING count(*) > 1) d),
				(SELECT count(*) FROM jobs j WHERE scheduled_for <= $1 AND NOT EXISTS (
					SELECT 1 FROM executions e WHERE e.municipality = j.municipality AND e.scheduled_for = j.scheduled_for))`,
			horizon).Scan(&jobs, &succeeded, &lost, &dup, &missing)
	})
	if err != nil {
		t.Fatal(err)
	}
	// 01:55 CET → 04:00 CEST is 65 minutes: 02:00 (in the gap, = 03:00 CEST) … 04:00, 7 per municipality.
	if jobs != 14 || succeeded != jobs || lost < 1 || dup != 0 || missing != 0 {
		t.Fatalf("jobs %d (want 14), succeeded %d, lost attempts %d (want ≥ 1: the killed worker's), duplicated %d, not executed %d", jobs, succeeded, lost, dup, missing)
	}
}
