//! Credentials as data: what to attach to a request and where it may go.
//!
//! The engine never knows how a credential was obtained (that is the connections crate's job);
//! it only receives the header, query and form values to attach plus the host policy of the
//! connection's service, and refuses before sending when the destination is not allowed.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

pub use trestle_vault::SecretString;

use crate::oauth1::OAuth1Signer;

/// The hosts a connection's service allows its credential to reach.
///
/// The services crate implements this for its `HostPolicy` (literal hosts and patterns bound
/// to per-connection settings such as `api_domain`); [`StaticHostList`] is a simple
/// implementation for tests and fixed host sets. `host` is already lowercase, without port,
/// without a trailing dot, IDNA-encoded (punycode) as the URL parser produced it.
pub trait HostAllowList: Send + Sync {
    fn allows_host(&self, host: &str) -> bool;

    /// Whether the credential may travel over plain http. Default: https only, so a token
    /// never crosses the network in clear text. (A stand-in route may still carry the bytes
    /// over http: the check is on the URL the script named.)
    fn allows_plain_http(&self) -> bool {
        false
    }

    /// Human-readable list of what is allowed, for error messages (for example
    /// `"www.zohoapis.com, *.zoho.com"`).
    fn describe(&self) -> String;
}

/// Exact hosts plus `*.suffix` patterns. A pattern `*.zoho.com` matches `books.zoho.com` and
/// `a.b.zoho.com` but neither `zoho.com` itself nor `books.zoho.com.evil.test` nor `evilzoho.com`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticHostList {
    patterns: Vec<String>,
    plain_http: bool,
}

impl StaticHostList {
    pub fn new<I, S>(patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        StaticHostList {
            patterns: patterns
                .into_iter()
                .map(|pattern| normalize_host(pattern.as_ref()))
                .filter(|pattern| !pattern.is_empty())
                .collect(),
            plain_http: false,
        }
    }

    /// Also allow plain http (local services reached through `egress.allow`, tests).
    pub fn allowing_plain_http(mut self) -> Self {
        self.plain_http = true;
        self
    }
}

impl HostAllowList for StaticHostList {
    fn allows_host(&self, host: &str) -> bool {
        let host = normalized_host(host);
        self.patterns
            .iter()
            .any(|pattern| host_matches_pattern(&host, pattern))
    }

    fn allows_plain_http(&self) -> bool {
        self.plain_http
    }

    fn describe(&self) -> String {
        if self.patterns.is_empty() {
            "no hosts".to_owned()
        } else {
            self.patterns.join(", ")
        }
    }
}

/// The services crate's policy: exact hosts, https only. Its host keys write IPv6 addresses
/// in brackets, so bare IPv6 hosts are bracketed before asking.
impl HostAllowList for trestle_services::HostPolicy {
    fn allows_host(&self, host: &str) -> bool {
        match host.parse::<std::net::Ipv6Addr>() {
            Ok(address) => self.allows(&format!("[{address}]")),
            Err(_) => self.allows(host),
        }
    }

    fn describe(&self) -> String {
        let hosts = self.hosts().collect::<Vec<_>>();
        if hosts.is_empty() {
            "no hosts".to_owned()
        } else {
            hosts.join(", ")
        }
    }
}

/// Lowercase, strip one trailing dot and surrounding IPv6 brackets.
pub fn normalize_host(host: &str) -> String {
    normalized_host(host).into_owned()
}

/// [`normalize_host`] without copying a host that is already normal (what the URL parser
/// produces for most hosts), for per-request paths.
pub(crate) fn normalized_host(host: &str) -> Cow<'_, str> {
    let trimmed = host.trim();
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    let trimmed = trimmed
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(trimmed);
    if trimmed.bytes().any(|byte| byte.is_ascii_uppercase()) {
        Cow::Owned(trimmed.to_ascii_lowercase())
    } else {
        Cow::Borrowed(trimmed)
    }
}

/// Exact match, or `*.suffix` matching on a label boundary (at least one label before the suffix).
pub fn host_matches_pattern(host: &str, pattern: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => {
            host.len() > suffix.len() + 1
                && host.ends_with(suffix)
                && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
        }
        None => host == pattern,
    }
}

/// What to attach to a request sent through a connection, and where it may go.
#[derive(Clone)]
pub struct CredentialAttachment {
    /// The connection's link name (`<namespace>__<name>`), named in errors.
    pub connection: String,
    /// Headers to set, e.g. `("Authorization", "Zoho-oauthtoken 1000.abc")`. They replace a
    /// header of the same name set by the script.
    pub headers: Vec<(String, SecretString)>,
    /// Query parameters to append (API keys in the query string).
    pub query: Vec<(String, SecretString)>,
    /// Form fields to add to a form or multipart body (client secrets at token endpoints).
    pub form_fields: Vec<(String, SecretString)>,
    /// Further secret values to redact that do not appear verbatim above (e.g. the bare token
    /// inside an `Authorization` value, a client secret used to sign).
    pub extra_secrets: Vec<SecretString>,
    /// Hosts the credential may be sent to.
    pub allowed_hosts: Arc<dyn HostAllowList>,
    /// OAuth 1 services: every request is signed (RFC 5849) instead of carrying the token.
    pub oauth1: Option<OAuth1Signer>,
}

impl CredentialAttachment {
    pub fn new(connection: impl Into<String>, allowed_hosts: Arc<dyn HostAllowList>) -> Self {
        CredentialAttachment {
            connection: connection.into(),
            headers: Vec::new(),
            query: Vec::new(),
            form_fields: Vec::new(),
            extra_secrets: Vec::new(),
            allowed_hosts,
            oauth1: None,
        }
    }

    /// Signs every request with OAuth 1.0a (the `Authorization` header is computed per request).
    pub fn with_oauth1_signer(mut self, signer: OAuth1Signer) -> Self {
        self.oauth1 = Some(signer);
        self
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<SecretString>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn with_query(mut self, name: impl Into<String>, value: impl Into<SecretString>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    pub fn with_form_field(
        mut self,
        name: impl Into<String>,
        value: impl Into<SecretString>,
    ) -> Self {
        self.form_fields.push((name.into(), value.into()));
        self
    }

    pub fn with_extra_secret(mut self, value: impl Into<SecretString>) -> Self {
        self.extra_secrets.push(value.into());
        self
    }

    /// Every secret value this attachment carries, for building a [`crate::Redactor`].
    /// For header values like `Bearer x`, `Zoho-oauthtoken x` or `Basic x`, the part after
    /// the scheme is a secret of its own, and a Basic value's decoded `user:password` and
    /// password too.
    pub fn secret_values(&self) -> Vec<String> {
        let mut secrets = Vec::new();
        for (_, value) in &self.headers {
            let value = value.expose_secret();
            secrets.push(value.to_owned());
            if let Some((scheme, rest)) = value.split_once(' ') {
                let rest = rest.trim();
                if !rest.is_empty() {
                    secrets.push(rest.to_owned());
                }
                if scheme.eq_ignore_ascii_case("basic") {
                    secrets.extend(decoded_basic_secrets(rest));
                }
            }
        }
        for (_, value) in self.query.iter().chain(self.form_fields.iter()) {
            secrets.push(value.expose_secret().to_owned());
        }
        for value in &self.extra_secrets {
            secrets.push(value.expose_secret().to_owned());
        }
        if let Some(signer) = &self.oauth1 {
            secrets.extend(signer.secret_values());
        }
        secrets
    }
}

impl fmt::Debug for CredentialAttachment {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |pairs: &Vec<(String, SecretString)>| {
            pairs
                .iter()
                .map(|(name, _)| name.clone())
                .collect::<Vec<_>>()
        };
        formatter
            .debug_struct("CredentialAttachment")
            .field("connection", &self.connection)
            .field("headers", &names(&self.headers))
            .field("query", &names(&self.query))
            .field("form_fields", &names(&self.form_fields))
            .field("allowed_hosts", &self.allowed_hosts.describe())
            .field("oauth1", &self.oauth1)
            .finish()
    }
}

fn decoded_basic_secrets(encoded: &str) -> Vec<String> {
    use base64::Engine as _;
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return Vec::new();
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return Vec::new();
    };
    let mut secrets = vec![text.clone()];
    if let Some((_, password)) = text.split_once(':')
        && !password.is_empty()
    {
        secrets.push(password.to_owned());
    }
    secrets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_on_label_boundaries_only() {
        let list = StaticHostList::new(["books.zoho.com", "*.zohoapis.com"]);
        assert!(list.allows_host("books.zoho.com"));
        assert!(list.allows_host("BOOKS.ZOHO.COM."));
        assert!(list.allows_host("www.zohoapis.com"));
        assert!(list.allows_host("a.b.zohoapis.com"));
        assert!(!list.allows_host("zohoapis.com"));
        assert!(!list.allows_host("books.zoho.com.evil.test"));
        assert!(!list.allows_host("evilzohoapis.com"));
        assert!(!list.allows_host("www.zohoapis.com.evil.test"));
        assert!(!list.allows_host("zoho.com"));
        assert!(!list.allows_host(""));
    }

    #[test]
    fn secret_values_include_bare_tokens_and_basic_parts() {
        let attachment = CredentialAttachment::new(
            "crm__books",
            Arc::new(StaticHostList::new(["books.zoho.com"])),
        )
        .with_header("Authorization", "Zoho-oauthtoken 1000.token")
        .with_header("X-Basic", "Basic dXNlcjpodW50ZXIy")
        .with_query("api_key", "key-123");
        let secrets = attachment.secret_values();
        for expected in [
            "Zoho-oauthtoken 1000.token",
            "1000.token",
            "dXNlcjpodW50ZXIy",
            "user:hunter2",
            "hunter2",
            "key-123",
        ] {
            assert!(
                secrets.iter().any(|secret| secret == expected),
                "{expected}"
            );
        }
        let debug = format!("{attachment:?}");
        assert!(!debug.contains("1000.token"));
        assert!(!debug.contains("key-123"));
    }
}
