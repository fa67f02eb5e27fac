//! Runs one storage test body against both backends.

use trestle_store::Store;

/// A store on a fresh database, and whatever keeps that database alive.
pub struct TestDatabase {
    pub store: Store,
    /// The URL the store was opened with (to open a second, independent store on it).
    pub url: String,
    _directory: Option<tempfile::TempDir>,
}

/// A store on a new SQLite file in a temporary directory.
pub async fn sqlite_database() -> TestDatabase {
    let directory = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        directory.path().join("trestle.db").display()
    );
    let store = Store::connect(&url).await.unwrap();
    TestDatabase {
        store,
        url,
        _directory: Some(directory),
    }
}

/// A store on a new PostgreSQL database, or `None` (after saying so loudly) when
/// TRESTLE_TEST_POSTGRES_URL is not set outside CI.
pub async fn postgres_database(test_name: &str) -> Option<TestDatabase> {
    let Ok(admin_url) = std::env::var("TRESTLE_TEST_POSTGRES_URL") else {
        if std::env::var("CI").is_ok_and(|value| value == "true") {
            panic!("{test_name} needs TRESTLE_TEST_POSTGRES_URL (CI=true); run scripts/test.sh");
        }
        eprintln!("SKIPPED: {test_name} (postgres) needs TRESTLE_TEST_POSTGRES_URL");
        return None;
    };
    let database_name = format!("trestle_test_{}", uuid::Uuid::new_v4().simple());
    {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {database_name}"
        )))
        .execute(&mut admin)
        .await
        .unwrap();
        admin.close().await.unwrap();
    }
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let url = format!("{base}/{database_name}");
    let store = Store::connect(&url).await.unwrap();
    Some(TestDatabase {
        store,
        url,
        _directory: None,
    })
}

/// `storage_test!(name, |store| async move { ... })` defines `name::sqlite` and
/// `name::postgres`, each running the body on a fresh store of that backend.
macro_rules! storage_test {
    ($name:ident, |$store:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let database = $crate::support::sqlite_database().await;
                let $store = database.store.clone();
                $body.await;
                database.store.close().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(database) =
                    $crate::support::postgres_database(concat!(module_path!(), "::postgres")).await
                else {
                    return;
                };
                let $store = database.store.clone();
                $body.await;
                database.store.close().await;
            }
        }
    };
}
pub(crate) use storage_test;
