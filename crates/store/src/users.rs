//! Users: platform-level accounts (one per e-mail address) that join organizations through
//! memberships.
//!
//! The methods here are not scoped by organization because a user is not owned by one. They
//! serve authentication, a user's own profile and the operator. An organization-scoped
//! endpoint that takes a user id must go through [`crate::Memberships::member`] instead,
//! which only finds users of that organization.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::{WriteTransaction, on_pool, on_transaction};
use crate::error::StoreError;
use crate::ids::{OrganizationId, UserId};
use crate::memberships::{Membership, Role, insert_membership_in};
use crate::password::PasswordHash;
use crate::read_cache::ChangeDomain;
use crate::{Store, clock};

/// Longest e-mail address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Longest display name accepted, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 200;

/// A user, without credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: UserId,
    /// Lower-cased and trimmed; unique.
    pub email: String,
    pub display_name: String,
    /// Set for one-time passwords: the console asks for a new password before anything else.
    pub must_change_password: bool,
    /// A disabled user cannot log in; existing sessions stop working.
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A user together with the password hash, for login and password change only.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct UserCredentials {
    #[sqlx(flatten)]
    pub user: User,
    pub password_hash: PasswordHash,
}

/// What [`Users::create`] needs.
#[derive(Clone, Debug)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    /// From [`crate::password::hash_password`].
    pub password_hash: &'a PasswordHash,
    pub must_change_password: bool,
}

/// User operations; get it with [`Store::users`].
#[derive(Clone, Copy)]
pub struct Users<'s> {
    store: &'s Store,
}

impl Store {
    /// Users (platform level; see the module documentation for scoping).
    pub fn users(&self) -> Users<'_> {
        Users { store: self }
    }
}

impl Users<'_> {
    /// Creates a user. [`StoreError::AlreadyExists`] when the e-mail address is taken
    /// (compared case-insensitively).
    pub async fn create(self, new_user: &NewUser<'_>) -> Result<User, StoreError> {
        let mut transaction = self.store.begin_write_in(ChangeDomain::Access).await?;
        let user = insert_user_in(&mut transaction, new_user).await?;
        transaction.commit().await?;
        Ok(user)
    }

    /// [`Users::create`] inside a caller's transaction.
    pub async fn create_in(
        self,
        transaction: &mut WriteTransaction,
        new_user: &NewUser<'_>,
    ) -> Result<User, StoreError> {
        insert_user_in(transaction, new_user).await
    }

    /// Creates a user and makes it a member of the organization with `role`, atomically.
    pub async fn create_in_organization(
        self,
        organization_id: OrganizationId,
        new_user: &NewUser<'_>,
        role: Role,
    ) -> Result<(User, Membership), StoreError> {
        let mut transaction = self.store.begin_write_in(ChangeDomain::Access).await?;
        let user = insert_user_in(&mut transaction, new_user).await?;
        let membership =
            insert_membership_in(&mut transaction, organization_id, user.id, role).await?;
        transaction.commit().await?;
        Ok((user, membership))
    }

    /// The user with this id, or [`StoreError::NotFound`].
    pub async fn get(self, id: UserId) -> Result<User, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, User>(
                "SELECT id, email, display_name, must_change_password, disabled, created_at, updated_at \
                 FROM users WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("user", error))?
        .ok_or(StoreError::NotFound { entity: "user" })
    }

    /// The user with this e-mail address (any case), if any.
    pub async fn find_by_email(self, email: &str) -> Result<Option<User>, StoreError> {
        let email = normalize_email(email);
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, User>(
                "SELECT id, email, display_name, must_change_password, disabled, created_at, updated_at \
                 FROM users WHERE email = $1",
            )
            .bind(&email)
            .fetch_optional(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("user", error))
    }

    /// The user and password hash for a login attempt, if the address is known. Verify with
    /// [`crate::password::verify_password`]; when this returns `None`, call
    /// [`crate::password::verify_against_dummy_hash`] so timing does not reveal accounts.
    /// Disabled users are returned too: check [`User::disabled`].
    pub async fn credentials_by_email(
        self,
        email: &str,
    ) -> Result<Option<UserCredentials>, StoreError> {
        let email = normalize_email(email);
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, UserCredentials>(
                "SELECT id, email, display_name, must_change_password, disabled, created_at, updated_at, \
                 password_hash FROM users WHERE email = $1",
            )
            .bind(&email)
            .fetch_optional(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("user", error))
    }

    /// The user and password hash by id (to check the current password before a change).
    pub async fn credentials(self, id: UserId) -> Result<UserCredentials, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, UserCredentials>(
                "SELECT id, email, display_name, must_change_password, disabled, created_at, updated_at, \
                 password_hash FROM users WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("user", error))?
        .ok_or(StoreError::NotFound { entity: "user" })
    }

    /// Every user, oldest first. Platform-level: for the operator only.
    pub async fn list_all(self) -> Result<Vec<User>, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, User>(
                "SELECT id, email, display_name, must_change_password, disabled, created_at, updated_at \
                 FROM users ORDER BY id",
            )
            .fetch_all(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("user", error))
    }

    /// Replaces the password hash and sets `must_change_password`. Does not end sessions:
    /// call [`crate::Sessions::revoke_all_for_user`] too when the password was reset.
    pub async fn set_password(
        self,
        id: UserId,
        password_hash: &PasswordHash,
        must_change_password: bool,
    ) -> Result<User, StoreError> {
        on_pool!(self.store.writer(ChangeDomain::Access), executor => {
            sqlx::query_as::<_, User>(
                "UPDATE users SET password_hash = $2, must_change_password = $3, updated_at = $4 \
                 WHERE id = $1 \
                 RETURNING id, email, display_name, must_change_password, disabled, created_at, updated_at",
            )
            .bind(id)
            .bind(password_hash)
            .bind(must_change_password)
            .bind(clock::now())
            .fetch_optional(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("user", error))?
        .ok_or(StoreError::NotFound { entity: "user" })
    }

    /// Disables or re-enables the user.
    pub async fn set_disabled(self, id: UserId, disabled: bool) -> Result<User, StoreError> {
        on_pool!(self.store.writer(ChangeDomain::Access), executor => {
            sqlx::query_as::<_, User>(
                "UPDATE users SET disabled = $2, updated_at = $3 WHERE id = $1 \
                 RETURNING id, email, display_name, must_change_password, disabled, created_at, updated_at",
            )
            .bind(id)
            .bind(disabled)
            .bind(clock::now())
            .fetch_optional(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("user", error))?
        .ok_or(StoreError::NotFound { entity: "user" })
    }

    /// Changes the display name.
    pub async fn set_display_name(
        self,
        id: UserId,
        display_name: &str,
    ) -> Result<User, StoreError> {
        let display_name = validate_display_name(display_name)?;
        on_pool!(self.store.writer(ChangeDomain::Access), executor => {
            sqlx::query_as::<_, User>(
                "UPDATE users SET display_name = $2, updated_at = $3 WHERE id = $1 \
                 RETURNING id, email, display_name, must_change_password, disabled, created_at, updated_at",
            )
            .bind(id)
            .bind(display_name)
            .bind(clock::now())
            .fetch_optional(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("user", error))?
        .ok_or(StoreError::NotFound { entity: "user" })
    }
}

pub(crate) async fn insert_user_in(
    transaction: &mut WriteTransaction,
    new_user: &NewUser<'_>,
) -> Result<User, StoreError> {
    let email = validate_email(new_user.email)?;
    let display_name = validate_display_name(new_user.display_name)?;
    let now = clock::now();
    let user = User {
        id: UserId::generate(),
        email,
        display_name: display_name.to_owned(),
        must_change_password: new_user.must_change_password,
        disabled: false,
        created_at: now,
        updated_at: now,
    };
    on_transaction!(transaction, executor => {
        sqlx::query(
            "INSERT INTO users (id, email, display_name, password_hash, must_change_password, \
             disabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(user.id)
        .bind(&user.email)
        .bind(&user.display_name)
        .bind(new_user.password_hash)
        .bind(user.must_change_password)
        .bind(user.disabled)
        .bind(user.created_at)
        .bind(user.updated_at)
        .execute(&mut *executor)
        .await.map(|done| done.rows_affected())
    })
    .map_err(|error| match StoreError::from_sqlx("user", error) {
        StoreError::AlreadyExists { entity, .. } => StoreError::AlreadyExists {
            entity,
            detail: "a user with this e-mail address exists",
        },
        other => other,
    })?;
    Ok(user)
}

/// Lower-cases and trims an e-mail address (the stored, unique form).
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn validate_email(email: &str) -> Result<String, StoreError> {
    let email = normalize_email(email);
    let well_formed = email.len() <= MAX_EMAIL_BYTES
        && !email
            .chars()
            .any(|character| character.is_whitespace() || character.is_control())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            }
            None => false,
        };
    if well_formed {
        Ok(email)
    } else {
        Err(StoreError::invalid_input(
            "email",
            format!(
                "must be an address such as ada@example.com (no spaces, one '@', at most {MAX_EMAIL_BYTES} bytes)"
            ),
        ))
    }
}

fn validate_display_name(display_name: &str) -> Result<&str, StoreError> {
    let display_name = display_name.trim();
    if display_name.is_empty() {
        return Err(StoreError::invalid_input(
            "display name",
            "must not be empty",
        ));
    }
    if display_name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(StoreError::invalid_input(
            "display name",
            format!("must be at most {MAX_DISPLAY_NAME_CHARS} characters"),
        ));
    }
    if display_name.chars().any(char::is_control) {
        return Err(StoreError::invalid_input(
            "display name",
            "must not contain control characters",
        ));
    }
    Ok(display_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            validate_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a b@example.com",
            "a@b@c",
        ] {
            assert_eq!(
                validate_email(bad).unwrap_err().code(),
                "INVALID_INPUT",
                "{bad}"
            );
        }
    }

    #[test]
    fn display_names_are_checked() {
        assert_eq!(validate_display_name("  Ada ").unwrap(), "Ada");
        assert!(validate_display_name(" ").is_err());
        assert!(validate_display_name("a\u{0}b").is_err());
    }
}
