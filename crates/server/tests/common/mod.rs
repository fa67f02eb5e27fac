//! Test harness: the real server on 127.0.0.1:0 over real HTTP, on a real store (SQLite in a
//! temp dir, or a fresh PostgreSQL database when TRESTLE_TEST_POSTGRES_URL is set).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use trestle_connections::{ConnectionManager, ManagerConfig, oauth::TokenClient};
use trestle_outbound::{OutboundConfig, OutboundEngine};
use trestle_runtime::FunctionRuntime;
use trestle_server::{AppState, ConfigLayer, ServerConfig};
use trestle_store::{NewUser, OrganizationId, Role, Store, UserId, password};
use trestle_vault::{Keyring, Vault};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per backend: `backend_tests!(name_of_async_fn);` defines
/// `sqlite::name` and `postgres::name`. The PostgreSQL variant needs TRESTLE_TEST_POSTGRES_URL:
/// without it, it fails when CI=true and otherwise prints that it skipped.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::common::postgres_url(stringify!($name)).is_none() {
                        return;
                    }
                    super::$name($crate::common::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// The PostgreSQL URL, or `None` after printing that the test skipped (panics in CI).
pub fn postgres_url(test_name: &str) -> Option<String> {
    trestle_testkit::variable_or_skip(
        "TRESTLE_TEST_POSTGRES_URL",
        &format!("{test_name} (postgres)"),
    )
}

/// A database for one test: a SQLite file in a temp dir, or a new PostgreSQL database.
pub struct TestDatabase {
    pub url: String,
    pub data_dir: tempfile::TempDir,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> TestDatabase {
        let data_dir = tempfile::tempdir().unwrap();
        let url = match backend {
            Backend::Sqlite => format!(
                "sqlite://{}?mode=rwc",
                data_dir.path().join("trestle.db").display()
            ),
            // A fresh database on the test cluster, so tests never share rows or login
            // counters.
            Backend::Postgres => {
                let cluster_url = std::env::var("TRESTLE_TEST_POSTGRES_URL").unwrap();
                trestle_testkit::postgres::create_database(&cluster_url, "trestle_server_test")
                    .await
            }
        };
        TestDatabase { url, data_dir }
    }
}

/// A running server plus direct access to its store for seeding.
pub struct TestServer {
    pub address: SocketAddr,
    pub base_url: String,
    pub store: Store,
    pub client: reqwest::Client,
    pub database: TestDatabase,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// `egress.allow = ["127.0.0.1/32"]`: what an operator running Trestle beside loopback
/// stand-ins (wiremock providers, oidc-provider) configures.
pub fn loopback_egress_allowed() -> ConfigLayer {
    ConfigLayer {
        egress: Some(trestle_server::config::EgressLayer {
            allow: Some(vec!["127.0.0.1/32".to_owned()]),
        }),
        ..ConfigLayer::default()
    }
}

/// Config for tests: defaults plus the given overrides.
pub fn test_config(database: &TestDatabase, overrides: ConfigLayer) -> ServerConfig {
    let flags = ConfigLayer {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        db: Some(database.url.clone()),
        data_dir: Some(database.data_dir.path().to_owned()),
        ..overrides
    };
    ServerConfig::resolve(flags, ConfigLayer::default(), None).unwrap()
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        TestServer::start_with(backend, ConfigLayer::default()).await
    }

    pub async fn start_with(backend: Backend, overrides: ConfigLayer) -> TestServer {
        let database = TestDatabase::create(backend).await;
        TestServer::start_on(database, overrides).await
    }

    /// Starts a server on an existing database (for two servers sharing one).
    pub async fn start_on(database: TestDatabase, overrides: ConfigLayer) -> TestServer {
        TestServer::start_serving(database, overrides, |state, _| state).await
    }

    /// A server whose connections and functions are live, wired as `trestle serve` wires
    /// them: `egress.allow` opens loopback (the wiremock providers), and the connection
    /// manager's token client and the function runtime's outbound engine both take that
    /// policy from the resolved config. The manager has a fresh vault key and OAuth callbacks
    /// under this server's own URL (plain HTTP to loopback allowed). The runtime is returned
    /// for routing API hosts to stand-ins.
    pub async fn start_with_connections(backend: Backend) -> (TestServer, Arc<FunctionRuntime>) {
        let database = TestDatabase::create(backend).await;
        let mut runtime = None;
        let server =
            TestServer::start_serving(database, loopback_egress_allowed(), |state, base_url| {
                let mut manager_config = ManagerConfig::new(url::Url::parse(base_url).unwrap());
                manager_config.allow_http_loopback = true;
                let manager = Arc::new(ConnectionManager::new(
                    state.store.clone(),
                    Arc::new(Vault::new(Keyring::generate().unwrap())),
                    TokenClient::with_egress_policy(state.config.egress_policy.clone()).unwrap(),
                    manager_config,
                ));
                let function_runtime = Arc::new(FunctionRuntime::new(
                    OutboundEngine::new(OutboundConfig {
                        egress: state.config.egress_policy.clone(),
                        ..OutboundConfig::default()
                    })
                    .unwrap(),
                    manager.clone(),
                ));
                runtime = Some(function_runtime.clone());
                state
                    .with_connections(manager)
                    .with_functions(function_runtime)
            })
            .await;
        (server, runtime.unwrap())
    }

    /// Binds 127.0.0.1:0, lets `complete_state` add to the plain state (it gets the server's
    /// base URL) and serves until dropped or stopped.
    async fn start_serving(
        database: TestDatabase,
        overrides: ConfigLayer,
        complete_state: impl FnOnce(AppState, &str) -> AppState,
    ) -> TestServer {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = test_config(&database, overrides);
        let store = Store::connect(&config.database_url).await.unwrap();
        let listener = trestle_server::run::bind(config.listen).await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = complete_state(
            AppState::new(store.clone(), config),
            &format!("http://{address}"),
        );
        let (shutdown_sender, shutdown_receiver) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            trestle_server::serve(listener, state, async move {
                let _ = shutdown_receiver.await;
            })
            .await
            .unwrap();
        });
        TestServer {
            address,
            base_url: format!("http://{address}"),
            store,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            database,
            shutdown: Some(shutdown_sender),
            task: Some(task),
        }
    }

    /// Stops the server and returns its database, for a second server to reuse.
    pub async fn stop(mut self) -> TestDatabase {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        self.store.close().await;
        let database = TestDatabase {
            url: self.database.url.clone(),
            data_dir: tempfile::tempdir().unwrap(),
        };
        std::mem::replace(&mut self.database, database)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A request with the given authentication.
    pub fn request(&self, method: Method, path: &str, auth: &Auth) -> reqwest::RequestBuilder {
        let builder = self.client.request(method.clone(), self.url(path));
        auth.apply(builder, &method)
    }

    /// Sends a request with a JSON body and returns status and parsed body (Null when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut builder = self.request(method, path, auth);
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        let response = builder.send().await.unwrap();
        read(response).await
    }

    /// `GET /api/v1/me`: who `auth` is, or why it is refused.
    pub async fn me(&self, auth: &Auth) -> (StatusCode, Value) {
        self.call(Method::GET, "/api/v1/me", auth, None).await
    }

    /// Creates an organization directly in the store.
    pub async fn create_organization(&self, name: &str) -> OrganizationId {
        self.store
            .organizations()
            .create(name)
            .await
            .unwrap()
            .organization
            .id
    }

    /// Creates a user with a known password and a role in the organization.
    pub async fn create_member(&self, organization_id: OrganizationId, role: Role) -> TestUser {
        let email = format!("{}@example.test", uuid::Uuid::new_v4().simple());
        let password_text = "correct horse battery staple".to_owned();
        let password_hash = password::hash_password(&password_text).unwrap();
        let (user, _) = self
            .store
            .users()
            .create_in_organization(
                organization_id,
                &NewUser {
                    email: &email,
                    display_name: "Test User",
                    password_hash: &password_hash,
                    must_change_password: false,
                },
                role,
            )
            .await
            .unwrap();
        TestUser {
            id: user.id,
            email,
            password: password_text,
        }
    }

    /// Signs in over HTTP and returns the session.
    pub async fn login(&self, user: &TestUser) -> Auth {
        let response = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "email": user.email, "password": user.password }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "login of {}", user.email);
        let cookie = session_cookie_from(&response).expect("session cookie");
        let body: Value = response.json().await.unwrap();
        Auth::Session {
            cookie,
            csrf_token: body["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Issues an API token directly in the store, acting for `user`.
    pub async fn issue_token(&self, organization_id: OrganizationId, user: &TestUser) -> Auth {
        Auth::Bearer(self.issue_token_text(organization_id, user).await)
    }

    /// Like [`TestServer::issue_token`], the token itself.
    pub async fn issue_token_text(
        &self,
        organization_id: OrganizationId,
        user: &TestUser,
    ) -> String {
        let issued = self
            .store
            .api_tokens()
            .issue(organization_id, "test token", Some(user.id), None)
            .await
            .unwrap();
        issued.token.expose().to_owned()
    }

    /// An organization with an admin, a developer and a plain user, each signed in.
    pub async fn organization_with_members(&self, name: &str) -> TestOrganization {
        let id = self.create_organization(name).await;
        let admin = self.create_member(id, Role::Admin).await;
        let developer = self.create_member(id, Role::Developer).await;
        let user = self.create_member(id, Role::User).await;
        let admin_session = self.login(&admin).await;
        let admin_token = self.issue_token(id, &admin).await;
        TestOrganization {
            id,
            admin,
            developer,
            user,
            admin_session,
            admin_token,
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
    }
}

pub struct TestUser {
    pub id: UserId,
    pub email: String,
    pub password: String,
}

pub struct TestOrganization {
    pub id: OrganizationId,
    pub admin: TestUser,
    pub developer: TestUser,
    pub user: TestUser,
    pub admin_session: Auth,
    pub admin_token: Auth,
}

/// How a test request authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Session {
        cookie: String,
        csrf_token: String,
    },
    /// A session cookie but no CSRF header.
    SessionWithoutCsrf {
        cookie: String,
    },
    Bearer(String),
}

impl Auth {
    fn apply(&self, builder: reqwest::RequestBuilder, method: &Method) -> reqwest::RequestBuilder {
        match self {
            Auth::None => builder,
            Auth::Session { cookie, csrf_token } => {
                let builder = builder.header("cookie", format!("trestle_session={cookie}"));
                if *method == Method::GET || *method == Method::HEAD {
                    builder
                } else {
                    builder.header("x-csrf-token", csrf_token)
                }
            }
            Auth::SessionWithoutCsrf { cookie } => {
                builder.header("cookie", format!("trestle_session={cookie}"))
            }
            Auth::Bearer(token) => builder.bearer_auth(token),
        }
    }

    pub fn without_csrf(&self) -> Auth {
        match self {
            Auth::Session { cookie, .. } => Auth::SessionWithoutCsrf {
                cookie: cookie.clone(),
            },
            other => other.clone(),
        }
    }
}

/// Sends `request` with the bearer `token` and returns status and parsed body (Null when not
/// JSON); fails the test when the answer contains any of `secrets`.
pub async fn send_revealing_none_of(
    request: reqwest::RequestBuilder,
    token: &str,
    secrets: &[&str],
) -> (u16, Value) {
    let response = request.bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    for secret in secrets {
        assert!(!text.contains(secret), "a secret in an API answer: {text}");
    }
    (
        status,
        serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
    )
}

/// The `name` parameter of `url`'s query.
pub fn query_parameter(url: &url::Url, name: &str) -> String {
    url.query_pairs()
        .find(|(parameter, _)| parameter == name)
        .unwrap_or_else(|| panic!("no {name} in {url}"))
        .1
        .into_owned()
}

/// The session token from a `Set-Cookie: trestle_session=...` header.
pub fn session_cookie_from(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix("trestle_session="))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        .filter(|value| !value.is_empty())
}

/// Status and JSON body (Null for an empty body; panics on a non-JSON body so tests notice).
pub async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    if text.is_empty() {
        return (status, Value::Null);
    }
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text}"));
    (status, body)
}

/// Asserts the standard error shape and returns the code.
pub fn assert_error_shape(status: StatusCode, body: &Value) -> String {
    assert!(
        status.is_client_error() || status.is_server_error(),
        "expected an error status, got {status}: {body}"
    );
    let object = body
        .as_object()
        .unwrap_or_else(|| panic!("error body is not an object: {body}"));
    assert!(object["code"].is_string(), "no code: {body}");
    assert!(object["message"].is_string(), "no message: {body}");
    assert!(object.contains_key("details"), "no details: {body}");
    assert_eq!(object.len(), 3, "unexpected keys: {body}");
    let message = object["message"].as_str().unwrap();
    assert!(!message.is_empty());
    object["code"].as_str().unwrap().to_owned()
}

/// Replaces ids, times and secrets with stable placeholders for snapshots.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| {
                    let redacted = match (key.as_str(), value) {
                        (_, Value::Null) => Value::Null,
                        ("csrf_token" | "token" | "one_time_password", _) => {
                            Value::String("[secret]".to_owned())
                        }
                        ("email", Value::String(_)) => Value::String("[email]".to_owned()),
                        (key, Value::String(_))
                            if key == "id" || key.ends_with("_id") || key == "created_by" =>
                        {
                            Value::String("[id]".to_owned())
                        }
                        (key, Value::String(_)) if key.ends_with("_at") => {
                            Value::String("[time]".to_owned())
                        }
                        ("prefix", Value::String(_)) => Value::String("[prefix]".to_owned()),
                        _ => redact(value),
                    };
                    (key.clone(), redacted)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}
