//! Storage of the Bigin-compatible CRM: records of every module, the change event of every
//! write (in the same transaction, so a consumer can never miss one), values of unique
//! fields, custom modules and fields, and the numeric ids the Bigin API shows for users.
//!
//! Field values arrive here already validated and normalized by `trestle-crm`; this module
//! enforces what needs the database: uniqueness, that lookups point at existing records of
//! the same environment, and atomicity. Every query is scoped by the environment (and the
//! organization that owns it).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::AssertSqlSafe;
use sqlx::Row;
use sqlx::types::Json;

use crate::db::{WriteTransaction, on_pool, on_transaction};
use crate::error::StoreError;
use crate::ids::{EnvironmentId, OrganizationId, UserId};
use crate::read_cache::ChangeDomain;
use crate::{Store, clock};

/// The environment a CRM call works in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrmScope {
    pub organization_id: OrganizationId,
    pub environment_id: EnvironmentId,
}

/// A record as stored: the user fields plus the server-maintained columns.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredRecord {
    pub id: String,
    pub module: String,
    pub fields: Map<String, Value>,
    pub owner_id: UserId,
    pub created_by: UserId,
    pub modified_by: UserId,
    pub created_time: DateTime<Utc>,
    pub modified_time: DateTime<Utc>,
}

/// A lookup value to check: `field` points at record `id`, of `module` when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupReference {
    pub field: String,
    pub module: Option<String>,
    pub id: String,
}

/// What one record of a write sets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordChange {
    /// Normalized field values; on update only these fields change (`null` clears).
    pub fields: Map<String, Value>,
    /// The module's unique fields (their values must not repeat in the module).
    pub unique_fields: Vec<String>,
    pub lookups: Vec<LookupReference>,
    /// A new owner; inserts default to the acting user.
    pub owner_id: Option<UserId>,
}

/// One record of a batch write.
#[derive(Clone, Debug, PartialEq)]
pub enum BatchWrite {
    Insert {
        new_id: String,
        change: RecordChange,
    },
    Update {
        id: String,
        change: RecordChange,
    },
    /// Updates the record whose value of one of `match_fields` (unique fields) equals the
    /// change's, else inserts with `new_id`.
    Upsert {
        new_id: String,
        match_fields: Vec<String>,
        change: RecordChange,
    },
}

/// What happened to one record of a batch. Per-record failures do not abort the batch.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteOutcome {
    Inserted(StoredRecord),
    /// `matched_field` is the upsert field that found the record, if any.
    Updated {
        record: StoredRecord,
        matched_field: Option<String>,
    },
    Duplicate {
        field: String,
        existing_id: String,
    },
    InvalidLookup {
        field: String,
        id: String,
    },
    NotFound {
        id: String,
    },
}

/// The order of a record listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordSort {
    Id,
    CreatedTime,
    ModifiedTime,
}

/// Where a keyset page starts: strictly after this record in the listing's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordCursor {
    pub sort_value: String,
    pub id: String,
}

/// A change event, as the workflow engine consumes them.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordEvent {
    pub sequence: i64,
    pub organization_id: OrganizationId,
    pub environment_id: EnvironmentId,
    pub module: String,
    pub record_id: String,
    pub operation: String,
    pub changed_fields: Vec<String>,
    pub actor_user_id: UserId,
    /// The `trigger` list of the request (`["workflow"]`, `[]`), or null when absent.
    pub triggers: Value,
    pub occurred_at: DateTime<Utc>,
}

/// CRM operations; get it with [`Store::crm`].
pub struct Crm<'s> {
    store: &'s Store,
}

impl Store {
    /// The CRM's records, events and metadata.
    pub fn crm(&self) -> Crm<'_> {
        Crm { store: self }
    }
}

const RECORD_COLUMNS: &str =
    "id, module, fields, owner_id, created_by, modified_by, created_time, modified_time";

impl Crm<'_> {
    /// Applies a batch of writes in one transaction, record by record. Records that fail a
    /// database rule get a failure outcome and change nothing; the others are written, each
    /// with its change event. A [`StoreError::AlreadyExists`] means another process wrote a
    /// conflicting unique value at the same moment: nothing was written, retry the batch.
    pub async fn write_batch(
        &self,
        scope: CrmScope,
        module: &str,
        writes: Vec<BatchWrite>,
        actor: UserId,
        triggers: &Value,
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        let mut transaction = self.store.begin_write_in(ChangeDomain::Other).await?;
        let mut outcomes = Vec::with_capacity(writes.len());
        for write in writes {
            let outcome = match write {
                BatchWrite::Insert { new_id, change } => {
                    insert_record(
                        &mut transaction,
                        scope,
                        module,
                        new_id,
                        change,
                        actor,
                        triggers,
                    )
                    .await?
                }
                BatchWrite::Update { id, change } => {
                    update_record(
                        &mut transaction,
                        scope,
                        module,
                        &id,
                        change,
                        actor,
                        triggers,
                        None,
                    )
                    .await?
                }
                BatchWrite::Upsert {
                    new_id,
                    match_fields,
                    change,
                } => {
                    let mut matched = None;
                    for field in &match_fields {
                        if let Some(folded) = change.fields.get(field).and_then(fold_unique_value)
                            && let Some(existing_id) =
                                find_unique(&mut transaction, scope, module, field, &folded, None)
                                    .await?
                        {
                            matched = Some((existing_id, field.clone()));
                            break;
                        }
                    }
                    match matched {
                        Some((existing_id, field)) => {
                            update_record(
                                &mut transaction,
                                scope,
                                module,
                                &existing_id,
                                change,
                                actor,
                                triggers,
                                Some(field),
                            )
                            .await?
                        }
                        None => {
                            insert_record(
                                &mut transaction,
                                scope,
                                module,
                                new_id,
                                change,
                                actor,
                                triggers,
                            )
                            .await?
                        }
                    }
                }
            };
            outcomes.push(outcome);
        }
        transaction.commit().await?;
        Ok(outcomes)
    }

    /// The record with this id in this module, or `None`.
    pub async fn get(
        &self,
        scope: CrmScope,
        module: &str,
        id: &str,
    ) -> Result<Option<StoredRecord>, StoreError> {
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM crm_records \
             WHERE organization_id = $1 AND environment_id = $2 AND module = $3 AND id = $4"
        );
        let row = on_pool!(self.store.pools.reader(), executor => {
            sqlx::query(AssertSqlSafe(sql.as_str()))
                .bind(scope.organization_id)
                .bind(scope.environment_id)
                .bind(module)
                .bind(id)
                .fetch_optional(executor)
                .await
                .and_then(|row| row.map(|row| record_from_row(&row)).transpose())
        })
        .map_err(|error| StoreError::from_sqlx("record", error))?;
        Ok(row)
    }

    /// Records of any module by id (for showing lookup names). Missing ids are skipped.
    pub async fn get_many(
        &self,
        scope: CrmScope,
        ids: &[String],
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let mut records = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            let placeholders: Vec<String> = (0..chunk.len())
                .map(|index| format!("${}", index + 3))
                .collect();
            let sql = format!(
                "SELECT {RECORD_COLUMNS} FROM crm_records \
                 WHERE organization_id = $1 AND environment_id = $2 AND id IN ({})",
                placeholders.join(", ")
            );
            let found = on_pool!(self.store.pools.reader(), executor => {
                let mut query = sqlx::query(AssertSqlSafe(sql.as_str())).bind(scope.organization_id).bind(scope.environment_id);
                for id in chunk {
                    query = query.bind(id);
                }
                query
                    .fetch_all(executor)
                    .await
                    .and_then(|rows| rows.iter().map(record_from_row).collect::<Result<Vec<_>, _>>())
            })
            .map_err(|error| StoreError::from_sqlx("record", error))?;
            records.extend(found);
        }
        Ok(records)
    }

    /// One page of a module's records in the given order, starting after `after` (keyset
    /// paging: stable under concurrent inserts, cheap at any depth) or at `offset`.
    #[allow(clippy::too_many_arguments)]
    pub async fn list(
        &self,
        scope: CrmScope,
        module: &str,
        sort: RecordSort,
        descending: bool,
        after: Option<&RecordCursor>,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let sort_column = match sort {
            RecordSort::Id => "id",
            RecordSort::CreatedTime => "created_time",
            RecordSort::ModifiedTime => "modified_time",
        };
        let direction = if descending { "DESC" } else { "ASC" };
        let comparison = if descending { "<" } else { ">" };
        // Ids are fixed-width digit strings, so they order correctly as text.
        let keyset = match (after, sort) {
            (Some(_), RecordSort::Id) => format!(" AND id {comparison} $5"),
            (Some(_), _) => format!(" AND ({sort_column}, id) {comparison} ($6, $5)"),
            (None, _) => String::new(),
        };
        let order = if sort == RecordSort::Id {
            format!("id {direction}")
        } else {
            format!("{sort_column} {direction}, id {direction}")
        };
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM crm_records \
             WHERE organization_id = $1 AND environment_id = $2 AND module = $3{keyset} \
             ORDER BY {order} LIMIT $4 OFFSET {}",
            if after.is_some() { 0 } else { offset }
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let after_time = match (after, sort) {
            (Some(cursor), RecordSort::CreatedTime | RecordSort::ModifiedTime) => Some(
                DateTime::parse_from_rfc3339(&cursor.sort_value)
                    .map_err(|_| {
                        StoreError::invalid_input("page_token", "is not a token this server issued")
                    })?
                    .with_timezone(&Utc),
            ),
            _ => None,
        };
        on_pool!(self.store.pools.reader(), executor => {
            let mut query = sqlx::query(AssertSqlSafe(sql.as_str()))
                .bind(scope.organization_id)
                .bind(scope.environment_id)
                .bind(module)
                .bind(limit);
            if let Some(cursor) = after {
                query = query.bind(&cursor.id);
            }
            if let Some(time) = after_time {
                query = query.bind(time);
            }
            query
                .fetch_all(executor)
                .await
                .and_then(|rows| rows.iter().map(record_from_row).collect::<Result<Vec<_>, _>>())
        })
        .map_err(|error| StoreError::from_sqlx("record", error))
    }

    /// How many records the module has.
    pub async fn count(&self, scope: CrmScope, module: &str) -> Result<u64, StoreError> {
        let count: i64 = on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM crm_records \
                 WHERE organization_id = $1 AND environment_id = $2 AND module = $3",
            )
            .bind(scope.organization_id)
            .bind(scope.environment_id)
            .bind(module)
            .fetch_one(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("record", error))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Deletes records by id; the result says, per id, whether it existed. Each deletion
    /// writes a `delete` event in the same transaction.
    pub async fn delete(
        &self,
        scope: CrmScope,
        module: &str,
        ids: &[String],
        actor: UserId,
        triggers: &Value,
    ) -> Result<Vec<bool>, StoreError> {
        let mut transaction = self.store.begin_write_in(ChangeDomain::Other).await?;
        let mut deleted = Vec::with_capacity(ids.len());
        for id in ids {
            let affected = on_transaction!(transaction, executor => {
                sqlx::query(
                    "DELETE FROM crm_records \
                     WHERE organization_id = $1 AND environment_id = $2 AND module = $3 AND id = $4",
                )
                .bind(scope.organization_id)
                .bind(scope.environment_id)
                .bind(module)
                .bind(id)
                .execute(&mut *executor)
                .await
                .map(|result| result.rows_affected())
            })
            .map_err(|error| StoreError::from_sqlx("record", error))?;
            if affected > 0 {
                insert_event(
                    &mut transaction,
                    scope,
                    module,
                    id,
                    "delete",
                    &[],
                    actor,
                    triggers,
                )
                .await?;
            }
            deleted.push(affected > 0);
        }
        transaction.commit().await?;
        Ok(deleted)
    }

    /// Change events of every environment after `after_sequence`, oldest first.
    pub async fn events_after(
        &self,
        after_sequence: i64,
        limit: u64,
    ) -> Result<Vec<RecordEvent>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query(
                "SELECT sequence, organization_id, environment_id, module, record_id, operation, \
                        changed_fields, actor_user_id, triggers, occurred_at \
                 FROM crm_record_events WHERE sequence > $1 ORDER BY sequence LIMIT $2",
            )
            .bind(after_sequence)
            .bind(limit)
            .fetch_all(executor)
            .await
            .and_then(|rows| {
                rows.iter()
                    .map(|row| {
                        let changed: Json<Vec<String>> = row.try_get("changed_fields")?;
                        let triggers: Json<Value> = row.try_get("triggers")?;
                        Ok(RecordEvent {
                            sequence: row.try_get("sequence")?,
                            organization_id: row.try_get("organization_id")?,
                            environment_id: row.try_get("environment_id")?,
                            module: row.try_get("module")?,
                            record_id: row.try_get("record_id")?,
                            operation: row.try_get("operation")?,
                            changed_fields: changed.0,
                            actor_user_id: row.try_get("actor_user_id")?,
                            triggers: triggers.0,
                            occurred_at: row.try_get("occurred_at")?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
            })
        })
        .map_err(|error| StoreError::from_sqlx("record event", error))
    }

    /// Custom module definitions of the environment (as stored JSON), oldest first.
    pub async fn custom_modules(&self, scope: CrmScope) -> Result<Vec<Value>, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_scalar::<_, Json<Value>>(
                "SELECT definition FROM crm_custom_modules \
                 WHERE organization_id = $1 AND environment_id = $2 ORDER BY created_at, api_name",
            )
            .bind(scope.organization_id)
            .bind(scope.environment_id)
            .fetch_all(executor)
            .await
        })
        .map(|definitions| {
            definitions
                .into_iter()
                .map(|definition| definition.0)
                .collect()
        })
        .map_err(|error| StoreError::from_sqlx("custom module", error))
    }

    /// Stores a custom module definition; its api name must be new in the environment.
    pub async fn add_custom_module(
        &self,
        scope: CrmScope,
        api_name: &str,
        definition: &Value,
    ) -> Result<(), StoreError> {
        on_pool!(self.store.writer(ChangeDomain::Other), executor => {
            sqlx::query(
                "INSERT INTO crm_custom_modules (organization_id, environment_id, api_name, definition, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(scope.organization_id)
            .bind(scope.environment_id)
            .bind(api_name)
            .bind(Json(definition))
            .bind(clock::now())
            .execute(executor)
            .await
            .map(|_| ())
        })
        .map_err(|error| StoreError::from_sqlx("custom module", error))?;
        Ok(())
    }

    /// Custom field definitions of one module (as stored JSON), oldest first.
    pub async fn custom_fields(
        &self,
        scope: CrmScope,
        module: &str,
    ) -> Result<Vec<Value>, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_scalar::<_, Json<Value>>(
                "SELECT definition FROM crm_custom_fields \
                 WHERE organization_id = $1 AND environment_id = $2 AND module = $3 \
                 ORDER BY created_at, api_name",
            )
            .bind(scope.organization_id)
            .bind(scope.environment_id)
            .bind(module)
            .fetch_all(executor)
            .await
        })
        .map(|definitions| {
            definitions
                .into_iter()
                .map(|definition| definition.0)
                .collect()
        })
        .map_err(|error| StoreError::from_sqlx("custom field", error))
    }

    /// Stores a custom field definition; its api name must be new in the module.
    pub async fn add_custom_field(
        &self,
        scope: CrmScope,
        module: &str,
        api_name: &str,
        definition: &Value,
    ) -> Result<(), StoreError> {
        on_pool!(self.store.writer(ChangeDomain::Other), executor => {
            sqlx::query(
                "INSERT INTO crm_custom_fields (organization_id, environment_id, module, api_name, definition, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(scope.organization_id)
            .bind(scope.environment_id)
            .bind(module)
            .bind(api_name)
            .bind(Json(definition))
            .bind(clock::now())
            .execute(executor)
            .await
            .map(|_| ())
        })
        .map_err(|error| StoreError::from_sqlx("custom field", error))?;
        Ok(())
    }

    /// The numeric id the Bigin API shows for a user (Zoho clients parse ids as integers),
    /// assigned on first use and stable afterwards.
    pub async fn user_numeric_id(&self, user_id: UserId) -> Result<String, StoreError> {
        if let Some(existing) = self.find_user_numeric_id(user_id).await? {
            return Ok(existing);
        }
        let candidate = numeric_id_for(user_id);
        let inserted = on_pool!(self.store.writer(ChangeDomain::Other), executor => {
            sqlx::query(
                "INSERT INTO crm_user_numbers (user_id, numeric_id) VALUES ($1, $2) \
                 ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(user_id)
            .bind(&candidate)
            .execute(executor)
            .await
            .map(|_| ())
        });
        match inserted {
            Ok(_) => {}
            // Another user drew the same number: astronomically rare; the caller may retry.
            Err(error) => return Err(StoreError::from_sqlx("user number", error)),
        }
        self.find_user_numeric_id(user_id)
            .await?
            .ok_or(StoreError::NotFound { entity: "user" })
    }

    /// The user a numeric id names, if any.
    pub async fn user_by_numeric_id(&self, numeric_id: &str) -> Result<Option<UserId>, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_scalar::<_, UserId>("SELECT user_id FROM crm_user_numbers WHERE numeric_id = $1")
                .bind(numeric_id)
                .fetch_optional(executor)
                .await
        })
        .map_err(|error| StoreError::from_sqlx("user number", error))
    }

    async fn find_user_numeric_id(&self, user_id: UserId) -> Result<Option<String>, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_scalar::<_, String>("SELECT numeric_id FROM crm_user_numbers WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(executor)
                .await
        })
        .map_err(|error| StoreError::from_sqlx("user number", error))
    }
}

/// A 19-digit number derived from the user's UUID (its random bits), so it is stable and,
/// in practice, unique; the unique index is the final guard.
fn numeric_id_for(user_id: UserId) -> String {
    let uuid = user_id.as_uuid();
    let bytes = uuid.as_bytes();
    let mut value: u64 = 0;
    for byte in &bytes[8..16] {
        value = (value << 8) | u64::from(*byte);
    }
    (1_000_000_000_000_000_000u64 + value % 8_000_000_000_000_000_000u64).to_string()
}

/// Unique text values compare case-insensitively and ignoring surrounding spaces.
fn fold_unique_value(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_lowercase()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn record_from_row<R>(row: &R) -> Result<StoredRecord, sqlx::Error>
where
    R: Row,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> UserId: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> DateTime<Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Json<Map<String, Value>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let fields: Json<Map<String, Value>> = row.try_get("fields")?;
    Ok(StoredRecord {
        id: row.try_get("id")?,
        module: row.try_get("module")?,
        fields: fields.0,
        owner_id: row.try_get("owner_id")?,
        created_by: row.try_get("created_by")?,
        modified_by: row.try_get("modified_by")?,
        created_time: row.try_get("created_time")?,
        modified_time: row.try_get("modified_time")?,
    })
}

async fn find_unique(
    transaction: &mut WriteTransaction,
    scope: CrmScope,
    module: &str,
    field: &str,
    folded_value: &str,
    excluding_record: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let found: Option<String> = on_transaction!(transaction, executor => {
        sqlx::query_scalar(
            "SELECT record_id FROM crm_unique_values \
             WHERE environment_id = $1 AND module = $2 AND field = $3 AND folded_value = $4",
        )
        .bind(scope.environment_id)
        .bind(module)
        .bind(field)
        .bind(folded_value)
        .fetch_optional(&mut *executor)
        .await
    })
    .map_err(|error| StoreError::from_sqlx("record", error))?;
    Ok(found.filter(|id| Some(id.as_str()) != excluding_record))
}

async fn check_rules(
    transaction: &mut WriteTransaction,
    scope: CrmScope,
    module: &str,
    change: &RecordChange,
    excluding_record: Option<&str>,
) -> Result<Option<WriteOutcome>, StoreError> {
    for lookup in &change.lookups {
        let target_module: Option<String> = on_transaction!(transaction, executor => {
            sqlx::query_scalar(
                "SELECT module FROM crm_records \
                 WHERE organization_id = $1 AND environment_id = $2 AND id = $3",
            )
            .bind(scope.organization_id)
            .bind(scope.environment_id)
            .bind(&lookup.id)
            .fetch_optional(&mut *executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("record", error))?;
        let points_at_right_module = match (&target_module, &lookup.module) {
            (Some(found), Some(wanted)) => found == wanted,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if !points_at_right_module {
            return Ok(Some(WriteOutcome::InvalidLookup {
                field: lookup.field.clone(),
                id: lookup.id.clone(),
            }));
        }
    }
    for field in &change.unique_fields {
        if let Some(folded) = change.fields.get(field).and_then(fold_unique_value)
            && let Some(existing_id) =
                find_unique(transaction, scope, module, field, &folded, excluding_record).await?
        {
            return Ok(Some(WriteOutcome::Duplicate {
                field: field.clone(),
                existing_id,
            }));
        }
    }
    Ok(None)
}

async fn replace_unique_values(
    transaction: &mut WriteTransaction,
    scope: CrmScope,
    module: &str,
    record_id: &str,
    unique_fields: &[String],
    fields: &Map<String, Value>,
) -> Result<(), StoreError> {
    on_transaction!(transaction, executor => {
        sqlx::query("DELETE FROM crm_unique_values WHERE record_id = $1")
            .bind(record_id)
            .execute(&mut *executor)
            .await
            .map(|_| ())
    })
    .map_err(|error| StoreError::from_sqlx("record", error))?;
    for field in unique_fields {
        if let Some(folded) = fields.get(field).and_then(fold_unique_value) {
            on_transaction!(transaction, executor => {
                sqlx::query(
                    "INSERT INTO crm_unique_values (environment_id, module, field, folded_value, record_id) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(scope.environment_id)
                .bind(module)
                .bind(field)
                .bind(&folded)
                .bind(record_id)
                .execute(&mut *executor)
                .await
                .map(|_| ())
            })
            .map_err(|error| StoreError::from_sqlx("record", error))?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_event(
    transaction: &mut WriteTransaction,
    scope: CrmScope,
    module: &str,
    record_id: &str,
    operation: &str,
    changed_fields: &[String],
    actor: UserId,
    triggers: &Value,
) -> Result<(), StoreError> {
    on_transaction!(transaction, executor => {
        sqlx::query(
            "INSERT INTO crm_record_events (organization_id, environment_id, module, record_id, \
                 operation, changed_fields, actor_user_id, triggers, occurred_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(scope.organization_id)
        .bind(scope.environment_id)
        .bind(module)
        .bind(record_id)
        .bind(operation)
        .bind(Json(changed_fields))
        .bind(actor)
        .bind(Json(triggers))
        .bind(clock::now())
        .execute(&mut *executor)
        .await
        .map(|_| ())
    })
    .map_err(|error| StoreError::from_sqlx("record event", error))?;
    Ok(())
}

async fn insert_record(
    transaction: &mut WriteTransaction,
    scope: CrmScope,
    module: &str,
    new_id: String,
    change: RecordChange,
    actor: UserId,
    triggers: &Value,
) -> Result<WriteOutcome, StoreError> {
    if let Some(failure) = check_rules(transaction, scope, module, &change, None).await? {
        return Ok(failure);
    }
    let now = clock::now();
    let record = StoredRecord {
        id: new_id,
        module: module.to_owned(),
        fields: change.fields,
        owner_id: change.owner_id.unwrap_or(actor),
        created_by: actor,
        modified_by: actor,
        created_time: now,
        modified_time: now,
    };
    on_transaction!(transaction, executor => {
        sqlx::query(
            "INSERT INTO crm_records (id, organization_id, environment_id, module, fields, owner_id, \
                 created_by, modified_by, created_time, modified_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&record.id)
        .bind(scope.organization_id)
        .bind(scope.environment_id)
        .bind(module)
        .bind(Json(&record.fields))
        .bind(record.owner_id)
        .bind(record.created_by)
        .bind(record.modified_by)
        .bind(record.created_time)
        .bind(record.modified_time)
        .execute(&mut *executor)
        .await
        .map(|_| ())
    })
    .map_err(|error| StoreError::from_sqlx("record", error))?;
    replace_unique_values(
        transaction,
        scope,
        module,
        &record.id,
        &change.unique_fields,
        &record.fields,
    )
    .await?;
    let changed: Vec<String> = record.fields.keys().cloned().collect();
    insert_event(
        transaction,
        scope,
        module,
        &record.id,
        "create",
        &changed,
        actor,
        triggers,
    )
    .await?;
    Ok(WriteOutcome::Inserted(record))
}

#[allow(clippy::too_many_arguments)]
async fn update_record(
    transaction: &mut WriteTransaction,
    scope: CrmScope,
    module: &str,
    id: &str,
    change: RecordChange,
    actor: UserId,
    triggers: &Value,
    matched_field: Option<String>,
) -> Result<WriteOutcome, StoreError> {
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM crm_records \
         WHERE organization_id = $1 AND environment_id = $2 AND module = $3 AND id = $4"
    );
    let existing = on_transaction!(transaction, executor => {
        sqlx::query(AssertSqlSafe(sql.as_str()))
            .bind(scope.organization_id)
            .bind(scope.environment_id)
            .bind(module)
            .bind(id)
            .fetch_optional(&mut *executor)
            .await
            .and_then(|row| row.map(|row| record_from_row(&row)).transpose())
    })
    .map_err(|error| StoreError::from_sqlx("record", error))?;
    let Some(mut record) = existing else {
        return Ok(WriteOutcome::NotFound { id: id.to_owned() });
    };
    if let Some(failure) = check_rules(transaction, scope, module, &change, Some(id)).await? {
        return Ok(failure);
    }
    let mut changed_fields = Vec::new();
    for (field, value) in change.fields {
        if record.fields.get(&field) != Some(&value) {
            changed_fields.push(field.clone());
        }
        record.fields.insert(field, value);
    }
    if let Some(owner_id) = change.owner_id
        && owner_id != record.owner_id
    {
        record.owner_id = owner_id;
        changed_fields.push("Owner".to_owned());
    }
    record.modified_by = actor;
    record.modified_time = clock::now();
    on_transaction!(transaction, executor => {
        sqlx::query(
            "UPDATE crm_records SET fields = $1, owner_id = $2, modified_by = $3, modified_time = $4 \
             WHERE organization_id = $5 AND environment_id = $6 AND id = $7",
        )
        .bind(Json(&record.fields))
        .bind(record.owner_id)
        .bind(record.modified_by)
        .bind(record.modified_time)
        .bind(scope.organization_id)
        .bind(scope.environment_id)
        .bind(id)
        .execute(&mut *executor)
        .await
        .map(|_| ())
    })
    .map_err(|error| StoreError::from_sqlx("record", error))?;
    replace_unique_values(
        transaction,
        scope,
        module,
        id,
        &change.unique_fields,
        &record.fields,
    )
    .await?;
    insert_event(
        transaction,
        scope,
        module,
        id,
        "update",
        &changed_fields,
        actor,
        triggers,
    )
    .await?;
    Ok(WriteOutcome::Updated {
        record,
        matched_field,
    })
}
