//! Shared helpers of the connection integration tests: a real store (SQLite file or the
//! PostgreSQL peer), a real vault and a log capture. Peers and oidc-provider's login walker
//! come from trestle-testkit.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use trestle_connections::{
    ConnectionManager, ConnectionView, CreateConnection, EnvironmentKind, LaunchedAuthorization,
    ManagerConfig, oauth::TokenClient,
};
use trestle_store::{OrganizationId, Store};
use trestle_vault::{Keyring, Vault};
use url::Url;

/// Public base URL the tests configure; oidc-provider has callbacks registered under it.
pub const PUBLIC_BASE_URL: &str = trestle_testkit::oidc_provider::REGISTERED_CALLBACK_BASE;

pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Every log line written by any test in this binary (tracing at TRACE level).
pub fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer_buffer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || LogWriter(writer_buffer.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buffer
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn test_config() -> ManagerConfig {
    let mut config = ManagerConfig::new(Url::parse(PUBLIC_BASE_URL).unwrap());
    config.allow_http_loopback = true;
    config.refresh_backoff = Duration::from_millis(20);
    config.refresh_jitter = Duration::from_millis(0);
    config
}

pub struct Harness {
    pub store: Store,
    pub vault: Arc<Vault>,
    pub manager: Arc<ConnectionManager>,
    pub organization: OrganizationId,
    pub database_file: Option<PathBuf>,
    _directory: Option<tempfile::TempDir>,
}

/// The token client the server builds, with the egress policy local development uses: the
/// guard on, loopback peers (mock token endpoints, oidc-provider) allowed by `egress.allow`.
pub fn token_client() -> TokenClient {
    install_crypto();
    TokenClient::with_egress_policy(
        trestle_outbound::EgressPolicy::from_allow_list(["127.0.0.1/32"]).unwrap(),
    )
    .unwrap()
}

/// A store on a fresh SQLite file, a vault with a new key, one organization.
pub async fn sqlite_harness(config: ManagerConfig) -> Harness {
    sqlite_harness_with_tokens(config, token_client()).await
}

/// [`sqlite_harness`] with a token client of the test's choosing.
pub async fn sqlite_harness_with_tokens(config: ManagerConfig, tokens: TokenClient) -> Harness {
    install_crypto();
    let directory = tempfile::tempdir().unwrap();
    let database_file = directory.path().join("trestle.db");
    let store = Store::connect(&format!("sqlite://{}?mode=rwc", database_file.display()))
        .await
        .unwrap();
    let vault = Arc::new(Vault::new(Keyring::generate().unwrap()));
    let organization = store
        .organizations()
        .create("Connections test org")
        .await
        .unwrap()
        .organization
        .id;
    let manager = Arc::new(ConnectionManager::new(
        store.clone(),
        vault.clone(),
        tokens,
        config,
    ));
    Harness {
        store,
        vault,
        manager,
        organization,
        database_file: Some(database_file),
        _directory: Some(directory),
    }
}

/// Stores a custom service straight into the store, with its client id and secret encrypted
/// as the manager would: for definitions the manager's own validation would refuse (an
/// unsafe token URL) or that need fields it does not take.
pub async fn store_custom_service_directly(
    harness: &Harness,
    definition: &trestle_services::ServiceDefinition,
    client_id: &str,
    client_secret: &str,
) {
    let organization = harness.organization;
    let service_key = definition.key.as_str();
    let encrypt = |field: &str, value: &str| {
        harness
            .vault
            .encrypt(
                value.as_bytes(),
                &trestle_store::connections::custom_service_associated_data(
                    organization,
                    service_key,
                    field,
                ),
            )
            .unwrap()
    };
    harness
        .store
        .connections()
        .save_custom_service(
            &trestle_store::connections::CustomServiceRecord {
                organization_id: organization,
                service_key: service_key.into(),
                definition: serde_json::to_string(definition).unwrap(),
                client_id: Some(encrypt("client_id", client_id)),
                client_secret: Some(encrypt("client_secret", client_secret)),
                created_at: chrono::Utc::now(),
                updated_at: chrono::Utc::now(),
            },
            true,
        )
        .await
        .unwrap();
}

/// Every byte of the SQLite database (main file and write-ahead log).
pub fn database_bytes(harness: &Harness) -> Vec<u8> {
    let mut bytes = Vec::new();
    let file = harness.database_file.as_ref().unwrap();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let path = PathBuf::from(format!("{}{suffix}", file.display()));
        if let Ok(content) = std::fs::read(&path) {
            bytes.extend(content);
        }
    }
    bytes
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

pub fn query_pairs(url: &Url) -> Vec<(String, String)> {
    url.query_pairs().into_owned().collect()
}

/// The launch token at the end of a launch URL.
pub fn launch_token(launch_url: &str) -> String {
    launch_url.rsplit('/').next().unwrap().to_string()
}

/// Creates the connection `<namespace>__<name>` of `service_key`, every other setting default.
pub async fn create_connection(
    manager: &ConnectionManager,
    organization: OrganizationId,
    namespace: &str,
    name: &str,
    service_key: &str,
) -> ConnectionView {
    manager
        .create_connection(
            organization,
            CreateConnection {
                namespace: namespace.into(),
                name: name.into(),
                service_key: service_key.into(),
                ..CreateConnection::default()
            },
        )
        .await
        .unwrap()
}

/// Begins an authorization of `link_name` and opens its launch URL, as the user's browser
/// would: the answer holds the provider URL and the browser binding.
pub async fn begin_and_launch(
    manager: &ConnectionManager,
    organization: OrganizationId,
    link_name: &str,
    environment: EnvironmentKind,
) -> LaunchedAuthorization {
    let pending = manager
        .begin_authorization(organization, link_name, environment)
        .await
        .unwrap();
    manager
        .launch_authorization(&launch_token(&pending.launch_url))
        .await
        .unwrap()
}

/// The `state` parameter of a launched authorization's provider URL.
pub fn state_of(launched: &LaunchedAuthorization) -> String {
    launched
        .provider_url
        .query_pairs()
        .find(|(name, _)| name == "state")
        .unwrap()
        .1
        .to_string()
}
