//! Name resolution the engine controls: it resolves a host itself, checks every address, and
//! pins the checked answer so the HTTP connector connects to exactly those addresses (the
//! connector's resolver reads the pin table and never looks a name up again). A name that
//! resolved to a public address for the check cannot rebind to a private one for the connect.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

/// Looks host names up. The default is the system resolver; tests inject their own.
pub trait HostResolver: Send + Sync {
    /// Every address of `host` (no port). An error is a human-readable reason.
    fn lookup(&self, host: &str) -> BoxFuture<'static, Result<Vec<IpAddr>, String>>;
}

/// The operating system's resolver (getaddrinfo through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl HostResolver for SystemResolver {
    fn lookup(&self, host: &str) -> BoxFuture<'static, Result<Vec<IpAddr>, String>> {
        let host = host.to_owned();
        Box::pin(async move {
            let addresses = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|error| error.to_string())?;
            let mut unique: Vec<IpAddr> = Vec::new();
            for address in addresses {
                if !unique.contains(&address.ip()) {
                    unique.push(address.ip());
                }
            }
            Ok(unique)
        })
    }
}

/// Fixed answers, for tests and fully controlled setups; unknown names fail to resolve.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    answers: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    pub fn new() -> Self {
        StaticResolver::default()
    }

    pub fn with(mut self, host: &str, addresses: &[IpAddr]) -> Self {
        self.answers
            .insert(host.to_ascii_lowercase(), addresses.to_vec());
        self
    }
}

impl HostResolver for StaticResolver {
    fn lookup(&self, host: &str) -> BoxFuture<'static, Result<Vec<IpAddr>, String>> {
        let answer = self
            .answers
            .get(&host.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| "no such host".to_owned());
        Box::pin(async move { answer })
    }
}

/// Checked answers, by host name, shared by the engine (writer) and its connector (reader).
#[derive(Debug, Default)]
pub(crate) struct PinTable {
    entries: Mutex<HashMap<String, PinnedAnswer>>,
}

#[derive(Debug, Clone)]
struct PinnedAnswer {
    addresses: Vec<IpAddr>,
    pinned_at: Instant,
}

/// Above this many names, stale entries are dropped when a new one is pinned.
const PIN_TABLE_PRUNE_THRESHOLD: usize = 4096;

impl PinTable {
    /// `check` applied to the pinned answer for `host` when younger than `max_age` (under the
    /// lock, so the answer is not copied on every request).
    pub(crate) fn with_fresh<R>(
        &self,
        host: &str,
        max_age: Duration,
        check: impl FnOnce(&[IpAddr]) -> R,
    ) -> Option<R> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(host)?;
        (entry.pinned_at.elapsed() < max_age).then(|| check(&entry.addresses))
    }

    pub(crate) fn pin(&self, host: &str, addresses: Vec<IpAddr>, max_age: Duration) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= PIN_TABLE_PRUNE_THRESHOLD {
            entries.retain(|_, entry| entry.pinned_at.elapsed() < max_age);
        }
        entries.insert(
            host.to_owned(),
            PinnedAnswer {
                addresses,
                pinned_at: Instant::now(),
            },
        );
    }

    fn get(&self, host: &str) -> Option<Vec<IpAddr>> {
        let entries = self.entries.lock().ok()?;
        entries.get(host).map(|entry| entry.addresses.clone())
    }
}

/// The connector's resolver: answers only from the pin table. A name the engine did not pin
/// is refused, so nothing connects to an address that was not checked.
pub(crate) struct PinnedResolver {
    pub(crate) table: Arc<PinTable>,
}

impl reqwest::dns::Resolve for PinnedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = crate::credential::normalize_host(name.as_str());
        let answer = self.table.get(&host);
        Box::pin(async move {
            match answer {
                Some(addresses) if !addresses.is_empty() => {
                    let socket_addresses: Vec<SocketAddr> = addresses
                        .into_iter()
                        .map(|address| SocketAddr::new(address, 0))
                        .collect();
                    Ok(Box::new(socket_addresses.into_iter()) as reqwest::dns::Addrs)
                }
                _ => {
                    Err(Box::new(UncheckedName { host })
                        as Box<dyn std::error::Error + Send + Sync>)
                }
            }
        })
    }
}

/// The connector was asked for a name the egress check never saw.
#[derive(Debug)]
pub(crate) struct UncheckedName {
    host: String,
}

impl std::fmt::Display for UncheckedName {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "host {:?} was not checked by the egress policy",
            self.host
        )
    }
}

impl std::error::Error for UncheckedName {}
