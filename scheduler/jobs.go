package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
)

// Job is one claimed occurrence of a schedule. Job bodies get it with
// JobFrom(ctx).
type Job struct {
	Municipality string
	ID           int64
	Kind         Kind
	ScheduledFor time.Time
	Attempt      int // 1-based
	MaxAttempts  int
}

type jobKey struct {
	municipality string
	id           int64
}

func (j Job) key() jobKey { return jobKey{j.Municipality, j.ID} }

type jobContextKey struct{}

// JobFrom returns the job whose body runs with ctx.
func JobFrom(ctx context.Context) (Job, bool) {
	j, ok := ctx.Value(jobContextKey{}).(Job)
	return j, ok
}

// jobParams are the settings a body needs besides the job.
type jobParams struct {
	businessDays        int
	executionDaysBefore int
}

// activeKinds returns the kinds that have a body.
func (s *Scheduler) activeKinds() []string {
	var ks []string
	for _, k := range Kinds {
		if s.cfg.Actions.has(k) {
			ks = append(ks, string(k))
		}
	}
	return ks
}

func (s *Scheduler) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.cfg.DB.WithTx(ctx, allMunicipalities, fn)
}

// ensureDefaultsEvery inserts default schedules at most once an hour.
func (s *Scheduler) ensureDefaultsEvery(ctx context.Context, now time.Time) error {
	s.mu.Lock()
	due := s.defaultsDone.IsZero() || now.Sub(s.defaultsDone) >= time.Hour || now.Before(s.defaultsDone)
	s.mu.Unlock()
	if !due || s.cfg.Actions.MunicipalitiesFunc == nil {
		return nil
	}
	if err := s.EnsureDefaults(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	s.defaultsDone = now
	s.mu.Unlock()
	return nil
}

// EnsureDefaults gives every municipality of Actions.MunicipalitiesFunc a
// default schedule for each kind that has a body and no schedule yet. A new
// schedule starts planning from now: nothing before it is caught up.
func (s *Scheduler) EnsureDefaults(ctx context.Context) error {
	ms, err := s.cfg.Actions.MunicipalitiesFunc(ctx)
	if err != nil {
		return fmt.Errorf("scheduler: list municipalities: %w", err)
	}
	var mun, kinds, specs []string
	var days []int32
	for _, m := range ms {
		for _, k := range s.activeKinds() {
			spec, d := defaultSchedule(Kind(k))
			mun, kinds, specs, days = append(mun, m), append(kinds, k), append(specs, spec), append(days, int32(d))
		}
	}
	if len(mun) == 0 {
		return nil
	}
	now := s.now()
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO schedules (municipality, kind, spec, business_days, last_planned_at)
			SELECT m, k, sp, d, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS u(m, k, sp, d)
			ON CONFLICT DO NOTHING`, mun, kinds, specs, days, now)
		if err != nil {
			return fmt.Errorf("scheduler: insert default schedules: %w", err)
		}
		return nil
	})
}

type scheduleRow struct {
	municipality, kind, spec string
	last                     time.Time
}

// plan enqueues the latest due occurrence of every enabled schedule whose
// kind has a body. Schedules another instance is planning are skipped.
func (s *Scheduler) plan(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT municipality, kind, spec, last_planned_at FROM schedules
			WHERE enabled AND kind = ANY($1) ORDER BY municipality, kind FOR UPDATE SKIP LOCKED`, s.activeKinds())
		if err != nil {
			return fmt.Errorf("scheduler: read schedules: %w", err)
		}
		scheds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (scheduleRow, error) {
			var sr scheduleRow
			return sr, r.Scan(&sr.municipality, &sr.kind, &sr.spec, &sr.last)
		})
		if err != nil {
			return fmt.Errorf("scheduler: read schedules: %w", err)
		}
		for _, sr := range scheds {
			added, err := s.planOne(ctx, tx, sr, now)
			if err != nil {
				return err
			}
			n += added
		}
		return nil
	})
	return n, err
}

func (s *Scheduler) planOne(ctx context.Context, tx pgx.Tx, sr scheduleRow, now time.Time) (int, error) {
	sched, err := ParseSpec(sr.spec, s.loc)
	if err != nil {
		s.log.Error("bad schedule", zap.String("municipality", sr.municipality), zap.String("kind", sr.kind), zap.Error(err))
		return 0, nil
	}
	at, ok := latestDue(sched, sr.last, now)
	if !ok {
		return 0, nil
	}
	tag, err := tx.Exec(ctx, `INSERT INTO jobs (municipality, kind, scheduled_for, max_attempts, next_attempt_at, created_at)
		VALUES ($1, $2, $3, $4, $3, $5) ON CONFLICT DO NOTHING`, sr.municipality, sr.kind, at, s.cfg.MaxAttempts, now)
	if err != nil {
		return 0, fmt.Errorf("scheduler: enqueue %s %s at %s: %w", sr.municipality, sr.kind, at, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE schedules SET last_planned_at = $3 WHERE municipality = $1 AND kind = $2`,
		sr.municipality, sr.kind, at); err != nil {
		return 0, fmt.Errorf("scheduler: schedule %s %s: %w", sr.municipality, sr.kind, err)
	}
	if tag.RowsAffected() > 0 {
		s.log.Info("job planned", zap.String("municipality", sr.municipality), zap.String("kind", sr.kind), zap.Time("scheduled_for", at))
	}
	return int(tag.RowsAffected()), nil
}

// reapExpired takes back jobs whose lease expired: their attempt is lost;
// the job is retried at once, or marked failed when it has no attempts left.
func (s *Scheduler) reapExpired(ctx context.Context, now time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH r AS (
				UPDATE jobs SET
					state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
					next_attempt_at = $1,
					finished_at = CASE WHEN attempts >= max_attempts THEN $1 END,
					outcome = CASE WHEN attempts >= max_attempts THEN 'failed' END,
					error = 'lease of ' || claimed_by || ' expired (process died or stalled)'
				WHERE state = 'running' AND claimed_until <= $1
				RETURNING municipality, id, kind, attempts, state, claimed_by),
			a AS (
				UPDATE job_attempts ja SET outcome = 'lost', finished_at = $1, error = 'lease expired'
				FROM r WHERE ja.municipality = r.municipality AND ja.job_id = r.id AND ja.attempt = r.attempts)
			SELECT municipality, id, kind, attempts, state, claimed_by FROM r`, now)
		if err != nil {
			return fmt.Errorf("scheduler: reap expired leases: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var m, kind, state, by string
			var id int64
			var attempts int
			if err := rows.Scan(&m, &id, &kind, &attempts, &state, &by); err != nil {
				return fmt.Errorf("scheduler: reap expired leases: %w", err)
			}
			s.metrics.runs.WithLabelValues(kind, "lost").Inc()
			log := s.log.With(zap.String("municipality", m), zap.Int64("job", id), zap.String("kind", kind),
				zap.Int("attempt", attempts), zap.String("claimed_by", by))
			if state == "failed" {
				s.metrics.failures.WithLabelValues(kind).Inc()
				log.Error("job failed: lease expired on its last attempt")
			} else {
				log.Warn("job lease expired: will retry")
			}
		}
		return rows.Err()
	})
}

// claim takes one due job, or returns false when none is due.
func (s *Scheduler) claim(ctx context.Context, now time.Time) (Job, bool, error) {
	var j Job
	found := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `WITH c AS (
				SELECT municipality, id FROM jobs
				WHERE state = 'pending' AND next_attempt_at <= $1 AND kind = ANY($4)
				ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
			UPDATE jobs j SET state = 'running', attempts = j.attempts + 1, claimed_by = $2,
				claimed_until = $3, started_at = $1, finished_at = NULL
			FROM c WHERE j.municipality = c.municipality AND j.id = c.id
			RETURNING j.municipality, j.id, j.kind, j.scheduled_for, j.attempts, j.max_attempts`,
			now, s.cfg.InstanceID, now.Add(s.cfg.Lease), s.activeKinds()).
			Scan(&j.Municipality, &j.ID, &j.Kind, &j.ScheduledFor, &j.Attempt, &j.MaxAttempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("scheduler: claim: %w", err)
		}
		found = true
		_, err = tx.Exec(ctx, `INSERT INTO job_attempts (municipality, job_id, attempt, claimed_by, started_at)
			VALUES ($1, $2, $3, $4, $5)`, j.Municipality, j.ID, j.Attempt, s.cfg.InstanceID, now)
		if err != nil {
			return fmt.Errorf("scheduler: record attempt of job %d: %w", j.ID, err)
		}
		return nil
	})
	return j, found, err
}

// params reads the settings of job j's schedule and municipality.
func (s *Scheduler) params(ctx context.Context, j Job) (jobParams, error) {
	var p jobParams
	err := s.tx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT
				coalesce((SELECT business_days FROM schedules WHERE municipality = $1 AND kind = $2), 0),
				coalesce((SELECT (settings->>'execution_days_before')::int FROM municipalities WHERE key = $1), $3)`,
			j.Municipality, string(j.Kind), s.cfg.ExecutionDaysBefore).Scan(&p.businessDays, &p.executionDaysBefore)
	})
	if err != nil {
		return p, fmt.Errorf("scheduler: settings of job %d: %w", j.ID, err)
	}
	return p, nil
}

// extendLeases renews the leases of the jobs this instance runs.
func (s *Scheduler) extendLeases(ctx context.Context, now time.Time) error {
	keys := s.runningKeys()
	if len(keys) == 0 {
		return nil
	}
	mun, ids := make([]string, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		mun[i], ids[i] = k.municipality, k.id
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE jobs j SET claimed_until = $1
			FROM unnest($3::text[], $4::bigint[]) AS k(m, id)
			WHERE j.municipality = k.m AND j.id = k.id AND j.state = 'running' AND j.claimed_by = $2`,
			now.Add(s.cfg.Lease), s.cfg.InstanceID, mun, ids)
		if err != nil {
			return fmt.Errorf("scheduler: extend leases: %w", err)
		}
		return nil
	})
}

// execute runs the body of j with jobCtx and records the result using ctx
// (detached from cancellation, so a result is recorded during shutdown).
func (s *Scheduler) execute(ctx, jobCtx context.Context, j Job) {
	log := s.log.With(zap.String("municipality", j.Municipality), zap.Int64("job", j.ID), zap.String("kind", string(j.Kind)),
		zap.Time("scheduled_for", j.ScheduledFor), zap.Int("attempt", j.Attempt))
	log.Info("job started")
	start := s.now()
	outcome, output, err := s.runBody(context.WithValue(jobCtx, jobContextKey{}, j), j)
	s.metrics.duration.WithLabelValues(string(j.Kind)).Observe(s.now().Sub(start).Seconds())
	res := s.result(j, outcome, output, err, jobCtx.Err() != nil)
	recCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	kept, ferr := s.finish(recCtx, j, res)
	switch {
	case ferr != nil:
		log.Error("job result not recorded: the lease will expire and the job be retried", zap.Error(ferr))
	case !kept:
		log.Warn("job lease was lost before it finished: another instance retries it")
	default:
		s.report(log, j, res)
	}
}

// runBody runs the job body, turning a panic into an error.
func (s *Scheduler) runBody(ctx context.Context, j Job) (outcome string, output any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	p, err := s.params(ctx, j)
	if err != nil {
		return "", nil, err
	}
	return s.body(ctx, j, p)
}

// result is how an attempt ended.
type result struct {
	state    string // jobs.state after the attempt
	attempt  string // job_attempts.outcome
	outcome  string
	output   *string
	err      error
	retryAt  time.Time
	extraTry int // 1 when the attempt does not count (interrupted)
}

func (s *Scheduler) result(j Job, outcome string, output any, err error, interrupted bool) result {
	now := s.now()
	r := result{state: "succeeded", attempt: "succeeded", outcome: outcome, err: err, retryAt: now}
	if output != nil {
		b, merr := json.Marshal(output)
		if merr != nil && err == nil {
			r.err = fmt.Errorf("scheduler: encode job output: %w", merr)
		}
		str := string(b)
		r.output = &str
	}
	switch {
	case r.err == nil:
	case interrupted:
		r.state, r.attempt, r.outcome, r.extraTry = "pending", "interrupted", "interrupted by shutdown", 1
	case j.Attempt < j.MaxAttempts:
		r.state, r.attempt, r.outcome = "pending", "failed", "retry"
		r.retryAt = now.Add(s.backoff(j.Attempt))
	default:
		r.state, r.attempt, r.outcome = "failed", "failed", "failed"
	}
	return r
}

// finish records the result of j's attempt if this instance still holds
// the job; it returns false when the lease was lost.
func (s *Scheduler) finish(ctx context.Context, j Job, r result) (bool, error) {
	now := s.now()
	var errText *string
	if r.err != nil {
		e := r.err.Error()
		errText = &e
	}
	var finished *time.Time
	if r.state == "succeeded" || r.state == "failed" {
		finished = &now
	}
	kept := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE jobs SET state = $5, finished_at = $6, outcome = $7, error = $8,
				output = $9::jsonb, next_attempt_at = $10, max_attempts = max_attempts + $11, claimed_until = NULL
			WHERE municipality = $1 AND id = $2 AND attempts = $3 AND claimed_by = $4 AND state = 'running'`,
			j.Municipality, j.ID, j.Attempt, s.cfg.InstanceID, r.state, finished, r.outcome, errText, r.output, r.retryAt, r.extraTry)
		if err != nil {
			return fmt.Errorf("scheduler: finish job %d: %w", j.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		kept = true
		_, err = tx.Exec(ctx, `UPDATE job_attempts SET finished_at = $4, outcome = $5, error = $6
			WHERE municipality = $1 AND job_id = $2 AND attempt = $3`, j.Municipality, j.ID, j.Attempt, now, r.attempt, errText)
		if err != nil {
			return fmt.Errorf("scheduler: finish attempt of job %d: %w", j.ID, err)
		}
		return nil
	})
	return kept, err
}

// report logs and counts a recorded result.
func (s *Scheduler) report(log *zap.Logger, j Job, r result) {
	s.metrics.runs.WithLabelValues(string(j.Kind), r.attempt).Inc()
	switch {
	case r.err == nil:
		log.Info("job succeeded", zap.String("outcome", r.outcome))
	case r.state == "failed":
		s.metrics.failures.WithLabelValues(string(j.Kind)).Inc()
		log.Error("job failed: no attempts left", zap.Error(r.err))
	case r.attempt == "interrupted":
		log.Warn("job interrupted by shutdown: will retry", zap.Error(r.err))
	default:
		log.Warn("job attempt failed: will retry", zap.Time("retry_at", r.retryAt), zap.Error(r.err))
	}
}
