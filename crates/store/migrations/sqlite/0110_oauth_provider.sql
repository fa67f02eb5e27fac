-- Trestle as the OAuth 2 authorization server of its own Bigin-compatible API: registered
-- clients (secret stored as SHA-256), single-use grant codes, and opaque access and refresh
-- tokens (stored as SHA-256), each bound to a user, an organization and one environment.

CREATE TABLE oauth_clients (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    client_type TEXT NOT NULL CHECK (client_type IN ('web', 'public', 'server')),
    redirect_uris TEXT NOT NULL,
    secret_hash TEXT,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX oauth_clients_by_organization ON oauth_clients (organization_id, created_at);

CREATE TABLE oauth_grant_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL,
    environment_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    redirect_uri TEXT,
    code_challenge TEXT,
    expires_at TEXT NOT NULL,
    FOREIGN KEY (organization_id, environment_id)
        REFERENCES environments (organization_id, id) ON DELETE CASCADE
);

CREATE TABLE oauth_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    client_id TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL,
    environment_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    refresh_hash TEXT,
    expires_at TEXT,
    created_at TEXT NOT NULL,
    FOREIGN KEY (organization_id, environment_id)
        REFERENCES environments (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX oauth_tokens_by_refresh ON oauth_tokens (refresh_hash);
