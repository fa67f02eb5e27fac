-- Trestle as the OAuth 2 authorization server of its own Bigin-compatible API: registered
-- clients (secret stored as SHA-256), single-use grant codes, and opaque access and refresh
-- tokens (stored as SHA-256), each bound to a user, an organization and one environment.

CREATE TABLE oauth_clients (
    id text PRIMARY KEY,
    organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name text NOT NULL,
    client_type text NOT NULL CHECK (client_type IN ('web', 'public', 'server')),
    redirect_uris jsonb NOT NULL,
    secret_hash text,
    created_by text REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX oauth_clients_by_organization ON oauth_clients (organization_id, created_at);

CREATE TABLE oauth_grant_codes (
    code_hash text PRIMARY KEY,
    client_id text NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id text NOT NULL,
    environment_id text NOT NULL,
    scopes text NOT NULL,
    redirect_uri text,
    code_challenge text,
    expires_at timestamptz NOT NULL,
    FOREIGN KEY (organization_id, environment_id)
        REFERENCES environments (organization_id, id) ON DELETE CASCADE
);

CREATE TABLE oauth_tokens (
    token_hash text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('access', 'refresh')),
    client_id text NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id text NOT NULL,
    environment_id text NOT NULL,
    scopes text NOT NULL,
    refresh_hash text,
    expires_at timestamptz,
    created_at timestamptz NOT NULL,
    FOREIGN KEY (organization_id, environment_id)
        REFERENCES environments (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX oauth_tokens_by_refresh ON oauth_tokens (refresh_hash);
