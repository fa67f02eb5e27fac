//! Conversions (`toLong`, `toDecimal`, `toString`, `toMap`, `toList`, `toJSONList`,
//! `getJSON`), null and type checks (reference §11.7), and the global functions `ifnull`,
//! `if`, `Map()`, `List()` and `Collection()`.

use super::arguments::Call;
use super::{BuiltinError, BuiltinErrorKind, datetime};
use crate::value::{Value, number};

/// Global conversion and construction functions.
pub(crate) fn function(call: &mut Call<'_>, name: &str) -> Option<Result<Value, BuiltinError>> {
    Some(match name {
        "ifnull" | "nvl" => call.count(2, 2).map(|()| match call.argument(0) {
            Value::Null => call.argument(1).clone(),
            value => value.clone(),
        }),
        "if" => if_function(call),
        "map" => new_map(call),
        "list" => new_list(call),
        "collection" => new_collection(call),
        _ => return None,
    })
}

fn if_function(call: &Call<'_>) -> Result<Value, BuiltinError> {
    call.count(3, 3)?;
    let condition = call.heap.condition(call.argument(0))?;
    Ok(call.argument(if condition { 1 } else { 2 }).clone())
}

fn new_map(call: &mut Call<'_>) -> Result<Value, BuiltinError> {
    call.count(0, 1)?;
    let entries = match call.argument(0) {
        Value::Null => Default::default(),
        Value::Map(id) => call.heap.map(*id).clone(),
        Value::Text(text) => {
            let text = text.clone();
            return to_map_from_text(call, &text);
        }
        _ => return Err(call.wrong_type(0, "a map")),
    };
    let id = call.heap.new_map_from(entries);
    call.heap.check_size()?;
    Ok(Value::Map(id))
}

fn new_list(call: &mut Call<'_>) -> Result<Value, BuiltinError> {
    let elements = match call.arguments {
        [] => Vec::new(),
        [Value::List(id)] => call.heap.list(*id).to_vec(),
        other => other.to_vec(),
    };
    let list = call.heap.new_list_value(elements);
    call.heap.check_size()?;
    Ok(list)
}

/// `Collection()` is a map; `Collection(map)` copies the map's entries (the VM passes
/// `Collection("k":v, ...)` as one map); `Collection(e1, e2, ...)` is a list (see
/// `decisions::COLLECTION_KIND`).
fn new_collection(call: &mut Call<'_>) -> Result<Value, BuiltinError> {
    match call.arguments {
        [] => Ok(call.heap.new_map_value()),
        [Value::Map(id)] => {
            let entries = call.heap.map(*id).clone();
            let id = call.heap.new_map_from(entries);
            call.heap.check_size()?;
            Ok(Value::Map(id))
        }
        [Value::List(id)] => {
            let elements = call.heap.list(*id).to_vec();
            let list = call.heap.new_list_value(elements);
            call.heap.check_size()?;
            Ok(list)
        }
        elements => {
            let elements = elements.to_vec();
            let list = call.heap.new_list_value(elements);
            call.heap.check_size()?;
            Ok(list)
        }
    }
}

/// Methods on null: the checks answer, `toString()` gives empty text; anything else is the
/// caller's "Null value occurred" error.
pub(crate) fn null_method(call: &mut Call<'_>, name: &str) -> Option<Result<Value, BuiltinError>> {
    Some(match name {
        "isnull" | "isblank" | "isempty" => call.count(0, 0).map(|()| Value::Boolean(true)),
        "istext" | "isnumber" | "isdecimal" | "isdate" | "isdatetime" | "isfile" | "islist"
        | "ismap" | "isboolean" => call.count(0, 0).map(|()| Value::Boolean(false)),
        "tostring" | "totext" => call.count(0, 2).map(|()| Value::text("")),
        _ => return None,
    })
}

/// Methods every value has (after the type's own methods were tried).
pub(crate) fn common_method(
    call: &mut Call<'_>,
    receiver: &Value,
    name: &str,
) -> Option<Result<Value, BuiltinError>> {
    Some(match name {
        "isnull" => call.count(0, 0).map(|()| Value::Boolean(false)),
        "isempty" => call
            .count(0, 0)
            .map(|()| Value::Boolean(is_empty(call, receiver))),
        "isblank" => call
            .count(0, 0)
            .map(|()| Value::Boolean(is_blank(call, receiver))),
        "istext" => call
            .count(0, 0)
            .map(|()| Value::Boolean(matches!(receiver, Value::Text(_)))),
        "isnumber" => call.count(0, 0).map(|()| {
            Value::Boolean(match receiver {
                Value::Long(_) | Value::Decimal(_) => true,
                Value::Text(text) => number::parse_decimal(text).is_some(),
                _ => false,
            })
        }),
        "isdecimal" => call.count(0, 0).map(|()| {
            Value::Boolean(match receiver {
                Value::Decimal(_) => true,
                Value::Text(text) => text.contains('.') && number::parse_decimal(text).is_some(),
                _ => false,
            })
        }),
        "isdate" | "isdatetime" => call.count(0, 0).map(|()| {
            Value::Boolean(match receiver {
                Value::Date(_) | Value::DateTime(_) => true,
                Value::Text(text) => crate::value::datetime::parse_default(
                    text,
                    crate::value::datetime::Zone::Named(call.heap.time_zone()),
                )
                .is_some(),
                _ => false,
            })
        }),
        "isfile" => call
            .count(0, 0)
            .map(|()| Value::Boolean(matches!(receiver, Value::File(_)))),
        "islist" => call
            .count(0, 0)
            .map(|()| Value::Boolean(matches!(receiver, Value::List(_)))),
        "ismap" => call
            .count(0, 0)
            .map(|()| Value::Boolean(matches!(receiver, Value::Map(_)))),
        "isboolean" => call
            .count(0, 0)
            .map(|()| Value::Boolean(matches!(receiver, Value::Boolean(_)))),
        "tostring" | "totext" => call
            .count(0, 0)
            .and_then(|()| call.heap.to_text_value(receiver))
            .map(Value::Text),
        "tolong" | "tonumber" | "tobigint" | "toint" => to_long(call, receiver),
        "todecimal" => to_decimal(call, receiver),
        "toboolean" => call.count(0, 0).and_then(|()| match receiver {
            Value::Boolean(b) => Ok(Value::Boolean(*b)),
            _ => call.heap.condition(receiver).map(Value::Boolean),
        }),
        "tolist" | "tocollection" => call.count(0, 1).map(|()| match receiver {
            Value::List(id) => Value::List(*id),
            other => {
                let element = other.clone();
                call.heap.new_list_value(vec![element])
            }
        }),
        "tomap" => call.count(0, 0).and_then(|()| match receiver {
            Value::Map(id) => Ok(Value::Map(*id)),
            _ => Err(cannot_cast(call, receiver, "MAP")),
        }),
        "tojsonlist" => call.count(0, 0).and_then(|()| match receiver {
            Value::List(id) => Ok(Value::List(*id)),
            _ => Err(cannot_cast(call, receiver, "LIST")),
        }),
        _ => return None,
    })
}

/// Conversions of text (after the text methods were tried).
pub(crate) fn text_conversion(
    call: &mut Call<'_>,
    text: &str,
    name: &str,
) -> Option<Result<Value, BuiltinError>> {
    Some(match name {
        "tomap" => call.count(0, 0).and_then(|()| to_map_from_text(call, text)),
        "tojsonlist" => call.count(0, 0).and_then(|()| {
            if text.trim().is_empty() {
                return Ok(call.heap.new_list_value(Vec::new()));
            }
            match call.heap.parse_json_text(text)? {
                list @ Value::List(_) => Ok(list),
                _ => Err(cannot_cast(call, &Value::text(text), "LIST")),
            }
        }),
        "getjson" => get_json_from_text(call, text),
        "tostring" | "totext" => call.count(0, 2).and_then(|()| {
            // Text that holds a date is formatted when a pattern is given
            // (`dateField.toString("dd/MM/yyyy")` on a field that arrived as text).
            if call.has(0) && !call.argument(0).is_null() {
                let zone = crate::value::datetime::Zone::Named(call.heap.time_zone());
                if let Some(parsed) = crate::value::datetime::parse_default(text, zone) {
                    let date = if parsed.has_time {
                        Value::DateTime(parsed.local)
                    } else {
                        Value::Date(parsed.local.date())
                    };
                    return super::call_method(call.heap, &date, "tostring", call.arguments);
                }
            }
            Ok(Value::text(text))
        }),
        "todate" | "totime" | "todatetime" | "totimestamp" => {
            return datetime::text_to_date(call, text, name);
        }
        _ => return None,
    })
}

fn to_map_from_text(call: &mut Call<'_>, text: &str) -> Result<Value, BuiltinError> {
    if text.trim().is_empty() {
        return Ok(call.heap.new_map_value());
    }
    match call.heap.parse_json_text(text)? {
        map @ Value::Map(_) => Ok(map),
        _ => Err(cannot_cast(call, &Value::text(text), "MAP")),
    }
}

fn get_json_from_text(call: &mut Call<'_>, text: &str) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let key = call.heap.key_text(call.argument(0));
    match call.heap.parse_json_text(text)? {
        Value::Map(id) => Ok(call.heap.map_get(id, &key)),
        Value::List(id) => match number::parse_long(&key) {
            Some(index) => Ok(usize::try_from(index)
                .ok()
                .and_then(|index| call.heap.list(id).get(index).cloned())
                .unwrap_or(Value::Null)),
            None => Ok(Value::Null),
        },
        _ => Ok(Value::Null),
    }
}

fn cannot_cast(call: &Call<'_>, value: &Value, target: &str) -> BuiltinError {
    let kind = match target {
        "MAP" | "LIST" => BuiltinErrorKind::InvalidJson,
        _ => BuiltinErrorKind::InvalidNumber,
    };
    BuiltinError::new(
        kind,
        format!("Cannot cast to {target}: {}", call.heap.describe(value)),
    )
}

fn to_long(call: &Call<'_>, receiver: &Value) -> Result<Value, BuiltinError> {
    call.count(0, 0)?;
    match receiver {
        Value::Long(n) => Ok(Value::Long(*n)),
        Value::Decimal(d) => i64::try_from(d.trunc())
            .map(Value::Long)
            .map_err(|_| BuiltinError::overflow()),
        Value::Boolean(b) => Ok(Value::Long(i64::from(*b))),
        Value::Text(text) => number::parse_long(text)
            .map(Value::Long)
            .ok_or_else(|| cannot_cast(call, receiver, "BIGINT")),
        Value::Date(d) => Ok(Value::Long(
            d.and_time(chrono::NaiveTime::MIN)
                .and_utc()
                .timestamp_millis(),
        )),
        Value::DateTime(d) => Ok(Value::Long(d.and_utc().timestamp_millis())),
        other => Err(cannot_cast(call, other, "BIGINT")),
    }
}

fn to_decimal(call: &Call<'_>, receiver: &Value) -> Result<Value, BuiltinError> {
    call.count(0, 0)?;
    match receiver {
        Value::Long(n) => Ok(Value::Decimal((*n).into())),
        Value::Decimal(d) => Ok(Value::Decimal(*d)),
        Value::Text(text) => number::parse_decimal(text)
            .map(Value::Decimal)
            .ok_or_else(|| cannot_cast(call, receiver, "DECIMAL")),
        other => Err(cannot_cast(call, other, "DECIMAL")),
    }
}

fn is_empty(call: &Call<'_>, value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Text(text) => text.is_empty(),
        Value::List(id) => call.heap.list(*id).is_empty(),
        Value::Map(id) => call.heap.map(*id).is_empty(),
        _ => false,
    }
}

fn is_blank(call: &Call<'_>, value: &Value) -> bool {
    match value {
        Value::Text(text) => text.trim().is_empty(),
        other => is_empty(call, other),
    }
}
