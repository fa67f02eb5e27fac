//! The consent page of `/oauth/v2/auth`: the signed-in user chooses the organization and
//! environment the client may use ("choose the Bigin organization ... click submit").

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use trestle_crm::scopes::GrantedScopes;
use trestle_store::oauth_provider::{ClientType, OauthClient, OauthGrant};
use trestle_store::{EnvironmentKind, OrganizationId};

use super::{TokenParameters, public_base_url};
use crate::auth::{AuthenticatedPrincipal, CSRF_FORM_FIELD};
use crate::state::AppState;

/// What the client asked for, validated.
struct AuthorizationRequest {
    client: OauthClient,
    redirect_uri: String,
    scopes: GrantedScopes,
    state: Option<String>,
    code_challenge: Option<String>,
    access_type: String,
}

/// A request that cannot be answered by redirecting (unknown client, foreign redirect URI):
/// shown to the user instead, so an attacker cannot use Trestle as an open redirector.
fn error_page(status: StatusCode, message: &str) -> Response {
    html(
        status,
        &format!(
            "<h1>This authorization request cannot be completed</h1><p>{}</p>",
            escape(message)
        ),
    )
}

async fn validate(
    state: &AppState,
    parameters: &TokenParameters,
) -> Result<AuthorizationRequest, Response> {
    let Some(client_id) = parameters.get("client_id") else {
        return Err(error_page(StatusCode::BAD_REQUEST, "client_id is missing."));
    };
    let client = match state.store.oauth_provider().client(client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => {
            return Err(error_page(
                StatusCode::BAD_REQUEST,
                "The client_id is not registered here.",
            ));
        }
        Err(_) => {
            return Err(error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The database is unavailable; try again.",
            ));
        }
    };
    let redirect_uri = match parameters.get("redirect_uri") {
        Some(uri) if client.redirect_uris.iter().any(|allowed| allowed == uri) => uri.to_owned(),
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        _ => {
            return Err(error_page(
                StatusCode::BAD_REQUEST,
                "The redirect_uri is not one registered for this client.",
            ));
        }
    };
    let redirect_error = |error: &str, description: &str| {
        let mut target = url::Url::parse(&redirect_uri).ok();
        if let Some(target) = target.as_mut() {
            target
                .query_pairs_mut()
                .append_pair("error", error)
                .append_pair("error_description", description);
            if let Some(value) = parameters.get("state") {
                target.query_pairs_mut().append_pair("state", value);
            }
        }
        match target {
            Some(target) => redirect(target.as_str()),
            None => error_page(StatusCode::BAD_REQUEST, description),
        }
    };
    if parameters.get("response_type") != Some("code") {
        return Err(redirect_error(
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    let scopes = match parameters.get("scope").map(GrantedScopes::parse) {
        Some(Ok(scopes)) => scopes,
        Some(Err(error)) => return Err(redirect_error("invalid_scope", &error.to_string())),
        None => return Err(redirect_error("invalid_scope", "scope is missing")),
    };
    let code_challenge = match (
        parameters.get("code_challenge"),
        parameters.get("code_challenge_method"),
    ) {
        (Some(challenge), Some("S256")) => Some(challenge.to_owned()),
        (Some(_), _) => {
            return Err(redirect_error(
                "invalid_request",
                "code_challenge_method must be S256",
            ));
        }
        (None, _) if client.client_type == ClientType::Public => {
            return Err(redirect_error(
                "invalid_request",
                "public clients must use PKCE (code_challenge with S256)",
            ));
        }
        (None, _) => None,
    };
    Ok(AuthorizationRequest {
        client,
        redirect_uri,
        scopes,
        state: parameters.get("state").map(str::to_owned),
        code_challenge,
        access_type: parameters
            .get("access_type")
            .unwrap_or("offline")
            .to_owned(),
    })
}

/// `GET /oauth/v2/auth`
pub async fn show_consent(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    principal: Result<AuthenticatedPrincipal, crate::error::ApiError>,
) -> Response {
    let parameters = TokenParameters::collect(query.as_deref(), &HeaderMap::new(), &[]);
    let request = match validate(&state, &parameters).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let Ok(principal) = principal else {
        return html(StatusCode::OK, &sign_in_form(&request.client.name));
    };
    let csrf_token = match &principal.method {
        crate::auth::AuthMethod::Session { csrf_token, .. } => csrf_token.clone(),
        crate::auth::AuthMethod::ApiToken { .. } => {
            return error_page(
                StatusCode::FORBIDDEN,
                "Sign in to the console to authorize a client.",
            );
        }
    };
    let organizations = match principal.organizations(&state.store).await {
        Ok(organizations) => organizations,
        Err(error) => return error.into_response(),
    };
    let mut options = String::new();
    for entry in &organizations {
        for kind in EnvironmentKind::ALL {
            options.push_str(&format!(
                "<option value=\"{}:{}\">{} ({})</option>",
                entry.organization.id,
                kind.as_str(),
                escape(&entry.organization.name),
                kind.as_str()
            ));
        }
    }
    if options.is_empty() {
        return error_page(
            StatusCode::FORBIDDEN,
            "You are not a member of any organization.",
        );
    }
    let hidden = |name: &str, value: &str| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            escape(value)
        )
    };
    let mut form = String::new();
    form.push_str(&hidden(CSRF_FORM_FIELD, &csrf_token));
    form.push_str(&hidden("client_id", &request.client.id));
    form.push_str(&hidden("redirect_uri", &request.redirect_uri));
    form.push_str(&hidden("scope", &request.scopes.to_scope_string()));
    form.push_str(&hidden("response_type", "code"));
    form.push_str(&hidden("access_type", &request.access_type));
    if let Some(value) = &request.state {
        form.push_str(&hidden("state", value));
    }
    if let Some(challenge) = &request.code_challenge {
        form.push_str(&hidden("code_challenge", challenge));
        form.push_str(&hidden("code_challenge_method", "S256"));
    }
    let scopes: String = request
        .scopes
        .to_scope_string()
        .split(',')
        .map(|scope| format!("<li>{}</li>", escape(scope)))
        .collect();
    html(
        StatusCode::OK,
        &format!(
            "<h1>{client} wants to access your CRM data</h1>\
             <p>Signed in as {user}. It asks for:</p><ul>{scopes}</ul>\
             <form method=\"post\" action=\"/oauth/v2/auth\">{form}\
             <label>Organization and environment <select name=\"target\">{options}</select></label>\
             <p><button type=\"submit\" name=\"decision\" value=\"allow\">Submit</button> \
             <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></p></form>",
            client = escape(&request.client.name),
            user = escape(&principal.user.email),
        ),
    )
}

/// `POST /oauth/v2/auth` (the consent form). The session is read here rather than through
/// [`AuthenticatedPrincipal`]: a form post carries its CSRF token as a field, not a header.
pub async fn submit_consent(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parameters = TokenParameters::collect(None, &HeaderMap::new(), &body);
    let request = match validate(&state, &parameters).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let session = match crate::auth::session_cookie_value(&headers) {
        Some(token) => state
            .store
            .sessions()
            .authenticate(&token, chrono::Utc::now())
            .await
            .ok()
            .flatten(),
        None => None,
    };
    let Some(session) = session.filter(|session| !session.user.disabled) else {
        return error_page(StatusCode::UNAUTHORIZED, "Sign in to the console first.");
    };
    if !session
        .session
        .csrf_token_matches(parameters.get(CSRF_FORM_FIELD).unwrap_or_default())
    {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form has expired; reload the page.",
        );
    }
    let user = session.user;
    let mut target = match url::Url::parse(&request.redirect_uri) {
        Ok(target) => target,
        Err(_) => return error_page(StatusCode::BAD_REQUEST, "The redirect_uri is not a URL."),
    };
    if parameters.get("decision") != Some("allow") {
        target
            .query_pairs_mut()
            .append_pair("error", "access_denied");
        if let Some(value) = &request.state {
            target.query_pairs_mut().append_pair("state", value);
        }
        return redirect(target.as_str());
    }
    let Some((organization_text, kind_text)) = parameters
        .get("target")
        .and_then(|target| target.split_once(':'))
    else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Choose an organization and environment.",
        );
    };
    let (Ok(organization_id), Some(kind)) = (
        organization_text.parse::<OrganizationId>(),
        EnvironmentKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == kind_text),
    ) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Choose an organization and environment.",
        );
    };
    if !matches!(
        state
            .store
            .memberships()
            .get(organization_id, user.id)
            .await,
        Ok(Some(_))
    ) {
        return error_page(
            StatusCode::FORBIDDEN,
            "You are not a member of that organization.",
        );
    }
    let environment = match state
        .store
        .environments()
        .by_kind(organization_id, kind)
        .await
    {
        Ok(environment) => environment,
        Err(error) => return crate::error::ApiError::from(error).into_response(),
    };
    let grant = OauthGrant {
        client_id: request.client.id.clone(),
        user_id: user.id,
        organization_id,
        environment_id: environment.id,
        scopes: request.scopes.to_scope_string(),
    };
    let code = match state
        .store
        .oauth_provider()
        .issue_grant_code(
            &grant,
            Some(&request.redirect_uri),
            request.code_challenge.as_deref(),
        )
        .await
    {
        Ok(code) => code,
        Err(error) => return crate::error::ApiError::from(error).into_response(),
    };
    let accounts_server = public_base_url(&state, &headers);
    {
        let mut pairs = target.query_pairs_mut();
        pairs.append_pair("code", code.expose());
        if let Some(value) = &request.state {
            pairs.append_pair("state", value);
        }
        pairs.append_pair("location", "local");
        pairs.append_pair("accounts-server", &accounts_server);
    }
    redirect(target.as_str())
}

fn sign_in_form(client_name: &str) -> String {
    // The form signs in through the console's own login endpoint (with its throttling),
    // then reloads this page, which then shows the consent form.
    format!(
        "<h1>Sign in to authorize {}</h1>\
         <form id=\"signin\"><label>Email <input name=\"email\" type=\"email\" required></label> \
         <label>Password <input name=\"password\" type=\"password\" required></label> \
         <button type=\"submit\">Sign in</button></form><p id=\"message\"></p>\
         <script>document.getElementById('signin').addEventListener('submit', async (event) => {{\
           event.preventDefault(); const form = new FormData(event.target);\
           const response = await fetch('/api/v1/auth/login', {{method: 'POST',\
             headers: {{'content-type': 'application/json'}}, credentials: 'same-origin',\
             body: JSON.stringify({{email: form.get('email'), password: form.get('password')}})}});\
           if (response.ok) {{ location.reload(); }} else {{\
             document.getElementById('message').textContent = 'Wrong email or password.'; }}\
         }});</script>",
        escape(client_name)
    )
}

fn html(status: StatusCode, content: &str) -> Response {
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Trestle authorization</title>\
         <meta name=\"viewport\" content=\"width=device-width\"></head><body>{content}</body></html>"
    );
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            // The consent form must never be framed (clickjacking).
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        page,
    )
        .into_response()
}

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => error_page(StatusCode::BAD_REQUEST, "The redirect_uri cannot be used."),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
