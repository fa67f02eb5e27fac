//! trestle-outbound: the one request engine behind `invokeurl`, integration tasks and the
//! proxy API.
//!
//! - [`OutboundRequest`] models a request; [`OutboundRequest::from_invokeurl`] maps
//!   invokeurl's keys onto it with Zoho's rules.
//! - [`OutboundEngine::send`] sends it with one pooled client, attaching a
//!   [`CredentialAttachment`] only to hosts its [`HostAllowList`] allows, passing every hop
//!   through the SSRF guard ([`EgressPolicy`]) unless an operator's stand-in route
//!   ([`HostRoutes`]) applies, with limits (timeout, response size, redirects) and retries.
//! - [`OutboundResponse`] gives the script's view: JSON as values, text, or `detailed`.
//! - [`guarded_http_client`] and [`check_destination`] put the same guard in front of callers
//!   that speak their own protocol (OAuth token endpoints, connection verification).
//! - [`Redactor`] scrubs secret values (raw, URL-encoded, base64) from any text.

mod credential;
mod egress;
mod engine;
mod error;
mod guarded_client;
pub mod oauth1;
mod redact;
mod request;
mod resolver;
mod response;
mod retry;
mod routes;

pub use credential::{
    CredentialAttachment, HostAllowList, SecretString, StaticHostList, host_matches_pattern,
    normalize_host,
};
pub use egress::{EgressPolicy, blocked_range};
pub use engine::{
    CredentialSource, EgressContext, OutboundConfig, OutboundEngine, ResponseBodyStream,
    StreamingResponse,
};
pub use error::OutboundError;
pub use guarded_client::{check_destination, egress_refusal_in, guarded_http_client};
pub use redact::{MIN_REDACTED_SECRET_LENGTH, REDACTED, Redactor, StreamRedactor};
pub use request::{
    InvokeUrlArguments, InvokeUrlFile, InvokeUrlValue, Method, MultipartPart, OutboundRequest,
    RequestBody, ResponseFormat,
};
pub use resolver::{HostResolver, StaticResolver, SystemResolver};
pub use response::{OutboundResponse, ResponseValue};
pub use retry::{RetryPolicy, is_retryable_status, server_requested_wait};
pub use routes::{HostRoute, HostRoutes};
