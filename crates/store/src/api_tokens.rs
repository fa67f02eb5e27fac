//! API tokens for programs: `trestle_<43 random URL-safe characters>`, shown once at
//! creation. The store keeps its SHA-256 and a short visible prefix (for lists and logs).
//! Each token belongs to one organization and acts within it only.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::db::on_pool;
use crate::error::StoreError;
use crate::ids::{ApiTokenId, OrganizationId, UserId};
use crate::read_cache::ChangeDomain;
use crate::secret::{SecretToken, random_url_safe, token_hash};
use crate::{Store, clock};

/// Every API token starts with this.
pub const API_TOKEN_PREFIX: &str = "trestle_";
/// The SHA-256 of an API token, for keying a per-process cache of verification results
/// without keeping the token itself in memory.
pub fn api_token_digest(token: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes()).into()
}

/// Characters of the token (after [`API_TOKEN_PREFIX`]) kept visible in `token_prefix`.
pub const VISIBLE_PREFIX_CHARS: usize = 6;
/// `last_used_at` is rewritten at most this often per token.
pub const LAST_USED_GRANULARITY: TimeDelta = TimeDelta::seconds(60);
/// Longest token name accepted, in characters.
pub const MAX_TOKEN_NAME_CHARS: usize = 100;

/// An API token's record (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub organization_id: OrganizationId,
    pub name: String,
    /// `trestle_` and the first few characters, to recognise the token in a list.
    pub token_prefix: String,
    /// The user who issued it; `None` when issued by the operator or when that user was deleted.
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token just issued: show `token` to the caller once; it cannot be read back later.
#[derive(Clone, Debug)]
pub struct IssuedApiToken {
    pub token: SecretToken,
    pub api_token: ApiToken,
}

/// API token operations, scoped by organization; get it with [`Store::api_tokens`].
#[derive(Clone, Copy)]
pub struct ApiTokens<'s> {
    store: &'s Store,
}

impl Store {
    /// API tokens of organizations.
    pub fn api_tokens(&self) -> ApiTokens<'_> {
        ApiTokens { store: self }
    }
}

impl ApiTokens<'_> {
    /// Issues a token for the organization. `expires_at` `None` means it lives until revoked.
    pub async fn issue(
        self,
        organization_id: OrganizationId,
        name: &str,
        created_by: Option<UserId>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<IssuedApiToken, StoreError> {
        let name = validate_token_name(name)?;
        let now = clock::now();
        let expires_at = expires_at.map(clock::normalize);
        if expires_at.is_some_and(|expires_at| expires_at <= now) {
            return Err(StoreError::invalid_input(
                "token expiry",
                "must be in the future",
            ));
        }
        let body = random_url_safe(32);
        let token_prefix = format!(
            "{API_TOKEN_PREFIX}{}",
            body.get(..VISIBLE_PREFIX_CHARS).unwrap_or_default()
        );
        let token = SecretToken::new(format!("{API_TOKEN_PREFIX}{body}"));
        let api_token = ApiToken {
            id: ApiTokenId::generate(),
            organization_id,
            name: name.to_owned(),
            token_prefix,
            created_by,
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        on_pool!(self.store.writer(ChangeDomain::Access), executor => {
            sqlx::query(
                "INSERT INTO api_tokens (id, organization_id, name, token_prefix, token_hash, \
                 created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(api_token.id)
            .bind(api_token.organization_id)
            .bind(&api_token.name)
            .bind(&api_token.token_prefix)
            .bind(token_hash(token.expose()))
            .bind(api_token.created_by)
            .bind(api_token.created_at)
            .bind(api_token.expires_at)
            .execute(executor)
            .await
            .map(|done| done.rows_affected())
        })
        .map_err(|error| match StoreError::from_sqlx("API token", error) {
            StoreError::NotFound { .. } => StoreError::NotFound {
                entity: "organization or user",
            },
            other => other,
        })?;
        Ok(IssuedApiToken { token, api_token })
    }

    /// The token's record when `token` is a live token (not revoked, not expired at `now`).
    /// The caller then acts within `organization_id` of the result only. Updates
    /// `last_used_at` when older than [`LAST_USED_GRANULARITY`].
    pub async fn authenticate(
        self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ApiToken>, StoreError> {
        if !token.starts_with(API_TOKEN_PREFIX) {
            return Ok(None);
        }
        let now = clock::normalize(now);
        let found = on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, ApiToken>(
                "SELECT id, organization_id, name, token_prefix, created_by, created_at, expires_at, \
                 last_used_at, revoked_at FROM api_tokens \
                 WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
            )
            .bind(token_hash(token))
            .bind(now)
            .fetch_optional(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("API token", error))?;
        let Some(mut api_token) = found else {
            return Ok(None);
        };
        let stale = api_token
            .last_used_at
            .is_none_or(|last_used_at| now - last_used_at >= LAST_USED_GRANULARITY);
        if stale {
            // Bookkeeping only: no cached verification result depends on it.
            on_pool!(self.store.writer_without_change(), executor => {
                sqlx::query(
                    "UPDATE api_tokens SET last_used_at = $2 \
                     WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
                )
                .bind(api_token.id)
                .bind(now)
                .bind(now - LAST_USED_GRANULARITY)
                .execute(executor)
                .await
                .map(|done| done.rows_affected())
            })
            .map_err(|error| StoreError::from_sqlx("API token", error))?;
            api_token.last_used_at = Some(now);
        }
        Ok(Some(api_token))
    }

    /// The organization's tokens (revoked ones included), newest first.
    pub async fn list(self, organization_id: OrganizationId) -> Result<Vec<ApiToken>, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, ApiToken>(
                "SELECT id, organization_id, name, token_prefix, created_by, created_at, expires_at, \
                 last_used_at, revoked_at FROM api_tokens WHERE organization_id = $1 ORDER BY id DESC",
            )
            .bind(organization_id)
            .fetch_all(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("API token", error))
    }

    /// One of the organization's tokens; [`StoreError::NotFound`] when it belongs to another.
    pub async fn get(
        self,
        organization_id: OrganizationId,
        id: ApiTokenId,
    ) -> Result<ApiToken, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, ApiToken>(
                "SELECT id, organization_id, name, token_prefix, created_by, created_at, expires_at, \
                 last_used_at, revoked_at FROM api_tokens WHERE organization_id = $1 AND id = $2",
            )
            .bind(organization_id)
            .bind(id)
            .fetch_optional(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("API token", error))?
        .ok_or(StoreError::NotFound {
            entity: "API token",
        })
    }

    /// Revokes one of the organization's tokens (idempotent: revoking twice keeps the first
    /// revocation time). [`StoreError::NotFound`] when it belongs to another organization.
    pub async fn revoke(
        self,
        organization_id: OrganizationId,
        id: ApiTokenId,
    ) -> Result<ApiToken, StoreError> {
        on_pool!(self.store.writer(ChangeDomain::Access), executor => {
            sqlx::query_as::<_, ApiToken>(
                "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3) \
                 WHERE organization_id = $1 AND id = $2 \
                 RETURNING id, organization_id, name, token_prefix, created_by, created_at, \
                 expires_at, last_used_at, revoked_at",
            )
            .bind(organization_id)
            .bind(id)
            .bind(clock::now())
            .fetch_optional(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("API token", error))?
        .ok_or(StoreError::NotFound {
            entity: "API token",
        })
    }
}

fn validate_token_name(name: &str) -> Result<&str, StoreError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::invalid_input("token name", "must not be empty"));
    }
    if name.chars().count() > MAX_TOKEN_NAME_CHARS {
        return Err(StoreError::invalid_input(
            "token name",
            format!("must be at most {MAX_TOKEN_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::invalid_input(
            "token name",
            "must not contain control characters",
        ));
    }
    Ok(name)
}
