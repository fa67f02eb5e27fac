//! Who is calling: console sessions (cookie + CSRF token) and API tokens (bearer).
//!
//! Handlers take an [`AuthenticatedPrincipal`]; it rejects unauthenticated requests (401),
//! cookie-authenticated unsafe requests without the right `X-CSRF-Token` (403), and users who
//! must still replace a one-time password (403, except on the endpoints that take
//! [`PrincipalAllowingPasswordChange`]). Organization-scoped handlers then call
//! [`AuthenticatedPrincipal::organization_access`], which answers 404 for organizations the
//! caller does not belong to, and for API tokens for every organization but the token's own.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use chrono::{DateTime, Utc};
use trestle_store::{
    API_TOKEN_PREFIX, Actor, ApiTokenId, CROSS_PROCESS_STALENESS, ChangeDomain, OrganizationId,
    ReadCache, Role, SessionId, Store, User, UserOrganization, api_token_digest,
};

use crate::config::{CookieSecure, ServerConfig};
use crate::error::{ApiError, Resource};
use crate::state::AppState;

/// Name of the console session cookie.
pub const SESSION_COOKIE_NAME: &str = "trestle_session";
/// Header that carries the CSRF token on cookie-authenticated unsafe requests.
pub const CSRF_HEADER_NAME: &str = "x-csrf-token";
/// Form field that carries the CSRF token on HTML form posts (consent pages).
pub const CSRF_FORM_FIELD: &str = "csrf_token";

/// API tokens verified recently, by the SHA-256 of the token (the token itself is not kept).
///
/// A hit costs no store query. Freshness follows `trestle_store::read_cache`: revoking a
/// token, disabling its creator or changing their membership through this process applies to
/// the next request; through another process, within [`CROSS_PROCESS_STALENESS`]. A token's own
/// expiry is checked on every use. Only successful verifications are cached, so the number of
/// entries is bounded by the live tokens in use.
pub type ApiTokenCache = ReadCache<[u8; 32], VerifiedApiToken>;

/// A cached verification: who the token acts for, and until when it is valid.
#[derive(Debug, Clone)]
pub struct VerifiedApiToken {
    principal: AuthenticatedPrincipal,
    expires_at: Option<DateTime<Utc>>,
}

/// Most API tokens cached at once per process.
const MAX_CACHED_API_TOKENS: usize = 10_000;

/// An empty cache of API-token verifications on `store`.
pub fn api_token_cache(store: &Store) -> ApiTokenCache {
    ReadCache::new(
        store,
        &[ChangeDomain::Access],
        CROSS_PROCESS_STALENESS,
        MAX_CACHED_API_TOKENS,
    )
}

/// How the caller authenticated.
#[derive(Debug, Clone)]
pub enum AuthMethod {
    /// A console session (cookie). Unsafe requests carry its CSRF token.
    Session {
        session_id: SessionId,
        csrf_token: String,
    },
    /// An API token, which acts for its creator within one organization only.
    ApiToken {
        token_id: ApiTokenId,
        organization_id: OrganizationId,
        role: Role,
    },
}

/// The authenticated caller. Reuse it in every route group (connections, CRM, functions,
/// proxy); take the organization from it, never from the request alone.
#[derive(Debug, Clone)]
pub struct AuthenticatedPrincipal {
    /// The user (for an API token: the user who created it).
    pub user: User,
    pub method: AuthMethod,
    /// May create organizations (the first-run administrator and those the operator named).
    pub is_platform_admin: bool,
}

/// The caller's standing in one organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrganizationAccess {
    pub organization_id: OrganizationId,
    pub role: Role,
}

impl OrganizationAccess {
    /// 403 unless the role is `admin`.
    pub fn require_admin(&self, action: &str) -> Result<(), ApiError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "only an organization admin can {action}; your role is {}",
                self.role
            )))
        }
    }

    /// 403 unless the role is `admin` or `developer`.
    pub fn require_developer(&self, action: &str) -> Result<(), ApiError> {
        if matches!(self.role, Role::Admin | Role::Developer) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "only an organization admin or developer can {action}; your role is {}",
                self.role
            )))
        }
    }
}

impl AuthenticatedPrincipal {
    /// The audit actor for changes this principal makes.
    pub fn actor(&self) -> Actor {
        match &self.method {
            AuthMethod::Session { .. } => Actor::User(self.user.id),
            AuthMethod::ApiToken { token_id, .. } => Actor::ApiToken(*token_id),
        }
    }

    /// The organization an API token is bound to; `None` for console sessions.
    pub fn token_organization(&self) -> Option<OrganizationId> {
        match &self.method {
            AuthMethod::ApiToken {
                organization_id, ..
            } => Some(*organization_id),
            AuthMethod::Session { .. } => None,
        }
    }

    /// True for console sessions.
    pub fn is_session(&self) -> bool {
        matches!(self.method, AuthMethod::Session { .. })
    }

    /// The caller's role in `organization_id`; 404 (not 403) when the caller is not a
    /// member, or is an API token of another organization, so ids of other tenants are not
    /// revealed.
    pub async fn organization_access(
        &self,
        store: &Store,
        organization_id: OrganizationId,
    ) -> Result<OrganizationAccess, ApiError> {
        if let AuthMethod::ApiToken {
            organization_id: token_organization,
            role,
            ..
        } = &self.method
        {
            return if *token_organization == organization_id {
                Ok(OrganizationAccess {
                    organization_id,
                    role: *role,
                })
            } else {
                Err(ApiError::not_found(Resource::Organization))
            };
        }
        match store
            .memberships()
            .get(organization_id, self.user.id)
            .await?
        {
            Some(membership) => Ok(OrganizationAccess {
                organization_id,
                role: membership.role,
            }),
            None => Err(ApiError::not_found(Resource::Organization)),
        }
    }

    /// The organizations the caller can act in, with its role (one for an API token).
    pub async fn organizations(&self, store: &Store) -> Result<Vec<UserOrganization>, ApiError> {
        let all = store.memberships().organizations_of(self.user.id).await?;
        Ok(match self.token_organization() {
            Some(token_organization) => all
                .into_iter()
                .filter(|entry| entry.organization.id == token_organization)
                .collect(),
            None => all,
        })
    }

    /// Checks the CSRF token of an HTML form post (`csrf_token` field) for a console
    /// session. API tokens need none.
    pub fn verify_form_csrf_token(&self, submitted: &str) -> Result<(), ApiError> {
        match &self.method {
            AuthMethod::Session { csrf_token, .. } => {
                if constant_time_equal(csrf_token, submitted) {
                    Ok(())
                } else {
                    Err(ApiError::CsrfTokenInvalid)
                }
            }
            AuthMethod::ApiToken { .. } => Ok(()),
        }
    }
}

/// Like [`AuthenticatedPrincipal`], but also admits users who must change their one-time
/// password (for `/auth/password`, `/auth/logout` and `/me`).
#[derive(Debug, Clone)]
pub struct PrincipalAllowingPasswordChange(pub AuthenticatedPrincipal);

impl FromRequestParts<AppState> for PrincipalAllowingPasswordChange {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(cached) = parts.extensions.get::<AuthenticatedPrincipal>() {
            return Ok(PrincipalAllowingPasswordChange(cached.clone()));
        }
        let principal = authenticate(parts, state).await?;
        if principal.is_session() && !is_safe_method(&parts.method) {
            verify_csrf_header(&principal, &parts.headers)?;
        }
        parts.extensions.insert(principal.clone());
        Ok(PrincipalAllowingPasswordChange(principal))
    }
}

impl FromRequestParts<AppState> for AuthenticatedPrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let PrincipalAllowingPasswordChange(principal) =
            PrincipalAllowingPasswordChange::from_request_parts(parts, state).await?;
        if principal.is_session() && principal.user.must_change_password {
            return Err(ApiError::PasswordChangeRequired);
        }
        Ok(principal)
    }
}

fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn verify_csrf_header(
    principal: &AuthenticatedPrincipal,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let submitted = headers
        .get(CSRF_HEADER_NAME)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    principal.verify_form_csrf_token(submitted)
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<AuthenticatedPrincipal, ApiError> {
    let now = chrono::Utc::now();
    if let Some(authorization) = parts.headers.get(header::AUTHORIZATION) {
        let token = parse_bearer_token(authorization)?;
        return authenticate_api_token_cached(state, token, now).await;
    }
    let Some(session_token) = session_cookie_value(&parts.headers) else {
        return Err(ApiError::Unauthenticated);
    };
    let Some(authenticated) = state
        .store
        .sessions()
        .authenticate(&session_token, now)
        .await?
    else {
        return Err(ApiError::Unauthenticated);
    };
    let is_platform_admin = state
        .store
        .platform_admins()
        .contains(authenticated.user.id)
        .await?;
    Ok(AuthenticatedPrincipal {
        user: authenticated.user,
        method: AuthMethod::Session {
            session_id: authenticated.session.id,
            csrf_token: authenticated.session.csrf_token,
        },
        is_platform_admin,
    })
}

fn parse_bearer_token(authorization: &HeaderValue) -> Result<&str, ApiError> {
    let malformed = || ApiError::MalformedAuthorization {
        message: "the Authorization header must be `Bearer trestle_...` with an API token"
            .to_owned(),
    };
    let text = authorization.to_str().map_err(|_| malformed())?;
    let (scheme, token) = text.trim().split_once(' ').ok_or_else(malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || !token.starts_with(API_TOKEN_PREFIX) {
        return Err(malformed());
    }
    Ok(token)
}

async fn authenticate_api_token_cached(
    state: &AppState,
    token: &str,
    now: DateTime<Utc>,
) -> Result<AuthenticatedPrincipal, ApiError> {
    let digest = api_token_digest(token);
    if let Some(verified) = state.api_tokens.get(&digest)
        && verified
            .expires_at
            .is_none_or(|expires_at| expires_at > now)
    {
        return Ok(verified.principal);
    }
    let started = state.api_tokens.generation();
    let verified = authenticate_api_token(&state.store, token, now).await?;
    let principal = verified.principal.clone();
    state.api_tokens.insert(digest, verified, started);
    Ok(principal)
}

async fn authenticate_api_token(
    store: &Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<VerifiedApiToken, ApiError> {
    let Some(api_token) = store.api_tokens().authenticate(token, now).await? else {
        return Err(ApiError::Unauthenticated);
    };
    // A token acts for its creator, with the creator's current role: removing the member or
    // disabling the user stops their tokens too.
    let Some(creator_id) = api_token.created_by else {
        return Err(ApiError::Unauthenticated);
    };
    let user = store.users().get(creator_id).await?;
    if user.disabled {
        return Err(ApiError::Unauthenticated);
    }
    let Some(membership) = store
        .memberships()
        .get(api_token.organization_id, creator_id)
        .await?
    else {
        return Err(ApiError::Unauthenticated);
    };
    Ok(VerifiedApiToken {
        principal: AuthenticatedPrincipal {
            user,
            method: AuthMethod::ApiToken {
                token_id: api_token.id,
                organization_id: api_token.organization_id,
                role: membership.role,
            },
            // A program never creates organizations.
            is_platform_admin: false,
        },
        expires_at: api_token.expires_at,
    })
}

/// The value of the session cookie, if the request has one.
pub fn session_cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE_NAME)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// Whether the request reached us over https (directly known only through a trusted proxy's
/// `X-Forwarded-Proto`), or the deployment says it is always https.
pub fn request_is_https(config: &ServerConfig, headers: &HeaderMap) -> bool {
    match config.cookie_secure {
        CookieSecure::Always => return true,
        CookieSecure::Never => return false,
        CookieSecure::Auto => {}
    }
    if config
        .public_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"))
    {
        return true;
    }
    config.trust_forwarded_headers
        && headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value that starts a session.
pub fn session_cookie(token: &str, max_age_seconds: i64, secure: bool) -> String {
    let secure_attribute = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure_attribute}"
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn cleared_session_cookie(secure: bool) -> String {
    session_cookie("", 0, secure)
}

/// The client's address: the socket peer, or the first `X-Forwarded-For` hop when the
/// operator trusts a reverse proxy.
pub fn client_ip(
    parts_extensions: &axum::http::Extensions,
    headers: &HeaderMap,
    trust_forwarded: bool,
) -> Option<IpAddr> {
    if trust_forwarded
        && let Some(forwarded) = headers
            .get("x-forwarded-for")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(',').next())
            .and_then(|first| first.trim().parse::<IpAddr>().ok())
    {
        return Some(forwarded);
    }
    parts_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
}

/// A one-time password for new users and resets (shown once, must be changed).
pub fn generate_one_time_password() -> String {
    trestle_store::password::generate_one_time_password()
}

fn constant_time_equal(left: &str, right: &str) -> bool {
    use subtle::ConstantTimeEq;
    left.len() == right.len() && bool::from(left.as_bytes().ct_eq(right.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_must_be_trestle_tokens() {
        let ok = HeaderValue::from_static("Bearer trestle_abc");
        assert_eq!(parse_bearer_token(&ok).unwrap(), "trestle_abc");
        for bad in ["Basic abc", "Bearer", "Bearer other_token", "trestle_abc"] {
            let value = HeaderValue::from_str(bad).unwrap();
            assert_eq!(
                parse_bearer_token(&value).unwrap_err().code(),
                "MALFORMED_AUTHORIZATION",
                "{bad}"
            );
        }
    }

    #[test]
    fn session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; trestle_session=secret; b=2"),
        );
        assert_eq!(session_cookie_value(&headers).as_deref(), Some("secret"));
        let cookie = session_cookie("secret", 60, true);
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
        assert!(cookie.ends_with("; Secure"));
        assert!(!session_cookie("secret", 60, false).contains("Secure"));
    }
}
