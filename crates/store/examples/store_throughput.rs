//! Throughput of the store's hot paths on this machine, for SQLite (temporary file) and, when
//! a URL is given, PostgreSQL:
//!
//! ```text
//! cargo run --release -p trestle-store --example store_throughput -- [postgres://...]
//! ```
//!
//! Each figure is operations per second with 8 concurrent tasks. A measurement tool, not a
//! test: it asserts nothing about speed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step should stop the test loudly

use std::time::Instant;

use chrono::{TimeDelta, Utc};
use trestle_store::{NewUser, Store, password};

const CONCURRENCY: usize = 8;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let directory = tempfile::tempdir()?;
    let sqlite_url = format!("sqlite://{}", directory.path().join("bench.db").display());
    let sqlite = Store::connect(&sqlite_url).await?;
    measure("sqlite", &sqlite).await?;
    if let Some(postgres_url) = std::env::args().nth(1) {
        let postgres = Store::connect(&postgres_url).await?;
        measure("postgres", &postgres).await?;
    }
    Ok(())
}

async fn measure(backend: &str, store: &Store) -> Result<(), Box<dyn std::error::Error>> {
    let run = uuid::Uuid::now_v7().simple().to_string();
    let hash = password::hash_password("benchmark password")?;
    let organization = store.organizations().create("Bench").await?.organization;
    let user = store
        .users()
        .create(&NewUser {
            email: &format!("bench-{run}@example.com"),
            display_name: "Bench",
            password_hash: &hash,
            must_change_password: false,
        })
        .await?;
    let token = store
        .api_tokens()
        .issue(organization.id, "bench", Some(user.id), None)
        .await?;
    let session = store
        .sessions()
        .create(user.id, Utc::now() + TimeDelta::hours(1))
        .await?;
    let token = token.token.expose().to_owned();
    let session_token = session.token.expose().to_owned();

    let per_second = concurrently(
        2_000,
        |store, _| async move { store.organizations().create("Org").await.map(|_| ()) },
        store,
    )
    .await?;
    println!("{backend}: create organization (3-row transaction): {per_second:.0}/s");

    let per_second = concurrently(
        1_000,
        move |store, index| {
            let run = run.clone();
            async move {
                store
                    .login_throttle()
                    .record_failure(
                        &format!("bench:{run}:{}", index % 50),
                        Utc::now(),
                        TimeDelta::minutes(15),
                    )
                    .await
                    .map(|_| ())
            }
        },
        store,
    )
    .await?;
    println!("{backend}: record failed login (one upsert): {per_second:.0}/s");

    let per_second = concurrently(
        20_000,
        move |store, _| {
            let token = token.clone();
            async move {
                store
                    .api_tokens()
                    .authenticate(&token, Utc::now())
                    .await
                    .map(|found| assert!(found.is_some()))
            }
        },
        store,
    )
    .await?;
    println!("{backend}: authenticate API token: {per_second:.0}/s");

    let per_second = concurrently(
        20_000,
        move |store, _| {
            let session_token = session_token.clone();
            async move {
                store
                    .sessions()
                    .authenticate(&session_token, Utc::now())
                    .await
                    .map(|found| assert!(found.is_some()))
            }
        },
        store,
    )
    .await?;
    println!("{backend}: authenticate console session: {per_second:.0}/s");
    Ok(())
}

async fn concurrently<F, Fut>(
    total: usize,
    operation: F,
    store: &Store,
) -> Result<f64, Box<dyn std::error::Error>>
where
    F: Fn(Store, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), trestle_store::StoreError>> + Send,
{
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..CONCURRENCY {
        let store = store.clone();
        let operation = operation.clone();
        workers.push(tokio::spawn(async move {
            for index in (worker..total).step_by(CONCURRENCY) {
                operation(store.clone(), index).await?;
            }
            Ok::<_, trestle_store::StoreError>(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}
