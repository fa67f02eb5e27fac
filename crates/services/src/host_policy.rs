//! Which hosts a connection's credential may be sent to.

use std::collections::BTreeSet;

use serde::Serialize;

/// The set of hosts a resolved service may send credentials to. Matching is exact after
/// normalisation: ASCII-lower-cased, internationalised names converted to punycode, one trailing
/// dot removed, IPv4 forms canonicalised. There are no wildcards and no suffix matching, so
/// `books.zoho.com.evil.test` and `evilbooks.zoho.com` never match `books.zoho.com`.
///
/// Scheme, port and the addresses a name resolves to are not checked here: that is the outbound
/// request engine's SSRF guard (see [`HostPolicy::user_supplied_hosts`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostPolicy {
    hosts: BTreeSet<String>,
    user_supplied_hosts: bool,
}

impl HostPolicy {
    /// A policy allowing exactly these hosts. Entries that are not valid host names are returned
    /// as the error (each as given).
    pub fn new<I, S>(hosts: I, user_supplied_hosts: bool) -> Result<HostPolicy, Vec<String>>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut normalized = BTreeSet::new();
        let mut invalid = Vec::new();
        for host in hosts {
            match normalize_host(host.as_ref()) {
                Some(host) => {
                    normalized.insert(host);
                }
                None => invalid.push(host.as_ref().to_owned()),
            }
        }
        if invalid.is_empty() {
            Ok(HostPolicy {
                hosts: normalized,
                user_supplied_hosts,
            })
        } else {
            Err(invalid)
        }
    }

    /// True when a credential may be sent to `host` (a host name or IP address, without port).
    pub fn allows(&self, host: &str) -> bool {
        normalize_host(host).is_some_and(|host| self.hosts.contains(&host))
    }

    /// True when `url` uses https and its host is allowed.
    pub fn allows_url(&self, url: &url::Url) -> bool {
        url.scheme() == "https" && url.host_str().is_some_and(|host| self.allows(host))
    }

    /// The allowed hosts, normalised, sorted.
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.hosts.iter().map(String::as_str)
    }

    /// True when hosts were typed by a person (custom services, store URLs): every request must
    /// also pass the SSRF guard (no private, loopback, link-local or metadata addresses after DNS
    /// resolution, pinned to the checked address).
    pub fn user_supplied_hosts(&self) -> bool {
        self.user_supplied_hosts
    }
}

/// Normalises a host for comparison, or `None` when it is not a plain host name or IP address
/// (contains a port, path, user info, wildcard, empty label, ...).
pub fn normalize_host(input: &str) -> Option<String> {
    let trimmed = input.trim();
    let without_dot = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if without_dot.is_empty() {
        return None;
    }
    if without_dot.starts_with('[') {
        return match url::Host::parse(without_dot) {
            Ok(url::Host::Ipv6(address)) => Some(format!("[{address}]")),
            _ => None,
        };
    }
    if without_dot.chars().any(|c| {
        matches!(
            c,
            '/' | '\\' | '@' | ':' | '?' | '#' | '*' | '%' | ' ' | '[' | ']'
        )
    }) {
        return None;
    }
    match url::Host::parse(without_dot).ok()? {
        url::Host::Domain(domain) => {
            let domain = domain.to_ascii_lowercase();
            if domain.split('.').any(str::is_empty) || domain.ends_with('.') {
                return None;
            }
            Some(domain)
        }
        url::Host::Ipv4(address) => Some(address.to_string()),
        url::Host::Ipv6(address) => Some(format!("[{address}]")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(hosts: &[&str]) -> HostPolicy {
        HostPolicy::new(hosts.iter().copied(), false).unwrap()
    }

    #[test]
    fn exact_match_only() {
        let policy = policy(&["books.zoho.com"]);
        assert!(policy.allows("books.zoho.com"));
        assert!(policy.allows("BOOKS.Zoho.COM"));
        assert!(policy.allows("books.zoho.com."));
        assert!(!policy.allows("books.zoho.com.evil.test"));
        assert!(!policy.allows("evilbooks.zoho.com"));
        assert!(!policy.allows("x.books.zoho.com"));
        assert!(!policy.allows("zoho.com"));
        assert!(!policy.allows("books.zoho.com:443"));
        assert!(!policy.allows("user@books.zoho.com"));
        assert!(!policy.allows(""));
        assert!(!policy.allows("books.zoho.com.."));
    }

    #[test]
    fn internationalised_names_compare_as_punycode() {
        let policy = policy(&["bücher.example"]);
        assert!(policy.allows("xn--bcher-kva.example"));
        assert!(policy.allows("BÜCHER.example"));
        assert!(!policy.allows("bucher.example"));
    }

    #[test]
    fn ip_addresses_are_canonical() {
        let policy = policy(&["127.0.0.1", "[::1]"]);
        assert!(policy.allows("127.0.0.1"));
        assert!(policy.allows("0x7f.0.0.1"));
        assert!(policy.allows("[0:0::1]"));
        assert!(!policy.allows("127.0.0.2"));
    }

    #[test]
    fn wildcards_and_junk_are_rejected_at_construction() {
        assert!(HostPolicy::new(["*.zendesk.com"], false).is_err());
        assert!(HostPolicy::new(["a..b"], false).is_err());
        assert!(HostPolicy::new(["https://x.test/"], false).is_err());
    }

    #[test]
    fn allows_url_requires_https() {
        let policy = policy(&["api.example.com"]);
        assert!(policy.allows_url(&url::Url::parse("https://api.example.com/v1").unwrap()));
        assert!(!policy.allows_url(&url::Url::parse("http://api.example.com/v1").unwrap()));
        assert!(
            !policy.allows_url(&url::Url::parse("https://api.example.com.evil.test/").unwrap())
        );
    }
}
