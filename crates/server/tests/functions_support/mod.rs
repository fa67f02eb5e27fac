//! Shared by the functions, proxy and seed tests: a real Trestle server (in process, on
//! 127.0.0.1:0) with the function runtime, a real store, a real vault, two connections
//! authorized through oidc-provider's authorization code flow (the test plays the browser),
//! and wiremock stand-ins for Bigin and Books routed in the sandbox.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use serde_json::{Value, json};
use trestle_connections::{
    ConnectionManager, CreateConnection, EnvironmentKind, ManagerConfig, oauth::TokenClient,
};
use trestle_outbound::{OutboundConfig, OutboundEngine};
use trestle_runtime::FunctionRuntime;
use trestle_server::{AppState, ConfigLayer, ServerConfig};
use trestle_store::{NewUser, OrganizationId, Role, Store, password};
use trestle_vault::{Keyring, Vault};
use url::Url;
use wiremock::MockServer;

/// oidc-provider registers callbacks under this base URL for the keys below.
pub const PUBLIC_BASE_URL: &str = trestle_testkit::oidc_provider::REGISTERED_CALLBACK_BASE;
pub const BIGIN_LINK: &str = "biginandbooksconnectionnew__biginconnection";
pub const BOOKS_LINK: &str = "biginandbooksconnectionnew__booksconnection";
const CLIENT_ID: &str = "crm-connector";
const CLIENT_SECRET: &str = "crm-secret";

pub struct Harness {
    pub base_url: String,
    /// The database every server of this harness shares.
    pub database_url: String,
    /// The master key every server of this harness shares.
    pub vault: Arc<Vault>,
    pub store: Store,
    pub organization: OrganizationId,
    pub token: String,
    pub runtime: Arc<FunctionRuntime>,
    pub bigin: MockServer,
    pub books: MockServer,
    pub issuer: String,
    pub client: reqwest::Client,
    _directory: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Harness {
    pub async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base_url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Any method with an optional JSON body, authenticated with the organization's token.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Runs a script through `POST /api/v1/environments/sandbox/functions/run`.
    pub async fn run(&self, script: &str, arguments: Value) -> Value {
        let (status, body) = self
            .post_json(
                "/api/v1/environments/sandbox/functions/run",
                json!({ "script": script, "arguments": arguments }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The access token oidc-provider issued for a connection, as the stand-ins saw it last.
    pub async fn is_active_at_provider(&self, token: &str) -> bool {
        let response: Value = reqwest::Client::new()
            .post(format!("{}/token/introspection", self.issuer))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        response["active"] == Value::Bool(true)
    }
}

pub fn custom_service(
    issuer: &str,
    key: &str,
    api_base_url: &str,
) -> trestle_services::CustomServiceInput {
    serde_json::from_value(json!({
        "service_name": format!("Zoho stand-in {key}"),
        "service_link_name": key,
        "auth_type": "oauth2_authorization_code",
        "api_base_url": api_base_url,
        "authorize_url": format!("{issuer}/auth"),
        "access_token_url": format!("{issuer}/token"),
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "client_authentication": "basic",
        "scopes": ["openid", "offline_access", "crm.read"],
        "scope_delimiter": "space",
        "token_prefix": "Zoho-oauthtoken",
    }))
    .unwrap()
}

/// Everything up and authorized; the sandbox routes `www.zohoapis.com` to the Bigin stand-in
/// and `books.zoho.com` to the Books stand-in (set through the API by a platform admin).
pub async fn start(issuer: String) -> Harness {
    start_with(Some(issuer), OutboundConfig::default()).await
}

/// A server with the function runtime but no services or connections: for what needs no
/// peer (stored functions, scripts without connections).
pub async fn start_without_connections() -> Harness {
    start_with(None, OutboundConfig::default()).await
}

/// Like [`start`], with the engine settings given (a small response size limit...); without
/// an issuer no service or connection is created.
pub async fn start_with(issuer: Option<String>, engine_config: OutboundConfig) -> Harness {
    start_with_database(issuer, engine_config, None).await
}

/// Like [`start`], on the given (empty) database instead of a new SQLite file.
pub async fn start_on_database(issuer: String, database_url: Option<String>) -> Harness {
    start_with_database(Some(issuer), OutboundConfig::default(), database_url).await
}

async fn start_with_database(
    issuer: Option<String>,
    engine_config: OutboundConfig,
    database_url: Option<String>,
) -> Harness {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let directory = tempfile::tempdir().unwrap();
    let database_url = database_url.unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=rwc",
            directory.path().join("trestle.db").display()
        )
    });
    let store = Store::connect(&database_url).await.unwrap();
    let organization = store
        .organizations()
        .create("Seed org")
        .await
        .unwrap()
        .organization
        .id;
    let password_hash = password::hash_password("correct horse battery staple").unwrap();
    let (user, _) = store
        .users()
        .create_in_organization(
            organization,
            &NewUser {
                email: "operator@example.test",
                display_name: "Operator",
                password_hash: &password_hash,
                must_change_password: false,
            },
            Role::Admin,
        )
        .await
        .unwrap();
    store.platform_admins().grant(user.id).await.unwrap();
    let token = store
        .api_tokens()
        .issue(organization, "seed test", Some(user.id), None)
        .await
        .unwrap()
        .token
        .expose()
        .to_owned();

    let config = server_config(&database_url, directory.path());
    let vault = Arc::new(Vault::new(Keyring::generate().unwrap()));
    let manager = Arc::new(ConnectionManager::new(
        store.clone(),
        vault.clone(),
        token_client(&config),
        manager_config(),
    ));
    let services: &[(&str, &str)] = if issuer.is_some() {
        &[
            ("oidc_test", "https://www.zohoapis.com/bigin/v2"),
            ("oidc_test_other", "https://books.zoho.com/api/v3"),
        ]
    } else {
        &[]
    };
    for (key, base) in services {
        manager
            .save_custom_service(
                organization,
                custom_service(issuer.as_deref().unwrap_or_default(), key, base),
                false,
            )
            .await
            .unwrap();
    }
    let connections: &[(&str, &str)] = if issuer.is_some() {
        &[
            ("oidc_test", "biginconnection"),
            ("oidc_test_other", "booksconnection"),
        ]
    } else {
        &[]
    };
    for &(service_key, name) in connections {
        manager
            .create_connection(
                organization,
                CreateConnection {
                    namespace: "biginandbooksconnectionnew".into(),
                    name: name.into(),
                    link_name: Some(name.into()),
                    service_key: service_key.into(),
                    ..CreateConnection::default()
                },
            )
            .await
            .unwrap();
        let link_name = format!("biginandbooksconnectionnew__{name}");
        authorize(&manager, organization, &link_name, service_key).await;
    }

    let engine = OutboundEngine::new(engine_config).unwrap();
    let runtime = Arc::new(FunctionRuntime::new(engine, manager));
    let (address, shutdown) = serve_runtime(&store, config, runtime.clone()).await;

    let bigin = MockServer::start().await;
    let books = MockServer::start().await;
    let harness = Harness {
        base_url: format!("http://{address}"),
        database_url,
        vault,
        store,
        organization,
        token,
        runtime,
        bigin,
        books,
        issuer: issuer.unwrap_or_default(),
        client: reqwest::Client::new(),
        _directory: directory,
        _shutdown: shutdown,
    };
    // Operator configuration (API tokens never carry platform-admin rights, so the PUT
    // endpoint refuses them; the operator's configuration path is the runtime itself).
    harness
        .runtime
        .set_routes(
            harness.organization,
            EnvironmentKind::Sandbox,
            vec![
                trestle_runtime::EgressRoute {
                    host: "www.zohoapis.com".into(),
                    target: harness.bigin.uri(),
                },
                trestle_runtime::EgressRoute {
                    host: "books.zoho.com".into(),
                    target: harness.books.uri(),
                },
            ],
        )
        .await
        .unwrap();
    let shown: Value = harness
        .client
        .get(format!(
            "{}/api/v1/environments/sandbox/egress-routes",
            harness.base_url
        ))
        .bearer_auth(&harness.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Listed by host.
    assert_eq!(shown["routes"][0]["host"], "books.zoho.com", "{shown}");
    harness
}

fn manager_config() -> ManagerConfig {
    let mut manager_config = ManagerConfig::new(Url::parse(PUBLIC_BASE_URL).unwrap());
    manager_config.refresh_jitter = std::time::Duration::from_millis(0);
    manager_config.allow_http_loopback = true;
    manager_config
}

/// The server's config: a free loopback port, and `egress.allow` opening loopback for the
/// stand-ins (oidc-provider's token endpoint) as a local deployment configures it.
fn server_config(database_url: &str, data_dir: &std::path::Path) -> ServerConfig {
    ServerConfig::resolve(
        ConfigLayer {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            db: Some(database_url.to_owned()),
            data_dir: Some(data_dir.to_owned()),
            egress: Some(trestle_server::config::EgressLayer {
                allow: Some(vec!["127.0.0.1/32".to_owned()]),
            }),
            ..ConfigLayer::default()
        },
        ConfigLayer::default(),
        None,
    )
    .unwrap()
}

/// The token client `trestle serve` builds: behind the egress guard, with the config's policy.
fn token_client(config: &ServerConfig) -> TokenClient {
    TokenClient::with_egress_policy(config.egress_policy.clone()).unwrap()
}

/// Serves the API with `runtime` on a free loopback port until the sender is dropped.
async fn serve_runtime(
    store: &Store,
    config: ServerConfig,
    runtime: Arc<FunctionRuntime>,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = trestle_server::run::bind(config.listen).await.unwrap();
    let address = listener.local_addr().unwrap();
    let state = AppState::new(store.clone(), config).with_functions(runtime);
    let (shutdown, shutdown_receiver) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        trestle_server::serve(listener, state, async move {
            let _ = shutdown_receiver.await;
        })
        .await
        .unwrap();
    });
    (address, shutdown)
}

/// Another server process of the same deployment: its own store handle, connection manager,
/// runtime and per-process caches, on the same database and master key.
pub struct SecondServer {
    pub base_url: String,
    pub runtime: Arc<FunctionRuntime>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Harness {
    pub async fn start_second_server(&self) -> SecondServer {
        let store = Store::connect(&self.database_url).await.unwrap();
        let config = server_config(&self.database_url, self._directory.path());
        let manager = Arc::new(ConnectionManager::new(
            store.clone(),
            self.vault.clone(),
            token_client(&config),
            manager_config(),
        ));
        let engine = OutboundEngine::new(OutboundConfig::default()).unwrap();
        let runtime = Arc::new(FunctionRuntime::new(engine, manager));
        let (address, shutdown) = serve_runtime(&store, config, runtime.clone()).await;
        SecondServer {
            base_url: format!("http://{address}"),
            runtime,
            _shutdown: shutdown,
        }
    }
}

async fn authorize(
    manager: &ConnectionManager,
    organization: OrganizationId,
    link_name: &str,
    service_key: &str,
) {
    let pending = manager
        .begin_authorization(organization, link_name, EnvironmentKind::Sandbox)
        .await
        .unwrap();
    let launch_token = pending
        .launch_url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let launched = manager.launch_authorization(&launch_token).await.unwrap();
    let callback = trestle_testkit::oidc_provider::walk_login_and_consent(
        &trestle_testkit::oidc_provider::browser(),
        &launched.provider_url,
        PUBLIC_BASE_URL,
    )
    .await;
    assert_eq!(
        callback.path(),
        format!("/api/v1/oauth/callback/{service_key}")
    );
    let pairs: Vec<(String, String)> = callback.query_pairs().into_owned().collect();
    manager
        .complete_authorization(service_key, &pairs, Some(&launched.browser_binding))
        .await
        .unwrap();
}
