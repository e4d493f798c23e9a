package pgserver_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun/pgserver"
)

// TestMain lets the test binary act as a second payrun process: with
// PGSERVER_HELPER_HOME set it starts the cluster of that home and prints
// the postmaster's pid.
func TestMain(m *testing.M) {
	if home := os.Getenv("PGSERVER_HELPER_HOME"); home != "" {
		s, err := pgserver.Start(context.Background(), pgserver.Options{Home: home, Scratch: true})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(s.PID)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// newHome returns an empty payrun home whose cluster is removed when the
// test ends.
func newHome(t *testing.T) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	t.Cleanup(func() {
		if err := pgserver.Destroy(context.Background(), pgserver.Options{Home: home}); err != nil {
			t.Error(err)
		}
	})
	return home
}

func start(t *testing.T, o pgserver.Options) *pgserver.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := pgserver.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func queryString(t *testing.T, url, sql string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func TestStartTwiceReusesServer(t *testing.T) {
	t.Parallel()
	o := pgserver.Options{Home: newHome(t)}
	s1 := start(t, o)
	s2 := start(t, o)
	if s1.PID != s2.PID || s1.Port != s2.Port {
		t.Errorf("second start: pid %d port %d, want the running pid %d port %d", s2.PID, s2.Port, s1.PID, s1.Port)
	}
	got := queryString(t, s2.URL("payrun"), "SELECT current_user || ' ' || current_database() || ' ' || (SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user)")
	if got != "payrun payrun false" {
		t.Errorf("application connection: got %q, want %q", got, "payrun payrun false")
	}
	if fsync := queryString(t, s2.AdminURL("postgres"), "SHOW fsync"); fsync != "on" {
		t.Errorf("fsync = %s on a normal cluster, want on", fsync)
	}
	st, err := pgserver.Inspect(o)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Running || st.PID != s1.PID || st.Port != s1.Port || st.Version == 0 || st.Scratch {
		t.Errorf("Inspect = %+v, want running pid %d port %d", st, s1.PID, s1.Port)
	}
	fi, err := os.Stat(filepath.Join(o.Home, "pgserver.json"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("pgserver.json mode %v, want 0600", fi.Mode().Perm())
	}
	bad := strings.Replace(s2.URL("payrun"), "payrun:", "payrun:x", 1)
	if _, err := pgx.Connect(context.Background(), bad); err == nil {
		t.Error("connecting with a wrong password worked")
	}
}

func TestConcurrentStartsShareOneServer(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	o := pgserver.Options{Home: home, Scratch: true}
	const goroutines, procs = 3, 2
	pids := make(chan int, goroutines+procs)
	errs := make(chan error, goroutines+procs)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			s, err := pgserver.Start(context.Background(), o)
			if err != nil {
				errs <- err
				return
			}
			pids <- s.PID
		})
	}
	for range procs {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "PGSERVER_HELPER_HOME="+home)
			out, err := cmd.Output()
			if err != nil {
				errs <- fmt.Errorf("helper process: %w: %s", err, out)
				return
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
			if err != nil {
				errs <- err
				return
			}
			pids <- pid
		})
	}
	wg.Wait()
	close(pids)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen := map[int]bool{}
	for pid := range pids {
		seen[pid] = true
	}
	if len(seen) != 1 {
		t.Errorf("concurrent starts gave postmaster pids %v, want one", seen)
	}
	if fsync := queryString(t, start(t, o).AdminURL("postgres"), "SHOW fsync"); fsync != "off" {
		t.Errorf("fsync = %s on a scratch cluster, want off", fsync)
	}
}

func TestStopStart(t *testing.T) {
	t.Parallel()
	o := pgserver.Options{Home: newHome(t), Scratch: true}
	ctx := context.Background()
	if was, err := pgserver.Stop(ctx, o); err != nil || was {
		t.Fatalf("Stop before any start = %v, %v; want false, nil", was, err)
	}
	s1 := start(t, o)
	// the superuser owns the schema (the application role only gets rows)
	conn, err := pgx.Connect(ctx, s1.AdminURL("payrun"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (x text); INSERT INTO kept VALUES ('yes')"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)
	if was, err := pgserver.Stop(ctx, o); err != nil || !was {
		t.Fatalf("Stop = %v, %v; want true, nil", was, err)
	}
	st, err := pgserver.Inspect(o)
	if err != nil {
		t.Fatal(err)
	}
	if st.Running || !st.Initialized {
		t.Errorf("after Stop: Inspect = %+v, want initialized and not running", st)
	}
	if _, err := pgx.Connect(ctx, s1.URL("payrun")); err == nil {
		t.Error("connecting after Stop worked")
	}
	if was, err := pgserver.Stop(ctx, o); err != nil || was {
		t.Errorf("second Stop = %v, %v; want false, nil", was, err)
	}
	s2 := start(t, o)
	if s2.PID == s1.PID {
		t.Errorf("start after stop kept pid %d", s1.PID)
	}
	if got := queryString(t, s2.AdminURL("payrun"), "SELECT x FROM kept"); got != "yes" {
		t.Errorf("data after restart: %q", got)
	}
	t.Run("stale pid file", func(t *testing.T) { checkStalePidFile(t, o) })
}

// checkStalePidFile runs on the cluster of TestStopStart (one initdb less).
func checkStalePidFile(t *testing.T, o pgserver.Options) {
	ctx := context.Background()
	s := start(t, o)
	if _, err := pgserver.Stop(ctx, o); err != nil {
		t.Fatal(err)
	}
	// A pid file naming a live process that is not postgres (this test), as
	// after a crash and a reboot that gave the pid to another program.
	pidFile := filepath.Join(s.DataDir, "postmaster.pid")
	stale := fmt.Sprintf("%d\n%s\n1700000000\n%d\n\n127.0.0.1\n  1234  5678\nready   \n", os.Getpid(), s.DataDir, s.Port)
	if err := os.WriteFile(pidFile, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, _ := pgserver.Inspect(o); st.Running {
		t.Errorf("Inspect with a stale pid file says running: %+v", st)
	}
	s2 := start(t, o)
	if s2.PID == os.Getpid() {
		t.Fatal("start took the stale pid for the server")
	}
	queryString(t, s2.URL("payrun"), "SELECT 'ok'")

	// A crash: the postmaster is killed and leaves its pid file.
	if err := syscall.Kill(s2.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, s2.PID)
	s3 := start(t, o)
	if s3.PID == s2.PID {
		t.Errorf("start after the crash kept the dead pid %d", s2.PID)
	}
	queryString(t, s3.URL("payrun"), "SELECT 'ok'")
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); errors.Is(err, os.ErrNotExist) || strings.Contains(string(b), ") Z ") {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("pid %d still there", pid)
}

func TestRootRunsAsPostgresUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("not root")
	}
	// A home the postgres user cannot reach (t.TempDir is 0700, like /root).
	private := pgserver.Options{Home: newHome(t), Scratch: true}
	s := start(t, private)
	if !s.Relocated || !strings.HasPrefix(s.DataDir, "/var/tmp/payrun-") {
		t.Errorf("private home: data dir %s relocated=%v, want under /var/tmp/payrun-", s.DataDir, s.Relocated)
	}
	if target, err := os.Readlink(filepath.Join(private.Home, "pg")); err != nil || target != s.DataDir {
		t.Errorf("home/pg link = %q, %v; want %s", target, err, s.DataDir)
	}
	checkOwner(t, s)

	// A fresh clone at the same path: the home is gone, the relocated
	// cluster (still running) is not.
	if err := os.RemoveAll(private.Home); err != nil {
		t.Fatal(err)
	}
	s2 := start(t, private)
	if s2.PID == s.PID || s2.DataDir != s.DataDir {
		t.Errorf("new home: pid %d data %s; want a new server in %s (old pid %d)", s2.PID, s2.DataDir, s.DataDir, s.PID)
	}
	queryString(t, s2.URL("payrun"), "SELECT 'ok'")
	if err := pgserver.Destroy(context.Background(), private); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(s.DataDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Destroy left %s: %v", filepath.Dir(s.DataDir), err)
	}

	// A home it can reach: the data stays in the home.
	home := newHome(t)
	for _, d := range []string{filepath.Dir(home), filepath.Dir(filepath.Dir(home))} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s = start(t, pgserver.Options{Home: home, Scratch: true})
	if s.Relocated || s.DataDir != filepath.Join(home, "pg") {
		t.Errorf("reachable home: data dir %s relocated=%v, want %s", s.DataDir, s.Relocated, filepath.Join(home, "pg"))
	}
	checkOwner(t, s)
}

func checkOwner(t *testing.T, s *pgserver.Server) {
	t.Helper()
	fi, err := os.Stat(s.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if uid := fi.Sys().(*syscall.Stat_t).Uid; uid == 0 {
		t.Errorf("data dir %s owned by root", s.DataDir)
	}
	pid, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.PID))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(pid), "\n") {
		if strings.HasPrefix(line, "Uid:") && strings.Fields(line)[1] == "0" {
			t.Errorf("postmaster runs as root: %s", line)
		}
	}
}

func TestNoPostgresInstalled(t *testing.T) {
	t.Parallel()
	o := pgserver.Options{Home: newHome(t), BinDir: t.TempDir()}
	_, err := pgserver.Start(context.Background(), o)
	if !errors.Is(err, pgserver.ErrNoPostgres) || !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Errorf("Start without binaries: %v; want ErrNoPostgres naming apt-get install postgresql", err)
	}
}

func TestDataDirectoryGone(t *testing.T) {
	t.Parallel()
	o := pgserver.Options{Home: newHome(t), Scratch: true}
	s1 := start(t, o)
	if _, err := pgserver.Stop(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(s1.DataDir); err != nil {
		t.Fatal(err)
	}
	s2 := start(t, o)
	if got := queryString(t, s2.URL("payrun"), "SELECT current_user"); got != "payrun" {
		t.Errorf("new cluster after the data directory went: current_user %q", got)
	}
}
