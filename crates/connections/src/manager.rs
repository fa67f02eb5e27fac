//! [`ConnectionManager`]: creating connections, authorizing them, handing out credentials for
//! outbound requests and keeping OAuth tokens fresh.
//!
//! # Exactly one refresh per connection at a time
//! 1. In process: one async mutex per (connection, environment). Waiters re-read the row after
//!    taking it and return what the holder stored.
//! 2. Across processes: a lease on the row (`refresh_lease_holder`, `refresh_lease_until`),
//!    taken by compare-and-set. A process that cannot take it polls the row until the
//!    credentials version changes (someone refreshed) or the lease expires.
//! 3. After taking the lease the row is read again; if its credentials version moved since the
//!    caller read it, someone else already refreshed and nothing is sent to the service.
//! 4. The new tokens (including a rotated refresh token) are written, guarded by the lease,
//!    before the new access token is handed to anyone.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::{Value, json};
use trestle_outbound::{CredentialAttachment, HostAllowList};
use trestle_services::{AuthType, Catalog, ResolvedService, ServiceDefinition, ServicesError};
use trestle_store::connections::{
    ConnectionChanges, ConnectionEnvironmentRecord, ConnectionId, ConnectionRecord,
    ConnectionStatus, CredentialWrite, CustomServiceRecord, NewConnection,
    OAuthAuthorizationRecord, client_secret_associated_data, code_verifier_associated_data,
    credentials_associated_data, custom_service_associated_data,
};
use trestle_store::{
    CROSS_PROCESS_STALENESS, ChangeDomain, EnvironmentKind, OrganizationId, ReadCache, Store,
    StoreError,
};
use trestle_vault::{SecretString, Vault, VaultError};
use url::Url;

use crate::model::{ConnectionView, StoredCredentials, list_json, map_json, parse_list, parse_map};
use crate::oauth::{
    self, AuthorizeRequest, ClientAuthentication, Revocation, RevocationTokenPlacement,
    TokenClient, TokenEndpoint, TokenFailure, TokenResponse,
};
use crate::secret::Secret;
use crate::{ConnectionError, link_name, pkce};

mod oauth1_flow;

/// Path of the per-service OAuth callback, under the public base URL.
pub const CALLBACK_PATH_PREFIX: &str = "/api/v1/oauth/callback/";
/// Path of the launch endpoint that binds a pending authorization to the browser.
pub const LAUNCH_PATH_PREFIX: &str = "/api/v1/oauth/launch/";
/// Cookie carrying the browser binding between launch and callback.
pub const BROWSER_BINDING_COOKIE: &str = "trestle_oauth_binding";

/// An OAuth client registered at a provider (client id and secret).
#[derive(Clone, Debug)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: Option<SecretString>,
}

/// Tuning of the manager. [`ManagerConfig::new`] gives production defaults.
#[derive(Clone, Debug)]
pub struct ManagerConfig {
    /// Where browsers reach this Trestle (callback and launch URLs are built from it).
    pub public_base_url: Url,
    /// Refresh this long before expiry…
    pub refresh_margin: Duration,
    /// …plus a random part up to this, so many connections do not refresh together.
    pub refresh_jitter: Duration,
    /// How long a pending authorization (state + PKCE verifier) lives.
    pub authorization_lifetime: Duration,
    /// How long a refresh lease is held at most (a crashed holder's lease expires).
    pub refresh_lease: Duration,
    /// How long a caller waits for another process's refresh.
    pub refresh_wait: Duration,
    /// Attempts for a refresh that fails transiently (5xx, timeouts).
    pub refresh_attempts: u32,
    /// First back-off delay between attempts (doubles each time).
    pub refresh_backoff: Duration,
    /// OAuth clients of built-in services, by service key (operator configuration).
    pub oauth_apps: BTreeMap<String, OAuthApp>,
    /// Names this process in lease rows.
    pub instance_name: String,
    /// Accept `http://` loopback URLs in custom services (local development and tests only).
    pub allow_http_loopback: bool,
}

impl ManagerConfig {
    pub fn new(public_base_url: Url) -> Self {
        ManagerConfig {
            public_base_url,
            refresh_margin: Duration::from_secs(5 * 60),
            refresh_jitter: Duration::from_secs(60),
            authorization_lifetime: Duration::from_secs(10 * 60),
            refresh_lease: Duration::from_secs(30),
            refresh_wait: Duration::from_secs(40),
            refresh_attempts: 3,
            refresh_backoff: Duration::from_millis(250),
            oauth_apps: BTreeMap::new(),
            instance_name: format!("trestle-{}", uuid::Uuid::new_v4().simple()),
            allow_http_loopback: false,
        }
    }
}

/// A service as a connection sees it: the definition plus, for custom services, its client.
#[derive(Clone, Debug)]
pub struct ServiceEntry {
    pub definition: ServiceDefinition,
    pub custom_client: Option<OAuthApp>,
    /// The operator's OAuth client for this service in one environment (service overrides).
    pub operator_client: Option<OAuthApp>,
}

/// What [`ConnectionManager::create_connection`] needs.
#[derive(Clone, Debug, Default)]
pub struct CreateConnection {
    pub namespace: String,
    pub name: String,
    /// The part after `__`; generated from `name` when absent.
    pub link_name: Option<String>,
    pub service_key: String,
    /// Requested scopes; the service's default scopes when absent.
    pub scopes: Option<Vec<String>>,
    pub settings: BTreeMap<String, String>,
    /// Overrides the service's OAuth client for this connection.
    pub oauth_client_id: Option<String>,
    pub oauth_client_secret: Option<SecretString>,
}

/// What [`ConnectionManager::update_connection`] changes; `None` keeps a value.
#[derive(Clone, Debug, Default)]
pub struct UpdateConnection {
    pub name: Option<String>,
    /// The part after `__`; refused once the connection has been authorized.
    pub link_name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub settings: Option<BTreeMap<String, String>>,
}

/// A started authorization: the user opens `launch_url` in the browser that should complete it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PendingAuthorization {
    pub link_name: String,
    pub environment: EnvironmentKind,
    pub launch_url: String,
    pub callback_url: String,
    pub expires_at: DateTime<Utc>,
}

/// The answer of the launch endpoint: where to send the browser, and the cookie value that
/// binds the flow to it.
#[derive(Debug)]
pub struct LaunchedAuthorization {
    pub provider_url: Url,
    pub browser_binding: String,
    pub expires_at: DateTime<Utc>,
}

/// The outcome of a successful callback.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CompletedAuthorization {
    pub link_name: String,
    pub environment: EnvironmentKind,
    pub status: ConnectionStatus,
    pub granted_scopes: Vec<String>,
}

/// What to attach to an outbound request for one connection.
#[derive(Clone, Debug)]
pub struct RequestCredential {
    pub attachment: CredentialAttachment,
    pub service: ResolvedService,
    /// API statuses that mean "token expired" for this service (401, sometimes 403).
    pub expired_token_statuses: Vec<u16>,
    /// Whether a refresh can help after such a status.
    pub refreshable: bool,
    pub(crate) connection_id: ConnectionId,
    pub(crate) credentials_version: i64,
}

/// Outcome of [`ConnectionManager::reencrypt_all`].
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ReencryptionReport {
    pub examined: usize,
    pub reencrypted: usize,
    pub changed_concurrently: usize,
}

/// Host policy of a resolved service, as the outbound engine wants it.
struct ServiceHosts(trestle_services::HostPolicy);

impl HostAllowList for ServiceHosts {
    fn allows_host(&self, host: &str) -> bool {
        self.0.allows(host)
    }

    fn describe(&self) -> String {
        self.0.hosts().collect::<Vec<_>>().join(", ")
    }

    /// Plain http only when every allowed host is a loopback host: a service the operator
    /// pointed at a local stand-in or at this Trestle on loopback. Resolution accepts http
    /// URLs for loopback hosts only, so no token crosses a network in clear text.
    fn allows_plain_http(&self) -> bool {
        let mut hosts = self.0.hosts().peekable();
        hosts.peek().is_some()
            && hosts.all(|host| {
                let host = host.trim_start_matches('[').trim_end_matches(']');
                host.eq_ignore_ascii_case("localhost")
                    || host
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|address| address.is_loopback())
            })
    }
}

type RefreshLocks = Mutex<HashMap<(ConnectionId, EnvironmentKind), Arc<tokio::sync::Mutex<()>>>>;

/// A connection's credential by (organization, environment, link name).
type CredentialKey = (OrganizationId, EnvironmentKind, String);

/// What every request through a connection needs (the connection row, its service with the
/// environment's overrides, the environment's credentials decrypted), kept per process so an
/// unchanged connection costs no store query. Freshness is the store's read-cache rule: any
/// write to connections, custom services or service overrides through this process drops it at
/// once; a change made through another process is seen within
/// [`CROSS_PROCESS_STALENESS`]; a token refreshed elsewhere is picked up after the service
/// answers 401 (the entry is dropped and the row re-read). The expiry travels with the entry,
/// so a token due for refresh is never served from it.
#[derive(Clone)]
struct CachedCredential {
    /// Shared, so a cache hit costs a reference count, not a copy of the service definition
    /// and the secrets.
    credential: Arc<RequestCredential>,
    refresh_by_expiry: bool,
    expires_at: Option<DateTime<Utc>>,
    obtained_at: Option<DateTime<Utc>>,
}

/// Most connections cached at once per process (beyond that the cache starts over).
const MAX_CACHED_CREDENTIALS: usize = 10_000;

/// Connections of every organization, on one store.
pub struct ConnectionManager {
    store: Store,
    vault: Arc<Vault>,
    catalog: &'static Catalog,
    tokens: TokenClient,
    config: ManagerConfig,
    refresh_locks: RefreshLocks,
    credentials: ReadCache<CredentialKey, CachedCredential>,
}

impl std::fmt::Debug for ConnectionManager {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ConnectionManager")
            .field("instance", &self.config.instance_name)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

fn store_error(error: StoreError) -> ConnectionError {
    ConnectionError::Storage {
        code: error.code(),
        message: error.to_string(),
    }
}

fn vault_error(error: VaultError) -> ConnectionError {
    ConnectionError::Vault {
        code: error.code(),
        message: error.to_string(),
    }
}

fn services_error(service_key: &str, error: ServicesError) -> ConnectionError {
    match error {
        ServicesError::ServiceNotFound { key } => {
            ConnectionError::ServiceNotFound { service_key: key }
        }
        other => ConnectionError::ServiceDefinition {
            service_key: service_key.to_string(),
            message: other.to_string(),
        },
    }
}

fn chrono_duration(duration: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::MAX)
}

impl ConnectionManager {
    pub fn new(
        store: Store,
        vault: Arc<Vault>,
        tokens: TokenClient,
        config: ManagerConfig,
    ) -> Self {
        let credentials = ReadCache::new(
            &store,
            &[ChangeDomain::Connections, ChangeDomain::ServiceOverrides],
            CROSS_PROCESS_STALENESS,
            MAX_CACHED_CREDENTIALS,
        );
        ConnectionManager {
            store,
            vault,
            catalog: Catalog::builtin(),
            tokens,
            config,
            refresh_locks: Mutex::new(HashMap::new()),
            credentials,
        }
    }

    pub fn config(&self) -> &ManagerConfig {
        &self.config
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The callback URL registered at providers for a service.
    pub fn callback_url(&self, service_key: &str) -> String {
        let base = self.config.public_base_url.as_str().trim_end_matches('/');
        format!("{base}{CALLBACK_PATH_PREFIX}{service_key}")
    }

    // ----- services -------------------------------------------------------------------------

    /// A built-in or custom service of the organization.
    pub async fn service(
        &self,
        organization_id: OrganizationId,
        service_key: &str,
    ) -> Result<ServiceEntry, ConnectionError> {
        if let Some(definition) = self.catalog.get(service_key) {
            return Ok(ServiceEntry {
                definition: definition.clone(),
                custom_client: None,
                operator_client: None,
            });
        }
        let record = self
            .store
            .connections()
            .custom_service(organization_id, service_key)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ConnectionError::ServiceNotFound {
                service_key: service_key.to_string(),
            })?;
        self.custom_entry(&record)
    }

    fn custom_entry(&self, record: &CustomServiceRecord) -> Result<ServiceEntry, ConnectionError> {
        let definition: ServiceDefinition =
            serde_json::from_str(&record.definition).map_err(|error| {
                ConnectionError::ServiceDefinition {
                    service_key: record.service_key.clone(),
                    message: format!("stored definition unreadable: {error}"),
                }
            })?;
        let decrypt = |field: &str,
                       ciphertext: &Option<Vec<u8>>|
         -> Result<Option<SecretString>, ConnectionError> {
            match ciphertext {
                Some(bytes) => self
                    .vault
                    .decrypt_secret(
                        bytes,
                        &custom_service_associated_data(
                            record.organization_id,
                            &record.service_key,
                            field,
                        ),
                    )
                    .map(Some)
                    .map_err(vault_error),
                None => Ok(None),
            }
        };
        let client_id = decrypt("client_id", &record.client_id)?;
        let client_secret = decrypt("client_secret", &record.client_secret)?;
        let custom_client = client_id.map(|client_id| OAuthApp {
            client_id: client_id.expose_secret().to_string(),
            client_secret,
        });
        Ok(ServiceEntry {
            definition,
            custom_client,
            operator_client: None,
        })
    }

    /// Every service the organization can use: built-in first, then custom.
    pub async fn list_services(
        &self,
        organization_id: OrganizationId,
    ) -> Result<Vec<ServiceDefinition>, ConnectionError> {
        let mut services: Vec<ServiceDefinition> = self.catalog.list().to_vec();
        for record in self
            .store
            .connections()
            .custom_services(organization_id)
            .await
            .map_err(store_error)?
        {
            services.push(self.custom_entry(&record)?.definition);
        }
        Ok(services)
    }

    /// Creates (or, with `replace`, updates) a custom service from Zoho's custom-service form.
    pub async fn save_custom_service(
        &self,
        organization_id: OrganizationId,
        input: trestle_services::CustomServiceInput,
        replace: bool,
    ) -> Result<ServiceDefinition, ConnectionError> {
        let key = input.service_link_name.clone();
        let options = trestle_services::ValidationOptions {
            allow_http_loopback: self.config.allow_http_loopback,
        };
        let validated = input
            .validate_with(&options)
            .map_err(|error| services_error(&key, error))?;
        let definition = validated.definition;
        if self.catalog.get(&definition.key).is_some() {
            return Err(ConnectionError::InvalidInput {
                field: "service_link_name".to_string(),
                message: format!(
                    "`{}` is a built-in service; choose another link name",
                    definition.key
                ),
            });
        }
        let encrypt = |field: &str,
                       value: &Option<SecretString>|
         -> Result<Option<Vec<u8>>, ConnectionError> {
            value
                .as_ref()
                .map(|secret| {
                    self.vault
                        .encrypt_secret(
                            secret,
                            &custom_service_associated_data(
                                organization_id,
                                &definition.key,
                                field,
                            ),
                        )
                        .map_err(vault_error)
                })
                .transpose()
        };
        let record = CustomServiceRecord {
            organization_id,
            service_key: definition.key.clone(),
            definition: serde_json::to_string(&definition).map_err(|error| {
                ConnectionError::ServiceDefinition {
                    service_key: definition.key.clone(),
                    message: error.to_string(),
                }
            })?,
            client_id: encrypt("client_id", &validated.client_id)?,
            client_secret: encrypt("client_secret", &validated.client_secret)?,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        self.store
            .connections()
            .save_custom_service(&record, !replace)
            .await
            .map_err(|error| match error {
                StoreError::AlreadyExists { .. } => ConnectionError::InvalidInput {
                    field: "service_link_name".to_string(),
                    message: format!(
                        "a custom service `{}` exists already; update it instead",
                        definition.key
                    ),
                },
                StoreError::NotFound { .. } => ConnectionError::ServiceNotFound {
                    service_key: definition.key.clone(),
                },
                other => store_error(other),
            })?;
        Ok(definition)
    }

    pub async fn delete_custom_service(
        &self,
        organization_id: OrganizationId,
        service_key: &str,
    ) -> Result<(), ConnectionError> {
        self.store
            .connections()
            .delete_custom_service(organization_id, service_key)
            .await
            .map_err(|error| match error {
                StoreError::NotFound { .. } => ConnectionError::ServiceNotFound {
                    service_key: service_key.to_string(),
                },
                StoreError::Conflict { message } => ConnectionError::InvalidInput {
                    field: "service_key".to_string(),
                    message,
                },
                other => store_error(other),
            })
    }

    // ----- connections ----------------------------------------------------------------------

    pub async fn create_connection(
        &self,
        organization_id: OrganizationId,
        request: CreateConnection,
    ) -> Result<ConnectionView, ConnectionError> {
        let service = self.service(organization_id, &request.service_key).await?;
        if request.name.trim().is_empty() || request.name.chars().count() > 100 {
            return Err(ConnectionError::InvalidInput {
                field: "name".to_string(),
                message: "a connection name has 1 to 100 characters".to_string(),
            });
        }
        let name_part = match &request.link_name {
            Some(part) => part.clone(),
            None => link_name::generate_name_part(&request.name),
        };
        let full_link_name = link_name::compose(&request.namespace, &name_part)?;
        // Settings are validated now so a bad data centre fails at creation, not at first use.
        service
            .definition
            .effective_settings(&request.settings, &BTreeMap::new())
            .map_err(|error| ConnectionError::InvalidInput {
                field: "settings".to_string(),
                message: error.to_string(),
            })?;
        let scopes = request
            .scopes
            .clone()
            .unwrap_or_else(|| service.definition.default_scopes());
        let id = ConnectionId::generate();
        let client_secret = request
            .oauth_client_secret
            .as_ref()
            .map(|secret| {
                self.vault
                    .encrypt_secret(secret, &client_secret_associated_data(id))
                    .map_err(vault_error)
            })
            .transpose()?;
        let new = NewConnection {
            id,
            organization_id,
            namespace: request.namespace.clone(),
            name: request.name.trim().to_string(),
            link_name: full_link_name.clone(),
            service_key: request.service_key.clone(),
            requested_scopes: list_json(&scopes),
            settings: map_json(&request.settings),
            oauth_client_id: request.oauth_client_id.clone(),
            oauth_client_secret: client_secret,
        };
        let record = self
            .store
            .connections()
            .create(new)
            .await
            .map_err(|error| match error {
                StoreError::AlreadyExists { .. } => ConnectionError::LinkNameTaken {
                    link_name: full_link_name.clone(),
                },
                other => store_error(other),
            })?;
        self.event(
            &record,
            None,
            "created",
            json!({ "service_key": record.service_key }),
        )
        .await;
        self.view(&record).await
    }

    pub async fn update_connection(
        &self,
        organization_id: OrganizationId,
        link_name_value: &str,
        update: UpdateConnection,
    ) -> Result<ConnectionView, ConnectionError> {
        let record = self.connection(organization_id, link_name_value).await?;
        let mut changes = ConnectionChanges::default();
        if let Some(name) = update.name {
            changes.name = Some(name);
        }
        if let Some(part) = update.link_name {
            let new_link_name = link_name::compose(&record.namespace, &part)?;
            if new_link_name != record.link_name && record.link_name_locked {
                return Err(ConnectionError::LinkNameLocked {
                    link_name: record.link_name.clone(),
                });
            }
            changes.link_name = Some(new_link_name);
        }
        if let Some(scopes) = update.scopes {
            changes.requested_scopes = Some(list_json(&scopes));
        }
        if let Some(settings) = update.settings {
            let service = self.service(organization_id, &record.service_key).await?;
            service
                .definition
                .effective_settings(&settings, &BTreeMap::new())
                .map_err(|error| ConnectionError::InvalidInput {
                    field: "settings".to_string(),
                    message: error.to_string(),
                })?;
            changes.settings = Some(map_json(&settings));
        }
        let target_link_name = changes
            .link_name
            .clone()
            .unwrap_or(record.link_name.clone());
        let updated = self
            .store
            .connections()
            .update(organization_id, record.id, changes)
            .await
            .map_err(|error| match error {
                StoreError::AlreadyExists { .. } => ConnectionError::LinkNameTaken {
                    link_name: target_link_name.clone(),
                },
                StoreError::Conflict { .. } => ConnectionError::LinkNameLocked {
                    link_name: record.link_name.clone(),
                },
                other => store_error(other),
            })?;
        self.view(&updated).await
    }

    pub async fn get_connection(
        &self,
        organization_id: OrganizationId,
        link_name_value: &str,
    ) -> Result<ConnectionView, ConnectionError> {
        let record = self.connection(organization_id, link_name_value).await?;
        self.view(&record).await
    }

    pub async fn list_connections(
        &self,
        organization_id: OrganizationId,
    ) -> Result<Vec<ConnectionView>, ConnectionError> {
        let records = self
            .store
            .connections()
            .list(organization_id)
            .await
            .map_err(store_error)?;
        let mut views = Vec::with_capacity(records.len());
        for record in &records {
            views.push(self.view(record).await?);
        }
        Ok(views)
    }

    /// Events of a connection (authorized, refreshed, needs_reauthorization, revoked...).
    pub async fn events(
        &self,
        organization_id: OrganizationId,
        link_name_value: &str,
    ) -> Result<Vec<trestle_store::connections::ConnectionEventRecord>, ConnectionError> {
        let record = self.connection(organization_id, link_name_value).await?;
        self.store
            .connections()
            .events(organization_id, record.id)
            .await
            .map_err(store_error)
    }

    /// Revokes the connection at the service (every environment with credentials, when the
    /// service has a revocation endpoint) and deletes it. A failed revocation is recorded as an
    /// event and does not stop the deletion.
    pub async fn delete_connection(
        &self,
        organization_id: OrganizationId,
        link_name_value: &str,
    ) -> Result<(), ConnectionError> {
        let record = self.connection(organization_id, link_name_value).await?;
        for environment in EnvironmentKind::ALL {
            if let Err(error) = self.revoke_at_service(&record, environment).await {
                self.event(
                    &record,
                    Some(environment),
                    "revocation_failed",
                    json!({ "error_code": error.code() }),
                )
                .await;
            }
        }
        self.event(&record, None, "deleted", json!({})).await;
        self.store
            .connections()
            .delete(organization_id, record.id)
            .await
            .map_err(store_error)
    }

    /// Revokes one environment's grant at the service and forgets its credentials.
    pub async fn revoke_connection(
        &self,
        organization_id: OrganizationId,
        link_name_value: &str,
        environment: EnvironmentKind,
    ) -> Result<ConnectionView, ConnectionError> {
        let record = self.connection(organization_id, link_name_value).await?;
        self.revoke_at_service(&record, environment).await?;
        self.store
            .connections()
            .set_status(
                organization_id,
                record.id,
                environment,
                ConnectionStatus::Revoked,
                None,
                true,
            )
            .await
            .map_err(store_error)?;
        self.event(&record, Some(environment), "revoked", json!({}))
            .await;
        self.view(&record).await
    }

    async fn revoke_at_service(
        &self,
        record: &ConnectionRecord,
        environment: EnvironmentKind,
    ) -> Result<(), ConnectionError> {
        let row = self.environment_row(record, environment).await?;
        let Some(credentials) = self.decrypt_credentials(record, &row)? else {
            return Ok(());
        };
        let service = self
            .service_in(record.organization_id, environment, &record.service_key)
            .await?;
        if !service.definition.auth_type.is_oauth2() {
            return Ok(());
        }
        let resolved = self.resolve(&service, record, &row)?;
        let Some(oauth2) = &resolved.oauth2 else {
            return Ok(());
        };
        let Some(revoke) = &oauth2.revoke else {
            return Ok(());
        };
        let (token, hint) = match (
            revoke.token,
            &credentials.refresh_token,
            &credentials.access_token,
        ) {
            (trestle_services::RevokedToken::RefreshToken, Some(refresh), _) => {
                (refresh.clone(), "refresh_token")
            }
            (_, _, Some(access)) => (access.clone(), "access_token"),
            (_, Some(refresh), None) => (refresh.clone(), "refresh_token"),
            (_, None, None) => return Ok(()),
        };
        let endpoint = self.token_endpoint(&service, record, &resolved)?;
        let url = revoke
            .url(&SecretString::new(token.expose().to_string()))
            .map_err(|error| services_error(&record.service_key, error))?;
        let revocation = Revocation {
            method: reqwest::Method::from_bytes(revoke.method.as_str().as_bytes())
                .unwrap_or(reqwest::Method::POST),
            url,
            token_in: match revoke.token_in {
                trestle_services::RevokeTokenPlacement::Form => RevocationTokenPlacement::Form,
                trestle_services::RevokeTokenPlacement::Query => RevocationTokenPlacement::Query,
                trestle_services::RevokeTokenPlacement::Json => RevocationTokenPlacement::Json,
                trestle_services::RevokeTokenPlacement::Url => RevocationTokenPlacement::Url,
                trestle_services::RevokeTokenPlacement::BearerHeader => {
                    RevocationTokenPlacement::BearerHeader
                }
            },
            parameter: revoke.parameter.clone(),
            send_token_type_hint: revoke.send_token_type_hint,
            client_authentication: match revoke.client_authentication {
                trestle_services::RevokeClientAuthentication::SameAsTokenEndpoint => {
                    Some(endpoint.client_authentication)
                }
                trestle_services::RevokeClientAuthentication::Basic => {
                    Some(ClientAuthentication::Basic)
                }
                trestle_services::RevokeClientAuthentication::Body => {
                    Some(ClientAuthentication::Body)
                }
                trestle_services::RevokeClientAuthentication::None => None,
            },
        };
        self.tokens
            .revoke(&endpoint, &revocation, &token, hint)
            .await
            .map_err(|failure| failure.into_connection_error(&record.service_key))?;
        self.event(
            record,
            Some(environment),
            "revoked_at_service",
            json!({ "token": hint }),
        )
        .await;
        Ok(())
    }

    // ----- authorization --------------------------------------------------------------------

    /// Starts an authorization-code flow for one environment. The returned launch URL must be
    /// opened in the browser that completes the flow; it works once.
    pub async fn begin_authorization(
        &self,
        organization_id: OrganizationId,
        link_name_value: &str,
        environment: EnvironmentKind,
    ) -> Result<PendingAuthorization, ConnectionError> {
        let record = self.connection(organization_id, link_name_value).await?;
        let service = self
            .service_in(organization_id, environment, &record.service_key)
            .await?;
        if service.definition.auth_type == AuthType::OAuth1 {
            return self
                .begin_oauth1_authorization(&record, &service, environment)
                .await;
        }
        if service.definition.auth_type != AuthType::OAuth2AuthorizationCode {
            return Err(ConnectionError::UnsupportedOperation {
                service_key: record.service_key.clone(),
                auth_type: service.definition.auth_type.as_str().to_string(),
                operation: "browser authorization (enter the credentials instead)".to_string(),
            });
        }
        let resolved = service
            .definition
            .resolve(&parse_map(&record.settings), &BTreeMap::new())
            .map_err(|error| services_error(&record.service_key, error))?;
        let oauth2 =
            resolved
                .oauth2
                .as_ref()
                .ok_or_else(|| ConnectionError::ServiceDefinition {
                    service_key: record.service_key.clone(),
                    message: "the service has no OAuth 2 endpoints".to_string(),
                })?;
        let authorize_endpoint =
            oauth2
                .authorize_url
                .as_ref()
                .ok_or_else(|| ConnectionError::ServiceDefinition {
                    service_key: record.service_key.clone(),
                    message: "the service has no authorize URL".to_string(),
                })?;
        let client = self.oauth_client(&service, &record)?;
        let state = pkce::random_token();
        let verifier = oauth2.pkce.then(pkce::code_verifier);
        let challenge = verifier.as_deref().map(pkce::code_challenge_s256);
        let redirect_uri = self.callback_url(&record.service_key);
        let scopes = parse_list(&record.requested_scopes);
        let extra: Vec<(String, String)> = oauth2
            .authorize_parameters
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let provider_url = oauth::authorize_url(&AuthorizeRequest {
            authorize_url: authorize_endpoint,
            client_id: &client.client_id,
            redirect_uri: &redirect_uri,
            scopes: &scopes,
            scope_separator: resolved.scope_separator.as_str(),
            state: &state,
            code_challenge: challenge.as_deref(),
            extra_params: &extra,
        });
        let state_hash = pkce::digest_hex(&state);
        let code_verifier = verifier
            .map(|verifier| {
                self.vault
                    .encrypt(
                        verifier.as_bytes(),
                        &code_verifier_associated_data(&state_hash),
                    )
                    .map_err(vault_error)
            })
            .transpose()?;
        self.record_pending_authorization(
            &record,
            NewPendingAuthorization {
                environment,
                state_hash,
                provider_url: &provider_url,
                token_url: &oauth2.token_url,
                redirect_uri,
                code_verifier,
            },
        )
        .await
    }

    /// Stores a pending authorization (OAuth 1 or OAuth 2) of `record`, valid for the
    /// configured authorization lifetime, and returns the launch URL the user opens; the
    /// callback later finds it by its state.
    async fn record_pending_authorization(
        &self,
        record: &ConnectionRecord,
        new: NewPendingAuthorization<'_>,
    ) -> Result<PendingAuthorization, ConnectionError> {
        let launch_token = pkce::random_token();
        let now = Utc::now();
        let pending = OAuthAuthorizationRecord {
            state_hash: new.state_hash,
            launch_token_hash: pkce::digest_hex(&launch_token),
            browser_binding_hash: None,
            organization_id: record.organization_id,
            connection_id: record.id,
            environment: new.environment,
            service_key: record.service_key.clone(),
            authorize_url: new.provider_url.to_string(),
            token_url: new.token_url.to_string(),
            redirect_uri: new.redirect_uri,
            code_verifier: new.code_verifier,
            created_at: now,
            expires_at: now + chrono_duration(self.config.authorization_lifetime),
            launched_at: None,
            consumed_at: None,
        };
        self.store
            .connections()
            .insert_authorization(&pending)
            .await
            .map_err(store_error)?;
        let base = self.config.public_base_url.as_str().trim_end_matches('/');
        Ok(PendingAuthorization {
            link_name: record.link_name.clone(),
            environment: pending.environment,
            launch_url: format!("{base}{LAUNCH_PATH_PREFIX}{launch_token}"),
            callback_url: pending.redirect_uri,
            expires_at: pending.expires_at,
        })
    }

    /// Binds a pending authorization to the browser that opened the launch URL (the caller sets
    /// [`BROWSER_BINDING_COOKIE`] to `browser_binding`) and returns the provider URL.
    pub async fn launch_authorization(
        &self,
        launch_token: &str,
    ) -> Result<LaunchedAuthorization, ConnectionError> {
        let browser_binding = pkce::random_token();
        let record = self
            .store
            .connections()
            .launch_authorization(
                &pkce::digest_hex(launch_token),
                &pkce::digest_hex(&browser_binding),
            )
            .await
            .map_err(store_error)?
            .ok_or(ConnectionError::StateInvalid)?;
        if record.expires_at < Utc::now() {
            return Err(ConnectionError::StateExpired {
                minutes: self.lifetime_minutes(),
            });
        }
        let provider_url =
            Url::parse(&record.authorize_url).map_err(|_| ConnectionError::StateInvalid)?;
        Ok(LaunchedAuthorization {
            provider_url,
            browser_binding,
            expires_at: record.expires_at,
        })
    }

    fn lifetime_minutes(&self) -> i64 {
        (self.config.authorization_lifetime.as_secs() / 60) as i64
    }

    /// Handles the provider's redirect to `/api/v1/oauth/callback/{service_key}`.
    ///
    /// Rejected: a missing, unknown or already used `state` (forgery, replay); a state issued
    /// for another service (mix-up); an expired state; a browser without the binding cookie set
    /// at launch; an `iss` that is not the service's authorization server.
    pub async fn complete_authorization(
        &self,
        callback_service_key: &str,
        query: &[(String, String)],
        browser_binding: Option<&str>,
    ) -> Result<CompletedAuthorization, ConnectionError> {
        let parameter = |name: &str| {
            query
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        let state = parameter("state").ok_or(ConnectionError::StateInvalid)?;
        let pending = self
            .store
            .connections()
            .consume_authorization(&pkce::digest_hex(state))
            .await
            .map_err(store_error)?
            .ok_or(ConnectionError::StateInvalid)?;
        if pending.service_key != callback_service_key {
            return Err(ConnectionError::StateServiceMismatch {
                callback_service: callback_service_key.to_string(),
            });
        }
        if pending.expires_at < Utc::now() {
            return Err(ConnectionError::StateExpired {
                minutes: self.lifetime_minutes(),
            });
        }
        let bound = match (&pending.browser_binding_hash, browser_binding) {
            (Some(expected), Some(received)) => {
                use subtle_compare::constant_time_eq;
                constant_time_eq(expected.as_bytes(), pkce::digest_hex(received).as_bytes())
            }
            _ => false,
        };
        if !bound {
            return Err(ConnectionError::StateSessionMismatch);
        }
        let record = self
            .store
            .connections()
            .get(pending.organization_id, pending.connection_id)
            .await
            .map_err(|error| match error {
                StoreError::NotFound { .. } => ConnectionError::StateInvalid,
                other => store_error(other),
            })?;
        let environment = pending.environment;
        if let Some(error) = parameter("error") {
            let description =
                parameter("error_description").map(|text| text.chars().take(300).collect());
            self.event(
                &record,
                Some(environment),
                "authorization_denied",
                json!({ "error": error }),
            )
            .await;
            return Err(ConnectionError::AuthorizationDenied {
                error: error.chars().take(100).collect(),
                description,
            });
        }
        let service = self
            .service_in(record.organization_id, environment, &record.service_key)
            .await?;
        if service.definition.auth_type == AuthType::OAuth1 {
            return self
                .complete_oauth1_authorization(record, &service, &pending, query)
                .await;
        }
        let authorize_url =
            Url::parse(&pending.authorize_url).map_err(|_| ConnectionError::StateInvalid)?;
        let recorded_token_url =
            Url::parse(&pending.token_url).map_err(|_| ConnectionError::StateInvalid)?;
        if let Some(issuer) = parameter("iss") {
            check_issuer(issuer, &authorize_url, &recorded_token_url)?;
        }
        let code = parameter("code").ok_or_else(|| ConnectionError::AuthorizationDenied {
            error: "missing_code".to_string(),
            description: Some("the callback has neither `code` nor `error`".to_string()),
        })?;
        // Values the service declares in its callback (Zoho's accounts-server), each checked
        // against the definition's allow-list pattern; only then may they pick the token URL.
        let captured_from_callback = service
            .definition
            .capture_from_callback(query)
            .map_err(|error| services_error(&record.service_key, error))?;
        let settings = parse_map(&record.settings);
        let resolved = service
            .definition
            .resolve(&settings, &captured_from_callback)
            .map_err(|error| services_error(&record.service_key, error))?;
        let mut endpoint = self.token_endpoint(&service, &record, &resolved)?;
        if captured_from_callback.is_empty() {
            endpoint.token_url = recorded_token_url;
        }
        let verifier = pending
            .code_verifier
            .as_ref()
            .map(|ciphertext| {
                self.vault
                    .decrypt_secret(
                        ciphertext,
                        &code_verifier_associated_data(&pending.state_hash),
                    )
                    .map_err(vault_error)
            })
            .transpose()?;
        let response = self
            .tokens
            .exchange_code(
                &endpoint,
                code,
                &pending.redirect_uri,
                verifier.as_ref().map(|secret| secret.expose_secret()),
            )
            .await;
        let response = match response {
            Ok(response) => response,
            Err(failure) => {
                let error = failure.into_connection_error(&record.service_key);
                self.event(
                    &record,
                    Some(environment),
                    "authorization_failed",
                    json!({ "error_code": error.code() }),
                )
                .await;
                return Err(error);
            }
        };
        let mut captured = captured_from_callback;
        captured.extend(
            service
                .definition
                .capture_from_token_response(&Value::Object(response.extra.clone()))
                .map_err(|error| services_error(&record.service_key, error))?,
        );
        let granted = granted_scopes(&response, &record.requested_scopes);
        self.store_authorized(
            &record,
            environment,
            Authorized {
                credentials: &token_credentials(&response),
                granted_scopes: &granted,
                captured_values: &captured,
                expires_at: expiry(&response),
            },
            json!({ "granted_scopes": granted }),
        )
        .await?;
        Ok(CompletedAuthorization {
            link_name: record.link_name,
            environment,
            status: ConnectionStatus::Active,
            granted_scopes: granted,
        })
    }

    /// Authorizes an API key, basic or bearer connection with entered values (by credential
    /// field name), after the service's verification request accepts them; or a client
    /// credentials connection by fetching its first token.
    pub async fn authorize_with_credentials(
        &self,
        organization_id: OrganizationId,
        link_name_value: &str,
        environment: EnvironmentKind,
        fields: BTreeMap<String, SecretString>,
    ) -> Result<ConnectionView, ConnectionError> {
        let record = self.connection(organization_id, link_name_value).await?;
        let service = self
            .service_in(organization_id, environment, &record.service_key)
            .await?;
        let auth_type = service.definition.auth_type;
        if auth_type == AuthType::OAuth2ClientCredentials {
            let resolved = service
                .definition
                .resolve(&parse_map(&record.settings), &BTreeMap::new())
                .map_err(|error| services_error(&record.service_key, error))?;
            let endpoint = self.token_endpoint(&service, &record, &resolved)?;
            let response = self
                .tokens
                .client_credentials(&endpoint, &parse_list(&record.requested_scopes))
                .await
                .map_err(|failure| failure.into_connection_error(&record.service_key))?;
            let captured = service
                .definition
                .capture_from_token_response(&Value::Object(response.extra.clone()))
                .map_err(|error| services_error(&record.service_key, error))?;
            self.store_authorized(
                &record,
                environment,
                Authorized {
                    credentials: &token_credentials(&response),
                    granted_scopes: &granted_scopes(&response, &record.requested_scopes),
                    captured_values: &captured,
                    expires_at: expiry(&response),
                },
                json!({ "grant": "client_credentials" }),
            )
            .await?;
            return self.view(&record).await;
        }
        if !auth_type.is_entered_secret() && auth_type != AuthType::None {
            return Err(ConnectionError::UnsupportedOperation {
                service_key: record.service_key.clone(),
                auth_type: auth_type.as_str().to_string(),
                operation:
                    "authorization with entered credentials (open the authorize URL instead)"
                        .to_string(),
            });
        }
        for field in &service.definition.credential_fields {
            if !fields.contains_key(&field.name) {
                return Err(ConnectionError::InvalidInput {
                    field: field.name.clone(),
                    message: format!(
                        "`{}` ({}) is required for this service",
                        field.name, field.display_name
                    ),
                });
            }
        }
        for name in fields.keys() {
            if !service
                .definition
                .credential_fields
                .iter()
                .any(|field| &field.name == name)
            {
                return Err(ConnectionError::InvalidInput {
                    field: name.clone(),
                    message: "this service has no such credential field".to_string(),
                });
            }
        }
        let credentials = StoredCredentials {
            fields: fields
                .iter()
                .map(|(name, value)| (name.clone(), Secret::new(value.expose_secret())))
                .collect(),
            ..StoredCredentials::default()
        };
        let resolved = service
            .definition
            .resolve(&parse_map(&record.settings), &BTreeMap::new())
            .map_err(|error| services_error(&record.service_key, error))?;
        if let Some(verification) = &resolved.verification {
            let attachment = self.attachment(&record, &service, &resolved, &credentials)?;
            let status = self.send_verification(verification, &attachment).await?;
            if !verification.expected_statuses.contains(&status) {
                self.event(
                    &record,
                    Some(environment),
                    "verification_failed",
                    json!({ "status": status }),
                )
                .await;
                return Err(ConnectionError::VerificationFailed {
                    link_name: record.link_name.clone(),
                    status,
                });
            }
        }
        self.store_authorized(
            &record,
            environment,
            Authorized {
                credentials: &credentials,
                granted_scopes: &[],
                captured_values: &BTreeMap::new(),
                expires_at: None,
            },
            json!({ "grant": auth_type.as_str() }),
        )
        .await?;
        self.view(&record).await
    }

    async fn send_verification(
        &self,
        verification: &trestle_services::ResolvedVerification,
        attachment: &CredentialAttachment,
    ) -> Result<u16, ConnectionError> {
        if !attachment
            .allowed_hosts
            .allows_host(verification.url.host_str().unwrap_or_default())
        {
            return Err(ConnectionError::ServiceDefinition {
                service_key: attachment.connection.clone(),
                message: "the verification URL is outside the service's allowed hosts".to_string(),
            });
        }
        let mut url = verification.url.clone();
        for (name, value) in &attachment.query {
            url.query_pairs_mut()
                .append_pair(name, value.expose_secret());
        }
        let method = reqwest::Method::from_bytes(verification.method.as_str().as_bytes())
            .unwrap_or(reqwest::Method::GET);
        self.tokens
            .check_destination(&url, &attachment.connection)?;
        let mut request = self.tokens.http().request(method, url);
        for (name, value) in &attachment.headers {
            request = request.header(name.as_str(), value.expose_secret());
        }
        if !attachment.form_fields.is_empty() {
            let form: Vec<(&str, &str)> = attachment
                .form_fields
                .iter()
                .map(|(name, value)| (name.as_str(), value.expose_secret()))
                .collect();
            request = request.form(&form);
        }
        let response = request.send().await.map_err(|error| {
            TokenClient::egress_refusal(&error, &attachment.connection).unwrap_or_else(|| {
                ConnectionError::TokenEndpointUnavailable {
                    service_key: attachment.connection.clone(),
                    detail: if error.is_timeout() {
                        "verification request timed out".to_string()
                    } else {
                        "verification request failed".to_string()
                    },
                }
            })
        })?;
        Ok(response.status().as_u16())
    }

    /// Checks a connection works: refreshes an OAuth token that is due, or runs the service's
    /// verification request. Returns the connection's view.
    pub async fn test_connection(
        &self,
        organization_id: OrganizationId,
        link_name_value: &str,
        environment: EnvironmentKind,
    ) -> Result<ConnectionView, ConnectionError> {
        let credential = self
            .credential_for_request(organization_id, environment, link_name_value)
            .await?;
        if let Some(verification) = &credential.service.verification {
            let status = self
                .send_verification(verification, &credential.attachment)
                .await?;
            if !verification.expected_statuses.contains(&status) {
                return Err(ConnectionError::VerificationFailed {
                    link_name: link_name_value.to_string(),
                    status,
                });
            }
        }
        self.get_connection(organization_id, link_name_value).await
    }

    // ----- credentials for requests ---------------------------------------------------------

    /// The credential to attach to a request through `link_name` in `environment`, refreshing
    /// the OAuth token first when it is expired or about to expire. Served from the
    /// per-process cache ([`CachedCredential`]) while the connection is unchanged.
    pub async fn credential_for_request(
        &self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
        link_name_value: &str,
    ) -> Result<RequestCredential, ConnectionError> {
        let shared = self
            .shared_credential_for_request(organization_id, environment, link_name_value)
            .await?;
        Ok(RequestCredential::clone(&shared))
    }

    /// [`ConnectionManager::credential_for_request`] without copying the cached credential:
    /// for hot paths (the proxy) that only read it.
    pub async fn shared_credential_for_request(
        &self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
        link_name_value: &str,
    ) -> Result<Arc<RequestCredential>, ConnectionError> {
        let key = (organization_id, environment, link_name_value.to_owned());
        if let Some(cached) = self.credentials.get(&key)
            && !(cached.refresh_by_expiry && self.is_due_at(cached.expires_at, cached.obtained_at))
        {
            return Ok(cached.credential);
        }
        let started = self.credentials.generation();
        let record = self.connection(organization_id, link_name_value).await?;
        let service = self
            .service_in(organization_id, environment, &record.service_key)
            .await?;
        let mut row = self.environment_row(&record, environment).await?;
        self.check_usable(&record, &row)?;
        if service.definition.auth_type.is_oauth2() && self.is_due(&row) {
            row = self
                .refresh_single_flight(
                    &record,
                    &service,
                    environment,
                    row.credentials_version,
                    false,
                )
                .await?;
        }
        let credential = Arc::new(self.request_credential(&record, &service, &row)?);
        self.credentials.insert(
            key,
            CachedCredential {
                credential: Arc::clone(&credential),
                refresh_by_expiry: service.definition.auth_type.is_oauth2(),
                expires_at: row.expires_at,
                obtained_at: row.last_refresh_at.max(row.authorized_at),
            },
            started,
        );
        Ok(credential)
    }

    /// After the service answered one of `expired_token_statuses` to a request made with
    /// `used`: refresh once (through the same single flight; if another caller refreshed
    /// meanwhile, its result is used) and return the new credential. The caller retries once
    /// and gives up after that.
    pub async fn force_refresh_after_401(
        &self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
        link_name_value: &str,
        used: &RequestCredential,
    ) -> Result<RequestCredential, ConnectionError> {
        // The cached credential is what the service just refused (perhaps refreshed by another
        // process meanwhile): whatever happens next, read the store.
        self.credentials
            .remove(&(organization_id, environment, link_name_value.to_owned()));
        let record = self.connection(organization_id, link_name_value).await?;
        if record.id != used.connection_id {
            return self
                .credential_for_request(organization_id, environment, link_name_value)
                .await;
        }
        let service = self
            .service_in(organization_id, environment, &record.service_key)
            .await?;
        if !used.refreshable {
            return Err(ConnectionError::StillUnauthorizedAfterRefresh {
                service_key: record.service_key.clone(),
                link_name: record.link_name.clone(),
                status: 401,
            });
        }
        let row = self
            .refresh_single_flight(
                &record,
                &service,
                environment,
                used.credentials_version,
                true,
            )
            .await?;
        self.request_credential(&record, &service, &row)
    }

    fn check_usable(
        &self,
        record: &ConnectionRecord,
        row: &ConnectionEnvironmentRecord,
    ) -> Result<(), ConnectionError> {
        let link_name = record.link_name.clone();
        let environment = row.environment.as_str().to_string();
        match row.status {
            ConnectionStatus::NotAuthorized => Err(ConnectionError::NotAuthorized {
                link_name,
                environment,
            }),
            ConnectionStatus::NeedsReauthorization => Err(ConnectionError::NeedsReauthorization {
                link_name,
                environment,
            }),
            ConnectionStatus::Revoked => Err(ConnectionError::Revoked {
                link_name,
                environment,
            }),
            _ if row.credentials.is_none() => Err(ConnectionError::NotAuthorized {
                link_name,
                environment,
            }),
            _ => Ok(()),
        }
    }

    /// Whether the access token should be refreshed before use: within the refresh margin (plus
    /// jitter) of its expiry. The margin never exceeds half of the token's lifetime, so a
    /// provider that issues tokens for a few minutes is not asked for a new one on every use.
    fn is_due(&self, row: &ConnectionEnvironmentRecord) -> bool {
        self.is_due_at(row.expires_at, row.last_refresh_at.max(row.authorized_at))
    }

    /// [`Self::is_due`] from the token's expiry and when it was obtained (the later of the
    /// authorization and the last refresh).
    fn is_due_at(
        &self,
        expires_at: Option<DateTime<Utc>>,
        obtained_at: Option<DateTime<Utc>>,
    ) -> bool {
        let Some(expires_at) = expires_at else {
            return false;
        };
        let jitter_millis = self.config.refresh_jitter.as_millis() as u64;
        let jitter = if jitter_millis == 0 {
            0
        } else {
            rand::thread_rng().gen_range(0..jitter_millis)
        };
        let mut margin = chrono_duration(self.config.refresh_margin)
            + chrono::TimeDelta::milliseconds(jitter as i64);
        // Option's order puts None first, so callers pass the later of the two known times.
        if let Some(obtained_at) = obtained_at {
            let half_lifetime = (expires_at - obtained_at) / 2;
            if half_lifetime > chrono::TimeDelta::zero() && half_lifetime < margin {
                margin = half_lifetime;
            }
        }
        expires_at - margin <= Utc::now()
    }

    fn refresh_lock(
        &self,
        id: ConnectionId,
        environment: EnvironmentKind,
    ) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = match self.refresh_locks.lock() {
            Ok(locks) => locks,
            Err(poisoned) => poisoned.into_inner(),
        };
        locks.entry((id, environment)).or_default().clone()
    }

    /// One refresh per connection and environment at a time, in this process and across
    /// processes. `seen_version` is the credentials version the caller holds: if the stored
    /// version differs, somebody refreshed already and the stored credentials are returned.
    async fn refresh_single_flight(
        &self,
        record: &ConnectionRecord,
        service: &ServiceEntry,
        environment: EnvironmentKind,
        seen_version: i64,
        force: bool,
    ) -> Result<ConnectionEnvironmentRecord, ConnectionError> {
        let lock = self.refresh_lock(record.id, environment);
        let _in_process = lock.lock().await;
        let row = self.environment_row(record, environment).await?;
        if row.credentials_version != seen_version || (!force && !self.is_due(&row)) {
            self.check_usable(record, &row)?;
            return Ok(row);
        }
        self.check_usable(record, &row)?;
        let holder = format!(
            "{}/{}",
            self.config.instance_name,
            uuid::Uuid::new_v4().simple()
        );
        let deadline = tokio::time::Instant::now() + self.config.refresh_wait;
        loop {
            let until = Utc::now() + chrono_duration(self.config.refresh_lease);
            let acquired = self
                .store
                .connections()
                .try_acquire_refresh_lease(
                    record.organization_id,
                    record.id,
                    environment,
                    &holder,
                    until,
                )
                .await
                .map_err(store_error)?;
            if acquired {
                break;
            }
            let pause = rand::thread_rng().gen_range(40..90);
            tokio::time::sleep(Duration::from_millis(pause)).await;
            let row = self.environment_row(record, environment).await?;
            if row.credentials_version != seen_version {
                self.check_usable(record, &row)?;
                return Ok(row);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(ConnectionError::RefreshLockTimeout {
                    link_name: record.link_name.clone(),
                    seconds: self.config.refresh_wait.as_secs(),
                });
            }
        }
        let outcome = self
            .refresh_holding_lease(record, service, environment, seen_version, force, &holder)
            .await;
        let release = self
            .store
            .connections()
            .release_refresh_lease(record.organization_id, record.id, environment, &holder)
            .await;
        if let Err(error) = release {
            tracing::warn!(link_name = %record.link_name, error_code = error.code(), "could not release a refresh lease; it expires on its own");
        }
        outcome
    }

    async fn refresh_holding_lease(
        &self,
        record: &ConnectionRecord,
        service: &ServiceEntry,
        environment: EnvironmentKind,
        seen_version: i64,
        force: bool,
        holder: &str,
    ) -> Result<ConnectionEnvironmentRecord, ConnectionError> {
        // Double check: another process may have refreshed between our read and the lease.
        let row = self.environment_row(record, environment).await?;
        if row.credentials_version != seen_version || (!force && !self.is_due(&row)) {
            self.check_usable(record, &row)?;
            return Ok(row);
        }
        self.check_usable(record, &row)?;
        let credentials = self.decrypt_credentials(record, &row)?.unwrap_or_default();
        let captured = parse_map(&row.captured_values);
        let resolved = self.resolve(service, record, &row)?;
        let endpoint = self.token_endpoint(service, record, &resolved)?;
        let is_client_credentials =
            service.definition.auth_type == AuthType::OAuth2ClientCredentials;
        if !is_client_credentials && credentials.refresh_token.is_none() {
            return self
                .mark_needs_reauthorization(
                    record,
                    environment,
                    "the service issued no refresh token and the access token expired",
                )
                .await;
        }
        let mut attempt = 0;
        let response: Result<TokenResponse, TokenFailure> = loop {
            attempt += 1;
            let result = match (&credentials.refresh_token, is_client_credentials) {
                (_, true) => {
                    self.tokens
                        .client_credentials(&endpoint, &parse_list(&record.requested_scopes))
                        .await
                }
                (Some(refresh_token), false) => self.tokens.refresh(&endpoint, refresh_token).await,
                (None, false) => {
                    break Err(TokenFailure::InvalidGrant {
                        error: "no_refresh_token".to_string(),
                        description: None,
                    });
                }
            };
            match result {
                Err(TokenFailure::Transient { detail })
                    if attempt < self.config.refresh_attempts =>
                {
                    tracing::info!(link_name = %record.link_name, attempt, detail = %detail, "token refresh failed transiently; retrying");
                    let backoff = self.config.refresh_backoff * 2u32.saturating_pow(attempt - 1);
                    tokio::time::sleep(backoff).await;
                }
                other => break other,
            }
        };
        match response {
            Ok(response) => {
                let mut captured = captured;
                if let Ok(more) = service
                    .definition
                    .capture_from_token_response(&Value::Object(response.extra.clone()))
                {
                    captured.extend(more);
                }
                let granted = match &response.scope {
                    Some(scope) => list_json(&oauth::split_scopes(scope)),
                    None => row.granted_scopes.clone(),
                };
                let new_credentials = StoredCredentials {
                    access_token: Some(response.access_token.clone()),
                    // A rotated refresh token replaces the old one; otherwise the old one stays.
                    refresh_token: response
                        .refresh_token
                        .clone()
                        .or(credentials.refresh_token.clone()),
                    token_type: response
                        .token_type
                        .clone()
                        .or(credentials.token_type.clone()),
                    token_secret: credentials.token_secret.clone(),
                    fields: credentials.fields.clone(),
                };
                let write = CredentialWrite {
                    status: ConnectionStatus::Active,
                    credentials: self.encrypt_credentials(
                        record.id,
                        environment,
                        &new_credentials,
                    )?,
                    granted_scopes: granted,
                    captured_values: map_json(&captured),
                    expires_at: expiry(&response),
                };
                let stored = self
                    .store
                    .connections()
                    .store_refresh(
                        record.organization_id,
                        record.id,
                        environment,
                        holder,
                        write,
                    )
                    .await
                    .map_err(store_error)?;
                if !stored {
                    return Err(ConnectionError::RefreshLockTimeout {
                        link_name: record.link_name.clone(),
                        seconds: self.config.refresh_lease.as_secs(),
                    });
                }
                self.event(
                    record,
                    Some(environment),
                    "refreshed",
                    json!({ "rotated_refresh_token": response.refresh_token.is_some() }),
                )
                .await;
                self.environment_row(record, environment).await
            }
            Err(TokenFailure::InvalidGrant { error, description }) => {
                let message = match description {
                    Some(description) => format!("{error}: {description}"),
                    None => error,
                };
                self.mark_needs_reauthorization(record, environment, &message)
                    .await
            }
            Err(failure) => {
                let error = failure.into_connection_error(&record.service_key);
                let _ = self
                    .store
                    .connections()
                    .record_error(
                        record.organization_id,
                        record.id,
                        environment,
                        &error.to_string(),
                    )
                    .await;
                self.event(
                    record,
                    Some(environment),
                    "refresh_failed",
                    json!({ "error_code": error.code() }),
                )
                .await;
                // A transient failure never kills the connection; a still-valid token keeps working.
                if !force
                    && error.is_transient()
                    && row
                        .expires_at
                        .is_some_and(|expires_at| expires_at > Utc::now())
                {
                    return Ok(row);
                }
                Err(error)
            }
        }
    }

    async fn mark_needs_reauthorization(
        &self,
        record: &ConnectionRecord,
        environment: EnvironmentKind,
        reason: &str,
    ) -> Result<ConnectionEnvironmentRecord, ConnectionError> {
        let reason: String = reason.chars().take(300).collect();
        self.store
            .connections()
            .set_status(
                record.organization_id,
                record.id,
                environment,
                ConnectionStatus::NeedsReauthorization,
                Some(&reason),
                false,
            )
            .await
            .map_err(store_error)?;
        self.event(
            record,
            Some(environment),
            "needs_reauthorization",
            json!({ "reason": reason }),
        )
        .await;
        tracing::warn!(link_name = %record.link_name, environment = %environment, "connection needs reauthorization");
        Err(ConnectionError::NeedsReauthorization {
            link_name: record.link_name.clone(),
            environment: environment.as_str().to_string(),
        })
    }

    fn request_credential(
        &self,
        record: &ConnectionRecord,
        service: &ServiceEntry,
        row: &ConnectionEnvironmentRecord,
    ) -> Result<RequestCredential, ConnectionError> {
        self.check_usable(record, row)?;
        let credentials = self.decrypt_credentials(record, row)?.ok_or_else(|| {
            ConnectionError::NotAuthorized {
                link_name: record.link_name.clone(),
                environment: row.environment.as_str().to_string(),
            }
        })?;
        let resolved = self.resolve(service, record, row)?;
        let attachment = self.attachment(record, service, &resolved, &credentials)?;
        let expired_token_statuses = resolved
            .oauth2
            .as_ref()
            .map(|oauth2| oauth2.token_response.expired_token_statuses.clone())
            .unwrap_or_else(|| vec![401]);
        let refreshable = service.definition.auth_type == AuthType::OAuth2ClientCredentials
            || (service.definition.auth_type == AuthType::OAuth2AuthorizationCode
                && credentials.refresh_token.is_some());
        Ok(RequestCredential {
            attachment,
            service: resolved,
            expired_token_statuses,
            refreshable,
            connection_id: record.id,
            credentials_version: row.credentials_version,
        })
    }

    fn attachment(
        &self,
        record: &ConnectionRecord,
        service: &ServiceEntry,
        resolved: &ResolvedService,
        credentials: &StoredCredentials,
    ) -> Result<CredentialAttachment, ConnectionError> {
        let client = self.oauth_client(service, record).ok();
        let lookup = |name: &str| -> Option<SecretString> {
            match name {
                // An OAuth token, or the entered token of a bearer service (field `token`).
                "access_token" | "token" => credentials
                    .access_token
                    .as_ref()
                    .or_else(|| credentials.fields.get(name))
                    .map(|token| SecretString::new(token.expose().to_string())),
                "client_id" => client
                    .as_ref()
                    .map(|client| SecretString::new(client.client_id.clone())),
                "client_secret" => client
                    .as_ref()
                    .and_then(|client| client.client_secret.clone()),
                // The refresh token only ever goes to the token endpoint.
                "refresh_token" => None,
                other => credentials
                    .fields
                    .get(other)
                    .map(|value| SecretString::new(value.expose().to_string())),
            }
        };
        let rendered = resolved
            .render_credentials(&lookup)
            .map_err(|error| services_error(&record.service_key, error))?;
        let mut attachment = CredentialAttachment::new(
            record.link_name.clone(),
            Arc::new(ServiceHosts(resolved.host_policy.clone())),
        );
        for (name, value) in &resolved.companion_headers {
            attachment = attachment.with_header(name.clone(), SecretString::new(value.clone()));
        }
        for (name, value) in rendered.headers {
            attachment = attachment.with_header(name, value);
        }
        for (name, value) in rendered.query {
            attachment = attachment.with_query(name, value);
        }
        for (name, value) in rendered.form {
            attachment = attachment.with_form_field(name, value);
        }
        if let Some(token) = &credentials.access_token {
            attachment =
                attachment.with_extra_secret(SecretString::new(token.expose().to_string()));
        }
        if rendered.oauth1_signature {
            attachment = attachment.with_oauth1_signer(self.oauth1_request_signer(
                service,
                record,
                resolved,
                credentials,
            )?);
        }
        Ok(attachment)
    }

    // ----- key rotation ---------------------------------------------------------------------

    /// Re-encrypts every connection ciphertext not under the vault's active key (after
    /// `trestle keys rotate` added a new key). Safe while the server runs: each replacement is a
    /// compare-and-set on the old ciphertext, so a concurrent refresh wins.
    pub async fn reencrypt_all(&self) -> Result<ReencryptionReport, ConnectionError> {
        let mut report = ReencryptionReport::default();
        for stored in self
            .store
            .connections()
            .ciphertexts()
            .await
            .map_err(store_error)?
        {
            report.examined += 1;
            if !self.vault.needs_rotation(&stored.ciphertext) {
                continue;
            }
            let new = self
                .vault
                .reencrypt(&stored.ciphertext, &stored.associated_data)
                .map_err(vault_error)?;
            if self
                .store
                .connections()
                .replace_ciphertext(&stored.location, &stored.ciphertext, &new)
                .await
                .map_err(store_error)?
            {
                report.reencrypted += 1;
            } else {
                report.changed_concurrently += 1;
            }
        }
        self.reencrypt_service_override_secrets(&mut report).await?;
        Ok(report)
    }

    // ----- helpers --------------------------------------------------------------------------

    async fn connection(
        &self,
        organization_id: OrganizationId,
        link_name_value: &str,
    ) -> Result<ConnectionRecord, ConnectionError> {
        self.store
            .connections()
            .find_by_link_name(organization_id, link_name_value)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ConnectionError::NotFound {
                link_name: link_name_value.to_string(),
            })
    }

    async fn environment_row(
        &self,
        record: &ConnectionRecord,
        environment: EnvironmentKind,
    ) -> Result<ConnectionEnvironmentRecord, ConnectionError> {
        self.store
            .connections()
            .environment(record.organization_id, record.id, environment)
            .await
            .map_err(|error| match error {
                StoreError::NotFound { .. } => ConnectionError::NotFound {
                    link_name: record.link_name.clone(),
                },
                other => store_error(other),
            })
    }

    async fn view(&self, record: &ConnectionRecord) -> Result<ConnectionView, ConnectionError> {
        let record = self
            .store
            .connections()
            .get(record.organization_id, record.id)
            .await
            .map_err(store_error)?;
        let environments = self
            .store
            .connections()
            .environments(record.organization_id, record.id)
            .await
            .map_err(store_error)?;
        Ok(ConnectionView::from_records(&record, &environments))
    }

    async fn event(
        &self,
        record: &ConnectionRecord,
        environment: Option<EnvironmentKind>,
        kind: &str,
        detail: Value,
    ) {
        let result = self
            .store
            .connections()
            .record_event(
                record.organization_id,
                record.id,
                &record.link_name,
                environment,
                kind,
                &detail,
            )
            .await;
        if let Err(error) = result {
            tracing::warn!(link_name = %record.link_name, kind, error_code = error.code(), "could not record a connection event");
        }
    }

    fn resolve(
        &self,
        service: &ServiceEntry,
        record: &ConnectionRecord,
        row: &ConnectionEnvironmentRecord,
    ) -> Result<ResolvedService, ConnectionError> {
        service
            .definition
            .resolve(
                &parse_map(&record.settings),
                &parse_map(&row.captured_values),
            )
            .map_err(|error| services_error(&record.service_key, error))
    }

    fn oauth_client(
        &self,
        service: &ServiceEntry,
        record: &ConnectionRecord,
    ) -> Result<OAuthApp, ConnectionError> {
        if let Some(client_id) = &record.oauth_client_id {
            let client_secret = record
                .oauth_client_secret
                .as_ref()
                .map(|ciphertext| {
                    self.vault
                        .decrypt_secret(ciphertext, &client_secret_associated_data(record.id))
                        .map_err(vault_error)
                })
                .transpose()?;
            return Ok(OAuthApp {
                client_id: client_id.clone(),
                client_secret,
            });
        }
        if let Some(client) = &service.custom_client {
            return Ok(client.clone());
        }
        if let Some(client) = &service.operator_client {
            return Ok(client.clone());
        }
        self.config.oauth_apps.get(&record.service_key).cloned().ok_or_else(|| ConnectionError::ServiceDefinition {
            service_key: record.service_key.clone(),
            message: "no OAuth client (client id and secret) is configured for this service in this environment; a platform administrator sets one with PUT /api/v1/environments/{environment}/service-overrides/{service_key}, or the connection sets its own".to_string(),
        })
    }

    fn token_endpoint(
        &self,
        service: &ServiceEntry,
        record: &ConnectionRecord,
        resolved: &ResolvedService,
    ) -> Result<TokenEndpoint, ConnectionError> {
        let oauth2 =
            resolved
                .oauth2
                .as_ref()
                .ok_or_else(|| ConnectionError::ServiceDefinition {
                    service_key: record.service_key.clone(),
                    message: "the service has no OAuth 2 endpoints".to_string(),
                })?;
        let client = self.oauth_client(service, record)?;
        let client_authentication =
            match (oauth2.client_authentication, client.client_secret.is_some()) {
                (_, false) => ClientAuthentication::None,
                (trestle_services::ClientAuthentication::Basic, true) => {
                    ClientAuthentication::Basic
                }
                (trestle_services::ClientAuthentication::Body, true) => ClientAuthentication::Body,
            };
        let pairs = |map: &BTreeMap<String, String>| {
            map.iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect()
        };
        Ok(TokenEndpoint {
            service_key: record.service_key.clone(),
            token_url: oauth2.token_url.clone(),
            refresh_url: oauth2.refresh_url.clone(),
            client_id: client.client_id.clone(),
            client_secret: client
                .client_secret
                .as_ref()
                .map(|secret| Secret::new(secret.expose_secret())),
            client_authentication,
            scope_separator: resolved.scope_separator.as_str().to_string(),
            token_params: pairs(&oauth2.token_parameters),
            refresh_params: pairs(&oauth2.refresh_parameters),
            token_request_headers: pairs(&oauth2.token_request_headers),
            expires_in_fields: oauth2.token_response.expires_in_fields.clone(),
        })
    }

    fn encrypt_credentials(
        &self,
        id: ConnectionId,
        environment: EnvironmentKind,
        credentials: &StoredCredentials,
    ) -> Result<Vec<u8>, ConnectionError> {
        let mut plaintext =
            serde_json::to_vec(credentials).map_err(|error| ConnectionError::Vault {
                code: "CREDENTIALS_UNSERIALIZABLE",
                message: error.to_string(),
            })?;
        let ciphertext = self
            .vault
            .encrypt(&plaintext, &credentials_associated_data(id, environment))
            .map_err(vault_error);
        zeroize::Zeroize::zeroize(&mut plaintext);
        ciphertext
    }

    fn decrypt_credentials(
        &self,
        record: &ConnectionRecord,
        row: &ConnectionEnvironmentRecord,
    ) -> Result<Option<StoredCredentials>, ConnectionError> {
        let Some(ciphertext) = &row.credentials else {
            return Ok(None);
        };
        let plaintext = self
            .vault
            .decrypt(
                ciphertext,
                &credentials_associated_data(record.id, row.environment),
            )
            .map_err(vault_error)?;
        serde_json::from_slice(plaintext.expose_secret())
            .map(Some)
            .map_err(|_| ConnectionError::Vault {
                code: "CREDENTIALS_UNREADABLE",
                message: format!(
                    "the stored credentials of `{}` cannot be read; authorize the connection again",
                    record.link_name
                ),
            })
    }
}

/// What a flow knows of the authorization it starts (see
/// [`ConnectionManager::record_pending_authorization`]).
struct NewPendingAuthorization<'a> {
    environment: EnvironmentKind,
    /// Digest of the `state` parameter sent to the provider.
    state_hash: String,
    /// Where the launch URL sends the browser: the provider's authorization page.
    provider_url: &'a Url,
    /// The token (OAuth 2) or access token (OAuth 1) endpoint, fixed when the flow starts.
    token_url: &'a Url,
    redirect_uri: String,
    /// The PKCE verifier (OAuth 2) or temporary credentials (OAuth 1), encrypted.
    code_verifier: Option<Vec<u8>>,
}

/// What a completed authorization stores for one environment (see
/// [`ConnectionManager::store_authorized`]).
struct Authorized<'a> {
    credentials: &'a StoredCredentials,
    granted_scopes: &'a [String],
    captured_values: &'a BTreeMap<String, String>,
    expires_at: Option<DateTime<Utc>>,
}

impl ConnectionManager {
    /// Encrypts and stores the credentials of a completed authorization (the environment
    /// becomes active and the link name is locked), then records the `authorized` event.
    async fn store_authorized(
        &self,
        record: &ConnectionRecord,
        environment: EnvironmentKind,
        authorized: Authorized<'_>,
        event_detail: Value,
    ) -> Result<(), ConnectionError> {
        let write = CredentialWrite {
            status: ConnectionStatus::Active,
            credentials: self.encrypt_credentials(
                record.id,
                environment,
                authorized.credentials,
            )?,
            granted_scopes: list_json(authorized.granted_scopes),
            captured_values: map_json(authorized.captured_values),
            expires_at: authorized.expires_at,
        };
        self.store
            .connections()
            .store_authorization(record.organization_id, record.id, environment, write)
            .await
            .map_err(store_error)?;
        self.event(record, Some(environment), "authorized", event_detail)
            .await;
        Ok(())
    }
}

/// The credentials of a first token response (nothing earlier to keep, unlike a refresh).
fn token_credentials(response: &TokenResponse) -> StoredCredentials {
    StoredCredentials {
        access_token: Some(response.access_token.clone()),
        refresh_token: response.refresh_token.clone(),
        token_type: response.token_type.clone(),
        ..StoredCredentials::default()
    }
}

/// The scopes a token response granted: its `scope` when present, otherwise the requested ones
/// (`requested_scopes` is the connection's stored JSON list).
fn granted_scopes(response: &TokenResponse, requested_scopes: &str) -> Vec<String> {
    match &response.scope {
        Some(scope) => oauth::split_scopes(scope),
        None => parse_list(requested_scopes),
    }
}

fn expiry(response: &TokenResponse) -> Option<DateTime<Utc>> {
    response
        .expires_in_seconds
        .filter(|seconds| *seconds > 0)
        .map(|seconds| Utc::now() + chrono::TimeDelta::seconds(seconds))
}

/// RFC 9207: the `iss` of an authorization response must name the authorization server the
/// flow was started with: same scheme, host and port as its authorize or token endpoint.
fn check_issuer(issuer: &str, authorize_url: &Url, token_url: &Url) -> Result<(), ConnectionError> {
    let mismatch = || ConnectionError::IssuerMismatch {
        expected: authorize_url.origin().ascii_serialization(),
        received: issuer.chars().take(200).collect(),
    };
    let issuer_url = Url::parse(issuer).map_err(|_| mismatch())?;
    let origin = issuer_url.origin();
    if origin == authorize_url.origin() || origin == token_url.origin() {
        Ok(())
    } else {
        Err(mismatch())
    }
}

mod subtle_compare {
    /// Compares without an early exit, so timing does not reveal how much matched.
    pub fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
        if left.len() != right.len() {
            return false;
        }
        left.iter()
            .zip(right)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_must_share_the_authorization_servers_origin() {
        let authorize = Url::parse("http://127.0.0.1:3000/auth").unwrap();
        let token = Url::parse("http://127.0.0.1:3000/token").unwrap();
        assert!(check_issuer("http://127.0.0.1:3000", &authorize, &token).is_ok());
        let error = check_issuer("https://evil.test", &authorize, &token).unwrap_err();
        assert_eq!(error.code(), "OAUTH_ISSUER_MISMATCH");
        assert!(check_issuer("not a url", &authorize, &token).is_err());
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(subtle_compare::constant_time_eq(b"abc", b"abc"));
        assert!(!subtle_compare::constant_time_eq(b"abc", b"abd"));
        assert!(!subtle_compare::constant_time_eq(b"abc", b"abcd"));
    }
}
