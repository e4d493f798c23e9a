package scheduler_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/payrun/payrun/payrun/store"
	"github.com/payrun/payrun/payrun/store/storetest"
	"github.com/payrun/payrun/scheduler"
	"github.com/payrun/payrun/sepa/bankday"
)

var berlin = mustLoc("Europe/Berlin")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// clock is a fake clock shared by goroutines.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// setup returns a fresh database with municipalities and a test table
// executions that test actions write to.
func setup(tb testing.TB, municipalities ...string) *store.DB {
	tb.Helper()
	db := storetest.NewDB(tb)
	ctx := context.Background()
	err := db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		for _, m := range municipalities {
			if _, err := tx.Exec(ctx, `INSERT INTO municipalities (key, name, kind, debtor_iban)
				VALUES ($1, $1, 'municipality', 'DE02120300000000202051')`, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	// a test table the application role may use but not create
	storetest.AdminExec(tb, db.Pool().Config().ConnString(), `CREATE TABLE executions (municipality text, kind text, scheduled_for timestamptz, arg text);
		GRANT SELECT, INSERT, UPDATE, DELETE ON executions TO `+storetest.Role)
	return db
}

// addSchedule stores a schedule planned from last.
func addSchedule(tb testing.TB, db *store.DB, m string, k scheduler.Kind, spec string, days int, last time.Time) {
	tb.Helper()
	ctx := context.Background()
	err := db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO schedules (municipality, kind, spec, business_days, last_planned_at)
			VALUES ($1, $2, $3, $4, $5)`, m, string(k), spec, days, last)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// record is a job body that writes one executions row in its own
// transaction, so that a rolled-back attempt leaves nothing.
func record(db *store.DB, arg string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		j, _ := scheduler.JobFrom(ctx)
		return db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO executions VALUES ($1, $2, $3, $4)`,
				j.Municipality, string(j.Kind), j.ScheduledFor, arg)
			return err
		})
	}
}

type execution struct {
	Municipality, Kind string
	ScheduledFor       time.Time
	Arg                string
}

func executions(tb testing.TB, db *store.DB) []execution {
	tb.Helper()
	ctx := context.Background()
	var out []execution
	err := db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT municipality, kind, scheduled_for, arg FROM executions ORDER BY scheduled_for, municipality, kind`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (execution, error) {
			var e execution
			return e, r.Scan(&e.Municipality, &e.Kind, &e.ScheduledFor, &e.Arg)
		})
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// newScheduler returns a scheduler on db with the fake clock c.
func newScheduler(tb testing.TB, db scheduler.DB, c *clock, a scheduler.Actions, mod func(*scheduler.Config)) (*scheduler.Scheduler, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	cfg := scheduler.Config{
		DB: db, Log: zaptest.NewLogger(tb), NowFunc: c.Now, Actions: a,
		Calendar: bankday.Calendar{NRW: true}, Registerer: reg,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := scheduler.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s, reg
}

func exportAction(f func(ctx context.Context) error) scheduler.Actions {
	return scheduler.Actions{ExportFunc: func(ctx context.Context, _ string) (string, error) {
		if err := f(ctx); err != nil {
			return "", err
		}
		return "exported", nil
	}}
}

func runDue(tb testing.TB, s *scheduler.Scheduler) int {
	tb.Helper()
	n, err := s.RunDue(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func jobRows(tb testing.TB, db *store.DB) []scheduler.JobInfo {
	tb.Helper()
	js, err := scheduler.ListJobs(context.Background(), db, scheduler.ListOptions{Limit: 1000})
	if err != nil {
		tb.Fatal(err)
	}
	return js
}

func openSecondPool(tb testing.TB, db *store.DB) *store.DB {
	tb.Helper()
	db2, err := store.Open(context.Background(), db.Pool().Config().ConnString(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db2.Close)
	return db2
}

// metricValue sums the samples of counter name whose labels include want.
func metricValue(tb testing.TB, reg *prometheus.Registry, name string, want map[string]string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := want[l.GetName()]; ok && v != l.GetValue() {
					continue metric
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
