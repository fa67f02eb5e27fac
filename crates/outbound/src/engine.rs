//! The engine: one pooled HTTP client, the egress policy, limits, retries and redirects.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use url::{Host, Url};

use crate::credential::{CredentialAttachment, normalized_host};
use crate::egress::EgressPolicy;
use crate::error::OutboundError;
use crate::redact::{Redactor, StreamRedactor};
use crate::request::{Method, MultipartPart, OutboundRequest, RequestBody};
use crate::resolver::{HostResolver, PinTable, PinnedResolver, SystemResolver};
use crate::response::OutboundResponse;
use crate::retry::{RetryPolicy, is_retryable_status, server_requested_wait};
use crate::routes::HostRoutes;

/// Engine settings. `Default` gives Zoho's limits and the strict egress guard.
#[derive(Clone)]
pub struct OutboundConfig {
    /// Per HTTP exchange, from connecting until the whole body is read (Zoho: 40 s).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Largest response body read; reading stops past it (Zoho: 5 MB).
    pub max_response_bytes: u64,
    pub max_redirects: u32,
    pub retry: RetryPolicy,
    pub egress: EgressPolicy,
    pub resolver: Arc<dyn HostResolver>,
    /// How long a checked DNS answer is reused (and pinned) before it is looked up again.
    pub dns_cache_ttl: Duration,
    /// Extra trusted roots (PEM) on top of the platform's, e.g. a test CA for https stand-ins.
    pub extra_root_certificates_pem: Vec<Vec<u8>>,
    pub user_agent: String,
    /// Scrub the credential's values from response bodies and headers before the caller sees
    /// them (an echoing upstream must not hand a script its own token).
    pub redact_responses: bool,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        OutboundConfig {
            timeout: Duration::from_secs(40),
            connect_timeout: Duration::from_secs(10),
            max_response_bytes: 5 * 1024 * 1024,
            max_redirects: 5,
            retry: RetryPolicy::default(),
            egress: EgressPolicy::strict(),
            resolver: Arc::new(SystemResolver),
            dns_cache_ttl: Duration::from_secs(30),
            extra_root_certificates_pem: Vec::new(),
            user_agent: format!("Trestle/{}", env!("CARGO_PKG_VERSION")),
            redact_responses: true,
        }
    }
}

impl std::fmt::Debug for OutboundConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("OutboundConfig")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("max_redirects", &self.max_redirects)
            .field("retry", &self.retry)
            .field("egress", &self.egress)
            .field("dns_cache_ttl", &self.dns_cache_ttl)
            .field("user_agent", &self.user_agent)
            .field("redact_responses", &self.redact_responses)
            .finish_non_exhaustive()
    }
}

/// Per-call context: the environment's stand-in routes (and a label for logs).
#[derive(Debug, Clone, Default)]
pub struct EgressContext {
    pub routes: HostRoutes,
    /// Environment name, for logs only.
    pub environment: Option<String>,
}

impl EgressContext {
    pub fn new() -> Self {
        EgressContext::default()
    }

    pub fn with_routes(mut self, routes: HostRoutes) -> Self {
        self.routes = routes;
        self
    }

    pub fn with_environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }
}

/// Where a connection's credential comes from, for [`OutboundEngine::send_with_credential_source`]:
/// the current credential, and a fresh one after the service answered 401 (the connections
/// crate refreshes the token through its single-flight path).
pub trait CredentialSource: Send + Sync {
    fn current(&self) -> BoxFuture<'_, Result<CredentialAttachment, OutboundError>>;
    /// A fresh credential after a 401, or `None` when there is nothing to refresh.
    fn refresh_after_unauthorized(
        &self,
    ) -> BoxFuture<'_, Result<Option<CredentialAttachment>, OutboundError>>;
}

/// The request engine. Cheap to clone (shares its pooled clients).
#[derive(Clone)]
pub struct OutboundEngine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    config: OutboundConfig,
    /// Requests checked by the egress guard.
    guarded_client: reqwest::Client,
    guarded_pins: Arc<PinTable>,
    /// Requests to operator-configured stand-in routes; kept apart so a route's exemption never
    /// leaks into the guarded client's pool or pins.
    routed_client: reqwest::Client,
    routed_pins: Arc<PinTable>,
    redactors: RedactorCache,
    /// Shared by every request without a credential.
    no_redactor: Arc<Redactor>,
}

/// Redactors by a keyed hash of the credential's secret values: the same credential is sent
/// many times (a token lives an hour), and computing every encoded form of its secrets each
/// time would cost more than the rest of the engine's work.
struct RedactorCache {
    hasher: std::collections::hash_map::RandomState,
    entries: std::sync::Mutex<std::collections::HashMap<u64, Arc<Redactor>>>,
}

/// Entries kept before the cache starts over.
const REDACTOR_CACHE_CAPACITY: usize = 1024;

impl RedactorCache {
    fn new() -> Self {
        RedactorCache {
            hasher: std::collections::hash_map::RandomState::new(),
            entries: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn redactor_for(&self, credential: &CredentialAttachment) -> Arc<Redactor> {
        use std::hash::{BuildHasher, Hash, Hasher};
        let mut hasher = self.hasher.build_hasher();
        for (name, value) in credential
            .headers
            .iter()
            .chain(credential.query.iter())
            .chain(credential.form_fields.iter())
        {
            name.hash(&mut hasher);
            value.expose_secret().hash(&mut hasher);
        }
        for value in &credential.extra_secrets {
            value.expose_secret().hash(&mut hasher);
        }
        if let Some(signer) = &credential.oauth1 {
            signer.secret_values().hash(&mut hasher);
        }
        let key = hasher.finish();
        if let Ok(entries) = self.entries.lock()
            && let Some(redactor) = entries.get(&key)
        {
            return redactor.clone();
        }
        let redactor = Arc::new(Redactor::new(credential.secret_values()));
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= REDACTOR_CACHE_CAPACITY {
                entries.clear();
            }
            entries.insert(key, redactor.clone());
        }
        redactor
    }
}

impl std::fmt::Debug for OutboundEngine {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("OutboundEngine")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl OutboundEngine {
    pub fn new(config: OutboundConfig) -> Result<OutboundEngine, OutboundError> {
        ensure_crypto_provider();
        let guarded_pins = Arc::new(PinTable::default());
        let routed_pins = Arc::new(PinTable::default());
        let guarded_client = build_client(&config, guarded_pins.clone())?;
        let routed_client = build_client(&config, routed_pins.clone())?;
        Ok(OutboundEngine {
            inner: Arc::new(EngineInner {
                config,
                guarded_client,
                guarded_pins,
                routed_client,
                routed_pins,
                redactors: RedactorCache::new(),
                no_redactor: Arc::new(Redactor::none()),
            }),
        })
    }

    pub fn config(&self) -> &OutboundConfig {
        &self.inner.config
    }

    /// Sends a request, attaching `credential` when given. With a credential, the URL's host
    /// must be allowed by the credential's host policy or the call fails before sending.
    /// Redirects are followed (each hop re-checked; the credential is dropped on a hop that
    /// leaves its allowed hosts). HTTP error statuses come back as responses.
    pub async fn send(
        &self,
        request: OutboundRequest,
        credential: Option<&CredentialAttachment>,
        context: &EgressContext,
    ) -> Result<OutboundResponse, OutboundError> {
        let redactor = self.redactor_for(credential);
        let redactor = redactor.as_ref();
        // The clock is only read for the debug line.
        let started = tracing::enabled!(tracing::Level::DEBUG).then(Instant::now);
        let elapsed_ms = || started.map(|started| started.elapsed().as_millis() as u64);
        let result = self
            .send_following_redirects(&request, credential, context, redactor, false)
            .await
            .map(|finished| finished.response)
            .map_err(|error| redact_error(error, redactor));
        match &result {
            Ok(response) => tracing::debug!(
                method = request.method.as_str(),
                url = %redactor.redact(&response.url),
                status = response.status,
                redirects = response.redirects,
                attempts = response.attempts,
                connection = credential.map(|credential| credential.connection.as_str()),
                environment = context.environment.as_deref(),
                elapsed_ms = elapsed_ms(),
                "outbound request"
            ),
            Err(error) => tracing::debug!(
                method = request.method.as_str(),
                code = error.code(),
                error = %error,
                connection = credential.map(|credential| credential.connection.as_str()),
                environment = context.environment.as_deref(),
                elapsed_ms = elapsed_ms(),
                "outbound request failed"
            ),
        }
        result
    }

    /// Like [`OutboundEngine::send`], but the final response's body is not read: it comes as a
    /// stream (for the proxy), under the same response size limit and timeout, and redacted
    /// by value like a buffered body when a credential was attached. Redirect and retried
    /// responses are discarded unread. The returned head's `body` is empty.
    pub async fn send_streaming(
        &self,
        request: OutboundRequest,
        credential: Option<&CredentialAttachment>,
        context: &EgressContext,
    ) -> Result<StreamingResponse, OutboundError> {
        let redactor = self.redactor_for(credential);
        let finished = self
            .send_following_redirects(&request, credential, context, &redactor, true)
            .await
            .map_err(|error| redact_error(error, &redactor))?;
        tracing::debug!(
            method = request.method.as_str(),
            url = %redactor.redact(&finished.response.url),
            status = finished.response.status,
            redirects = finished.response.redirects,
            attempts = finished.response.attempts,
            connection = credential.map(|credential| credential.connection.as_str()),
            environment = context.environment.as_deref(),
            "outbound request (streaming body)"
        );
        let scrub =
            credential.is_some() && self.inner.config.redact_responses && !redactor.is_empty();
        let body = match finished.open {
            Some(open) => body_stream(BodyReader {
                response: Some(open.response),
                received: 0,
                limit: self.inner.config.max_response_bytes,
                stream_redactor: scrub.then(|| StreamRedactor::new(redactor.clone())),
                redactor,
                logical_url: open.logical_url,
                timeout: open.timeout,
                timer: Box::pin(tokio::time::sleep_until(open.deadline)),
            }),
            None => Box::pin(futures::stream::empty()),
        };
        Ok(StreamingResponse {
            head: finished.response,
            body,
        })
    }

    /// The credential's redactor (cached), or the shared empty one.
    fn redactor_for(&self, credential: Option<&CredentialAttachment>) -> Arc<Redactor> {
        match credential {
            Some(credential) => self.inner.redactors.redactor_for(credential),
            None => self.inner.no_redactor.clone(),
        }
    }

    /// Sends through a connection, retrying once with a fresh credential after a 401.
    pub async fn send_with_credential_source(
        &self,
        request: OutboundRequest,
        source: &dyn CredentialSource,
        context: &EgressContext,
    ) -> Result<OutboundResponse, OutboundError> {
        let credential = source.current().await?;
        let response = self
            .send(request.clone(), Some(&credential), context)
            .await?;
        if response.status != 401 {
            return Ok(response);
        }
        match source.refresh_after_unauthorized().await? {
            Some(fresh) => self.send(request, Some(&fresh), context).await,
            None => Ok(response),
        }
    }

    async fn send_following_redirects(
        &self,
        request: &OutboundRequest,
        credential: Option<&CredentialAttachment>,
        context: &EgressContext,
        redactor: &Redactor,
        stream_body: bool,
    ) -> Result<Finished, OutboundError> {
        let config = &self.inner.config;
        let mut logical_url = parse_request_url(&request.url, redactor)?;
        if !request.query.is_empty() {
            let mut pairs = logical_url.query_pairs_mut();
            for (name, value) in &request.query {
                pairs.append_pair(name, value);
            }
        }
        if let Some(credential) = credential {
            let host = url_host(&logical_url);
            if !credential.allowed_hosts.allows_host(&host) {
                return Err(OutboundError::EgressHostNotAllowed {
                    host: host.into_owned(),
                    connection: credential.connection.clone(),
                    allowed: credential.allowed_hosts.describe(),
                });
            }
            if logical_url.scheme() != "https" && !credential.allowed_hosts.allows_plain_http() {
                return Err(OutboundError::CredentialNeedsHttps {
                    url: redactor.redact(logical_url.as_str()),
                    connection: credential.connection.clone(),
                });
            }
        }
        // Kept only once a redirect replaces it (for the too-many-redirects error).
        let mut first_url: Option<Url> = None;
        // Borrowed until a redirect has to change them: most requests never copy their
        // headers or body.
        let timeout = request.timeout.unwrap_or(config.timeout);
        let mut method = request.method;
        let mut body: Cow<'_, RequestBody> = Cow::Borrowed(&request.body);
        let mut headers: Cow<'_, [(String, String)]> = Cow::Borrowed(&request.headers);
        let mut active_credential = credential;
        let mut redirects = 0u32;

        loop {
            let hop = HopPlan {
                method,
                logical_url: &logical_url,
                headers: &headers,
                body: &body,
                credential: active_credential,
                retry_non_idempotent: request.retry_non_idempotent,
                timeout,
                stream_body,
            };
            let exchange = self.exchange_with_retries(&hop, context, redactor).await?;
            let location = exchange
                .headers
                .iter()
                .find(|(name, _)| name == "location")
                .map(|(_, value)| value.clone());
            let is_redirect = matches!(exchange.status, 301 | 302 | 303 | 307 | 308);
            let Some(location) = location.filter(|_| is_redirect && request.follow_redirects)
            else {
                let (body, open) = match exchange.body {
                    ExchangeBody::Buffered(body) => (body, None),
                    ExchangeBody::Open(response, deadline) => (
                        Bytes::new(),
                        Some(OpenBody {
                            response,
                            logical_url: logical_url.clone(),
                            timeout,
                            deadline,
                        }),
                    ),
                };
                let mut response = OutboundResponse {
                    status: exchange.status,
                    headers: exchange.headers,
                    body,
                    // The last use of the URL: its text is moved out, not copied.
                    url: logical_url.into(),
                    redirects,
                    attempts: exchange.attempts,
                    response_format: request.response_format,
                    response_decoding: request.response_decoding.clone(),
                };
                if credential.is_some() && config.redact_responses {
                    redact_response(&mut response, redactor);
                }
                return Ok(Finished { response, open });
            };

            redirects += 1;
            let first = first_url.get_or_insert_with(|| logical_url.clone());
            if redirects > config.max_redirects {
                return Err(OutboundError::TooManyRedirects {
                    url: redactor.redact(first.as_str()),
                    limit: config.max_redirects,
                });
            }
            let next_url = self.redirect_target(&logical_url, &location, context, redactor)?;
            let changes_origin = next_url.scheme() != logical_url.scheme()
                || next_url.host_str() != logical_url.host_str()
                || next_url.port_or_known_default() != logical_url.port_or_known_default();

            // Browser rules: 303 becomes GET (HEAD stays HEAD); 301/302 turn POST into GET.
            let becomes_get = match exchange.status {
                303 => method != Method::Head,
                301 | 302 => method == Method::Post,
                _ => false,
            };
            if becomes_get {
                method = Method::Get;
                body = Cow::Owned(RequestBody::None);
                headers.to_mut().retain(|(name, _)| !is_body_header(name));
            }
            if changes_origin {
                headers
                    .to_mut()
                    .retain(|(name, _)| !is_origin_bound_header(name));
            }

            if let Some(current) = active_credential {
                let next_host = url_host(&next_url);
                let downgrades = next_url.scheme() != "https"
                    && (logical_url.scheme() == "https"
                        || !current.allowed_hosts.allows_plain_http());
                if !current.allowed_hosts.allows_host(&next_host) || downgrades {
                    if redactor.contains_secret(next_url.as_str()) {
                        return Err(OutboundError::RedirectCarriesCredential {
                            url: redactor.redact(logical_url.as_str()),
                            host: next_host.into_owned(),
                            connection: current.connection.clone(),
                        });
                    }
                    tracing::debug!(
                        connection = current.connection.as_str(),
                        host = next_host.as_ref(),
                        "redirect leaves the connection's hosts: credential stripped"
                    );
                    active_credential = None;
                }
            }
            logical_url = next_url;
        }
    }

    fn redirect_target(
        &self,
        current: &Url,
        location: &str,
        context: &EgressContext,
        redactor: &Redactor,
    ) -> Result<Url, OutboundError> {
        let invalid = |reason: String| OutboundError::InvalidRedirect {
            url: redactor.redact(current.as_str()),
            reason,
        };
        let mut next = current.join(location.trim()).map_err(|error| {
            invalid(format!(
                "Location {:?} is not a URL: {error}",
                redactor.redact(location)
            ))
        })?;
        // A stand-in naming itself absolutely is mapped back to the service host.
        if context.routes.route_for(&url_host(current)).is_some()
            && let Some(logical) = context.routes.reverse(&next, current.scheme())
        {
            next = logical;
        }
        next.set_fragment(None);
        if !matches!(next.scheme(), "http" | "https") {
            return Err(OutboundError::UnsupportedScheme {
                scheme: next.scheme().to_owned(),
                url: redactor.redact(next.as_str()),
            });
        }
        Ok(next)
    }

    async fn exchange_with_retries(
        &self,
        hop: &HopPlan<'_>,
        context: &EgressContext,
        redactor: &Redactor,
    ) -> Result<Exchange, OutboundError> {
        let config = &self.inner.config;
        let target = self.prepare_target(hop, context, redactor).await?;
        let may_retry = hop.method.is_idempotent() || hop.retry_non_idempotent;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let retries_left = may_retry && attempts <= config.retry.max_retries;
            match self.exchange_once(hop, &target, redactor).await {
                Ok(mut exchange) => {
                    if retries_left && is_retryable_status(exchange.status) {
                        let wait = match server_requested_wait(&exchange.headers, SystemTime::now())
                        {
                            Some(wait) if wait > config.retry.max_server_wait => {
                                exchange.attempts = attempts;
                                return Ok(exchange);
                            }
                            Some(wait) => wait,
                            None => config.retry.backoff(attempts),
                        };
                        tracing::debug!(
                            status = exchange.status,
                            wait_ms = wait.as_millis() as u64,
                            attempt = attempts,
                            "retrying outbound request"
                        );
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    exchange.attempts = attempts;
                    return Ok(exchange);
                }
                Err(error @ OutboundError::ConnectionFailed { .. }) if retries_left => {
                    tracing::debug!(
                        code = error.code(),
                        attempt = attempts,
                        "retrying outbound request"
                    );
                    tokio::time::sleep(config.retry.backoff(attempts)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Applies the route or the egress guard to one hop and pins the checked addresses.
    async fn prepare_target(
        &self,
        hop: &HopPlan<'_>,
        context: &EgressContext,
        redactor: &Redactor,
    ) -> Result<Target, OutboundError> {
        let inner = &self.inner;
        let logical = hop.logical_url;
        if !matches!(logical.scheme(), "http" | "https") {
            return Err(OutboundError::UnsupportedScheme {
                scheme: logical.scheme().to_owned(),
                url: redactor.redact(logical.as_str()),
            });
        }
        // The URL the bytes go to, when it is not the logical one.
        let mut rewritten = context.routes.rewrite(logical);
        let routed = rewritten.is_some();
        let url = rewritten.as_ref().unwrap_or(logical);
        // Only built for an error: the success path formats no host.
        let display_host = || url_host(logical).into_owned();
        match url.host() {
            Some(Host::Ipv4(address)) => {
                if !routed {
                    self.check_address(IpAddr::V4(address), display_host)?;
                }
            }
            Some(Host::Ipv6(address)) => {
                if !routed {
                    self.check_address(IpAddr::V6(address), display_host)?;
                }
            }
            Some(Host::Domain(domain)) => {
                let domain = normalized_host(domain);
                if !routed {
                    inner
                        .config
                        .egress
                        .check_host_name(&domain)
                        .map_err(|reason| OutboundError::EgressHostBlocked {
                            host: display_host(),
                            reason,
                        })?;
                }
                let pins = if routed {
                    &inner.routed_pins
                } else {
                    &inner.guarded_pins
                };
                // Pinned answers were checked when pinned; checking again costs little and
                // keeps a policy change effective at once.
                let check_all = |addresses: &[IpAddr]| {
                    if routed {
                        return Ok(());
                    }
                    addresses.iter().try_for_each(|address| {
                        self.check_address(*address, || domain.clone().into_owned())
                    })
                };
                match pins.with_fresh(&domain, inner.config.dns_cache_ttl, check_all) {
                    Some(checked) => checked?,
                    None => {
                        let addresses =
                            inner
                                .config
                                .resolver
                                .lookup(&domain)
                                .await
                                .map_err(|reason| OutboundError::DnsResolutionFailed {
                                    host: domain.clone().into_owned(),
                                    reason,
                                })?;
                        if addresses.is_empty() {
                            return Err(OutboundError::DnsResolutionFailed {
                                host: domain.into_owned(),
                                reason: "the name has no addresses".to_owned(),
                            });
                        }
                        check_all(&addresses)?;
                        pins.pin(&domain, addresses, inner.config.dns_cache_ttl);
                    }
                }
            }
            None => {
                return Err(OutboundError::InvalidUrl {
                    url: redactor.redact(logical.as_str()),
                    reason: "the URL has no host".to_owned(),
                });
            }
        }
        if let Some(credential) = hop.credential
            && !credential.query.is_empty()
        {
            let url = rewritten.get_or_insert_with(|| logical.clone());
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &credential.query {
                pairs.append_pair(name, value.expose_secret());
            }
        }
        Ok(Target {
            url: rewritten,
            routed,
        })
    }

    /// `host` names the destination in the error; it is only built when the check fails.
    fn check_address(
        &self,
        address: IpAddr,
        host: impl FnOnce() -> String,
    ) -> Result<(), OutboundError> {
        crate::guarded_client::check_address(&self.inner.config.egress, address, host)
    }

    async fn exchange_once(
        &self,
        hop: &HopPlan<'_>,
        target: &Target,
        redactor: &Redactor,
    ) -> Result<Exchange, OutboundError> {
        let inner = &self.inner;
        let client = if target.routed {
            &inner.routed_client
        } else {
            &inner.guarded_client
        };
        // Only built when something fails: the success path does no redaction work.
        let display_url = || redactor.redact(hop.logical_url.as_str());
        let timed_out = || OutboundError::Timeout {
            url: display_url(),
            seconds: hop.timeout.as_secs().max(1),
        };
        // One timer for the whole exchange, from sending until the body is read. reqwest's own
        // per-request timeout would box a timer, store it in the request's extensions and wrap
        // the body in another layer; this costs one timer entry and nothing per chunk.
        let deadline = tokio::time::Instant::now() + hop.timeout;
        let mut timer = std::pin::pin!(tokio::time::sleep_until(deadline));
        let headers = build_headers(hop, redactor)?;
        let mut builder = client
            .request(
                hop.method.to_http(),
                target.url.as_ref().unwrap_or(hop.logical_url).clone(),
            )
            .headers(headers);
        builder = attach_body(builder, hop)?;
        let sent = before_deadline(builder.send(), timer.as_mut())
            .await
            .ok_or_else(timed_out)?;
        let mut response =
            sent.map_err(|error| transport_error(error, hop.logical_url, hop.timeout, redactor))?;

        let limit = inner.config.max_response_bytes;
        // A HEAD response announces the GET body's length without sending it.
        if hop.method != Method::Head
            && response
                .content_length()
                .is_some_and(|length| length > limit)
        {
            return Err(OutboundError::ResponseTooLarge {
                url: display_url(),
                limit_bytes: limit,
            });
        }
        let status = response.status().as_u16();
        let headers = copy_headers(response.headers());
        if hop.stream_body {
            return Ok(Exchange {
                status,
                headers,
                body: ExchangeBody::Open(response, deadline),
                attempts: 1,
            });
        }
        // Most bodies arrive in one chunk: keep it as is instead of copying.
        let mut first: Option<Bytes> = None;
        let mut more: Vec<Bytes> = Vec::new();
        let mut received: u64 = 0;
        loop {
            let chunk = before_deadline(response.chunk(), timer.as_mut())
                .await
                .ok_or_else(timed_out)?
                .map_err(|error| transport_error(error, hop.logical_url, hop.timeout, redactor))?;
            let Some(chunk) = chunk else { break };
            received += chunk.len() as u64;
            if received > limit {
                return Err(OutboundError::ResponseTooLarge {
                    url: display_url(),
                    limit_bytes: limit,
                });
            }
            if first.is_none() {
                first = Some(chunk);
            } else {
                more.push(chunk);
            }
        }
        let body = match (first, more.is_empty()) {
            (None, _) => Bytes::new(),
            (Some(only), true) => only,
            (Some(first), false) => {
                let mut joined = BytesMut::with_capacity(received as usize);
                joined.extend_from_slice(&first);
                for chunk in &more {
                    joined.extend_from_slice(chunk);
                }
                joined.freeze()
            }
        };
        Ok(Exchange {
            status,
            headers,
            body: ExchangeBody::Buffered(body),
            attempts: 1,
        })
    }
}

/// Runs `work` unless `timer` fires first (`None`). `work` is polled first, so a result that is
/// ready never loses to the timer, and the timer is only registered once `work` has to wait.
async fn before_deadline<F: std::future::Future>(
    work: F,
    mut timer: std::pin::Pin<&mut tokio::time::Sleep>,
) -> Option<F::Output> {
    let mut work = std::pin::pin!(work);
    std::future::poll_fn(move |context| {
        if let std::task::Poll::Ready(output) = work.as_mut().poll(context) {
            return std::task::Poll::Ready(Some(output));
        }
        timer.as_mut().poll(context).map(|()| None)
    })
    .await
}

/// Response headers as the script sees them. Values are nearly always ASCII: checked once and
/// copied, the lossy conversion only for the rare value that is not UTF-8.
fn copy_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut copied = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let text = match std::str::from_utf8(value.as_bytes()) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(value.as_bytes()).into_owned(),
        };
        copied.push((name.as_str().to_owned(), text));
    }
    copied
}

struct HopPlan<'a> {
    method: Method,
    logical_url: &'a Url,
    headers: &'a [(String, String)],
    body: &'a RequestBody,
    credential: Option<&'a CredentialAttachment>,
    retry_non_idempotent: bool,
    timeout: Duration,
    /// Leave the body unread (the caller streams it).
    stream_body: bool,
}

struct Target {
    /// `None`: the hop's logical URL as it is (no route, no credential in the query).
    url: Option<Url>,
    routed: bool,
}

struct Exchange {
    status: u16,
    headers: Vec<(String, String)>,
    body: ExchangeBody,
    attempts: u32,
}

enum ExchangeBody {
    Buffered(Bytes),
    /// Headers received, body not read yet; reading it must end by the deadline.
    Open(reqwest::Response, tokio::time::Instant),
}

/// The final hop: the response (body empty when streaming) and the unread body.
struct Finished {
    response: OutboundResponse,
    open: Option<OpenBody>,
}

struct OpenBody {
    response: reqwest::Response,
    logical_url: Url,
    timeout: Duration,
    deadline: tokio::time::Instant,
}

/// A response whose body arrives as a stream of chunks.
pub struct StreamingResponse {
    /// Status, headers (redacted like a buffered response's), final URL, redirects and
    /// attempts; `body` is empty.
    pub head: OutboundResponse,
    pub body: ResponseBodyStream,
}

impl std::fmt::Debug for StreamingResponse {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("StreamingResponse")
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}

/// The chunks of a streamed body. An error ends it: the size limit was passed, the timeout
/// ran out, or the connection broke.
pub type ResponseBodyStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<Bytes, OutboundError>> + Send>>;

struct BodyReader {
    /// `None` once the body ended or failed.
    response: Option<reqwest::Response>,
    received: u64,
    limit: u64,
    stream_redactor: Option<StreamRedactor>,
    redactor: Arc<Redactor>,
    logical_url: Url,
    timeout: Duration,
    /// The exchange's deadline, carried over from reading the head.
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
}

fn body_stream(reader: BodyReader) -> ResponseBodyStream {
    Box::pin(futures::stream::unfold(reader, |mut reader| async move {
        loop {
            let response = reader.response.as_mut()?;
            let Some(next) = before_deadline(response.chunk(), reader.timer.as_mut()).await else {
                reader.response = None;
                let error = OutboundError::Timeout {
                    url: reader.redactor.redact(reader.logical_url.as_str()),
                    seconds: reader.timeout.as_secs().max(1),
                };
                return Some((Err(error), reader));
            };
            match next {
                Ok(Some(chunk)) => {
                    reader.received += chunk.len() as u64;
                    if reader.received > reader.limit {
                        reader.response = None;
                        let error = OutboundError::ResponseTooLarge {
                            url: reader.redactor.redact(reader.logical_url.as_str()),
                            limit_bytes: reader.limit,
                        };
                        return Some((Err(error), reader));
                    }
                    let Some(stream_redactor) = reader.stream_redactor.as_mut() else {
                        return Some((Ok(chunk), reader));
                    };
                    let ready = stream_redactor.push(&chunk);
                    if !ready.is_empty() {
                        return Some((Ok(Bytes::from(ready)), reader));
                    }
                }
                Ok(None) => {
                    reader.response = None;
                    let rest = reader
                        .stream_redactor
                        .as_mut()
                        .map(StreamRedactor::finish)
                        .unwrap_or_default();
                    if rest.is_empty() {
                        return None;
                    }
                    return Some((Ok(Bytes::from(rest)), reader));
                }
                Err(error) => {
                    reader.response = None;
                    let error = transport_error(
                        error,
                        &reader.logical_url,
                        reader.timeout,
                        &reader.redactor,
                    );
                    return Some((Err(error), reader));
                }
            }
        }
    }))
}

pub(crate) fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may win the race; either way a provider is installed afterwards.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

fn build_client(
    config: &OutboundConfig,
    pins: Arc<PinTable>,
) -> Result<reqwest::Client, OutboundError> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(PinnedResolver { table: pins })
        .connect_timeout(config.connect_timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(config.user_agent.clone());
    for pem in &config.extra_root_certificates_pem {
        let certificates = reqwest::Certificate::from_pem_bundle(pem).map_err(|error| {
            OutboundError::InvalidConfig {
                reason: format!("extra root certificate is not valid PEM: {error}"),
            }
        })?;
        builder = builder.tls_certs_merge(certificates);
    }
    builder
        .build()
        .map_err(|error| OutboundError::InvalidConfig {
            reason: format!("could not build the HTTP client: {error}"),
        })
}

fn parse_request_url(text: &str, redactor: &Redactor) -> Result<Url, OutboundError> {
    let trimmed = text.trim();
    let url = Url::parse(trimmed).map_err(|error| OutboundError::InvalidUrl {
        url: redactor.redact(trimmed),
        reason: error.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(OutboundError::UnsupportedScheme {
            scheme: url.scheme().to_owned(),
            url: redactor.redact(trimmed),
        });
    }
    if url.host().is_none() {
        return Err(OutboundError::InvalidUrl {
            url: redactor.redact(trimmed),
            reason: "the URL has no host".to_owned(),
        });
    }
    Ok(url)
}

/// The URL's host as policies see it: lowercase, no brackets, no trailing dot.
fn url_host(url: &Url) -> Cow<'_, str> {
    match url.host() {
        Some(Host::Domain(domain)) => normalized_host(domain),
        Some(Host::Ipv4(address)) => Cow::Owned(address.to_string()),
        Some(Host::Ipv6(address)) => Cow::Owned(address.to_string()),
        None => Cow::Borrowed(""),
    }
}

/// Framing and hop-by-hop headers the HTTP stack owns.
fn is_ignored_request_header(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "host"
            | "content-length"
            | "transfer-encoding"
            | "connection"
            | "keep-alive"
            | "upgrade"
            | "te"
            | "trailer"
            | "proxy-connection"
    )
}

fn is_body_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("content-")
}

/// Headers browsers drop when a redirect changes origin.
fn is_origin_bound_header(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "authorization" | "cookie" | "proxy-authorization"
    )
}

fn build_headers(hop: &HopPlan<'_>, redactor: &Redactor) -> Result<HeaderMap, OutboundError> {
    let mut headers = HeaderMap::new();
    let is_multipart = matches!(hop.body, RequestBody::Multipart(_));
    for (name, value) in hop.headers {
        if is_ignored_request_header(name) {
            continue;
        }
        if is_multipart && name.eq_ignore_ascii_case("content-type") {
            // The multipart encoder sets the type with its boundary.
            continue;
        }
        let header_name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
            OutboundError::InvalidRequest {
                reason: format!(
                    "header name {:?} is not valid: use letters, digits and '-'",
                    redactor.redact(name)
                ),
            }
        })?;
        let header_value = HeaderValue::from_str(value).map_err(|_| OutboundError::InvalidRequest {
            reason: format!(
                "value of header {header_name} is not valid: header values may not contain line breaks or control characters"
            ),
        })?;
        headers.append(header_name, header_value);
    }
    if !headers.contains_key(http::header::CONTENT_TYPE)
        && let Some(default_type) = default_content_type(hop.body)
    {
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_str(default_type).map_err(|_| OutboundError::InvalidRequest {
                reason: format!("content type {default_type:?} is not a valid header value"),
            })?,
        );
    }
    if let Some(credential) = hop.credential {
        for (name, value) in &credential.headers {
            let header_name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                OutboundError::CredentialPlacement {
                    connection: credential.connection.clone(),
                    reason: format!("header name {name:?} is not valid"),
                }
            })?;
            let mut header_value = HeaderValue::from_str(value.expose_secret()).map_err(|_| {
                OutboundError::CredentialPlacement {
                    connection: credential.connection.clone(),
                    reason: format!("the value for header {header_name} contains characters a header cannot carry"),
                }
            })?;
            header_value.set_sensitive(true);
            headers.insert(header_name, header_value);
        }
        if let Some(signer) = &credential.oauth1 {
            headers.insert(
                http::header::AUTHORIZATION,
                oauth1_authorization(hop, credential, signer)?,
            );
        }
    }
    Ok(headers)
}

/// The OAuth 1 `Authorization` header of one hop, signed over the URL the script named (plus
/// the credential's query parameters) and the pairs of a form body. Each attempt is signed
/// anew, with a fresh nonce and timestamp.
fn oauth1_authorization(
    hop: &HopPlan<'_>,
    credential: &CredentialAttachment,
    signer: &crate::oauth1::OAuth1Signer,
) -> Result<HeaderValue, OutboundError> {
    if signer.requires_https() && hop.logical_url.scheme() != "https" {
        return Err(OutboundError::CredentialPlacement {
            connection: credential.connection.clone(),
            reason: "PLAINTEXT OAuth 1 signatures carry the secrets themselves and are sent over https only".to_owned(),
        });
    }
    let mut signed_url = hop.logical_url.clone();
    if !credential.query.is_empty() {
        let mut pairs = signed_url.query_pairs_mut();
        for (name, value) in &credential.query {
            pairs.append_pair(name, value.expose_secret());
        }
    }
    let mut form: Vec<(String, String)> = match hop.body {
        RequestBody::Form(pairs) => pairs.clone(),
        _ => Vec::new(),
    };
    if matches!(hop.body, RequestBody::Form(_) | RequestBody::None) {
        form.extend(
            credential
                .form_fields
                .iter()
                .map(|(name, value)| (name.clone(), value.expose_secret().to_owned())),
        );
    }
    let header =
        signer.authorization_header(hop.method.to_http().as_str(), &signed_url, &form, &[]);
    let mut value = HeaderValue::from_str(header.expose_secret()).map_err(|_| {
        OutboundError::CredentialPlacement {
            connection: credential.connection.clone(),
            reason: "the OAuth 1 consumer key or token contains characters a header cannot carry"
                .to_owned(),
        }
    })?;
    value.set_sensitive(true);
    Ok(value)
}

fn default_content_type(body: &RequestBody) -> Option<&str> {
    match body {
        RequestBody::None | RequestBody::Multipart(_) => None,
        RequestBody::Form(_) => Some("application/x-www-form-urlencoded"),
        RequestBody::Text { content_type, .. } => Some(
            content_type
                .as_deref()
                .unwrap_or("text/plain; charset=utf-8"),
        ),
        RequestBody::Json(_) => Some("application/json"),
        RequestBody::Bytes { content_type, .. } => Some(
            content_type
                .as_deref()
                .unwrap_or("application/octet-stream"),
        ),
    }
}

fn attach_body(
    builder: reqwest::RequestBuilder,
    hop: &HopPlan<'_>,
) -> Result<reqwest::RequestBuilder, OutboundError> {
    let form_fields: &[(String, crate::credential::SecretString)] = hop
        .credential
        .map(|credential| credential.form_fields.as_slice())
        .unwrap_or(&[]);
    let placement_error = |reason: &str| OutboundError::CredentialPlacement {
        connection: hop
            .credential
            .map(|credential| credential.connection.clone())
            .unwrap_or_default(),
        reason: reason.to_owned(),
    };
    match hop.body {
        RequestBody::None if form_fields.is_empty() => Ok(builder),
        RequestBody::None => {
            if hop.method.parameters_go_to_query() {
                return Err(placement_error(
                    "its form fields need a POST, PUT or PATCH request with a form body",
                ));
            }
            Ok(builder.body(encode_form(&[], form_fields)))
        }
        RequestBody::Form(pairs) => Ok(builder.body(encode_form(pairs, form_fields))),
        RequestBody::Text { .. } | RequestBody::Json(_) | RequestBody::Bytes { .. }
            if !form_fields.is_empty() =>
        {
            Err(placement_error(
                "its form fields need a form or multipart body, and this request has a raw body",
            ))
        }
        RequestBody::Text { text, .. } => Ok(builder.body(text.clone())),
        RequestBody::Json(value) => Ok(builder.body(value.to_string())),
        RequestBody::Bytes { bytes, .. } => Ok(builder.body(bytes.clone())),
        RequestBody::Multipart(parts) => {
            let mut form = reqwest::multipart::Form::new();
            for part in parts {
                form = match part {
                    MultipartPart::Text { name, value } => form.text(name.clone(), value.clone()),
                    MultipartPart::File {
                        name,
                        file_name,
                        content_type,
                        bytes,
                    } => {
                        let mut file_part = reqwest::multipart::Part::stream(bytes.clone())
                            .file_name(file_name.clone());
                        if let Some(content_type) = content_type {
                            file_part = file_part.mime_str(content_type).map_err(|_| {
                                OutboundError::InvalidRequest {
                                    reason: format!(
                                        "content type {content_type:?} of file {file_name:?} is not a MIME type such as \"text/plain\""
                                    ),
                                }
                            })?;
                        }
                        form.part(name.clone(), file_part)
                    }
                };
            }
            for (name, value) in form_fields {
                form = form.text(name.clone(), value.expose_secret().to_owned());
            }
            Ok(builder.multipart(form))
        }
    }
}

fn encode_form(
    pairs: &[(String, String)],
    secret_fields: &[(String, crate::credential::SecretString)],
) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    for (name, value) in secret_fields {
        serializer.append_pair(name, value.expose_secret());
    }
    serializer.finish()
}

fn transport_error(
    error: reqwest::Error,
    logical_url: &Url,
    timeout: Duration,
    redactor: &Redactor,
) -> OutboundError {
    if error.is_timeout() {
        return OutboundError::Timeout {
            url: redactor.redact(logical_url.as_str()),
            seconds: timeout.as_secs().max(1),
        };
    }
    let is_connect = error.is_connect();
    let reason = redactor.redact(&error_chain(&error.without_url()));
    if is_connect {
        return OutboundError::ConnectionFailed {
            host: url_host(logical_url).into_owned(),
            reason,
        };
    }
    OutboundError::RequestFailed {
        url: redactor.redact(logical_url.as_str()),
        reason,
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn redact_response(response: &mut OutboundResponse, redactor: &Redactor) {
    if redactor.is_empty() {
        return;
    }
    if let Some(scrubbed) = redactor.redact_bytes(&response.body) {
        response.body = Bytes::from(scrubbed);
    }
    for (_, value) in &mut response.headers {
        if redactor.contains_secret(value) {
            *value = redactor.redact(value);
        }
    }
}

/// Defence in depth: scrub every text field of an error, whatever built it.
fn redact_error(error: OutboundError, redactor: &Redactor) -> OutboundError {
    if redactor.is_empty() {
        return error;
    }
    let scrub = |text: String| redactor.redact(&text);
    match error {
        OutboundError::InvalidUrl { url, reason } => OutboundError::InvalidUrl {
            url: scrub(url),
            reason: scrub(reason),
        },
        OutboundError::UnsupportedScheme { scheme, url } => OutboundError::UnsupportedScheme {
            scheme: scrub(scheme),
            url: scrub(url),
        },
        OutboundError::InvalidMethod { method } => OutboundError::InvalidMethod {
            method: scrub(method),
        },
        OutboundError::InvalidRequest { reason } => OutboundError::InvalidRequest {
            reason: scrub(reason),
        },
        OutboundError::EgressHostNotAllowed {
            host,
            connection,
            allowed,
        } => OutboundError::EgressHostNotAllowed {
            host: scrub(host),
            connection,
            allowed,
        },
        OutboundError::EgressAddressBlocked {
            host,
            address,
            range,
        } => OutboundError::EgressAddressBlocked {
            host: scrub(host),
            address,
            range,
        },
        OutboundError::EgressHostBlocked { host, reason } => OutboundError::EgressHostBlocked {
            host: scrub(host),
            reason: scrub(reason),
        },
        OutboundError::DnsResolutionFailed { host, reason } => OutboundError::DnsResolutionFailed {
            host: scrub(host),
            reason: scrub(reason),
        },
        OutboundError::ConnectionFailed { host, reason } => OutboundError::ConnectionFailed {
            host: scrub(host),
            reason: scrub(reason),
        },
        OutboundError::Timeout { url, seconds } => OutboundError::Timeout {
            url: scrub(url),
            seconds,
        },
        OutboundError::ResponseTooLarge { url, limit_bytes } => OutboundError::ResponseTooLarge {
            url: scrub(url),
            limit_bytes,
        },
        OutboundError::TooManyRedirects { url, limit } => OutboundError::TooManyRedirects {
            url: scrub(url),
            limit,
        },
        OutboundError::InvalidRedirect { url, reason } => OutboundError::InvalidRedirect {
            url: scrub(url),
            reason: scrub(reason),
        },
        OutboundError::RedirectCarriesCredential {
            url,
            host,
            connection,
        } => OutboundError::RedirectCarriesCredential {
            url: scrub(url),
            host: scrub(host),
            connection,
        },
        OutboundError::CredentialPlacement { connection, reason } => {
            OutboundError::CredentialPlacement {
                connection,
                reason: scrub(reason),
            }
        }
        OutboundError::RequestFailed { url, reason } => OutboundError::RequestFailed {
            url: scrub(url),
            reason: scrub(reason),
        },
        OutboundError::InvalidConfig { reason } => OutboundError::InvalidConfig {
            reason: scrub(reason),
        },
        OutboundError::CredentialNeedsHttps { url, connection } => {
            OutboundError::CredentialNeedsHttps {
                url: scrub(url),
                connection,
            }
        }
        OutboundError::CredentialUnavailable { connection, reason } => {
            OutboundError::CredentialUnavailable {
                connection,
                reason: scrub(reason),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::StaticHostList;

    #[test]
    fn redactor_cache_follows_the_secret_values() {
        let cache = RedactorCache::new();
        let hosts: Arc<dyn crate::HostAllowList> = Arc::new(StaticHostList::new(["a.test"]));
        let first = CredentialAttachment::new("ns__a", hosts.clone())
            .with_header("Authorization", "Bearer first-token");
        let redactor = cache.redactor_for(&first);
        assert!(Arc::ptr_eq(&redactor, &cache.redactor_for(&first.clone())));
        let mut changed = first.clone();
        changed
            .query
            .push(("key".to_owned(), "second-secret".into()));
        let redactor = cache.redactor_for(&changed);
        assert_eq!(
            redactor.redact("second-secret first-token"),
            "[REDACTED] [REDACTED]"
        );
    }
}
