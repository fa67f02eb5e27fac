//! Runs one storage test body against both backends.
#![allow(dead_code, unused_macros, unused_imports)]
// Test support: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use trestle_store::{Organization, Store};

/// A new organization (its production and sandbox environments come with it).
pub async fn create_organization(store: &Store, name: &str) -> Organization {
    store
        .organizations()
        .create(name)
        .await
        .unwrap()
        .organization
}

/// A store on a fresh database, and whatever keeps that database alive.
pub struct TestDatabase {
    pub store: Store,
    /// The URL the store was opened with (to open a second, independent store on it).
    pub url: String,
    /// The SQLite database file, for tests that inspect its bytes.
    pub sqlite_file: Option<std::path::PathBuf>,
    _directory: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub fn backend(&self) -> trestle_store::Backend {
        self.store.backend()
    }

    /// Runs one statement on the database behind the store's back (to simulate damage or
    /// another version of Trestle).
    pub async fn execute_raw(&self, statement: &str) {
        use sqlx::Connection;
        let statement = sqlx::AssertSqlSafe(statement.to_owned());
        match self.backend() {
            trestle_store::Backend::Sqlite => {
                let mut connection = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query(statement)
                    .execute(&mut connection)
                    .await
                    .unwrap();
                connection.close().await.unwrap();
            }
            trestle_store::Backend::Postgres => {
                let mut connection = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query(statement)
                    .execute(&mut connection)
                    .await
                    .unwrap();
                connection.close().await.unwrap();
            }
        }
    }

    /// A second, independent store on the same database, as another process would open it.
    pub async fn open_another_store(&self) -> Store {
        Store::connect(&self.url).await.unwrap()
    }
}

/// A store on a new SQLite file in a temporary directory.
pub async fn sqlite_database() -> TestDatabase {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("trestle.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let store = Store::connect(&url).await.unwrap();
    TestDatabase {
        store,
        url,
        sqlite_file: Some(file),
        _directory: Some(directory),
    }
}

/// A store on a new PostgreSQL schema, or `None` (after saying so loudly) when
/// TRESTLE_TEST_POSTGRES_URL is not set outside CI.
pub async fn postgres_database(test_name: &str) -> Option<TestDatabase> {
    let admin_url = trestle_testkit::variable_or_skip(
        "TRESTLE_TEST_POSTGRES_URL",
        &format!("{test_name} (postgres)"),
    )?;
    // A fresh schema per test (creating a database takes seconds; a schema milliseconds):
    // every connection of the test selects it through the URL's search_path option.
    let schema = format!("trestle_test_{}", uuid::Uuid::new_v4().simple());
    {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
    }
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{separator}options=-c%20search_path%3D{schema}");
    let store = Store::connect(&url).await.unwrap();
    Some(TestDatabase {
        store,
        url,
        sqlite_file: None,
        _directory: None,
    })
}

/// Drops the schema made by [`postgres_database`] once its test passed (a failed test
/// leaves it for inspection; the cluster is thrown away anyway).
pub async fn drop_postgres_database(database_url: &str) {
    use sqlx::Connection;
    let Ok(admin_url) = std::env::var("TRESTLE_TEST_POSTGRES_URL") else {
        return;
    };
    let Some((_, schema)) = database_url.rsplit_once("search_path%3D") else {
        return;
    };
    if !schema.starts_with("trestle_test_") {
        return;
    }
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    admin.close().await.unwrap();
}

/// `storage_test!(name, |store| async move { ... })` defines `name::sqlite` and
/// `name::postgres`, each running the body with a [`Store`] on a fresh database of that
/// backend.
macro_rules! storage_test {
    ($name:ident, |$store:ident| $body:expr) => {
        $crate::support::database_test!($name, |database| async move {
            let $store = database.store.clone();
            $body.await;
            drop(database);
        });
    };
}
pub(crate) use storage_test;

/// Like [`storage_test!`], with the whole [`TestDatabase`] (URL, SQLite file, a way to open
/// a second store on the same database).
macro_rules! database_test {
    ($name:ident, |$database:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $database = $crate::support::sqlite_database().await;
                $body.await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($database) =
                    $crate::support::postgres_database(concat!(module_path!(), "::postgres")).await
                else {
                    return;
                };
                let database_url = $database.url.clone();
                $body.await;
                $crate::support::drop_postgres_database(&database_url).await;
            }
        }
    };
}
pub(crate) use database_test;
