//! The one error type of the outbound engine. Every message is built from redacted text:
//! no variant ever carries a credential value (URLs are scrubbed before they get here).

/// Everything that can go wrong with an outbound request. HTTP error statuses are NOT errors:
/// they come back as an [`crate::OutboundResponse`], as Zoho's invokeurl does.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum OutboundError {
    #[error("invalid URL {url:?}: {reason}. Give an absolute http:// or https:// URL")]
    InvalidUrl { url: String, reason: String },

    #[error(
        "URL scheme {scheme:?} is not allowed in {url:?}: outbound requests may only use http or https"
    )]
    UnsupportedScheme { scheme: String, url: String },

    #[error("unknown request type {method:?}: use one of GET, POST, PUT, PATCH, DELETE or HEAD")]
    InvalidMethod { method: String },

    #[error("invalid request: {reason}")]
    InvalidRequest { reason: String },

    #[error(
        "connection {connection:?} may not send its credential to host {host:?}: its service allows only {allowed}. \
         Call one of the service's hosts, or use a connection made for {host:?}"
    )]
    EgressHostNotAllowed {
        host: String,
        connection: String,
        allowed: String,
    },

    #[error(
        "request to host {host:?} refused: it resolves to {address}, a {range} address that outbound requests may not reach. \
         An operator can allow a range with egress.allow (for example \"{address}/32\" for one address)"
    )]
    EgressAddressBlocked {
        host: String,
        address: String,
        range: String,
    },

    #[error("request to host {host:?} refused: {reason}")]
    EgressHostBlocked { host: String, reason: String },

    #[error("could not resolve host {host:?}: {reason}")]
    DnsResolutionFailed { host: String, reason: String },

    #[error("could not connect to {host:?}: {reason}")]
    ConnectionFailed { host: String, reason: String },

    #[error("request to {url:?} timed out after {seconds} s (socket timeout error)")]
    Timeout { url: String, seconds: u64 },

    #[error(
        "response from {url:?} is larger than the limit of {limit_bytes} bytes; reading stopped at the limit"
    )]
    ResponseTooLarge { url: String, limit_bytes: u64 },

    #[error("too many redirects: more than {limit} starting from {url:?}")]
    TooManyRedirects { url: String, limit: u32 },

    #[error("invalid redirect from {url:?}: {reason}")]
    InvalidRedirect { url: String, reason: String },

    #[error(
        "redirect from {url:?} refused: the next location would carry connection {connection:?}'s credential to host {host:?}, outside its service"
    )]
    RedirectCarriesCredential {
        url: String,
        host: String,
        connection: String,
    },

    #[error(
        "connection {connection:?} sends its credential over https only, and {url:?} is plain http: use the https:// address"
    )]
    CredentialNeedsHttps { url: String, connection: String },

    #[error("credential of connection {connection:?} cannot be attached: {reason}")]
    CredentialPlacement { connection: String, reason: String },

    #[error("request to {url:?} failed: {reason}")]
    RequestFailed { url: String, reason: String },

    #[error("invalid outbound configuration: {reason}")]
    InvalidConfig { reason: String },

    #[error("credential for connection {connection:?} is unavailable: {reason}")]
    CredentialUnavailable { connection: String, reason: String },
}

impl OutboundError {
    /// Stable machine code of this error, for APIs, execution logs and tests.
    pub fn code(&self) -> &'static str {
        match self {
            OutboundError::InvalidUrl { .. } => "INVALID_URL",
            OutboundError::UnsupportedScheme { .. } => "UNSUPPORTED_SCHEME",
            OutboundError::InvalidMethod { .. } => "INVALID_METHOD",
            OutboundError::InvalidRequest { .. } => "INVALID_REQUEST",
            OutboundError::EgressHostNotAllowed { .. } => "EGRESS_HOST_NOT_ALLOWED",
            OutboundError::EgressAddressBlocked { .. } => "EGRESS_ADDRESS_BLOCKED",
            OutboundError::EgressHostBlocked { .. } => "EGRESS_HOST_BLOCKED",
            OutboundError::DnsResolutionFailed { .. } => "DNS_RESOLUTION_FAILED",
            OutboundError::ConnectionFailed { .. } => "CONNECTION_FAILED",
            OutboundError::Timeout { .. } => "TIMEOUT",
            OutboundError::ResponseTooLarge { .. } => "RESPONSE_TOO_LARGE",
            OutboundError::TooManyRedirects { .. } => "TOO_MANY_REDIRECTS",
            OutboundError::InvalidRedirect { .. } => "INVALID_REDIRECT",
            OutboundError::RedirectCarriesCredential { .. } => "REDIRECT_CARRIES_CREDENTIAL",
            OutboundError::CredentialNeedsHttps { .. } => "EGRESS_CREDENTIAL_NEEDS_HTTPS",
            OutboundError::CredentialPlacement { .. } => "CREDENTIAL_PLACEMENT",
            OutboundError::RequestFailed { .. } => "REQUEST_FAILED",
            OutboundError::InvalidConfig { .. } => "INVALID_CONFIG",
            OutboundError::CredentialUnavailable { .. } => "CREDENTIAL_UNAVAILABLE",
        }
    }

    /// True for refusals by the egress policy (the request never left).
    pub fn is_egress_refusal(&self) -> bool {
        matches!(
            self,
            OutboundError::EgressHostNotAllowed { .. }
                | OutboundError::EgressAddressBlocked { .. }
                | OutboundError::EgressHostBlocked { .. }
                | OutboundError::UnsupportedScheme { .. }
                | OutboundError::RedirectCarriesCredential { .. }
                | OutboundError::CredentialNeedsHttps { .. }
        )
    }
}
