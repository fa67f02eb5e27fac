//! The Bigin-compatible records API, served under `/bigin/v2/` and, with the same handlers,
//! under `/bigin/v1/` and `/crm/v8/` (the path the official Zoho CRM SDKs call).
//!
//! The access token (issued by [`crate::oauth_provider`]) determines the user, the
//! organization and the environment; no request parameter can name another tenant. Every
//! endpoint checks the token's scopes with `trestle-crm`'s scope rules. Responses and errors
//! follow Bigin's shapes (`{"data":[...]}`, `{"code","details","message","status"}`), not the
//! management API's; unknown paths under these prefixes answer `INVALID_URL_PATTERN`.

pub(crate) mod caller;
mod metadata;
mod records;
mod render;
mod response;

use axum::Router;
use axum::routing::{MethodRouter, get};

use crate::state::AppState;

pub use caller::BiginCaller;
pub use response::BiginError;
pub use response::json_response as json_body;

/// Which URL family a request came through; v1 keeps `fields` optional on lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiVersion {
    BiginV1,
    BiginV2,
    CrmV8,
}

impl ApiVersion {
    fn fields_required(self) -> bool {
        !matches!(self, ApiVersion::BiginV1)
    }
}

/// Every prefix the records API answers on.
pub const API_PREFIXES: [(&str, ApiVersion); 3] = [
    ("/bigin/v2", ApiVersion::BiginV2),
    ("/bigin/v1", ApiVersion::BiginV1),
    ("/crm/v8", ApiVersion::CrmV8),
];

/// The records API on every prefix, ready to merge into the application router.
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for (prefix, version) in API_PREFIXES {
        router = router.nest(prefix, routes(version));
    }
    router
}

fn routes(version: ApiVersion) -> Router<AppState> {
    let with = |method_router: MethodRouter<AppState>| {
        method_router
            .fallback(response::invalid_request_method)
            .layer(axum::Extension(version))
    };
    Router::new()
        .route(
            "/settings/modules",
            with(get(metadata::list_modules).post(metadata::create_module)),
        )
        .route(
            "/settings/modules/{api_name}",
            with(get(metadata::show_module)),
        )
        .route(
            "/settings/fields",
            with(get(metadata::list_fields).post(metadata::create_field)),
        )
        .route("/users", with(get(metadata::list_users)))
        .route("/org", with(get(metadata::show_organization)))
        .route(
            "/{module}",
            with(
                get(records::list_records)
                    .post(records::insert_records)
                    .put(records::update_records)
                    .delete(records::delete_records),
            ),
        )
        .route("/{module}/search", with(get(records::search_records)))
        .route("/{module}/upsert", with(post_only(records::upsert_records)))
        .route("/{module}/actions/count", with(get(records::count_records)))
        .route(
            "/{module}/{id}",
            with(
                get(records::get_record)
                    .put(records::update_record)
                    .delete(records::delete_record),
            ),
        )
        .fallback(response::invalid_url_pattern)
}

fn post_only<H, T>(handler: H) -> MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    axum::routing::post(handler)
}
