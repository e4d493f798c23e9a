-- 0061: journal rows of exported runs and the batches of the bookings pull
-- API (GET /api/v1/bookings?after=CURSOR, POST /api/v1/bookings/ack).
--
-- booking_lines.id is the cursor: ascending in insertion order. A batch
-- covers the lines with after_id < id <= last_id of one municipality. Until
-- it is acknowledged the same batch (same id, same lines) is served again
-- for the same cursor: at-least-once delivery.

CREATE TABLE booking_lines (
    municipality text NOT NULL REFERENCES municipalities (key),
    id           bigint GENERATED ALWAYS AS IDENTITY,
    run_id       bigint NOT NULL,
    n            bigint NOT NULL CHECK (n > 0), -- entry number within the run's journal
    record       text NOT NULL,                 -- one JSON object (booking.AppendJSON)
    PRIMARY KEY (municipality, id),
    UNIQUE (municipality, run_id, n),
    FOREIGN KEY (municipality, run_id) REFERENCES runs (municipality, id)
);

CREATE TABLE booking_batches (
    municipality text NOT NULL REFERENCES municipalities (key),
    id           bigint GENERATED ALWAYS AS IDENTITY,
    after_id     bigint NOT NULL CHECK (after_id >= 0),
    last_id      bigint NOT NULL CHECK (last_id > after_id),
    lines        integer NOT NULL CHECK (lines > 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    acked_at     timestamptz,
    PRIMARY KEY (municipality, id)
);
CREATE INDEX booking_batches_open ON booking_batches (municipality, after_id) WHERE acked_at IS NULL;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['booking_lines', 'booking_batches'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant ON %I USING (
            municipality = current_setting('payrun.municipality', true)
            OR current_setting('payrun.municipality', true) = '*')$p$, t);
    END LOOP;
END
$$;
