-- Platform tables: organizations, their two environments, users, memberships, console
-- sessions, API tokens, failed-login counters and the audit log.
-- Conventions (see crates/store/README.md): ids are UUIDv7 text; times are RFC 3339 UTC text
-- written by the application (never by SQL functions), so they compare correctly as text;
-- booleans are 0/1 integers; JSON is text.

CREATE TABLE organizations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE environments (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('production', 'sandbox')),
    created_at TEXT NOT NULL,
    UNIQUE (organization_id, kind),
    -- Lets environment-owned tables reference (organization_id, environment_id) together,
    -- so a row can never point at another organization's environment.
    UNIQUE (organization_id, id)
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE memberships (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'developer', 'user')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);

CREATE TABLE console_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE INDEX console_sessions_by_user ON console_sessions (user_id);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE INDEX api_tokens_by_organization ON api_tokens (organization_id, created_at);

CREATE TABLE login_failures (
    throttle_key TEXT PRIMARY KEY NOT NULL,
    window_started_at TEXT NOT NULL,
    failure_count INTEGER NOT NULL
);

-- History outlives what it describes: no foreign keys here.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY NOT NULL,
    occurred_at TEXT NOT NULL,
    organization_id TEXT,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    target_kind TEXT,
    target_id TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_log_by_organization ON audit_log (organization_id, id);
