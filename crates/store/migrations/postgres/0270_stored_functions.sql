-- Stored functions (issue 5): Deluge functions saved per organization and environment, run by
-- name through functions/run and callable from other functions (`standalone.name(...)`).
-- `name_key` is the lower-cased name: names are unique per environment regardless of case.
-- Parameters are a JSON list of {"name", "type"} in declaration order.
-- Authors are stored like audit actors: a kind and, for users and API tokens, an id.

CREATE TABLE stored_functions (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    environment TEXT NOT NULL CHECK (environment IN ('production', 'sandbox')),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    parameters JSONB NOT NULL DEFAULT '[]',
    script TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    created_by_kind TEXT NOT NULL,
    created_by_id TEXT,
    updated_by_kind TEXT NOT NULL,
    updated_by_id TEXT,
    UNIQUE (organization_id, environment, name_key)
);
