//! trestle-store: Trestle's storage on SQLite (the embedded default) or PostgreSQL
//! (scale-out), with embedded migrations and every tenant-owned query scoped by organization.
//!
//! Open a store with [`Store::connect`], then reach each domain through an accessor:
//! [`Store::organizations`], [`Store::environments`], [`Store::users`],
//! [`Store::memberships`], [`Store::sessions`], [`Store::api_tokens`],
//! [`Store::login_throttle`], [`Store::audit`]. Rows that belong to an organization are only
//! reachable through methods that take its [`OrganizationId`] and put it in the `WHERE`
//! clause; a row of another organization is reported as [`StoreError::NotFound`].
//!
//! See the crate README for the conventions (ids, times, migrations numbering) and for the
//! pattern to follow when adding a domain module.

mod api_tokens;
mod audit;
mod clock;
pub mod connections;
pub mod crm;
mod db;
mod environments;
mod error;
mod ids;
mod login_throttle;
mod memberships;
mod migrations;
pub mod oauth_provider;
mod organizations;
pub mod password;
mod platform_admins;
pub mod read_cache;
mod secret;
pub mod service_overrides;
mod sessions;
pub mod stored_functions;
mod users;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use api_tokens::{API_TOKEN_PREFIX, ApiToken, ApiTokens, IssuedApiToken, api_token_digest};
pub use audit::{Actor, Audit, AuditEntry, NewAuditEntry};
pub use db::{Backend, WriteTransaction};
pub use environments::{Environment, EnvironmentKind, Environments};
pub use error::StoreError;
pub use ids::{
    ApiTokenId, AuditEntryId, EnvironmentId, OrganizationId, SessionId, StoredFunctionId, UserId,
};
pub use login_throttle::LoginThrottle;
pub use memberships::{Member, Membership, Memberships, Role, UserOrganization};
pub use organizations::{CreatedOrganization, Organization, Organizations};
pub use password::PasswordHash;
pub use platform_admins::PlatformAdmins;
pub use read_cache::{CROSS_PROCESS_STALENESS, ChangeDomain, ReadCache, ReadStarted};
pub use secret::SecretToken;
pub use service_overrides::{
    EgressRouteRecord, ServiceOverrideRecord, ServiceOverrides,
    service_override_client_secret_associated_data,
};
pub use sessions::{AuthenticatedSession, ConsoleSession, NewConsoleSession, Sessions};
pub use stored_functions::{
    NewStoredFunction, StoredFunction, StoredFunctionChanges, StoredFunctionParameter,
    StoredFunctions,
};
pub use users::{NewUser, User, UserCredentials, Users};

use crate::db::{Pools, WriterRef, on_pool};
use crate::read_cache::{BumpOnDrop, ChangeCounters};

/// Tuning for [`Store::connect_with`]. [`StoreOptions::default`] suits both the embedded
/// default and a small PostgreSQL deployment.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// PostgreSQL: size of the connection pool. SQLite: number of reader connections (the
    /// writer is always exactly one connection).
    pub max_connections: u32,
    /// How long a caller waits for a free connection before [`StoreError::DatabaseUnavailable`].
    pub acquire_timeout: Duration,
    /// SQLite: how long a statement waits for a lock held by another process.
    pub sqlite_busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
            sqlite_busy_timeout: Duration::from_secs(5),
        }
    }
}

/// A handle on the database. Cheap to clone (pools are shared); clone it into every task.
#[derive(Clone)]
pub struct Store {
    pub(crate) pools: Pools,
    /// Write generations of this process, for the read caches (see [`read_cache`]).
    pub(crate) changes: Arc<ChangeCounters>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the URL: it may hold a password.
        formatter
            .debug_struct("Store")
            .field("backend", &self.backend_name())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the database and applies every pending migration.
    ///
    /// Accepted URLs:
    /// - `sqlite://path/to/trestle.db` or `sqlite://path/to/trestle.db?mode=rwc` (the file is
    ///   created when missing; its folder must exist; `?mode=rw` refuses to create it),
    ///   `sqlite::memory:` for a private in-memory database (tests; it lives as long as the
    ///   store).
    /// - `postgres://user:password@host:port/database` (or `postgresql://`).
    ///
    /// SQLite runs in WAL mode with `synchronous=NORMAL` (a committed transaction survives a
    /// process crash; a power cut may lose the last few transactions but never corrupts the
    /// file), foreign keys on, a busy timeout, and a single writer connection.
    pub async fn connect(database_url: &str) -> Result<Store, StoreError> {
        Store::connect_with(database_url, StoreOptions::default()).await
    }

    /// [`Store::connect`] with explicit pool sizes and timeouts.
    pub async fn connect_with(
        database_url: &str,
        options: StoreOptions,
    ) -> Result<Store, StoreError> {
        let pools = if database_url.starts_with("sqlite:") {
            connect_sqlite(database_url, &options).await?
        } else if database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://")
        {
            connect_postgres(database_url, &options).await?
        } else {
            return Err(StoreError::InvalidDatabaseUrl {
                message: "expected a URL starting with sqlite: or postgres:// \
                          (for example sqlite://trestle-data/trestle.db?mode=rwc)"
                    .to_owned(),
            });
        };
        let store = Store {
            pools,
            changes: Arc::new(ChangeCounters::default()),
        };
        store.run_migrations().await?;
        Ok(store)
    }

    /// The backend this store runs on.
    pub fn backend(&self) -> Backend {
        self.pools.backend()
    }

    /// `"sqlite"` or `"postgres"`, for logs and `/readyz`.
    pub fn backend_name(&self) -> &'static str {
        self.backend().name()
    }

    /// Checks that the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self.pools.reader(), executor => {
            sqlx::query("SELECT 1").execute(executor).await.map(|_| ())
        })
        .map_err(|error| StoreError::from_sqlx("ping", error))
    }

    /// True when every migration this build carries has been applied successfully (for
    /// `/readyz`: a process started with an older binary reports false after an upgrade by
    /// another process only if the schema lacks something it needs).
    pub async fn migrations_applied(&self) -> Result<bool, StoreError> {
        migrations::all_applied(self).await
    }

    /// Begins a write transaction spanning several statements (on SQLite, `BEGIN IMMEDIATE`
    /// on the single writer connection). Domain modules offer `*_in(transaction, ...)`
    /// functions that take it.
    /// Its commit counts as a change of every domain (see [`read_cache`]).
    pub async fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        self.pools
            .begin_write(Arc::clone(&self.changes), None)
            .await
    }

    /// A write transaction of one domain's module.
    pub(crate) async fn begin_write_in(
        &self,
        domain: ChangeDomain,
    ) -> Result<WriteTransaction, StoreError> {
        self.pools
            .begin_write(Arc::clone(&self.changes), Some(domain))
            .await
    }

    /// The writer for one statement of `domain`; the domain counts as changed after it.
    pub(crate) fn writer(&self, domain: ChangeDomain) -> WriterRef<'_> {
        WriterRef::new(
            self.pools.writer(),
            Some(BumpOnDrop {
                counters: &self.changes,
                domain,
            }),
        )
    }

    /// The writer for one statement that changes nothing a read cache holds (bookkeeping such
    /// as an API token's `last_used_at`).
    pub(crate) fn writer_without_change(&self) -> WriterRef<'_> {
        WriterRef::new(self.pools.writer(), None)
    }

    /// Closes every connection; later calls fail with [`StoreError::DatabaseUnavailable`].
    pub async fn close(&self) {
        self.pools.close().await;
    }

    async fn run_migrations(&self) -> Result<(), StoreError> {
        migrations::run(self).await
    }
}

async fn connect_sqlite(database_url: &str, options: &StoreOptions) -> Result<Pools, StoreError> {
    let connect_options = SqliteConnectOptions::from_str(database_url)
        .map_err(|error| StoreError::InvalidDatabaseUrl {
            message: format!("{error}"),
        })?
        .foreign_keys(true)
        .busy_timeout(options.sqlite_busy_timeout)
        .synchronous(SqliteSynchronous::Normal);
    // Without an explicit `mode=`, create the file: `trestle serve` must start on a fresh
    // machine. (`mode=ro` / `mode=rw` still refuse to create it.)
    let connect_options = if database_url.contains("mode=") {
        connect_options
    } else {
        connect_options.create_if_missing(true)
    };
    let in_memory = database_url.contains(":memory:") || database_url.contains("mode=memory");
    let connect_options = if in_memory {
        connect_options
    } else {
        connect_options.journal_mode(SqliteJournalMode::Wal)
    };

    let writer_options = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .acquire_timeout(options.acquire_timeout);
    // An in-memory database disappears with its last connection: keep the one connection
    // forever and let it serve reads too.
    let writer_options = if in_memory {
        writer_options.idle_timeout(None).max_lifetime(None)
    } else {
        writer_options
    };
    let writer = writer_options
        .connect_with(connect_options.clone())
        .await
        .map_err(|error| StoreError::from_sqlx("database", error))?;
    if in_memory {
        return Ok(Pools::Sqlite {
            reader: writer.clone(),
            writer,
        });
    }
    let reader = SqlitePoolOptions::new()
        .max_connections(options.max_connections.clamp(1, 64))
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect_options.pragma("query_only", "ON"))
        .await
        .map_err(|error| StoreError::from_sqlx("database", error))?;
    Ok(Pools::Sqlite { writer, reader })
}

async fn connect_postgres(database_url: &str, options: &StoreOptions) -> Result<Pools, StoreError> {
    let connect_options = PgConnectOptions::from_str(database_url).map_err(|error| {
        StoreError::InvalidDatabaseUrl {
            message: format!("{error}"),
        }
    })?;
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect_options)
        .await
        .map_err(|error| StoreError::from_sqlx("database", error))?;
    Ok(Pools::Postgres { pool })
}
