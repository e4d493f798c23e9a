package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payrun/payrun/payrun"
)

// loader writes an import in its transaction: it copies the input into
// import_staging, then inserts the decisions, the held lines, the new cases
// and the reclaims (see importTx).
type loader struct {
	tx        pgx.Tx
	importID  int64
	now       time.Time
	chunkRows int
	stored    map[string]bool // municipalities with decisions stored before the import
	held      []int32         // lines whose decision key occurred on an earlier line
	reclaims  reclaimList     // of the lines with an offset
	inserted  int             // decisions inserted
	bulk      bool            // the indexes of decisions and cases are dropped (beginBulk)
}

// beginBulk drops the indexes of decisions and cases (and the foreign key
// of reclaims to cases) when no decisions are stored and the three tables
// are empty and can be locked at once (payrun_import_bulk_begin, migration
// 0100); insert builds them again after inserting.
func (l *loader) beginBulk(ctx context.Context) error {
	if len(l.stored) > 0 {
		return nil
	}
	if err := l.tx.QueryRow(ctx, `SELECT payrun_import_bulk_begin()`).Scan(&l.bulk); err != nil {
		return fmt.Errorf("store: import: bulk load: %w", err)
	}
	return nil
}

// copy copies the source into import_staging.
func (l *loader) copy(ctx context.Context, src *decisionSource) error {
	if _, err := l.tx.Conn().PgConn().CopyFrom(ctx, src, stagingCopy); err != nil {
		if rerr := src.err(); rerr != nil {
			return fmt.Errorf("store: import: read: %w", rerr)
		}
		return fmt.Errorf("store: import: copy: %w", err)
	}
	l.held, l.reclaims = src.held, src.reclaims
	return nil
}

// lock takes the locks of every municipality and notes which have stored
// decisions.
func (l *loader) lock(ctx context.Context) error {
	if _, err := l.tx.Exec(ctx, `SELECT payrun_lock_municipality(key) FROM municipalities ORDER BY key`); err != nil {
		return fmt.Errorf("store: import: lock: %w", err)
	}
	rows, err := l.tx.Query(ctx, `
SELECT key FROM municipalities m WHERE EXISTS (SELECT 1 FROM decisions d WHERE d.municipality = m.key)`)
	if err != nil {
		return fmt.Errorf("store: import: stored decisions: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("store: import: stored decisions: %w", err)
	}
	l.stored = map[string]bool{}
	for _, k := range keys {
		l.stored[k] = true
	}
	return nil
}

// insert writes the staged lines: the decisions (all but the held lines)
// in chunks of pages of import_staging, so that the transition tables of
// the decisions triggers stay in memory; the new cases (of the key
// tracker's case table) and the reclaims; after a bulk load the indexes;
// then the held lines that are not repeats or stored.
//
// Lines the checks skip (a repeat of an earlier line, or a decision stored
// before with the same content) are not inserted: a held line goes in with
// ON CONFLICT DO NOTHING, as does every line when the input's
// municipalities have stored decisions; every other line has a decision key
// no earlier line and no stored decision has. They need no exception in the
// cases and reclaims inserts either: a repeat has the content of the line it
// repeats, and a decision stored before has its case and its reclaim stored
// (DO NOTHING). Existing cases are not touched here: the decisions inserts
// lower their recompute_from (trigger decisions_lower), under the
// municipality locks, so no other transaction adds cases meanwhile.
func (l *loader) insert(ctx context.Context, cases *caseTable, municipalities []string, st *stageLog) error {
	held := l.held
	if held == nil {
		held = []int32{} // not NULL
	}
	stored := false
	for _, m := range municipalities {
		stored = stored || l.stored[m]
	}
	if stored {
		// Lines whose decision is stored are left out by an anti-join (under
		// the locks nobody else adds decisions): a re-import inserts nothing,
		// without trying every row against the primary key.
		tag, err := l.noMergeJoin(ctx, `
INSERT INTO decisions (`+stagingColumns+`, import_id, imported_at)
SELECT `+stagingColumns+`, $1, $2
FROM import_staging s
WHERE NOT (s.line = ANY ($3::int[]))
  AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.municipality = s.municipality AND d.decision_id = s.decision_id)`,
			l.importID, l.now, held)
		if err != nil {
			return fmt.Errorf("store: import: insert decisions: %w", err)
		}
		l.inserted += int(tag.RowsAffected())
	} else if err := l.insertChunks(ctx, held); err != nil {
		return err
	}
	st.done("insert decisions")
	if err := l.insertCases(ctx, cases, municipalities); err != nil {
		return err
	}
	st.done("insert cases")
	if l.reclaims.n > 0 {
		if err := l.insertReclaims(ctx); err != nil {
			return err
		}
		st.done("insert reclaims")
	}
	if l.bulk {
		if _, err := l.tx.Exec(ctx, `SELECT payrun_import_bulk_end()`); err != nil {
			return fmt.Errorf("store: import: build indexes: %w", err)
		}
		st.done("build indexes")
	}
	// The held lines need the primary key (ON CONFLICT).
	if len(l.held) > 0 {
		tag, err := l.tx.Exec(ctx, `
INSERT INTO decisions (`+stagingColumns+`, import_id, imported_at)
SELECT `+stagingColumns+`, $1, $2
FROM import_staging s WHERE s.line = ANY ($3::int[]) ORDER BY line
ON CONFLICT (municipality, decision_id) DO NOTHING`, customPlan, l.importID, l.now, l.held)
		if err != nil {
			return fmt.Errorf("store: import: insert held decisions: %w", err)
		}
		l.inserted += int(tag.RowsAffected())
		st.done("insert held decisions")
	}
	return nil
}

// noMergeJoin runs an anti-join of the staged rows against a stored table
// without merge joins: the row-level security policy makes the planner
// think the stored table small, and it would sort the wide staged rows on
// disk to merge them (5x slower than a hash or a nested loop).
func (l *loader) noMergeJoin(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if _, err := l.tx.Exec(ctx, `SET LOCAL enable_mergejoin = off`); err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := l.tx.Exec(ctx, sql, append([]any{customPlan}, args...)...)
	if err != nil {
		return tag, err
	}
	_, err = l.tx.Exec(ctx, `RESET enable_mergejoin`)
	return tag, err
}

// insertChunks inserts the staged decisions but the held lines in chunks of
// pages of import_staging, so that the transition tables of the decisions
// triggers stay in memory.
func (l *loader) insertChunks(ctx context.Context, held []int32) error {
	var pages int64
	if err := l.tx.QueryRow(ctx, `SELECT pg_relation_size('import_staging') / current_setting('block_size')::int`).Scan(&pages); err != nil {
		return fmt.Errorf("store: import: staging size: %w", err)
	}
	// Page ranges of about chunkRows rows (at least 8 rows per page).
	step := max(1, int64(l.chunkRows/8))
	for p := int64(0); p <= pages; p += step {
		tag, err := l.tx.Exec(ctx, `
INSERT INTO decisions (`+stagingColumns+`, import_id, imported_at)
SELECT `+stagingColumns+`, $1, $2
FROM import_staging s
WHERE s.ctid >= format('(%s,0)', $3::bigint)::tid AND s.ctid < format('(%s,0)', $4::bigint)::tid
  AND NOT (s.line = ANY ($5::int[]))`, customPlan, l.importID, l.now, p, p+step, held)
		if err != nil {
			return fmt.Errorf("store: import: insert decisions: %w", err)
		}
		l.inserted += int(tag.RowsAffected())
	}
	return nil
}

// casesPerInsert bounds the rows of one cases insert (its parameters, and
// the transition table of its trigger, stay small).
const casesPerInsert = 65536

// insertCases inserts the cases of the input that are not stored yet, in
// the order of their primary key, each with the first month of its
// earliest line as recompute_from. When the input's municipalities have no
// cases yet, a plain insert (no conflict arbitration per row) does.
func (l *loader) insertCases(ctx context.Context, cases *caseTable, municipalities []string) (err error) {
	var stored bool
	if err := l.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cases WHERE municipality = ANY ($1))`,
		municipalities).Scan(&stored); err != nil {
		return fmt.Errorf("store: import: stored cases: %w", err)
	}
	q := `
INSERT INTO cases (municipality, case_id, first_seen, recompute_from)
SELECT municipality, case_id, $4, recompute_from
FROM (SELECT unnest($1::text[]) AS municipality, unnest($2::text[]) AS case_id, unnest($3::date[]) AS recompute_from) c`
	per := casesPerInsert
	if stored {
		// Cases that exist are left out by an anti-join (under the locks
		// nobody else adds cases), in one statement (one scan of cases).
		q += `
WHERE NOT EXISTS (SELECT 1 FROM cases x WHERE x.municipality = c.municipality AND x.case_id = c.case_id)
ON CONFLICT (municipality, case_id) DO NOTHING`
		per = len(cases.entries)
		if _, err := l.tx.Exec(ctx, `SET LOCAL enable_mergejoin = off`); err != nil { // see noMergeJoin
			return fmt.Errorf("store: import: cases: %w", err)
		}
		defer func() {
			if _, rerr := l.tx.Exec(ctx, `RESET enable_mergejoin`); err == nil && rerr != nil {
				err = fmt.Errorf("store: import: cases: %w", rerr)
			}
		}()
	}
	now := binary.BigEndian.AppendUint64(nil, uint64(l.now.Sub(pgEpoch).Microseconds()))
	order := cases.sorted()
	for len(order) > 0 {
		part := order[:min(len(order), per)]
		order = order[len(part):]
		var mun, id, from copyTuple
		for _, i := range part {
			e := &cases.entries[i]
			mun.text(cases.municipalities[e.mun])
			id.bytes(cases.name(e))
			y, m, _ := e.from.YMD()
			from.date(payrun.NewDate(y, m, 1))
		}
		params := [][]byte{arrayParam(textOID, len(part), mun.b), arrayParam(textOID, len(part), id.b),
			arrayParam(dateOID, len(part), from.b), now}
		oids := []uint32{textArrayOID, textArrayOID, dateArrayOID, timestamptzOID}
		if _, err := l.tx.Conn().PgConn().ExecParams(ctx, q, params, oids, []int16{1, 1, 1, 1}, nil).Close(); err != nil {
			return fmt.Errorf("store: import: cases: %w", err)
		}
	}
	return nil
}

// insertReclaims inserts the reclaims the lines set off that are not
// stored yet, each with the amount of its first line.
func (l *loader) insertReclaims(ctx context.Context) error {
	r := &l.reclaims
	params := [][]byte{arrayParam(textOID, r.n, r.municipality.b), arrayParam(textOID, r.n, r.reclaimID.b),
		arrayParam(textOID, r.n, r.caseID.b), arrayParam(numericOID, r.n, r.remaining.b), arrayParam(int4OID, r.n, r.line.b),
		binary.BigEndian.AppendUint64(nil, uint64(l.now.Sub(pgEpoch).Microseconds()))}
	oids := []uint32{textArrayOID, textArrayOID, textArrayOID, numericArrayOID, int4ArrayOID, timestamptzOID}
	_, err := l.tx.Conn().PgConn().ExecParams(ctx, `
INSERT INTO reclaims (municipality, reclaim_id, case_id, amount, created_at)
SELECT DISTINCT ON (municipality, reclaim_id) municipality, reclaim_id, case_id, amount, $6
FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::int[]) AS r(municipality, reclaim_id, case_id, amount, line)
ORDER BY municipality, reclaim_id, line
ON CONFLICT (municipality, reclaim_id) DO NOTHING`, params, oids, []int16{1, 1, 1, 1, 1, 1}, nil).Close()
	if err != nil {
		return fmt.Errorf("store: import: reclaims: %w", err)
	}
	return nil
}

// customPlan makes pgx run a statement as an unnamed one, which
// PostgreSQL plans with the parameters' values: a large array parameter of
// = ANY is then a constant, looked up in a hash table. (A cached statement
// may get a generic plan, which searches the array element by element; and
// plan_cache_mode = force_custom_plan would replan the statements of
// triggers, foreign-key checks among them, on every row.)
const customPlan = pgx.QueryExecModeExec

// Type OIDs of binary parameters.
const (
	int4OID         = 23
	dateOID         = 1082
	numericOID      = 1700
	int4ArrayOID    = 1007
	textArrayOID    = 1009
	dateArrayOID    = 1182
	numericArrayOID = 1231
	timestamptzOID  = 1184
)

// pgEpoch is day zero of PostgreSQL's binary timestamps.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// arrayParam is a one-dimensional array of n non-null elements (binary
// form).
func arrayParam(elem uint32, n int, elems []byte) []byte {
	b := make([]byte, 0, 20+len(elems))
	if n == 0 {
		b = binary.BigEndian.AppendUint32(b, 0)
		b = binary.BigEndian.AppendUint32(b, 0)
		return binary.BigEndian.AppendUint32(b, elem)
	}
	b = binary.BigEndian.AppendUint32(b, 1) // dimensions
	b = binary.BigEndian.AppendUint32(b, 0) // no nulls
	b = binary.BigEndian.AppendUint32(b, elem)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	b = binary.BigEndian.AppendUint32(b, 1) // lower bound
	return append(b, elems...)
}
