-- Platform tables: organizations, their two environments, users, memberships, console
-- sessions, API tokens, failed-login counters and the audit log.
-- Conventions (see crates/store/README.md): ids are UUIDv7 text (the same values as on
-- SQLite); times are timestamptz; integers are bigint (Rust i64); JSON is jsonb.

CREATE TABLE organizations (
    id text PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE environments (
    id text PRIMARY KEY,
    organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('production', 'sandbox')),
    created_at timestamptz NOT NULL,
    UNIQUE (organization_id, kind),
    -- Lets environment-owned tables reference (organization_id, environment_id) together,
    -- so a row can never point at another organization's environment.
    UNIQUE (organization_id, id)
);

CREATE TABLE users (
    id text PRIMARY KEY,
    email text NOT NULL UNIQUE,
    display_name text NOT NULL,
    password_hash text NOT NULL,
    must_change_password boolean NOT NULL DEFAULT false,
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE memberships (
    organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('admin', 'developer', 'user')),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);

CREATE TABLE console_sessions (
    id text PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_by_user ON console_sessions (user_id);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);

CREATE TABLE api_tokens (
    id text PRIMARY KEY,
    organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name text NOT NULL,
    token_prefix text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    created_by text REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    last_used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX api_tokens_by_organization ON api_tokens (organization_id, created_at);

CREATE TABLE login_failures (
    throttle_key text PRIMARY KEY,
    window_started_at timestamptz NOT NULL,
    failure_count bigint NOT NULL
);

-- History outlives what it describes: no foreign keys here.
CREATE TABLE audit_log (
    id text PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    organization_id text,
    actor_kind text NOT NULL,
    actor_id text,
    action text NOT NULL,
    target_kind text,
    target_id text,
    details jsonb NOT NULL
);
CREATE INDEX audit_log_by_organization ON audit_log (organization_id, id);
