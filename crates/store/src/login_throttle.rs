//! Failed-login counters for rate limiting, kept in the database so every server process
//! sees the same counts. Fixed windows: the first failure opens a window of the given length;
//! failures inside it add up; the first failure after it starts a new window at 1.
//!
//! Keys are chosen by the caller, for example `email:ada@example.com` and `ip:203.0.113.7`.

use chrono::{DateTime, TimeDelta, Utc};

use crate::db::on_pool;
use crate::error::StoreError;
use crate::read_cache::ChangeDomain;
use crate::{Store, clock};

/// Longest throttle key accepted, in bytes.
pub const MAX_THROTTLE_KEY_BYTES: usize = 512;

/// Failed-login tracking; get it with [`Store::login_throttle`].
#[derive(Clone, Copy)]
pub struct LoginThrottle<'s> {
    store: &'s Store,
}

impl Store {
    /// Failed-login counters shared by every process.
    pub fn login_throttle(&self) -> LoginThrottle<'_> {
        LoginThrottle { store: self }
    }
}

impl LoginThrottle<'_> {
    /// Records one failure for `key` at `now` and returns the number of failures in the
    /// current window, this one included. Atomic across processes.
    pub async fn record_failure(
        self,
        key: &str,
        now: DateTime<Utc>,
        window: TimeDelta,
    ) -> Result<u32, StoreError> {
        validate_key(key)?;
        let now = clock::normalize(now);
        let count: i64 = on_pool!(self.store.writer(ChangeDomain::Other), executor => {
            sqlx::query_scalar(
                "INSERT INTO login_failures (throttle_key, window_started_at, failure_count) \
                 VALUES ($1, $2, 1) \
                 ON CONFLICT (throttle_key) DO UPDATE SET \
                 failure_count = CASE WHEN login_failures.window_started_at <= $3 THEN 1 \
                     ELSE login_failures.failure_count + 1 END, \
                 window_started_at = CASE WHEN login_failures.window_started_at <= $3 THEN $2 \
                     ELSE login_failures.window_started_at END \
                 RETURNING failure_count",
            )
            .bind(key)
            .bind(now)
            .bind(now - window)
            .fetch_one(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("login failure", error))?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// The number of failures for `key` in the window that is current at `now` (0 when the
    /// window has passed).
    pub async fn failures(
        self,
        key: &str,
        now: DateTime<Utc>,
        window: TimeDelta,
    ) -> Result<u32, StoreError> {
        validate_key(key)?;
        let now = clock::normalize(now);
        let count: Option<i64> = on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_scalar(
                "SELECT failure_count FROM login_failures \
                 WHERE throttle_key = $1 AND window_started_at > $2",
            )
            .bind(key)
            .bind(now - window)
            .fetch_optional(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("login failure", error))?;
        Ok(count.map_or(0, |count| u32::try_from(count).unwrap_or(u32::MAX)))
    }

    /// Forgets the failures of `key` (after a successful login).
    pub async fn clear(self, key: &str) -> Result<(), StoreError> {
        on_pool!(self.store.writer(ChangeDomain::Other), executor => {
            sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1")
                .bind(key)
                .execute(executor)
                .await.map(|done| done.rows_affected())
        })
        .map_err(|error| StoreError::from_sqlx("login failure", error))?;
        Ok(())
    }

    /// Deletes counters whose window started before `before`; returns how many. Run it
    /// periodically with `now - window`.
    pub async fn prune(self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        on_pool!(self.store.writer(ChangeDomain::Other), executor => {
            sqlx::query("DELETE FROM login_failures WHERE window_started_at < $1")
                .bind(clock::normalize(before))
                .execute(executor)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(|error| StoreError::from_sqlx("login failure", error))
    }
}

fn validate_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() || key.len() > MAX_THROTTLE_KEY_BYTES {
        return Err(StoreError::invalid_input(
            "throttle key",
            format!("must be 1 to {MAX_THROTTLE_KEY_BYTES} bytes"),
        ));
    }
    Ok(())
}
