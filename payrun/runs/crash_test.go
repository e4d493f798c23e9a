package runs_test

import (
	"context"
	"errors"
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

	"github.com/payrun/payrun/payrun"
)

// binary builds cmd/payrun once per test process.
var binary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "payrun-runs-test-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "payrun")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/payrun/payrun/cmd/payrun").CombinedOutput()
	if err != nil {
		return "", errors.New(string(out))
	}
	return bin, nil
})

// runCreate runs `payrun run create` as a real process; crashAfter > 0 makes
// it SIGKILL itself after that many lines. It reports whether the process
// was killed, and the run id printed otherwise (0: nothing to pay).
func (b *bundle) runCreate(t *testing.T, m string, crashAfter int) (killed bool, id int64) {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatalf("build payrun: %v", err)
	}
	cmd := exec.Command(bin, "run", "create", "--municipality", m, "--period", period.String(), "--batch", "7")
	cmd.Env = append(os.Environ(), "PAYRUN_DATABASE_URL="+b.url, "PAYRUN_TEST_CRASH_AFTER="+strconv.Itoa(crashAfter))
	if crashAfter == 0 {
		cmd.Env = append(os.Environ(), "PAYRUN_DATABASE_URL="+b.url)
	}
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true, 0
		}
		t.Fatalf("run create: %v: %s", err, ee.Stderr)
	}
	must(t, err)
	s := strings.TrimSpace(string(out))
	if strings.HasPrefix(s, "nothing to pay") {
		return false, 0
	}
	id, err = strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("run create printed %q", s)
	}
	return false, id
}

// proposedRuns returns the ids of m's proposed runs and whether each one's
// digest matches its lines (a half-written run would not).
func (b *bundle) proposedRuns(t *testing.T, m string) []int64 {
	t.Helper()
	var ids []int64
	ctx := context.Background()
	must(t, b.db.WithTx(ctx, m, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT coalesce(array_agg(id), '{}') FROM runs WHERE state = 'proposed'`).Scan(&ids)
	}))
	return ids
}

// TestCrashDuringCreate kills `payrun run create` with SIGKILL at many
// points, restarts it, signs, changes decisions back in time, kills again,
// and proves per case-month-component that Σ live lines = due.
func TestCrashDuringCreate(t *testing.T) {
	t.Parallel()
	b := setup(t, 120, "unna")
	ctx := context.Background()
	if got := b.proposedRuns(t, "unna"); len(got) != 0 {
		t.Fatalf("proposed runs before the first create: %v", got)
	}
	killedOnce := false
	for _, n := range []int{1, 40, 400, 1500, 3000, 4500} {
		killed, _ := b.runCreate(t, "unna", n)
		killedOnce = killedOnce || killed
		// after a kill nothing of the killed transaction is left, and any
		// earlier complete run is intact (RunDetails digest check below)
		for _, id := range b.proposedRuns(t, "unna") {
			d, err := b.db.RunDetails(ctx, "unna", id, 0, 0)
			must(t, err)
			if d.Digest == "" {
				t.Fatalf("after a kill at %d lines: run %d without digest", n, id)
			}
		}
	}
	if !killedOnce {
		t.Fatal("the process was never killed: the test proves nothing")
	}
	_, id := b.runCreate(t, "unna", 0)
	if got := b.proposedRuns(t, "unna"); len(got) != 1 || got[0] != id {
		t.Fatalf("proposed runs %v, want [%d]", got, id)
	}
	must(t, b.sign(t, "unna", "pruefer", id))
	must(t, b.sign(t, "unna", "chef", id))
	b.checkExactlyOnce(t, "unna", period)

	// changes back in time, then more kills during the supplementary run
	var changed []payrun.Decision
	for _, ds := range b.decisions {
		d := ds[len(ds)-1]
		if len(ds) == 1 && d.ValidTo == nil && d.ValidFrom < payrun.MonthOf(2026, time.June).First() && len(changed) < 8 {
			n := supersede(d, payrun.MonthOf(2026, time.June).First()+payrun.Date(len(changed)*3))
			n.CountableIncome += payrun.Cents(len(changed)-4) * 40_00 // some up, some down
			if n.CountableIncome < 0 {
				n.CountableIncome = 0
			}
			changed = append(changed, n)
		}
	}
	b.importDecisions(t, changed...)
	for _, n := range []int{1, 10, 30} {
		b.runCreate(t, "unna", n)
	}
	_, id2 := b.runCreate(t, "unna", 0)
	if id2 == 0 || id2 == id {
		t.Fatalf("supplementary run id %d (first run %d)", id2, id)
	}
	// a kill while the proposed run is recomputed leaves it as it was
	before, err := b.db.RunDetails(ctx, "unna", id2, 0, 0)
	must(t, err)
	b.runCreate(t, "unna", 1)
	after, err := b.db.RunDetails(ctx, "unna", id2, 0, 0)
	must(t, err)
	if after.Digest != before.Digest || after.Lines != before.Lines {
		t.Fatalf("a killed recompute changed run %d: %d lines %s → %d lines %s", id2, before.Lines, before.Digest, after.Lines, after.Digest)
	}
	must(t, b.sign(t, "unna", "pruefer", id2))
	must(t, b.sign(t, "unna", "chef", id2))
	b.checkExactlyOnce(t, "unna", period)
}

// TestConcurrentCreate races two `payrun run create` processes for the same
// municipality: one run, no duplicated line.
func TestConcurrentCreate(t *testing.T) {
	t.Parallel()
	b := setup(t, 80, "werne")
	ctx := context.Background()
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		ids := make([]int64, 2)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, ids[i] = b.runCreate(t, "werne", 0)
			}()
		}
		wg.Wait()
		if ids[0] != ids[1] || ids[0] == 0 {
			t.Fatalf("round %d: the processes made runs %v", round, ids)
		}
		var runsN, lines, distinct int64
		must(t, b.db.WithTx(ctx, "werne", func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM runs), count(*),
			count(DISTINCT (run_id, case_id, month, payee_role, component, coalesce(reclaim_id, ''))) FROM run_lines`).Scan(&runsN, &lines, &distinct)
		}))
		if runsN != 1 || lines != distinct {
			t.Fatalf("round %d: %d runs, %d lines of which %d distinct", round, runsN, lines, distinct)
		}
	}
}
