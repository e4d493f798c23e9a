-- 0021: the audit trail's hash chain (DESIGN.md invariant 6).
--
-- Every insert into audit_events, whoever makes it, is chained by a trigger:
-- under a global advisory lock (key hashtextextended('payrun.audit', 0)) it
-- takes the head of the chain, gives the event the next seq, and sets
--   hash = sha256(prev_hash || canonical record)
-- where prev_hash is the previous event's hash (32 zero bytes for the first)
-- and the canonical record is the UTF-8 text
--   seq LF at LF municipality LF actor LF action LF details
-- with at in UTC as 2006-01-02T15:04:05.000000Z, municipality '' when
-- central, and details as PostgreSQL's jsonb text (which is canonical:
-- normalised key order and spacing). store.VerifyAudit recomputes it in Go.
-- Events are never updated or deleted.

ALTER TABLE audit_events ADD COLUMN seq bigint;
CREATE UNIQUE INDEX audit_events_seq ON audit_events (seq);

-- The head of the chain; no tenancy, so that every tenant's append sees it.
CREATE TABLE audit_chain_head (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq  bigint NOT NULL,
    hash bytea NOT NULL CHECK (length(hash) = 32)
);
INSERT INTO audit_chain_head (seq, hash) VALUES (0, decode(repeat('00', 32), 'hex'));

CREATE FUNCTION payrun_audit_record(seq bigint, at timestamptz, municipality text, actor text, action text, details jsonb)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_to(concat_ws(E'\n', seq::text,
                                to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                coalesce(municipality, ''), actor, action, details::text), 'UTF8')
$$;

CREATE FUNCTION payrun_audit_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    head audit_chain_head%ROWTYPE;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'PR009';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('payrun.audit', 0));
    SELECT * INTO head FROM audit_chain_head FOR UPDATE;
    NEW.at := date_trunc('microseconds', NEW.at);
    NEW.seq := head.seq + 1;
    NEW.prev_hash := head.hash;
    NEW.hash := sha256(head.hash || payrun_audit_record(NEW.seq, NEW.at, NEW.municipality, NEW.actor, NEW.action, NEW.details));
    UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_events_chain BEFORE INSERT OR UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION payrun_audit_chain();
CREATE TRIGGER audit_events_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION payrun_refuse_truncate();
