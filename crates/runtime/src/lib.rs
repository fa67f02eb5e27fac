//! trestle-runtime: runs Deluge functions on a Trestle server and forwards proxy requests.
//!
//! [`FunctionRuntime`] holds the request engine (trestle-outbound), the connection manager
//! (trestle-connections) and the operator's per-environment stand-in routes. For one run it
//! builds a [`ServerPerformer`], which performs every effect of the script:
//! - `invokeurl` with `connection:` resolves the link name in the caller's organization and
//!   environment, attaches the credential the service definition describes (only to hosts the
//!   service allows: the engine checks), and retries once after a 401 with a forced refresh;
//!   without a connection the request passes the SSRF guard;
//! - `zoho.bigin.*`, `zoho.crm.*`, `zoho.books.*` are planned by trestle-integrations and sent
//!   to the connection's API base through the same engine, then shaped;
//! - the clock and random numbers come from the system; mail and other tasks fail with a
//!   clear error;
//! - a call to another stored function (`standalone.name(...)`) loads it from the store,
//!   checks the arguments against its declared parameters and runs it with this performer,
//!   one level deeper; the VM refuses calls deeper than
//!   [`MAX_STORED_FUNCTION_CALL_DEPTH`].
//!
//! Every effect is recorded ([`EffectRecord`]) with every credential value redacted.

mod error;
mod performer;
mod proxy;
mod report;
mod stored;

use std::sync::Arc;

use trestle_connections::ConnectionManager;
use trestle_outbound::{EgressContext, HostRoutes, OutboundEngine};
use trestle_store::{
    CROSS_PROCESS_STALENESS, ChangeDomain, EgressRouteRecord, EnvironmentKind, OrganizationId,
    ReadCache,
};

pub use error::RuntimeError;
pub use performer::ServerPerformer;
pub use proxy::{ProxyRequest, forwarded_request_headers};
pub use report::{EffectRecord, RunError, RunReport, RunTiming, ScriptRun, StoredFunctionRun};
pub use stored::{
    MAX_FUNCTION_NAME_CHARS, MAX_FUNCTION_PARAMETERS, MAX_FUNCTION_SCRIPT_BYTES,
    MAX_STORED_FUNCTION_CALL_DEPTH, ParameterType, arguments_from_call, arguments_from_json,
    normalized_parameters, validate_function,
};

/// One stand-in route: requests for `host` go to `target`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EgressRoute {
    pub host: String,
    pub target: String,
}

/// Everything a server needs to run functions and proxy requests. Cheap to share in an `Arc`.
///
/// Stand-in routes live in the store (`egress_routes`): every server process on the database
/// uses the same routes. Each process keeps an environment's routes, built into the engine's
/// context, in a read cache: a route change through this process applies to the next request;
/// one made through another process within [`CROSS_PROCESS_STALENESS`] (see
/// `trestle_store::read_cache`).
pub struct FunctionRuntime {
    engine: OutboundEngine,
    connections: Arc<ConnectionManager>,
    contexts: ReadCache<(OrganizationId, EnvironmentKind), Arc<EgressContext>>,
}

/// Most environments whose routes are cached at once per process.
const MAX_CACHED_CONTEXTS: usize = 10_000;

impl std::fmt::Debug for FunctionRuntime {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("FunctionRuntime")
            .field("engine", &self.engine)
            .field("contexts", &self.contexts)
            .finish_non_exhaustive()
    }
}

fn storage_error(error: trestle_store::StoreError) -> RuntimeError {
    RuntimeError::Storage {
        code: error.code(),
        message: error.to_string(),
    }
}

impl FunctionRuntime {
    pub fn new(engine: OutboundEngine, connections: Arc<ConnectionManager>) -> FunctionRuntime {
        let contexts = ReadCache::new(
            connections.store(),
            &[ChangeDomain::ServiceOverrides],
            CROSS_PROCESS_STALENESS,
            MAX_CACHED_CONTEXTS,
        );
        FunctionRuntime {
            engine,
            connections,
            contexts,
        }
    }

    pub fn engine(&self) -> &OutboundEngine {
        &self.engine
    }

    pub fn connections(&self) -> &Arc<ConnectionManager> {
        &self.connections
    }

    /// The stand-in routes of one environment (empty unless an operator configured some).
    pub async fn routes(
        &self,
        organization: OrganizationId,
        environment: EnvironmentKind,
    ) -> Result<Vec<EgressRoute>, RuntimeError> {
        let records = self
            .connections
            .store()
            .service_overrides()
            .routes(organization, environment)
            .await
            .map_err(storage_error)?;
        Ok(records
            .into_iter()
            .map(|record| EgressRoute {
                host: record.host,
                target: record.target,
            })
            .collect())
    }

    /// Replaces the stand-in routes of one environment; every route is validated first, so a
    /// bad entry changes nothing.
    pub async fn set_routes(
        &self,
        organization: OrganizationId,
        environment: EnvironmentKind,
        routes: Vec<EgressRoute>,
    ) -> Result<Vec<EgressRoute>, RuntimeError> {
        let mut validated = HostRoutes::new();
        for route in &routes {
            validated.add(&route.host, &route.target).map_err(|error| {
                RuntimeError::InvalidRoute {
                    message: error.to_string(),
                }
            })?;
        }
        let records: Vec<EgressRouteRecord> = validated
            .iter()
            .map(|route| EgressRouteRecord {
                host: route.host.clone(),
                target: route.target.to_string(),
            })
            .collect();
        self.connections
            .store()
            .service_overrides()
            .replace_routes(organization, environment, &records)
            .await
            .map_err(storage_error)?;
        self.routes(organization, environment).await
    }

    /// The engine context of one environment: its stand-in routes only, never another's.
    pub async fn egress_context(
        &self,
        organization: OrganizationId,
        environment: EnvironmentKind,
    ) -> Result<EgressContext, RuntimeError> {
        Ok(EgressContext::clone(
            &*self
                .shared_egress_context(organization, environment)
                .await?,
        ))
    }

    /// [`Self::egress_context`] as cached, without copying it.
    pub(crate) async fn shared_egress_context(
        &self,
        organization: OrganizationId,
        environment: EnvironmentKind,
    ) -> Result<Arc<EgressContext>, RuntimeError> {
        let key = (organization, environment);
        if let Some(context) = self.contexts.get(&key) {
            return Ok(context);
        }
        let started = self.contexts.generation();
        let mut routes = HostRoutes::new();
        for route in self.routes(organization, environment).await? {
            routes.add(&route.host, &route.target).map_err(|error| {
                RuntimeError::InvalidRoute {
                    message: format!(
                        "a stored stand-in route of the {environment} environment is unusable: {error}"
                    ),
                }
            })?;
        }
        let context = Arc::new(
            EgressContext::new()
                .with_routes(routes)
                .with_environment(environment.as_str()),
        );
        self.contexts.insert(key, Arc::clone(&context), started);
        Ok(context)
    }
}
