-- The Bigin-compatible CRM: records of every module, the change events written in the same
-- transaction as each write (the workflow engine reads them), values of unique fields (so
-- uniqueness holds across processes), custom modules and fields, and the numeric ids the
-- Bigin API shows for users.

CREATE TABLE crm_records (
    id text PRIMARY KEY,
    organization_id text NOT NULL,
    environment_id text NOT NULL,
    module text NOT NULL,
    fields jsonb NOT NULL,
    owner_id text NOT NULL,
    created_by text NOT NULL,
    modified_by text NOT NULL,
    created_time timestamptz NOT NULL,
    modified_time timestamptz NOT NULL,
    FOREIGN KEY (organization_id, environment_id)
        REFERENCES environments (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX crm_records_by_module ON crm_records (environment_id, module, id);
CREATE INDEX crm_records_by_modified ON crm_records (environment_id, module, modified_time, id);
CREATE INDEX crm_records_by_created ON crm_records (environment_id, module, created_time, id);

CREATE TABLE crm_unique_values (
    environment_id text NOT NULL,
    module text NOT NULL,
    field text NOT NULL,
    folded_value text NOT NULL,
    record_id text NOT NULL REFERENCES crm_records (id) ON DELETE CASCADE,
    PRIMARY KEY (environment_id, module, field, folded_value)
);
CREATE INDEX crm_unique_values_by_record ON crm_unique_values (record_id);

CREATE TABLE crm_record_events (
    sequence bigserial PRIMARY KEY,
    organization_id text NOT NULL,
    environment_id text NOT NULL,
    module text NOT NULL,
    record_id text NOT NULL,
    operation text NOT NULL CHECK (operation IN ('create', 'update', 'delete')),
    changed_fields jsonb NOT NULL,
    actor_user_id text NOT NULL,
    triggers jsonb NOT NULL,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX crm_record_events_by_environment ON crm_record_events (environment_id, sequence);

CREATE TABLE crm_custom_modules (
    organization_id text NOT NULL,
    environment_id text NOT NULL,
    api_name text NOT NULL,
    definition jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (environment_id, api_name),
    FOREIGN KEY (organization_id, environment_id)
        REFERENCES environments (organization_id, id) ON DELETE CASCADE
);

CREATE TABLE crm_custom_fields (
    organization_id text NOT NULL,
    environment_id text NOT NULL,
    module text NOT NULL,
    api_name text NOT NULL,
    definition jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (environment_id, module, api_name),
    FOREIGN KEY (organization_id, environment_id)
        REFERENCES environments (organization_id, id) ON DELETE CASCADE
);

CREATE TABLE crm_user_numbers (
    user_id text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    numeric_id text NOT NULL UNIQUE
);
