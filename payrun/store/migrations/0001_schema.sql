-- 0001: the base schema of payrun.
--
-- Every tenant table is keyed by municipality first (a future Citus
-- distribution column) and protected by row-level security (ENABLE + FORCE):
-- a session sees the rows of the municipality in the transaction-local
-- setting payrun.municipality, or every row when it is '*' (operator
-- commands). Central tables (rates, child supplements, rate table owners)
-- carry no municipality and no policy.
--
-- Amounts are numeric(14,2). Go code writes them only from payrun.Cents, so
-- no value with more than two decimals ever reaches a column.
--
-- Later migrations (in new files) add the four-eyes / frozen-lines triggers
-- and the audit hash chain.

-- Municipalities, the county and the Kopfstelle (hub) are all tenants.
CREATE TABLE municipalities (
    key          text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]{1,31}$'),
    name         text NOT NULL CHECK (name <> ''),
    kind         text NOT NULL CHECK (kind IN ('municipality', 'county', 'hub')),
    parent       text REFERENCES municipalities (key),
    debtor_name  text,
    debtor_iban  text CHECK (debtor_iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$'),
    debtor_bic   text CHECK (debtor_bic ~ '^[A-Z0-9]{8}([A-Z0-9]{3})?$'),
    -- settings: execution_days_before (int, default 1), payment_threshold
    -- (amount string), calc {sgb12_actual_days, round_daily_rate_first,
    -- full_child_supplement}, booking_layout (string).
    settings     jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'municipality' OR debtor_iban IS NOT NULL)
);

CREATE TABLE users (
    municipality  text NOT NULL REFERENCES municipalities (key),
    id            bigint GENERATED ALWAYS AS IDENTITY,
    login         text NOT NULL CHECK (login ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    display_name  text NOT NULL DEFAULT '',
    password_hash text, -- bcrypt; null: no web login
    system        boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz,
    PRIMARY KEY (municipality, id),
    UNIQUE (municipality, login)
);

CREATE TABLE user_roles (
    municipality text NOT NULL,
    user_id      bigint NOT NULL,
    role         text NOT NULL CHECK (role IN ('checker', 'approver', 'cashier', 'admin', 'rates_county', 'rates_hub', 'system')),
    limit_cents  bigint CHECK (limit_cents > 0), -- approver limit for a single payment, in cents
    PRIMARY KEY (municipality, user_id, role),
    FOREIGN KEY (municipality, user_id) REFERENCES users (municipality, id) ON DELETE CASCADE,
    CHECK (limit_cents IS NULL OR role = 'approver')
);

-- API tokens: only the sha256 of a token is stored. token_sha256 is unique
-- across tenants because a request names no municipality before it is
-- authenticated (a reference table when distributed).
CREATE TABLE api_tokens (
    municipality text NOT NULL,
    id           bigint GENERATED ALWAYS AS IDENTITY,
    user_id      bigint NOT NULL,
    token_sha256 bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    PRIMARY KEY (municipality, id),
    FOREIGN KEY (municipality, user_id) REFERENCES users (municipality, id) ON DELETE CASCADE
);

-- Central rate tables, versioned by valid_from. Which role may edit which
-- table: rate_table_owners (payrun.RateTable.OwnerRole; enforced in Go).
CREATE TABLE rate_table_owners (
    rate_table text PRIMARY KEY CHECK (rate_table IN ('SGB_XII', 'SGB_II', 'AsylbLG_2', 'AsylbLG_3a')),
    owner_role text NOT NULL CHECK (owner_role IN ('rates_county', 'rates_hub'))
);

CREATE TABLE rates (
    rate_table  text NOT NULL REFERENCES rate_table_owners (rate_table),
    needs_level smallint NOT NULL CHECK (needs_level BETWEEN 1 AND 6),
    valid_from  date NOT NULL,
    amount      numeric(14,2) NOT NULL CHECK (amount >= 0),
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rate_table, needs_level, valid_from)
);

-- Sofortzuschlag per minor and month.
CREATE TABLE child_supplements (
    valid_from date PRIMARY KEY,
    amount     numeric(14,2) NOT NULL CHECK (amount >= 0),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Chart of accounts per municipality.
CREATE TABLE accounts (
    municipality text NOT NULL REFERENCES municipalities (key),
    account      text NOT NULL CHECK (account ~ '^[0-9]{4,10}$'),
    name         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('expense', 'payable', 'receivable', 'revenue', 'bank_clearing')),
    example      boolean NOT NULL DEFAULT false, -- invented number (demo data)
    PRIMARY KEY (municipality, account)
);

-- Account rules: which account (and product, cost centre, budget position)
-- a (law, component, cost bearer, kind) books to. municipality NULL is the
-- county-wide default; a row of a municipality overrides it.
CREATE TABLE account_rules (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    municipality    text REFERENCES municipalities (key),
    law             text NOT NULL CHECK (law IN ('asylblg_3', 'asylblg_2', 'asylblg_1a', 'sgb12_3', 'sgb12_4')),
    component       text NOT NULL CHECK (component IN ('regular', 'extra', 'child_supplement', 'rent', 'heating', 'income', 'offset', '*')),
    cost_bearer     text NOT NULL CHECK (cost_bearer IN ('bund_46a', 'municipality', 'fluag')),
    kind            text NOT NULL CHECK (kind IN ('expense', 'payable', 'receivable', 'revenue', 'bank_clearing')),
    account         text NOT NULL CHECK (account ~ '^[0-9]{4,10}$'),
    product         text NOT NULL DEFAULT '',
    cost_centre     text NOT NULL DEFAULT '',
    budget_position text NOT NULL DEFAULT '',
    example         boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX account_rules_key ON account_rules (coalesce(municipality, ''), law, component, cost_bearer, kind);

-- Approved decisions (CONTRACT.md §2), immutable once imported.
CREATE TABLE decisions (
    municipality       text NOT NULL REFERENCES municipalities (key),
    decision_id        text NOT NULL CHECK (decision_id ~ '^[A-Za-z0-9+?/:().,'' -]{1,35}$'),
    case_id            text NOT NULL CHECK (case_id ~ '^[A-Za-z0-9+?/:().,'' -]{1,35}$'),
    law                text NOT NULL CHECK (law IN ('asylblg_3', 'asylblg_2', 'asylblg_1a', 'sgb12_3', 'sgb12_4')),
    valid_from         date NOT NULL,
    valid_to           date CHECK (valid_to >= valid_from),
    supersedes         text[] NOT NULL DEFAULT '{}',
    rent               numeric(14,2) NOT NULL DEFAULT 0 CHECK (rent >= 0),
    heating            numeric(14,2) NOT NULL DEFAULT 0 CHECK (heating >= 0),
    pay_to             text CHECK (pay_to IN ('beneficiary', 'landlord')),
    countable_income   numeric(14,2) NOT NULL DEFAULT 0 CHECK (countable_income >= 0),
    payee_channel      text NOT NULL CHECK (payee_channel IN ('sepa', 'card', 'cash')),
    payee_name         text NOT NULL,
    payee_iban         text,
    payee_bic          text,
    landlord_name      text,
    landlord_iban      text,
    landlord_bic       text,
    landlord_reference text,
    reclaim_id         text,
    offset_monthly     numeric(14,2) CHECK (offset_monthly >= 0),
    offset_remaining   numeric(14,2) CHECK (offset_remaining >= 0),
    persons            jsonb NOT NULL CHECK (jsonb_typeof(persons) = 'array' AND jsonb_array_length(persons) > 0),
    content_sha256     bytea NOT NULL CHECK (length(content_sha256) = 32),
    import_id          bigint NOT NULL,
    imported_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (municipality, decision_id),
    CHECK ((payee_channel = 'cash') = (payee_iban IS NULL)),
    CHECK (pay_to IS DISTINCT FROM 'landlord' OR landlord_iban IS NOT NULL),
    CHECK ((reclaim_id IS NULL) = (offset_monthly IS NULL) AND (reclaim_id IS NULL) = (offset_remaining IS NULL))
);
CREATE INDEX decisions_case ON decisions (municipality, case_id);

-- Import batches get their id from this sequence (decisions.import_id and the
-- audit event of the import).
CREATE SEQUENCE import_ids;

-- Cases: recompute_from is the earliest month whose amounts may have
-- changed since the last signed run (set by the importer to the first month
-- of a new decision, min with the existing value; cleared by the run code).
CREATE TABLE cases (
    municipality   text NOT NULL REFERENCES municipalities (key),
    case_id        text NOT NULL,
    first_seen     timestamptz NOT NULL DEFAULT now(),
    recompute_from date CHECK (extract(day FROM recompute_from) = 1),
    PRIMARY KEY (municipality, case_id)
);

-- Reclaims (Rückforderungen) that decisions set off against payments.
-- amount is the remaining amount when the reclaim was first seen.
CREATE TABLE reclaims (
    municipality text NOT NULL REFERENCES municipalities (key),
    reclaim_id   text NOT NULL CHECK (reclaim_id <> ''),
    case_id      text NOT NULL,
    amount       numeric(14,2) NOT NULL CHECK (amount >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (municipality, reclaim_id),
    FOREIGN KEY (municipality, case_id) REFERENCES cases (municipality, case_id)
);

-- Payment runs. id is a bigint identity, unique across municipalities, so
-- that `payrun run show 42` needs no municipality; the key is still
-- (municipality, id).
CREATE TABLE runs (
    municipality   text NOT NULL REFERENCES municipalities (key),
    id             bigint GENERATED ALWAYS AS IDENTITY,
    kind           text NOT NULL CHECK (kind IN ('monthly', 'supplementary')),
    period         date NOT NULL CHECK (extract(day FROM period) = 1),
    state          text NOT NULL DEFAULT 'proposed' CHECK (state IN ('proposed', 'established', 'released', 'exported', 'cancelled')),
    instant        boolean NOT NULL DEFAULT false,
    digest         bytea CHECK (length(digest) = 32),
    execution_date date,
    line_count     bigint NOT NULL DEFAULT 0 CHECK (line_count >= 0),
    total          numeric(14,2) NOT NULL DEFAULT 0 CHECK (total >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     bigint NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (municipality, id),
    FOREIGN KEY (municipality, created_by) REFERENCES users (municipality, id)
);
CREATE UNIQUE INDEX runs_one_proposed ON runs (municipality) WHERE state = 'proposed';

-- Run lines, written with COPY. Deliberately narrow and without a foreign
-- key to runs (a million RI checks per run would dominate the COPY); the run
-- code writes a run and its lines in one transaction.
CREATE TABLE run_lines (
    municipality text NOT NULL,
    run_id       bigint NOT NULL,
    case_id      text NOT NULL,
    month        date NOT NULL CHECK (extract(day FROM month) = 1),
    payee_role   text NOT NULL CHECK (payee_role IN ('beneficiary', 'landlord')),
    component    text NOT NULL CHECK (component IN ('regular', 'extra', 'child_supplement', 'rent', 'heating', 'income', 'offset')),
    kind         text NOT NULL CHECK (kind IN ('payment', 'overpayment')),
    amount       numeric(14,2) NOT NULL,
    law          text NOT NULL CHECK (law IN ('asylblg_3', 'asylblg_2', 'asylblg_1a', 'sgb12_3', 'sgb12_4')),
    cost_bearer  text NOT NULL CHECK (cost_bearer IN ('bund_46a', 'municipality', 'fluag')),
    decision_id  text,
    reclaim_id   text
);
CREATE INDEX run_lines_netting ON run_lines (municipality, case_id, month);
CREATE INDEX run_lines_run ON run_lines (municipality, run_id);

CREATE TABLE signatures (
    municipality text NOT NULL,
    run_id       bigint NOT NULL,
    seq          smallint NOT NULL CHECK (seq IN (1, 2)),
    user_id      bigint NOT NULL,
    role         text NOT NULL CHECK (role IN ('checker', 'approver')),
    digest       bytea NOT NULL CHECK (length(digest) = 32),
    signed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (municipality, run_id, seq),
    UNIQUE (municipality, run_id, user_id),
    FOREIGN KEY (municipality, run_id) REFERENCES runs (municipality, id),
    FOREIGN KEY (municipality, user_id) REFERENCES users (municipality, id),
    CHECK ((seq = 1 AND role = 'checker') OR (seq = 2 AND role = 'approver'))
);

CREATE TABLE exports (
    municipality text NOT NULL,
    run_id       bigint NOT NULL,
    manifest     jsonb NOT NULL,
    exported_at  timestamptz NOT NULL DEFAULT now(),
    exported_by  bigint NOT NULL,
    PRIMARY KEY (municipality, run_id, exported_at),
    FOREIGN KEY (municipality, run_id) REFERENCES runs (municipality, id),
    FOREIGN KEY (municipality, exported_by) REFERENCES users (municipality, id)
);

-- Audit events, append-only; the hash chain is added by a later migration.
-- municipality NULL: a central event (e.g. an import spanning tenants).
CREATE TABLE audit_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    municipality text REFERENCES municipalities (key),
    actor        text NOT NULL CHECK (actor <> ''),
    action       text NOT NULL CHECK (action <> ''),
    details      jsonb NOT NULL DEFAULT '{}'::jsonb,
    prev_hash    bytea,
    hash         bytea
);
CREATE INDEX audit_events_municipality ON audit_events (municipality, id);

-- Row-level security on every tenant table.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'user_roles', 'api_tokens', 'accounts', 'decisions', 'cases',
                             'reclaims', 'runs', 'run_lines', 'signatures', 'exports', 'audit_events'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant ON %I USING (
            municipality = current_setting('payrun.municipality', true)
            OR current_setting('payrun.municipality', true) = '*')$p$, t);
    END LOOP;
END
$$;

ALTER TABLE municipalities ENABLE ROW LEVEL SECURITY;
ALTER TABLE municipalities FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON municipalities USING (
    key = current_setting('payrun.municipality', true)
    OR current_setting('payrun.municipality', true) = '*');

-- County-wide default rules (municipality NULL) are readable by every
-- tenant but written only by operator sessions ('*').
ALTER TABLE account_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE account_rules FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON account_rules FOR SELECT USING (
    municipality IS NULL
    OR municipality = current_setting('payrun.municipality', true)
    OR current_setting('payrun.municipality', true) = '*');
CREATE POLICY tenant_write ON account_rules FOR ALL USING (
    municipality = current_setting('payrun.municipality', true)
    OR current_setting('payrun.municipality', true) = '*');
