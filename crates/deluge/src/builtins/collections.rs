//! List (§11.4), map (§11.5) and collection (§11.6) methods. Lists and maps are changed in
//! place through the heap, so every holder of the handle sees the change.

use std::cmp::Ordering;

use rust_decimal::Decimal;

use super::arguments::Call;
use super::{BuiltinError, BuiltinErrorKind};
use crate::value::{Heap, ListId, MapEntries, MapId, Text, Value, decisions};

/// Global functions on collections (none beyond the method forms today).
pub(crate) fn function(_call: &mut Call<'_>, _name: &str) -> Option<Result<Value, BuiltinError>> {
    None
}

/// List and list-collection methods.
pub(crate) fn list_method(
    call: &mut Call<'_>,
    id: ListId,
    name: &str,
) -> Option<Result<Value, BuiltinError>> {
    Some(match name {
        "add" | "insert" | "addfirst" | "append" => list_add(call, id, name == "addfirst"),
        "addall" | "insertall" => list_add_all(call, id),
        "get" => list_get(call, id),
        "size" | "count" | "length" => call
            .count(0, 1)
            .map(|()| Value::Long(len_i64(call.heap.list(id).len()))),
        "contains" => list_contains(call, id).map(Value::Boolean),
        "notcontains" => list_contains(call, id).map(|found| Value::Boolean(!found)),
        "indexof" | "getkey" => list_index_of(call, id, false),
        "lastindexof" => list_index_of(call, id, true),
        "remove" | "deletekey" => list_remove(call, id),
        "removeelement" | "delete" => list_remove_element(call, id),
        "removeall" | "deleteall" | "deletekeys" => list_remove_all(call, id, name),
        "clear" => call.count(0, 0).map(|()| {
            let removed = call.heap.list(id).len();
            if let Some(list) = call.heap.list_mut(id) {
                list.clear();
            }
            call.heap.note_removed(removed);
            Value::Null
        }),
        "isempty" => call
            .count(0, 0)
            .map(|()| Value::Boolean(call.heap.list(id).is_empty())),
        "sort" => list_sort(call, id),
        "distinct" => list_distinct(call, id),
        "intersect" => list_intersect(call, id),
        "sublist" | "duplicate" => list_sublist(call, id, name),
        "update" | "set" => list_update(call, id),
        "getlastkey" => call.count(0, 0).map(|()| {
            let length = call.heap.list(id).len();
            if length == 0 {
                Value::Null
            } else {
                Value::Long(len_i64(length - 1))
            }
        }),
        "keys" => call.count(0, 0).map(|()| {
            let indices = (0..call.heap.list(id).len())
                .map(|index| Value::Long(len_i64(index)))
                .collect();
            call.heap.new_list_value(indices)
        }),
        "values" => call.count(0, 0).map(|()| {
            let elements = call.heap.list(id).to_vec();
            call.heap.new_list_value(elements)
        }),
        "sum" | "average" | "median" => list_statistic(call, id, name),
        "largest" | "smallest" | "max" | "min" => list_extreme(call, id, name),
        "nthlargest" | "nthsmallest" => list_nth(call, id, name == "nthlargest"),
        "reverse" => call.count(0, 0).map(|()| {
            let mut elements = call.heap.list(id).to_vec();
            elements.reverse();
            call.heap.new_list_value(elements)
        }),
        "toliststring" | "tolistString" => call.count(0, 0).map(|()| {
            let texts = call
                .heap
                .list(id)
                .iter()
                .map(|element| Value::text(call.heap.display(element)))
                .collect();
            call.heap.new_list_value(texts)
        }),
        "tostring" | "totext" | "join" if !call.arguments.is_empty() => list_join(call, id),
        "containskey" => call.count(1, 1).and_then(|()| {
            let index = call.long(0)?;
            Ok(Value::Boolean(
                usize::try_from(index).is_ok_and(|index| index < call.heap.list(id).len()),
            ))
        }),
        _ => return None,
    })
}

fn len_i64(length: usize) -> i64 {
    i64::try_from(length).unwrap_or(i64::MAX)
}

fn list_add(call: &mut Call<'_>, id: ListId, at_front: bool) -> Result<Value, BuiltinError> {
    call.count(1, usize::MAX)?;
    call.heap.check_size()?;
    let added = call.arguments.to_vec();
    let count = added.len();
    if let Some(list) = call.heap.list_mut(id) {
        if at_front {
            list.splice(0..0, added);
        } else {
            list.extend(added);
        }
    }
    call.heap.note_added(count);
    Ok(Value::Null)
}

fn list_add_all(call: &mut Call<'_>, id: ListId) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    call.heap.check_size()?;
    let added = match call.argument(0) {
        Value::List(other) => call.heap.list(*other).to_vec(),
        Value::Null => Vec::new(),
        _ => return Err(call.wrong_type(0, "a list")),
    };
    let count = added.len();
    if let Some(list) = call.heap.list_mut(id) {
        list.extend(added);
    }
    call.heap.note_added(count);
    Ok(Value::Null)
}

fn index_error(call: &Call<'_>, index: i64, length: usize) -> BuiltinError {
    BuiltinError::new(
        BuiltinErrorKind::IndexOutOfRange,
        format!(
            "Index greater than list size: {}({index}) on a list of {length} element(s)",
            call.display_name()
        ),
    )
}

fn checked_index(call: &Call<'_>, id: ListId, argument: usize) -> Result<usize, BuiltinError> {
    let index = call.long(argument)?;
    let length = call.heap.list(id).len();
    match usize::try_from(index) {
        Ok(position) if position < length => Ok(position),
        _ => Err(index_error(call, index, length)),
    }
}

fn list_get(call: &Call<'_>, id: ListId) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let position = checked_index(call, id, 0)?;
    Ok(call.heap.list(id)[position].clone())
}

fn list_contains(call: &Call<'_>, id: ListId) -> Result<bool, BuiltinError> {
    call.count(1, 1)?;
    let needle = call.argument(0);
    Ok(call
        .heap
        .list(id)
        .iter()
        .any(|element| call.heap.values_equal(element, needle)))
}

fn list_index_of(call: &Call<'_>, id: ListId, last: bool) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let needle = call.argument(0);
    let elements = call.heap.list(id);
    let matches = |element: &Value| call.heap.values_equal(element, needle);
    let found = if last {
        elements.iter().rposition(matches)
    } else {
        elements.iter().position(matches)
    };
    Ok(Value::Long(found.map_or(-1, len_i64)))
}

/// `remove(i)` removes by index and returns the removed element. A text argument that is
/// not a number removes that element by value instead (scripts do write
/// `list.remove("value")`).
fn list_remove(call: &mut Call<'_>, id: ListId) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    if let Value::Text(text) = call.argument(0)
        && crate::value::number::parse_long(text).is_none()
    {
        return list_remove_element(call, id);
    }
    let position = checked_index(call, id, 0)?;
    let removed = call
        .heap
        .list_mut(id)
        .map(|list| list.remove(position))
        .unwrap_or_default();
    call.heap.note_removed(1);
    Ok(removed)
}

fn list_remove_element(call: &mut Call<'_>, id: ListId) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let needle = call.argument(0).clone();
    let position = call
        .heap
        .list(id)
        .iter()
        .position(|element| call.heap.values_equal(element, &needle));
    if let Some(position) = position {
        if let Some(list) = call.heap.list_mut(id) {
            list.remove(position);
        }
        call.heap.note_removed(1);
        return Ok(Value::Boolean(true));
    }
    Ok(Value::Boolean(false))
}

fn list_remove_all(call: &mut Call<'_>, id: ListId, name: &str) -> Result<Value, BuiltinError> {
    call.count(0, 1)?;
    let before = call.heap.list(id).len();
    if !call.has(0) && name == "deleteall" {
        if let Some(list) = call.heap.list_mut(id) {
            list.clear();
        }
        call.heap.note_removed(before);
        return Ok(Value::Null);
    }
    let heap: &Heap = call.heap;
    let to_remove = match call.argument(0) {
        Value::List(other) => heap.list(*other).to_vec(),
        single => vec![single.clone()],
    };
    let kept: Vec<Value> = if name == "deletekeys" {
        let indices: Vec<usize> = to_remove
            .iter()
            .filter_map(|index| match index {
                Value::Long(n) => usize::try_from(*n).ok(),
                _ => None,
            })
            .collect();
        heap.list(id)
            .iter()
            .enumerate()
            .filter(|(index, _)| !indices.contains(index))
            .map(|(_, element)| element.clone())
            .collect()
    } else {
        let membership = Membership::new(heap, &to_remove);
        heap.list(id)
            .iter()
            .filter(|element| !membership.contains(element))
            .cloned()
            .collect()
    };
    let removed = before - kept.len();
    if let Some(list) = call.heap.list_mut(id) {
        *list = kept;
    }
    call.heap.note_removed(removed);
    Ok(Value::Null)
}

/// Natural order for sorting mixed lists: null, booleans, numbers, date-times, times,
/// text, then lists, maps and files (kept in their original order).
pub(crate) fn natural_order(heap: &Heap, left: &Value, right: &Value) -> Ordering {
    fn rank(value: &Value) -> u8 {
        match value {
            Value::Null => 0,
            Value::Boolean(_) => 1,
            Value::Long(_) | Value::Decimal(_) => 2,
            Value::Date(_) | Value::DateTime(_) => 3,
            Value::Time(_) => 4,
            Value::Text(_) => 5,
            Value::List(_) => 6,
            Value::Map(_) => 7,
            Value::File(_) => 8,
        }
    }
    let (left_rank, right_rank) = (rank(left), rank(right));
    if left_rank != right_rank {
        return left_rank.cmp(&right_rank);
    }
    heap.compare(left, right).unwrap_or(Ordering::Equal)
}

/// `sort([ascending])` sorts the list in place and returns it, so both `list.sort();` and
/// `sorted = list.sort();` work.
fn list_sort(call: &mut Call<'_>, id: ListId) -> Result<Value, BuiltinError> {
    call.count(0, 1)?;
    let ascending = call.optional_boolean(0, true)?;
    let heap: &Heap = call.heap;
    let elements = heap.list(id);
    let direction = |order: Ordering| if ascending { order } else { order.reverse() };
    // Lists of only numbers or only text (the usual case) skip the general comparison.
    // Equal numbers and equal texts cannot be told apart, so an unstable sort of the bare
    // numbers or texts gives the same list as a stable sort of the values.
    let sorted: Vec<Value> = if let Some(mut numbers) = elements
        .iter()
        .map(|element| match element {
            Value::Long(number) => Some(*number),
            _ => None,
        })
        .collect::<Option<Vec<i64>>>()
    {
        numbers.sort_unstable();
        if !ascending {
            numbers.reverse();
        }
        numbers.into_iter().map(Value::Long).collect()
    } else if let Some(mut texts) = elements
        .iter()
        .map(|element| match element {
            Value::Text(text) => Some(text),
            _ => None,
        })
        .collect::<Option<Vec<&Text>>>()
    {
        texts.sort_unstable_by(|a, b| direction(a.as_str().cmp(b.as_str())));
        texts.into_iter().cloned().map(Value::Text).collect()
    } else {
        let mut elements = elements.to_vec();
        elements.sort_by(|a, b| direction(natural_order(heap, a, b)));
        elements
    };
    if let Some(list) = call.heap.list_mut(id) {
        *list = sorted;
    }
    Ok(Value::List(id))
}

/// A hashable stand-in for a scalar value, equal exactly when `values_equal` says so.
#[derive(PartialEq, Eq, Hash)]
enum HashKey<'value> {
    Null,
    Boolean(bool),
    Whole(i64),
    Fraction(Decimal),
    Text(&'value str),
    Instant(chrono::NaiveDateTime),
    Time(chrono::NaiveTime),
}

fn hash_key(value: &Value) -> Option<HashKey<'_>> {
    Some(match value {
        Value::Null => HashKey::Null,
        Value::Boolean(b) => HashKey::Boolean(*b),
        Value::Long(n) => HashKey::Whole(*n),
        Value::Decimal(d) => match i64::try_from(*d) {
            Ok(whole) if d.fract().is_zero() => HashKey::Whole(whole),
            _ => HashKey::Fraction(d.normalize()),
        },
        Value::Text(text) => HashKey::Text(text.as_str()),
        Value::Date(d) => HashKey::Instant(d.and_time(chrono::NaiveTime::MIN)),
        Value::DateTime(d) => HashKey::Instant(*d),
        Value::Time(t) => HashKey::Time(*t),
        Value::List(_) | Value::Map(_) | Value::File(_) => return None,
    })
}

/// Keeps the first of each group of equal values, in order. Hashes when every value is a
/// scalar (linear time); compares pairwise otherwise.
fn distinct_values(heap: &Heap, values: &[Value]) -> Vec<Value> {
    // Only numbers, or only texts (the usual lists): hashed on the bare number or text,
    // which is equality for values of one kind.
    if values.iter().all(|value| matches!(value, Value::Long(_))) {
        return distinct_by_key(values, |value| match value {
            Value::Long(number) => Some(*number),
            _ => None,
        });
    }
    if values.iter().all(|value| matches!(value, Value::Text(_))) {
        return distinct_by_key(values, |value| match value {
            Value::Text(text) => Some(text.as_str()),
            _ => None,
        });
    }
    if values.iter().all(|value| hash_key(value).is_some()) {
        return distinct_by_key(values, hash_key);
    }
    let mut distinct: Vec<Value> = Vec::new();
    for element in values {
        if !distinct.iter().any(|kept| heap.values_equal(kept, element)) {
            distinct.push(element.clone());
        }
    }
    distinct
}

/// The first value of each key, in order. `key` gives a key for every value the caller
/// checked; a value without one is dropped, which the callers rule out beforehand.
fn distinct_by_key<'values, Key: std::hash::Hash + Eq>(
    values: &'values [Value],
    key: impl Fn(&'values Value) -> Option<Key>,
) -> Vec<Value> {
    let mut seen = std::collections::HashSet::with_capacity_and_hasher(
        values.len(),
        crate::value::MapHasher::default(),
    );
    values
        .iter()
        .filter(|value| key(value).is_some_and(|key| seen.insert(key)))
        .cloned()
        .collect()
}

/// Membership test over `values`, hashed when they are all scalars.
struct Membership<'values> {
    heap: &'values Heap,
    values: &'values [Value],
    hashed: Option<std::collections::HashSet<HashKey<'values>, crate::value::MapHasher>>,
}

impl<'values> Membership<'values> {
    fn new(heap: &'values Heap, values: &'values [Value]) -> Self {
        let hashed = values
            .iter()
            .map(hash_key)
            .collect::<Option<std::collections::HashSet<_, crate::value::MapHasher>>>();
        Membership {
            heap,
            values,
            hashed,
        }
    }

    fn contains(&self, value: &Value) -> bool {
        match (&self.hashed, hash_key(value)) {
            (Some(set), Some(key)) => set.contains(&key),
            (Some(_), None) => false,
            (None, _) => self
                .values
                .iter()
                .any(|candidate| self.heap.values_equal(candidate, value)),
        }
    }
}

fn list_distinct(call: &mut Call<'_>, id: ListId) -> Result<Value, BuiltinError> {
    call.count(0, 0)?;
    let distinct = distinct_values(call.heap, call.heap.list(id));
    Ok(call.heap.new_list_value(distinct))
}

fn list_intersect(call: &mut Call<'_>, id: ListId) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let Value::List(other) = call.argument(0) else {
        return Err(call.wrong_type(0, "a list"));
    };
    let heap: &Heap = call.heap;
    let membership = Membership::new(heap, heap.list(*other));
    let common: Vec<Value> = heap
        .list(id)
        .iter()
        .filter(|element| membership.contains(element))
        .cloned()
        .collect();
    let common = distinct_values(heap, &common);
    Ok(call.heap.new_list_value(common))
}

fn list_sublist(call: &mut Call<'_>, id: ListId, name: &str) -> Result<Value, BuiltinError> {
    call.count(if name == "duplicate" { 0 } else { 1 }, 2)?;
    let length = call.heap.list(id).len();
    let start = call.optional_long(0)?.unwrap_or(0);
    // `to` is exclusive (decisions::SUBLIST_END_EXCLUSIVE).
    let end = call.optional_long(1)?.unwrap_or(len_i64(length));
    let valid = |index: i64| usize::try_from(index).ok().filter(|i| *i <= length);
    let (Some(start_index), Some(end_index)) = (valid(start), valid(end)) else {
        return Err(index_error(call, start.max(end), length));
    };
    if end_index < start_index {
        return Err(BuiltinError::new(
            BuiltinErrorKind::IndexOutOfRange,
            format!(
                "{}: the end index {end} is before the start index {start}",
                call.display_name()
            ),
        ));
    }
    let elements = call.heap.list(id)[start_index..end_index].to_vec();
    let list = call.heap.new_list_value(elements);
    call.heap.check_size()?;
    Ok(list)
}

fn list_update(call: &mut Call<'_>, id: ListId) -> Result<Value, BuiltinError> {
    call.count(2, 2)?;
    let position = checked_index(call, id, 0)?;
    let value = call.argument(1).clone();
    if let Some(slot) = call
        .heap
        .list_mut(id)
        .and_then(|list| list.get_mut(position))
    {
        *slot = value;
    }
    Ok(Value::Null)
}

fn numeric_elements(call: &Call<'_>, id: ListId) -> Result<Vec<Decimal>, BuiltinError> {
    let mut numbers = Vec::new();
    for element in call.heap.list(id) {
        match element {
            Value::Long(n) => numbers.push(Decimal::from(*n)),
            Value::Decimal(d) => numbers.push(*d),
            Value::Null => {}
            Value::Text(text) => match crate::value::number::parse_decimal(text) {
                Some(number) => numbers.push(number),
                None => {
                    return Err(BuiltinError::type_mismatch(format!(
                        "{} needs a list of numbers, found {}",
                        call.display_name(),
                        call.heap.describe(element)
                    )));
                }
            },
            other => {
                return Err(BuiltinError::type_mismatch(format!(
                    "{} needs a list of numbers, found {}",
                    call.display_name(),
                    call.heap.describe(other)
                )));
            }
        }
    }
    Ok(numbers)
}

fn all_longs(call: &Call<'_>, id: ListId) -> bool {
    call.heap
        .list(id)
        .iter()
        .all(|element| matches!(element, Value::Long(_) | Value::Null))
}

fn decimal_value(value: Decimal, as_long: bool) -> Value {
    if as_long
        && value.fract().is_zero()
        && let Ok(whole) = i64::try_from(value)
    {
        return Value::Long(whole);
    }
    Value::Decimal(value)
}

fn list_statistic(call: &Call<'_>, id: ListId, name: &str) -> Result<Value, BuiltinError> {
    call.count(0, 0)?;
    let numbers = numeric_elements(call, id)?;
    let longs = all_longs(call, id);
    match name {
        "sum" => {
            let mut total = Decimal::ZERO;
            for number in &numbers {
                total = total
                    .checked_add(*number)
                    .ok_or_else(BuiltinError::overflow)?;
            }
            Ok(decimal_value(total, longs))
        }
        "average" => {
            if numbers.is_empty() {
                return Ok(Value::Null);
            }
            let mut total = Decimal::ZERO;
            for number in &numbers {
                total = total
                    .checked_add(*number)
                    .ok_or_else(BuiltinError::overflow)?;
            }
            let count = Decimal::from(numbers.len());
            Ok(Value::Decimal(
                total
                    .checked_div(count)
                    .ok_or_else(BuiltinError::overflow)?
                    .round_dp(decisions::DIVISION_SCALE)
                    .normalize(),
            ))
        }
        _ => {
            let mut sorted = numbers;
            sorted.sort();
            let middle = sorted.len() / 2;
            Ok(match sorted.len() {
                0 => Value::Null,
                length if length % 2 == 1 => decimal_value(sorted[middle], longs),
                _ => {
                    let pair = sorted[middle - 1]
                        .checked_add(sorted[middle])
                        .ok_or_else(BuiltinError::overflow)?;
                    decimal_value((pair / Decimal::TWO).normalize(), longs)
                }
            })
        }
    }
}

fn list_extreme(call: &Call<'_>, id: ListId, name: &str) -> Result<Value, BuiltinError> {
    call.count(0, 0)?;
    let largest = matches!(name, "largest" | "max");
    let mut best: Option<&Value> = None;
    for element in call.heap.list(id) {
        if element.is_null() {
            continue;
        }
        best = Some(match best {
            None => element,
            Some(current) => {
                let order = call.heap.compare(element, current)?;
                if (largest && order == Ordering::Greater) || (!largest && order == Ordering::Less)
                {
                    element
                } else {
                    current
                }
            }
        });
    }
    Ok(best.cloned().unwrap_or(Value::Null))
}

fn list_nth(call: &Call<'_>, id: ListId, largest: bool) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let n = call.long(0)?;
    let mut elements: Vec<Value> = call
        .heap
        .list(id)
        .iter()
        .filter(|element| !element.is_null())
        .cloned()
        .collect();
    let mut failure = None;
    elements.sort_by(|a, b| match call.heap.compare(a, b) {
        Ok(order) => order,
        Err(error) => {
            failure = Some(error);
            Ordering::Equal
        }
    });
    if let Some(error) = failure {
        return Err(error);
    }
    // Distinct values, as Zoho's nthLargest counts each value once.
    elements.dedup_by(|a, b| call.heap.values_equal(a, b));
    if largest {
        elements.reverse();
    }
    let position = usize::try_from(n.saturating_sub(1)).ok().filter(|_| n >= 1);
    match position.and_then(|position| elements.get(position)) {
        Some(element) => Ok(element.clone()),
        None => Err(index_error(call, n, elements.len())),
    }
}

fn list_join(call: &Call<'_>, id: ListId) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let separator = call.text(0)?;
    let mut output = String::new();
    for (position, element) in call.heap.list(id).iter().enumerate() {
        if position > 0 {
            output.push_str(&separator);
        }
        output.push_str(&call.heap.to_text(element)?);
        call.heap.check_text_length(output.len())?;
    }
    Ok(Value::text(output))
}

/// Map and map-collection methods.
pub(crate) fn map_method(
    call: &mut Call<'_>,
    id: MapId,
    name: &str,
) -> Option<Result<Value, BuiltinError>> {
    Some(match name {
        "put" | "update" => map_put(call, id),
        "insert" | "putall" | "insertall" => map_put_all(call, id),
        "get" | "getjson" => call.count(1, 1).map(|()| {
            let key = call.heap.key_str(call.argument(0));
            call.heap.map_get(id, &key)
        }),
        "keys" => call.count(0, 0).map(|()| {
            let keys = call.heap.map(id).keys().cloned().map(Value::Text).collect();
            call.heap.new_list_value(keys)
        }),
        "values" => call.count(0, 0).map(|()| {
            let values = call.heap.map(id).values().cloned().collect();
            call.heap.new_list_value(values)
        }),
        "containkey" | "containskey" | "contains" => call.count(1, 1).map(|()| {
            let key = call.heap.key_str(call.argument(0));
            Value::Boolean(call.heap.map(id).contains_key(key.as_ref()))
        }),
        "notcontains" => call.count(1, 1).map(|()| {
            let key = call.heap.key_str(call.argument(0));
            Value::Boolean(!call.heap.map(id).contains_key(key.as_ref()))
        }),
        "containvalue" | "containsvalue" => call.count(1, 1).map(|()| {
            let needle = call.argument(0);
            Value::Boolean(
                call.heap
                    .map(id)
                    .values()
                    .any(|value| call.heap.values_equal(value, needle)),
            )
        }),
        "remove" | "delete" | "deletekey" => call.count(1, 1).map(|()| {
            let key = call.heap.key_text(call.argument(0));
            let removed = call
                .heap
                .map_mut(id)
                .and_then(|entries| entries.shift_remove(&key));
            if removed.is_some() {
                call.heap.note_removed(1);
            }
            removed.unwrap_or_default()
        }),
        "deletekeys" | "removeall" | "deleteall" => map_remove_keys(call, id),
        "clear" => call.count(0, 0).map(|()| {
            let removed = call.heap.map(id).len();
            if let Some(entries) = call.heap.map_mut(id) {
                entries.clear();
            }
            call.heap.note_removed(removed);
            Value::Null
        }),
        "isempty" => call
            .count(0, 0)
            .map(|()| Value::Boolean(call.heap.map(id).is_empty())),
        "size" | "count" | "length" => call
            .count(0, 0)
            .map(|()| Value::Long(len_i64(call.heap.map(id).len()))),
        "getkey" => call.count(1, 1).map(|()| {
            let needle = call.argument(0);
            call.heap
                .map(id)
                .iter()
                .find(|(_, value)| call.heap.values_equal(value, needle))
                .map_or(Value::Null, |(key, _)| Value::Text(key.clone()))
        }),
        "getlastkey" => call.count(0, 0).map(|()| {
            call.heap
                .map(id)
                .last()
                .map_or(Value::Null, |(key, _)| Value::Text(key.clone()))
        }),
        "sortkey" | "sort" => map_sort(call, id, name == "sortkey"),
        "duplicate" | "distinct" => call.count(0, 0).map(|()| {
            let entries = call.heap.map(id).clone();
            Value::Map(call.heap.new_map_from(entries))
        }),
        "intersect" => map_intersect(call, id),
        _ => return None,
    })
}

fn map_put(call: &mut Call<'_>, id: MapId) -> Result<Value, BuiltinError> {
    call.count(2, 2)?;
    let value = call.argument(1).clone();
    let arguments = call.arguments;
    call.heap
        .map_put_value_key(id, arguments.first().unwrap_or(&Value::Null), value)?;
    Ok(Value::Null)
}

/// `putAll(map)`, and a collection's `insert("k": v)` (the VM passes the pairs as one map).
fn map_put_all(call: &mut Call<'_>, id: MapId) -> Result<Value, BuiltinError> {
    if call.arguments.len() == 2 && call.name == "insert" {
        return map_put(call, id);
    }
    call.count(1, 1)?;
    let entries: MapEntries = match call.argument(0) {
        Value::Map(other) => call.heap.map(*other).clone(),
        Value::Null => MapEntries::default(),
        _ => {
            return Err(BuiltinError::type_mismatch(format!(
                "Argument 1 of {} must be a map (or key: value pairs), found {}. This collection holds key-value pairs; to collect plain elements create it with List() or Collection(element, ...)",
                call.display_name(),
                call.heap.describe(call.argument(0))
            )));
        }
    };
    for (key, value) in entries {
        call.heap.map_put(id, key, value)?;
    }
    Ok(Value::Null)
}

fn map_remove_keys(call: &mut Call<'_>, id: MapId) -> Result<Value, BuiltinError> {
    call.count(0, 1)?;
    let keys: Vec<Text> = match call.argument(0) {
        Value::Null => call.heap.map(id).keys().cloned().collect(),
        Value::List(list) => call
            .heap
            .list(*list)
            .iter()
            .map(|key| call.heap.key_text(key))
            .collect(),
        single => vec![call.heap.key_text(single)],
    };
    let mut removed = 0;
    if let Some(entries) = call.heap.map_mut(id) {
        for key in keys {
            if entries.shift_remove(&key).is_some() {
                removed += 1;
            }
        }
    }
    call.heap.note_removed(removed);
    Ok(Value::Null)
}

fn map_sort(call: &mut Call<'_>, id: MapId, by_key: bool) -> Result<Value, BuiltinError> {
    call.count(0, 1)?;
    let ascending = call.optional_boolean(0, true)?;
    let mut entries: Vec<(Text, Value)> = call
        .heap
        .map(id)
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let heap: &Heap = call.heap;
    entries.sort_by(|(key_a, value_a), (key_b, value_b)| {
        let order = if by_key {
            key_a.cmp(key_b)
        } else {
            natural_order(heap, value_a, value_b)
        };
        if ascending { order } else { order.reverse() }
    });
    if let Some(map) = call.heap.map_mut(id) {
        *map = entries.into_iter().collect();
    }
    Ok(Value::Map(id))
}

fn map_intersect(call: &mut Call<'_>, id: MapId) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let Value::Map(other) = call.argument(0) else {
        return Err(call.wrong_type(0, "a map"));
    };
    let other = call.heap.map(*other);
    let common: MapEntries = call
        .heap
        .map(id)
        .iter()
        .filter(|(key, value)| {
            other
                .get(key.as_str())
                .is_some_and(|o| call.heap.values_equal(o, value))
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Ok(Value::Map(call.heap.new_map_from(common)))
}
