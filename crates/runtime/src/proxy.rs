//! The proxy API's forwarding: any method, path, query and body to a connection's API base,
//! with the credential attached by the engine and only allow-listed request headers.

use bytes::Bytes;
use trestle_outbound::{Method, OutboundRequest, RequestBody, StreamingResponse};
use trestle_store::{EnvironmentKind, OrganizationId};

use crate::FunctionRuntime;
use crate::error::RuntimeError;

/// Request headers forwarded as they are. Anything else (cookies, the caller's own
/// `Authorization`, hop-by-hop headers) stays here unless sent with the `Trestle-Proxy-` prefix.
const FORWARDED_HEADERS: &[&str] = &[
    "accept",
    "accept-language",
    "content-type",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "x-request-id",
];

/// Prefix that forwards any header with the prefix stripped.
pub const PROXY_HEADER_PREFIX: &str = "trestle-proxy-";

/// One proxied request.
#[derive(Debug, Clone)]
pub struct ProxyRequest {
    pub organization: OrganizationId,
    pub environment: EnvironmentKind,
    pub link_name: String,
    pub method: String,
    /// The path after the link name, without a leading slash.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// Every request header; [`forwarded_request_headers`] picks what goes on.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// The headers the proxy forwards: the allow-list, plus `Trestle-Proxy-<name>` as `<name>`.
/// Credential headers can never be smuggled: the engine sets the connection's own.
pub fn forwarded_request_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    let mut forwarded = Vec::new();
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        if let Some(stripped) = lower.strip_prefix(PROXY_HEADER_PREFIX) {
            if !stripped.is_empty() && !is_hop_by_hop(stripped) {
                forwarded.push((stripped.to_owned(), value.clone()));
            }
        } else if FORWARDED_HEADERS.contains(&lower.as_str()) {
            forwarded.push((lower, value.clone()));
        }
    }
    forwarded
}

fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "host"
            | "connection"
            | "keep-alive"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "content-length"
            | "proxy-authorization"
    )
}

impl FunctionRuntime {
    /// Forwards a request to the connection's API base with its credential attached, through
    /// the same engine, egress policy, limits and retries as scripts. The response body is
    /// not buffered: it streams back under the engine's size limit and redaction. After an
    /// expired-token status the request is sent once more with a force-refreshed credential
    /// (the first response is dropped unread).
    pub async fn proxy(&self, request: ProxyRequest) -> Result<StreamingResponse, RuntimeError> {
        let method = Method::parse(&request.method).map_err(|_| RuntimeError::InvalidRequest {
            message: format!(
                "the proxy cannot forward the method {}; use GET, POST, PUT, PATCH, DELETE or HEAD",
                request.method
            ),
        })?;
        if request
            .path
            .split('/')
            .any(|segment| segment == ".." || segment == "." || segment.contains('\\'))
        {
            return Err(RuntimeError::InvalidRequest {
                message: format!(
                    "the proxied path {:?} has `.` or `..` segments; give the path under the connection's API base as it is",
                    request.path
                ),
            });
        }
        let credential = self
            .connections
            .shared_credential_for_request(
                request.organization,
                request.environment,
                &request.link_name,
            )
            .await?;
        let Some(api_base) = credential.service.api_base_url.clone() else {
            return Err(RuntimeError::InvalidRequest {
                message: format!(
                    "the service of connection \"{}\" has no API base URL to proxy to",
                    request.link_name
                ),
            });
        };
        let url = format!(
            "{}/{}",
            api_base.as_str().trim_end_matches('/'),
            request.path.trim_start_matches('/')
        );
        let mut outbound = OutboundRequest::new(method, url);
        if let Some(query) = &request.query {
            outbound.query = url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
        }
        let headers = forwarded_request_headers(&request.headers);
        let content_type = headers
            .iter()
            .find(|(name, _)| name == "content-type")
            .map(|(_, value)| value.clone());
        outbound.headers = headers
            .into_iter()
            .filter(|(name, _)| name != "content-type")
            .collect();
        if !request.body.is_empty() {
            outbound.body = RequestBody::Bytes {
                bytes: request.body,
                content_type,
            };
        }
        let context = self
            .shared_egress_context(request.organization, request.environment)
            .await?;
        // Kept for the one retry only when a refresh could make it succeed.
        let retry = credential.refreshable.then(|| outbound.clone());
        let response = self
            .engine
            .send_streaming(outbound, Some(&credential.attachment), &context)
            .await?;
        let status = response.head.status;
        let expired = status == 401 || credential.expired_token_statuses.contains(&status);
        let Some(outbound) = retry.filter(|_| expired) else {
            return Ok(response);
        };
        drop(response);
        let fresh = self
            .connections
            .force_refresh_after_401(
                request.organization,
                request.environment,
                &request.link_name,
                &credential,
            )
            .await?;
        let response = self
            .engine
            .send_streaming(outbound, Some(&fresh.attachment), &context)
            .await?;
        Ok(response)
    }
}
