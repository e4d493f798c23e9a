-- 0062: the scheduler's tables (package scheduler).
--
-- schedules holds one cron schedule per (municipality, job kind), evaluated
-- in Europe/Berlin; last_planned_at is the latest occurrence already turned
-- into a job, so that after downtime only the latest missed occurrence is
-- enqueued (catch-up once, not once per missed occurrence).
--
-- jobs is the queue every scheduler instance claims from with
-- FOR UPDATE SKIP LOCKED. The unique key (municipality, kind, scheduled_for)
-- makes planning the same occurrence twice a no-op. A running job holds a
-- lease (claimed_until) that its instance extends while it works; a job
-- whose lease expired (its process died) is claimed again. job_attempts is
-- the history of every attempt.
CREATE TABLE schedules (
    municipality    text NOT NULL REFERENCES municipalities (key),
    kind            text NOT NULL CHECK (kind IN ('monthly_run', 'supplementary_run', 'export', 'reminders')),
    spec            text NOT NULL CHECK (spec <> ''),
    enabled         boolean NOT NULL DEFAULT true,
    -- monthly_run: create the run this many business days before its
    -- execution date; reminders: list runs not released this many business
    -- days before their execution date; unused otherwise.
    business_days   integer NOT NULL DEFAULT 0 CHECK (business_days >= 0),
    last_planned_at timestamptz NOT NULL,
    PRIMARY KEY (municipality, kind)
);

CREATE TABLE jobs (
    municipality    text NOT NULL,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    kind            text NOT NULL CHECK (kind IN ('monthly_run', 'supplementary_run', 'export', 'reminders')),
    scheduled_for   timestamptz NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'succeeded', 'failed')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts    integer NOT NULL CHECK (max_attempts > 0),
    next_attempt_at timestamptz NOT NULL,
    claimed_by      text,
    claimed_until   timestamptz,
    started_at      timestamptz,
    finished_at     timestamptz,
    outcome         text,
    error           text,
    output          jsonb,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (municipality, id),
    UNIQUE (municipality, kind, scheduled_for),
    CHECK (state <> 'running' OR (claimed_by IS NOT NULL AND claimed_until IS NOT NULL))
);
CREATE INDEX jobs_due ON jobs (next_attempt_at) WHERE state = 'pending';
CREATE INDEX jobs_lease ON jobs (claimed_until) WHERE state = 'running';

CREATE TABLE job_attempts (
    municipality text NOT NULL,
    job_id       bigint NOT NULL,
    attempt      integer NOT NULL CHECK (attempt > 0),
    claimed_by   text NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    -- succeeded, failed, lost (lease expired), interrupted (shutdown)
    outcome      text CHECK (outcome IN ('succeeded', 'failed', 'lost', 'interrupted')),
    error        text,
    PRIMARY KEY (municipality, job_id, attempt),
    FOREIGN KEY (municipality, job_id) REFERENCES jobs (municipality, id) ON DELETE CASCADE
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['schedules', 'jobs', 'job_attempts'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant ON %I USING (
            municipality = current_setting('payrun.municipality', true)
            OR current_setting('payrun.municipality', true) = '*')$p$, t);
    END LOOP;
END $$;
