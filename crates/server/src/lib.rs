//! trestle-server: the axum HTTP server. Management API under `/api/v1/`, console sessions and
//! API tokens, health, readiness and Prometheus metrics, and the OpenAPI document generated from
//! the same code that routes requests.
//!
//! # Pieces
//! - [`build_router`] turns an [`AppState`] into the whole `axum::Router`; [`serve`] binds it
//!   and shuts down gracefully.
//! - [`error::ApiError`]: every failure, and the only place errors become responses.
//! - [`extract`]: `ApiJson`, `ApiPath`, `ApiQuery`, which reject bad input with an `ApiError`.
//! - [`auth::AuthenticatedPrincipal`]: the caller (console session or API token), its
//!   organization memberships, and the CSRF check for cookie-authenticated unsafe requests.
//! - [`api`]: one module per API area, each exposing `routes() -> OpenApiRouter<AppState>`.
//!
//! # Adding a route group (connections, function runs, the proxy, the CRM...)
//! 1. Create `src/api/<area>.rs` with handlers annotated with `#[utoipa::path(...)]`
//!    (request body, path parameters, every response including errors: reuse
//!    [`api::ReadErrors`] / [`api::WriteErrors`] inside `responses(...)`) and a
//!    `pub fn routes() -> OpenApiRouter<AppState>` built with `utoipa_axum::routes!`:
//!    ```ignore
//!    pub fn routes() -> OpenApiRouter<AppState> {
//!        OpenApiRouter::new()
//!            .routes(routes!(list_connections, create_connection))
//!            .routes(routes!(show_connection, delete_connection))
//!    }
//!    ```
//!    Handlers on the same path go into one `routes!` call.
//! 2. Add one line to [`api::openapi_router`]: `.nest("/api/v1/...", <area>::routes())`
//!    (or `.merge(...)` for a non-`/api/v1` prefix such as `/bigin/v2`). Because the route and its
//!    OpenAPI entry are registered by the same call, the document cannot drift.
//! 3. Take the caller with `principal: AuthenticatedPrincipal` and the organization from it
//!    (`principal.organization_access(&state.store, org_id).await?` or
//!    `principal.token_organization()`), never from the
//!    request alone; answer 404 for ids of other organizations.
//!    For unsafe methods the CSRF check is done by the extractor already.
//! 4. Use `ApiJson<T>` (with `#[serde(deny_unknown_fields)]` on `T`), `ApiPath<T>`, `ApiQuery<T>`;
//!    add a `From<YourCrateError> for ApiError` in `error.rs` mapping each variant to a status
//!    through [`error::ApiError::Domain`].
//! 5. Services your handlers need (a vault, a connection manager) become fields of [`AppState`].
//! 6. Add a row per new endpoint to the bad-input and cross-organization tables in
//!    `tests/api_errors.rs` and `tests/isolation.rs`.

pub mod api;
pub mod auth;
pub mod bigin;
pub mod config;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod oauth_provider;
mod router;
pub mod run;
mod state;

pub use config::{ConfigError, ConfigLayer, CookieSecure, LogFormat, ServerConfig};
pub use error::ApiError;
pub use router::{build_router, openapi_document};
pub use run::{FirstRunAdmin, ServeError, ensure_first_run_admin, serve};
pub use state::AppState;
