-- 0140: the IBANs paid before, one row per run instead of one per IBAN.
--
-- The first_iban warning asks whether a live run paid an IBAN before. The
-- first signature of a run inserted every new IBAN of the run into
-- paid_ibans (0090, 0120, 0125): on a municipality's first run of 170,000
-- cases ≈ 0.65 s of PostgreSQL per signature, and run creation now reads
-- the IBANs into a sorted set in Go anyway (store/run_warnings.go), which
-- does not need a row per IBAN.
--
-- Run creation now stores the run's new IBANs (those of its first_iban
-- warnings, distinct, in byte order, one per line) as one row of
-- run_new_ibans, which changes only while the run is proposed (the guard
-- of the run's lines). An IBAN counts as paid once a run that has it among
-- its new IBANs got its first signature, as before: the first signature
-- writes nothing more, and a later cancellation does not make the IBAN new
-- again. The view paid_ibans keeps the old columns for SQL readers.
--
-- Existing paid_ibans rows become the new IBANs of their first run.

CREATE TABLE run_new_ibans (
    municipality text NOT NULL,
    run_id       bigint NOT NULL,
    ibans        text NOT NULL CHECK (ibans <> ''),
    PRIMARY KEY (municipality, run_id)
);

INSERT INTO run_new_ibans (municipality, run_id, ibans)
SELECT municipality, first_run, string_agg(iban, E'\n' ORDER BY iban COLLATE "C")
FROM paid_ibans GROUP BY municipality, first_run;

DROP TABLE paid_ibans;

CREATE VIEW paid_ibans WITH (security_invoker = true) AS
SELECT n.municipality, i.iban, n.run_id AS first_run
FROM run_new_ibans n
CROSS JOIN LATERAL string_to_table(n.ibans, E'\n') AS i(iban)
WHERE EXISTS (SELECT 1 FROM signatures s WHERE s.municipality = n.municipality AND s.run_id = n.run_id AND s.seq = 1);

ALTER TABLE run_new_ibans ENABLE ROW LEVEL SECURITY;
ALTER TABLE run_new_ibans FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON run_new_ibans USING (
    municipality = current_setting('payrun.municipality', true)
    OR current_setting('payrun.municipality', true) = '*');

-- the guard of the run's lines (migration 0020: only while the run is
-- proposed; a change clears the digest)
CREATE TRIGGER run_new_ibans_ins AFTER INSERT ON run_new_ibans REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_run_lines_guard();
CREATE TRIGGER run_new_ibans_upd AFTER UPDATE ON run_new_ibans REFERENCING NEW TABLE AS new_lines OLD TABLE AS old_lines
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_run_lines_guard();
CREATE TRIGGER run_new_ibans_del AFTER DELETE ON run_new_ibans REFERENCING OLD TABLE AS old_lines
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_run_lines_guard();
CREATE TRIGGER run_new_ibans_truncate BEFORE TRUNCATE ON run_new_ibans
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_refuse_truncate();

-- First signature: the settled watermark only (migration 0090).
CREATE OR REPLACE FUNCTION payrun_signature_advance() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r runs%ROWTYPE;
BEGIN
    UPDATE runs SET state = CASE NEW.seq WHEN 1 THEN 'established' ELSE 'released' END
    WHERE municipality = NEW.municipality AND id = NEW.run_id
    RETURNING * INTO r;
    IF NEW.seq = 1 THEN
        INSERT INTO settled (municipality, run_id, through, gen)
        VALUES (r.municipality, r.id, (r.period + interval '1 month')::date, r.recompute_gen);
    END IF;
    RETURN NULL;
END
$$;
