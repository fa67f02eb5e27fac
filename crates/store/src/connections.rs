//! Connections: rows only, no policy (the `trestle-connections` crate owns the rules).
//!
//! - `connections`: one per organization and link name (`<namespace>__<name>`).
//! - `connection_environments`: per environment (production, sandbox) the status, granted
//!   scopes, captured values (Zoho `api_domain`...), expiry, encrypted credentials and the
//!   refresh lease. `credentials_version` grows with every credential write, so a refresher can
//!   tell whether someone else refreshed while it waited.
//! - `connection_events`: what happened to a connection (authorized, refreshed, needs
//!   reauthorization, revoked); kept after the connection is deleted.
//! - `oauth_authorizations`: pending authorization-code flows, keyed by the SHA-256 of `state`.
//!
//! Ciphertexts are opaque bytes here; the caller encrypts with the row identity as associated
//! data ([`credentials_associated_data`], [`client_secret_associated_data`]).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::db::{on_pool, on_transaction};
use crate::environments::EnvironmentKind;
use crate::error::StoreError;
use crate::ids::OrganizationId;
use crate::read_cache::ChangeDomain;
use crate::{Store, clock};

/// Id of a connection (UUIDv7, stored as text).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ConnectionId(Uuid);

impl ConnectionId {
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    fn as_text(&self) -> uuid::fmt::Hyphenated {
        self.0.hyphenated()
    }

    fn parse_text(text: &str) -> Result<Self, StoreError> {
        text.parse()
    }
}

impl FromStr for ConnectionId {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Uuid::try_parse(text)
            .map(Self)
            .map_err(|_| StoreError::InvalidId {
                entity: "connection",
            })
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), formatter)
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "ConnectionId({})", self.0.hyphenated())
    }
}

crate::ids::text_column!(ConnectionId);

/// Status of a connection in one environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    NotAuthorized,
    Active,
    Refreshing,
    NeedsReauthorization,
    Revoked,
    Error,
}

impl ConnectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::NotAuthorized => "not_authorized",
            ConnectionStatus::Active => "active",
            ConnectionStatus::Refreshing => "refreshing",
            ConnectionStatus::NeedsReauthorization => "needs_reauthorization",
            ConnectionStatus::Revoked => "revoked",
            ConnectionStatus::Error => "error",
        }
    }

    fn as_text(&self) -> &'static str {
        self.as_str()
    }

    fn parse_text(text: &str) -> Result<Self, StoreError> {
        text.parse()
    }
}

impl FromStr for ConnectionStatus {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "not_authorized" => ConnectionStatus::NotAuthorized,
            "active" => ConnectionStatus::Active,
            "refreshing" => ConnectionStatus::Refreshing,
            "needs_reauthorization" => ConnectionStatus::NeedsReauthorization,
            "revoked" => ConnectionStatus::Revoked,
            "error" => ConnectionStatus::Error,
            _ => {
                return Err(StoreError::CorruptData {
                    message: format!("unknown connection status {text:?}"),
                });
            }
        })
    }
}

impl fmt::Display for ConnectionStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

crate::ids::text_column!(ConnectionStatus);

/// Associated data binding an environment's credentials ciphertext to its row.
pub fn credentials_associated_data(
    connection_id: ConnectionId,
    environment: EnvironmentKind,
) -> String {
    format!("connection_environments/{connection_id}/{environment}/credentials")
}

/// Associated data binding a connection's OAuth client secret ciphertext to its row.
pub fn client_secret_associated_data(connection_id: ConnectionId) -> String {
    format!("connections/{connection_id}/oauth_client_secret")
}

/// Associated data binding a pending authorization's PKCE verifier to its row.
pub fn code_verifier_associated_data(state_hash: &str) -> String {
    format!("oauth_authorizations/{state_hash}/code_verifier")
}

/// A connection row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ConnectionRecord {
    pub id: ConnectionId,
    pub organization_id: OrganizationId,
    pub namespace: String,
    pub name: String,
    pub link_name: String,
    pub service_key: String,
    /// JSON array of scope strings.
    pub requested_scopes: String,
    /// JSON object of setting values.
    pub settings: String,
    pub oauth_client_id: Option<String>,
    /// Ciphertext (see [`client_secret_associated_data`]).
    pub oauth_client_secret: Option<Vec<u8>>,
    pub link_name_locked: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One environment of a connection.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ConnectionEnvironmentRecord {
    pub connection_id: ConnectionId,
    pub organization_id: OrganizationId,
    pub environment: EnvironmentKind,
    pub status: ConnectionStatus,
    /// JSON array.
    pub granted_scopes: String,
    /// JSON object of values captured during authorization.
    pub captured_values: String,
    /// Ciphertext (see [`credentials_associated_data`]).
    pub credentials: Option<Vec<u8>>,
    pub credentials_version: i64,
    pub expires_at: Option<DateTime<Utc>>,
    pub authorized_at: Option<DateTime<Utc>>,
    pub last_refresh_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub refresh_lease_holder: Option<String>,
    pub refresh_lease_until: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// What [`Connections::create`] inserts.
#[derive(Clone, Debug)]
pub struct NewConnection {
    pub id: ConnectionId,
    pub organization_id: OrganizationId,
    pub namespace: String,
    pub name: String,
    pub link_name: String,
    pub service_key: String,
    pub requested_scopes: String,
    pub settings: String,
    pub oauth_client_id: Option<String>,
    pub oauth_client_secret: Option<Vec<u8>>,
}

/// Changes to a connection; `None` keeps a value.
#[derive(Clone, Debug, Default)]
pub struct ConnectionChanges {
    pub name: Option<String>,
    pub link_name: Option<String>,
    pub requested_scopes: Option<String>,
    pub settings: Option<String>,
    pub oauth_client_id: Option<Option<String>>,
    pub oauth_client_secret: Option<Option<Vec<u8>>>,
}

/// Credentials written after an authorization or refresh.
#[derive(Clone, Debug)]
pub struct CredentialWrite {
    pub status: ConnectionStatus,
    pub credentials: Vec<u8>,
    pub granted_scopes: String,
    pub captured_values: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A connection event row.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct ConnectionEventRecord {
    pub id: String,
    pub organization_id: OrganizationId,
    pub connection_id: ConnectionId,
    pub link_name: String,
    pub environment: Option<EnvironmentKind>,
    pub kind: String,
    /// JSON object (never secrets).
    pub detail: String,
    pub occurred_at: DateTime<Utc>,
}

/// A pending authorization-code flow.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OAuthAuthorizationRecord {
    pub state_hash: String,
    pub launch_token_hash: String,
    pub browser_binding_hash: Option<String>,
    pub organization_id: OrganizationId,
    pub connection_id: ConnectionId,
    pub environment: EnvironmentKind,
    pub service_key: String,
    /// The provider URL the browser is sent to (contains `state`; only handed out once, at launch).
    pub authorize_url: String,
    /// The token endpoint recorded when the flow started.
    pub token_url: String,
    pub redirect_uri: String,
    /// Ciphertext (see [`code_verifier_associated_data`]).
    pub code_verifier: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub launched_at: Option<DateTime<Utc>>,
    pub consumed_at: Option<DateTime<Utc>>,
}

/// One ciphertext for key rotation: which table, which row, and its associated data.
#[derive(Clone, Debug)]
pub struct StoredCiphertext {
    pub location: CiphertextLocation,
    pub associated_data: String,
    pub ciphertext: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CiphertextLocation {
    CustomService {
        organization_id: OrganizationId,
        service_key: String,
        /// `client_id` or `client_secret`.
        field: &'static str,
    },
    ClientSecret {
        connection_id: ConnectionId,
    },
    Credentials {
        connection_id: ConnectionId,
        environment: EnvironmentKind,
    },
}

/// (organization, service key, client id ciphertext, client secret ciphertext).
type CustomServiceCiphertexts = (OrganizationId, String, Option<Vec<u8>>, Option<Vec<u8>>);

/// Connection queries; get it with [`Store::connections`].
pub struct Connections<'s> {
    store: &'s Store,
}

impl Store {
    /// Connections, their per-environment state, events and pending authorizations.
    pub fn connections(&self) -> Connections<'_> {
        Connections { store: self }
    }
}

macro_rules! connection_columns {
    () => {
        "id, organization_id, namespace, name, link_name, service_key, requested_scopes, \
     settings, oauth_client_id, oauth_client_secret, link_name_locked, created_at, updated_at"
    };
}
macro_rules! environment_columns {
    () => {
        "connection_id, organization_id, environment, status, granted_scopes, captured_values, \
     credentials, credentials_version, expires_at, authorized_at, last_refresh_at, last_error, last_error_at, \
     refresh_lease_holder, refresh_lease_until, updated_at"
    };
}
macro_rules! authorization_columns {
    () => {
        "state_hash, launch_token_hash, browser_binding_hash, organization_id, connection_id, \
     environment, service_key, authorize_url, token_url, redirect_uri, code_verifier, created_at, expires_at, \
     launched_at, consumed_at"
    };
}

fn db_error(entity: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |error| StoreError::from_sqlx(entity, error)
}

/// A row type read the same way from either backend.
trait BackendRow:
    for<'row> sqlx::FromRow<'row, sqlx::sqlite::SqliteRow>
    + for<'row> sqlx::FromRow<'row, sqlx::postgres::PgRow>
    + Send
    + Unpin
{
}

impl<Row> BackendRow for Row where
    Row: for<'row> sqlx::FromRow<'row, sqlx::sqlite::SqliteRow>
        + for<'row> sqlx::FromRow<'row, sqlx::postgres::PgRow>
        + Send
        + Unpin
{
}

impl Connections<'_> {
    /// One row of an organization found by a text key: `sql` binds the organization as `$1`
    /// and the key as `$2`.
    async fn row_by_key<Row: BackendRow>(
        &self,
        sql: &'static str,
        organization_id: OrganizationId,
        key: &str,
        entity: &'static str,
    ) -> Result<Option<Row>, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, Row>(sql).bind(organization_id).bind(key).fetch_optional(executor).await
        })
        .map_err(db_error(entity))
    }

    /// Every row of an organization: `sql` binds the organization as `$1`.
    async fn organization_rows<Row: BackendRow>(
        &self,
        sql: &'static str,
        organization_id: OrganizationId,
        entity: &'static str,
    ) -> Result<Vec<Row>, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, Row>(sql).bind(organization_id).fetch_all(executor).await
        })
        .map_err(db_error(entity))
    }
}

impl Connections<'_> {
    /// Inserts a connection and its two environments (both `not_authorized`).
    pub async fn create(&self, new: NewConnection) -> Result<ConnectionRecord, StoreError> {
        let now = clock::now();
        let mut transaction = self.store.begin_write_in(ChangeDomain::Connections).await?;
        on_transaction!(transaction, executor => {
            async {
            sqlx::query(
                "INSERT INTO connections (id, organization_id, namespace, name, link_name, service_key, \
                 requested_scopes, settings, oauth_client_id, oauth_client_secret, link_name_locked, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
            )
            .bind(new.id)
            .bind(new.organization_id)
            .bind(&new.namespace)
            .bind(&new.name)
            .bind(&new.link_name)
            .bind(&new.service_key)
            .bind(&new.requested_scopes)
            .bind(&new.settings)
            .bind(&new.oauth_client_id)
            .bind(&new.oauth_client_secret)
            .bind(false)
            .bind(now)
            .execute(&mut *executor)
            .await.map(|done| done.rows_affected())?;
            for environment in EnvironmentKind::ALL {
                sqlx::query(
                    "INSERT INTO connection_environments (connection_id, organization_id, environment, status, updated_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(new.id)
                .bind(new.organization_id)
                .bind(environment)
                .bind(ConnectionStatus::NotAuthorized)
                .bind(now)
                .execute(&mut *executor)
                .await.map(|done| done.rows_affected())?;
            }
            Ok::<(), sqlx::Error>(())
            }.await
        })
        .map_err(db_error("connection"))?;
        transaction.commit().await?;
        self.get(new.organization_id, new.id).await
    }

    pub async fn get(
        &self,
        organization_id: OrganizationId,
        id: ConnectionId,
    ) -> Result<ConnectionRecord, StoreError> {
        let sql: &str = concat!(
            "SELECT ",
            connection_columns!(),
            " FROM connections WHERE organization_id = $1 AND id = $2"
        );
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, ConnectionRecord>(sql).bind(organization_id).bind(id).fetch_optional(executor).await
        })
        .map_err(db_error("connection"))?
        .ok_or(StoreError::NotFound { entity: "connection" })
    }

    /// The connection with this link name, or `None`.
    pub async fn find_by_link_name(
        &self,
        organization_id: OrganizationId,
        link_name: &str,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        let sql: &str = concat!(
            "SELECT ",
            connection_columns!(),
            " FROM connections WHERE organization_id = $1 AND link_name = $2"
        );
        self.row_by_key(sql, organization_id, link_name, "connection")
            .await
    }

    /// Every connection of the organization, by link name.
    pub async fn list(
        &self,
        organization_id: OrganizationId,
    ) -> Result<Vec<ConnectionRecord>, StoreError> {
        let sql: &str = concat!(
            "SELECT ",
            connection_columns!(),
            " FROM connections WHERE organization_id = $1 ORDER BY link_name"
        );
        self.organization_rows(sql, organization_id, "connection")
            .await
    }

    /// Applies changes. A link name change is refused once the link name is locked (the
    /// connection was authorized), checked in the same statement.
    pub async fn update(
        &self,
        organization_id: OrganizationId,
        id: ConnectionId,
        changes: ConnectionChanges,
    ) -> Result<ConnectionRecord, StoreError> {
        let current = self.get(organization_id, id).await?;
        if let Some(link_name) = &changes.link_name
            && link_name != &current.link_name
            && current.link_name_locked
        {
            return Err(StoreError::Conflict {
                message: "the link name cannot change after the connection has been authorized"
                    .to_owned(),
            });
        }
        let name = changes.name.unwrap_or(current.name);
        let link_name = changes.link_name.unwrap_or(current.link_name.clone());
        let requested_scopes = changes.requested_scopes.unwrap_or(current.requested_scopes);
        let settings = changes.settings.unwrap_or(current.settings);
        let client_id = changes.oauth_client_id.unwrap_or(current.oauth_client_id);
        let client_secret = changes
            .oauth_client_secret
            .unwrap_or(current.oauth_client_secret);
        let now = clock::now();
        let result = on_pool!(self.store.writer(ChangeDomain::Connections), executor => {
            sqlx::query(
                "UPDATE connections SET name = $3, link_name = $4, requested_scopes = $5, settings = $6, \
                 oauth_client_id = $7, oauth_client_secret = $8, updated_at = $9 \
                 WHERE organization_id = $1 AND id = $2 AND (link_name = $4 OR link_name_locked = $10)",
            )
            .bind(organization_id)
            .bind(id)
            .bind(&name)
            .bind(&link_name)
            .bind(&requested_scopes)
            .bind(&settings)
            .bind(&client_id)
            .bind(&client_secret)
            .bind(now)
            .bind(false)
            .execute(executor)
            .await.map(|done| done.rows_affected())
        })
        .map_err(db_error("connection"))?;
        if result == 0 {
            return Err(StoreError::Conflict {
                message:
                    "the connection changed concurrently or its link name is locked; read it again"
                        .to_owned(),
            });
        }
        self.get(organization_id, id).await
    }

    /// Deletes the connection, its environments and pending authorizations (events stay).
    pub async fn delete(
        &self,
        organization_id: OrganizationId,
        id: ConnectionId,
    ) -> Result<(), StoreError> {
        let result = on_pool!(self.store.writer(ChangeDomain::Connections), executor => {
            sqlx::query("DELETE FROM connections WHERE organization_id = $1 AND id = $2")
                .bind(organization_id)
                .bind(id)
                .execute(executor)
                .await.map(|done| done.rows_affected())
        })
        .map_err(db_error("connection"))?;
        if result == 0 {
            return Err(StoreError::NotFound {
                entity: "connection",
            });
        }
        Ok(())
    }

    /// Both environments of a connection, production first.
    pub async fn environments(
        &self,
        organization_id: OrganizationId,
        id: ConnectionId,
    ) -> Result<Vec<ConnectionEnvironmentRecord>, StoreError> {
        let sql: &str = concat!(
            "SELECT ",
            environment_columns!(),
            " FROM connection_environments WHERE organization_id = $1 AND connection_id = $2"
        );
        let mut rows = on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, ConnectionEnvironmentRecord>(sql).bind(organization_id).bind(id).fetch_all(executor).await
        })
        .map_err(db_error("connection environment"))?;
        rows.sort_by_key(|row| row.environment);
        Ok(rows)
    }

    /// One environment of a connection. Reads from the writer on SQLite so a refresher sees
    /// what another task just committed.
    pub async fn environment(
        &self,
        organization_id: OrganizationId,
        id: ConnectionId,
        environment: EnvironmentKind,
    ) -> Result<ConnectionEnvironmentRecord, StoreError> {
        let sql: &str = concat!(
            "SELECT ",
            environment_columns!(),
            " FROM connection_environments \
             WHERE organization_id = $1 AND connection_id = $2 AND environment = $3"
        );
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, ConnectionEnvironmentRecord>(sql)
                .bind(organization_id)
                .bind(id)
                .bind(environment)
                .fetch_optional(executor)
                .await
        })
        .map_err(db_error("connection environment"))?
        .ok_or(StoreError::NotFound {
            entity: "connection environment",
        })
    }

    /// Stores new credentials after an authorization (any lease is ignored and cleared, and the
    /// link name is locked: scripts may now refer to it).
    pub async fn store_authorization(
        &self,
        organization_id: OrganizationId,
        id: ConnectionId,
        environment: EnvironmentKind,
        write: CredentialWrite,
    ) -> Result<(), StoreError> {
        let now = clock::now();
        let mut transaction = self.store.begin_write_in(ChangeDomain::Connections).await?;
        on_transaction!(transaction, executor => {
            async {
            sqlx::query(
                "UPDATE connection_environments SET status = $4, credentials = $5, granted_scopes = $6, \
                 captured_values = $7, expires_at = $8, authorized_at = $9, last_refresh_at = NULL, last_error = NULL, \
                 last_error_at = NULL, refresh_lease_holder = NULL, refresh_lease_until = NULL, \
                 credentials_version = credentials_version + 1, updated_at = $9 \
                 WHERE organization_id = $1 AND connection_id = $2 AND environment = $3",
            )
            .bind(organization_id)
            .bind(id)
            .bind(environment)
            .bind(write.status)
            .bind(&write.credentials)
            .bind(&write.granted_scopes)
            .bind(&write.captured_values)
            .bind(write.expires_at.map(clock::normalize))
            .bind(now)
            .execute(&mut *executor)
            .await.map(|done| done.rows_affected())?;
            sqlx::query("UPDATE connections SET link_name_locked = $3, updated_at = $4 WHERE organization_id = $1 AND id = $2")
                .bind(organization_id)
                .bind(id)
                .bind(true)
                .bind(now)
                .execute(&mut *executor)
                .await.map(|done| done.rows_affected())?;
            Ok::<(), sqlx::Error>(())
            }.await
        })
        .map_err(db_error("connection environment"))?;
        transaction.commit().await
    }

    /// Stores refreshed credentials, only while `lease_holder` still holds the refresh lease.
    /// Returns false when the lease was lost (nothing written).
    pub async fn store_refresh(
        &self,
        organization_id: OrganizationId,
        id: ConnectionId,
        environment: EnvironmentKind,
        lease_holder: &str,
        write: CredentialWrite,
    ) -> Result<bool, StoreError> {
        let now = clock::now();
        let result = on_pool!(self.store.writer(ChangeDomain::Connections), executor => {
            sqlx::query(
                "UPDATE connection_environments SET status = $5, credentials = $6, granted_scopes = $7, \
                 captured_values = $8, expires_at = $9, last_refresh_at = $10, last_error = NULL, last_error_at = NULL, \
                 credentials_version = credentials_version + 1, updated_at = $10 \
                 WHERE organization_id = $1 AND connection_id = $2 AND environment = $3 AND refresh_lease_holder = $4",
            )
            .bind(organization_id)
            .bind(id)
            .bind(environment)
            .bind(lease_holder)
            .bind(write.status)
            .bind(&write.credentials)
            .bind(&write.granted_scopes)
            .bind(&write.captured_values)
            .bind(write.expires_at.map(clock::normalize))
            .bind(now)
            .execute(executor)
            .await.map(|done| done.rows_affected())
        })
        .map_err(db_error("connection environment"))?;
        Ok(result == 1)
    }

    /// Sets the status and last error (`None` clears it). Credentials are kept unless
    /// `clear_credentials`.
    pub async fn set_status(
        &self,
        organization_id: OrganizationId,
        id: ConnectionId,
        environment: EnvironmentKind,
        status: ConnectionStatus,
        last_error: Option<&str>,
        clear_credentials: bool,
    ) -> Result<(), StoreError> {
        let now = clock::now();
        let sql = if clear_credentials {
            "UPDATE connection_environments SET status = $4, last_error = $5, last_error_at = $6, updated_at = $7, \
             credentials = NULL, expires_at = NULL, credentials_version = credentials_version + 1 \
             WHERE organization_id = $1 AND connection_id = $2 AND environment = $3"
        } else {
            "UPDATE connection_environments SET status = $4, last_error = $5, last_error_at = $6, updated_at = $7 \
             WHERE organization_id = $1 AND connection_id = $2 AND environment = $3"
        };
        let error_at = last_error.map(|_| now);
        let result = on_pool!(self.store.writer(ChangeDomain::Connections), executor => {
            sqlx::query(sql)
                .bind(organization_id)
                .bind(id)
                .bind(environment)
                .bind(status)
                .bind(last_error)
                .bind(error_at)
                .bind(now)
                .execute(executor)
                .await.map(|done| done.rows_affected())
        })
        .map_err(db_error("connection environment"))?;
        if result == 0 {
            return Err(StoreError::NotFound {
                entity: "connection environment",
            });
        }
        Ok(())
    }

    /// Records a refresh failure that leaves the status as it is (transient errors).
    pub async fn record_error(
        &self,
        organization_id: OrganizationId,
        id: ConnectionId,
        environment: EnvironmentKind,
        last_error: &str,
    ) -> Result<(), StoreError> {
        let now = clock::now();
        on_pool!(self.store.writer(ChangeDomain::Connections), executor => {
            sqlx::query(
                "UPDATE connection_environments SET last_error = $4, last_error_at = $5, updated_at = $5 \
                 WHERE organization_id = $1 AND connection_id = $2 AND environment = $3",
            )
            .bind(organization_id)
            .bind(id)
            .bind(environment)
            .bind(last_error)
            .bind(now)
            .execute(executor)
            .await.map(|done| done.rows_affected())
        })
        .map_err(db_error("connection environment"))?;
        Ok(())
    }

    /// Compare-and-set on the refresh lease: takes it when it is free or expired (or already
    /// ours). True when `holder` now holds it until `until`.
    pub async fn try_acquire_refresh_lease(
        &self,
        organization_id: OrganizationId,
        id: ConnectionId,
        environment: EnvironmentKind,
        holder: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let now = clock::now();
        let result = on_pool!(self.store.writer(ChangeDomain::Connections), executor => {
            sqlx::query(
                "UPDATE connection_environments SET refresh_lease_holder = $4, refresh_lease_until = $5 \
                 WHERE organization_id = $1 AND connection_id = $2 AND environment = $3 \
                 AND (refresh_lease_holder IS NULL OR refresh_lease_until IS NULL OR refresh_lease_until < $6 \
                      OR refresh_lease_holder = $4)",
            )
            .bind(organization_id)
            .bind(id)
            .bind(environment)
            .bind(holder)
            .bind(clock::normalize(until))
            .bind(now)
            .execute(executor)
            .await.map(|done| done.rows_affected())
        })
        .map_err(db_error("connection environment"))?;
        Ok(result == 1)
    }

    /// Releases the lease if `holder` still holds it.
    pub async fn release_refresh_lease(
        &self,
        organization_id: OrganizationId,
        id: ConnectionId,
        environment: EnvironmentKind,
        holder: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self.store.writer(ChangeDomain::Connections), executor => {
            sqlx::query(
                "UPDATE connection_environments SET refresh_lease_holder = NULL, refresh_lease_until = NULL \
                 WHERE organization_id = $1 AND connection_id = $2 AND environment = $3 AND refresh_lease_holder = $4",
            )
            .bind(organization_id)
            .bind(id)
            .bind(environment)
            .bind(holder)
            .execute(executor)
            .await.map(|done| done.rows_affected())
        })
        .map_err(db_error("connection environment"))?;
        Ok(())
    }

    /// Appends an event. `detail` is a JSON object and must not contain secrets.
    pub async fn record_event(
        &self,
        organization_id: OrganizationId,
        connection_id: ConnectionId,
        link_name: &str,
        environment: Option<EnvironmentKind>,
        kind: &str,
        detail: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let now = clock::now();
        on_pool!(self.store.writer(ChangeDomain::Connections), executor => {
            sqlx::query(
                "INSERT INTO connection_events (id, organization_id, connection_id, link_name, environment, kind, detail, occurred_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(Uuid::now_v7().hyphenated().to_string())
            .bind(organization_id)
            .bind(connection_id)
            .bind(link_name)
            .bind(environment)
            .bind(kind)
            .bind(detail.to_string())
            .bind(now)
            .execute(executor)
            .await.map(|done| done.rows_affected())
        })
        .map_err(db_error("connection event"))?;
        Ok(())
    }

    /// Events of one connection, oldest first.
    pub async fn events(
        &self,
        organization_id: OrganizationId,
        connection_id: ConnectionId,
    ) -> Result<Vec<ConnectionEventRecord>, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, ConnectionEventRecord>(
                "SELECT id, organization_id, connection_id, link_name, environment, kind, detail, occurred_at \
                 FROM connection_events WHERE organization_id = $1 AND connection_id = $2 ORDER BY id",
            )
            .bind(organization_id)
            .bind(connection_id)
            .fetch_all(executor)
            .await
        })
        .map_err(db_error("connection event"))
    }

    /// Records a pending authorization.
    pub async fn insert_authorization(
        &self,
        record: &OAuthAuthorizationRecord,
    ) -> Result<(), StoreError> {
        on_pool!(self.store.writer(ChangeDomain::Connections), executor => {
            sqlx::query(
                "INSERT INTO oauth_authorizations (state_hash, launch_token_hash, browser_binding_hash, organization_id, \
                 connection_id, environment, service_key, authorize_url, token_url, redirect_uri, code_verifier, \
                 created_at, expires_at, launched_at, consumed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(&record.state_hash)
            .bind(&record.launch_token_hash)
            .bind(&record.browser_binding_hash)
            .bind(record.organization_id)
            .bind(record.connection_id)
            .bind(record.environment)
            .bind(&record.service_key)
            .bind(&record.authorize_url)
            .bind(&record.token_url)
            .bind(&record.redirect_uri)
            .bind(&record.code_verifier)
            .bind(clock::normalize(record.created_at))
            .bind(clock::normalize(record.expires_at))
            .bind(record.launched_at.map(clock::normalize))
            .bind(record.consumed_at.map(clock::normalize))
            .execute(executor)
            .await.map(|done| done.rows_affected())
        })
        .map_err(db_error("OAuth authorization"))?;
        Ok(())
    }

    /// Marks the authorization with this launch token as launched (once) and binds it to the
    /// browser; returns it. `None` when unknown or already launched.
    pub async fn launch_authorization(
        &self,
        launch_token_hash: &str,
        browser_binding_hash: &str,
    ) -> Result<Option<OAuthAuthorizationRecord>, StoreError> {
        let now = clock::now();
        let sql: &str = concat!(
            "UPDATE oauth_authorizations SET launched_at = $2, browser_binding_hash = $3 \
             WHERE launch_token_hash = $1 AND launched_at IS NULL AND consumed_at IS NULL RETURNING ",
            authorization_columns!(),
            ""
        );
        on_pool!(self.store.writer(ChangeDomain::Connections), executor => {
            sqlx::query_as::<_, OAuthAuthorizationRecord>(sql)
                .bind(launch_token_hash)
                .bind(now)
                .bind(browser_binding_hash)
                .fetch_optional(executor)
                .await
        })
        .map_err(db_error("OAuth authorization"))
    }

    /// Consumes the authorization with this state (once): the first caller gets it, every
    /// later caller `None`. Expiry is checked by the caller, which reports it distinctly.
    pub async fn consume_authorization(
        &self,
        state_hash: &str,
    ) -> Result<Option<OAuthAuthorizationRecord>, StoreError> {
        let now = clock::now();
        let sql: &str = concat!(
            "UPDATE oauth_authorizations SET consumed_at = $2 \
             WHERE state_hash = $1 AND consumed_at IS NULL RETURNING ",
            authorization_columns!(),
            ""
        );
        on_pool!(self.store.writer(ChangeDomain::Connections), executor => {
            sqlx::query_as::<_, OAuthAuthorizationRecord>(sql).bind(state_hash).bind(now).fetch_optional(executor).await
        })
        .map_err(db_error("OAuth authorization"))
    }

    /// Deletes pending authorizations that expired before `before`.
    pub async fn purge_authorizations(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let result = on_pool!(self.store.writer(ChangeDomain::Connections), executor => {
            sqlx::query("DELETE FROM oauth_authorizations WHERE expires_at < $1")
                .bind(clock::normalize(before))
                .execute(executor)
                .await.map(|done| done.rows_affected())
        })
        .map_err(db_error("OAuth authorization"))?;
        Ok(result)
    }

    /// Every connection ciphertext, for key rotation.
    pub async fn ciphertexts(&self) -> Result<Vec<StoredCiphertext>, StoreError> {
        let secrets: Vec<(ConnectionId, Vec<u8>)> = on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as("SELECT id, oauth_client_secret FROM connections WHERE oauth_client_secret IS NOT NULL")
                .fetch_all(executor)
                .await
        })
        .map_err(db_error("connection"))?;
        let credentials: Vec<(ConnectionId, EnvironmentKind, Vec<u8>)> = on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as(
                "SELECT connection_id, environment, credentials FROM connection_environments WHERE credentials IS NOT NULL",
            )
            .fetch_all(executor)
            .await
        })
        .map_err(db_error("connection environment"))?;
        let custom: Vec<CustomServiceCiphertexts> =
            on_pool!(self.store.pools.reader(), executor => {
                sqlx::query_as("SELECT organization_id, service_key, client_id, client_secret FROM custom_services")
                    .fetch_all(executor)
                    .await
            })
            .map_err(db_error("custom service"))?;
        let mut all = Vec::with_capacity(secrets.len() + credentials.len());
        for (organization_id, service_key, client_id, client_secret) in custom {
            for (field, ciphertext) in [("client_id", client_id), ("client_secret", client_secret)]
            {
                if let Some(ciphertext) = ciphertext {
                    all.push(StoredCiphertext {
                        associated_data: custom_service_associated_data(
                            organization_id,
                            &service_key,
                            field,
                        ),
                        location: CiphertextLocation::CustomService {
                            organization_id,
                            service_key: service_key.clone(),
                            field,
                        },
                        ciphertext,
                    });
                }
            }
        }
        for (connection_id, ciphertext) in secrets {
            all.push(StoredCiphertext {
                location: CiphertextLocation::ClientSecret { connection_id },
                associated_data: client_secret_associated_data(connection_id),
                ciphertext,
            });
        }
        for (connection_id, environment, ciphertext) in credentials {
            all.push(StoredCiphertext {
                location: CiphertextLocation::Credentials {
                    connection_id,
                    environment,
                },
                associated_data: credentials_associated_data(connection_id, environment),
                ciphertext,
            });
        }
        Ok(all)
    }

    /// Replaces one ciphertext if it still equals `old` (a refresh may have written a new one
    /// meanwhile, already under the new key). True when replaced.
    pub async fn replace_ciphertext(
        &self,
        location: &CiphertextLocation,
        old: &[u8],
        new: &[u8],
    ) -> Result<bool, StoreError> {
        let result = match location {
            CiphertextLocation::CustomService { organization_id, service_key, field } => {
                let sql = if *field == "client_id" {
                    "UPDATE custom_services SET client_id = $4 \
                     WHERE organization_id = $1 AND service_key = $2 AND client_id = $3"
                } else {
                    "UPDATE custom_services SET client_secret = $4 \
                     WHERE organization_id = $1 AND service_key = $2 AND client_secret = $3"
                };
                on_pool!(self.store.writer(ChangeDomain::Connections), executor => {
                    sqlx::query(sql)
                        .bind(organization_id)
                        .bind(service_key)
                        .bind(old)
                        .bind(new)
                        .execute(executor)
                        .await
                        .map(|done| done.rows_affected())
                })
            }
            CiphertextLocation::ClientSecret { connection_id } => on_pool!(self.store.writer(ChangeDomain::Connections), executor => {
                sqlx::query("UPDATE connections SET oauth_client_secret = $3 WHERE id = $1 AND oauth_client_secret = $2")
                    .bind(connection_id)
                    .bind(old)
                    .bind(new)
                    .execute(executor)
                    .await.map(|done| done.rows_affected())
            }),
            CiphertextLocation::Credentials { connection_id, environment } => on_pool!(self.store.writer(ChangeDomain::Connections), executor => {
                sqlx::query(
                    "UPDATE connection_environments SET credentials = $4 \
                     WHERE connection_id = $1 AND environment = $2 AND credentials = $3",
                )
                .bind(connection_id)
                .bind(environment)
                .bind(old)
                .bind(new)
                .execute(executor)
                .await.map(|done| done.rows_affected())
            }),
        }
        .map_err(db_error("connection"))?;
        Ok(result == 1)
    }
}

/// A custom service row. Client id and secret are ciphertexts
/// (see [`custom_service_associated_data`]).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CustomServiceRecord {
    pub organization_id: OrganizationId,
    pub service_key: String,
    /// The validated service definition as JSON.
    pub definition: String,
    pub client_id: Option<Vec<u8>>,
    pub client_secret: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Associated data binding a custom service's client id or secret (`field`) to its row.
pub fn custom_service_associated_data(
    organization_id: OrganizationId,
    service_key: &str,
    field: &str,
) -> String {
    format!("custom_services/{organization_id}/{service_key}/{field}")
}

macro_rules! custom_service_columns {
    () => {
        "organization_id, service_key, definition, client_id, client_secret, created_at, updated_at"
    };
}

impl Connections<'_> {
    /// Inserts or replaces a custom service (`created` true to insert, failing when it exists).
    pub async fn save_custom_service(
        &self,
        record: &CustomServiceRecord,
        created: bool,
    ) -> Result<(), StoreError> {
        let now = clock::now();
        let result = if created {
            on_pool!(self.store.writer(ChangeDomain::Connections), executor => {
                sqlx::query(
                    "INSERT INTO custom_services (organization_id, service_key, definition, client_id, client_secret, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(record.organization_id)
                .bind(&record.service_key)
                .bind(&record.definition)
                .bind(&record.client_id)
                .bind(&record.client_secret)
                .bind(now)
                .execute(executor)
                .await.map(|done| done.rows_affected())
            })
        } else {
            on_pool!(self.store.writer(ChangeDomain::Connections), executor => {
                sqlx::query(
                    "UPDATE custom_services SET definition = $3, client_id = $4, client_secret = $5, updated_at = $6 \
                     WHERE organization_id = $1 AND service_key = $2",
                )
                .bind(record.organization_id)
                .bind(&record.service_key)
                .bind(&record.definition)
                .bind(&record.client_id)
                .bind(&record.client_secret)
                .bind(now)
                .execute(executor)
                .await.map(|done| done.rows_affected())
            })
        }
        .map_err(db_error("custom service"))?;
        if result == 0 {
            return Err(StoreError::NotFound {
                entity: "custom service",
            });
        }
        Ok(())
    }

    pub async fn custom_service(
        &self,
        organization_id: OrganizationId,
        service_key: &str,
    ) -> Result<Option<CustomServiceRecord>, StoreError> {
        let sql: &str = concat!(
            "SELECT ",
            custom_service_columns!(),
            " FROM custom_services WHERE organization_id = $1 AND service_key = $2"
        );
        self.row_by_key(sql, organization_id, service_key, "custom service")
            .await
    }

    pub async fn custom_services(
        &self,
        organization_id: OrganizationId,
    ) -> Result<Vec<CustomServiceRecord>, StoreError> {
        let sql: &str = concat!(
            "SELECT ",
            custom_service_columns!(),
            " FROM custom_services WHERE organization_id = $1 ORDER BY service_key"
        );
        self.organization_rows(sql, organization_id, "custom service")
            .await
    }

    /// Deletes a custom service; refused while a connection uses it.
    pub async fn delete_custom_service(
        &self,
        organization_id: OrganizationId,
        service_key: &str,
    ) -> Result<(), StoreError> {
        let in_use: i64 = on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_scalar("SELECT COUNT(*) FROM connections WHERE organization_id = $1 AND service_key = $2")
                .bind(organization_id)
                .bind(service_key)
                .fetch_one(executor)
                .await
        })
        .map_err(db_error("connection"))?;
        if in_use > 0 {
            return Err(StoreError::Conflict {
                message: format!("{in_use} connection(s) use this service; delete them first"),
            });
        }
        let result = on_pool!(self.store.writer(ChangeDomain::Connections), executor => {
            sqlx::query("DELETE FROM custom_services WHERE organization_id = $1 AND service_key = $2")
                .bind(organization_id)
                .bind(service_key)
                .execute(executor)
                .await.map(|done| done.rows_affected())
        })
        .map_err(db_error("custom service"))?;
        if result == 0 {
            return Err(StoreError::NotFound {
                entity: "custom service",
            });
        }
        Ok(())
    }
}
