-- 0100: the first import into empty decisions and cases tables builds their
-- indexes once, after the insert, instead of maintaining them row by row
-- (at a million cases: 7 s of the decisions insert and 2 s of the cases
-- insert, against 4 s for building them).
--
-- Dropping an index needs the table owner's rights, which the application
-- role does not have (README "Two database roles"). These two functions run
-- with the schema owner's rights (SECURITY DEFINER). Why that is safe:
--
--   * narrow: they take no arguments and run fixed statements on fixed
--     objects (search_path pinned): drop and recreate the primary keys of
--     decisions and cases, the index decisions_case and the foreign key of
--     reclaims to cases, nothing else. begin refuses (returns false, drops
--     nothing) unless the definitions are exactly the ones end recreates,
--     so a later migration that changes them turns the bulk path off
--     rather than losing anything;
--   * only in the operator scope (payrun.municipality = '*', the scope of
--     an import), and only when decisions, cases and reclaims are empty
--     (checked under the lock), i.e. when there is no data to protect yet;
--   * under ACCESS EXCLUSIVE locks (NOWAIT: with a reader or writer in the
--     way it refuses), held to the end of the transaction: no other
--     transaction ever sees the tables without their constraints;
--   * the constraints come back before the transaction commits whatever the
--     caller does: begin queues a deferred constraint trigger that runs end
--     at commit (the application role can neither drop or disable triggers
--     nor switch to replica mode; SET CONSTRAINTS ... IMMEDIATE only runs it
--     earlier). Rebuilding checks every row (unique keys, the foreign key),
--     so rows inserted meanwhile that break a constraint make the commit
--     fail; a rollback undoes the drops. Every other rule (checks, triggers,
--     row-level security) stays in force throughout;
--   * what a misbehaving caller could do with it: lock the three empty
--     tables until its transaction ends, which it could as well by
--     inserting a row; nothing else.
--
-- import_bulk only queues the deferred rebuild: a row inserted (by begin)
-- fires it at commit. The application role may write it like every table
-- (GrantApp); a row it inserts only runs end, which does nothing while the
-- constraints exist, and deleting a row does not cancel the queued rebuild.

CREATE TABLE import_bulk (tx xid8 NOT NULL DEFAULT pg_current_xact_id());

CREATE FUNCTION payrun_import_bulk_end() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF to_regclass('public.decisions_pkey') IS NULL THEN
        ALTER TABLE public.decisions ADD CONSTRAINT decisions_pkey PRIMARY KEY (municipality, decision_id);
    END IF;
    IF to_regclass('public.decisions_case') IS NULL THEN
        CREATE INDEX decisions_case ON public.decisions (municipality, case_id);
    END IF;
    IF to_regclass('public.cases_pkey') IS NULL THEN
        ALTER TABLE public.cases ADD CONSTRAINT cases_pkey PRIMARY KEY (municipality, case_id);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conrelid = 'public.reclaims'::regclass AND conname = 'reclaims_municipality_case_id_fkey') THEN
        ALTER TABLE public.reclaims ADD CONSTRAINT reclaims_municipality_case_id_fkey
            FOREIGN KEY (municipality, case_id) REFERENCES public.cases (municipality, case_id);
    END IF;
    DELETE FROM public.import_bulk;
END
$$;

CREATE FUNCTION payrun_import_bulk_rebuild() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM public.payrun_import_bulk_end();
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER import_bulk_rebuild AFTER INSERT ON import_bulk
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION payrun_import_bulk_rebuild();

CREATE FUNCTION payrun_import_bulk_begin() RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF current_setting('payrun.municipality', true) IS DISTINCT FROM '*' THEN
        RETURN false;
    END IF;
    -- the indexes and the referencing constraints are the ones end restores
    IF (SELECT array_agg(d ORDER BY d COLLATE "C") FROM (
            SELECT pg_get_indexdef(indexrelid) AS d FROM pg_index
            WHERE indrelid IN ('public.decisions'::regclass, 'public.cases'::regclass)) x)
       IS DISTINCT FROM ARRAY[
           'CREATE INDEX decisions_case ON public.decisions USING btree (municipality, case_id)',
           'CREATE UNIQUE INDEX cases_pkey ON public.cases USING btree (municipality, case_id)',
           'CREATE UNIQUE INDEX decisions_pkey ON public.decisions USING btree (municipality, decision_id)']
       OR (SELECT array_agg(d ORDER BY d COLLATE "C") FROM (
            SELECT format('%s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) AS d FROM pg_constraint
            WHERE confrelid IN ('public.decisions'::regclass, 'public.cases'::regclass)
               OR (conrelid IN ('public.decisions'::regclass, 'public.cases'::regclass) AND contype IN ('p', 'u', 'x'))) x)
       IS DISTINCT FROM ARRAY[
           'public.cases cases_pkey PRIMARY KEY (municipality, case_id)',
           'public.decisions decisions_pkey PRIMARY KEY (municipality, decision_id)',
           'public.reclaims reclaims_municipality_case_id_fkey FOREIGN KEY (municipality, case_id) REFERENCES public.cases(municipality, case_id)'] THEN
        RETURN false;
    END IF;
    BEGIN
        LOCK TABLE public.decisions, public.cases, public.reclaims IN ACCESS EXCLUSIVE MODE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RETURN false;
    END;
    IF EXISTS (SELECT 1 FROM public.decisions) OR EXISTS (SELECT 1 FROM public.cases)
       OR EXISTS (SELECT 1 FROM public.reclaims) THEN
        RETURN false;
    END IF;
    INSERT INTO public.import_bulk DEFAULT VALUES;
    ALTER TABLE public.reclaims DROP CONSTRAINT reclaims_municipality_case_id_fkey;
    ALTER TABLE public.cases DROP CONSTRAINT cases_pkey;
    ALTER TABLE public.decisions DROP CONSTRAINT decisions_pkey;
    DROP INDEX public.decisions_case;
    RETURN true;
END
$$;
