//! Stand-in routes: send the bytes for a service host to an operator-chosen base URL, so
//! toppings run unchanged against local stand-ins (e.g. `books.zoho.com` ->
//! `http://127.0.0.1:9100` in a sandbox).
//!
//! The credential allow-list is checked on the host the script named; only then does a route
//! decide where the bytes go. Routed targets are operator configuration and so are exempt
//! from the SSRF guard, for exactly that route: a script naming the target URL directly is
//! still checked.

use url::Url;

use crate::credential::{normalize_host, normalized_host};
use crate::error::OutboundError;

/// One route: every request to `host` (any scheme, any port) goes to `target` instead,
/// keeping path (appended to the target's path) and query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoute {
    pub host: String,
    pub target: Url,
}

/// The routes in force for one environment. Explicit data; whoever configures environments
/// builds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostRoutes {
    routes: Vec<HostRoute>,
}

impl HostRoutes {
    pub fn new() -> Self {
        HostRoutes::default()
    }

    /// Adds a route; `target_base_url` must be an absolute http(s) URL without query.
    pub fn add(&mut self, host: &str, target_base_url: &str) -> Result<(), OutboundError> {
        let host = normalize_host(host);
        if host.is_empty() || host.contains('/') || host.contains(':') && !host.contains("::") {
            return Err(OutboundError::InvalidConfig {
                reason: format!(
                    "route host {host:?} must be a bare host name such as \"books.zoho.com\""
                ),
            });
        }
        let target = Url::parse(target_base_url).map_err(|error| OutboundError::InvalidConfig {
            reason: format!(
                "route target {target_base_url:?} for {host:?} is not a URL ({error}); write it like \"http://127.0.0.1:9100\""
            ),
        })?;
        if !matches!(target.scheme(), "http" | "https") || target.host_str().is_none() {
            return Err(OutboundError::InvalidConfig {
                reason: format!(
                    "route target {target_base_url:?} for {host:?} must be an http:// or https:// URL with a host"
                ),
            });
        }
        if target.query().is_some() || target.fragment().is_some() {
            return Err(OutboundError::InvalidConfig {
                reason: format!(
                    "route target {target_base_url:?} for {host:?} must not have a query or fragment"
                ),
            });
        }
        self.routes.retain(|route| route.host != host);
        self.routes.push(HostRoute { host, target });
        Ok(())
    }

    pub fn with_route(mut self, host: &str, target_base_url: &str) -> Result<Self, OutboundError> {
        self.add(host, target_base_url)?;
        Ok(self)
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &HostRoute> {
        self.routes.iter()
    }

    pub fn route_for(&self, host: &str) -> Option<&HostRoute> {
        if self.routes.is_empty() {
            return None;
        }
        let host = normalized_host(host);
        self.routes.iter().find(|route| route.host == host)
    }

    /// Where the bytes for `url` go, when a route applies.
    pub fn rewrite(&self, url: &Url) -> Option<Url> {
        let route = self.route_for(url.host_str()?)?;
        let mut target = route.target.clone();
        let prefix = route.target.path().trim_end_matches('/');
        if prefix.is_empty() {
            // The usual target (`http://127.0.0.1:9100`): no path to join.
            target.set_path(url.path());
        } else {
            target.set_path(&format!("{prefix}{}", url.path()));
        }
        if url.query().is_some() {
            target.set_query(url.query());
        }
        Some(target)
    }

    /// Maps an absolute URL that points at a route's target (a stand-in naming itself in a
    /// `Location` header) back to the service host the script sees, using `scheme` for it.
    pub fn reverse(&self, url: &Url, scheme: &str) -> Option<Url> {
        let route = self.routes.iter().find(|route| {
            route.target.scheme() == url.scheme()
                && route.target.host_str() == url.host_str()
                && route.target.port_or_known_default() == url.port_or_known_default()
                && url
                    .path()
                    .starts_with(route.target.path().trim_end_matches('/'))
        })?;
        let prefix = route.target.path().trim_end_matches('/');
        let rest = url.path().strip_prefix(prefix).unwrap_or(url.path());
        let rest = if rest.starts_with('/') {
            rest.to_owned()
        } else {
            format!("/{rest}")
        };
        let mut logical = Url::parse(&format!("{scheme}://{}{rest}", route.host)).ok()?;
        logical.set_query(url.query());
        Some(logical)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_scheme_host_port_and_keeps_path_and_query() {
        let routes = HostRoutes::new()
            .with_route("Books.Zoho.com", "http://127.0.0.1:9100")
            .unwrap()
            .with_route("www.zohoapis.com", "http://127.0.0.1:9200/apis/")
            .unwrap();
        let url = Url::parse("https://books.zoho.com/api/v3/contacts?organization_id=1").unwrap();
        assert_eq!(
            routes.rewrite(&url).unwrap().as_str(),
            "http://127.0.0.1:9100/api/v3/contacts?organization_id=1"
        );
        let url = Url::parse("https://www.zohoapis.com/books/v3/x").unwrap();
        assert_eq!(
            routes.rewrite(&url).unwrap().as_str(),
            "http://127.0.0.1:9200/apis/books/v3/x"
        );
        assert!(
            routes
                .rewrite(&Url::parse("https://books.zoho.com.evil.test/").unwrap())
                .is_none()
        );
        let back = routes
            .reverse(
                &Url::parse("http://127.0.0.1:9200/apis/books/v3/y?a=1").unwrap(),
                "https",
            )
            .unwrap();
        assert_eq!(back.as_str(), "https://www.zohoapis.com/books/v3/y?a=1");
    }

    #[test]
    fn bad_targets_are_refused_with_a_hint() {
        let mut routes = HostRoutes::new();
        for target in [
            "127.0.0.1:9100",
            "ftp://127.0.0.1/",
            "http://127.0.0.1/?x=1",
        ] {
            let error = routes.add("books.zoho.com", target).unwrap_err();
            assert_eq!(error.code(), "INVALID_CONFIG", "{target}");
        }
        assert!(routes.add("books.zoho.com/x", "http://127.0.0.1").is_err());
    }
}
