//! Per-environment service overrides and stand-in routes, end to end over real HTTP:
//! - the BUILT-IN `zoho_books` service with its OAuth endpoints overridden to oidc-provider and
//!   its OAuth client set by the operator, `books.zoho.com` routed to a wiremock Books stand-in;
//! - the BUILT-IN `bigin` service pointed at this Trestle (operator-fixed `accounts_server` and
//!   `api_domain`), authorized through Trestle's own consent page and token endpoint;
//! - the unchanged seed script run through `functions/run` in the sandbox reads the contact
//!   from Trestle's CRM and creates it in the Books stand-in;
//! - a second server on the same database sees the same routes and overrides and runs the same
//!   script with the connections the first one authorized;
//! - nothing applies to production; secrets never come back from the API or the audit log.
//!
//! Runs on SQLite and on PostgreSQL (TRESTLE_TEST_POSTGRES_URL).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::{Auth, Backend, TestDatabase, read, session_cookie_from};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use trestle_connections::{
    ConnectionManager, CreateConnection, EnvironmentKind, ManagerConfig, oauth::TokenClient,
};
use trestle_outbound::{EgressPolicy, OutboundConfig, OutboundEngine};
use trestle_runtime::FunctionRuntime;
use trestle_server::{AppState, ConfigLayer};
use trestle_store::{NewUser, OrganizationId, Role, Store, UserId, password};
use trestle_testkit::variable_or_skip;
use trestle_vault::{Keyring, Vault};
use url::Url;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

backend_tests!(seed_script_with_builtin_services_and_trestle_as_bigin);

/// oidc-provider (test-peers/oidc-provider) registers callbacks under this base URL; the test
/// plays the browser, so nothing listens there.
const CALLBACK_BASE_URL: &str = trestle_testkit::oidc_provider::REGISTERED_CALLBACK_BASE;
const NAMESPACE: &str = "biginandbooksconnectionnew";
const BIGIN_LINK: &str = "biginandbooksconnectionnew__biginconnection";
const BOOKS_LINK: &str = "biginandbooksconnectionnew__booksconnection";
const BOOKS_CLIENT_ID: &str = "crm-connector-post";
const BOOKS_CLIENT_SECRET: &str = "crm-secret-post";
const BOOKS_CONTACT_ID: &str = "460000000026049";
const PASSWORD: &str = "correct horse battery staple";

/// One Trestle server process: the real router with connections and the function runtime,
/// `egress.allow = ["127.0.0.1/32"]` so it can reach itself and the stand-ins on loopback.
struct Instance {
    base_url: String,
    store: Store,
    manager: Arc<ConnectionManager>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

async fn start_instance(database: &TestDatabase, keyring: &Keyring) -> Instance {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let store = Store::connect(&database.url).await.unwrap();
    let listener = trestle_server::run::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let config = trestle_server::ServerConfig::resolve(
        ConfigLayer {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            db: Some(database.url.clone()),
            data_dir: Some(database.data_dir.path().to_owned()),
            public_url: Some(base_url.clone()),
            egress: Some(trestle_server::config::EgressLayer {
                allow: Some(vec!["127.0.0.1/32".to_owned()]),
            }),
            ..ConfigLayer::default()
        },
        ConfigLayer::default(),
        None,
    )
    .unwrap();
    let mut manager_config = ManagerConfig::new(Url::parse(CALLBACK_BASE_URL).unwrap());
    manager_config.refresh_jitter = std::time::Duration::from_millis(0);
    // oidc-provider's access tokens live 120 s; refresh only when really due.
    manager_config.refresh_margin = std::time::Duration::from_secs(10);
    let manager = Arc::new(ConnectionManager::new(
        store.clone(),
        Arc::new(Vault::new(keyring.clone())),
        // The token client `trestle serve` builds: guarded, with the config's `egress.allow`.
        TokenClient::with_egress_policy(config.egress_policy.clone()).unwrap(),
        manager_config,
    ));
    let engine = OutboundEngine::new(OutboundConfig {
        egress: config.egress_policy.clone(),
        ..OutboundConfig::default()
    })
    .unwrap();
    assert_eq!(
        config.egress_policy,
        EgressPolicy::from_allow_list(["127.0.0.1/32"]).unwrap()
    );
    let runtime = Arc::new(FunctionRuntime::new(engine, manager.clone()));
    let state = AppState::new(store.clone(), config)
        .with_connections(manager.clone())
        .with_functions(runtime);
    let (shutdown, shutdown_receiver) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        trestle_server::serve(listener, state, async move {
            let _ = shutdown_receiver.await;
        })
        .await
        .unwrap();
    });
    Instance {
        base_url,
        store,
        manager,
        _shutdown: shutdown,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn call(
    instance: &Instance,
    method: Method,
    path: &str,
    auth: &Auth,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut builder = client().request(method.clone(), format!("{}{path}", instance.base_url));
    builder = match auth {
        Auth::Session { cookie, csrf_token } => {
            let builder = builder.header("cookie", format!("trestle_session={cookie}"));
            if method == Method::GET {
                builder
            } else {
                builder.header("x-csrf-token", csrf_token)
            }
        }
        Auth::Bearer(token) => builder.bearer_auth(token),
        _ => builder,
    };
    if let Some(body) = body {
        builder = builder.json(&body);
    }
    read(builder.send().await.unwrap()).await
}

struct Operator {
    organization: OrganizationId,
    session: Auth,
    token: Auth,
    session_cookie: String,
}

/// A new organization whose admin (`email`, password [`PASSWORD`]) holds an API token.
struct OrganizationAdmin {
    organization: OrganizationId,
    user: UserId,
    token: String,
}

async fn organization_with_admin(
    store: &Store,
    organization_name: &str,
    email: &str,
) -> OrganizationAdmin {
    let organization = store
        .organizations()
        .create(organization_name)
        .await
        .unwrap()
        .organization
        .id;
    let password_hash = password::hash_password(PASSWORD).unwrap();
    let (user, _) = store
        .users()
        .create_in_organization(
            organization,
            &NewUser {
                email,
                display_name: "Admin",
                password_hash: &password_hash,
                must_change_password: false,
            },
            Role::Admin,
        )
        .await
        .unwrap();
    let token = store
        .api_tokens()
        .issue(organization, "overrides test", Some(user.id), None)
        .await
        .unwrap()
        .token
        .expose()
        .to_owned();
    OrganizationAdmin {
        organization,
        user: user.id,
        token,
    }
}

/// The platform operator: admin of the seed organization, signed in, with an API token.
async fn operator(instance: &Instance) -> Operator {
    let admin = organization_with_admin(&instance.store, "Seed org", "operator@example.test").await;
    instance
        .store
        .platform_admins()
        .grant(admin.user)
        .await
        .unwrap();
    let response = client()
        .post(format!("{}/api/v1/auth/login", instance.base_url))
        .json(&json!({ "email": "operator@example.test", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = session_cookie_from(&response).unwrap();
    let body: Value = response.json().await.unwrap();
    Operator {
        organization: admin.organization,
        session: Auth::Session {
            cookie: cookie.clone(),
            csrf_token: body["csrf_token"].as_str().unwrap().to_owned(),
        },
        token: Auth::Bearer(admin.token),
        session_cookie: cookie,
    }
}

fn unescape_html(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Every hidden field of Trestle's consent form.
fn hidden_fields(page: &str) -> Vec<(String, String)> {
    page.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once('"').unwrap();
            let value = rest
                .split_once("value=\"")
                .unwrap()
                .1
                .split('"')
                .next()
                .unwrap();
            (name.to_owned(), unescape_html(value))
        })
        .collect()
}

/// Starts the authorization in Trestle, returns the provider URL and the browser binding.
async fn begin(
    manager: &ConnectionManager,
    organization: OrganizationId,
    link_name: &str,
) -> (Url, String) {
    let pending = manager
        .begin_authorization(organization, link_name, EnvironmentKind::Sandbox)
        .await
        .unwrap();
    let launch_token = pending.launch_url.rsplit('/').next().unwrap().to_owned();
    let launched = manager.launch_authorization(&launch_token).await.unwrap();
    (launched.provider_url, launched.browser_binding)
}

async fn finish(manager: &ConnectionManager, service_key: &str, callback: &Url, binding: &str) {
    assert_eq!(
        callback.path(),
        format!("/api/v1/oauth/callback/{service_key}"),
        "{callback}"
    );
    let pairs: Vec<(String, String)> = callback.query_pairs().into_owned().collect();
    manager
        .complete_authorization(service_key, &pairs, Some(binding))
        .await
        .unwrap();
}

/// The built-in `bigin` service, pointed at this Trestle: Trestle's consent page (signed in as
/// the operator, sandbox chosen) and token endpoint.
async fn authorize_bigin_at_trestle(instance: &Instance, operator: &Operator) {
    let (provider_url, binding) = begin(&instance.manager, operator.organization, BIGIN_LINK).await;
    assert!(
        provider_url
            .as_str()
            .starts_with(&format!("{}/oauth/v2/auth?", instance.base_url)),
        "{provider_url}"
    );
    let page = client()
        .get(provider_url.clone())
        .header(
            "cookie",
            format!("trestle_session={}", operator.session_cookie),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut form = hidden_fields(&page);
    assert!(form.iter().any(|(name, _)| name == "csrf_token"), "{page}");
    form.push((
        "target".into(),
        format!("{}:sandbox", operator.organization),
    ));
    form.push(("decision".into(), "allow".into()));
    let response = client()
        .post(format!("{}/oauth/v2/auth", instance.base_url))
        .header(
            "cookie",
            format!("trestle_session={}", operator.session_cookie),
        )
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let callback = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    // Trestle names itself as the accounts server, which the real Zoho pattern would refuse;
    // the operator fixed it, so it is not captured at all.
    assert!(
        callback
            .query_pairs()
            .any(|(name, value)| name == "accounts-server" && value == instance.base_url.as_str()),
        "{callback}"
    );
    finish(&instance.manager, "bigin", &callback, &binding).await;
}

/// The built-in `zoho_books` service with its endpoints overridden to oidc-provider: walks
/// oidc-provider's login and consent forms until the redirect to Trestle's callback.
async fn authorize_books_at_provider(instance: &Instance, operator: &Operator, issuer: &str) {
    let (provider_url, binding) = begin(&instance.manager, operator.organization, BOOKS_LINK).await;
    assert!(
        provider_url
            .as_str()
            .starts_with(&format!("{issuer}/auth?")),
        "{provider_url}"
    );
    assert!(
        provider_url
            .query_pairs()
            .any(|(name, value)| name == "client_id" && value == BOOKS_CLIENT_ID),
        "the operator's client is used: {provider_url}"
    );
    let callback = trestle_testkit::oidc_provider::walk_login_and_consent(
        &trestle_testkit::oidc_provider::browser(),
        &provider_url,
        CALLBACK_BASE_URL,
    )
    .await;
    finish(&instance.manager, "zoho_books", &callback, &binding).await;
}

async fn run_seed(
    instance: &Instance,
    operator: &Operator,
    script: &str,
    contact_id: &str,
) -> Value {
    let (status, report) = call(
        instance,
        Method::POST,
        "/api/v1/environments/sandbox/functions/run",
        &operator.token,
        Some(
            json!({ "script": script, "arguments": { "contact": { "Contacts.ID": contact_id } } }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert!(report.get("error").is_none(), "{report}");
    report
}

/// Each of `paths` answers 200 with one list, and it is empty.
async fn assert_lists_nothing(instance: &Instance, auth: &Auth, paths: &[&str]) {
    for path in paths {
        let (status, body) = call(instance, Method::GET, path, auth, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body.as_object().unwrap().values().next().unwrap(),
            &json!([]),
            "{path}: {body}"
        );
    }
}

fn json_string_of(request: &wiremock::Request) -> Value {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect();
    let (_, json_string) = pairs
        .iter()
        .find(|(name, _)| name == "JSONString")
        .unwrap_or_else(|| panic!("no JSONString in {pairs:?}"));
    serde_json::from_str(json_string).unwrap()
}

async fn seed_script_with_builtin_services_and_trestle_as_bigin(backend: Backend) {
    let test = "seed_script_with_builtin_services_and_trestle_as_bigin";
    let Some(issuer) = variable_or_skip("TRESTLE_TEST_OIDC_ISSUER", test) else {
        return;
    };
    let Some(seed_dir) = variable_or_skip("TRESTLE_SEED_DIR", test) else {
        return;
    };
    let script =
        std::fs::read_to_string(PathBuf::from(seed_dir).join("sync-contact-to-books.dg")).unwrap();
    let database = TestDatabase::create(backend).await;
    let keyring = Keyring::generate().unwrap();
    let first = start_instance(&database, &keyring).await;
    let operator = operator(&first).await;
    let books = MockServer::start().await;

    // Trestle's own OAuth client for its `bigin` connections (a confidential web client).
    let (status, trestle_client) = call(
        &first,
        Method::POST,
        "/api/v1/oauth-clients",
        &operator.session,
        Some(
            json!({ "organization_id": operator.organization, "name": "Trestle as bigin",
            "client_type": "web",
            "redirect_uris": [format!("{CALLBACK_BASE_URL}/api/v1/oauth/callback/bigin")] }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{trestle_client}");
    let trestle_client_secret = trestle_client["client_secret"].as_str().unwrap().to_owned();

    // --- Operator configuration of the sandbox, over the API ------------------------------
    let bigin_override = json!({
        "client_id": trestle_client["client_id"],
        "client_secret": trestle_client_secret,
        "variables": {
            "accounts_server": first.base_url,
            "api_domain": first.base_url,
            "data_centre": "us",
        },
    });
    let books_override = json!({
        "authorize_url": format!("{issuer}/auth"),
        "token_url": format!("{issuer}/token"),
        "revoke_url": format!("{issuer}/token/revocation"),
        "client_id": BOOKS_CLIENT_ID,
        "client_secret": BOOKS_CLIENT_SECRET,
    });
    // An API token never carries the operator's rights.
    let (status, body) = call(
        &first,
        Method::PUT,
        "/api/v1/environments/sandbox/service-overrides/zoho_books",
        &operator.token,
        Some(books_override.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // Bad input is refused field by field and changes nothing.
    let (status, body) = call(
        &first,
        Method::PUT,
        "/api/v1/environments/sandbox/service-overrides/zoho_books",
        &operator.session,
        Some(json!({ "token_url": "http://accounts.example.test/token",
                     "variables": { "no_such_variable": "x" } })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("token_url") && message.contains("variables.no_such_variable"),
        "{body}"
    );
    let (status, body) = call(
        &first,
        Method::PUT,
        "/api/v1/environments/sandbox/service-overrides/no_such_service",
        &operator.session,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    for (service_key, body) in [("bigin", &bigin_override), ("zoho_books", &books_override)] {
        let (status, shown) = call(
            &first,
            Method::PUT,
            &format!("/api/v1/environments/sandbox/service-overrides/{service_key}"),
            &operator.session,
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{shown}");
        assert_eq!(shown["client_secret_set"], true, "{shown}");
        assert!(shown.get("client_secret").is_none(), "{shown}");
    }
    let (status, routes) = call(
        &first,
        Method::PUT,
        "/api/v1/environments/sandbox/egress-routes",
        &operator.session,
        Some(json!({ "routes": [{ "host": "books.zoho.com", "target": books.uri() }] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{routes}");

    // --- Connections to the built-in services, authorized in the sandbox -------------------
    for (name, service_key, scopes) in [
        ("biginconnection", "bigin", None),
        // oidc-provider knows `openid`, not Zoho's scope names.
        (
            "booksconnection",
            "zoho_books",
            Some(vec!["openid".to_owned()]),
        ),
    ] {
        first
            .manager
            .create_connection(
                operator.organization,
                CreateConnection {
                    namespace: NAMESPACE.into(),
                    name: name.into(),
                    link_name: Some(name.into()),
                    service_key: service_key.into(),
                    scopes,
                    ..CreateConnection::default()
                },
            )
            .await
            .unwrap();
    }
    authorize_bigin_at_trestle(&first, &operator).await;
    authorize_books_at_provider(&first, &operator, &issuer).await;

    // --- The contact lives in Trestle's own CRM (sandbox) ---------------------------------
    let crm_token = {
        let (status, code) = call(
            &first,
            Method::POST,
            &format!(
                "/api/v1/oauth-clients/{}/grant-codes",
                trestle_client["client_id"].as_str().unwrap()
            ),
            &operator.session,
            Some(json!({ "scope": "ZohoBigin.modules.ALL", "environment": "sandbox" })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{code}");
        let response = client()
            .post(format!("{}/oauth/v2/token", first.base_url))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", trestle_client["client_id"].as_str().unwrap()),
                ("client_secret", &trestle_client_secret),
                ("code", code["code"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap();
        let (_, tokens) = read(response).await;
        tokens["access_token"].as_str().unwrap().to_owned()
    };
    let response = client()
        .post(format!("{}/bigin/v2/Contacts", first.base_url))
        .header("authorization", format!("Zoho-oauthtoken {crm_token}"))
        .json(&json!({ "data": [{
            "First_Name": "Ada", "Last_Name": "Lovelace", "Email": "ada@example.com",
            "Phone": "+44 20 7946 0000", "Mobile": "+44 7700 900000",
        }]}))
        .send()
        .await
        .unwrap();
    let (status, inserted) = read(response).await;
    assert_eq!(status, StatusCode::CREATED, "{inserted}");
    let contact_id = inserted["data"][0]["details"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // --- A Deluge task reads the record through the built-in bigin service ----------------
    let (status, report) = call(
        &first,
        Method::POST,
        "/api/v1/environments/sandbox/functions/run",
        &operator.token,
        Some(json!({ "script": format!(
            "r = zoho.bigin.getRecordById(\"Contacts\", id, Map(), \"{BIGIN_LINK}\");\nreturn r;"
        ), "arguments": { "id": contact_id } })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert!(report.get("error").is_none(), "{report}");
    assert_eq!(
        report["return_value"]["data"][0]["Email"], "ada@example.com",
        "{report}"
    );
    assert_eq!(
        report["return_value"]["data"][0]["id"],
        contact_id.as_str(),
        "{report}"
    );

    // --- The unchanged seed script: Bigin = Trestle, Books = the stand-in ------------------
    Mock::given(method("GET"))
        .and(path("/api/v3/contacts"))
        .and(query_param("search_text", "ada@example.com"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "code": 0, "message": "success", "contacts": [] })),
        )
        .mount(&books)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v3/contacts"))
        .and(query_param("organization_id", "XXXXXXX"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "code": 0, "message": "The contact has been added.",
            "contact": { "contact_id": BOOKS_CONTACT_ID, "contact_name": "Ada Lovelace" }
        })))
        .expect(1)
        .mount(&books)
        .await;
    let report = run_seed(&first, &operator, &script, &contact_id).await;
    let info = report["info"].to_string();
    assert!(info.contains("Created Contact: "), "{report}");
    assert!(info.contains(BOOKS_CONTACT_ID), "{report}");
    let received = books.received_requests().await.unwrap();
    let create = received
        .iter()
        .find(|request| request.method.as_str() == "POST")
        .expect("the create request reached the Books stand-in");
    let created = json_string_of(create);
    assert_eq!(created["contact_name"], "Ada Lovelace");
    assert_eq!(created["email"], "ada@example.com");
    assert_eq!(created["mobile"], "+44 7700 900000");
    let books_token = create.headers["authorization"]
        .to_str()
        .unwrap()
        .strip_prefix("Zoho-oauthtoken ")
        .unwrap()
        .to_owned();
    // The credential the stand-in saw is the one oidc-provider issued to the operator's client.
    let introspection: Value = reqwest::Client::new()
        .post(format!("{issuer}/token/introspection"))
        .form(&[
            ("token", books_token.as_str()),
            ("client_id", BOOKS_CLIENT_ID),
            ("client_secret", BOOKS_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspection["active"], true, "{introspection}");
    assert_eq!(
        introspection["client_id"], BOOKS_CLIENT_ID,
        "{introspection}"
    );
    assert!(!report.to_string().contains(&books_token));

    // --- Shown in the API; secrets never come back; nothing applies to production ----------
    let (status, listed) = call(
        &first,
        Method::GET,
        "/api/v1/environments/sandbox/service-overrides",
        &operator.token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let keys: Vec<&str> = listed["service_overrides"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["service_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["bigin", "zoho_books"], "{listed}");
    assert_lists_nothing(
        &first,
        &operator.token,
        &[
            "/api/v1/environments/production/service-overrides",
            "/api/v1/environments/production/egress-routes",
        ],
    )
    .await;
    let (status, audit) = call(
        &first,
        Method::GET,
        &format!("/api/v1/organizations/{}/audit", operator.organization),
        &operator.token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let audit_text = audit.to_string();
    assert!(audit_text.contains("service_override.replaced"), "{audit}");
    for secret in [BOOKS_CLIENT_SECRET, trestle_client_secret.as_str()] {
        assert!(!listed.to_string().contains(secret));
        assert!(
            !audit_text.contains(secret),
            "the audit log holds a client secret"
        );
    }

    // Another organization's token sees none of them.
    let other = organization_with_admin(&first.store, "Other org", "other@example.test").await;
    let other_token = Auth::Bearer(other.token);
    assert_lists_nothing(
        &first,
        &other_token,
        &[
            "/api/v1/environments/sandbox/service-overrides",
            "/api/v1/environments/sandbox/egress-routes",
        ],
    )
    .await;
    let (status, body) = call(
        &first,
        Method::GET,
        "/api/v1/environments/sandbox/service-overrides/bigin",
        &other_token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // --- A second server on the same database: same routes, same overrides -----------------
    let second = start_instance(&database, &keyring).await;
    let (status, routes) = call(
        &second,
        Method::GET,
        "/api/v1/environments/sandbox/egress-routes",
        &operator.token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(routes["routes"][0]["host"], "books.zoho.com", "{routes}");
    let (_, shown) = call(
        &second,
        Method::GET,
        "/api/v1/environments/sandbox/service-overrides/bigin",
        &operator.token,
        None,
    )
    .await;
    assert_eq!(
        shown["variables"]["api_domain"],
        first.base_url.as_str(),
        "{shown}"
    );
    books.reset().await;
    Mock::given(method("GET"))
        .and(path("/api/v3/contacts"))
        .and(query_param("search_text", "ada@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "code": 0, "message": "success",
            "contacts": [{ "contact_id": BOOKS_CONTACT_ID, "contact_name": "Ada Lovelace" }]
        })))
        .mount(&books)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("/api/v3/contacts/{BOOKS_CONTACT_ID}")))
        .and(query_param("organization_id", "XXXXXXX"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({ "code": 0, "message": "Contact information has been saved." }),
            ),
        )
        .expect(1)
        .mount(&books)
        .await;
    let report = run_seed(&second, &operator, &script, &contact_id).await;
    assert!(
        report["info"]
            .to_string()
            .contains("Contact information has been saved."),
        "{report}"
    );
    // Removing the route on one server takes it away on the other.
    let (status, _) = call(
        &first,
        Method::PUT,
        "/api/v1/environments/sandbox/egress-routes",
        &operator.session,
        Some(json!({ "routes": [] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, routes) = call(
        &second,
        Method::GET,
        "/api/v1/environments/sandbox/egress-routes",
        &operator.token,
        None,
    )
    .await;
    assert_eq!(routes["routes"], json!([]), "{routes}");
    let (status, _) = call(
        &first,
        Method::DELETE,
        "/api/v1/environments/sandbox/service-overrides/zoho_books",
        &operator.session,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call(
        &second,
        Method::GET,
        "/api/v1/environments/sandbox/service-overrides/zoho_books",
        &operator.token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}
