//! Organizations (a Bigin org: the tenant). Creating one creates its two environments in the
//! same transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::{WriteTransaction, on_pool, on_transaction};
use crate::environments::{Environment, EnvironmentKind, insert_environment_in};
use crate::error::StoreError;
use crate::ids::OrganizationId;
use crate::read_cache::ChangeDomain;
use crate::{Store, clock};

/// Longest organization name accepted, in characters.
pub const MAX_ORGANIZATION_NAME_CHARS: usize = 200;

/// An organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A new organization with the two environments created with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CreatedOrganization {
    pub organization: Organization,
    pub production: Environment,
    pub sandbox: Environment,
}

/// Organization operations; get it with [`Store::organizations`].
#[derive(Clone, Copy)]
pub struct Organizations<'s> {
    store: &'s Store,
}

impl Store {
    /// Organizations: create, get, list, rename.
    pub fn organizations(&self) -> Organizations<'_> {
        Organizations { store: self }
    }
}

const SELECT_ORGANIZATION: &str = "SELECT id, name, created_at FROM organizations WHERE id = $1";

impl Organizations<'_> {
    /// Creates an organization named `name` (trimmed, 1 to 200 characters) together with its
    /// `production` and `sandbox` environments, atomically.
    pub async fn create(self, name: &str) -> Result<CreatedOrganization, StoreError> {
        let mut transaction = self.store.begin_write_in(ChangeDomain::Access).await?;
        let created = create_organization_in(&mut transaction, name).await?;
        transaction.commit().await?;
        Ok(created)
    }

    /// [`Organizations::create`] inside a caller's transaction, to combine it atomically with
    /// other writes (first-run setup: organization, admin user, membership, audit entry).
    pub async fn create_in(
        self,
        transaction: &mut WriteTransaction,
        name: &str,
    ) -> Result<CreatedOrganization, StoreError> {
        create_organization_in(transaction, name).await
    }

    /// The organization with this id, or [`StoreError::NotFound`].
    pub async fn get(self, id: OrganizationId) -> Result<Organization, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, Organization>(SELECT_ORGANIZATION)
                .bind(id)
                .fetch_optional(executor)
                .await
        })
        .map_err(|error| StoreError::from_sqlx("organization", error))?
        .ok_or(StoreError::NotFound {
            entity: "organization",
        })
    }

    /// Every organization, oldest first. Platform-level: for the operator, never for an
    /// organization's own users.
    pub async fn list_all(self) -> Result<Vec<Organization>, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, Organization>(
                "SELECT id, name, created_at FROM organizations ORDER BY id",
            )
            .fetch_all(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("organization", error))
    }

    /// Renames the organization.
    pub async fn rename(self, id: OrganizationId, name: &str) -> Result<Organization, StoreError> {
        let name = validate_organization_name(name)?;
        on_pool!(self.store.writer(ChangeDomain::Access), executor => {
            sqlx::query_as::<_, Organization>(
                "UPDATE organizations SET name = $2 WHERE id = $1 RETURNING id, name, created_at",
            )
            .bind(id)
            .bind(name)
            .fetch_optional(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("organization", error))?
        .ok_or(StoreError::NotFound {
            entity: "organization",
        })
    }
}

/// Creates an organization and its two environments inside `transaction`.
pub(crate) async fn create_organization_in(
    transaction: &mut WriteTransaction,
    name: &str,
) -> Result<CreatedOrganization, StoreError> {
    let name = validate_organization_name(name)?;
    let organization = Organization {
        id: OrganizationId::generate(),
        name: name.to_owned(),
        created_at: clock::now(),
    };
    on_transaction!(transaction, executor => {
        sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(organization.id)
            .bind(&organization.name)
            .bind(organization.created_at)
            .execute(&mut *executor)
            .await.map(|done| done.rows_affected())
    })
    .map_err(|error| StoreError::from_sqlx("organization", error))?;
    let production =
        insert_environment_in(transaction, organization.id, EnvironmentKind::Production).await?;
    let sandbox =
        insert_environment_in(transaction, organization.id, EnvironmentKind::Sandbox).await?;
    Ok(CreatedOrganization {
        organization,
        production,
        sandbox,
    })
}

fn validate_organization_name(name: &str) -> Result<&str, StoreError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::invalid_input(
            "organization name",
            "must not be empty",
        ));
    }
    if name.chars().count() > MAX_ORGANIZATION_NAME_CHARS {
        return Err(StoreError::invalid_input(
            "organization name",
            format!("must be at most {MAX_ORGANIZATION_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::invalid_input(
            "organization name",
            "must not contain control characters",
        ));
    }
    Ok(name)
}
