//! Deluge values and the per-run heap that owns lists and maps.
//!
//! Lists and maps have reference semantics, as in Zoho: a map added to a list and changed
//! afterwards is changed inside the list too. They live in a [`Heap`] that belongs to one
//! run; a [`Value`] holds only a small copyable handle ([`ListId`], [`MapId`]), so values
//! are cheap to clone and `Send + 'static` without locks. [`OwnedValue`] is the heap-free
//! tree form used for effects, journals and cassettes.
//!
//! Memory: built-ins refuse to grow the heap past [`BuiltinLimits::max_heap_elements`] or to
//! produce text past [`BuiltinLimits::max_text_bytes`]. Lists and maps nothing reaches stay
//! in the arena until the VM calls [`Heap::collect_garbage`] with every live value as a
//! root ([`Heap::wants_collection`] says when it is worth it); their slots are then reused.
//!
//! Every decision on a question the Deluge reference leaves open is in [`decisions`].

pub mod datetime;
pub mod decisions;
mod display;
mod json;
pub mod map;
pub mod number;
mod operators;
mod scan;

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use indexmap::IndexMap;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use crate::builtins::BuiltinError;
pub use operators::BinaryOperator;

/// Handle of a list in a [`Heap`]. Only meaningful for the heap that created it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListId(u32);

/// Handle of a map in a [`Heap`]. Only meaningful for the heap that created it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MapId(u32);

impl ListId {
    /// The arena index, for diagnostics.
    pub fn index(self) -> u32 {
        self.0
    }
}

impl MapId {
    /// The arena index, for diagnostics.
    pub fn index(self) -> u32 {
        self.0
    }
}

/// The entries of a Deluge map: text keys in insertion order (see
/// [`decisions::MAP_KEYS_ARE_TEXT`]), small maps searched linearly, larger ones hashed
/// (see [`map`]). Keys are the same [`Text`] as text values, so a key of up to 15 bytes
/// is stored inline (no allocation per entry) and a text value becomes a key, or a key a
/// value, without copying.
pub use map::MapEntries;

/// The hasher of the index of larger [`MapEntries`] and of the built-ins' hash sets.
pub type MapHasher = foldhash::fast::RandomState;

/// Text of a Deluge value: up to 15 bytes inline (no allocation: most keys, names and
/// pieces of split text), longer text in one reference-counted allocation that `+` and `+=`
/// append to in place when nothing else holds it.
pub type Text = ecow::EcoString;

/// A Deluge value. Cloning is cheap: short text is inline, longer text and files are
/// reference-counted, lists and maps are handles into the run's [`Heap`].
#[derive(Debug, Clone, Default)]
pub enum Value {
    #[default]
    Null,
    Boolean(bool),
    /// Deluge NUMBER (BIGINT): a signed 64-bit whole number.
    Long(i64),
    /// Deluge DECIMAL, exact (see [`decisions::DECIMALS_ARE_EXACT`]).
    Decimal(Decimal),
    /// Text (see [`Text`]).
    Text(Text),
    /// A date without a time of day (`'01-Jan-2020'`, `toDate()`).
    Date(NaiveDate),
    /// A date with a time of day, in the run's time zone ([`Heap::time_zone`]).
    DateTime(NaiveDateTime),
    /// A time of day (Creator TIME fields).
    Time(NaiveTime),
    List(ListId),
    Map(MapId),
    File(Arc<FileValue>),
}

/// A file value: produced by `invokeurl` downloads and `toFile`, consumed by `files:` and
/// attachments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileValue {
    pub name: String,
    pub content_type: String,
    #[serde(with = "base64_bytes")]
    pub bytes: Vec<u8>,
}

/// A value without heap handles: a plain tree, serializable, for effects, journals and
/// cassettes. Decimals serialize as text so no precision is lost.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum OwnedValue {
    #[default]
    Null,
    Boolean(bool),
    Long(i64),
    Decimal(Decimal),
    Text(String),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    Time(NaiveTime),
    List(Vec<OwnedValue>),
    Map(IndexMap<String, OwnedValue>),
    File(FileValue),
}

impl OwnedValue {
    /// The printed form, as [`Heap::display`] prints the attached value.
    pub fn to_display_string(&self) -> String {
        let mut heap = Heap::new();
        let value = heap.attach(self.clone());
        heap.display(&value)
    }

    /// A value from plain JSON, by the same rules as [`Heap::from_json`]: integers that fit
    /// 64 bits are NUMBER, other numbers exact DECIMAL, objects keep their key order.
    pub fn from_json(json: serde_json::Value) -> OwnedValue {
        let mut heap = Heap::new();
        let value = heap.from_json(json);
        heap.detach(&value)
    }

    /// Plain JSON, by the same rules as [`Heap::to_json`].
    pub fn to_json(&self) -> serde_json::Value {
        let mut heap = Heap::new();
        let value = heap.attach(self.clone());
        heap.to_json(&value)
    }

    /// The JSON text form (maps and lists as JSON, text as a JSON string).
    pub fn to_json_text(&self) -> String {
        let mut heap = Heap::new();
        let value = heap.attach(self.clone());
        heap.to_json_text(&value).unwrap_or_default()
    }
}

const REGEX_CACHE_SIZE: usize = 64;

/// Bounds the built-ins enforce so one run cannot exhaust memory. The VM reads the same
/// struct for its own checks (text produced by `+`, output size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinLimits {
    /// Largest text a built-in or `+` may produce, in bytes.
    pub max_text_bytes: usize,
    /// Largest number of list elements plus map entries alive in one heap.
    pub max_heap_elements: usize,
    /// Deepest nesting of lists and maps that printing, JSON and detaching follow.
    pub max_nesting_depth: usize,
}

impl Default for BuiltinLimits {
    fn default() -> Self {
        BuiltinLimits {
            max_text_bytes: decisions::DEFAULT_MAX_TEXT_BYTES,
            max_heap_elements: decisions::DEFAULT_MAX_HEAP_ELEMENTS,
            max_nesting_depth: decisions::MAX_NESTING_DEPTH,
        }
    }
}

/// Owns every list and map of one run. Dropped with the run. Lists and maps no value can
/// reach any more are reclaimed only when the VM calls [`Heap::collect_garbage`] with every
/// live value as a root (see [`Heap::wants_collection`]).
#[derive(Debug, Clone)]
pub struct Heap {
    lists: Vec<Vec<Value>>,
    maps: Vec<MapEntries>,
    /// Slots of collected lists and maps, reused before the arenas grow.
    free_lists: Vec<u32>,
    free_maps: Vec<u32>,
    /// Elements alive after the last collection; the next one is due when the heap has
    /// grown well beyond it.
    elements_after_collection: usize,
    /// Elements plus containers at which [`Heap::wants_collection`] turns true.
    next_collection_at: usize,
    element_count: usize,
    /// Collections run so far, for tests of the schedule and for profiling.
    collections: usize,
    limits: BuiltinLimits,
    time_zone: chrono_tz::Tz,
    /// Compiled regular expressions of `replaceAll`, `matches`, ...: scripts call them in
    /// loops with the same pattern.
    regex_cache: std::collections::HashMap<(String, bool), regex::Regex>,
    /// Scratch stacks of the JSON parser (empty between parses).
    json_values: Vec<Value>,
    json_entries: Vec<(Text, Value)>,
    /// Scratch output of printing, kept so printing large values does not regrow a
    /// buffer every time.
    print_buffer: display::PrintBuffer,
}

impl Default for Heap {
    fn default() -> Self {
        Heap::new()
    }
}

impl Heap {
    /// An empty heap with default limits and the UTC time zone.
    pub fn new() -> Heap {
        Heap::with_limits(BuiltinLimits::default())
    }

    /// An empty heap with the given limits.
    pub fn with_limits(limits: BuiltinLimits) -> Heap {
        let mut heap = Heap {
            lists: Vec::new(),
            maps: Vec::new(),
            free_lists: Vec::new(),
            free_maps: Vec::new(),
            elements_after_collection: 0,
            next_collection_at: 0,
            element_count: 0,
            collections: 0,
            limits,
            time_zone: chrono_tz::UTC,
            regex_cache: std::collections::HashMap::new(),
            json_values: Vec::new(),
            json_entries: Vec::new(),
            print_buffer: display::PrintBuffer::default(),
        };
        heap.plan_next_collection();
        heap
    }

    /// A compiled regular expression (Java syntax as far as the `regex` crate supports it:
    /// no look-around or back-references), cached for the run.
    pub fn regex(
        &mut self,
        pattern: &str,
        ignore_case: bool,
    ) -> Result<regex::Regex, BuiltinError> {
        let key = (pattern.to_owned(), ignore_case);
        if let Some(regex) = self.regex_cache.get(&key) {
            return Ok(regex.clone());
        }
        let regex = regex::RegexBuilder::new(pattern)
            .case_insensitive(ignore_case)
            .size_limit(1 << 20)
            .dfa_size_limit(1 << 22)
            .build()
            .map_err(|error| {
                BuiltinError::new(
                    crate::builtins::BuiltinErrorKind::InvalidPattern,
                    format!("Invalid regular expression \"{pattern}\": {error}"),
                )
            })?;
        if self.regex_cache.len() >= REGEX_CACHE_SIZE {
            self.regex_cache.clear();
        }
        self.regex_cache.insert(key, regex.clone());
        Ok(regex)
    }

    pub fn limits(&self) -> &BuiltinLimits {
        &self.limits
    }

    pub fn set_limits(&mut self, limits: BuiltinLimits) {
        self.limits = limits;
        self.plan_next_collection();
    }

    /// The time zone date-times of this run are in (the organization's zone in Zoho).
    /// `toString(pattern, zone)` converts from it.
    pub fn time_zone(&self) -> chrono_tz::Tz {
        self.time_zone
    }

    pub fn set_time_zone(&mut self, time_zone: chrono_tz::Tz) {
        self.time_zone = time_zone;
    }

    /// Number of list and map slots in use (created and not reclaimed).
    pub fn container_count(&self) -> usize {
        (self.lists.len() + self.maps.len())
            .saturating_sub(self.free_lists.len() + self.free_maps.len())
    }

    /// Approximate number of list elements and map entries stored (never decreases below
    /// the true count; removals are subtracted where cheap).
    pub fn element_count(&self) -> usize {
        self.element_count
    }

    /// How many times [`Heap::collect_garbage`] ran on this heap.
    pub fn collection_count(&self) -> usize {
        self.collections
    }

    /// Errors when the heap holds more elements than [`BuiltinLimits::max_heap_elements`].
    pub fn check_size(&self) -> Result<(), BuiltinError> {
        if self.element_count > self.limits.max_heap_elements {
            return Err(BuiltinError::heap_too_large(self.limits.max_heap_elements));
        }
        Ok(())
    }

    /// Errors when `text_length` bytes exceed [`BuiltinLimits::max_text_bytes`].
    pub fn check_text_length(&self, text_length: usize) -> Result<(), BuiltinError> {
        if text_length > self.limits.max_text_bytes {
            return Err(BuiltinError::text_too_long(
                text_length,
                self.limits.max_text_bytes,
            ));
        }
        Ok(())
    }

    /// A text value, checked against the text limit.
    pub fn make_text(&self, text: String) -> Result<Value, BuiltinError> {
        self.check_text_length(text.len())?;
        Ok(Value::Text(Text::from(text)))
    }

    // ----- lists -----

    /// Creates a list holding `elements`.
    pub fn new_list(&mut self, elements: Vec<Value>) -> ListId {
        self.element_count = self.element_count.saturating_add(elements.len());
        if let Some(free) = self.free_lists.pop()
            && let Some(slot) = self.lists.get_mut(free as usize)
        {
            *slot = elements;
            return ListId(free);
        }
        let id = ListId(u32::try_from(self.lists.len()).unwrap_or(u32::MAX));
        self.lists.push(elements);
        id
    }

    /// Creates a list and returns it as a value.
    pub fn new_list_value(&mut self, elements: Vec<Value>) -> Value {
        Value::List(self.new_list(elements))
    }

    /// The elements of a list. A handle from another heap reads as an empty list.
    pub fn list(&self, id: ListId) -> &[Value] {
        self.lists
            .get(id.0 as usize)
            .map_or(&[], |list| list.as_slice())
    }

    /// Mutable access to a list's elements. Callers that grow the list should call
    /// [`Heap::note_added`] and [`Heap::check_size`].
    pub fn list_mut(&mut self, id: ListId) -> Option<&mut Vec<Value>> {
        self.lists.get_mut(id.0 as usize)
    }

    /// Appends to a list (`list.add(e)`).
    pub fn list_push(&mut self, id: ListId, element: Value) -> Result<(), BuiltinError> {
        self.check_size()?;
        if let Some(list) = self.lists.get_mut(id.0 as usize) {
            list.push(element);
            self.element_count = self.element_count.saturating_add(1);
        }
        Ok(())
    }

    // ----- maps -----

    /// Creates an empty map.
    pub fn new_map(&mut self) -> MapId {
        self.new_map_from(MapEntries::default())
    }

    /// Creates an empty map with room for `capacity` entries.
    pub fn new_map_with_capacity(&mut self, capacity: usize) -> MapId {
        self.new_map_from(MapEntries::with_capacity(capacity))
    }

    /// Creates a map holding `entries`.
    pub fn new_map_from(&mut self, entries: MapEntries) -> MapId {
        self.element_count = self.element_count.saturating_add(entries.len());
        if let Some(free) = self.free_maps.pop()
            && let Some(slot) = self.maps.get_mut(free as usize)
        {
            *slot = entries;
            return MapId(free);
        }
        let id = MapId(u32::try_from(self.maps.len()).unwrap_or(u32::MAX));
        self.maps.push(entries);
        id
    }

    /// Creates an empty map and returns it as a value.
    pub fn new_map_value(&mut self) -> Value {
        Value::Map(self.new_map())
    }

    /// The entries of a map. A handle from another heap reads as an empty map.
    pub fn map(&self, id: MapId) -> &MapEntries {
        static EMPTY: std::sync::OnceLock<MapEntries> = std::sync::OnceLock::new();
        match self.maps.get(id.0 as usize) {
            Some(entries) => entries,
            None => EMPTY.get_or_init(MapEntries::default),
        }
    }

    /// Mutable access to a map's entries.
    pub fn map_mut(&mut self, id: MapId) -> Option<&mut MapEntries> {
        self.maps.get_mut(id.0 as usize)
    }

    /// `map.get(key)`: null for a missing key.
    pub fn map_get(&self, id: MapId, key: &str) -> Value {
        self.map(id).get(key).cloned().unwrap_or(Value::Null)
    }

    /// `map.put(key, value)`: overwrites an existing key, keeping its position.
    pub fn map_put(
        &mut self,
        id: MapId,
        key: impl Into<Text>,
        value: Value,
    ) -> Result<(), BuiltinError> {
        self.check_size()?;
        if let Some(entries) = self.maps.get_mut(id.0 as usize)
            && entries.insert(key.into(), value).is_none()
        {
            self.element_count = self.element_count.saturating_add(1);
        }
        Ok(())
    }

    /// Records that `count` elements were added through [`Heap::list_mut`] or
    /// [`Heap::map_mut`].
    pub fn note_added(&mut self, count: usize) {
        self.element_count = self.element_count.saturating_add(count);
    }

    /// Records that `count` elements were removed.
    pub fn note_removed(&mut self, count: usize) {
        self.element_count = self.element_count.saturating_sub(count);
    }

    /// The text a key is stored under (see [`decisions::MAP_KEYS_ARE_TEXT`]); a text key
    /// is shared, not copied.
    pub fn key_text(&self, key: &Value) -> Text {
        match key {
            Value::Text(text) => text.clone(),
            other => Text::from(self.display(other)),
        }
    }

    /// Like [`Heap::key_text`], borrowing text keys instead of copying them.
    pub fn key_str<'key>(&self, key: &'key Value) -> std::borrow::Cow<'key, str> {
        match key {
            Value::Text(text) => std::borrow::Cow::Borrowed(text.as_str()),
            other => std::borrow::Cow::Owned(self.display(other)),
        }
    }

    /// `map.put(key, value)` with any value as the key.
    pub fn map_put_value_key(
        &mut self,
        id: MapId,
        key: &Value,
        value: Value,
    ) -> Result<(), BuiltinError> {
        let key = self.key_text(key);
        self.map_put_text(id, key, value)
    }

    /// `map.put(key, value)` with a text key, in one hash lookup: an existing key keeps
    /// its position and text and gets the new value; a new key is checked against
    /// [`BuiltinLimits::max_heap_elements`] as [`Heap::map_put`] does.
    pub fn map_put_text(&mut self, id: MapId, key: Text, value: Value) -> Result<(), BuiltinError> {
        let Some(entries) = self.maps.get_mut(id.0 as usize) else {
            return Ok(());
        };
        match entries.locate(&key) {
            Ok(position) => {
                if let Some(slot) = entries.get_index_mut(position) {
                    *slot = value;
                }
            }
            Err(hash) => {
                if self.element_count > self.limits.max_heap_elements {
                    return Err(BuiltinError::heap_too_large(self.limits.max_heap_elements));
                }
                entries.push_new(key, value, hash);
                self.element_count = self.element_count.saturating_add(1);
            }
        }
        Ok(())
    }

    // ----- garbage collection -----

    /// Whether enough lists and maps were created since the last collection that one is
    /// worth its cost: the elements stored have doubled, and by at least
    /// [`decisions::COLLECTION_MINIMUM_GROWTH`]; or half the room left under
    /// [`BuiltinLimits::max_heap_elements`] after the last collection is used (see
    /// [`decisions`]).
    #[inline]
    pub fn wants_collection(&self) -> bool {
        self.element_count + self.container_count() > self.next_collection_at
    }

    fn plan_next_collection(&mut self) {
        let kept = self.elements_after_collection;
        let growth = (kept * 2).max(decisions::COLLECTION_MINIMUM_GROWTH);
        let room = self.limits.max_heap_elements.saturating_sub(kept) / 2;
        let near_limit = kept.saturating_add(room.max(decisions::COLLECTION_MINIMUM_SPACING));
        self.next_collection_at = growth.min(near_limit);
    }

    /// Reclaims every list and map that no root reaches, so their slots are reused and
    /// their elements stop counting against [`BuiltinLimits::max_heap_elements`]. Returns
    /// the number of lists and maps reclaimed.
    ///
    /// The caller must pass every value that is still in use (variables, the operand
    /// stack, values held by a suspended call): a handle the roots do not reach is dangling
    /// afterwards and may come to name a new list or map.
    pub fn collect_garbage<'value>(
        &mut self,
        roots: impl IntoIterator<Item = &'value Value>,
    ) -> usize {
        self.collections = self.collections.saturating_add(1);
        let mut live_lists = vec![false; self.lists.len()];
        let mut live_maps = vec![false; self.maps.len()];
        let mut pending: Vec<Value> = Vec::new();
        let mut visit = |value: &Value, pending: &mut Vec<Value>| match value {
            Value::List(id) => {
                if let Some(mark) = live_lists.get_mut(id.0 as usize)
                    && !*mark
                {
                    *mark = true;
                    pending.push(value.clone());
                }
            }
            Value::Map(id) => {
                if let Some(mark) = live_maps.get_mut(id.0 as usize)
                    && !*mark
                {
                    *mark = true;
                    pending.push(value.clone());
                }
            }
            _ => {}
        };
        for root in roots {
            visit(root, &mut pending);
        }
        while let Some(container) = pending.pop() {
            match container {
                Value::List(id) => {
                    for element in self.list(id) {
                        visit(element, &mut pending);
                    }
                }
                Value::Map(id) => {
                    for element in self.map(id).values() {
                        visit(element, &mut pending);
                    }
                }
                _ => {}
            }
        }
        // Slots already free are not reclaimed twice (their indices are in the free lists).
        let mut free_list_slots = vec![false; self.lists.len()];
        for &index in &self.free_lists {
            if let Some(free) = free_list_slots.get_mut(index as usize) {
                *free = true;
            }
        }
        let mut free_map_slots = vec![false; self.maps.len()];
        for &index in &self.free_maps {
            if let Some(free) = free_map_slots.get_mut(index as usize) {
                *free = true;
            }
        }
        let mut reclaimed = 0;
        let mut live_elements = 0usize;
        for (index, list) in self.lists.iter_mut().enumerate() {
            if live_lists.get(index).copied().unwrap_or(true) {
                live_elements += list.len();
            } else if !free_list_slots.get(index).copied().unwrap_or(true) {
                *list = Vec::new();
                self.free_lists
                    .push(u32::try_from(index).unwrap_or(u32::MAX));
                reclaimed += 1;
            }
        }
        for (index, map) in self.maps.iter_mut().enumerate() {
            if live_maps.get(index).copied().unwrap_or(true) {
                live_elements += map.len();
            } else if !free_map_slots.get(index).copied().unwrap_or(true) {
                *map = MapEntries::default();
                self.free_maps
                    .push(u32::try_from(index).unwrap_or(u32::MAX));
                reclaimed += 1;
            }
        }
        self.element_count = live_elements;
        self.elements_after_collection = live_elements
            + live_lists.iter().filter(|live| **live).count()
            + live_maps.iter().filter(|live| **live).count();
        self.plan_next_collection();
        reclaimed
    }

    // ----- iteration -----

    /// The items `for each x in value` visits: a list's elements, a map's keys (as text),
    /// or, for text, its single value. Null visits nothing. Errors for other values.
    pub fn iteration_items(&self, value: &Value) -> Result<Vec<Value>, BuiltinError> {
        match value {
            Value::List(id) => Ok(self.list(*id).to_vec()),
            Value::Map(id) => Ok(self.map(*id).keys().cloned().map(Value::Text).collect()),
            Value::Null => Ok(Vec::new()),
            other => Err(BuiltinError::type_mismatch(format!(
                "for each needs a list or a map, found {}",
                self.describe(other)
            ))),
        }
    }

    // ----- tree forms -----

    /// Copies a value and everything it reaches out of the heap. Cycles, nesting deeper than
    /// [`BuiltinLimits::max_nesting_depth`], and lists and maps beyond
    /// [`BuiltinLimits::max_heap_elements`] copies become null.
    pub fn detach(&self, value: &Value) -> OwnedValue {
        // A list holding the same list twice, nested 60 deep, is small in the heap but has
        // 2^60 nodes as a tree: the budget stops the copy at the heap's element limit.
        let mut budget = self.limits.max_heap_elements;
        self.detach_at(value, 0, &mut budget)
    }

    fn detach_at(&self, value: &Value, depth: usize, budget: &mut usize) -> OwnedValue {
        if matches!(value, Value::List(_) | Value::Map(_)) {
            if *budget == 0 {
                return OwnedValue::Null;
            }
            *budget -= 1;
        }
        match value {
            Value::Null => OwnedValue::Null,
            Value::Boolean(b) => OwnedValue::Boolean(*b),
            Value::Long(n) => OwnedValue::Long(*n),
            Value::Decimal(d) => OwnedValue::Decimal(*d),
            Value::Text(t) => OwnedValue::Text(t.as_str().to_owned()),
            Value::Date(d) => OwnedValue::Date(*d),
            Value::DateTime(d) => OwnedValue::DateTime(*d),
            Value::Time(t) => OwnedValue::Time(*t),
            Value::File(f) => OwnedValue::File(FileValue::clone(f)),
            Value::List(id) => {
                if depth >= self.limits.max_nesting_depth {
                    return OwnedValue::Null;
                }
                OwnedValue::List(
                    self.list(*id)
                        .iter()
                        .map(|element| self.detach_at(element, depth + 1, budget))
                        .collect(),
                )
            }
            Value::Map(id) => {
                if depth >= self.limits.max_nesting_depth {
                    return OwnedValue::Null;
                }
                OwnedValue::Map(
                    self.map(*id)
                        .iter()
                        .map(|(key, element)| {
                            (
                                key.as_str().to_owned(),
                                self.detach_at(element, depth + 1, budget),
                            )
                        })
                        .collect(),
                )
            }
        }
    }

    /// Moves a tree into the heap, creating new lists and maps.
    pub fn attach(&mut self, value: OwnedValue) -> Value {
        match value {
            OwnedValue::Null => Value::Null,
            OwnedValue::Boolean(b) => Value::Boolean(b),
            OwnedValue::Long(n) => Value::Long(n),
            OwnedValue::Decimal(d) => Value::Decimal(d),
            OwnedValue::Text(t) => Value::Text(Text::from(t)),
            OwnedValue::Date(d) => Value::Date(d),
            OwnedValue::DateTime(d) => Value::DateTime(d),
            OwnedValue::Time(t) => Value::Time(t),
            OwnedValue::File(f) => Value::File(Arc::new(f)),
            OwnedValue::List(elements) => {
                let elements = elements
                    .into_iter()
                    .map(|element| self.attach(element))
                    .collect();
                self.new_list_value(elements)
            }
            OwnedValue::Map(entries) => {
                let entries = entries
                    .into_iter()
                    .map(|(key, element)| (Text::from(key), self.attach(element)))
                    .collect();
                Value::Map(self.new_map_from(entries))
            }
        }
    }
}

impl Value {
    /// A text value (no limit check; use [`Heap::make_text`] for produced text).
    pub fn text(text: impl Into<Text>) -> Value {
        Value::Text(text.into())
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The text, when this is a text value.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(text) => Some(text.as_str()),
            _ => None,
        }
    }

    /// The Deluge type name used in messages ("text", "number", "map", ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Boolean(_) => "boolean",
            Value::Long(_) => "number",
            Value::Decimal(_) => "decimal",
            Value::Text(_) => "text",
            Value::Date(_) => "date",
            Value::DateTime(_) => "date-time",
            Value::Time(_) => "time",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::File(_) => "file",
        }
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Boolean(value)
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Long(value)
    }
}

impl From<Decimal> for Value {
    fn from(value: Decimal) -> Self {
        Value::Decimal(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::text(value)
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::text(value)
    }
}

mod base64_bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_collection_keeps_what_roots_reach_and_reuses_the_rest() {
        let mut heap = Heap::new();
        let kept = heap
            .parse_json_text(r#"{"a":[1,{"b":[2]}],"c":"x"}"#)
            .unwrap();
        for _ in 0..50 {
            heap.parse_json_text(r#"[{"garbage":[1,2,3]}]"#).unwrap();
        }
        let cycle = heap.new_map();
        heap.map_put(cycle, "self".to_owned(), Value::Map(cycle))
            .unwrap();
        let before = heap.container_count();
        let reclaimed = heap.collect_garbage([&kept]);
        assert_eq!(reclaimed, before - 4);
        assert_eq!(heap.container_count(), 4);
        assert_eq!(heap.element_count(), 6);
        assert_eq!(heap.display(&kept), r#"{"a":[1,{"b":[2]}],"c":"x"}"#);
        // Freed slots are reused before the arenas grow.
        let arena_size = heap.lists.len() + heap.maps.len();
        let fresh = heap.parse_json_text(r#"[{"new":true}]"#).unwrap();
        assert_eq!(heap.lists.len() + heap.maps.len(), arena_size);
        assert_eq!(heap.display(&fresh), r#"[{"new":true}]"#);
        // A second collection with both roots keeps both and frees nothing new.
        assert_eq!(heap.collect_garbage([&kept, &fresh]), 0);
        assert_eq!(heap.display(&kept), r#"{"a":[1,{"b":[2]}],"c":"x"}"#);
    }

    /// A run whose live data keeps growing collects whenever the heap asks, yet the
    /// collections stay logarithmic in the data kept: each one is due only after the live
    /// heap has doubled, so their total cost is linear.
    #[test]
    fn growing_live_data_collects_a_logarithmic_number_of_times() {
        let mut heap = Heap::new();
        let records = heap.new_list(Vec::new());
        let roots = [Value::List(records)];
        let record_count = 400_000;
        for number in 0..record_count {
            if heap.wants_collection() {
                heap.collect_garbage(roots.iter());
            }
            let record = heap.new_map();
            heap.map_put(record, "id", Value::Long(number)).unwrap();
            heap.map_put(record, "name", Value::text("contact"))
                .unwrap();
            heap.list_push(records, Value::Map(record)).unwrap();
        }
        // 400,000 records are 1.6 million elements and containers: 100,000 is the first
        // threshold, then doubling gives at most log2(16) + 1 collections.
        let collections = heap.collection_count();
        assert!(collections >= 1, "the heap never collected");
        assert!(
            collections <= 5,
            "{collections} collections for {record_count} live records"
        );
        assert_eq!(heap.list(records).len(), 400_000);
        assert_eq!(heap.container_count(), 400_001);
    }

    #[test]
    fn a_map_with_many_keys_prints_and_iterates_in_insertion_order() {
        let mut heap = Heap::new();
        let map = heap.new_map();
        // Keys of every length around the inline limit of texts, inserted out of sorted
        // order; overwriting keeps the first position.
        let keys: Vec<String> = (0..2_000)
            .map(|number| format!("{}{}", "k".repeat(number % 20), (number * 7919) % 2_000))
            .collect();
        for (position, key) in keys.iter().enumerate() {
            heap.map_put_value_key(
                map,
                &Value::text(key.as_str()),
                Value::Long(position as i64),
            )
            .unwrap();
        }
        heap.map_put_value_key(map, &Value::text(keys[0].as_str()), Value::Long(-1))
            .unwrap();
        heap.map_put_value_key(map, &Value::Long(5), Value::Boolean(true))
            .unwrap();
        let printed_keys: Vec<&str> = heap.map(map).keys().map(|key| key.as_str()).collect();
        let mut expected: Vec<&str> = keys.iter().map(String::as_str).collect();
        expected.push("5");
        assert_eq!(printed_keys, expected);
        let printed = heap.display(&Value::Map(map));
        assert!(printed.starts_with(&format!(r#"{{"{}":-1,"{}":1,"#, keys[0], keys[1])));
        assert!(printed.ends_with(r#","5":true}"#));
        assert!(matches!(heap.map_get(map, "5"), Value::Boolean(true)));
        assert_eq!(heap.element_count(), 2_001);
    }

    #[test]
    fn collection_is_wanted_only_after_real_growth() {
        let mut heap = Heap::new();
        assert!(!heap.wants_collection());
        let list = heap.new_list(Vec::new());
        for _ in 0..decisions::COLLECTION_MINIMUM_GROWTH {
            heap.list_push(list, Value::Long(1)).unwrap();
        }
        assert!(heap.wants_collection());
        heap.collect_garbage([&Value::List(list)]);
        assert!(!heap.wants_collection());
        heap.collect_garbage(std::iter::empty());
        assert_eq!(heap.element_count(), 0);
        assert!(heap.check_size().is_ok());
    }
}
