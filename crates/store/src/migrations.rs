//! Embedded migrations (see build.rs), run through sqlx's migrator.

use std::borrow::Cow;
use std::collections::HashSet;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::Store;
use crate::db::{Backend, Pools, on_pool};
use crate::error::StoreError;

pub(crate) struct EmbeddedMigration {
    pub(crate) version: i64,
    pub(crate) description: &'static str,
    pub(crate) sql: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/embedded_migrations.rs"));

fn embedded(backend: Backend) -> &'static [EmbeddedMigration] {
    match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    }
}

fn migrator(backend: Backend) -> Migrator {
    let migrations = embedded(backend)
        .iter()
        .map(|migration| {
            Migration::new(
                migration.version,
                Cow::Borrowed(migration.description),
                MigrationType::Simple,
                migration.sql.into_sql_str(),
                false,
            )
        })
        .collect();
    let mut migrator = Migrator::with_migrations(migrations);
    // A database migrated further by a newer binary still opens with an older one (rolling
    // upgrades of several processes on one PostgreSQL), so migrations must stay additive.
    migrator.set_ignore_missing(true);
    migrator
}

pub(crate) async fn run(store: &Store) -> Result<(), StoreError> {
    let migrator = migrator(store.backend());
    let result = match &store.pools {
        Pools::Sqlite { writer, .. } => migrator.run(writer).await,
        // sqlx takes a PostgreSQL advisory lock, so processes starting together migrate
        // one after the other.
        Pools::Postgres { pool } => migrator.run(pool).await,
    };
    result.map_err(|error| StoreError::MigrationFailed {
        message: error.to_string(),
    })
}

pub(crate) async fn all_applied(store: &Store) -> Result<bool, StoreError> {
    let applied: Vec<i64> = on_pool!(store.pools.reader(), executor => {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(executor)
            .await
    })
    .map_err(|error| StoreError::from_sqlx("migrations", error))?;
    let applied: HashSet<i64> = applied.into_iter().collect();
    Ok(embedded(store.backend())
        .iter()
        .all(|migration| applied.contains(&migration.version)))
}
