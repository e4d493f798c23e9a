-- 0085: the bookings pull API generates the journal of an exported run
-- from its frozen run lines instead of reading stored journal rows.
--
-- A run's journal is a pure function of its run lines (fixed once the run
-- is signed) and the account rules it was booked with. booking_journals
-- keeps, per exported run, a snapshot of those rules, the number of
-- journal records and the run's range of cursor positions:
-- (first_pos, first_pos + records]. The ranges of one municipality follow
-- each other without gaps, in export order; the first starts after the
-- highest booking_lines.id of the municipality, so cursors handed out
-- before this migration (booking_lines ids) stay valid and booking_lines
-- rows stored before it are still served (and still count in the § 46a
-- report) before the generated journals.
--
-- booking_journal_pages cuts a run's journal into pages of about a
-- thousand run lines at case boundaries: the lines first_line ..
-- first_line + lines - 1 (1-based, journal order) are exactly the lines of
-- the run for the listed cases. The pull API reads only the pages of the
-- requested range (index run_lines_netting on case_id), not the whole run.
--
-- Both are written in the transaction that marks the run exported.

CREATE TABLE booking_journals (
    municipality text NOT NULL REFERENCES municipalities (key),
    run_id       bigint NOT NULL,
    first_pos    bigint NOT NULL CHECK (first_pos >= 0),
    records      bigint NOT NULL CHECK (records >= 0 AND records % 2 = 0),
    debit        bigint NOT NULL CHECK (debit >= 0),   -- cents
    credit       bigint NOT NULL CHECK (credit = debit),
    rules        jsonb NOT NULL,                       -- []booking.Rule, wildcards expanded
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (municipality, run_id),
    UNIQUE (municipality, first_pos),
    FOREIGN KEY (municipality, run_id) REFERENCES runs (municipality, id)
);

CREATE TABLE booking_journal_pages (
    municipality text NOT NULL,
    run_id       bigint NOT NULL,
    first_line   bigint NOT NULL CHECK (first_line > 0),
    lines        integer NOT NULL CHECK (lines > 0),
    cases        text[] NOT NULL,
    PRIMARY KEY (municipality, run_id, first_line),
    FOREIGN KEY (municipality, run_id) REFERENCES booking_journals (municipality, run_id)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['booking_journals', 'booking_journal_pages'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant ON %I USING (
            municipality = current_setting('payrun.municipality', true)
            OR current_setting('payrun.municipality', true) = '*')$p$, t);
    END LOOP;
END
$$;
