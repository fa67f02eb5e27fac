//! What every handler can reach.

use std::sync::Arc;

use trestle_store::Store;

use crate::auth::{ApiTokenCache, api_token_cache};
use crate::bigin::caller::{AccessTokenCache, access_token_cache};
use crate::config::ServerConfig;
use crate::metrics::Metrics;

/// Shared by every request; cheap to clone. Route groups that need more services (a vault, a
/// connection manager) add a field here and construct it where `AppState::new` is called.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    pub metrics: Metrics,
    /// Connections and OAuth flows; `None` answers 503 on those routes.
    pub connections: Option<Arc<trestle_connections::ConnectionManager>>,
    /// Runs functions and forwards proxy requests; `None` answers those routes with 503.
    pub functions: Option<Arc<trestle_runtime::FunctionRuntime>>,
    /// API tokens verified recently (see [`ApiTokenCache`]).
    pub api_tokens: Arc<ApiTokenCache>,
    /// Records-API access tokens verified recently (see [`AccessTokenCache`]).
    pub bigin_access_tokens: Arc<AccessTokenCache>,
}

impl AppState {
    /// State with a fresh metrics registry.
    pub fn new(store: Store, config: ServerConfig) -> AppState {
        AppState {
            api_tokens: Arc::new(api_token_cache(&store)),
            bigin_access_tokens: Arc::new(access_token_cache(&store)),
            store,
            config: Arc::new(config),
            metrics: Metrics::new(),
            connections: None,
            functions: None,
        }
    }

    /// Adds the connection manager (connections, services and OAuth routes).
    pub fn with_connections(
        mut self,
        manager: Arc<trestle_connections::ConnectionManager>,
    ) -> AppState {
        self.connections = Some(manager);
        self
    }
}

impl AppState {
    /// The same state with the function runtime (functions/run, proxy, stand-in routes).
    pub fn with_functions(mut self, runtime: Arc<trestle_runtime::FunctionRuntime>) -> AppState {
        self.functions = Some(runtime);
        self
    }
}

impl axum::extract::FromRef<AppState> for Metrics {
    fn from_ref(state: &AppState) -> Metrics {
        state.metrics.clone()
    }
}
