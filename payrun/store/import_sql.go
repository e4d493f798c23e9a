package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/payrun/payrun/payrun"
)

// The checks after the COPY. Most lines of an import are the only decision
// of their case and new: they can only conflict with stored decisions. The
// key tracker lists the other lines (cases with several lines, repeated
// decision ids, supersessions); those, and the lines of cases that already
// have stored decisions, are copied to the narrow table import_check, and
// the supersession and overlap checks look at that table only.
//
// import_skip holds the lines that are not inserted: repeats of an earlier
// line's decision id and decisions already stored (with the same content;
// other content is an error).
const (
	importCheckDDL = `
CREATE TEMP TABLE import_check ON COMMIT DROP AS
SELECT s.line, s.municipality, s.decision_id, s.case_id, s.valid_from, s.valid_to, s.supersedes, s.content_sha256
FROM import_staging s WHERE s.line = ANY ($1::int[])`

	// Lines of cases that already have stored decisions.
	importCheckStored = `
INSERT INTO import_check
SELECT s.line, s.municipality, s.decision_id, s.case_id, s.valid_from, s.valid_to, s.supersedes, s.content_sha256
FROM import_staging s
WHERE EXISTS (SELECT 1 FROM decisions d WHERE d.municipality = s.municipality AND d.case_id = s.case_id)
  AND NOT EXISTS (SELECT 1 FROM import_check c WHERE c.line = s.line)`

	// Repeated decision ids: every line after the first of its key.
	importRepeatsDDL = `
CREATE TEMP TABLE import_repeat ON COMMIT DROP AS
SELECT line, decision_id, first_line, same FROM (
    SELECT c.line, c.decision_id, first_value(c.line) OVER w AS first_line,
           c.content_sha256 = first_value(c.content_sha256) OVER w AS same
    FROM import_check c JOIN unnest($1::int[]) AS r(line) USING (line)
    WINDOW w AS (PARTITION BY c.municipality, c.decision_id ORDER BY c.line)) x
WHERE line > first_line`

	importSkipDDL = `
CREATE TEMP TABLE import_skip ON COMMIT DROP AS
SELECT s.line, s.decision_id, s.content_sha256 = d.content_sha256 AS same
FROM import_staging s JOIN decisions d ON d.municipality = s.municipality AND d.decision_id = s.decision_id`

	importSkipEmptyDDL = `CREATE TEMP TABLE import_skip (line int, decision_id text, same bool) ON COMMIT DROP`

	// Effective periods of the new lines in import_check and of the stored
	// decisions of their cases: a superseded decision ends the day before
	// the earliest valid_from of the decisions that supersede it.
	importEffDDL = `
CREATE TEMP TABLE import_eff ON COMMIT DROP AS
WITH new AS (
    SELECT c.municipality, c.decision_id, c.case_id, c.valid_from, c.valid_to, c.supersedes, c.line
    FROM import_check c WHERE NOT EXISTS (SELECT 1 FROM import_skip k WHERE k.line = c.line)),
cand AS (
    SELECT * FROM new
    /*stored*/UNION ALL
    SELECT d.municipality, d.decision_id, d.case_id, d.valid_from, d.valid_to, d.supersedes, NULL
    FROM decisions d
    WHERE (d.municipality, d.case_id) IN (SELECT municipality, case_id FROM new)/*end*/),
ends AS (
    SELECT c.municipality, c.case_id, u.old, min(c.valid_from) - 1 AS ends
    FROM cand c, unnest(c.supersedes) AS u(old)
    GROUP BY 1, 2, 3)
SELECT c.*, least(coalesce(c.valid_to, 'infinity'::date), e.ends) AS eff_to
FROM cand c LEFT JOIN ends e ON e.municipality = c.municipality AND e.case_id = c.case_id AND e.old = c.decision_id`
)

// stagedChecks are the set-based checks over the staged lines. Each query
// returns (line, decision_id, field, value, message) rows.
var stagedChecks = []struct {
	name, sql string
	repeats   bool // only when the input repeats decision ids
	stored    bool // only when decisions of the input's municipalities are stored
}{
	{"duplicate", `
SELECT line, decision_id, 'decision_id', decision_id,
       'also on line ' || first_line || ' with other content (a decision is immutable)'
FROM import_repeat WHERE NOT same`, true, false},
	{"immutable", `
SELECT k.line, k.decision_id, 'decision_id', k.decision_id,
       'already imported with other content (a decision is immutable; send a new decision that supersedes it)'
FROM import_skip k
WHERE NOT k.same AND NOT EXISTS (SELECT 1 FROM import_repeat r WHERE r.line = k.line)`, false, true},
	{"supersedes", `
WITH n AS (
    SELECT c.* FROM import_check c
    WHERE cardinality(c.supersedes) > 0 AND NOT EXISTS (SELECT 1 FROM import_skip k WHERE k.line = c.line))
SELECT n.line, n.decision_id, 'supersedes[' || (u.ord - 1) || ']', u.old,
       'no earlier decision of case ' || n.case_id || ' with this id'
FROM n, unnest(n.supersedes) WITH ORDINALITY AS u(old, ord)
WHERE NOT EXISTS (
        SELECT 1 FROM import_check k
        WHERE k.municipality = n.municipality AND k.case_id = n.case_id AND k.decision_id = u.old AND k.line < n.line)
  /*stored*/AND NOT EXISTS (
        SELECT 1 FROM decisions d
        WHERE d.municipality = n.municipality AND d.case_id = n.case_id AND d.decision_id = u.old)/*end*/`, false, false},
	// Two decisions of a case whose effective periods (import_eff) overlap
	// must be in a supersedes relation; the error is reported on the later
	// (or new) line. A superseded decision ends before any decision that
	// supersedes it begins, so the cases with an overlap are found by one
	// sweep in valid_from order; the pairs are looked for in those only.
	{"overlap", `
WITH flagged AS (
    SELECT DISTINCT municipality, case_id FROM (
        SELECT municipality, case_id, valid_from,
               max(eff_to) OVER (PARTITION BY municipality, case_id ORDER BY valid_from
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before_end
        FROM import_eff WHERE valid_from <= eff_to) w
    WHERE valid_from <= before_end),
eff AS (SELECT e.* FROM import_eff e JOIN flagged f USING (municipality, case_id))
SELECT x.line, x.decision_id, 'valid_from', x.valid_from::text,
       'overlaps decision ' || y.decision_id || ' (' || y.valid_from || ' to ' ||
       CASE WHEN y.eff_to = 'infinity' THEN 'open' ELSE y.eff_to::text END ||
       ') of case ' || x.case_id || ' without superseding it'
FROM eff x JOIN eff y ON x.municipality = y.municipality AND x.case_id = y.case_id AND x.decision_id <> y.decision_id
WHERE x.line IS NOT NULL AND (y.line IS NULL OR y.line < x.line)
  AND x.valid_from <= x.eff_to AND y.valid_from <= y.eff_to
  AND x.valid_from <= y.eff_to AND y.valid_from <= x.eff_to
  AND NOT (y.decision_id = ANY (x.supersedes)) AND NOT (x.decision_id = ANY (y.supersedes))`, false, false},
}

// checkLists is what the checks need of the key tracker and the loader.
type checkLists struct {
	check, repeats []int32 // see keyTracker.done
	municipalities []string
	bulk           bool // decisions and cases were empty; the loader holds them locked (import_bulk)
}

// storedPart matches the parts of the checks' statements that read stored
// decisions.
var storedPart = regexp.MustCompile(`(?s)/\*stored\*/(.*?)/\*end\*/`)

// forStored returns sql with its stored parts when stored, else without.
// (Without stored decisions the checks need not, and during a bulk load
// must not, read the decisions table.)
func forStored(sql string, stored bool) string {
	if stored {
		return storedPart.ReplaceAllString(sql, "$1")
	}
	return storedPart.ReplaceAllString(sql, "")
}

// checker runs the checks on a connection of its own: it copies the
// columns the checks read of every line into its import_staging while the
// loader loads, and checks once run hands it the key tracker's lists (after
// the loader has taken the municipality locks). Its transaction writes
// nothing but temp tables and does not see the import's rows.
type checker struct {
	cancel context.CancelFunc
	lists  chan checkLists
	done   chan checkResult
	res    *checkResult
}

type checkResult struct {
	errs []*payrun.FieldError
	err  error
}

// startChecker starts the checker; should it fail, it calls fail (which
// ends the import).
func startChecker(ctx context.Context, conn *pgx.Conn, rows <-chan []byte, fail func(), st *stageLog) *checker {
	ctx, cancel := context.WithCancel(ctx)
	c := &checker{cancel: cancel, lists: make(chan checkLists, 1), done: make(chan checkResult, 1)}
	go func() {
		var r checkResult
		r.err = withTx(ctx, conn, AllMunicipalities, func(tx pgx.Tx) error {
			var err error
			r.errs, err = c.check(ctx, tx, rows, st)
			return err
		})
		if r.err != nil {
			r.err = fmt.Errorf("store: import: %w", r.err)
			fail()
		}
		c.done <- r
	}()
	return c
}

func (c *checker) check(ctx context.Context, tx pgx.Tx, rows <-chan []byte, st *stageLog) ([]*payrun.FieldError, error) {
	for _, q := range []string{`SET LOCAL jit = off`, `SET LOCAL work_mem = '64MB'`, checkStagingDDL} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("checks: %w", err)
		}
	}
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, newNarrowStream(ctx, rows), checkStagingCopy); err != nil {
		return nil, fmt.Errorf("checks: copy: %w", err)
	}
	st.done("copy")
	var lists checkLists
	select {
	case lists = <-c.lists:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	st.done("wait for the locks")
	errs := &errorSet{}
	if err := checkStaged(ctx, tx, errs, lists, st); err != nil {
		return nil, err
	}
	return errs.errs, nil
}

// run starts the checks.
func (c *checker) run(l checkLists) { c.lists <- l }

// wait returns the checks' findings.
func (c *checker) wait() ([]*payrun.FieldError, error) {
	if c.res == nil {
		r := <-c.done
		c.res = &r
	}
	return c.res.errs, c.res.err
}

// cause returns the checker's error if it failed (the loader's error is
// then a consequence), else err.
func (c *checker) cause(err error) error {
	if c.res == nil {
		if !errors.Is(err, context.Canceled) {
			select {
			case r := <-c.done:
				c.res = &r
			default:
				return err
			}
		}
		_, _ = c.wait()
	}
	if c.res.err != nil && !errors.Is(c.res.err, context.Canceled) {
		return c.res.err
	}
	return err
}

// stop ends the checker (after success or failure) and waits for it.
func (c *checker) stop() {
	c.cancel()
	_, _ = c.wait()
}

// checkStaged runs the set-based checks over the lines the key tracker
// found and adds their findings to errs.
func checkStaged(ctx context.Context, tx pgx.Tx, errs *errorSet, keys checkLists, st *stageLog) error {
	// With no stored decisions of these municipalities (a first import),
	// nothing can be a repeat of or conflict with a stored decision.
	var stored bool
	if !keys.bulk {
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM decisions WHERE municipality = ANY ($1))`,
			keys.municipalities).Scan(&stored); err != nil {
			return fmt.Errorf("store: import: stored decisions: %w", err)
		}
	}
	check, repeats := keys.check, keys.repeats
	steps := []struct {
		name string
		sql  string
		args []any
		skip bool
	}{
		{"import_check", importCheckDDL, []any{check}, false},
		{"import_check stored", importCheckStored, nil, !stored},
		{"import_repeat", importRepeatsDDL, []any{repeats}, false},
		{"import_skip", importSkipDDL, nil, !stored},
		{"import_skip", importSkipEmptyDDL, nil, stored},
		// repeats of an earlier line are not checked or inserted either
		{"import_skip repeats", `INSERT INTO import_skip SELECT line, decision_id, same FROM import_repeat`, nil, len(repeats) == 0},
		{"import_eff", forStored(importEffDDL, stored), nil, false},
	}
	for _, s := range steps {
		if s.skip {
			continue
		}
		if _, err := tx.Exec(ctx, s.sql, append([]any{customPlan}, s.args...)...); err != nil {
			return fmt.Errorf("store: import: prepare checks (%s): %w", s.name, err)
		}
		st.done(s.name)
	}
	for _, c := range stagedChecks {
		if (c.repeats && len(repeats) == 0) || (c.stored && !stored) {
			continue
		}
		if err := runCheck(ctx, tx, forStored(c.sql, stored), errs); err != nil {
			return fmt.Errorf("store: import: check %s: %w", c.name, err)
		}
		st.done("check " + c.name)
	}
	return nil
}

func runCheck(ctx context.Context, tx pgx.Tx, sql string, errs *errorSet, args ...any) error {
	rows, err := tx.Query(ctx, sql+" ORDER BY 1 LIMIT "+fmt.Sprint(maxImportErrors+1), args...)
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
