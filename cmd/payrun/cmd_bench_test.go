package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBenchSmoke runs payrun bench on a few cases: its own scratch cluster,
// import, a previous month, runs, signatures, export, reconciliation, and
// nothing left behind.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a PostgreSQL cluster")
	}
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"bench", "--cases", "300", "--municipalities", "2", "--workers", "2", "--previous-month", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("bench: exit %d\n%s%s", code, out.String(), errb.String())
	}
	var r benchResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out.String())
	}
	if !r.Reconciled || !r.PreviousMonth || r.Lines == 0 || r.Files["pain.001"] == 0 || r.Files["bookings"] == 0 {
		t.Fatalf("bench result: %+v", r)
	}
	if len(r.Stages) != 7 {
		t.Fatalf("stages: %+v", r.Stages)
	}
	if wall := r.Stages[6]; runtime.GOOS == "linux" && (wall.PayrunCPU <= 0 || wall.PostgresCPU <= 0) {
		t.Fatalf("run path without CPU times: %+v", wall)
	}
	if r.Dir != "" {
		if _, err := os.Stat(r.Dir); err == nil {
			t.Fatalf("bench left %s behind", r.Dir)
		}
	}
}

// testPayrunMain is payrun's main in a child of this test binary (the
// workers of bench --processes; see TestMain).
func testPayrunMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
}

// TestBenchProcesses runs bench --processes with two `payrun worker`
// children (this test binary as payrun): every run is created and
// exported exactly once by the workers, both workers do some of it, the
// bench reconciles the files they wrote and reads each worker's VmHWM.
func TestBenchProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a PostgreSQL cluster")
	}
	t.Setenv("PAYRUN_TEST_MAIN", "1")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	args := []string{"bench", "--cases", "300", "--processes", "--workers", "2", "--tick", "20ms", "--log-level", "warn", "--json"}
	if code := Main(ctx, args, &out, &errb); code != 0 {
		t.Fatalf("bench: exit %d\n%s%s", code, out.String(), errb.String())
	}
	var r benchResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out.String())
	}
	if r.Mode != "processes" || !r.Reconciled || r.Lines == 0 || r.Files["pain.001"] == 0 || len(r.Processes) != 2 {
		t.Fatalf("bench result: %+v", r)
	}
	created, exported := 0, 0
	for _, p := range r.Processes {
		created, exported = created+p.RunsCreated, exported+p.RunsExported
		if p.PID == 0 || p.PeakRSSMiB <= 0 {
			t.Errorf("worker %s: pid %d, peak RSS %.1f MiB", p.Instance, p.PID, p.PeakRSSMiB)
		}
		if p.RunsCreated+p.RunsExported == 0 {
			t.Errorf("worker %s created and exported nothing: %+v", p.Instance, r.Processes)
		}
	}
	if created != r.Municipalities || exported != r.Municipalities {
		t.Errorf("runs created %d, exported %d by the workers; want %d each", created, exported, r.Municipalities)
	}
}

// TestBenchProcessesWorkerFails: a worker that exits fails the bench with
// its output, and the other worker is stopped.
func TestBenchProcessesWorkerFails(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a PostgreSQL cluster")
	}
	t.Setenv("PAYRUN_TEST_MAIN", "fail")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := Main(ctx, []string{"bench", "--cases", "10", "--municipalities", "1", "--processes", "--workers", "2", "--log-level", "warn"}, &out, &errb)
	if code != exitFailure || !strings.Contains(errb.String(), "failing at start as told") {
		t.Fatalf("bench with a failing worker: exit %d\n%s%s", code, out.String(), errb.String())
	}
}
