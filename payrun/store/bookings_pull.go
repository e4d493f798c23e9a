package store

import (
	"context"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
)

// StoreJournal stores the journal entries of run runID of municipality
// for the bookings pull API: COPY into a temporary table (COPY is not
// allowed on tables with row-level security), then one INSERT … SELECT.
// Storing a run's journal again adds nothing (entries are keyed by their
// number in the run). It returns the number of entries newly stored.
func (db *DB) StoreJournal(ctx context.Context, municipality string, runID int64, entries iter.Seq2[booking.Entry, error]) (int64, error) {
	run := fmt.Sprint(runID)
	var added int64
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		// The pull API's lock: cursors must not pass lines still uncommitted.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('payrun.bookings:' || $1, 0))`, municipality); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE booking_stage (n bigint, record text) ON COMMIT DROP`); err != nil {
			return err
		}
		next, stop := iter.Pull2(entries)
		defer stop()
		var n int64
		var buf []byte
		var rerr error
		src := pgx.CopyFromFunc(func() ([]any, error) {
			e, err, ok := next()
			if !ok {
				return nil, nil
			}
			if err != nil {
				rerr = err
				return nil, err
			}
			n++
			buf = booking.AppendJSON(buf[:0], run, &e)
			return []any{n, string(buf)}, nil
		})
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"booking_stage"}, []string{"n", "record"}, src); err != nil {
			if rerr != nil {
				return rerr
			}
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO booking_lines (municipality, run_id, n, record)
			SELECT $1, $2, n, record FROM booking_stage ORDER BY n
			ON CONFLICT (municipality, run_id, n) DO NOTHING`, municipality, runID)
		added = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: journal of run %d: %w", runID, err)
	}
	return added, nil
}

// BookingBatch is one batch of the pull API. ID 0 with no Records means
// there is nothing after the cursor.
type BookingBatch struct {
	ID      int64
	After   int64    // the cursor the batch starts after
	Cursor  int64    // the cursor to ask with after acknowledging
	Records []string // JSON objects, in cursor order
}

// NextBatch returns the batch of at most limit booking lines after cursor
// after for municipality. While a batch starting at after is not
// acknowledged, the same batch (same id and lines) is returned again, so a
// client that crashed between pull and ack gets it once more. Batches are
// serialised per municipality by a transaction-scoped advisory lock.
func (db *DB) NextBatch(ctx context.Context, municipality string, after int64, limit int) (BookingBatch, error) {
	if after < 0 || limit < 1 {
		return BookingBatch{}, fmt.Errorf("store: next booking batch: after %d, limit %d: %w", after, limit, payrun.ErrInvalid)
	}
	b := BookingBatch{After: after, Cursor: after}
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('payrun.bookings:' || $1, 0))`, municipality); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT id, last_id FROM booking_batches
			WHERE municipality = $1 AND after_id = $2 AND acked_at IS NULL ORDER BY id LIMIT 1`,
			municipality, after).Scan(&b.ID, &b.Cursor)
		if err == pgx.ErrNoRows {
			err = tx.QueryRow(ctx, `
				WITH l AS (SELECT id FROM booking_lines WHERE municipality = $1 AND id > $2 ORDER BY id LIMIT $3)
				INSERT INTO booking_batches (municipality, after_id, last_id, lines)
				SELECT $1, $2, max(id), count(*) FROM l HAVING count(*) > 0
				RETURNING id, last_id`, municipality, after, limit).Scan(&b.ID, &b.Cursor)
			if err == pgx.ErrNoRows {
				return nil // nothing new
			}
		}
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT record FROM booking_lines
			WHERE municipality = $1 AND id > $2 AND id <= $3 ORDER BY id`, municipality, after, b.Cursor)
		if err != nil {
			return err
		}
		b.Records, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return BookingBatch{}, fmt.Errorf("store: next booking batch of %s after %d: %w", municipality, after, err)
	}
	return b, nil
}

// Ack acknowledges batch id of municipality. Acknowledging a batch twice
// is harmless; an unknown batch (or another municipality's) gives an error
// wrapping payrun.ErrNotFound.
func (db *DB) Ack(ctx context.Context, municipality string, id int64) error {
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		var dummy int64
		return tx.QueryRow(ctx, `UPDATE booking_batches SET acked_at = coalesce(acked_at, now())
			WHERE municipality = $1 AND id = $2 RETURNING id`, municipality, id).Scan(&dummy)
	})
	if err != nil {
		return fmt.Errorf("store: ack booking batch %d of %s: %w", id, municipality, err)
	}
	return nil
}
