//! Operator configuration per organization and environment, shared by every server process on
//! the database:
//! - `egress_routes`: stand-in routes (a service host -> a target base URL);
//! - `service_overrides`: per service key, OAuth endpoint URLs, the operator's OAuth client
//!   (the secret as a vault ciphertext, see [`service_override_client_secret_associated_data`])
//!   and operator-fixed template variables (JSON object text).
//!
//! Values are stored as given; the connections and outbound crates validate them before they
//! reach this module.

use chrono::{DateTime, Utc};

use crate::db::{on_pool, on_transaction};
use crate::environments::EnvironmentKind;
use crate::error::StoreError;
use crate::ids::OrganizationId;
use crate::read_cache::ChangeDomain;
use crate::{Store, clock};

/// One stand-in route of an environment.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct EgressRouteRecord {
    pub host: String,
    pub target: String,
}

/// The operator's overrides of one service in one environment.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ServiceOverrideRecord {
    pub organization_id: OrganizationId,
    pub environment: EnvironmentKind,
    pub service_key: String,
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub revoke_url: Option<String>,
    pub client_id: Option<String>,
    /// Ciphertext (see [`service_override_client_secret_associated_data`]).
    pub client_secret: Option<Vec<u8>>,
    /// Operator-fixed template variables as a JSON object of strings.
    pub variables: String,
    pub updated_at: DateTime<Utc>,
}

/// Associated data binding an override's client secret to its row.
pub fn service_override_client_secret_associated_data(
    organization_id: OrganizationId,
    environment: EnvironmentKind,
    service_key: &str,
) -> String {
    format!("service_overrides/{organization_id}/{environment}/{service_key}/client_secret")
}

/// Routes and service overrides; get it with [`Store::service_overrides`].
#[derive(Clone, Copy)]
pub struct ServiceOverrides<'s> {
    store: &'s Store,
}

impl Store {
    /// Per-environment stand-in routes and service overrides (operator configuration).
    pub fn service_overrides(&self) -> ServiceOverrides<'_> {
        ServiceOverrides { store: self }
    }
}

fn db_error(entity: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |error| StoreError::from_sqlx(entity, error)
}

const OVERRIDE_COLUMNS: &str = "organization_id, environment, service_key, authorize_url, token_url, \
     revoke_url, client_id, client_secret, variables, updated_at";

impl ServiceOverrides<'_> {
    /// The routes of one environment, ordered by host.
    pub async fn routes(
        self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
    ) -> Result<Vec<EgressRouteRecord>, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, EgressRouteRecord>(
                "SELECT host, target FROM egress_routes \
                 WHERE organization_id = $1 AND environment = $2 ORDER BY host",
            )
            .bind(organization_id)
            .bind(environment)
            .fetch_all(executor)
            .await
        })
        .map_err(db_error("egress route"))
    }

    /// Replaces every route of one environment in one transaction (an empty list removes them).
    pub async fn replace_routes(
        self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
        routes: &[EgressRouteRecord],
    ) -> Result<(), StoreError> {
        let now = clock::now();
        let mut transaction = self
            .store
            .begin_write_in(ChangeDomain::ServiceOverrides)
            .await?;
        on_transaction!(transaction, executor => {
            sqlx::query("DELETE FROM egress_routes WHERE organization_id = $1 AND environment = $2")
                .bind(organization_id)
                .bind(environment)
                .execute(&mut *executor)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(db_error("egress route"))?;
        for route in routes {
            on_transaction!(transaction, executor => {
                sqlx::query(
                    "INSERT INTO egress_routes (organization_id, environment, host, target, updated_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(organization_id)
                .bind(environment)
                .bind(&route.host)
                .bind(&route.target)
                .bind(now)
                .execute(&mut *executor)
                .await
                .map(|done| done.rows_affected())
            })
            .map_err(db_error("egress route"))?;
        }
        transaction.commit().await
    }

    /// The overrides of one service in one environment, if any.
    pub async fn get(
        self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
        service_key: &str,
    ) -> Result<Option<ServiceOverrideRecord>, StoreError> {
        let sql = format!(
            "SELECT {OVERRIDE_COLUMNS} FROM service_overrides \
             WHERE organization_id = $1 AND environment = $2 AND service_key = $3"
        );
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, ServiceOverrideRecord>(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(organization_id)
                .bind(environment)
                .bind(service_key)
                .fetch_optional(executor)
                .await
        })
        .map_err(db_error("service override"))
    }

    /// Every service override of one environment, ordered by service key.
    pub async fn list(
        self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
    ) -> Result<Vec<ServiceOverrideRecord>, StoreError> {
        let sql = format!(
            "SELECT {OVERRIDE_COLUMNS} FROM service_overrides \
             WHERE organization_id = $1 AND environment = $2 ORDER BY service_key"
        );
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, ServiceOverrideRecord>(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(organization_id)
                .bind(environment)
                .fetch_all(executor)
                .await
        })
        .map_err(db_error("service override"))
    }

    /// Creates or replaces the overrides of one service (`updated_at` is set here).
    pub async fn put(self, record: &ServiceOverrideRecord) -> Result<(), StoreError> {
        on_pool!(self.store.writer(ChangeDomain::ServiceOverrides), executor => {
            sqlx::query(
                "INSERT INTO service_overrides (organization_id, environment, service_key, authorize_url, \
                 token_url, revoke_url, client_id, client_secret, variables, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (organization_id, environment, service_key) DO UPDATE SET \
                 authorize_url = excluded.authorize_url, token_url = excluded.token_url, \
                 revoke_url = excluded.revoke_url, client_id = excluded.client_id, \
                 client_secret = excluded.client_secret, variables = excluded.variables, \
                 updated_at = excluded.updated_at",
            )
            .bind(record.organization_id)
            .bind(record.environment)
            .bind(&record.service_key)
            .bind(&record.authorize_url)
            .bind(&record.token_url)
            .bind(&record.revoke_url)
            .bind(&record.client_id)
            .bind(&record.client_secret)
            .bind(&record.variables)
            .bind(clock::now())
            .execute(executor)
            .await
            .map(|done| done.rows_affected())
        })
        .map_err(db_error("service override"))?;
        Ok(())
    }

    /// Every override that stores a client secret, across organizations (key rotation).
    pub async fn with_client_secret(self) -> Result<Vec<ServiceOverrideRecord>, StoreError> {
        let sql = format!(
            "SELECT {OVERRIDE_COLUMNS} FROM service_overrides WHERE client_secret IS NOT NULL \
             ORDER BY organization_id, environment, service_key"
        );
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, ServiceOverrideRecord>(sqlx::AssertSqlSafe(sql.as_str()))
                .fetch_all(executor)
                .await
        })
        .map_err(db_error("service override"))
    }

    /// Replaces a client secret ciphertext if it is still `old` (compare-and-set, so a
    /// concurrent change is never overwritten); `false` when it changed meanwhile.
    pub async fn replace_client_secret(
        self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
        service_key: &str,
        old: &[u8],
        new: &[u8],
    ) -> Result<bool, StoreError> {
        let replaced = on_pool!(self.store.writer(ChangeDomain::ServiceOverrides), executor => {
            sqlx::query(
                "UPDATE service_overrides SET client_secret = $5 \
                 WHERE organization_id = $1 AND environment = $2 AND service_key = $3 \
                 AND client_secret = $4",
            )
            .bind(organization_id)
            .bind(environment)
            .bind(service_key)
            .bind(old)
            .bind(new)
            .execute(executor)
            .await
            .map(|done| done.rows_affected())
        })
        .map_err(db_error("service override"))?;
        Ok(replaced > 0)
    }

    /// Removes the overrides of one service; `false` when there were none.
    pub async fn delete(
        self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
        service_key: &str,
    ) -> Result<bool, StoreError> {
        let deleted = on_pool!(self.store.writer(ChangeDomain::ServiceOverrides), executor => {
            sqlx::query(
                "DELETE FROM service_overrides \
                 WHERE organization_id = $1 AND environment = $2 AND service_key = $3",
            )
            .bind(organization_id)
            .bind(environment)
            .bind(service_key)
            .execute(executor)
            .await
            .map(|done| done.rows_affected())
        })
        .map_err(db_error("service override"))?;
        Ok(deleted > 0)
    }
}
