-- 0070: the cashiers' web pages (package payrun/web): login sessions and
-- the lock-out after failed logins.
--
-- web_sessions stores only the sha256 of a session's random secret; the
-- cookie carries municipality and secret, so the lookup runs in the
-- municipality's own tenancy scope. A session ends by logout, after
-- idle expiry (last_seen_at) or absolute expiry (created_at); the Go code
-- decides both from its injected clock.
--
-- login_failures counts consecutive failed logins per (municipality, login),
-- whether or not the login exists (no user enumeration); locked_until is
-- set when the count reaches the limit.
CREATE TABLE web_sessions (
    municipality  text NOT NULL REFERENCES municipalities (key),
    secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
    user_id       bigint NOT NULL,
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    PRIMARY KEY (municipality, secret_sha256),
    FOREIGN KEY (municipality, user_id) REFERENCES users (municipality, id) ON DELETE CASCADE
);

CREATE TABLE login_failures (
    municipality    text NOT NULL REFERENCES municipalities (key),
    login           text NOT NULL,
    failures        integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_failure_at timestamptz NOT NULL,
    locked_until    timestamptz,
    PRIMARY KEY (municipality, login)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['web_sessions', 'login_failures'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant ON %I USING (
            municipality = current_setting('payrun.municipality', true)
            OR current_setting('payrun.municipality', true) = '*')$p$, t);
    END LOOP;
END $$;
