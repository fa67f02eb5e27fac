//! Text methods (reference §11.1). Positions count characters, not bytes.

use std::sync::Arc;

use super::arguments::Call;
use super::{BuiltinError, BuiltinErrorKind, conversion, encoding};
use crate::value::Value;

/// Runs the text method `name` on `text`, or `None` when text has no such method.
pub(crate) fn method(
    call: &mut Call<'_>,
    text: &str,
    name: &str,
) -> Option<Result<Value, BuiltinError>> {
    Some(match name {
        "contains" => test(call, |argument| text.contains(argument)),
        "notcontains" => test(call, |argument| !text.contains(argument)),
        "containsignorecase" => test(call, |argument| {
            text.to_lowercase().contains(&argument.to_lowercase())
        }),
        "startswith" => test(call, |argument| text.starts_with(argument)),
        "startswithignorecase" => test(call, |argument| {
            text.to_lowercase().starts_with(&argument.to_lowercase())
        }),
        "endswith" => test(call, |argument| text.ends_with(argument)),
        "endswithignorecase" => test(call, |argument| {
            text.to_lowercase().ends_with(&argument.to_lowercase())
        }),
        "equals" => equals(call, text, false),
        "equalsignorecase" => equals(call, text, true),
        "matches" => matches(call, text),
        "isascii" => call.count(0, 0).map(|()| Value::Boolean(text.is_ascii())),
        "indexof" => position(call, text, |haystack, needle| haystack.find(needle), -1, 0),
        "lastindexof" => position(call, text, |haystack, needle| haystack.rfind(needle), -1, 0),
        "find" => position(call, text, |haystack, needle| haystack.find(needle), 0, 1),
        "length" | "len" => call
            .count(0, 0)
            .map(|()| Value::Long(count_i64(text.chars().count()))),
        "getoccurencecount" | "getoccurrencecount" => occurrence_count(call, text),
        "substring" | "subtext" | "mid" => substring(call, text),
        "left" => left_right(call, text, true),
        "right" => left_right(call, text, false),
        "getprefix" => prefix_suffix(call, text, true, false),
        "getsuffix" => prefix_suffix(call, text, false, false),
        "getprefixignorecase" => prefix_suffix(call, text, true, true),
        "getsuffixignorecase" => prefix_suffix(call, text, false, true),
        "getalpha" => filter(call, text, |c| c.is_alphabetic()),
        "getalphanumeric" => filter(call, text, |c| c.is_alphanumeric()),
        "removeallalpha" => filter(call, text, |c| !c.is_alphabetic()),
        "removeallalphanumeric" => filter(call, text, |c| !c.is_alphanumeric()),
        "touppercase" | "upper" => transform(call, || text.to_uppercase()),
        "tolowercase" | "lower" => transform(call, || text.to_lowercase()),
        "proper" => transform(call, || proper(text)),
        "trim" => transform(call, || text.trim().to_owned()),
        "ltrim" => transform(call, || text.trim_start().to_owned()),
        "rtrim" => transform(call, || text.trim_end().to_owned()),
        "reverse" => transform(call, || text.chars().rev().collect()),
        "leftpad" => pad(call, text, true),
        "rightpad" => pad(call, text, false),
        "concat" => concat(call, text),
        "repeat" => repeat(call, text),
        "replaceall" => replace(call, text, true, false),
        "replacefirst" => replace(call, text, false, false),
        "replaceallignorecase" => replace(call, text, true, true),
        "replacefirstignorecase" => replace(call, text, false, true),
        "remove" => remove(call, text),
        "removefirstoccurence" | "removefirstoccurrence" => remove_one(call, text, true),
        "removelastoccurence" | "removelastoccurrence" => remove_one(call, text, false),
        "tolist" | "tocollection" | "toliststring" => to_list(call, text),
        "texttohex" => call
            .count(0, 0)
            .and_then(|()| call.text_result(hex::encode(text))),
        "hextotext" => hex_to_text(call, text),
        "tofile" => to_file(call, text),
        "executexpath" => super::xml::execute_xpath(call, text),
        "toxmllist" => super::xml::to_xml_list(call, text),
        "xmlencode" | "htmlencode" => transform(call, || xml_encode(text)),
        "xmldecode" | "htmldecode" => transform(call, || xml_decode(text)),
        _ => {
            if let Some(result) = encoding::text_method(call, text, name) {
                return Some(result);
            }
            return conversion::text_conversion(call, text, name);
        }
    })
}

fn count_i64(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

fn test(call: &Call<'_>, check: impl Fn(&str) -> bool) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    if call.argument(0).is_null() {
        // Nothing is contained in, starts or ends a text as null; notContains(null) holds.
        return Ok(Value::Boolean(call.name == "notcontains"));
    }
    let argument = call.text(0)?;
    Ok(Value::Boolean(check(&argument)))
}

fn equals(call: &Call<'_>, text: &str, ignore_case: bool) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let other = match call.argument(0) {
        Value::Null => return Ok(Value::Boolean(false)),
        _ => call.text(0)?,
    };
    Ok(Value::Boolean(if ignore_case {
        text.to_lowercase() == other.to_lowercase()
    } else {
        text == other
    }))
}

fn matches(call: &mut Call<'_>, text: &str) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let pattern = call.text(0)?;
    // Java's String.matches matches the whole text.
    let regex = call.heap.regex(&format!("^(?:{pattern})$"), false)?;
    Ok(Value::Boolean(regex.is_match(text)))
}

fn char_index(text: &str, byte_index: usize) -> i64 {
    count_i64(text[..byte_index].chars().count())
}

fn position(
    call: &Call<'_>,
    text: &str,
    search: impl Fn(&str, &str) -> Option<usize>,
    absent: i64,
    base: i64,
) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let needle = call.text(0)?;
    Ok(Value::Long(match search(text, &needle) {
        Some(byte_index) => char_index(text, byte_index) + base,
        None => absent,
    }))
}

fn occurrence_count(call: &Call<'_>, text: &str) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let needle = call.text(0)?;
    if needle.is_empty() {
        return Ok(Value::Long(0));
    }
    Ok(Value::Long(count_i64(
        text.matches(needle.as_str()).count(),
    )))
}

fn substring(call: &Call<'_>, text: &str) -> Result<Value, BuiltinError> {
    call.count(1, 2)?;
    let characters: Vec<char> = text.chars().collect();
    let length = count_i64(characters.len());
    let start = call.long(0)?;
    let end = match call.optional_long(1)? {
        Some(end) if end >= 0 => end,
        _ => length,
    };
    if start < 0 || start > length {
        return Err(out_of_range(
            call,
            format!("the start index {start} is outside the text of length {length}"),
        ));
    }
    if end > length {
        return Err(out_of_range(
            call,
            format!("the end index {end} is beyond the text of length {length}"),
        ));
    }
    if end < start {
        return Err(out_of_range(
            call,
            format!("the end index {end} is before the start index {start}"),
        ));
    }
    let (start, end) = (
        usize::try_from(start).unwrap_or(0),
        usize::try_from(end).unwrap_or(0),
    );
    Ok(Value::text(
        characters[start..end].iter().collect::<String>(),
    ))
}

fn out_of_range(call: &Call<'_>, detail: String) -> BuiltinError {
    BuiltinError::new(
        BuiltinErrorKind::IndexOutOfRange,
        format!("{}: {detail}", call.display_name()),
    )
}

fn left_right(call: &Call<'_>, text: &str, from_left: bool) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let wanted = usize::try_from(call.long(0)?.max(0)).unwrap_or(0);
    let length = text.chars().count();
    let taken: String = if from_left {
        text.chars().take(wanted).collect()
    } else {
        text.chars().skip(length.saturating_sub(wanted)).collect()
    };
    Ok(Value::text(taken))
}

fn prefix_suffix(
    call: &Call<'_>,
    text: &str,
    prefix: bool,
    ignore_case: bool,
) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let needle = call.text(0)?;
    let found = if ignore_case {
        find_ignore_case(text, &needle)
    } else {
        text.find(needle.as_str())
            .map(|start| (start, start + needle.len()))
    };
    Ok(match found {
        Some((start, _)) if prefix => Value::text(&text[..start]),
        Some((_, end)) => Value::text(&text[end..]),
        None => Value::Null,
    })
}

/// Byte range of the first case-insensitive match of `needle` in `text`.
fn find_ignore_case(text: &str, needle: &str) -> Option<(usize, usize)> {
    let needle_lower = needle.to_lowercase();
    let needle_chars = needle.chars().count();
    for (start, _) in text.char_indices() {
        let candidate: String = text[start..].chars().take(needle_chars).collect();
        if candidate.to_lowercase() == needle_lower {
            return Some((start, start + candidate.len()));
        }
    }
    if needle.is_empty() {
        Some((0, 0))
    } else {
        None
    }
}

fn filter(call: &Call<'_>, text: &str, keep: impl Fn(char) -> bool) -> Result<Value, BuiltinError> {
    call.count(0, 0)?;
    Ok(Value::text(
        text.chars().filter(|c| keep(*c)).collect::<String>(),
    ))
}

fn transform(call: &Call<'_>, change: impl FnOnce() -> String) -> Result<Value, BuiltinError> {
    call.count(0, 0)?;
    call.text_result(change())
}

fn proper(text: &str) -> String {
    let mut output = String::with_capacity(text.len());
    let mut start_of_word = true;
    for character in text.chars() {
        if character.is_alphanumeric() {
            if start_of_word {
                output.extend(character.to_uppercase());
            } else {
                output.extend(character.to_lowercase());
            }
            start_of_word = false;
        } else {
            output.push(character);
            start_of_word = true;
        }
    }
    output
}

fn pad(call: &Call<'_>, text: &str, on_left: bool) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let wanted = usize::try_from(call.long(0)?.max(0)).unwrap_or(0);
    let length = text.chars().count();
    let missing = wanted.saturating_sub(length);
    call.heap
        .check_text_length(text.len().saturating_add(missing))?;
    let padding = " ".repeat(missing);
    Ok(Value::text(if on_left {
        format!("{padding}{text}")
    } else {
        format!("{text}{padding}")
    }))
}

fn concat(call: &Call<'_>, text: &str) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let other = call.text_or_empty(0)?;
    call.heap
        .check_text_length(text.len().saturating_add(other.len()))?;
    Ok(Value::text(format!("{text}{other}")))
}

fn repeat(call: &Call<'_>, text: &str) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let times = usize::try_from(call.long(0)?.max(0)).unwrap_or(0);
    call.heap
        .check_text_length(text.len().saturating_mul(times))?;
    Ok(Value::text(text.repeat(times)))
}

fn replace(
    call: &mut Call<'_>,
    text: &str,
    all: bool,
    ignore_case: bool,
) -> Result<Value, BuiltinError> {
    call.count(2, 3)?;
    let search = call.text(0)?;
    let replacement = call.text_or_empty(1)?;
    let literal = call.optional_boolean(2, false)?;
    let (pattern, replacement) = if literal {
        (regex::escape(&search), replacement.replace('$', "$$"))
    } else {
        (search, java_replacement(&replacement))
    };
    let regex = call.heap.regex(&pattern, ignore_case)?;
    let limit = if all { 0 } else { 1 };
    let replaced = regex
        .replacen(text, limit, replacement.as_str())
        .into_owned();
    call.text_result(replaced)
}

/// Turns a Java replacement (`$1`, `${name}`, `\$` for a literal dollar) into the `regex`
/// crate's syntax (`${1}`, `${name}`, `$$`).
fn java_replacement(replacement: &str) -> String {
    let mut output = String::with_capacity(replacement.len());
    let mut characters = replacement.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '\\' => match characters.next() {
                Some('$') => output.push_str("$$"),
                Some(other) => output.push(other),
                None => output.push('\\'),
            },
            '$' => {
                if characters.peek() == Some(&'{') {
                    output.push('$');
                } else if characters.peek().is_some_and(char::is_ascii_digit) {
                    let mut digits = String::new();
                    while let Some(digit) = characters.peek().copied().filter(char::is_ascii_digit)
                    {
                        digits.push(digit);
                        characters.next();
                    }
                    output.push_str(&format!("${{{digits}}}"));
                } else {
                    output.push_str("$$");
                }
            }
            other => output.push(other),
        }
    }
    output
}

fn remove(call: &Call<'_>, text: &str) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let needle = call.text(0)?;
    if needle.is_empty() {
        return Ok(Value::text(text));
    }
    Ok(Value::text(text.replace(needle.as_str(), "")))
}

fn remove_one(call: &Call<'_>, text: &str, first: bool) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let needle = call.text(0)?;
    let found = if first {
        text.find(needle.as_str())
    } else {
        text.rfind(needle.as_str())
    };
    Ok(Value::text(match found {
        Some(start) if !needle.is_empty() => {
            format!("{}{}", &text[..start], &text[start + needle.len()..])
        }
        _ => text.to_owned(),
    }))
}

fn to_list(call: &mut Call<'_>, text: &str) -> Result<Value, BuiltinError> {
    call.count(0, 1)?;
    let separator = if call.has(0) && !call.argument(0).is_null() {
        Some(call.text(0)?)
    } else {
        None
    };
    let elements: Vec<Value> = match separator {
        None => {
            let trimmed = text.trim();
            if trimmed.starts_with('[')
                && let Ok(Value::List(id)) = call.heap.parse_json_text(trimmed)
            {
                return Ok(Value::List(id));
            }
            vec![Value::text(text)]
        }
        Some(separator) if separator.is_empty() => {
            text.chars().map(|c| Value::text(c.to_string())).collect()
        }
        Some(separator) => {
            // A one-character separator (the usual `;` or `,`) is found with memchr.
            let mut characters = separator.chars();
            match (characters.next(), characters.next()) {
                (Some(only), None) if only.is_ascii() => {
                    split_on_byte(text, u8::try_from(only).unwrap_or_default())
                }
                (Some(only), None) => text.split(only).map(Value::text).collect(),
                _ => text.split(separator.as_str()).map(Value::text).collect(),
            }
        }
    };
    call.heap.note_added(0);
    let list = call.heap.new_list_value(elements);
    call.heap.check_size()?;
    Ok(list)
}

/// `text.toList(";")` for a one-byte separator: counted first so the list is allocated
/// once, then cut at each separator (ASCII, so every cut is on a character boundary).
fn split_on_byte(text: &str, separator: u8) -> Vec<Value> {
    let bytes = text.as_bytes();
    let mut pieces = Vec::with_capacity(memchr::memchr_iter(separator, bytes).count() + 1);
    let mut start = 0;
    for position in memchr::memchr_iter(separator, bytes) {
        pieces.push(Value::text(text.get(start..position).unwrap_or_default()));
        start = position + 1;
    }
    pieces.push(Value::text(text.get(start..).unwrap_or_default()));
    pieces
}

fn hex_to_text(call: &Call<'_>, text: &str) -> Result<Value, BuiltinError> {
    call.count(0, 0)?;
    let bytes = hex::decode(text.trim()).map_err(|_| {
        call.invalid(format!(
            "{} is not hexadecimal text",
            call.heap.describe(&Value::text(text))
        ))
    })?;
    Ok(Value::text(String::from_utf8_lossy(&bytes).into_owned()))
}

fn to_file(call: &Call<'_>, text: &str) -> Result<Value, BuiltinError> {
    call.count(0, 2)?;
    let name = if call.has(0) {
        call.text(0)?
    } else {
        "file.txt".to_owned()
    };
    let content_type = encoding::content_type_for(&name).to_owned();
    Ok(Value::File(Arc::new(crate::value::FileValue {
        name,
        content_type,
        bytes: text.as_bytes().to_vec(),
    })))
}

pub(crate) fn xml_encode(text: &str) -> String {
    let mut output = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '<' => output.push_str("&lt;"),
            '>' => output.push_str("&gt;"),
            '&' => output.push_str("&amp;"),
            '"' => output.push_str("&quot;"),
            '\'' => output.push_str("&#39;"),
            other => output.push(other),
        }
    }
    output
}

pub(crate) fn xml_decode(text: &str) -> String {
    let mut output = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        output.push_str(&rest[..start]);
        let after = &rest[start..];
        let Some(end) = after.find(';').filter(|end| *end <= 10) else {
            output.push('&');
            rest = &after[1..];
            continue;
        };
        let entity = &after[1..end];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(character) => {
                output.push(character);
                rest = &after[end + 1..];
            }
            None => {
                output.push('&');
                rest = &after[1..];
            }
        }
    }
    output.push_str(rest);
    output
}
