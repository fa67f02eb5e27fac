//! Platform administrators: users who may create organizations. Platform-level (not scoped
//! by organization); the HTTP layer checks it only for organization creation.
//!
//! Added by the server work (issue 3) in its own file; see the migration 0090.

use crate::db::on_pool;
use crate::error::StoreError;
use crate::ids::UserId;
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
        on_pool!(self.store.pools.writer(), executor => {
            sqlx::query(
                "INSERT INTO platform_admins (user_id, granted_at) VALUES ($1, $2) \
                 ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(user_id)
            .bind(clock::now())
            .execute(executor)
            .await.map(|done| done.rows_affected())
        })
        .map_err(
            |error| match StoreError::from_sqlx("platform admin", error) {
                StoreError::NotFound { .. } => StoreError::NotFound { entity: "user" },
                other => other,
            },
        )?;
        Ok(())
    }

    /// Whether the user is a platform administrator.
    pub async fn contains(self, user_id: UserId) -> Result<bool, StoreError> {
        let found: Option<i64> = on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_scalar("SELECT 1 FROM platform_admins WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(executor)
                .await
        })
        .map_err(|error| StoreError::from_sqlx("platform admin", error))?;
        Ok(found.is_some())
    }

    /// Whether any user account exists at all (the first-run check).
    pub async fn any_user_exists(self) -> Result<bool, StoreError> {
        let found: Option<i64> = on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_scalar("SELECT 1 FROM users LIMIT 1")
                .fetch_optional(executor)
                .await
        })
        .map_err(|error| StoreError::from_sqlx("user", error))?;
        Ok(found.is_some())
    }
}
