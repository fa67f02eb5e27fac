//! The audit log: who did what to which target, when, with JSON details. Entries are
//! append-only and outlive what they describe. Detail values under keys that name secrets
//! (`password`, `secret`, `token`, `api_key`, `authorization`, ...) are replaced with
//! `"[redacted]"` before storage, as a last line of defence: callers should not pass them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::db::{WriteTransaction, on_pool, on_transaction};
use crate::error::StoreError;
use crate::ids::{ApiTokenId, AuditEntryId, OrganizationId, UserId};
use crate::read_cache::ChangeDomain;
use crate::{Store, clock};

/// Most entries returned by one list call.
pub const MAX_AUDIT_PAGE: u32 = 500;

/// Who did it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// A signed-in console user.
    User(UserId),
    /// A program using an API token.
    ApiToken(ApiTokenId),
    /// The operator through `trestle admin` on the server machine.
    Operator,
    /// Trestle itself (first-run setup, background jobs).
    System,
}

impl Actor {
    pub(crate) fn to_columns(self) -> (&'static str, Option<String>) {
        match self {
            Actor::User(id) => ("user", Some(id.to_string())),
            Actor::ApiToken(id) => ("api_token", Some(id.to_string())),
            Actor::Operator => ("operator", None),
            Actor::System => ("system", None),
        }
    }

    pub(crate) fn from_columns(kind: &str, id: Option<&str>) -> Result<Actor, StoreError> {
        let corrupt = || StoreError::CorruptData {
            message: format!("audit entry has an unknown actor kind {kind:?}"),
        };
        match (kind, id) {
            ("user", Some(id)) => Ok(Actor::User(id.parse().map_err(|_| corrupt())?)),
            ("api_token", Some(id)) => Ok(Actor::ApiToken(id.parse().map_err(|_| corrupt())?)),
            ("operator", _) => Ok(Actor::Operator),
            ("system", _) => Ok(Actor::System),
            _ => Err(corrupt()),
        }
    }
}

/// What [`Audit::record`] stores.
#[derive(Clone, Debug)]
pub struct NewAuditEntry<'a> {
    pub actor: Actor,
    /// The organization affected; `None` for platform-level actions (creating organizations,
    /// operator password resets).
    pub organization_id: Option<OrganizationId>,
    /// A stable dotted verb, for example `user.created`, `api_token.revoked`, `login.failed`.
    pub action: &'a str,
    /// The kind of the target, for example `user`, `api_token`, `connection`.
    pub target_kind: Option<&'a str>,
    pub target_id: Option<String>,
    /// Extra facts (never secrets). `Value::Null` when there are none.
    pub details: Value,
}

/// A stored audit entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: AuditEntryId,
    pub occurred_at: DateTime<Utc>,
    pub actor: Actor,
    pub organization_id: Option<OrganizationId>,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub details: Value,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: AuditEntryId,
    occurred_at: DateTime<Utc>,
    organization_id: Option<OrganizationId>,
    actor_kind: String,
    actor_id: Option<String>,
    action: String,
    target_kind: Option<String>,
    target_id: Option<String>,
    details: sqlx::types::Json<Value>,
}

impl AuditRow {
    fn into_entry(self) -> Result<AuditEntry, StoreError> {
        Ok(AuditEntry {
            id: self.id,
            occurred_at: self.occurred_at,
            actor: Actor::from_columns(&self.actor_kind, self.actor_id.as_deref())?,
            organization_id: self.organization_id,
            action: self.action,
            target_kind: self.target_kind,
            target_id: self.target_id,
            details: self.details.0,
        })
    }
}

/// The audit log; get it with [`Store::audit`].
#[derive(Clone, Copy)]
pub struct Audit<'s> {
    store: &'s Store,
}

impl Store {
    /// The audit log.
    pub fn audit(&self) -> Audit<'_> {
        Audit { store: self }
    }
}

const INSERT_AUDIT_ENTRY: &str = "INSERT INTO audit_log (id, occurred_at, organization_id, \
     actor_kind, actor_id, action, target_kind, target_id, details) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

impl Audit<'_> {
    /// Appends an entry.
    pub async fn record(self, entry: &NewAuditEntry<'_>) -> Result<AuditEntry, StoreError> {
        let stored = prepare(entry)?;
        let (actor_kind, actor_id) = stored.actor.to_columns();
        on_pool!(self.store.writer(ChangeDomain::Other), executor => {
            sqlx::query(INSERT_AUDIT_ENTRY)
                .bind(stored.id)
                .bind(stored.occurred_at)
                .bind(stored.organization_id)
                .bind(actor_kind)
                .bind(actor_id.as_deref())
                .bind(&stored.action)
                .bind(stored.target_kind.as_deref())
                .bind(stored.target_id.as_deref())
                .bind(sqlx::types::Json(&stored.details))
                .execute(executor)
                .await.map(|done| done.rows_affected())
        })
        .map_err(|error| StoreError::from_sqlx("audit entry", error))?;
        Ok(stored)
    }

    /// Appends an entry inside a transaction, so it commits (or not) with the change it
    /// describes.
    pub async fn record_in(
        self,
        transaction: &mut WriteTransaction,
        entry: &NewAuditEntry<'_>,
    ) -> Result<AuditEntry, StoreError> {
        record_audit_entry_in(transaction, entry).await
    }

    /// The organization's entries, newest first, `limit` at most (capped at
    /// [`MAX_AUDIT_PAGE`]), older than `before` when given (pass the last id of the previous
    /// page).
    pub async fn list_for_organization(
        self,
        organization_id: OrganizationId,
        before: Option<AuditEntryId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = i64::from(limit.clamp(1, MAX_AUDIT_PAGE));
        let rows = on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, AuditRow>(
                "SELECT id, occurred_at, organization_id, actor_kind, actor_id, action, target_kind, \
                 target_id, details FROM audit_log \
                 WHERE organization_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
            )
            .bind(organization_id)
            .bind(before)
            .bind(limit)
            .fetch_all(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("audit entry", error))?;
        rows.into_iter().map(AuditRow::into_entry).collect()
    }

    /// Platform-level entries (no organization), newest first. For the operator only.
    pub async fn list_platform(
        self,
        before: Option<AuditEntryId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = i64::from(limit.clamp(1, MAX_AUDIT_PAGE));
        let rows = on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, AuditRow>(
                "SELECT id, occurred_at, organization_id, actor_kind, actor_id, action, target_kind, \
                 target_id, details FROM audit_log \
                 WHERE organization_id IS NULL AND ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
            )
            .bind(before)
            .bind(limit)
            .fetch_all(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("audit entry", error))?;
        rows.into_iter().map(AuditRow::into_entry).collect()
    }
}

/// Appends an audit entry inside `transaction`.
pub(crate) async fn record_audit_entry_in(
    transaction: &mut WriteTransaction,
    entry: &NewAuditEntry<'_>,
) -> Result<AuditEntry, StoreError> {
    let stored = prepare(entry)?;
    let (actor_kind, actor_id) = stored.actor.to_columns();
    on_transaction!(transaction, executor => {
        sqlx::query(INSERT_AUDIT_ENTRY)
            .bind(stored.id)
            .bind(stored.occurred_at)
            .bind(stored.organization_id)
            .bind(actor_kind)
            .bind(actor_id.as_deref())
            .bind(&stored.action)
            .bind(stored.target_kind.as_deref())
            .bind(stored.target_id.as_deref())
            .bind(sqlx::types::Json(&stored.details))
            .execute(&mut *executor)
            .await
            .map(|done| done.rows_affected())
    })
    .map_err(|error| StoreError::from_sqlx("audit entry", error))?;
    Ok(stored)
}

fn prepare(entry: &NewAuditEntry<'_>) -> Result<AuditEntry, StoreError> {
    let action = entry.action.trim();
    if action.is_empty() || action.len() > 100 {
        return Err(StoreError::invalid_input(
            "audit action",
            "must be 1 to 100 bytes, for example user.created",
        ));
    }
    let mut details = entry.details.clone();
    redact_secrets(&mut details);
    Ok(AuditEntry {
        id: AuditEntryId::generate(),
        occurred_at: clock::now(),
        actor: entry.actor,
        organization_id: entry.organization_id,
        action: action.to_owned(),
        target_kind: entry.target_kind.map(str::to_owned),
        target_id: entry.target_id.clone(),
        details,
    })
}

/// Replaces the value of every object key that names a secret, at any depth.
fn redact_secrets(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if names_a_secret(key) {
                    *value = Value::String("[redacted]".to_owned());
                } else {
                    redact_secrets(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_secrets),
        _ => {}
    }
}

fn names_a_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    // Ids, prefixes, names and counts of secrets are fine to record.
    let harmless_suffix = ["_id", "_prefix", "_name", "_count", "_kind"]
        .iter()
        .any(|suffix| key.ends_with(suffix));
    if harmless_suffix {
        return false;
    }
    key.contains("password")
        || key.contains("secret")
        || key.ends_with("token")
        || key.contains("api_key")
        || key.contains("apikey")
        || key == "authorization"
        || key == "cookie"
        || key == "code_verifier"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let mut details = serde_json::json!({
            "email": "ada@example.com",
            "password": "hunter2hunter2",
            "nested": [{"refresh_token": "r", "token_prefix": "trestle_ab", "client_secret": "s"}],
            "token_id": "0190",
        });
        redact_secrets(&mut details);
        assert_eq!(
            details,
            serde_json::json!({
                "email": "ada@example.com",
                "password": "[redacted]",
                "nested": [{"refresh_token": "[redacted]", "token_prefix": "trestle_ab", "client_secret": "[redacted]"}],
                "token_id": "0190",
            })
        );
    }

    #[test]
    fn actors_round_trip_through_columns() {
        let user = Actor::User(UserId::generate());
        for actor in [user, Actor::Operator, Actor::System] {
            let (kind, id) = actor.to_columns();
            assert_eq!(Actor::from_columns(kind, id.as_deref()).unwrap(), actor);
        }
        assert!(Actor::from_columns("robot", None).is_err());
    }
}
