package runs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/runs"
	"github.com/payrun/payrun/payrun/store"
)

// TestImportRacesRunCreation imports decisions that change paid months while
// runs of the same municipality are created and signed at the same moment.
// Whichever comes first, every change is paid exactly once: one the run
// creation saw is in that run; one it did not see carries a newer
// recompute generation (drawn once per statement after the municipality
// locks, 0080), so the run's signature leaves its case open for the next
// run.
func TestImportRacesRunCreation(t *testing.T) {
	t.Parallel()
	const m = "werne"
	b := setup(t, 40, m)
	ctx := context.Background()
	s1 := b.create(t, m)
	must(t, b.sign(t, m, "pruefer", s1.ID))
	must(t, b.sign(t, m, "chef", s1.ID))
	var open []payrun.Decision
	for _, ds := range b.decisions {
		d := ds[len(ds)-1]
		if len(ds) == 1 && d.ValidTo == nil && d.Housing != nil && d.ValidFrom < payrun.MonthOf(2026, time.June).First() {
			open = append(open, d)
		}
	}
	const rounds = 8
	if len(open) < rounds {
		t.Fatalf("fixtures have %d open cases with housing, want %d", len(open), rounds)
	}
	signed := 0
	for i := range rounds {
		n := supersede(open[i], payrun.MonthOf(2026, time.Month(7+i%5)).First())
		h := *n.Housing
		h.Rent += payrun.Cents(10_00 * (i + 1))
		n.Housing = &h
		var buf bytes.Buffer
		must(t, json.NewEncoder(&buf).Encode(n))
		var (
			wg         sync.WaitGroup
			run        store.RunSummary
			runErr     error
			importErr  error
			start      = make(chan struct{})
			importNext = i%2 == 1 // alternate who is released first
		)
		wg.Go(func() {
			<-start
			if importNext {
				time.Sleep(time.Duration(i) * time.Millisecond)
			}
			run, runErr = runs.Create(ctx, b.db, m, period, runs.Options{})
		})
		wg.Go(func() {
			<-start
			if !importNext {
				time.Sleep(time.Duration(i) * time.Millisecond)
			}
			_, importErr = b.db.Import(ctx, &buf, store.ImportOptions{Actor: "test"})
		})
		close(start)
		wg.Wait()
		must(t, importErr)
		k := n.Municipality + "/" + n.CaseID
		b.decisions[k] = append(b.decisions[k], n)
		switch {
		case runErr == nil:
			must(t, b.sign(t, m, "pruefer", run.ID))
			must(t, b.sign(t, m, "chef", run.ID))
			signed++
		case !errors.Is(runErr, payrun.ErrNothingToPay):
			t.Fatalf("round %d: run create: %v", i, runErr)
		}
	}
	// a last run pays what the racing runs did not see
	if last, err := runs.Create(ctx, b.db, m, period, runs.Options{}); err == nil {
		must(t, b.sign(t, m, "pruefer", last.ID))
		must(t, b.sign(t, m, "chef", last.ID))
		signed++
	} else if !errors.Is(err, payrun.ErrNothingToPay) {
		t.Fatal(err)
	}
	if signed == 0 {
		t.Fatal("no run paid the imported changes")
	}
	b.checkExactlyOnce(t, m, period)
}
