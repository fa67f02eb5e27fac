//! The route groups, one module per API area, and the OpenAPI document they build together.
//! See the crate docs ("Adding a route group") for how to add one.

use std::collections::BTreeMap;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::error::ErrorBody;
use crate::state::AppState;

pub mod audit;
pub mod auth;
pub mod connections;
pub mod environments;
pub mod functions;
pub mod members;
pub mod organizations;
pub mod proxy;
pub mod routes;
pub mod system;
pub mod tokens;
pub mod views;

/// Every route with its OpenAPI entry. Add new route groups here, one line each.
pub fn openapi_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDocument::openapi())
        .merge(system::routes())
        .merge(connections::routes())
        .merge(connections::browser_routes())
        .nest("/api/v1", auth::routes())
        .nest("/api/v1/organizations", organizations::routes())
        .nest("/api/v1/organizations/{org_id}/members", members::routes())
        .nest(
            "/api/v1/organizations/{org_id}/environments",
            environments::routes(),
        )
        .nest("/api/v1/organizations/{org_id}/tokens", tokens::routes())
        .nest("/api/v1/organizations/{org_id}/audit", audit::routes())
        .nest("/api/v1/environments/{environment}", functions::routes())
        .nest("/api/v1/environments/{environment}", routes::routes())
        .merge(proxy::routes())
        .merge(crate::oauth_provider::clients::routes())
}

/// The top of the OpenAPI document; paths and most schemas come from the route groups.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Trestle management API",
        description = "Organizations, users, environments, API tokens, the audit log, services \
            and connections, functions, and the clients of Trestle's OAuth server. The \
            Zoho-compatible /bigin/v2 records API and /oauth/v2 endpoints follow Zoho's \
            conventions and are not part of this document. \
            Authenticate with a console session (POST /api/v1/auth/login sets the cookie; unsafe \
            requests then need the X-CSRF-Token header) or with `Authorization: Bearer trestle_...`. \
            Every error has the shape {code, message, details}.",
        license(name = "Apache-2.0")
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes)
)]
struct ApiDocument;

/// Name of the bearer-token security scheme in the document.
pub const BEARER_SCHEME: &str = "api_token";
/// Name of the session-cookie security scheme in the document.
pub const SESSION_SCHEME: &str = "session_cookie";

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("trestle_...")
                    .description(Some("An API token created at POST /api/v1/organizations/{org_id}/tokens or with `trestle admin issue-token`."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            SESSION_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE_NAME,
                "Console session set by POST /api/v1/auth/login. Unsafe methods also need the X-CSRF-Token header.",
            ))),
        );
    }
}

fn error_responses(
    statuses: &[(u16, &str)],
) -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
    statuses
        .iter()
        .map(|(status, description)| {
            let response = ResponseBuilder::new()
                .description(*description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build();
            (status.to_string(), RefOr::T(response))
        })
        .collect()
}

const BAD_REQUEST: (u16, &str) = (400, "Malformed JSON, id or query parameter");
const UNAUTHENTICATED: (u16, &str) = (401, "No valid session or API token");
const FORBIDDEN: (u16, &str) = (
    403,
    "Role does not allow this, CSRF token missing, or the password must be changed first",
);
const NOT_FOUND: (u16, &str) = (
    404,
    "No such resource in an organization the caller belongs to",
);
const CONFLICT: (u16, &str) = (409, "Conflicts with existing data");
const TOO_LARGE: (u16, &str) = (413, "Request body over the size limit");
const MEDIA_TYPE: (u16, &str) = (415, "Content-Type is not application/json");
const UNPROCESSABLE: (u16, &str) = (
    422,
    "JSON of the wrong shape (unknown field, wrong type) or an invalid value",
);
const TOO_MANY: (u16, &str) = (429, "Too many failed sign-ins; see Retry-After");
const INTERNAL: (u16, &str) = (500, "Internal error");
const BAD_GATEWAY: (u16, &str) = (
    502,
    "The third-party service refused or failed (token request, verification)",
);
const UNAVAILABLE: (u16, &str) = (
    503,
    "Database unavailable, or a third-party service out of reach",
);

/// Errors of authenticated reads (documented on every GET of the API).
pub struct ReadErrors;

impl utoipa::IntoResponses for ReadErrors {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        error_responses(&[
            BAD_REQUEST,
            UNAUTHENTICATED,
            FORBIDDEN,
            NOT_FOUND,
            INTERNAL,
            UNAVAILABLE,
        ])
    }
}

/// Errors of authenticated writes (documented on every POST, PATCH and DELETE).
pub struct WriteErrors;

impl utoipa::IntoResponses for WriteErrors {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        error_responses(&[
            BAD_REQUEST,
            UNAUTHENTICATED,
            FORBIDDEN,
            NOT_FOUND,
            CONFLICT,
            TOO_LARGE,
            MEDIA_TYPE,
            UNPROCESSABLE,
            INTERNAL,
            UNAVAILABLE,
        ])
    }
}

/// Errors of endpoints that may call a third-party service (connections: token requests,
/// verification requests, revocation): every write error plus 502 for a failing service.
pub struct ConnectionErrors;

impl utoipa::IntoResponses for ConnectionErrors {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        error_responses(&[
            BAD_REQUEST,
            UNAUTHENTICATED,
            FORBIDDEN,
            NOT_FOUND,
            CONFLICT,
            TOO_LARGE,
            MEDIA_TYPE,
            UNPROCESSABLE,
            INTERNAL,
            BAD_GATEWAY,
            UNAVAILABLE,
        ])
    }
}

/// Errors of the sign-in endpoint.
pub struct LoginErrors;

impl utoipa::IntoResponses for LoginErrors {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        error_responses(&[
            BAD_REQUEST,
            UNAUTHENTICATED,
            TOO_LARGE,
            MEDIA_TYPE,
            UNPROCESSABLE,
            TOO_MANY,
            INTERNAL,
            UNAVAILABLE,
        ])
    }
}

/// Errors of the unauthenticated health endpoints.
pub struct HealthErrors;

impl utoipa::IntoResponses for HealthErrors {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        error_responses(&[UNAVAILABLE])
    }
}

/// Appends an audit entry for a change made by `principal`.
pub(crate) async fn record_audit(
    state: &AppState,
    principal: &crate::auth::AuthenticatedPrincipal,
    organization_id: Option<trestle_store::OrganizationId>,
    action: &str,
    target: Option<(&str, String)>,
    details: serde_json::Value,
) -> Result<(), crate::error::ApiError> {
    let (target_kind, target_id) = match target {
        Some((kind, id)) => (Some(kind), Some(id)),
        None => (None, None),
    };
    state
        .store
        .audit()
        .record(&trestle_store::NewAuditEntry {
            actor: principal.actor(),
            organization_id,
            action,
            target_kind,
            target_id,
            details,
        })
        .await?;
    Ok(())
}
