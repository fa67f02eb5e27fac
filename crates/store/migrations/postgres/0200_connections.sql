-- Connections (issue 4): a connection per organization and topping namespace, addressed by its
-- link name; per environment its status, granted scopes, expiry and encrypted credentials.
-- Credentials are ciphertexts from trestle-vault (key id inside, associated data = row identity).
-- Conventions as in 0001: UUIDv7 text ids, timestamptz times, booleans, JSON text.

CREATE TABLE connections (
    id text PRIMARY KEY,
    organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    namespace text NOT NULL,
    name text NOT NULL,
    link_name text NOT NULL,
    service_key text NOT NULL,
    requested_scopes text NOT NULL DEFAULT '[]',
    settings text NOT NULL DEFAULT '{}',
    oauth_client_id text,
    oauth_client_secret bytea,
    link_name_locked boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (organization_id, link_name)
);
CREATE INDEX connections_by_service ON connections (organization_id, service_key);

CREATE TABLE connection_environments (
    connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    environment text NOT NULL CHECK (environment IN ('production', 'sandbox')),
    status text NOT NULL CHECK (status IN ('not_authorized', 'active', 'refreshing', 'needs_reauthorization', 'revoked', 'error')),
    granted_scopes text NOT NULL DEFAULT '[]',
    captured_values text NOT NULL DEFAULT '{}',
    credentials bytea,
    credentials_version bigint NOT NULL DEFAULT 0,
    expires_at timestamptz,
    authorized_at timestamptz,
    last_refresh_at timestamptz,
    last_error text,
    last_error_at timestamptz,
    refresh_lease_holder text,
    refresh_lease_until timestamptz,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (connection_id, environment)
);

-- Kept after the connection is deleted (no foreign key to connections).
CREATE TABLE connection_events (
    id text PRIMARY KEY,
    organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    connection_id text NOT NULL,
    link_name text NOT NULL,
    environment text,
    kind text NOT NULL,
    detail text NOT NULL DEFAULT '{}',
    occurred_at timestamptz NOT NULL
);
CREATE INDEX connection_events_by_connection ON connection_events (organization_id, connection_id, occurred_at);

-- Pending OAuth authorizations. `state` and the browser binding are stored as SHA-256 digests.
CREATE TABLE oauth_authorizations (
    state_hash text PRIMARY KEY,
    launch_token_hash text NOT NULL UNIQUE,
    browser_binding_hash text,
    organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    environment text NOT NULL CHECK (environment IN ('production', 'sandbox')),
    service_key text NOT NULL,
    authorize_url text NOT NULL,
    token_url text NOT NULL,
    redirect_uri text NOT NULL,
    code_verifier bytea,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    launched_at timestamptz,
    consumed_at timestamptz
);
CREATE INDEX oauth_authorizations_by_expiry ON oauth_authorizations (expires_at);

-- Custom services created by developers: the validated definition (JSON) and the OAuth client
-- id and secret as vault ciphertexts.
CREATE TABLE custom_services (
    organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    service_key text NOT NULL,
    definition text NOT NULL,
    client_id bytea,
    client_secret bytea,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (organization_id, service_key)
);
