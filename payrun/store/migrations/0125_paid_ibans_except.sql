-- 0125: the first signature's new IBANs by EXCEPT, not by NOT EXISTS.
--
-- 0120's anti-join was planned, on a first run with paid_ibans still empty,
-- as a nested loop that scans paid_ibans once per new IBAN; the scans also
-- pass over the rows the same statement has just inserted (invisible to it,
-- but read), so the signature grew with the square of the run's new IBANs
-- (20,000 cases: 12 s). EXCEPT reads both sides once before the first row
-- is inserted (a hashed or sorted set operation: there is no plan that
-- rescans), and removes duplicates as DISTINCT did. Still under the
-- municipality's lock, in IBAN order, without ON CONFLICT (see 0120).

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
        SELECT r.municipality, n.iban, r.id
        FROM (SELECT w.iban FROM run_warnings w
              WHERE w.municipality = r.municipality AND w.run_id = r.id AND w.kind = 'first_iban'
                AND w.iban IS NOT NULL
              EXCEPT
              SELECT p.iban FROM paid_ibans p WHERE p.municipality = r.municipality) n
        ORDER BY n.iban;
        INSERT INTO settled (municipality, run_id, through, gen)
        VALUES (r.municipality, r.id, (r.period + interval '1 month')::date, r.recompute_gen);
    END IF;
    RETURN NULL;
END
$$;
