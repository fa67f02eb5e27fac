//! A plain reqwest client behind the same SSRF guard as the engine, for callers that speak a
//! protocol of their own (OAuth token endpoints, OAuth 1 credential requests, connection
//! verification) and so cannot go through [`crate::OutboundEngine::send`].
//!
//! The client's resolver looks a name up once, checks every address against the
//! [`EgressPolicy`] and hands reqwest only those checked addresses: the address checked is the
//! address connected to, so DNS rebinding fails. reqwest never asks a resolver about IP-literal
//! hosts, so callers run [`check_destination`] on every URL before sending; it refuses non-http
//! schemes, literal addresses in blocked ranges and metadata host names. The client follows no
//! redirects and ignores proxy environment variables.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use url::{Host, Url};

use crate::credential::normalized_host;
use crate::egress::EgressPolicy;
use crate::error::OutboundError;
use crate::resolver::HostResolver;

/// A reqwest client whose every connection passes the egress guard (see the module docs;
/// [`check_destination`] must still run on each URL for IP-literal hosts). `timeout` bounds a
/// whole request; connecting is bounded by the smaller of `timeout` and 10 s.
pub fn guarded_http_client(
    policy: EgressPolicy,
    resolver: Arc<dyn HostResolver>,
    timeout: Duration,
) -> Result<reqwest::Client, OutboundError> {
    crate::engine::ensure_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(GuardedResolver { policy, resolver })
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .build()
        .map_err(|error| OutboundError::InvalidConfig {
            reason: format!("could not build the guarded HTTP client: {error}"),
        })
}

/// Refuses `url` before anything is sent when its scheme is not http or https, it has no host,
/// its host is an IP literal in a range `policy` blocks, or its host name is a cloud metadata
/// name. Host names are otherwise checked by the guarded client's resolver, on the addresses
/// it connects to.
pub fn check_destination(policy: &EgressPolicy, url: &Url) -> Result<(), OutboundError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(OutboundError::UnsupportedScheme {
            scheme: url.scheme().to_owned(),
            url: url_without_secrets(url),
        });
    }
    match url.host() {
        Some(Host::Ipv4(address)) => {
            check_address(policy, IpAddr::V4(address), || address.to_string())
        }
        Some(Host::Ipv6(address)) => {
            check_address(policy, IpAddr::V6(address), || address.to_string())
        }
        Some(Host::Domain(domain)) => {
            policy
                .check_host_name(domain)
                .map_err(|reason| OutboundError::EgressHostBlocked {
                    host: normalized_host(domain).into_owned(),
                    reason,
                })
        }
        None => Err(OutboundError::InvalidUrl {
            url: url_without_secrets(url),
            reason: "the URL has no host".to_owned(),
        }),
    }
}

/// The egress refusal (or failed lookup) behind a transport error of a guarded client, if
/// that is why the request failed: reqwest wraps the resolver's error in its source chain.
pub fn egress_refusal_in<'error>(
    error: &'error (dyn std::error::Error + 'static),
) -> Option<&'error OutboundError> {
    let mut current: Option<&'error (dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = current {
        if let Some(refusal) = cause.downcast_ref::<OutboundError>() {
            return Some(refusal);
        }
        current = cause.source();
    }
    None
}

/// `host` names the destination in the error; it is only built when the check fails.
pub(crate) fn check_address(
    policy: &EgressPolicy,
    address: IpAddr,
    host: impl FnOnce() -> String,
) -> Result<(), OutboundError> {
    policy
        .check_address(address)
        .map_err(|range| OutboundError::EgressAddressBlocked {
            host: host(),
            address: address.to_string(),
            range: range.to_owned(),
        })
}

/// Scheme, host and path only: query strings and user info may carry secrets.
fn url_without_secrets(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// Resolves with the given resolver and returns only addresses the policy allows; one
/// blocked address refuses the whole name (a name with a private answer is not trusted for
/// its public ones either).
struct GuardedResolver {
    policy: EgressPolicy,
    resolver: Arc<dyn HostResolver>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = normalized_host(name.as_str()).into_owned();
        let policy = self.policy.clone();
        let lookup = match policy.check_host_name(&host) {
            Ok(()) => Ok(self.resolver.lookup(&host)),
            Err(reason) => Err(OutboundError::EgressHostBlocked {
                host: host.clone(),
                reason,
            }),
        };
        Box::pin(async move {
            let addresses = lookup?
                .await
                .map_err(|reason| OutboundError::DnsResolutionFailed {
                    host: host.clone(),
                    reason,
                })?;
            if addresses.is_empty() {
                return Err(OutboundError::DnsResolutionFailed {
                    host,
                    reason: "the name has no addresses".to_owned(),
                }
                .into());
            }
            for address in &addresses {
                check_address(&policy, *address, || host.clone())?;
            }
            let socket_addresses: Vec<SocketAddr> = addresses
                .into_iter()
                .map(|address| SocketAddr::new(address, 0))
                .collect();
            Ok(Box::new(socket_addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn literal_hosts_in_blocked_ranges_are_refused() {
        let policy = EgressPolicy::strict();
        for (text, range) in [
            ("http://169.254.169.254/latest/meta-data/", "link-local"),
            ("http://[::ffff:127.0.0.1]:8080/token", "IPv4-mapped"),
            ("https://10.0.0.5/oauth/token", "private"),
            ("http://[fd00:ec2::254]/", "unique-local"),
            ("http://0x7f.1/", "loopback"),
        ] {
            let error = check_destination(&policy, &url(text)).unwrap_err();
            assert_eq!(error.code(), "EGRESS_ADDRESS_BLOCKED", "{text}");
            assert!(error.to_string().contains(range), "{text}: {error}");
        }
    }

    #[test]
    fn allowed_ranges_open_literal_hosts_exactly() {
        let policy = EgressPolicy::from_allow_list(["127.0.0.1/32"]).unwrap();
        assert!(check_destination(&policy, &url("http://127.0.0.1:9000/token")).is_ok());
        let mapped =
            check_destination(&policy, &url("http://[::ffff:127.0.0.1]:9000/token")).unwrap_err();
        assert_eq!(mapped.code(), "EGRESS_ADDRESS_BLOCKED");
        assert!(check_destination(&policy, &url("http://127.0.0.2/")).is_err());
    }

    #[test]
    fn schemes_and_metadata_names_are_refused_and_public_hosts_pass() {
        let policy = EgressPolicy::strict();
        let error =
            check_destination(&policy, &url("file:///etc/passwd?secret=hunter2")).unwrap_err();
        assert_eq!(error.code(), "UNSUPPORTED_SCHEME");
        assert!(!error.to_string().contains("hunter2"));
        let error =
            check_destination(&policy, &url("http://Metadata.Google.Internal./x")).unwrap_err();
        assert_eq!(error.code(), "EGRESS_HOST_BLOCKED");
        assert!(
            check_destination(&policy, &url("https://accounts.zoho.com/oauth/v2/token")).is_ok()
        );
        assert!(check_destination(&policy, &url("https://8.8.8.8/")).is_ok());
    }
}
