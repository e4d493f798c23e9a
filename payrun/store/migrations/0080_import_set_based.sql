-- 0080: set-based integrity for bulk inserts into decisions and cases.
--
-- An import writes about a million decisions and cases. Per-row work on
-- those tables cost about half of the insert time: a foreign-key trigger per
-- row to municipalities, a sequence call per new case, regular expressions
-- with bounded repetition in two CHECKs. This migration keeps every rule and
-- makes each one cost once per statement (or a cheaper expression per row):
--
--   * decisions.municipality and cases.municipality must name a
--     municipality: instead of the foreign keys, a statement trigger checks
--     the distinct municipalities of the inserted rows (and share-locks their
--     rows, FOR KEY SHARE as the foreign key did), a row trigger checks an
--     update of the column, and municipalities refuses to delete (or rename)
--     a key that decisions or cases still use;
--   * the id CHECKs accept the same strings with a character-class test and
--     a length test;
--   * run generations (0020): every statement that inserts or updates cases
--     still takes the municipality locks first (cases_lock) and now draws ONE
--     generation from recompute_gen right after taking them, kept in the
--     transaction-local setting payrun.recompute_gen; new cases (column
--     default) and lowered recompute_from (cases_gen) take that value. So a
--     change not seen by a run's creation still carries a generation above the
--     run's (it was drawn after the lock the run held), and the bookkeeping of
--     0020 is unchanged: a run's first signature settles only cases with
--     recompute_gen <= the run's. (A lowering that also sets recompute_gen
--     itself, as 0090's do, gets the statement's generation through
--     cases_gen, which is as fresh.)

ALTER TABLE decisions DROP CONSTRAINT decisions_municipality_fkey;
ALTER TABLE cases DROP CONSTRAINT cases_municipality_fkey;

-- The same strings as '^[A-Za-z0-9+?/:().,'' -]{1,35}$' (the database is UTF8,
-- lengths count characters as the pattern did).
ALTER TABLE decisions DROP CONSTRAINT decisions_decision_id_check;
ALTER TABLE decisions DROP CONSTRAINT decisions_case_id_check;
ALTER TABLE decisions ADD CONSTRAINT decisions_decision_id_check
    CHECK (length(decision_id) BETWEEN 1 AND 35 AND decision_id !~ '[^A-Za-z0-9+?/:().,'' -]');
ALTER TABLE decisions ADD CONSTRAINT decisions_case_id_check
    CHECK (length(case_id) BETWEEN 1 AND 35 AND case_id !~ '[^A-Za-z0-9+?/:().,'' -]');

-- Inserted rows (transition table new_rows) must name municipalities.
CREATE FUNCTION payrun_new_rows_municipalities() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ms text[];
    bad text;
BEGIN
    SELECT array_agg(m) INTO ms FROM (SELECT DISTINCT municipality AS m FROM new_rows) x;
    IF ms IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM municipalities WHERE key = ANY (ms) FOR KEY SHARE;
    SELECT x INTO bad FROM unnest(ms) AS x
    WHERE NOT EXISTS (SELECT 1 FROM municipalities m WHERE m.key = x) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert into % violates municipality reference: % is not a municipality', TG_TABLE_NAME, bad
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION payrun_row_municipality() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM municipalities WHERE key = NEW.municipality FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'update of % violates municipality reference: % is not a municipality', TG_TABLE_NAME, NEW.municipality
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER decisions_municipality AFTER INSERT ON decisions REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_new_rows_municipalities();
CREATE TRIGGER decisions_municipality_upd AFTER UPDATE OF municipality ON decisions
    FOR EACH ROW WHEN (NEW.municipality IS DISTINCT FROM OLD.municipality) EXECUTE FUNCTION payrun_row_municipality();
CREATE TRIGGER cases_municipality AFTER INSERT ON cases REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_new_rows_municipalities();
CREATE TRIGGER cases_municipality_upd AFTER UPDATE OF municipality ON cases
    FOR EACH ROW WHEN (NEW.municipality IS DISTINCT FROM OLD.municipality) EXECUTE FUNCTION payrun_row_municipality();

-- A municipality key that decisions or cases use cannot go away. (A
-- concurrent insert holds FOR KEY SHARE on the key's row, so the delete
-- waits for it and then sees its rows, as with a foreign key under READ
-- COMMITTED.)
CREATE FUNCTION payrun_municipality_in_use() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.key = OLD.key THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM decisions WHERE municipality = OLD.key)
       OR EXISTS (SELECT 1 FROM cases WHERE municipality = OLD.key) THEN
        RAISE EXCEPTION 'municipality % is still referenced by decisions or cases', OLD.key
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER municipalities_in_use BEFORE DELETE OR UPDATE OF key ON municipalities
    FOR EACH ROW EXECUTE FUNCTION payrun_municipality_in_use();

-- One generation per statement on cases, drawn after the locks.
CREATE OR REPLACE FUNCTION payrun_lock_scope() RETURNS trigger
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
    PERFORM set_config('payrun.recompute_gen', nextval('recompute_gen')::text, true);
    RETURN NULL;
END
$$;

ALTER TABLE cases ALTER COLUMN recompute_gen SET DEFAULT current_setting('payrun.recompute_gen')::bigint;

CREATE OR REPLACE FUNCTION payrun_cases_gen() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.recompute_from IS NULL AND OLD.recompute_from IS NOT NULL)
       OR NEW.recompute_from < OLD.recompute_from THEN
        NEW.recompute_gen := current_setting('payrun.recompute_gen')::bigint;
    END IF;
    RETURN NEW;
END
$$;
