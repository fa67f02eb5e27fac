//! Environments: every organization has exactly two, `production` and `sandbox`, created with
//! it. Environment-owned rows of other modules carry both `organization_id` and
//! `environment_id` and are queried with both.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::{WriteTransaction, on_pool, on_transaction};
use crate::error::StoreError;
use crate::ids::{EnvironmentId, OrganizationId};
use crate::{Store, clock};

/// The two environments of an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentKind {
    Production,
    Sandbox,
}

impl EnvironmentKind {
    /// Both kinds, production first.
    pub const ALL: [EnvironmentKind; 2] = [EnvironmentKind::Production, EnvironmentKind::Sandbox];

    /// `"production"` or `"sandbox"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EnvironmentKind::Production => "production",
            EnvironmentKind::Sandbox => "sandbox",
        }
    }

    fn as_text(&self) -> &'static str {
        self.as_str()
    }

    fn parse_text(text: &str) -> Result<EnvironmentKind, StoreError> {
        text.parse()
    }
}

impl FromStr for EnvironmentKind {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "production" => Ok(EnvironmentKind::Production),
            "sandbox" => Ok(EnvironmentKind::Sandbox),
            _ => Err(StoreError::invalid_input(
                "environment",
                "must be \"production\" or \"sandbox\"",
            )),
        }
    }
}

impl fmt::Display for EnvironmentKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

crate::ids::text_column!(EnvironmentKind);

/// One environment of an organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Environment {
    pub id: EnvironmentId,
    pub organization_id: OrganizationId,
    pub kind: EnvironmentKind,
    pub created_at: DateTime<Utc>,
}

/// Environment look-ups, always scoped by organization; get it with [`Store::environments`].
#[derive(Clone, Copy)]
pub struct Environments<'s> {
    store: &'s Store,
}

impl Store {
    /// Environments of an organization.
    pub fn environments(&self) -> Environments<'_> {
        Environments { store: self }
    }
}

impl Environments<'_> {
    /// Both environments of the organization, production first. Empty when the organization
    /// does not exist.
    pub async fn list(
        self,
        organization_id: OrganizationId,
    ) -> Result<Vec<Environment>, StoreError> {
        let mut environments = on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, Environment>(
                "SELECT id, organization_id, kind, created_at FROM environments WHERE organization_id = $1",
            )
            .bind(organization_id)
            .fetch_all(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("environment", error))?;
        environments.sort_by_key(|environment| environment.kind);
        Ok(environments)
    }

    /// The environment `id` of the organization; [`StoreError::NotFound`] when it belongs to
    /// another organization.
    pub async fn get(
        self,
        organization_id: OrganizationId,
        id: EnvironmentId,
    ) -> Result<Environment, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, Environment>(
                "SELECT id, organization_id, kind, created_at FROM environments \
                 WHERE organization_id = $1 AND id = $2",
            )
            .bind(organization_id)
            .bind(id)
            .fetch_optional(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("environment", error))?
        .ok_or(StoreError::NotFound {
            entity: "environment",
        })
    }

    /// The organization's environment of this kind.
    pub async fn by_kind(
        self,
        organization_id: OrganizationId,
        kind: EnvironmentKind,
    ) -> Result<Environment, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, Environment>(
                "SELECT id, organization_id, kind, created_at FROM environments \
                 WHERE organization_id = $1 AND kind = $2",
            )
            .bind(organization_id)
            .bind(kind)
            .fetch_optional(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("environment", error))?
        .ok_or(StoreError::NotFound {
            entity: "environment",
        })
    }
}

pub(crate) async fn insert_environment_in(
    transaction: &mut WriteTransaction,
    organization_id: OrganizationId,
    kind: EnvironmentKind,
) -> Result<Environment, StoreError> {
    let environment = Environment {
        id: EnvironmentId::generate(),
        organization_id,
        kind,
        created_at: clock::now(),
    };
    on_transaction!(transaction, executor => {
        sqlx::query(
            "INSERT INTO environments (id, organization_id, kind, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(environment.id)
        .bind(environment.organization_id)
        .bind(environment.kind)
        .bind(environment.created_at)
        .execute(&mut *executor)
        .await.map(|done| done.rows_affected())
    })
    .map_err(|error| StoreError::from_sqlx("environment", error))?;
    Ok(environment)
}
