//! The two backends behind one store, and the macros every domain module uses to run the
//! same SQL on both (see the crate README for the pattern).

use std::sync::Arc;

use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use crate::error::StoreError;
use crate::read_cache::{BumpOnDrop, ChangeCounters, ChangeDomain};

/// Which database the store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite: one writer connection, a few reader connections, WAL.
    Sqlite,
    /// PostgreSQL through a connection pool; many processes may share the database.
    Postgres,
}

impl Backend {
    /// `"sqlite"` or `"postgres"`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// Picks the SQL for this backend where the dialects differ.
    pub(crate) fn pick(self, sqlite: &'static str, postgres: &'static str) -> &'static str {
        match self {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        }
    }
}

#[derive(Clone)]
pub(crate) enum Pools {
    Sqlite {
        /// Exactly one connection: SQLite allows one writer, so writers queue here instead
        /// of failing with SQLITE_BUSY.
        writer: SqlitePool,
        /// Query-only connections; WAL lets them read while the writer writes.
        reader: SqlitePool,
    },
    Postgres {
        pool: PgPool,
    },
}

/// A borrowed pool to run one statement on (autocommit).
#[derive(Clone, Copy)]
pub(crate) enum PoolRef<'a> {
    Sqlite(&'a SqlitePool),
    Postgres(&'a PgPool),
}

impl Pools {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres { .. } => Backend::Postgres,
        }
    }

    pub(crate) fn reader(&self) -> PoolRef<'_> {
        match self {
            Pools::Sqlite { reader, .. } => PoolRef::Sqlite(reader),
            Pools::Postgres { pool } => PoolRef::Postgres(pool),
        }
    }

    pub(crate) fn writer(&self) -> PoolRef<'_> {
        match self {
            Pools::Sqlite { writer, .. } => PoolRef::Sqlite(writer),
            Pools::Postgres { pool } => PoolRef::Postgres(pool),
        }
    }

    pub(crate) async fn begin_write(
        &self,
        changes: Arc<ChangeCounters>,
        domain: Option<ChangeDomain>,
    ) -> Result<WriteTransaction, StoreError> {
        let inner = match self {
            // IMMEDIATE takes the write lock at BEGIN, so a transaction that reads before it
            // writes can never fail half-way with SQLITE_BUSY when another process wrote.
            Pools::Sqlite { writer, .. } => TransactionInner::Sqlite(
                writer
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(|error| StoreError::from_sqlx("transaction", error))?,
            ),
            Pools::Postgres { pool } => TransactionInner::Postgres(
                pool.begin()
                    .await
                    .map_err(|error| StoreError::from_sqlx("transaction", error))?,
            ),
        };
        Ok(WriteTransaction {
            inner,
            changes,
            domain,
        })
    }

    pub(crate) async fn close(&self) {
        match self {
            Pools::Sqlite { writer, reader } => {
                reader.close().await;
                writer.close().await;
            }
            Pools::Postgres { pool } => pool.close().await,
        }
    }
}

/// A write transaction spanning several statements, on either backend.
///
/// Dropping it without [`WriteTransaction::commit`] rolls back. On SQLite it holds the single
/// writer connection for its whole life: keep it short and never await anything slow (network
/// calls, password hashing) while holding it.
pub struct WriteTransaction {
    pub(crate) inner: TransactionInner,
    /// Bumped after a commit, so per-process read caches never serve what it replaced.
    changes: Arc<ChangeCounters>,
    /// The domain it writes; `None` (opened outside the store) counts as every domain.
    domain: Option<ChangeDomain>,
}

pub(crate) enum TransactionInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl WriteTransaction {
    /// Makes every change of the transaction durable and visible, all at once.
    pub async fn commit(self) -> Result<(), StoreError> {
        let result = match self.inner {
            TransactionInner::Sqlite(transaction) => transaction.commit().await,
            TransactionInner::Postgres(transaction) => transaction.commit().await,
        };
        match self.domain {
            Some(domain) => self.changes.bump(domain),
            None => self.changes.bump_all(),
        }
        result.map_err(|error| StoreError::from_sqlx("transaction", error))
    }

    /// Discards every change of the transaction.
    pub async fn rollback(self) -> Result<(), StoreError> {
        let result = match self.inner {
            TransactionInner::Sqlite(transaction) => transaction.rollback().await,
            TransactionInner::Postgres(transaction) => transaction.rollback().await,
        };
        result.map_err(|error| StoreError::from_sqlx("transaction", error))
    }

    /// The backend this transaction runs on.
    pub fn backend(&self) -> Backend {
        match self.inner {
            TransactionInner::Sqlite(_) => Backend::Sqlite,
            TransactionInner::Postgres(_) => Backend::Postgres,
        }
    }
}

/// The writer pool for one autocommit statement; marks its domain changed (for the read
/// caches) when dropped, which `on_pool!` does after the statement finished.
pub(crate) struct WriterRef<'a> {
    pool: PoolRef<'a>,
    _bump: Option<BumpOnDrop<'a>>,
}

impl<'a> WriterRef<'a> {
    pub(crate) fn new(pool: PoolRef<'a>, bump: Option<BumpOnDrop<'a>>) -> WriterRef<'a> {
        WriterRef { pool, _bump: bump }
    }
}

/// What `on_pool!` accepts: a plain [`PoolRef`] or a [`WriterRef`].
pub(crate) trait ExecutorSource<'a> {
    fn pool_ref(&self) -> PoolRef<'a>;
}

impl<'a> ExecutorSource<'a> for PoolRef<'a> {
    fn pool_ref(&self) -> PoolRef<'a> {
        *self
    }
}

impl<'a> ExecutorSource<'a> for WriterRef<'a> {
    fn pool_ref(&self) -> PoolRef<'a> {
        self.pool
    }
}

/// Runs `$body` once per backend with `$executor` bound to that backend's executor, so
/// one piece of sqlx code (and one SQL string, `$1` placeholders work on both) serves both
/// backends. Accepts a [`PoolRef`] (`store.pools.reader()`), a [`WriterRef`]
/// (`store.writer(domain)`, which marks the domain changed once the body finished) or a
/// `&mut WriteTransaction`:
///
/// ```ignore
/// let organization = on_pool!(self.store.pools.reader(), executor => {
///     sqlx::query_as::<_, Organization>(SELECT_ORGANIZATION).bind(id).fetch_optional(executor).await
/// });
/// let count = on_transaction!(transaction, executor => {
///     sqlx::query(INSERT_ROW).bind(id).execute(&mut *executor).await
/// });
/// ```
macro_rules! on_pool {
    ($pool:expr, $executor:ident => $body:expr) => {
        // The scrutinee's temporaries (a WriterRef) live until the match ends: after `$body`.
        match $crate::db::ExecutorSource::pool_ref(&$pool) {
            $crate::db::PoolRef::Sqlite($executor) => $body,
            $crate::db::PoolRef::Postgres($executor) => $body,
        }
    };
}
pub(crate) use on_pool;

/// See [`on_pool!`]; `$executor` is a `&mut` connection inside the transaction, reusable for
/// several statements (`&mut *executor`).
macro_rules! on_transaction {
    ($transaction:expr, $executor:ident => $body:expr) => {
        match &mut $transaction.inner {
            $crate::db::TransactionInner::Sqlite(transaction) => {
                let $executor: &mut sqlx::SqliteConnection = &mut *transaction;
                $body
            }
            $crate::db::TransactionInner::Postgres(transaction) => {
                let $executor: &mut sqlx::PgConnection = &mut *transaction;
                $body
            }
        }
    };
}
pub(crate) use on_transaction;
