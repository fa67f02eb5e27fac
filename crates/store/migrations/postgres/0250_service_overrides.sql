-- Operator configuration per organization and environment (issue 5, issue 4, issue 6):
-- stand-in routes for service hosts, and per service the OAuth endpoints, the operator's OAuth
-- client and operator-fixed template variables (e.g. `bigin` pointed at this Trestle).
-- Kept in the database so every server process sharing it applies the same configuration.

CREATE TABLE egress_routes (
    organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    environment TEXT NOT NULL CHECK (environment IN ('production', 'sandbox')),
    host TEXT NOT NULL,
    target TEXT NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (organization_id, environment, host)
);

-- `client_secret` is a trestle-vault ciphertext bound to the row's identity.
CREATE TABLE service_overrides (
    organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    environment TEXT NOT NULL CHECK (environment IN ('production', 'sandbox')),
    service_key TEXT NOT NULL,
    authorize_url TEXT,
    token_url TEXT,
    revoke_url TEXT,
    client_id TEXT,
    client_secret bytea,
    variables TEXT NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (organization_id, environment, service_key)
);
