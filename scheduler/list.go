package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// JobInfo is one row of the job history.
type JobInfo struct {
	Municipality string          `json:"municipality"`
	ID           int64           `json:"id"`
	Kind         Kind            `json:"kind"`
	ScheduledFor time.Time       `json:"scheduled_for"`
	State        string          `json:"state"`
	Attempts     int             `json:"attempts"`
	MaxAttempts  int             `json:"max_attempts"`
	NextAttempt  time.Time       `json:"next_attempt_at"`
	ClaimedBy    string          `json:"claimed_by,omitempty"`
	StartedAt    *time.Time      `json:"started_at,omitempty"`
	FinishedAt   *time.Time      `json:"finished_at,omitempty"`
	Outcome      string          `json:"outcome,omitempty"`
	Error        string          `json:"error,omitempty"`
	Output       json.RawMessage `json:"output,omitempty"` // e.g. the reminder list
}

// ListOptions filter ListJobs. Zero values do not filter.
type ListOptions struct {
	Municipality string
	State        string // pending, running, succeeded, failed
	Kind         Kind
	Limit        int // default 50
}

// ListJobs returns jobs, the latest scheduled first.
func ListJobs(ctx context.Context, db DB, o ListOptions) ([]JobInfo, error) {
	limit := o.Limit
	if limit <= 0 {
		limit = 50
	}
	var out []JobInfo
	err := db.WithTx(ctx, allMunicipalities, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT municipality, id, kind, scheduled_for, state, attempts, max_attempts,
				next_attempt_at, coalesce(claimed_by, ''), started_at, finished_at, coalesce(outcome, ''),
				coalesce(error, ''), output::text
			FROM jobs
			WHERE ($1 = '' OR municipality = $1) AND ($2 = '' OR state = $2) AND ($3 = '' OR kind = $3)
			ORDER BY scheduled_for DESC, municipality, kind LIMIT $4`, o.Municipality, o.State, string(o.Kind), limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (JobInfo, error) {
			var j JobInfo
			var output *string
			err := r.Scan(&j.Municipality, &j.ID, &j.Kind, &j.ScheduledFor, &j.State, &j.Attempts, &j.MaxAttempts,
				&j.NextAttempt, &j.ClaimedBy, &j.StartedAt, &j.FinishedAt, &j.Outcome, &j.Error, &output)
			if output != nil {
				j.Output = json.RawMessage(*output)
			}
			return j, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("scheduler: list jobs: %w", err)
	}
	return out, nil
}
