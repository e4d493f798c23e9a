-- 0135: run lines packed per chunk of cases.
--
-- Migration 0095 stored the lines of one case in one run as one row of
-- run_case_lines. Writing a run of 170,000 cases still cost ≈ 1.2 s of
-- PostgreSQL for its 134,000 rows: a tuple, two btree entries in
-- case order (random inserts all over the indexes), the checks, per row.
-- The lines of a run are now stored in chunks of consecutive cases (a
-- batch of the writer, up to about a thousand cases) as one row of
-- run_chunks:
--
--   lines   = section ('\n' section)*
--   section = case_id '\t' line (';' line)*
--   line    = as in migration 0095 (month|payee_role|component|kind|amount
--             |law|cost_bearer|decision_id|reclaim_id), digest order
--
-- sections in case order (byte order). The same run's chunks hold disjoint
-- ranges of cases [first_case, last_case] (checked by the guard below).
-- `offsets` repeats, in the same format, the offset lines of the chunk's
-- cases that have any ('' when none): run creation reads of older runs
-- only what reclaims have taken so far (migration 0110) without reading
-- their whole text. `lines` is compressed with lz4 where the server has
-- it (≈ 5× smaller, faster than the default pglz).
--
-- A run of 170,000 cases is 135 rows: writing them costs ≈ 50 ms, and the
-- hot readers (export, netting, digest check, totals) read 135 rows and
-- split them in Go.
--
-- run_case_lines becomes a view with the columns of the old table, one row
-- per (run, case), plus the bounds of the chunk (chunk_first, chunk_last);
-- run_lines is defined over it as before, with the chunk bounds too.
-- Queries by case id should also name the chunk bounds
-- (chunk_first <= id AND chunk_last >= id): PostgreSQL cannot push a
-- condition on the case id, which the view computes, down to the index.
--
-- Existing lines are converted here. payrun_runs_cancelled (migration
-- 0095) reads the first month of each case of a cancelled run from
-- run_case_lines, now the view. The guards of migrations 0020/0095
-- (lines change only while their run is proposed, every change clears the
-- digest, no TRUNCATE) hold for run_chunks.

CREATE TABLE run_chunks (
    municipality text NOT NULL,
    run_id       bigint NOT NULL,
    first_case   text COLLATE "C" NOT NULL,
    last_case    text COLLATE "C" NOT NULL CHECK (last_case >= first_case),
    cases        integer NOT NULL CHECK (cases > 0),
    line_count   integer NOT NULL CHECK (line_count >= cases),
    lines        text NOT NULL,
    offsets      text NOT NULL,
    PRIMARY KEY (municipality, run_id, first_case),
    -- the text holds as many cases and lines as counted, from first_case
    CONSTRAINT run_chunks_cases CHECK (cases = octet_length(lines) - octet_length(replace(lines, E'\n', '')) + 1),
    CONSTRAINT run_chunks_lines CHECK (line_count = octet_length(lines) - octet_length(replace(lines, ';', '')) + cases),
    CONSTRAINT run_chunks_first CHECK (starts_with(lines, first_case || E'\t')),
    CONSTRAINT run_chunks_offsets CHECK ((offsets = '') = (strpos(lines, '|offset|') = 0))
);
-- chunks by case, across runs (the case pages; with chunk_last >= id)
CREATE INDEX run_chunks_case ON run_chunks (municipality, last_case);

DO $$
BEGIN
    ALTER TABLE run_chunks ALTER COLUMN lines SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'run_chunks.lines: lz4 not available, pglz compression';
END
$$;

INSERT INTO run_chunks (municipality, run_id, first_case, last_case, cases, line_count, lines, offsets)
SELECT municipality, run_id, min(case_id), max(case_id), count(*), sum(line_count),
       string_agg(case_id || E'\t' || lines, E'\n' ORDER BY case_id),
       coalesce(string_agg(case_id || E'\t' || offsets, E'\n' ORDER BY case_id) FILTER (WHERE offsets <> ''), '')
FROM (SELECT l.municipality, l.run_id, l.case_id, l.line_count, l.lines,
             array_to_string(ARRAY(SELECT t FROM string_to_table(l.lines, ';') WITH ORDINALITY AS u(t, n)
                                   WHERE strpos(t, '|offset|') > 0 ORDER BY n), ';') AS offsets,
             (row_number() OVER (PARTITION BY l.municipality, l.run_id ORDER BY l.case_id) - 1) / 1000 AS chunk
      FROM run_case_lines l) x
GROUP BY municipality, run_id, chunk;

DROP VIEW run_lines;
DROP TABLE run_case_lines;

CREATE VIEW run_case_lines WITH (security_invoker = true) AS
SELECT c.municipality, c.run_id, x.case_id,
       (left(x.lines, 7) || '-01')::date AS first_month,
       (left(split_part(x.lines, ';', -1), 7) || '-01')::date AS last_month,
       octet_length(x.lines) - octet_length(replace(x.lines, ';', '')) + 1 AS line_count,
       x.lines,
       c.first_case AS chunk_first, c.last_case AS chunk_last
FROM run_chunks c
CROSS JOIN LATERAL string_to_table(c.lines, E'\n') AS s(section)
CROSS JOIN LATERAL (SELECT split_part(s.section, E'\t', 1) COLLATE "C" AS case_id,
                           split_part(s.section, E'\t', 2) AS lines) x;

CREATE VIEW run_lines WITH (security_invoker = true) AS
SELECT p.municipality, p.run_id, p.case_id,
       (f[1] || '-01')::date AS month,
       f[2] AS payee_role, f[3] AS component, f[4] AS kind,
       f[5]::numeric(14,2) AS amount,
       f[6] AS law, f[7] AS cost_bearer,
       nullif(f[8], '') AS decision_id, nullif(f[9], '') AS reclaim_id,
       p.chunk_first, p.chunk_last
FROM run_case_lines p
CROSS JOIN LATERAL (SELECT string_to_array(t, '|') AS f FROM string_to_table(p.lines, ';') AS t) u;

ALTER TABLE run_chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE run_chunks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON run_chunks USING (
    municipality = current_setting('payrun.municipality', true)
    OR current_setting('payrun.municipality', true) = '*');

-- The guard of migration 0020 (run_lines), and: a new or changed chunk's
-- cases do not overlap another chunk of its run (a case has one section
-- per run; within a chunk the writer keeps the case ids ascending).
CREATE FUNCTION payrun_run_chunks_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[] := '{}';
    bad bigint;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        ids := ids || ARRAY(SELECT DISTINCT run_id FROM new_chunks);
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        ids := ids || ARRAY(SELECT DISTINCT run_id FROM old_chunks);
    END IF;
    PERFORM 1 FROM runs WHERE id = ANY (ids) FOR SHARE;
    SELECT x INTO bad FROM unnest(ids) AS x
    WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = x AND r.state = 'proposed')
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'run %: lines can change only while the run is proposed', bad USING ERRCODE = 'PR009';
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT n.run_id INTO bad FROM new_chunks n
        JOIN run_chunks c ON c.municipality = n.municipality AND c.run_id = n.run_id
         AND c.first_case <= n.last_case AND c.last_case >= n.first_case AND c.first_case <> n.first_case
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'run %: chunks of lines overlap', bad USING ERRCODE = 'PR009';
        END IF;
    END IF;
    UPDATE runs SET digest = NULL WHERE id = ANY (ids) AND digest IS NOT NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER run_chunks_ins AFTER INSERT ON run_chunks REFERENCING NEW TABLE AS new_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_run_chunks_guard();
CREATE TRIGGER run_chunks_upd AFTER UPDATE ON run_chunks REFERENCING NEW TABLE AS new_chunks OLD TABLE AS old_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_run_chunks_guard();
CREATE TRIGGER run_chunks_del AFTER DELETE ON run_chunks REFERENCING OLD TABLE AS old_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_run_chunks_guard();
CREATE TRIGGER run_chunks_truncate BEFORE TRUNCATE ON run_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_refuse_truncate();
