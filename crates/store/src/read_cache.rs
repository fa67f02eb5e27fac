//! Per-process caches of read-mostly rows on hot paths (API-token verification, a connection's
//! decrypted credential, an environment's stand-in routes), and the change generations that
//! invalidate them.
//!
//! # How fresh a cached read is
//! - **In this process: never stale.** Every write through a [`Store`] handle (all clones share
//!   the counters) bumps the generation of its [`ChangeDomain`] *after* the statement or
//!   transaction finished. A cache captures the generations *before* it reads the database
//!   ([`ReadCache::generation`]) and an entry is returned only while every domain it depends on
//!   is still at that generation. A write that lands while a read is in flight therefore makes
//!   that read's entry unusable; the next request reads the database again.
//! - **Across processes: at most [`CROSS_PROCESS_STALENESS`] (1 s).** Another server process
//!   on the same database does not touch these counters, so an entry is used for at most that
//!   long after the database read that filled it began. A revoked API token, a deleted or
//!   revoked connection, a changed stand-in route or service override, made through one
//!   process, stops being used by every other process within that bound. (The alternative, a
//!   change counter in the database read on every request, costs one round trip per request,
//!   which is what these caches remove.) Credentials refreshed by another process are picked
//!   up without waiting: a 401 from the service drops the entry and re-reads the store.
//!
//! Entries hold values such as decrypted credentials: [`ReadCache`]'s `Debug` prints only the
//! number of entries, never a key or a value.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
#[cfg(test)]
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::Store;

/// How long a cached read may be used after the database read that filled it began: the bound
/// on how late a change made through another server process is seen by this one.
pub const CROSS_PROCESS_STALENESS: Duration = Duration::from_secs(1);

/// What a write changed, so a write to one part of the store does not empty every cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeDomain {
    /// Organizations, users, memberships, platform admins, API tokens: who may act.
    Access,
    /// Connections, their credentials and custom service definitions.
    Connections,
    /// Per-environment service overrides and stand-in routes.
    ServiceOverrides,
    /// Trestle's own OAuth provider (clients, grants, access and refresh tokens).
    OAuthProvider,
    /// Everything else (CRM records, audit, sessions, stored functions...).
    Other,
}

impl ChangeDomain {
    const COUNT: usize = 5;

    fn index(self) -> usize {
        match self {
            ChangeDomain::Access => 0,
            ChangeDomain::Connections => 1,
            ChangeDomain::ServiceOverrides => 2,
            ChangeDomain::OAuthProvider => 3,
            ChangeDomain::Other => 4,
        }
    }
}

/// One write counter per domain, shared by every clone of a [`Store`].
#[derive(Default)]
pub(crate) struct ChangeCounters {
    counters: [AtomicU64; ChangeDomain::COUNT],
}

impl ChangeCounters {
    pub(crate) fn bump(&self, domain: ChangeDomain) {
        self.counters[domain.index()].fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn bump_all(&self) {
        for counter in &self.counters {
            counter.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// The sum of the domains' counters: each only grows, so the sum changes exactly when
    /// one of them does.
    fn generation(&self, domains: &[ChangeDomain]) -> u64 {
        domains
            .iter()
            .map(|domain| self.counters[domain.index()].load(Ordering::Acquire))
            .fold(0u64, u64::wrapping_add)
    }
}

/// Bumps a domain's counter when dropped, i.e. after the statement it guards finished.
pub(crate) struct BumpOnDrop<'a> {
    pub(crate) counters: &'a ChangeCounters,
    pub(crate) domain: ChangeDomain,
}

impl Drop for BumpOnDrop<'_> {
    fn drop(&mut self) {
        self.counters.bump(self.domain);
    }
}

impl Store {
    /// The current write generation of `domains` in this process (see the module docs).
    pub fn change_generation(&self, domains: &[ChangeDomain]) -> u64 {
        self.changes.generation(domains)
    }

    /// Marks `domain` changed, for writes made outside the store's own methods.
    pub fn note_change(&self, domain: ChangeDomain) {
        self.changes.bump(domain);
    }
}

/// Captured by [`ReadCache::generation`] before reading the database; handed back to
/// [`ReadCache::insert`] with what was read.
#[derive(Clone, Copy, Debug)]
pub struct ReadStarted {
    generation: u64,
    at: Instant,
}

/// A small map of cached reads with the two freshness rules of the module docs. A
/// `RwLock<HashMap>` is enough: lookups are short, entries few (one per live token,
/// connection or environment in use), and no eviction policy beyond expiry is needed.
pub struct ReadCache<K, V> {
    store: Store,
    domains: &'static [ChangeDomain],
    time_to_live: Duration,
    max_entries: usize,
    entries: RwLock<HashMap<K, CachedEntry<V>>>,
}

struct CachedEntry<V> {
    value: V,
    generation: u64,
    read_at: Instant,
}

impl<K, V> std::fmt::Debug for ReadCache<K, V> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        formatter
            .debug_struct("ReadCache")
            .field("domains", &self.domains)
            .field("time_to_live", &self.time_to_live)
            .field("entries", &entries)
            .finish()
    }
}

impl<K: Eq + Hash, V: Clone> ReadCache<K, V> {
    /// A cache whose entries depend on `domains` of `store` and live at most `time_to_live`
    /// ([`CROSS_PROCESS_STALENESS`] unless a test wants otherwise). Beyond `max_entries`,
    /// expired entries are dropped, and everything if that is not enough.
    pub fn new(
        store: &Store,
        domains: &'static [ChangeDomain],
        time_to_live: Duration,
        max_entries: usize,
    ) -> ReadCache<K, V> {
        ReadCache {
            store: store.clone(),
            domains,
            time_to_live: time_to_live.min(CROSS_PROCESS_STALENESS),
            max_entries: max_entries.max(1),
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// Call before reading the database for an entry.
    pub fn generation(&self) -> ReadStarted {
        ReadStarted {
            generation: self.store.change_generation(self.domains),
            at: Instant::now(),
        }
    }

    /// The cached value, if it was read under the current generation less than the time to
    /// live ago.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let generation = self.store.change_generation(self.domains);
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get(key)?;
        (entry.generation == generation && entry.read_at.elapsed() < self.time_to_live)
            .then(|| entry.value.clone())
    }

    /// Remembers what a read begun at `started` found; nothing when a write landed since.
    pub fn insert(&self, key: K, value: V, started: ReadStarted) {
        if self.store.change_generation(self.domains) != started.generation {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.max_entries && !entries.contains_key(&key) {
            let time_to_live = self.time_to_live;
            entries.retain(|_, entry| entry.read_at.elapsed() < time_to_live);
            if entries.len() >= self.max_entries {
                entries.clear();
            }
        }
        entries.insert(
            key,
            CachedEntry {
                value,
                generation: started.generation,
                read_at: started.at,
            },
        );
    }

    /// Forgets one entry (a 401 from the service says the cached credential is stale).
    pub fn remove<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Number of entries held (expired ones included until they are replaced or swept).
    pub fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn memory_store() -> Store {
        Store::connect("sqlite::memory:").await.unwrap()
    }

    fn cache(store: &Store, time_to_live: Duration) -> ReadCache<String, u32> {
        ReadCache::new(store, &[ChangeDomain::Access], time_to_live, 4)
    }

    #[tokio::test]
    async fn a_fresh_entry_is_returned_until_a_write_of_its_domain() {
        let store = memory_store().await;
        let cache = cache(&store, CROSS_PROCESS_STALENESS);
        let started = cache.generation();
        cache.insert("token".to_owned(), 7, started);
        assert_eq!(cache.get("token"), Some(7));
        assert_eq!(cache.get("other"), None);

        // A write of another domain leaves it alone...
        store.note_change(ChangeDomain::Connections);
        assert_eq!(cache.get("token"), Some(7));
        // ...a write of its own domain (here through a real store write) invalidates it.
        let organization = store.organizations().create("Acme").await.unwrap();
        assert!(organization.organization.name == "Acme");
        assert_eq!(cache.get("token"), None);
    }

    #[tokio::test]
    async fn a_read_overtaken_by_a_write_is_not_cached() {
        let store = memory_store().await;
        let cache = cache(&store, CROSS_PROCESS_STALENESS);
        let started = cache.generation();
        // The write lands while the read is in flight: what the read saw may be old.
        store.note_change(ChangeDomain::Access);
        cache.insert("token".to_owned(), 7, started);
        assert_eq!(cache.get("token"), None);
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn entries_expire_after_their_time_to_live() {
        let store = memory_store().await;
        let cache = cache(&store, Duration::from_millis(40));
        cache.insert("token".to_owned(), 7, cache.generation());
        assert_eq!(cache.get("token"), Some(7));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(cache.get("token"), None);
    }

    #[tokio::test]
    async fn the_time_to_live_never_exceeds_the_cross_process_bound() {
        let store = memory_store().await;
        let cache = cache(&store, Duration::from_secs(3600));
        assert_eq!(cache.time_to_live, CROSS_PROCESS_STALENESS);
    }

    #[tokio::test]
    async fn remove_and_overflow_forget_entries() {
        let store = memory_store().await;
        let cache = cache(&store, CROSS_PROCESS_STALENESS);
        for index in 0..4u32 {
            cache.insert(format!("key {index}"), index, cache.generation());
        }
        assert_eq!(cache.len(), 4);
        cache.remove("key 0");
        assert_eq!(cache.get("key 0"), None);
        assert_eq!(cache.get("key 1"), Some(1));
        cache.insert("key 4".to_owned(), 4, cache.generation());
        cache.insert("key 5".to_owned(), 5, cache.generation());
        // Full of live entries: the cache starts over rather than grow without bound.
        assert!(cache.len() <= 4);
        assert_eq!(cache.get("key 5"), Some(5));
        cache.clear();
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn transactions_bump_after_commit_and_clones_share_counters() {
        let store = memory_store().await;
        let counters = Arc::clone(&store.changes);
        let clone = store.clone();
        let before = clone.change_generation(&[ChangeDomain::Other]);
        let transaction = store.begin_write().await.unwrap();
        assert_eq!(clone.change_generation(&[ChangeDomain::Other]), before);
        transaction.commit().await.unwrap();
        assert_ne!(clone.change_generation(&[ChangeDomain::Other]), before);
        assert_eq!(
            counters.generation(&[ChangeDomain::Other]),
            clone.change_generation(&[ChangeDomain::Other])
        );
    }
}
