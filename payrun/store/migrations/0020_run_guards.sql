-- 0020: the run lifecycle, four-eyes and frozen lines, enforced by the
-- database (DESIGN.md invariants 1 and 2), and the bookkeeping of which
-- case-months a run must recompute.
--
-- Whatever SQL the application role types by hand:
--   * a run is inserted only as 'proposed';
--   * its state moves only along proposed → established (needs signature 1)
--     → released (needs signature 2) → exported (needs an exports row), or
--     from any state before exported to cancelled;
--   * a signature is inserted only in order (1 then 2), by an active,
--     non-system user holding the signature's role in the run's
--     municipality, over the run's current digest, and the second by another
--     user than the first (also a UNIQUE constraint of 0001) whose approver
--     limit (or the municipality's payment_threshold) covers the run's
--     largest payment; signatures are never updated or deleted;
--   * lines of a run that is not proposed cannot be inserted, updated or
--     deleted, and any change of a proposed run's lines clears its digest,
--     so that nobody can sign lines other than those the digest was
--     computed over.
--
-- Refusals raise SQLSTATE class PR (store translates them to payrun's
-- sentinels): PR001 same signer, PR003 forbidden (role, limit, system user),
-- PR009 run state, PR010 digest differs (run changed).

-- The advisory lock of a municipality: key = hashtextextended(
-- 'payrun.municipality:' || key, 0). Run creation, signing, cancelling and
-- every lowering of cases.recompute_from take it (transaction-scoped), so
-- that they are serialised per municipality. A hash collision between two
-- municipalities only serialises them needlessly.
CREATE FUNCTION payrun_lock_municipality(m text) RETURNS void
LANGUAGE sql VOLATILE AS $$
    SELECT pg_advisory_xact_lock(hashtextextended('payrun.municipality:' || m, 0))
$$;

ALTER TABLE runs
    ADD COLUMN max_payment    numeric(14,2) NOT NULL DEFAULT 0,
    ADD COLUMN overpayments   numeric(14,2) NOT NULL DEFAULT 0,
    ADD COLUMN cases_computed bigint NOT NULL DEFAULT 0,
    ADD COLUMN first_month    date,
    ADD COLUMN recompute_gen  bigint NOT NULL DEFAULT 0,
    ADD COLUMN warnings       jsonb NOT NULL DEFAULT '[]'::jsonb;

-- recompute_gen orders the lowering of cases.recompute_from against run
-- creation: a run remembers the generation it saw; its first signature
-- raises recompute_from only of cases not lowered since.
CREATE SEQUENCE recompute_gen;
ALTER TABLE cases ADD COLUMN recompute_gen bigint NOT NULL DEFAULT 0;

-- No unique index on (run, case, month, payee, component, reclaim): it
-- tripled the cost of writing lines. A run's lines are written by one
-- transaction under the municipality lock, which deletes the old lines of a
-- recomputed run first; tests race creators and count distinct lines.

-- Cases: every statement that inserts or updates cases first takes the
-- lock of the municipality in scope (of every municipality, in key order,
-- in the operator scope '*'), once per statement rather than once per row;
-- a new case gets a new generation by the column default, a lowered (or
-- reset) recompute_from by the row trigger. Both happen under the lock, so
-- a change not seen by a run's creation always has a generation above the
-- run's.
ALTER TABLE cases ALTER COLUMN recompute_gen SET DEFAULT nextval('recompute_gen');

CREATE FUNCTION payrun_lock_scope() RETURNS trigger
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
    RETURN NULL;
END
$$;
CREATE TRIGGER cases_lock BEFORE INSERT OR UPDATE ON cases
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_lock_scope();

CREATE FUNCTION payrun_cases_gen() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.recompute_from IS NULL AND OLD.recompute_from IS NOT NULL)
       OR NEW.recompute_from < OLD.recompute_from THEN
        NEW.recompute_gen := nextval('recompute_gen');
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER cases_gen BEFORE UPDATE OF recompute_from ON cases
    FOR EACH ROW EXECUTE FUNCTION payrun_cases_gen();

-- New decisions lower their case's recompute_from to their first month
-- (the importer does so too; this keeps it true for any insert).
CREATE FUNCTION payrun_decisions_lower() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cases c SET recompute_from = n.first_month
    FROM (SELECT municipality, case_id, date_trunc('month', min(valid_from))::date AS first_month
          FROM new_decisions GROUP BY 1, 2) n
    WHERE c.municipality = n.municipality AND c.case_id = n.case_id
      AND c.recompute_from IS NOT NULL AND c.recompute_from > n.first_month;
    RETURN NULL;
END
$$;
CREATE TRIGGER decisions_lower AFTER INSERT ON decisions
    REFERENCING NEW TABLE AS new_decisions
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_decisions_lower();

-- Rate changes lower recompute_from of every case of every municipality to
-- the month of the earliest changed valid_from. Central tables have no
-- tenancy, so the function widens the session's scope for the update and
-- restores it.
CREATE FUNCTION payrun_rates_lower_all(since date) RETURNS void
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
    UPDATE cases SET recompute_from = date_trunc('month', since)::date
    WHERE recompute_from IS NOT NULL AND recompute_from > date_trunc('month', since)::date;
    PERFORM set_config('payrun.municipality', coalesce(scope, ''), true);
END
$$;

CREATE FUNCTION payrun_rates_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    since date;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT min(valid_from) INTO since FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT min(valid_from) INTO since FROM old_rows;
    ELSE
        -- only rows whose content changed (an upsert of the same amount is
        -- no change)
        SELECT least(min(n.valid_from), min(o.valid_from)) INTO since
        FROM new_rows n FULL JOIN old_rows o ON o.valid_from = n.valid_from
             AND (to_jsonb(o) - 'created_at' - 'created_by') = (to_jsonb(n) - 'created_at' - 'created_by')
        WHERE n.valid_from IS NULL OR o.valid_from IS NULL;
    END IF;
    PERFORM payrun_rates_lower_all(since);
    RETURN NULL;
END
$$;
CREATE TRIGGER rates_ins AFTER INSERT ON rates REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_rates_changed();
CREATE TRIGGER rates_upd AFTER UPDATE ON rates REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_rates_changed();
CREATE TRIGGER rates_del AFTER DELETE ON rates REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_rates_changed();
CREATE TRIGGER child_supplements_ins AFTER INSERT ON child_supplements REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_rates_changed();
CREATE TRIGGER child_supplements_upd AFTER UPDATE ON child_supplements REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_rates_changed();
CREATE TRIGGER child_supplements_del AFTER DELETE ON child_supplements REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_rates_changed();

-- Runs: inserted only as proposed; state moves only along the lifecycle;
-- content columns frozen from the first signature on; only proposed runs
-- may be deleted.
CREATE FUNCTION payrun_runs_guard() RETURNS trigger
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
        OR NEW.recompute_gen <> OLD.recompute_gen OR NEW.created_by <> OLD.created_by) THEN
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
CREATE TRIGGER runs_guard BEFORE INSERT OR UPDATE OR DELETE ON runs
    FOR EACH ROW EXECUTE FUNCTION payrun_runs_guard();

-- A cancelled run that was live gives its case-months back: the cases'
-- recompute_from is lowered to the run's earliest month of each case.
CREATE FUNCTION payrun_runs_cancelled() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state IN ('established', 'released') AND NEW.state = 'cancelled' THEN
        PERFORM payrun_lock_municipality(OLD.municipality);
        UPDATE cases c SET recompute_from = l.first_month
        FROM (SELECT case_id, min(month) AS first_month FROM run_lines
              WHERE municipality = OLD.municipality AND run_id = OLD.id GROUP BY case_id) l
        WHERE c.municipality = OLD.municipality AND c.case_id = l.case_id
          AND c.recompute_from IS NOT NULL AND c.recompute_from > l.first_month;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER runs_cancelled AFTER UPDATE OF state ON runs
    FOR EACH ROW EXECUTE FUNCTION payrun_runs_cancelled();

-- Signatures: the four-eyes rule.
CREATE FUNCTION payrun_signature_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r runs%ROWTYPE;
    u users%ROWTYPE;
    lim bigint;
    threshold bigint;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'signatures are never changed or deleted' USING ERRCODE = 'PR009';
    END IF;
    PERFORM payrun_lock_municipality(NEW.municipality);
    SELECT * INTO r FROM runs WHERE municipality = NEW.municipality AND id = NEW.run_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % not found', NEW.run_id USING ERRCODE = 'PR009';
    END IF;
    IF (NEW.seq = 1 AND r.state <> 'proposed') OR (NEW.seq = 2 AND r.state <> 'established') THEN
        RAISE EXCEPTION 'run % is %: signature % is not possible', r.id, r.state, NEW.seq USING ERRCODE = 'PR009';
    END IF;
    IF r.digest IS NULL OR NEW.digest IS DISTINCT FROM r.digest THEN
        RAISE EXCEPTION 'run %: the signed digest is not the run''s digest', r.id USING ERRCODE = 'PR010';
    END IF;
    SELECT * INTO u FROM users WHERE municipality = NEW.municipality AND id = NEW.user_id;
    IF NOT FOUND OR u.system OR u.disabled_at IS NOT NULL OR EXISTS (
            SELECT 1 FROM user_roles ur WHERE ur.municipality = NEW.municipality AND ur.user_id = NEW.user_id AND ur.role = 'system') THEN
        RAISE EXCEPTION 'user % may not sign runs', NEW.user_id USING ERRCODE = 'PR003';
    END IF;
    SELECT ur.limit_cents INTO lim FROM user_roles ur
    WHERE ur.municipality = NEW.municipality AND ur.user_id = NEW.user_id AND ur.role = NEW.role;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'user % lacks role % in %', u.login, NEW.role, NEW.municipality USING ERRCODE = 'PR003';
    END IF;
    IF NEW.seq = 2 THEN
        IF EXISTS (SELECT 1 FROM signatures s WHERE s.municipality = NEW.municipality AND s.run_id = NEW.run_id
                   AND s.user_id = NEW.user_id) THEN
            RAISE EXCEPTION 'run %: % signed already; the release needs another person', r.id, u.login USING ERRCODE = 'PR001';
        END IF;
        SELECT nullif(round((m.settings->>'payment_threshold')::numeric * 100), 0)::bigint INTO threshold
        FROM municipalities m WHERE m.key = NEW.municipality;
        -- the approver's own limit, else the municipality's threshold
        IF coalesce(lim, threshold) IS NOT NULL AND (r.max_payment * 100)::bigint > coalesce(lim, threshold) THEN
            RAISE EXCEPTION 'run %: the largest payment % exceeds the limit of %', r.id, r.max_payment, u.login USING ERRCODE = 'PR003';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER signatures_check BEFORE INSERT OR UPDATE OR DELETE ON signatures
    FOR EACH ROW EXECUTE FUNCTION payrun_signature_check();

-- After a signature: advance the run. The first signature also records that
-- every case computed by the run (and not changed since) is settled up to
-- the run's period.
CREATE FUNCTION payrun_signature_advance() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r runs%ROWTYPE;
BEGIN
    UPDATE runs SET state = CASE NEW.seq WHEN 1 THEN 'established' ELSE 'released' END
    WHERE municipality = NEW.municipality AND id = NEW.run_id
    RETURNING * INTO r;
    IF NEW.seq = 1 THEN
        INSERT INTO paid_ibans (municipality, iban, first_run)
        SELECT DISTINCT l.municipality, CASE l.payee_role WHEN 'landlord' THEN d.landlord_iban ELSE d.payee_iban END, r.id
        FROM run_lines l JOIN decisions d ON d.municipality = l.municipality AND d.decision_id = l.decision_id
        WHERE l.municipality = r.municipality AND l.run_id = r.id AND l.kind = 'payment'
          AND CASE l.payee_role WHEN 'landlord' THEN d.landlord_iban ELSE d.payee_iban END IS NOT NULL
        ON CONFLICT DO NOTHING;
        UPDATE cases SET recompute_from = (r.period + interval '1 month')::date
        WHERE municipality = r.municipality AND recompute_gen <= r.recompute_gen
          AND (recompute_from IS NULL OR recompute_from <= r.period);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER signatures_advance AFTER INSERT ON signatures
    FOR EACH ROW EXECUTE FUNCTION payrun_signature_advance();

-- Exports only of released runs.
CREATE FUNCTION payrun_exports_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM runs r WHERE r.municipality = NEW.municipality AND r.id = NEW.run_id
                   AND r.state IN ('released', 'exported') FOR SHARE) THEN
        RAISE EXCEPTION 'run % is not released', NEW.run_id USING ERRCODE = 'PR009';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER exports_check BEFORE INSERT ON exports
    FOR EACH ROW EXECUTE FUNCTION payrun_exports_check();

-- Run lines: only of proposed runs (share-locking those runs, so that a
-- concurrent signature waits or is waited for), and every change clears the
-- run's digest. Statement-level with transition tables, so that a COPY of
-- many lines costs one check per batch, not one per line. Run ids are unique
-- across municipalities.
CREATE FUNCTION payrun_run_lines_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[] := '{}';
    bad bigint;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        ids := ids || ARRAY(SELECT DISTINCT run_id FROM new_lines);
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        ids := ids || ARRAY(SELECT DISTINCT run_id FROM old_lines);
    END IF;
    PERFORM 1 FROM runs WHERE id = ANY (ids) FOR SHARE;
    SELECT x INTO bad FROM unnest(ids) AS x
    WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = x AND r.state = 'proposed')
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'run %: lines can change only while the run is proposed', bad USING ERRCODE = 'PR009';
    END IF;
    UPDATE runs SET digest = NULL WHERE id = ANY (ids) AND digest IS NOT NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER run_lines_ins AFTER INSERT ON run_lines REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_run_lines_guard();
CREATE TRIGGER run_lines_upd AFTER UPDATE ON run_lines REFERENCING NEW TABLE AS new_lines OLD TABLE AS old_lines
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_run_lines_guard();
CREATE TRIGGER run_lines_del AFTER DELETE ON run_lines REFERENCING OLD TABLE AS old_lines
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_run_lines_guard();

-- TRUNCATE bypasses row and DELETE triggers: refuse it on the guarded tables.
CREATE FUNCTION payrun_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'TRUNCATE % is not allowed', TG_TABLE_NAME USING ERRCODE = 'PR009';
END
$$;
CREATE TRIGGER run_lines_truncate BEFORE TRUNCATE ON run_lines FOR EACH STATEMENT EXECUTE FUNCTION payrun_refuse_truncate();
CREATE TRIGGER runs_truncate BEFORE TRUNCATE ON runs FOR EACH STATEMENT EXECUTE FUNCTION payrun_refuse_truncate();
CREATE TRIGGER signatures_truncate BEFORE TRUNCATE ON signatures FOR EACH STATEMENT EXECUTE FUNCTION payrun_refuse_truncate();

-- Risk warnings of a run, computed by set-based SQL when the run is built
-- (runs.warnings holds the count per kind), shown by `run show` and to the
-- approver.
CREATE TABLE run_warnings (
    municipality text NOT NULL,
    run_id       bigint NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('first_iban', 'shared_iban', 'amount_jump', 'above_threshold')),
    case_id      text NOT NULL,
    payee_role   text NOT NULL,
    iban         text,
    amount       numeric(14,2) NOT NULL,
    detail       text NOT NULL DEFAULT ''
);
CREATE INDEX run_warnings_run ON run_warnings (municipality, run_id, kind);

-- IBANs that received money in a live run (filled by the first signature),
-- for the first_iban warning.
CREATE TABLE paid_ibans (
    municipality text NOT NULL,
    iban         text NOT NULL,
    first_run    bigint NOT NULL,
    PRIMARY KEY (municipality, iban)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['run_warnings', 'paid_ibans'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant ON %I USING (
            municipality = current_setting('payrun.municipality', true)
            OR current_setting('payrun.municipality', true) = '*')$p$, t);
    END LOOP;
END
$$;
