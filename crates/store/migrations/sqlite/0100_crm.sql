-- The Bigin-compatible CRM: records of every module, the change events written in the same
-- transaction as each write (the workflow engine reads them), values of unique fields (so
-- uniqueness holds across processes), custom modules and fields, and the numeric ids the
-- Bigin API shows for users.

CREATE TABLE crm_records (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL,
    environment_id TEXT NOT NULL,
    module TEXT NOT NULL,
    fields TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified_by TEXT NOT NULL,
    created_time TEXT NOT NULL,
    modified_time TEXT NOT NULL,
    FOREIGN KEY (organization_id, environment_id)
        REFERENCES environments (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX crm_records_by_module ON crm_records (environment_id, module, id);
CREATE INDEX crm_records_by_modified ON crm_records (environment_id, module, modified_time, id);
CREATE INDEX crm_records_by_created ON crm_records (environment_id, module, created_time, id);

CREATE TABLE crm_unique_values (
    environment_id TEXT NOT NULL,
    module TEXT NOT NULL,
    field TEXT NOT NULL,
    folded_value TEXT NOT NULL,
    record_id TEXT NOT NULL REFERENCES crm_records (id) ON DELETE CASCADE,
    PRIMARY KEY (environment_id, module, field, folded_value)
);
CREATE INDEX crm_unique_values_by_record ON crm_unique_values (record_id);

CREATE TABLE crm_record_events (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id TEXT NOT NULL,
    environment_id TEXT NOT NULL,
    module TEXT NOT NULL,
    record_id TEXT NOT NULL,
    operation TEXT NOT NULL CHECK (operation IN ('create', 'update', 'delete')),
    changed_fields TEXT NOT NULL,
    actor_user_id TEXT NOT NULL,
    triggers TEXT NOT NULL,
    occurred_at TEXT NOT NULL
);
CREATE INDEX crm_record_events_by_environment ON crm_record_events (environment_id, sequence);

CREATE TABLE crm_custom_modules (
    organization_id TEXT NOT NULL,
    environment_id TEXT NOT NULL,
    api_name TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (environment_id, api_name),
    FOREIGN KEY (organization_id, environment_id)
        REFERENCES environments (organization_id, id) ON DELETE CASCADE
);

CREATE TABLE crm_custom_fields (
    organization_id TEXT NOT NULL,
    environment_id TEXT NOT NULL,
    module TEXT NOT NULL,
    api_name TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (environment_id, module, api_name),
    FOREIGN KEY (organization_id, environment_id)
        REFERENCES environments (organization_id, id) ON DELETE CASCADE
);

CREATE TABLE crm_user_numbers (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    numeric_id TEXT NOT NULL UNIQUE
);
