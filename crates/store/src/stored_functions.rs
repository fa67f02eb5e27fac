//! Stored functions: Deluge functions saved per organization and environment. Rows only; the
//! rules (identifier names, parameter types, argument checks) belong to trestle-runtime.
//!
//! A function is addressed by its name within an environment. Names are unique regardless of
//! case (`name_key` holds the lower-cased name), so `standalone.SendMail(...)` and
//! `standalone.sendmail(...)` can never mean two different functions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;

use crate::audit::Actor;
use crate::db::on_pool;
use crate::environments::EnvironmentKind;
use crate::error::StoreError;
use crate::ids::{OrganizationId, StoredFunctionId};
use crate::read_cache::ChangeDomain;
use crate::{Store, clock};

/// One declared parameter: its name and its type as Zoho's function editor declares it
/// (`string`, `int`, `decimal`, `date`, `map`, `list`, `bool`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFunctionParameter {
    pub name: String,
    #[serde(rename = "type")]
    pub parameter_type: String,
}

/// A stored function.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoredFunction {
    pub id: StoredFunctionId,
    pub organization_id: OrganizationId,
    pub environment: EnvironmentKind,
    pub name: String,
    pub parameters: Vec<StoredFunctionParameter>,
    pub script: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Actor,
    pub updated_by: Actor,
}

/// What [`StoredFunctions::create`] stores.
#[derive(Clone, Debug)]
pub struct NewStoredFunction {
    pub organization_id: OrganizationId,
    pub environment: EnvironmentKind,
    pub name: String,
    pub parameters: Vec<StoredFunctionParameter>,
    pub script: String,
    pub author: Actor,
}

/// Changes for [`StoredFunctions::update`]; `None` keeps the stored value.
#[derive(Clone, Debug, Default)]
pub struct StoredFunctionChanges {
    pub name: Option<String>,
    pub parameters: Option<Vec<StoredFunctionParameter>>,
    pub script: Option<String>,
}

/// Stored-function queries, always scoped by organization and environment; get it with
/// [`Store::stored_functions`].
#[derive(Clone, Copy)]
pub struct StoredFunctions<'s> {
    store: &'s Store,
}

impl Store {
    /// Stored Deluge functions.
    pub fn stored_functions(&self) -> StoredFunctions<'_> {
        StoredFunctions { store: self }
    }
}

const COLUMNS: &str = "id, organization_id, environment, name, parameters, script, created_at, \
     updated_at, created_by_kind, created_by_id, updated_by_kind, updated_by_id";

impl StoredFunctions<'_> {
    /// Saves a new function; [`StoreError::AlreadyExists`] when the environment already has a
    /// function of that name (in any case).
    pub async fn create(self, new: NewStoredFunction) -> Result<StoredFunction, StoreError> {
        let id = StoredFunctionId::generate();
        let now = clock::now();
        let (author_kind, author_id) = new.author.to_columns();
        on_pool!(self.store.writer(ChangeDomain::Other), executor => {
            sqlx::query(
                "INSERT INTO stored_functions (id, organization_id, environment, name, name_key, \
                 parameters, script, created_at, updated_at, created_by_kind, created_by_id, \
                 updated_by_kind, updated_by_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $9, $10)",
            )
            .bind(id)
            .bind(new.organization_id)
            .bind(new.environment)
            .bind(&new.name)
            .bind(name_key(&new.name))
            .bind(Json(&new.parameters))
            .bind(&new.script)
            .bind(now)
            .bind(author_kind)
            .bind(&author_id)
            .execute(executor)
            .await
            .map(|done| done.rows_affected())
        })
        .map_err(duplicate_name_error)?;
        self.get(new.organization_id, new.environment, &new.name)
            .await
    }

    /// The function of that name (case-insensitive), or [`StoreError::NotFound`].
    pub async fn get(
        self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
        name: &str,
    ) -> Result<StoredFunction, StoreError> {
        self.find(organization_id, environment, name)
            .await?
            .ok_or(StoreError::NotFound {
                entity: "stored function",
            })
    }

    /// The function of that name (case-insensitive), or `None`.
    pub async fn find(
        self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
        name: &str,
    ) -> Result<Option<StoredFunction>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM stored_functions \
             WHERE organization_id = $1 AND environment = $2 AND name_key = $3"
        );
        let row = on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, StoredFunctionRow>(sqlx::AssertSqlSafe(sql))
                .bind(organization_id)
                .bind(environment)
                .bind(name_key(name))
                .fetch_optional(executor)
                .await
        })
        .map_err(|error| StoreError::from_sqlx("stored function", error))?;
        row.map(StoredFunctionRow::into_function).transpose()
    }

    /// Every function of the environment, by name.
    pub async fn list(
        self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
    ) -> Result<Vec<StoredFunction>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM stored_functions \
             WHERE organization_id = $1 AND environment = $2 ORDER BY name_key"
        );
        let rows = on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, StoredFunctionRow>(sqlx::AssertSqlSafe(sql))
                .bind(organization_id)
                .bind(environment)
                .fetch_all(executor)
                .await
        })
        .map_err(|error| StoreError::from_sqlx("stored function", error))?;
        rows.into_iter()
            .map(StoredFunctionRow::into_function)
            .collect()
    }

    /// Applies changes (a rename keeps the id); [`StoreError::AlreadyExists`] when the new
    /// name is taken by another function of the environment.
    pub async fn update(
        self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
        name: &str,
        changes: StoredFunctionChanges,
        author: Actor,
    ) -> Result<StoredFunction, StoreError> {
        let current = self.get(organization_id, environment, name).await?;
        let new_name = changes.name.unwrap_or(current.name);
        let parameters = changes.parameters.unwrap_or(current.parameters);
        let script = changes.script.unwrap_or(current.script);
        let (author_kind, author_id) = author.to_columns();
        let now = clock::now();
        let changed = on_pool!(self.store.writer(ChangeDomain::Other), executor => {
            sqlx::query(
                "UPDATE stored_functions SET name = $3, name_key = $4, parameters = $5, \
                 script = $6, updated_at = $7, updated_by_kind = $8, updated_by_id = $9 \
                 WHERE organization_id = $1 AND id = $2",
            )
            .bind(organization_id)
            .bind(current.id)
            .bind(&new_name)
            .bind(name_key(&new_name))
            .bind(Json(&parameters))
            .bind(&script)
            .bind(now)
            .bind(author_kind)
            .bind(&author_id)
            .execute(executor)
            .await
            .map(|done| done.rows_affected())
        })
        .map_err(duplicate_name_error)?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                entity: "stored function",
            });
        }
        self.get(organization_id, environment, &new_name).await
    }

    /// Deletes the function of that name; [`StoreError::NotFound`] when there is none.
    pub async fn delete(
        self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
        name: &str,
    ) -> Result<(), StoreError> {
        let deleted = on_pool!(self.store.writer(ChangeDomain::Other), executor => {
            sqlx::query(
                "DELETE FROM stored_functions \
                 WHERE organization_id = $1 AND environment = $2 AND name_key = $3",
            )
            .bind(organization_id)
            .bind(environment)
            .bind(name_key(name))
            .execute(executor)
            .await
            .map(|done| done.rows_affected())
        })
        .map_err(|error| StoreError::from_sqlx("stored function", error))?;
        if deleted == 0 {
            return Err(StoreError::NotFound {
                entity: "stored function",
            });
        }
        Ok(())
    }
}

fn name_key(name: &str) -> String {
    name.to_lowercase()
}

fn duplicate_name_error(error: sqlx::Error) -> StoreError {
    match StoreError::from_sqlx("stored function", error) {
        StoreError::AlreadyExists { entity, .. } => StoreError::AlreadyExists {
            entity,
            detail: "this environment already has a function of that name (names are unique regardless of case)",
        },
        other => other,
    }
}

#[derive(sqlx::FromRow)]
struct StoredFunctionRow {
    id: StoredFunctionId,
    organization_id: OrganizationId,
    environment: EnvironmentKind,
    name: String,
    parameters: Json<Vec<StoredFunctionParameter>>,
    script: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    created_by_kind: String,
    created_by_id: Option<String>,
    updated_by_kind: String,
    updated_by_id: Option<String>,
}

impl StoredFunctionRow {
    fn into_function(self) -> Result<StoredFunction, StoreError> {
        Ok(StoredFunction {
            id: self.id,
            organization_id: self.organization_id,
            environment: self.environment,
            name: self.name,
            parameters: self.parameters.0,
            script: self.script,
            created_at: self.created_at,
            updated_at: self.updated_at,
            created_by: Actor::from_columns(&self.created_by_kind, self.created_by_id.as_deref())?,
            updated_by: Actor::from_columns(&self.updated_by_kind, self.updated_by_id.as_deref())?,
        })
    }
}
