//! The entries of a Deluge map: text keys in insertion order.
//!
//! Most maps scripts build are small records (`{"id": 1, "name": "x"}`, API response
//! objects): for those a hash table costs more than it saves (a second allocation, a
//! per-map seed, hashing every key). So entries live in one vector in insertion order,
//! searched linearly while the map has at most [`SMALL_MAP_ENTRIES`] keys; a larger map
//! gets a hash index of positions (foldhash, seeded per map: cheap on short keys and not
//! predictable from outside, since keys often come from API responses).

use std::hash::BuildHasher;

use super::{MapHasher, Text, Value};

/// Keys up to which a map is searched linearly, without a hash index.
pub const SMALL_MAP_ENTRIES: usize = 8;

/// The entries of a Deluge map (see the module documentation).
#[derive(Clone, Default)]
pub struct MapEntries {
    entries: Vec<(Text, Value)>,
    /// Positions in `entries` by key hash; present when the map has more than
    /// [`SMALL_MAP_ENTRIES`] entries (or was made with room for more).
    index: Option<Box<MapIndex>>,
}

#[derive(Clone)]
struct MapIndex {
    positions: hashbrown::HashTable<usize>,
    hasher: MapHasher,
}

impl MapIndex {
    fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }
}

impl MapEntries {
    /// An empty map (allocates nothing).
    pub const fn new() -> MapEntries {
        MapEntries {
            entries: Vec::new(),
            index: None,
        }
    }

    /// An empty map with room for `capacity` entries.
    pub fn with_capacity(capacity: usize) -> MapEntries {
        let mut map = MapEntries {
            entries: Vec::with_capacity(capacity),
            index: None,
        };
        if capacity > SMALL_MAP_ENTRIES {
            map.index = Some(Box::new(MapIndex {
                positions: hashbrown::HashTable::with_capacity(capacity),
                hasher: MapHasher::default(),
            }));
        }
        map
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where `key` is, or, when it is missing, the hash it has in the index (if any).
    #[inline]
    pub(super) fn locate(&self, key: &str) -> Result<usize, Option<u64>> {
        match &self.index {
            None => self
                .entries
                .iter()
                .position(|(existing, _)| existing.as_str() == key)
                .ok_or(None),
            Some(index) => {
                let hash = index.hash(key);
                let entries = &self.entries;
                index
                    .positions
                    .find(hash, |&position| {
                        entries
                            .get(position)
                            .is_some_and(|(existing, _)| existing.as_str() == key)
                    })
                    .copied()
                    .ok_or(Some(hash))
            }
        }
    }

    #[inline]
    pub fn get(&self, key: &str) -> Option<&Value> {
        let position = self.locate(key).ok()?;
        self.entries.get(position).map(|(_, value)| value)
    }

    /// The value at `position` in insertion order.
    pub(super) fn get_index_mut(&mut self, position: usize) -> Option<&mut Value> {
        self.entries.get_mut(position).map(|(_, value)| value)
    }

    #[inline]
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        let position = self.locate(key).ok()?;
        self.entries.get_mut(position).map(|(_, value)| value)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.locate(key).is_ok()
    }

    /// Sets `key` to `value`. An existing key keeps its position and text and its old
    /// value is returned; a new key goes last.
    #[inline]
    pub fn insert(&mut self, key: Text, value: Value) -> Option<Value> {
        match self.locate(&key) {
            Ok(position) => self
                .entries
                .get_mut(position)
                .map(|(_, slot)| std::mem::replace(slot, value)),
            Err(hash) => {
                self.push_new(key, value, hash);
                None
            }
        }
    }

    /// Appends an entry whose key is not in the map; `hash` is its hash in the index.
    pub(super) fn push_new(&mut self, key: Text, value: Value, hash: Option<u64>) {
        let position = self.entries.len();
        self.entries.push((key, value));
        match (&mut self.index, hash) {
            (Some(index), Some(hash)) => {
                let entries = &self.entries;
                let hasher = &index.hasher;
                index.positions.insert_unique(hash, position, |&existing| {
                    entries
                        .get(existing)
                        .map_or(0, |(key, _)| hasher.hash_one(key.as_str()))
                });
            }
            _ => {
                if self.entries.len() > SMALL_MAP_ENTRIES {
                    self.rebuild_index();
                }
            }
        }
    }

    /// Builds the hash index from scratch (a map outgrowing linear search, or positions
    /// shifted by a removal); drops it when the map is small again.
    fn rebuild_index(&mut self) {
        if self.entries.len() <= SMALL_MAP_ENTRIES {
            self.index = None;
            return;
        }
        let mut index = match self.index.take() {
            Some(mut index) => {
                index.positions.clear();
                index
            }
            None => Box::new(MapIndex {
                positions: hashbrown::HashTable::with_capacity(self.entries.capacity()),
                hasher: MapHasher::default(),
            }),
        };
        let hasher = &index.hasher;
        let hashes: Vec<u64> = self
            .entries
            .iter()
            .map(|(key, _)| hasher.hash_one(key.as_str()))
            .collect();
        for (position, &hash) in hashes.iter().enumerate() {
            index.positions.insert_unique(hash, position, |&existing| {
                hashes.get(existing).copied().unwrap_or(0)
            });
        }
        self.index = Some(index);
    }

    /// Removes `key`, keeping the order of the others (linear in the map's size).
    pub fn shift_remove(&mut self, key: &str) -> Option<Value> {
        let position = self.locate(key).ok()?;
        if position >= self.entries.len() {
            return None;
        }
        let (_, value) = self.entries.remove(position);
        if self.index.is_some() {
            self.rebuild_index();
        }
        Some(value)
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.index = None;
    }

    /// The last entry inserted.
    pub fn last(&self) -> Option<(&Text, &Value)> {
        self.entries.last().map(|(key, value)| (key, value))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Text> + ExactSizeIterator {
        self.entries.iter().map(|(key, _)| key)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> + ExactSizeIterator {
        self.entries.iter().map(|(_, value)| value)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Text, &Value)> + ExactSizeIterator {
        self.entries.iter().map(|(key, value)| (key, value))
    }
}

impl std::fmt::Debug for MapEntries {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_map().entries(self.iter()).finish()
    }
}

impl FromIterator<(Text, Value)> for MapEntries {
    /// A repeated key keeps its first position and its last value, as `put` does.
    fn from_iter<I: IntoIterator<Item = (Text, Value)>>(iterator: I) -> Self {
        let iterator = iterator.into_iter();
        let mut map = MapEntries::with_capacity(iterator.size_hint().0);
        for (key, value) in iterator {
            map.insert(key, value);
        }
        map
    }
}

impl IntoIterator for MapEntries {
    type Item = (Text, Value);
    type IntoIter = std::vec::IntoIter<(Text, Value)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(map: &MapEntries) -> Vec<&str> {
        map.keys().map(|key| key.as_str()).collect()
    }

    #[test]
    fn small_and_large_maps_find_every_key_and_keep_insertion_order() {
        for size in [0, 1, SMALL_MAP_ENTRIES, SMALL_MAP_ENTRIES + 1, 1_000] {
            let mut map = MapEntries::new();
            let names: Vec<String> = (0..size).rev().map(|n| format!("key-{n}")).collect();
            for (position, name) in names.iter().enumerate() {
                assert!(
                    map.insert(Text::from(name.as_str()), Value::Long(position as i64))
                        .is_none()
                );
            }
            assert_eq!(map.len(), size);
            assert_eq!(map.index.is_some(), size > SMALL_MAP_ENTRIES);
            assert_eq!(
                keys(&map),
                names.iter().map(String::as_str).collect::<Vec<_>>()
            );
            for (position, name) in names.iter().enumerate() {
                assert!(matches!(map.get(name), Some(Value::Long(n)) if *n == position as i64));
            }
            assert!(map.get("missing").is_none());
            assert!(!map.contains_key("key-"));
        }
    }

    #[test]
    fn overwriting_keeps_the_position_and_removing_keeps_the_order() {
        let mut map: MapEntries = (0..20)
            .map(|n| (Text::from(format!("k{n}")), Value::Long(n)))
            .collect();
        assert!(matches!(
            map.insert(Text::from("k3"), Value::Null),
            Some(Value::Long(3))
        ));
        assert_eq!(keys(&map)[3], "k3");
        assert!(map.get("k3").is_some_and(Value::is_null));
        // Removing down to a small map drops the index; every key is still found.
        for n in (0..20).filter(|n| n % 2 == 1 && *n != 3) {
            assert!(map.shift_remove(&format!("k{n}")).is_some());
        }
        assert!(map.shift_remove("k1").is_none());
        assert_eq!(
            keys(&map),
            [
                "k0", "k2", "k3", "k4", "k6", "k8", "k10", "k12", "k14", "k16", "k18"
            ]
        );
        assert!(map.index.is_some());
        for n in [0, 2, 4, 6] {
            map.shift_remove(&format!("k{n}"));
        }
        assert!(map.index.is_none());
        assert_eq!(keys(&map), ["k3", "k8", "k10", "k12", "k14", "k16", "k18"]);
        assert!(matches!(map.get("k18"), Some(Value::Long(18))));
        assert!(map.get("k3").is_some());
        // A repeated key in a collected sequence keeps its first position, last value.
        let repeated: MapEntries = [("a", 1), ("b", 2), ("a", 3)]
            .into_iter()
            .map(|(key, n)| (Text::from(key), Value::Long(n)))
            .collect();
        assert_eq!(keys(&repeated), ["a", "b"]);
        assert!(matches!(repeated.get("a"), Some(Value::Long(3))));
        map.clear();
        assert!(map.is_empty() && map.index.is_none() && map.get("k8").is_none());
    }
}
