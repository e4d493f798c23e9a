package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/export"
	"github.com/payrun/payrun/payrun/runs"
	"github.com/payrun/payrun/payrun/store"
	"github.com/payrun/payrun/scheduler"
	"github.com/payrun/payrun/sepa/bankday"
)

// actionsConfig configures the scheduler's job bodies.
type actionsConfig struct {
	// ExportDir receives released runs' files as ExportDir/<municipality>/<run>
	// (the layout of the web pages' downloads).
	ExportDir string
	Log       *zap.Logger
	Now       func() time.Time
}

// schedulerActions wires the job bodies to the run and export packages.
// The scheduler acts as each municipality's system user: it creates and
// recomputes proposed runs and exports released ones, and never signs
// (the database refuses signatures of system users).
func schedulerActions(db *store.DB, c actionsConfig) scheduler.Actions {
	a := &jobActions{db: db, cfg: c, log: cmp.Or(c.Log, zap.NewNop()).Named("jobs")}
	if a.cfg.Now == nil {
		a.cfg.Now = time.Now
	}
	return scheduler.Actions{
		MunicipalitiesFunc:   a.municipalities,
		MonthlyRunFunc:       a.monthlyRun,
		SupplementaryRunFunc: a.supplementaryRun,
		ExportFunc:           a.export,
		RemindersFunc:        a.reminders,
	}
}

type jobActions struct {
	db  *store.DB
	cfg actionsConfig
	log *zap.Logger
}

// municipalities lists the municipalities of kind municipality (not the
// county or the Kopfstelle, which have no runs).
func (a *jobActions) municipalities(ctx context.Context) ([]string, error) {
	var out []string
	err := a.db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT key FROM municipalities WHERE kind = 'municipality' ORDER BY key`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: municipalities: %w", err)
	}
	return out, nil
}

// runRow is a run as the job bodies see it.
type runRow struct {
	ID     int64
	Kind   payrun.RunKind
	Period payrun.Month
	State  payrun.RunState
}

// openRuns returns the municipality's runs in the given states, oldest first.
func (a *jobActions) openRuns(ctx context.Context, m string, states ...payrun.RunState) ([]runRow, error) {
	ss := make([]string, len(states))
	for i, s := range states {
		ss[i] = string(s)
	}
	var out []runRow
	err := a.db.WithTx(ctx, m, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, kind, (extract(year FROM period)::int * 12 + extract(month FROM period)::int - 1),
				state FROM runs WHERE municipality = $1 AND state = ANY($2) ORDER BY id`, m, ss)
		if err != nil {
			return err
		}
		var r runRow
		var period int32
		_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.Kind, &period, &r.State}, func() error {
			r.Period = payrun.Month(period)
			out = append(out, r)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: runs of %s: %w", m, err)
	}
	return out, nil
}

// liveMonthly returns the live (signed) monthly run of m for period.
func (a *jobActions) liveMonthly(ctx context.Context, m string, period payrun.Month) (runRow, bool, error) {
	rs, err := a.openRuns(ctx, m, payrun.RunEstablished, payrun.RunReleased, payrun.RunExported)
	if err != nil {
		return runRow{}, false, err
	}
	for _, r := range rs {
		if r.Kind == payrun.RunMonthly && r.Period == period {
			return r, true, nil
		}
	}
	return runRow{}, false, nil
}

// create runs runs.Create and describes the outcome; nothing to pay is
// not a failure.
func (a *jobActions) create(ctx context.Context, m string, period payrun.Month) (string, error) {
	s, err := runs.Create(ctx, a.db, m, period, runs.Options{Actor: "scheduler", Now: a.cfg.Now})
	if errors.Is(err, payrun.ErrNothingToPay) {
		return fmt.Sprintf("nothing to pay for %s", period), nil
	}
	if err != nil {
		return "", err
	}
	verb := "created"
	if s.Refreshed {
		verb = "recomputed"
	}
	return fmt.Sprintf("%s %s run %d for %s: %d lines, total %s, digest %x", verb, s.Kind, s.ID, period, s.Lines, s.Total, s.Digest), nil
}

// monthlyRun creates or recomputes the proposed monthly run for period. A
// period whose monthly run is already signed is left to the supplementary
// job: its signed content is frozen. A municipality has one proposed run
// at a time (store.BuildRun): a supplementary run still proposed when the
// next period's window opens becomes that period's monthly run, which pays
// its changes too.
func (a *jobActions) monthlyRun(ctx context.Context, m string, period payrun.Month) (string, error) {
	if r, ok, err := a.liveMonthly(ctx, m, period); err != nil {
		return "", err
	} else if ok {
		return fmt.Sprintf("skipped: monthly run %d of %s is %s; changes go to a supplementary run", r.ID, period, r.State), nil
	}
	return a.create(ctx, m, period)
}

// supplementaryRun pays what changed after a monthly run was signed: for
// the latest of the coming and the current period whose monthly run is
// live, it creates (or recomputes) a supplementary run. A proposed
// supplementary run of an earlier period is recomputed for that period
// (it pays all months up to it). While a proposed monthly run is open it
// does nothing: the monthly job owns that run, and it pays the same
// changes.
func (a *jobActions) supplementaryRun(ctx context.Context, m string, today payrun.Date) (string, error) {
	var period payrun.Month
	for _, p := range []payrun.Month{today.Month() + 1, today.Month()} {
		_, ok, err := a.liveMonthly(ctx, m, p)
		if err != nil {
			return "", err
		}
		if ok {
			period = p
			break
		}
	}
	if period == 0 {
		return fmt.Sprintf("skipped: no signed monthly run for %s or %s", today.Month(), today.Month()+1), nil
	}
	proposed, err := a.openRuns(ctx, m, payrun.RunProposed)
	if err != nil {
		return "", err
	}
	for _, r := range proposed {
		if r.Kind != payrun.RunSupplementary || r.Period > period {
			return fmt.Sprintf("skipped: proposed %s run %d for %s is open", r.Kind, r.ID, r.Period), nil
		}
	}
	return a.create(ctx, m, period)
}

// systemUser returns the id of m's system user, the actor of exports.
func (a *jobActions) systemUser(ctx context.Context, m string) (int64, string, error) {
	var id int64
	var login string
	err := a.db.WithTx(ctx, m, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id, login FROM users WHERE municipality = $1 AND system AND disabled_at IS NULL
			ORDER BY id LIMIT 1`, m).Scan(&id, &login)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", fmt.Errorf("jobs: municipality %s has no system user: %w", m, payrun.ErrNotFound)
	} else if err != nil {
		return 0, "", fmt.Errorf("jobs: system user of %s: %w", m, err)
	}
	return id, login, nil
}

// exportDir is where run id of m is exported.
func (a *jobActions) exportDir(m string, id int64) string {
	return filepath.Join(a.cfg.ExportDir, m, strconv.FormatInt(id, 10))
}

// export exports every released run of m as its system user. Exported
// runs are not released any more, so a run exports once.
func (a *jobActions) export(ctx context.Context, m string) (string, error) {
	if a.cfg.ExportDir == "" {
		return "", errors.New("jobs: export: no export directory configured")
	}
	rs, err := a.openRuns(ctx, m, payrun.RunReleased)
	if err != nil {
		return "", err
	}
	if len(rs) == 0 {
		return "no released runs", nil
	}
	uid, login, err := a.systemUser(ctx, m)
	if err != nil {
		return "", err
	}
	var done []string
	for _, r := range rs {
		man, err := export.Run(ctx, a.db, r.ID, a.exportDir(m, r.ID), export.Options{
			Municipality: m, ActorID: uid, Actor: login, Log: a.log,
		})
		if err != nil {
			return strings.Join(done, "; "), fmt.Errorf("jobs: export run %d of %s: %w", r.ID, m, err)
		}
		done = append(done, fmt.Sprintf("run %d: %d files", r.ID, len(man.Files)))
	}
	return "exported " + strings.Join(done, "; "), nil
}

// reminders lists m's runs that are not released and whose execution
// date (the municipality's execution_days_before business days before the
// 1st of the period) is on or before until.
func (a *jobActions) reminders(ctx context.Context, m string, until payrun.Date) ([]scheduler.Reminder, error) {
	var raw json.RawMessage
	err := a.db.WithTx(ctx, m, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT settings FROM municipalities WHERE key = $1`, m).Scan(&raw)
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: settings of %s: %w", m, err)
	}
	var settings store.ExportSettings
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &settings); err != nil {
			return nil, fmt.Errorf("jobs: settings of %s: %w", m, err)
		}
	}
	rs, err := a.openRuns(ctx, m, payrun.RunProposed, payrun.RunEstablished)
	if err != nil {
		return nil, err
	}
	cal := bankday.Calendar{NRW: settings.NRWHolidays}
	var out []scheduler.Reminder
	for _, r := range rs {
		exec := payrun.DateOf(cal.ExecutionDate(r.Period.First().Time(time.UTC), cmp.Or(settings.ExecutionDaysBefore, 1)))
		if exec <= until {
			out = append(out, scheduler.Reminder{RunID: r.ID, Period: r.Period, State: string(r.State), ExecutionDate: exec})
		}
	}
	return out, nil
}
