//! Console sessions. The session token (the cookie value) is returned once at creation; only
//! its SHA-256 is stored, so a database leak does not leak live sessions. Each session has a
//! CSRF token, stored as is: it is only useful together with the session cookie.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::db::on_pool;
use crate::error::StoreError;
use crate::ids::{SessionId, UserId};
use crate::read_cache::ChangeDomain;
use crate::secret::{SecretToken, constant_time_equal, random_url_safe, token_hash};
use crate::users::User;
use crate::{Store, clock};

/// `last_seen_at` is rewritten at most this often per session, so authenticating a request
/// usually costs one read and no write.
pub const LAST_SEEN_GRANULARITY: TimeDelta = TimeDelta::seconds(60);

/// A console session (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ConsoleSession {
    pub id: SessionId,
    pub user_id: UserId,
    /// Echoed by the console in a header or form field of every state-changing request.
    #[serde(skip)]
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

impl ConsoleSession {
    /// Constant-time check of a CSRF token sent with a request.
    pub fn csrf_token_matches(&self, candidate: &str) -> bool {
        constant_time_equal(&self.csrf_token, candidate)
    }
}

/// A session just created: put `token` in the cookie; it cannot be read back later.
#[derive(Clone, Debug)]
pub struct NewConsoleSession {
    pub token: SecretToken,
    pub session: ConsoleSession,
}

/// A valid session and its user (not disabled), from [`Sessions::authenticate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedSession {
    pub session: ConsoleSession,
    pub user: User,
}

/// Session operations; get it with [`Store::sessions`].
#[derive(Clone, Copy)]
pub struct Sessions<'s> {
    store: &'s Store,
}

impl Store {
    /// Console sessions.
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions { store: self }
    }
}

#[derive(sqlx::FromRow)]
struct SessionWithUserRow {
    #[sqlx(flatten)]
    session: ConsoleSession,
    email: String,
    display_name: String,
    must_change_password: bool,
    disabled: bool,
    user_created_at: DateTime<Utc>,
    user_updated_at: DateTime<Utc>,
}

impl Sessions<'_> {
    /// Starts a session for the user, valid until `expires_at` (absolute). Returns the token
    /// for the cookie (43 URL-safe characters, 256 random bits).
    pub async fn create(
        self,
        user_id: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<NewConsoleSession, StoreError> {
        let now = clock::now();
        let expires_at = clock::normalize(expires_at);
        if expires_at <= now {
            return Err(StoreError::invalid_input(
                "session expiry",
                "must be in the future",
            ));
        }
        let token = SecretToken::new(random_url_safe(32));
        let session = ConsoleSession {
            id: SessionId::generate(),
            user_id,
            csrf_token: random_url_safe(32),
            created_at: now,
            expires_at,
            last_seen_at: now,
        };
        on_pool!(self.store.writer(ChangeDomain::Other), executor => {
            sqlx::query(
                "INSERT INTO console_sessions (id, token_hash, user_id, csrf_token, created_at, \
                 expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(session.id)
            .bind(token_hash(token.expose()))
            .bind(session.user_id)
            .bind(&session.csrf_token)
            .bind(session.created_at)
            .bind(session.expires_at)
            .bind(session.last_seen_at)
            .execute(executor)
            .await.map(|done| done.rows_affected())
        })
        .map_err(|error| match StoreError::from_sqlx("session", error) {
            StoreError::NotFound { .. } => StoreError::NotFound { entity: "user" },
            other => other,
        })?;
        Ok(NewConsoleSession { token, session })
    }

    /// The session for a cookie value, if it exists, has not expired at `now`, and its user
    /// is not disabled. Updates `last_seen_at` when it is older than
    /// [`LAST_SEEN_GRANULARITY`].
    pub async fn authenticate(
        self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AuthenticatedSession>, StoreError> {
        let now = clock::normalize(now);
        let row = on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, SessionWithUserRow>(
                "SELECT console_sessions.id, console_sessions.user_id, console_sessions.csrf_token, \
                 console_sessions.created_at, console_sessions.expires_at, console_sessions.last_seen_at, \
                 users.email, users.display_name, users.must_change_password, users.disabled, \
                 users.created_at AS user_created_at, users.updated_at AS user_updated_at \
                 FROM console_sessions JOIN users ON users.id = console_sessions.user_id \
                 WHERE console_sessions.token_hash = $1 AND console_sessions.expires_at > $2",
            )
            .bind(token_hash(token))
            .bind(now)
            .fetch_optional(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("session", error))?;
        let Some(row) = row else {
            return Ok(None);
        };
        if row.disabled {
            return Ok(None);
        }
        let mut session = row.session;
        if now - session.last_seen_at >= LAST_SEEN_GRANULARITY {
            // A lost update here is harmless; the condition keeps concurrent requests of the
            // same session from writing more than once per interval.
            on_pool!(self.store.writer(ChangeDomain::Other), executor => {
                sqlx::query(
                    "UPDATE console_sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $3",
                )
                .bind(session.id)
                .bind(now)
                .bind(now - LAST_SEEN_GRANULARITY)
                .execute(executor)
                .await.map(|done| done.rows_affected())
            })
            .map_err(|error| StoreError::from_sqlx("session", error))?;
            session.last_seen_at = now;
        }
        let user = User {
            id: session.user_id,
            email: row.email,
            display_name: row.display_name,
            must_change_password: row.must_change_password,
            disabled: row.disabled,
            created_at: row.user_created_at,
            updated_at: row.user_updated_at,
        };
        Ok(Some(AuthenticatedSession { session, user }))
    }

    /// Ends the session with this cookie value (logout). True when a session was ended.
    pub async fn revoke(self, token: &str) -> Result<bool, StoreError> {
        let result = on_pool!(self.store.writer(ChangeDomain::Other), executor => {
            sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1")
                .bind(token_hash(token))
                .execute(executor)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(|error| StoreError::from_sqlx("session", error))?;
        Ok(result > 0)
    }

    /// The user's sessions (for a "where am I signed in" page), newest first.
    pub async fn list_for_user(self, user_id: UserId) -> Result<Vec<ConsoleSession>, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, ConsoleSession>(
                "SELECT id, user_id, csrf_token, created_at, expires_at, last_seen_at \
                 FROM console_sessions WHERE user_id = $1 ORDER BY id DESC",
            )
            .bind(user_id)
            .fetch_all(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("session", error))
    }

    /// Ends one of the user's sessions by id; [`StoreError::NotFound`] when the session does
    /// not exist or belongs to another user.
    pub async fn revoke_by_id(self, user_id: UserId, id: SessionId) -> Result<(), StoreError> {
        let removed = on_pool!(self.store.writer(ChangeDomain::Other), executor => {
            sqlx::query("DELETE FROM console_sessions WHERE user_id = $1 AND id = $2")
                .bind(user_id)
                .bind(id)
                .execute(executor)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(|error| StoreError::from_sqlx("session", error))?;
        if removed == 0 {
            return Err(StoreError::NotFound { entity: "session" });
        }
        Ok(())
    }

    /// Ends every session of the user (after a password reset or when disabling them).
    /// Returns how many were ended.
    pub async fn revoke_all_for_user(self, user_id: UserId) -> Result<u64, StoreError> {
        on_pool!(self.store.writer(ChangeDomain::Other), executor => {
            sqlx::query("DELETE FROM console_sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(executor)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(|error| StoreError::from_sqlx("session", error))
    }

    /// Deletes sessions that expired before `now`; returns how many. Run it periodically.
    pub async fn delete_expired(self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        on_pool!(self.store.writer(ChangeDomain::Other), executor => {
            sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
                .bind(clock::normalize(now))
                .execute(executor)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(|error| StoreError::from_sqlx("session", error))
    }
}
