package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
)

// BookingBatch is one batch of the pull API. ID 0 with no Records means
// there is nothing after the cursor.
type BookingBatch struct {
	ID      int64
	After   int64    // the cursor the batch starts after
	Cursor  int64    // the cursor to ask with after acknowledging
	Records []string // JSON objects, in cursor order
}

// NextBatch returns the batch of at most limit booking records after
// cursor after for municipality. While a batch starting at after is not
// acknowledged, the same batch (same id and records) is returned again, so
// a client that crashed between pull and ack gets it once more. Batches
// are serialised per municipality by a transaction-scoped advisory lock.
//
// Cursors are positions in the municipality's journals, one after the
// other in export order (migration 0085): the records are generated from
// the exported runs' lines and the rules stored with each journal, the
// same records as the export's bookings JSON. Records stored in
// booking_lines before migration 0085 come first, with their ids as
// cursors.
func (db *DB) NextBatch(ctx context.Context, municipality string, after int64, limit int) (BookingBatch, error) {
	if after < 0 || limit < 1 {
		return BookingBatch{}, fmt.Errorf("store: next booking batch: after %d, limit %d: %w", after, limit, payrun.ErrInvalid)
	}
	b := BookingBatch{After: after, Cursor: after}
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, bookingsLock, municipality); err != nil {
			return err
		}
		legacyMax, err := openBatch(ctx, tx, municipality, after, limit, &b)
		if err != nil || b.ID == 0 {
			return err
		}
		if after < legacyMax {
			rows, err := tx.Query(ctx, `SELECT record FROM booking_lines
				WHERE municipality = $1 AND id > $2 AND id <= $3 ORDER BY id`, municipality, after, b.Cursor)
			if err != nil {
				return err
			}
			b.Records, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		}
		ranges, err := journalsIn(ctx, tx, municipality, after, b.Cursor)
		if err != nil {
			return err
		}
		b.Records = make([]string, 0, b.Cursor-after)
		for _, jr := range ranges {
			if b.Records, err = journalRecords(ctx, tx, municipality, jr, b.Records); err != nil {
				return err
			}
		}
		if int64(len(b.Records)) != b.Cursor-after {
			return fmt.Errorf("batch %d: %d records for cursors %d–%d: %w", b.ID, len(b.Records), after+1, b.Cursor, payrun.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return BookingBatch{}, fmt.Errorf("store: next booking batch of %s after %d: %w", municipality, after, err)
	}
	return b, nil
}

// openBatch finds the unacknowledged batch after cursor after, or opens a
// new one over the next records (legacy booking_lines rows first, then the
// journals), and sets b.ID and b.Cursor; b.ID stays 0 when there is
// nothing after the cursor. It returns the highest legacy id.
func openBatch(ctx context.Context, tx pgx.Tx, municipality string, after int64, limit int, b *BookingBatch) (int64, error) {
	var legacyMax, end int64
	if err := tx.QueryRow(ctx, `SELECT
			(SELECT coalesce(max(id), 0) FROM booking_lines WHERE municipality = $1),
			(SELECT coalesce(max(first_pos + records), 0) FROM booking_journals WHERE municipality = $1)`,
		municipality).Scan(&legacyMax, &end); err != nil {
		return 0, err
	}
	err := tx.QueryRow(ctx, `SELECT id, last_id FROM booking_batches
		WHERE municipality = $1 AND after_id = $2 AND acked_at IS NULL ORDER BY id LIMIT 1`,
		municipality, after).Scan(&b.ID, &b.Cursor)
	if err != pgx.ErrNoRows {
		return legacyMax, err
	}
	if after < legacyMax {
		err = tx.QueryRow(ctx, `
			WITH l AS (SELECT id FROM booking_lines WHERE municipality = $1 AND id > $2 ORDER BY id LIMIT $3)
			INSERT INTO booking_batches (municipality, after_id, last_id, lines)
			SELECT $1, $2, max(id), count(*) FROM l HAVING count(*) > 0
			RETURNING id, last_id`, municipality, after, limit).Scan(&b.ID, &b.Cursor)
	} else {
		last := min(after+int64(limit), end)
		if last <= after {
			return legacyMax, nil // nothing new
		}
		err = tx.QueryRow(ctx, `INSERT INTO booking_batches (municipality, after_id, last_id, lines)
			VALUES ($1, $2, $3, $4) RETURNING id, last_id`, municipality, after, last, last-after).Scan(&b.ID, &b.Cursor)
	}
	if err == pgx.ErrNoRows {
		return legacyMax, nil
	}
	return legacyMax, err
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
