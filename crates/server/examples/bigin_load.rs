//! Load figure of the Bigin-compatible API (not a test): records inserted per second through
//! `POST /bigin/v2/Contacts` in batches of 100, and single-record reads per second through
//! `GET /bigin/v2/Contacts/{id}`, over real HTTP on loopback against a real store.
//!
//! Usage: `cargo run --release -p trestle-server --example bigin_load -- [database URL]`
//! (default: a SQLite file in a temporary folder; pass a `postgres://` URL of an empty
//! database for PostgreSQL). Environment: BATCHES (default 50), READS (default 5000),
//! CONCURRENCY (default 8).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use serde_json::{Value, json};
use trestle_server::{AppState, ConfigLayer, ServerConfig};
use trestle_store::oauth_provider::{ClientType, OauthGrant};
use trestle_store::{EnvironmentKind, NewUser, Role, Store, password};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let data_dir = tempfile::tempdir().unwrap();
    let database_url = std::env::args().nth(1).unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=rwc",
            data_dir.path().join("trestle.db").display()
        )
    });
    let batches = setting("BATCHES", 50);
    let reads = setting("READS", 5000);
    let concurrency = setting("CONCURRENCY", 8);

    let config = ServerConfig::resolve(
        ConfigLayer {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            db: Some(database_url.clone()),
            data_dir: Some(data_dir.path().to_owned()),
            ..ConfigLayer::default()
        },
        ConfigLayer::default(),
        None,
    )
    .unwrap();
    let store = Store::connect(&config.database_url).await.unwrap();
    let organization = store
        .organizations()
        .create("Load")
        .await
        .unwrap()
        .organization;
    let password_hash = password::hash_password("load test password").unwrap();
    let (user, _) = store
        .users()
        .create_in_organization(
            organization.id,
            &NewUser {
                email: &format!("load-{}@example.test", uuid::Uuid::new_v4().simple()),
                display_name: "Load Test",
                password_hash: &password_hash,
                must_change_password: false,
            },
            Role::Admin,
        )
        .await
        .unwrap();
    let client = store
        .oauth_provider()
        .register_client(
            organization.id,
            "load",
            ClientType::Server,
            &[],
            Some(user.id),
        )
        .await
        .unwrap();
    let environment = store
        .environments()
        .by_kind(organization.id, EnvironmentKind::Production)
        .await
        .unwrap();
    let tokens = store
        .oauth_provider()
        .issue_tokens(
            &OauthGrant {
                client_id: client.client.id.clone(),
                user_id: user.id,
                organization_id: organization.id,
                environment_id: environment.id,
                scopes: "zohobigin.modules.all".to_owned(),
            },
            false,
        )
        .await
        .unwrap();
    let authorization = format!("Zoho-oauthtoken {}", tokens.access_token.expose());

    let listener = trestle_server::run::bind(config.listen).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(store.clone(), config);
    tokio::spawn(async move {
        trestle_server::serve(listener, state, std::future::pending())
            .await
            .unwrap();
    });
    let http = reqwest::Client::new();

    let started = Instant::now();
    let mut ids: Vec<String> = Vec::new();
    for batch in 0..batches {
        let data: Vec<Value> = (0..100)
            .map(|index| {
                json!({ "Last_Name": format!("Load {batch}-{index}"),
                        "Email": format!("load{batch}x{index}@example.test"),
                        "Phone": "+1 555 0100", "Mailing_City": "Austin" })
            })
            .collect();
        let response = http
            .post(format!("{base}/bigin/v2/Contacts"))
            .header("authorization", &authorization)
            .json(&json!({ "data": data }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let body: Value = response.json().await.unwrap();
        ids.extend(
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["details"]["id"].as_str().unwrap().to_owned()),
        );
    }
    let insert_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let per_task = reads / concurrency;
    let mut tasks = Vec::new();
    for task in 0..concurrency {
        let http = http.clone();
        let base = base.clone();
        let authorization = authorization.clone();
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            for read in 0..per_task {
                let id = &ids[(task * 7919 + read * 104_729) % ids.len()];
                let response = http
                    .get(format!("{base}/bigin/v2/Contacts/{id}"))
                    .header("authorization", &authorization)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status().as_u16(), 200);
                let _ = response.bytes().await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let read_seconds = started.elapsed().as_secs_f64();
    let total_reads = per_task * concurrency;
    println!(
        "backend {}: inserted {} records in {} batches of 100 in {:.2}s = {:.0} records/s; \
         {} single-record reads ({} concurrent) in {:.2}s = {:.0} reads/s",
        store.backend_name(),
        ids.len(),
        batches,
        insert_seconds,
        ids.len() as f64 / insert_seconds,
        total_reads,
        concurrency,
        read_seconds,
        total_reads as f64 / read_seconds
    );
}
