package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/payrun/payrun/payrun"
)

// stagedChecks are the set-based checks over the staged lines. Each query
// returns (line, decision_id, field, value, message) rows.
var stagedChecks = []struct{ name, sql string }{
	{"municipality", `
SELECT s.line, s.decision_id, 'municipality', s.municipality, 'unknown municipality'
FROM import_staging s
WHERE NOT EXISTS (SELECT 1 FROM municipalities m WHERE m.key = s.municipality AND m.kind = 'municipality')`},
	{"duplicate", `
SELECT s.line, s.decision_id, 'decision_id', s.decision_id,
       'also on line ' || f.line || ' with other content (a decision is immutable)'
FROM import_staging s JOIN import_first f USING (municipality, decision_id)
WHERE s.line > f.line AND s.content_sha256 <> f.content_sha256`},
	{"immutable", `
SELECT f.line, f.decision_id, 'decision_id', f.decision_id,
       'already imported with other content (a decision is immutable; send a new decision that supersedes it)'
FROM import_first f
WHERE f.db_sha IS NOT NULL AND f.db_sha <> f.content_sha256`},
	{"supersedes", `
WITH known AS (
    SELECT municipality, decision_id, case_id, line FROM import_first WHERE db_sha IS NULL
    UNION ALL
    SELECT d.municipality, d.decision_id, d.case_id, NULL FROM decisions d
    WHERE (d.municipality, d.case_id) IN (SELECT municipality, case_id FROM import_first WHERE db_sha IS NULL))
SELECT n.line, n.decision_id, 'supersedes[' || (u.ord - 1) || ']', u.old,
       'no earlier decision of case ' || n.case_id || ' with this id'
FROM import_first n, unnest(n.supersedes) WITH ORDINALITY AS u(old, ord)
WHERE n.db_sha IS NULL AND NOT EXISTS (
    SELECT 1 FROM known k
    WHERE k.municipality = n.municipality AND k.case_id = n.case_id AND k.decision_id = u.old
      AND (k.line IS NULL OR k.line < n.line))`},
	// Effective periods: a superseded decision ends the day before the
	// earliest valid_from of the decisions that supersede it. Two decisions
	// of a case whose effective periods overlap must be in a supersedes
	// relation; the error is reported on the later (or new) line.
	{"overlap", `
WITH cand AS (
    SELECT municipality, decision_id, case_id, valid_from, valid_to, supersedes, line
    FROM import_first WHERE db_sha IS NULL
    UNION ALL
    SELECT d.municipality, d.decision_id, d.case_id, d.valid_from, d.valid_to, d.supersedes, NULL
    FROM decisions d
    WHERE (d.municipality, d.case_id) IN (SELECT municipality, case_id FROM import_first WHERE db_sha IS NULL)),
ends AS (
    SELECT c.municipality, c.case_id, u.old, min(c.valid_from) - 1 AS ends
    FROM cand c, unnest(c.supersedes) AS u(old)
    GROUP BY 1, 2, 3),
eff AS (
    SELECT c.*, least(coalesce(c.valid_to, 'infinity'::date), e.ends) AS eff_to
    FROM cand c LEFT JOIN ends e ON e.municipality = c.municipality AND e.case_id = c.case_id AND e.old = c.decision_id)
SELECT x.line, x.decision_id, 'valid_from', x.valid_from::text,
       'overlaps decision ' || y.decision_id || ' (' || y.valid_from || ' to ' ||
       CASE WHEN y.eff_to = 'infinity' THEN 'open' ELSE y.eff_to::text END ||
       ') of case ' || x.case_id || ' without superseding it'
FROM eff x JOIN eff y ON x.municipality = y.municipality AND x.case_id = y.case_id AND x.decision_id <> y.decision_id
WHERE x.line IS NOT NULL AND (y.line IS NULL OR y.line < x.line)
  AND x.valid_from <= x.eff_to AND y.valid_from <= y.eff_to
  AND x.valid_from <= y.eff_to AND y.valid_from <= x.eff_to
  AND NOT (y.decision_id = ANY (x.supersedes)) AND NOT (x.decision_id = ANY (y.supersedes))`},
}

// checkStaged runs the set-based checks and adds their findings to errs.
func checkStaged(ctx context.Context, tx pgx.Tx, errs *errorSet, st *stageLog) error {
	prep := []string{
		`CREATE INDEX ON import_staging (municipality, decision_id)`,
		`ANALYZE import_staging`,
		`CREATE TEMP TABLE import_first ON COMMIT DROP AS
		 SELECT DISTINCT ON (s.municipality, s.decision_id) s.*, d.content_sha256 AS db_sha
		 FROM import_staging s
		 LEFT JOIN decisions d ON d.municipality = s.municipality AND d.decision_id = s.decision_id
		 ORDER BY s.municipality, s.decision_id, s.line`,
		`CREATE INDEX ON import_first (municipality, case_id)`,
		`ANALYZE import_first`,
	}
	for _, q := range prep {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("store: import: prepare checks: %w", err)
		}
		st.done(strings.Join(strings.Fields(q)[:2], " "))
	}
	for _, c := range stagedChecks {
		if err := runCheck(ctx, tx, c.sql, errs); err != nil {
			return fmt.Errorf("store: import: check %s: %w", c.name, err)
		}
		st.done("check " + c.name)
	}
	return nil
}

func runCheck(ctx context.Context, tx pgx.Tx, sql string, errs *errorSet) error {
	rows, err := tx.Query(ctx, sql+" ORDER BY 1 LIMIT "+fmt.Sprint(maxImportErrors+1))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			line                 int
			rec, field, val, msg string
		)
		if err := rows.Scan(&line, &rec, &field, &val, &msg); err != nil {
			return err
		}
		errs.add(&payrun.FieldError{Line: line, Record: rec, Field: field, Value: val, Err: errors.New(msg)})
	}
	return rows.Err()
}

// insertStaged writes the new decisions, their cases and reclaims.
func insertStaged(ctx context.Context, tx pgx.Tx, res *ImportResult, now time.Time, st *stageLog) error {
	if err := tx.QueryRow(ctx, "SELECT nextval('import_ids')").Scan(&res.ImportID); err != nil {
		return fmt.Errorf("store: import id: %w", err)
	}
	tag, err := tx.Exec(ctx, `
INSERT INTO decisions (`+stagingColumns+`, import_id, imported_at)
SELECT `+stagingColumns+`, $1, $2
FROM import_first WHERE db_sha IS NULL`, res.ImportID, now)
	if err != nil {
		return fmt.Errorf("store: import: insert decisions: %w", err)
	}
	st.done("insert decisions")
	res.New = int(tag.RowsAffected())
	res.Unchanged = res.Lines - res.New
	if _, err := tx.Exec(ctx, `
INSERT INTO cases (municipality, case_id, first_seen, recompute_from)
SELECT municipality, case_id, $1, date_trunc('month', min(valid_from))::date
FROM import_first WHERE db_sha IS NULL GROUP BY 1, 2
ON CONFLICT (municipality, case_id) DO UPDATE
SET recompute_from = least(cases.recompute_from, excluded.recompute_from)`, now); err != nil {
		return fmt.Errorf("store: import: cases: %w", err)
	}
	st.done("insert cases")
	if _, err := tx.Exec(ctx, `
INSERT INTO reclaims (municipality, reclaim_id, case_id, amount, created_at)
SELECT DISTINCT ON (municipality, reclaim_id) municipality, reclaim_id, case_id, offset_remaining, $1
FROM import_first WHERE db_sha IS NULL AND reclaim_id IS NOT NULL
ORDER BY municipality, reclaim_id, line
ON CONFLICT (municipality, reclaim_id) DO NOTHING`, now); err != nil {
		return fmt.Errorf("store: import: reclaims: %w", err)
	}
	return nil
}

func auditImport(ctx context.Context, tx pgx.Tx, res ImportResult, opt ImportOptions, now time.Time) error {
	details, err := json.Marshal(map[string]any{
		"import_id": res.ImportID, "file_sha256": res.FileSHA256, "source": opt.Source,
		"lines": res.Lines, "new": res.New, "unchanged": res.Unchanged,
	})
	if err != nil {
		return err
	}
	return AppendAudit(ctx, tx, now, "", actorOr(opt.Actor), "decisions.import", details)
}

func actorOr(a string) string {
	if strings.TrimSpace(a) == "" {
		return "cli"
	}
	return a
}

// AppendAudit appends an audit event in tx. municipality "" is a central
// event. (The hash chain is added by a later migration.)
func AppendAudit(ctx context.Context, tx pgx.Tx, at time.Time, municipality, actor, action string, details []byte) error {
	var m any
	if municipality != "" {
		m = municipality
	}
	_, err := tx.Exec(ctx, `INSERT INTO audit_events (at, municipality, actor, action, details) VALUES ($1, $2, $3, $4, $5)`,
		at, m, actor, action, string(details))
	if err != nil {
		return fmt.Errorf("store: audit %s: %w", action, err)
	}
	return nil
}

func zapFields(r ImportResult) []zap.Field {
	return []zap.Field{zap.Int64("import_id", r.ImportID), zap.Int("lines", r.Lines), zap.Int("new", r.New),
		zap.Int("unchanged", r.Unchanged), zap.String("file_sha256", r.FileSHA256)}
}
