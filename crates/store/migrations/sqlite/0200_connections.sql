-- Connections (issue 4): a connection per organization and topping namespace, addressed by its
-- link name; per environment its status, granted scopes, expiry and encrypted credentials.
-- Credentials are ciphertexts from trestle-vault (key id inside, associated data = row identity).
-- Conventions as in 0001: UUIDv7 text ids, RFC 3339 UTC text times, 0/1 booleans, JSON text.

CREATE TABLE connections (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    link_name TEXT NOT NULL,
    service_key TEXT NOT NULL,
    requested_scopes TEXT NOT NULL DEFAULT '[]',
    settings TEXT NOT NULL DEFAULT '{}',
    oauth_client_id TEXT,
    oauth_client_secret BLOB,
    link_name_locked INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (organization_id, link_name)
);
CREATE INDEX connections_by_service ON connections (organization_id, service_key);

CREATE TABLE connection_environments (
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    environment TEXT NOT NULL CHECK (environment IN ('production', 'sandbox')),
    status TEXT NOT NULL CHECK (status IN ('not_authorized', 'active', 'refreshing', 'needs_reauthorization', 'revoked', 'error')),
    granted_scopes TEXT NOT NULL DEFAULT '[]',
    captured_values TEXT NOT NULL DEFAULT '{}',
    credentials BLOB,
    credentials_version INTEGER NOT NULL DEFAULT 0,
    expires_at TEXT,
    authorized_at TEXT,
    last_refresh_at TEXT,
    last_error TEXT,
    last_error_at TEXT,
    refresh_lease_holder TEXT,
    refresh_lease_until TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (connection_id, environment)
);

-- Kept after the connection is deleted (no foreign key to connections).
CREATE TABLE connection_events (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL,
    link_name TEXT NOT NULL,
    environment TEXT,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    occurred_at TEXT NOT NULL
);
CREATE INDEX connection_events_by_connection ON connection_events (organization_id, connection_id, occurred_at);

-- Pending OAuth authorizations. `state` and the browser binding are stored as SHA-256 digests.
CREATE TABLE oauth_authorizations (
    state_hash TEXT PRIMARY KEY NOT NULL,
    launch_token_hash TEXT NOT NULL UNIQUE,
    browser_binding_hash TEXT,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    environment TEXT NOT NULL CHECK (environment IN ('production', 'sandbox')),
    service_key TEXT NOT NULL,
    authorize_url TEXT NOT NULL,
    token_url TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_verifier BLOB,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    launched_at TEXT,
    consumed_at TEXT
);
CREATE INDEX oauth_authorizations_by_expiry ON oauth_authorizations (expires_at);

-- Custom services created by developers: the validated definition (JSON) and the OAuth client
-- id and secret as vault ciphertexts.
CREATE TABLE custom_services (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    service_key TEXT NOT NULL,
    definition TEXT NOT NULL,
    client_id BLOB,
    client_secret BLOB,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (organization_id, service_key)
);
