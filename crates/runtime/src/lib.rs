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
//! - the clock and random numbers come from the system; mail, other stored functions and
//!   other tasks fail with a clear error.
//!
//! Every effect is recorded ([`EffectRecord`]) with every credential value redacted.

mod error;
mod performer;
mod proxy;
mod report;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use trestle_connections::ConnectionManager;
use trestle_outbound::{EgressContext, HostRoutes, OutboundEngine};
use trestle_store::{EnvironmentKind, OrganizationId};

pub use error::RuntimeError;
pub use performer::ServerPerformer;
pub use proxy::{ProxyRequest, forwarded_request_headers};
pub use report::{EffectRecord, RunError, RunReport, RunTiming, ScriptRun};

/// One stand-in route: requests for `host` go to `target`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EgressRoute {
    pub host: String,
    pub target: String,
}

/// Everything a server needs to run functions and proxy requests. Cheap to share in an `Arc`.
pub struct FunctionRuntime {
    engine: OutboundEngine,
    connections: Arc<ConnectionManager>,
    routes: RwLock<HashMap<(OrganizationId, EnvironmentKind), Vec<EgressRoute>>>,
}

impl std::fmt::Debug for FunctionRuntime {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("FunctionRuntime")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl FunctionRuntime {
    pub fn new(engine: OutboundEngine, connections: Arc<ConnectionManager>) -> FunctionRuntime {
        FunctionRuntime {
            engine,
            connections,
            routes: RwLock::new(HashMap::new()),
        }
    }

    pub fn engine(&self) -> &OutboundEngine {
        &self.engine
    }

    pub fn connections(&self) -> &Arc<ConnectionManager> {
        &self.connections
    }

    /// The stand-in routes of one environment (empty unless an operator configured some).
    pub fn routes(
        &self,
        organization: OrganizationId,
        environment: EnvironmentKind,
    ) -> Vec<EgressRoute> {
        let routes = match self.routes.read() {
            Ok(routes) => routes,
            Err(poisoned) => poisoned.into_inner(),
        };
        routes
            .get(&(organization, environment))
            .cloned()
            .unwrap_or_default()
    }

    /// Replaces the stand-in routes of one environment; every route is validated first, so a
    /// bad entry changes nothing.
    pub fn set_routes(
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
        let normalized: Vec<EgressRoute> = validated
            .iter()
            .map(|route| EgressRoute {
                host: route.host.clone(),
                target: route.target.to_string(),
            })
            .collect();
        let mut table = match self.routes.write() {
            Ok(table) => table,
            Err(poisoned) => poisoned.into_inner(),
        };
        if normalized.is_empty() {
            table.remove(&(organization, environment));
        } else {
            table.insert((organization, environment), normalized.clone());
        }
        Ok(normalized)
    }

    /// The engine context of one environment: its stand-in routes only, never another's.
    pub fn egress_context(
        &self,
        organization: OrganizationId,
        environment: EnvironmentKind,
    ) -> EgressContext {
        let mut routes = HostRoutes::new();
        for route in self.routes(organization, environment) {
            // Validated when stored; a failure here cannot happen, and skipping is safe.
            let _ = routes.add(&route.host, &route.target);
        }
        EgressContext::new()
            .with_routes(routes)
            .with_environment(environment.as_str())
    }
}
