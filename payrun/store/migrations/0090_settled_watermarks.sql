-- 0090: which case-months are settled, without updating every case on a
-- run's first signature.
--
-- Until now the first signature raised cases.recompute_from to period+1 for
-- every case the run computed (and not changed since: recompute_gen ≤ the
-- run's generation) — one row update per case and month, a million at a
-- million cases. Instead the first signature now records one watermark
-- (municipality, run, through = period+1, gen = the run's generation), and
-- the first month a run must compute for a case is its EFFECTIVE
-- recompute_from:
--
--   E(c) = greatest(c.recompute_from, max{w.through : w in settled of
--          c.municipality, w.gen ≥ c.recompute_gen})        (NULL: no bound)
--
-- E is exactly what the old stored value would be. Proof by induction over
-- the operations that touch recompute_from, recompute_gen or settled:
--   * first signature: old: S := max(S, P+1) for gen ≤ G; new: a watermark
--     (P+1, G) raises E by the same rule, since E takes the max over every
--     watermark whose gen ≥ the case's gen.
--   * lowering to x (new decision, rate change, cancelled live run): old:
--     where S > x: S := x with a fresh gen; new: where E > x: S := x with a
--     fresh gen (forced, even when S already equals x). A fresh gen is above
--     every recorded watermark's gen, so E = x afterwards, as the old S.
--     Every lowering compares against E, computed by a statement that runs
--     after the municipality lock is held (a fresh snapshot in READ
--     COMMITTED), so a watermark committed while it waited is seen.
--   * the importer's own upsert least(S, x) runs in the same transaction as
--     the decisions insert, whose trigger already lowered E to x: it never
--     lowers further (S ≤ E ≤ x or S = x).
--   * new cases get a fresh gen: E = S.
-- Existing databases have no watermarks: E = S, the old state.
--
-- Double payment never depended on this bookkeeping: a run nets every month
-- it computes against all live lines. A wrong E could only skip a change.

CREATE TABLE settled (
    municipality text NOT NULL REFERENCES municipalities (key),
    run_id       bigint NOT NULL,
    through      date NOT NULL CHECK (extract(day FROM through) = 1), -- first month not settled by the run
    gen          bigint NOT NULL,
    PRIMARY KEY (municipality, run_id),
    FOREIGN KEY (municipality, run_id) REFERENCES runs (municipality, id)
);
CREATE INDEX settled_gen ON settled (municipality, gen);
ALTER TABLE settled ENABLE ROW LEVEL SECURITY;
ALTER TABLE settled FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON settled USING (
    municipality = current_setting('payrun.municipality', true)
    OR current_setting('payrun.municipality', true) = '*');

-- Watermarks are written by the first signature only and never changed.
CREATE FUNCTION payrun_settled_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'settled watermarks are never changed or deleted' USING ERRCODE = 'PR009';
END
$$;
CREATE TRIGGER settled_guard BEFORE UPDATE OR DELETE ON settled
    FOR EACH ROW EXECUTE FUNCTION payrun_settled_guard();
CREATE TRIGGER settled_truncate BEFORE TRUNCATE ON settled
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_refuse_truncate();

-- E(c) for one case, by the definition above (lowering paths).
CREATE FUNCTION payrun_effective_from(p_municipality text, p_from date, p_gen bigint) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT greatest(p_from, (SELECT max(s.through) FROM settled s
                             WHERE s.municipality = p_municipality AND s.gen >= p_gen))
$$;

-- The same bound as steps for a join over many cases (run creation): per
-- municipality, gen ranges (lo, hi] with the watermark bound of a case whose
-- gen lies in them. The bound max{through : gen ≥ g} does not grow with g,
-- so equal bounds form one range; with periods paid in order there is one.
CREATE FUNCTION payrun_settled_steps() RETURNS TABLE (municipality text, lo bigint, hi bigint, through date)
LANGUAGE sql STABLE AS $$
    SELECT municipality, min(lo), max(hi), through
    FROM (SELECT municipality, coalesce(lag(gen) OVER (PARTITION BY municipality ORDER BY gen), -9223372036854775808) AS lo,
                 gen AS hi, bound AS through
          FROM (SELECT municipality, gen,
                       max(through) OVER (PARTITION BY municipality ORDER BY gen DESC) AS bound
                FROM settled) b) r
    GROUP BY municipality, through
$$;

-- The lock of every municipality in the session's scope, in key order (as
-- the cases_lock trigger takes them).
CREATE FUNCTION payrun_lock_current_scope() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    scope text := current_setting('payrun.municipality', true);
    m text;
BEGIN
    IF scope IS NOT NULL AND scope <> '' AND scope <> '*' THEN
        PERFORM payrun_lock_municipality(scope);
    ELSE
        FOR m IN SELECT key FROM municipalities ORDER BY key LOOP
            PERFORM payrun_lock_municipality(m);
        END LOOP;
    END IF;
END
$$;

-- First signature: a watermark instead of an update of every computed case;
-- paid_ibans from the run's first_iban warnings (every payee group of the
-- run with an IBAN not yet in paid_ibans when the run was built; paid_ibans
-- only grows, so the IBANs still missing are among them).
CREATE OR REPLACE FUNCTION payrun_signature_advance() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r runs%ROWTYPE;
BEGIN
    UPDATE runs SET state = CASE NEW.seq WHEN 1 THEN 'established' ELSE 'released' END
    WHERE municipality = NEW.municipality AND id = NEW.run_id
    RETURNING * INTO r;
    IF NEW.seq = 1 THEN
        INSERT INTO paid_ibans (municipality, iban, first_run)
        SELECT DISTINCT w.municipality, w.iban, r.id
        FROM run_warnings w
        WHERE w.municipality = r.municipality AND w.run_id = r.id AND w.kind = 'first_iban' AND w.iban IS NOT NULL
        ON CONFLICT DO NOTHING;
        INSERT INTO settled (municipality, run_id, through, gen)
        VALUES (r.municipality, r.id, (r.period + interval '1 month')::date, r.recompute_gen);
    END IF;
    RETURN NULL;
END
$$;

-- New decisions lower their case's effective recompute_from to their first
-- month, under the lock of the scope (taken before the update's snapshot).
CREATE OR REPLACE FUNCTION payrun_decisions_lower() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM payrun_lock_current_scope();
    UPDATE cases c SET recompute_from = n.first_month, recompute_gen = nextval('recompute_gen')
    FROM (SELECT municipality, case_id, date_trunc('month', min(valid_from))::date AS first_month
          FROM new_decisions GROUP BY 1, 2) n
    WHERE c.municipality = n.municipality AND c.case_id = n.case_id
      AND payrun_effective_from(c.municipality, c.recompute_from, c.recompute_gen) > n.first_month;
    RETURN NULL;
END
$$;

-- Rate changes lower the effective recompute_from of every case.
CREATE OR REPLACE FUNCTION payrun_rates_lower_all(since date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    scope text := current_setting('payrun.municipality', true);
    m text;
BEGIN
    IF since IS NULL THEN
        RETURN;
    END IF;
    PERFORM set_config('payrun.municipality', '*', true);
    FOR m IN SELECT key FROM municipalities ORDER BY key LOOP
        PERFORM payrun_lock_municipality(m);
    END LOOP;
    UPDATE cases SET recompute_from = date_trunc('month', since)::date, recompute_gen = nextval('recompute_gen')
    WHERE payrun_effective_from(municipality, recompute_from, recompute_gen) > date_trunc('month', since)::date;
    PERFORM set_config('payrun.municipality', coalesce(scope, ''), true);
END
$$;

-- A cancelled live run gives its case-months back: the effective
-- recompute_from of its cases is lowered to their earliest month in it.
CREATE OR REPLACE FUNCTION payrun_runs_cancelled() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state IN ('established', 'released') AND NEW.state = 'cancelled' THEN
        PERFORM payrun_lock_municipality(OLD.municipality);
        UPDATE cases c SET recompute_from = l.first_month, recompute_gen = nextval('recompute_gen')
        FROM (SELECT case_id, min(month) AS first_month FROM run_lines
              WHERE municipality = OLD.municipality AND run_id = OLD.id GROUP BY case_id) l
        WHERE c.municipality = OLD.municipality AND c.case_id = l.case_id
          AND payrun_effective_from(c.municipality, c.recompute_from, c.recompute_gen) > l.first_month;
    END IF;
    RETURN NULL;
END
$$;
