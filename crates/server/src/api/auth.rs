//! Console sign-in, sign-out, password change, and `/me`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use trestle_store::{Actor, NewAuditEntry, StoreError, password};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::views::{OrganizationWithRole, UserView};
use crate::api::{LoginErrors, ReadErrors, WriteErrors};
use crate::auth::{
    AuthMethod, PrincipalAllowingPasswordChange, cleared_session_cookie, client_ip,
    request_is_https, session_cookie, session_cookie_value,
};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(change_password))
        .routes(routes!(me))
}

/// Sign-in request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// Answer to a successful sign-in. The session itself is the `trestle_session` cookie.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub user: UserView,
    /// Send this in the `X-CSRF-Token` header of every POST, PATCH and DELETE made with the
    /// session cookie (and as the `csrf_token` field of HTML forms).
    pub csrf_token: String,
    pub session_expires_at: DateTime<Utc>,
    /// When true, every other endpoint answers 403 PASSWORD_CHANGE_REQUIRED until the password
    /// is changed at POST /api/v1/auth/password.
    pub must_change_password: bool,
}

/// Password change request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// At least 10 characters.
    pub new_password: String,
}

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub user: UserView,
    /// `session` or `api_token`.
    pub authenticated_by: String,
    /// For an API token: its id.
    pub api_token_id: Option<Uuid>,
    /// May create organizations.
    pub platform_admin: bool,
    /// Organizations the caller can act in (for an API token: its one organization).
    pub organizations: Vec<OrganizationWithRole>,
}

/// Sign in with email and password; sets the session cookie and returns the CSRF token.
/// Failed attempts are counted per account and per client address (in the database, so the
/// limit holds across server processes); over the limit the answer is 429 with Retry-After.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "Signed in; the session cookie is set", body = LoginResponse), LoginErrors))]
async fn login(
    State(state): State<AppState>,
    request_parts: axum::http::Extensions,
    headers: HeaderMap,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let config = &state.config;
    let store = &state.store;
    let now = Utc::now();
    let window = TimeDelta::seconds(
        i64::try_from(config.login_failure_window_seconds).unwrap_or(i64::MAX / 2_000_000),
    );
    let email = request.email.trim().to_lowercase();
    let account_key = throttle_key("account", &email);
    let address_key = client_ip(&request_parts, &headers, config.trust_forwarded_headers)
        .map(|address| throttle_key("address", &address.to_string()));

    let throttle = store.login_throttle();
    let account_failures = throttle.failures(&account_key, now, window).await?;
    let address_failures = match &address_key {
        Some(key) => throttle.failures(key, now, window).await?,
        None => 0,
    };
    if account_failures >= config.login_max_failures_per_account
        || address_failures >= config.login_max_failures_per_ip
    {
        return Err(ApiError::TooManyLoginAttempts {
            retry_after_seconds: config.login_failure_window_seconds,
        });
    }

    let credentials = store.users().credentials_by_email(&email).await?;
    let password_attempt = request.password;
    let (verified, credentials) = tokio::task::spawn_blocking(move || match credentials {
        Some(credentials) => (
            password::verify_password(&password_attempt, &credentials.password_hash),
            Some(credentials),
        ),
        None => (password::verify_against_dummy_hash(&password_attempt), None),
    })
    .await
    .map_err(|join_error| ApiError::Internal(format!("password check failed: {join_error}")))?;

    let user = match credentials {
        Some(credentials) if verified && !credentials.user.disabled => credentials.user,
        known_or_not => {
            throttle.record_failure(&account_key, now, window).await?;
            if let Some(key) = &address_key {
                throttle.record_failure(key, now, window).await?;
            }
            store
                .audit()
                .record(&NewAuditEntry {
                    actor: Actor::System,
                    organization_id: None,
                    action: "login.failed",
                    target_kind: known_or_not.as_ref().map(|_| "user"),
                    target_id: known_or_not.map(|credentials| credentials.user.id.to_string()),
                    details: serde_json::json!({ "reason": "wrong email or password, or disabled account" }),
                })
                .await?;
            return Err(ApiError::InvalidCredentials);
        }
    };

    throttle.clear(&account_key).await?;
    let session_ttl =
        TimeDelta::minutes(i64::try_from(config.session_ttl_minutes).unwrap_or(60 * 24 * 365));
    let new_session = store.sessions().create(user.id, now + session_ttl).await?;
    store
        .audit()
        .record(&NewAuditEntry {
            actor: Actor::User(user.id),
            organization_id: None,
            action: "login.succeeded",
            target_kind: Some("user"),
            target_id: Some(user.id.to_string()),
            details: serde_json::json!({}),
        })
        .await?;
    let cookie = session_cookie(
        new_session.token.expose(),
        session_ttl.num_seconds(),
        request_is_https(config, &headers),
    );
    let body = LoginResponse {
        must_change_password: user.must_change_password,
        user: user.into(),
        csrf_token: new_session.session.csrf_token,
        session_expires_at: new_session.session.expires_at,
    };
    let mut response = Json(body).into_response();
    set_cookie(&mut response, &cookie)?;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Ends the console session and clears its cookie. (API tokens are ended by revoking them.)
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out"), WriteErrors),
    security(("session_cookie" = [])))]
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    PrincipalAllowingPasswordChange(principal): PrincipalAllowingPasswordChange,
) -> Result<Response, ApiError> {
    if !principal.is_session() {
        return Err(not_a_session("sign out"));
    }
    if let Some(token) = session_cookie_value(&headers) {
        state.store.sessions().revoke(&token).await?;
    }
    state
        .store
        .audit()
        .record(&NewAuditEntry {
            actor: principal.actor(),
            organization_id: None,
            action: "logout",
            target_kind: Some("user"),
            target_id: Some(principal.user.id.to_string()),
            details: serde_json::json!({}),
        })
        .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    set_cookie(
        &mut response,
        &cleared_session_cookie(request_is_https(&state.config, &headers)),
    )?;
    Ok(response)
}

/// Replaces the caller's password (clears `must_change_password`) and ends the caller's other
/// sessions. Only from a console session; a wrong current password counts as a failed sign-in.
#[utoipa::path(post, path = "/auth/password", tag = "auth", request_body = ChangePasswordRequest,
    responses((status = 204, description = "Password changed"), (status = 429, description = "Too many wrong passwords", body = crate::error::ErrorBody), WriteErrors),
    security(("session_cookie" = [])))]
async fn change_password(
    State(state): State<AppState>,
    PrincipalAllowingPasswordChange(principal): PrincipalAllowingPasswordChange,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let AuthMethod::Session { session_id, .. } = &principal.method else {
        return Err(not_a_session("change a password"));
    };
    let config = &state.config;
    let store = &state.store;
    let now = Utc::now();
    let window = TimeDelta::seconds(
        i64::try_from(config.login_failure_window_seconds).unwrap_or(i64::MAX / 2_000_000),
    );
    let account_key = throttle_key("account", &principal.user.email);
    if store
        .login_throttle()
        .failures(&account_key, now, window)
        .await?
        >= config.login_max_failures_per_account
    {
        return Err(ApiError::TooManyLoginAttempts {
            retry_after_seconds: config.login_failure_window_seconds,
        });
    }
    password::check_password_policy(&request.new_password).map_err(|store_error| {
        ApiError::validation("new_password", policy_message(&store_error))
    })?;
    if request.new_password == request.current_password {
        return Err(ApiError::validation(
            "new_password",
            "the new password must differ from the current one",
        ));
    }
    let credentials = store.users().credentials(principal.user.id).await?;
    let current_password = request.current_password;
    let new_password = request.new_password;
    let (verified, new_hash) = tokio::task::spawn_blocking(move || {
        let verified = password::verify_password(&current_password, &credentials.password_hash);
        let new_hash = verified.then(|| password::hash_password(&new_password));
        (verified, new_hash)
    })
    .await
    .map_err(|join_error| ApiError::Internal(format!("password hashing failed: {join_error}")))?;
    let Some(new_hash) = new_hash.filter(|_| verified) else {
        store
            .login_throttle()
            .record_failure(&account_key, now, window)
            .await?;
        return Err(ApiError::validation(
            "current_password",
            "the current password is wrong",
        ));
    };
    let new_hash = new_hash?;
    store
        .users()
        .set_password(principal.user.id, &new_hash, false)
        .await?;
    for session in store.sessions().list_for_user(principal.user.id).await? {
        if session.id != *session_id {
            store
                .sessions()
                .revoke_by_id(principal.user.id, session.id)
                .await?;
        }
    }
    store
        .audit()
        .record(&NewAuditEntry {
            actor: principal.actor(),
            organization_id: None,
            action: "user.password_changed",
            target_kind: Some("user"),
            target_id: Some(principal.user.id.to_string()),
            details: serde_json::json!({}),
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller: user, how they authenticated, and their organizations with roles.
#[utoipa::path(get, path = "/me", tag = "auth",
    responses((status = 200, description = "The caller", body = MeResponse), ReadErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn me(
    State(state): State<AppState>,
    PrincipalAllowingPasswordChange(principal): PrincipalAllowingPasswordChange,
) -> Result<Json<MeResponse>, ApiError> {
    let organizations = principal.organizations(&state.store).await?;
    let (authenticated_by, api_token_id) = match &principal.method {
        AuthMethod::Session { .. } => ("session", None),
        AuthMethod::ApiToken { token_id, .. } => ("api_token", Some(token_id.as_uuid())),
    };
    Ok(Json(MeResponse {
        platform_admin: principal.is_platform_admin,
        user: principal.user.into(),
        authenticated_by: authenticated_by.to_owned(),
        api_token_id,
        organizations: organizations.into_iter().map(Into::into).collect(),
    }))
}

fn not_a_session(action: &str) -> ApiError {
    ApiError::Domain {
        status: StatusCode::BAD_REQUEST,
        code: "SESSION_REQUIRED",
        message: format!(
            "only a console session can {action}; API tokens are ended by revoking them"
        ),
        details: None,
    }
}

fn policy_message(store_error: &StoreError) -> String {
    match store_error {
        StoreError::InvalidInput { message, .. } => format!("the new password {message}"),
        other => other.to_string(),
    }
}

fn set_cookie(response: &mut Response, cookie: &str) -> Result<(), ApiError> {
    let value = HeaderValue::from_str(cookie)
        .map_err(|_| ApiError::Internal("session cookie is not a valid header".to_owned()))?;
    response.headers_mut().append(header::SET_COOKIE, value);
    Ok(())
}

/// Throttle keys hash what they count, so the table holds no email addresses.
fn throttle_key(kind: &str, value: &str) -> String {
    format!("{kind}:{}", base16(&Sha256::digest(value.as_bytes())))
}

fn base16(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}
