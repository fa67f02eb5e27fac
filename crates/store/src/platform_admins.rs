//! Platform administrators: users who may create organizations. Platform-level (not scoped
//! by organization); the HTTP layer checks it only for organization creation.
//!
//! Added by the server work (issue 3) in its own file; see the migration 0090.

use crate::db::{WriteTransaction, on_pool, on_transaction};
use crate::error::StoreError;
use crate::ids::UserId;
use crate::read_cache::ChangeDomain;
use crate::{Store, clock};

/// Platform administrator grants; get it with [`Store::platform_admins`].
#[derive(Clone, Copy)]
pub struct PlatformAdmins<'s> {
    store: &'s Store,
}

impl Store {
    /// Who may create organizations.
    pub fn platform_admins(&self) -> PlatformAdmins<'_> {
        PlatformAdmins { store: self }
    }
}

impl PlatformAdmins<'_> {
    /// Makes the user a platform administrator (idempotent). [`StoreError::NotFound`] when the
    /// user does not exist.
    pub async fn grant(self, user_id: UserId) -> Result<(), StoreError> {
        let mut transaction = self.store.begin_write_in(ChangeDomain::Access).await?;
        grant_platform_admin_in(&mut transaction, user_id).await?;
        transaction.commit().await
    }

    /// [`PlatformAdmins::grant`] inside a caller's transaction.
    pub async fn grant_in(
        self,
        transaction: &mut WriteTransaction,
        user_id: UserId,
    ) -> Result<(), StoreError> {
        grant_platform_admin_in(transaction, user_id).await
    }

    /// Whether the user is a platform administrator.
    pub async fn contains(self, user_id: UserId) -> Result<bool, StoreError> {
        // EXISTS is boolean on PostgreSQL and 0/1 on SQLite; both decode as bool (a bare
        // `SELECT 1` would be int4 on PostgreSQL and fail to decode as i64).
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM platform_admins WHERE user_id = $1)",
            )
            .bind(user_id)
            .fetch_one(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("platform admin", error))
    }

    /// Whether any user account exists at all (the first-run check).
    pub async fn any_user_exists(self) -> Result<bool, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM users)")
                .fetch_one(executor)
                .await
        })
        .map_err(|error| StoreError::from_sqlx("user", error))
    }
}

async fn grant_platform_admin_in(
    transaction: &mut WriteTransaction,
    user_id: UserId,
) -> Result<(), StoreError> {
    on_transaction!(transaction, executor => {
        sqlx::query(
            "INSERT INTO platform_admins (user_id, granted_at) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(clock::now())
        .execute(&mut *executor)
        .await
        .map(|done| done.rows_affected())
    })
    .map_err(
        |error| match StoreError::from_sqlx("platform admin", error) {
            StoreError::NotFound { .. } => StoreError::NotFound { entity: "user" },
            other => other,
        },
    )?;
    Ok(())
}
