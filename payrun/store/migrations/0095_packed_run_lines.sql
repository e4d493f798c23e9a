-- 0095: run lines packed per (run, case).
--
-- A run stored one row per line: about three rows per case and month, a
-- heap tuple and two index entries each, written through row-level security
-- (COPY is refused there). At a million cases that was ≈ 3 M rows and the
-- largest cost of a run (≈ 15 µs per line). The lines of one case in one
-- run are now ONE row of run_case_lines, their fields in a text column:
--
--   lines = line (';' line)*
--   line  = month '|' payee_role '|' component '|' kind '|' amount '|' law
--           '|' cost_bearer '|' decision_id '|' reclaim_id
--
-- month 'YYYY-MM'; amount with two decimals ('-12.30'); decision_id and
-- reclaim_id empty for NULL. Identifiers cannot contain '|' or ';' (the
-- character class of migration 0080; the writer refuses them too). Lines
-- are in the digest order of the run (month, payee, component in
-- payrun.Components order, reclaim). Writing a case costs one tuple and two
-- index entries (≈ 4× less than before); the run's hot readers (export,
-- netting, digest check) parse the text in Go.
--
-- Everything else reads the view run_lines, which has the columns and types
-- of the old table (security_invoker: the caller's row-level security
-- applies). Queries that name municipality, run_id or case_id are pushed
-- down to the indexes of run_case_lines.
--
-- Existing lines are converted here; the old table is dropped. The guards
-- of the old table (lines change only while their run is proposed, every
-- change clears the digest, no TRUNCATE) hold for the new one, with the same
-- functions.

CREATE TABLE run_case_lines (
    municipality text NOT NULL,
    run_id       bigint NOT NULL,
    case_id      text NOT NULL,
    first_month  date NOT NULL CHECK (extract(day FROM first_month) = 1),
    last_month   date NOT NULL CHECK (extract(day FROM last_month) = 1 AND last_month >= first_month),
    line_count   integer NOT NULL CHECK (line_count > 0),
    lines        text NOT NULL,
    PRIMARY KEY (municipality, run_id, case_id),
    -- as many lines as the text holds
    CHECK (line_count = length(lines) - length(replace(lines, ';', '')) + 1)
);
CREATE INDEX run_case_lines_case ON run_case_lines (municipality, case_id);

INSERT INTO run_case_lines (municipality, run_id, case_id, first_month, last_month, line_count, lines)
SELECT municipality, run_id, case_id, min(month), max(month), count(*),
       string_agg(concat_ws('|', to_char(month, 'YYYY-MM'), payee_role, component, kind, amount::text, law, cost_bearer,
                            coalesce(decision_id, ''), coalesce(reclaim_id, '')), ';'
                  ORDER BY month, payee_role,
                           array_position(ARRAY['regular', 'extra', 'child_supplement', 'rent', 'heating', 'income', 'offset'], component),
                           coalesce(reclaim_id, '') COLLATE "C", kind, amount)
FROM run_lines
GROUP BY municipality, run_id, case_id;

-- Payment groups (case, payee with a positive Σ of payment lines) per run:
-- the runs list showed them by summing every line of every run listed.
ALTER TABLE runs ADD COLUMN payments bigint NOT NULL DEFAULT 0 CHECK (payments >= 0);
ALTER TABLE runs DISABLE TRIGGER runs_guard;
UPDATE runs r SET payments = g.n
FROM (SELECT municipality, run_id, count(*) AS n
      FROM (SELECT municipality, run_id FROM run_lines WHERE kind = 'payment'
            GROUP BY municipality, run_id, case_id, payee_role HAVING sum(amount) > 0) x
      GROUP BY municipality, run_id) g
WHERE r.municipality = g.municipality AND r.id = g.run_id;
ALTER TABLE runs ENABLE TRIGGER runs_guard;

DROP TABLE run_lines;

CREATE VIEW run_lines WITH (security_invoker = true) AS
SELECT p.municipality, p.run_id, p.case_id,
       (f[1] || '-01')::date AS month,
       f[2] AS payee_role, f[3] AS component, f[4] AS kind,
       f[5]::numeric(14,2) AS amount,
       f[6] AS law, f[7] AS cost_bearer,
       nullif(f[8], '') AS decision_id, nullif(f[9], '') AS reclaim_id
FROM run_case_lines p
CROSS JOIN LATERAL (SELECT string_to_array(t, '|') AS f FROM string_to_table(p.lines, ';') AS t) u;

ALTER TABLE run_case_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE run_case_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON run_case_lines USING (
    municipality = current_setting('payrun.municipality', true)
    OR current_setting('payrun.municipality', true) = '*');

CREATE TRIGGER run_case_lines_ins AFTER INSERT ON run_case_lines REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_run_lines_guard();
CREATE TRIGGER run_case_lines_upd AFTER UPDATE ON run_case_lines REFERENCING NEW TABLE AS new_lines OLD TABLE AS old_lines
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_run_lines_guard();
CREATE TRIGGER run_case_lines_del AFTER DELETE ON run_case_lines REFERENCING OLD TABLE AS old_lines
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_run_lines_guard();
CREATE TRIGGER run_case_lines_truncate BEFORE TRUNCATE ON run_case_lines
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_refuse_truncate();

-- The payment groups are content: frozen from the first signature on, as
-- the other totals (migration 0020, unchanged otherwise).
CREATE OR REPLACE FUNCTION payrun_runs_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'proposed' THEN
            RAISE EXCEPTION 'run % must be created as proposed, not %', NEW.id, NEW.state USING ERRCODE = 'PR009';
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF OLD.state <> 'proposed' THEN
            RAISE EXCEPTION 'run % is %: only a proposed run can be deleted', OLD.id, OLD.state USING ERRCODE = 'PR009';
        END IF;
        RETURN OLD;
    END IF;
    IF NEW.id <> OLD.id OR NEW.municipality <> OLD.municipality THEN
        RAISE EXCEPTION 'run %: id and municipality are immutable', OLD.id USING ERRCODE = 'PR009';
    END IF;
    IF OLD.state <> 'proposed' AND (
           NEW.digest IS DISTINCT FROM OLD.digest OR NEW.line_count <> OLD.line_count
        OR NEW.total <> OLD.total OR NEW.period <> OLD.period OR NEW.kind <> OLD.kind
        OR NEW.max_payment <> OLD.max_payment OR NEW.overpayments <> OLD.overpayments
        OR NEW.first_month IS DISTINCT FROM OLD.first_month OR NEW.warnings <> OLD.warnings
        OR NEW.recompute_gen <> OLD.recompute_gen OR NEW.created_by <> OLD.created_by
        OR NEW.payments <> OLD.payments) THEN
        RAISE EXCEPTION 'run % is %: its content is frozen', OLD.id, OLD.state USING ERRCODE = 'PR009';
    END IF;
    IF NEW.state = OLD.state THEN
        RETURN NEW;
    END IF;
    IF NOT (
           (OLD.state = 'proposed' AND NEW.state = 'established' AND EXISTS (
                SELECT 1 FROM signatures s WHERE s.municipality = OLD.municipality AND s.run_id = OLD.id AND s.seq = 1))
        OR (OLD.state = 'established' AND NEW.state = 'released' AND EXISTS (
                SELECT 1 FROM signatures s WHERE s.municipality = OLD.municipality AND s.run_id = OLD.id AND s.seq = 2))
        OR (OLD.state = 'released' AND NEW.state = 'exported' AND EXISTS (
                SELECT 1 FROM exports e WHERE e.municipality = OLD.municipality AND e.run_id = OLD.id))
        OR (OLD.state IN ('proposed', 'established', 'released') AND NEW.state = 'cancelled')) THEN
        RAISE EXCEPTION 'run %: % → % is not allowed', OLD.id, OLD.state, NEW.state USING ERRCODE = 'PR009';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- A cancelled live run gives its case-months back (migration 0090): the
-- earliest month of a case in the run is now a column.
CREATE OR REPLACE FUNCTION payrun_runs_cancelled() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state IN ('established', 'released') AND NEW.state = 'cancelled' THEN
        PERFORM payrun_lock_municipality(OLD.municipality);
        UPDATE cases c SET recompute_from = l.first_month, recompute_gen = nextval('recompute_gen')
        FROM run_case_lines l
        WHERE l.municipality = OLD.municipality AND l.run_id = OLD.id
          AND c.municipality = OLD.municipality AND c.case_id = l.case_id
          AND payrun_effective_from(c.municipality, c.recompute_from, c.recompute_gen) > l.first_month;
    END IF;
    RETURN NULL;
END
$$;
