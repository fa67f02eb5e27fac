//! Memberships: a user's role in an organization. Every query here takes the organization
//! id, which makes these the way to reach users from an organization-scoped endpoint.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::{WriteTransaction, on_pool, on_transaction};
use crate::error::StoreError;
use crate::ids::{OrganizationId, UserId};
use crate::organizations::Organization;
use crate::read_cache::ChangeDomain;
use crate::users::User;
use crate::{Store, clock};

/// A user's role in an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages the organization: users, tokens, settings, and everything a developer does.
    Admin,
    /// Builds toppings: functions, connections, services, workflows.
    Developer,
    /// Uses what developers built: authorizes connections, works with records.
    User,
}

impl Role {
    /// `"admin"`, `"developer"` or `"user"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Developer => "developer",
            Role::User => "user",
        }
    }

    fn as_text(&self) -> &'static str {
        self.as_str()
    }

    fn parse_text(text: &str) -> Result<Role, StoreError> {
        text.parse()
    }
}

impl FromStr for Role {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "admin" => Ok(Role::Admin),
            "developer" => Ok(Role::Developer),
            "user" => Ok(Role::User),
            _ => Err(StoreError::invalid_input(
                "role",
                "must be \"admin\", \"developer\" or \"user\"",
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

crate::ids::text_column!(Role);

/// A membership row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Membership {
    pub organization_id: OrganizationId,
    pub user_id: UserId,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// A user seen from an organization: the user and their role there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Member {
    #[sqlx(flatten)]
    pub user: User,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

/// An organization seen from a user: the organization and the user's role there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct UserOrganization {
    #[sqlx(flatten)]
    pub organization: Organization,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

/// Membership operations; get it with [`Store::memberships`].
#[derive(Clone, Copy)]
pub struct Memberships<'s> {
    store: &'s Store,
}

impl Store {
    /// Memberships of users in organizations.
    pub fn memberships(&self) -> Memberships<'_> {
        Memberships { store: self }
    }
}

const SELECT_MEMBER: &str = "SELECT users.id, users.email, users.display_name, \
     users.must_change_password, users.disabled, users.created_at, users.updated_at, \
     memberships.role, memberships.created_at AS joined_at \
     FROM memberships JOIN users ON users.id = memberships.user_id \
     WHERE memberships.organization_id = $1 AND memberships.user_id = $2";

const SELECT_MEMBERS: &str = "SELECT users.id, users.email, users.display_name, \
     users.must_change_password, users.disabled, users.created_at, users.updated_at, \
     memberships.role, memberships.created_at AS joined_at \
     FROM memberships JOIN users ON users.id = memberships.user_id \
     WHERE memberships.organization_id = $1 ORDER BY memberships.created_at, users.id";

impl Memberships<'_> {
    /// Makes the user a member of the organization. [`StoreError::AlreadyExists`] when they
    /// already are; [`StoreError::NotFound`] when the user or organization does not exist.
    pub async fn add(
        self,
        organization_id: OrganizationId,
        user_id: UserId,
        role: Role,
    ) -> Result<Membership, StoreError> {
        let mut transaction = self.store.begin_write_in(ChangeDomain::Access).await?;
        let membership =
            insert_membership_in(&mut transaction, organization_id, user_id, role).await?;
        transaction.commit().await?;
        Ok(membership)
    }

    /// [`Memberships::add`] inside a caller's transaction.
    pub async fn add_in(
        self,
        transaction: &mut WriteTransaction,
        organization_id: OrganizationId,
        user_id: UserId,
        role: Role,
    ) -> Result<Membership, StoreError> {
        insert_membership_in(transaction, organization_id, user_id, role).await
    }

    /// The membership of the user in the organization, if any.
    pub async fn get(
        self,
        organization_id: OrganizationId,
        user_id: UserId,
    ) -> Result<Option<Membership>, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, Membership>(
                "SELECT organization_id, user_id, role, created_at FROM memberships \
                 WHERE organization_id = $1 AND user_id = $2",
            )
            .bind(organization_id)
            .bind(user_id)
            .fetch_optional(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("membership", error))
    }

    /// The user, if they are a member of the organization; otherwise [`StoreError::NotFound`]
    /// (also when the user exists but belongs only to other organizations).
    pub async fn member(
        self,
        organization_id: OrganizationId,
        user_id: UserId,
    ) -> Result<Member, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, Member>(SELECT_MEMBER)
                .bind(organization_id)
                .bind(user_id)
                .fetch_optional(executor)
                .await
        })
        .map_err(|error| StoreError::from_sqlx("user", error))?
        .ok_or(StoreError::NotFound { entity: "user" })
    }

    /// Every member of the organization, in order of joining.
    pub async fn list_members(
        self,
        organization_id: OrganizationId,
    ) -> Result<Vec<Member>, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, Member>(SELECT_MEMBERS)
                .bind(organization_id)
                .fetch_all(executor)
                .await
        })
        .map_err(|error| StoreError::from_sqlx("user", error))
    }

    /// Every organization the user belongs to, with their role, in order of joining.
    pub async fn organizations_of(
        self,
        user_id: UserId,
    ) -> Result<Vec<UserOrganization>, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, UserOrganization>(
                "SELECT organizations.id, organizations.name, organizations.created_at, \
                 memberships.role, memberships.created_at AS joined_at \
                 FROM memberships JOIN organizations ON organizations.id = memberships.organization_id \
                 WHERE memberships.user_id = $1 ORDER BY memberships.created_at, organizations.id",
            )
            .bind(user_id)
            .fetch_all(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("organization", error))
    }

    /// Changes the user's role. [`StoreError::Conflict`] when this would leave the
    /// organization without an admin.
    pub async fn set_role(
        self,
        organization_id: OrganizationId,
        user_id: UserId,
        role: Role,
    ) -> Result<Membership, StoreError> {
        let mut transaction = self.store.begin_write_in(ChangeDomain::Access).await?;
        let current = lock_membership_in(&mut transaction, organization_id, user_id).await?;
        if current.role == Role::Admin && role != Role::Admin {
            ensure_another_admin_in(&mut transaction, organization_id, user_id).await?;
        }
        let membership = on_transaction!(transaction, executor => {
            sqlx::query_as::<_, Membership>(
                "UPDATE memberships SET role = $3 WHERE organization_id = $1 AND user_id = $2 \
                 RETURNING organization_id, user_id, role, created_at",
            )
            .bind(organization_id)
            .bind(user_id)
            .bind(role)
            .fetch_one(&mut *executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("membership", error))?;
        transaction.commit().await?;
        Ok(membership)
    }

    /// Removes the user from the organization. [`StoreError::Conflict`] when they are its last
    /// admin; [`StoreError::NotFound`] when they are not a member.
    pub async fn remove(
        self,
        organization_id: OrganizationId,
        user_id: UserId,
    ) -> Result<(), StoreError> {
        let mut transaction = self.store.begin_write_in(ChangeDomain::Access).await?;
        let current = lock_membership_in(&mut transaction, organization_id, user_id).await?;
        if current.role == Role::Admin {
            ensure_another_admin_in(&mut transaction, organization_id, user_id).await?;
        }
        on_transaction!(transaction, executor => {
            sqlx::query("DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2")
                .bind(organization_id)
                .bind(user_id)
                .execute(&mut *executor)
                .await.map(|done| done.rows_affected())
        })
        .map_err(|error| StoreError::from_sqlx("membership", error))?;
        transaction.commit().await
    }
}

pub(crate) async fn insert_membership_in(
    transaction: &mut WriteTransaction,
    organization_id: OrganizationId,
    user_id: UserId,
    role: Role,
) -> Result<Membership, StoreError> {
    let membership = Membership {
        organization_id,
        user_id,
        role,
        created_at: clock::now(),
    };
    on_transaction!(transaction, executor => {
        sqlx::query(
            "INSERT INTO memberships (organization_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(membership.organization_id)
        .bind(membership.user_id)
        .bind(membership.role)
        .bind(membership.created_at)
        .execute(&mut *executor)
        .await.map(|done| done.rows_affected())
    })
    .map_err(|error| match StoreError::from_sqlx("membership", error) {
        StoreError::AlreadyExists { entity, .. } => StoreError::AlreadyExists {
            entity,
            detail: "the user is already a member of this organization",
        },
        StoreError::NotFound { .. } => StoreError::NotFound {
            entity: "user or organization",
        },
        other => other,
    })?;
    Ok(membership)
}

/// Reads the membership and, on PostgreSQL, locks the organization's row so that two
/// concurrent demotions cannot both see "another admin exists". (SQLite transactions are
/// already serialized by the single writer.)
async fn lock_membership_in(
    transaction: &mut WriteTransaction,
    organization_id: OrganizationId,
    user_id: UserId,
) -> Result<Membership, StoreError> {
    let lock_sql = transaction.backend().pick(
        "SELECT id FROM organizations WHERE id = $1",
        "SELECT id FROM organizations WHERE id = $1 FOR UPDATE",
    );
    on_transaction!(transaction, executor => {
        sqlx::query(lock_sql).bind(organization_id).execute(&mut *executor).await.map(|done| done.rows_affected())
    })
    .map_err(|error| StoreError::from_sqlx("organization", error))?;
    on_transaction!(transaction, executor => {
        sqlx::query_as::<_, Membership>(
            "SELECT organization_id, user_id, role, created_at FROM memberships \
             WHERE organization_id = $1 AND user_id = $2",
        )
        .bind(organization_id)
        .bind(user_id)
        .fetch_optional(&mut *executor)
        .await
    })
    .map_err(|error| StoreError::from_sqlx("membership", error))?
    .ok_or(StoreError::NotFound { entity: "user" })
}

async fn ensure_another_admin_in(
    transaction: &mut WriteTransaction,
    organization_id: OrganizationId,
    user_id: UserId,
) -> Result<(), StoreError> {
    let other_admins: i64 = on_transaction!(transaction, executor => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM memberships \
             WHERE organization_id = $1 AND role = 'admin' AND user_id <> $2",
        )
        .bind(organization_id)
        .bind(user_id)
        .fetch_one(&mut *executor)
        .await
    })
    .map_err(|error| StoreError::from_sqlx("membership", error))?;
    if other_admins == 0 {
        return Err(StoreError::Conflict {
            message: "this is the organization's last admin; make another member admin first"
                .to_owned(),
        });
    }
    Ok(())
}
