//! JSON: converting values to and from `serde_json`, and parsing JSON text (`toMap()`,
//! `toJSONList()`, responses) straight into heap values with exact decimals.

use std::borrow::Cow;
use std::str::FromStr;

use rust_decimal::Decimal;

use super::{BuiltinError, Heap, MapEntries, Text, Value, datetime, number};

impl Heap {
    /// A value as a `serde_json` tree. Dates become strings in Deluge's default form; a
    /// file becomes its name. Decimals go through `f64` only when they are not whole
    /// (`serde_json` has no exact decimal); use [`Heap::to_json_text`] for exact text.
    pub fn to_json(&self, value: &Value) -> serde_json::Value {
        let mut budget = self.limits.max_heap_elements;
        self.to_json_at(value, 0, &mut budget)
    }

    fn to_json_at(&self, value: &Value, depth: usize, budget: &mut usize) -> serde_json::Value {
        use serde_json::Value as Json;
        if matches!(value, Value::List(_) | Value::Map(_)) {
            if *budget == 0 {
                return Json::Null;
            }
            *budget -= 1;
        }
        match value {
            Value::Null => Json::Null,
            Value::Boolean(b) => Json::Bool(*b),
            Value::Long(n) => Json::from(*n),
            Value::Decimal(d) => decimal_to_json(d),
            Value::Text(t) => Json::String(t.as_str().to_owned()),
            Value::Date(d) => Json::String(datetime::format_date(d)),
            Value::DateTime(d) => Json::String(datetime::format_date_time(d)),
            Value::Time(t) => Json::String(datetime::format_time(t)),
            Value::File(f) => Json::String(f.name.clone()),
            Value::List(id) => {
                if depth >= self.limits.max_nesting_depth {
                    return Json::Null;
                }
                Json::Array(
                    self.list(*id)
                        .iter()
                        .map(|element| self.to_json_at(element, depth + 1, budget))
                        .collect(),
                )
            }
            Value::Map(id) => {
                if depth >= self.limits.max_nesting_depth {
                    return Json::Null;
                }
                Json::Object(
                    self.map(*id)
                        .iter()
                        .map(|(key, element)| {
                            (
                                key.as_str().to_owned(),
                                self.to_json_at(element, depth + 1, budget),
                            )
                        })
                        .collect(),
                )
            }
        }
    }

    /// A `serde_json` tree as heap values: objects become maps (key order kept), arrays
    /// lists, integers that fit 64 bits NUMBER, other numbers DECIMAL (from their shortest
    /// decimal text, so `0.1` is exactly 0.1).
    pub fn from_json(&mut self, json: serde_json::Value) -> Value {
        use serde_json::Value as Json;
        match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Boolean(b),
            Json::Number(number) => json_number_to_value(&number),
            Json::String(text) => Value::Text(super::Text::from(text)),
            Json::Array(elements) => {
                let elements = elements
                    .into_iter()
                    .map(|element| self.from_json(element))
                    .collect();
                self.new_list_value(elements)
            }
            Json::Object(entries) => {
                let entries: MapEntries = entries
                    .into_iter()
                    .map(|(key, element)| (Text::from(key), self.from_json(element)))
                    .collect();
                Value::Map(self.new_map_from(entries))
            }
        }
    }

    /// Parses JSON text into heap values. Lenient as Deluge's `toMap()` is: keys and
    /// values may be unquoted (`{company:Zoho}`) or single-quoted; trailing commas are
    /// accepted. Numbers are exact. Errors name the position of the problem.
    pub fn parse_json_text(&mut self, text: &str) -> Result<Value, BuiltinError> {
        // The scratch stacks live in the heap so a run that parses many documents grows
        // them once; they are empty between parses.
        let values = std::mem::take(&mut self.json_values);
        let entries = std::mem::take(&mut self.json_entries);
        let mut parser = JsonParser {
            heap: self,
            text,
            position: 0,
            values,
            entries,
        };
        let result = parser.document();
        let JsonParser {
            mut values,
            mut entries,
            ..
        } = parser;
        values.clear();
        entries.clear();
        self.json_values = values;
        self.json_entries = entries;
        result
    }
}

fn decimal_to_json(value: &Decimal) -> serde_json::Value {
    if value.fract().is_zero()
        && let Ok(whole) = i64::try_from(value.trunc())
    {
        return serde_json::Value::from(whole);
    }
    let text = number::decimal_to_text(value);
    match serde_json::Number::from_str(&text) {
        Ok(number) => serde_json::Value::Number(number),
        Err(_) => serde_json::Value::String(text),
    }
}

fn json_number_to_value(number: &serde_json::Number) -> Value {
    if let Some(whole) = number.as_i64() {
        return Value::Long(whole);
    }
    let text = number.to_string();
    match number::parse_decimal(&text) {
        Some(decimal) => Value::Decimal(decimal),
        None => Value::text(text),
    }
}

const MAX_JSON_DEPTH: usize = 128;

/// Works on bytes: every structural character of JSON is ASCII, and text between them is
/// copied as whole UTF-8 slices. Elements and entries of the lists and maps being read wait
/// on the scratch stacks `values` and `entries`, so each list and map is allocated once at
/// its exact size.
struct JsonParser<'heap, 'text> {
    heap: &'heap mut Heap,
    text: &'text str,
    position: usize,
    values: Vec<Value>,
    entries: Vec<(Text, Value)>,
}

impl<'text> JsonParser<'_, 'text> {
    fn document(&mut self) -> Result<Value, BuiltinError> {
        self.skip_space();
        let value = self.value(0)?;
        self.skip_space();
        if self.position < self.text.len() {
            return Err(self.error("unexpected text after the end of the JSON value"));
        }
        Ok(value)
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.position).copied()
    }

    fn error(&self, problem: &str) -> BuiltinError {
        let mut offset = self.position.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .map_or(0, |tail| tail.chars().count())
            + 1;
        BuiltinError::invalid_json(format!(
            "Invalid JSON text: {problem} at line {line}, column {column}"
        ))
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(|byte| byte.is_ascii_whitespace()) {
            self.position += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, BuiltinError> {
        if depth > MAX_JSON_DEPTH {
            return Err(self.error("nesting is too deep"));
        }
        match self.peek() {
            None => Err(self.error("the text ended where a value was expected")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(quote @ (b'"' | b'\'')) => {
                let text = self.string(quote)?;
                self.heap.check_text_length(text.len())?;
                Ok(Value::Text(Text::from(text.as_ref())))
            }
            Some(_) => {
                let word = self.bare_word();
                if word.is_empty() {
                    return Err(self.error("a value was expected"));
                }
                Ok(bare_word_value(word))
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, BuiltinError> {
        self.position += 1;
        let start = self.entries.len();
        loop {
            self.skip_space();
            match self.peek() {
                Some(b'}') => {
                    self.position += 1;
                    break;
                }
                None => return Err(self.error("the text ended inside an object; '}' is missing")),
                _ => {}
            }
            let key = match self.peek() {
                Some(quote @ (b'"' | b'\'')) => Text::from(self.string(quote)?.as_ref()),
                _ => {
                    let word = self.bare_word();
                    if word.is_empty() {
                        return Err(self.error("a key was expected"));
                    }
                    Text::from(word)
                }
            };
            self.skip_space();
            if self.peek() != Some(b':') {
                return Err(self.error("':' was expected after a key"));
            }
            self.position += 1;
            self.skip_space();
            let element = self.value(depth + 1)?;
            self.entries.push((key, element));
            self.heap.note_added(1);
            self.heap.check_size()?;
            self.skip_space();
            match self.peek() {
                Some(b',') => self.position += 1,
                Some(b'}') => {}
                _ => return Err(self.error("',' or '}' was expected")),
            }
        }
        let count = self.entries.len().saturating_sub(start);
        let mut entries = MapEntries::with_capacity(count);
        // A repeated key keeps its first position and its last value, as `put` does.
        for (key, element) in self.entries.drain(start..) {
            entries.insert(key, element);
        }
        Ok(Value::Map(self.heap.new_map_from_counted(entries)))
    }

    fn array(&mut self, depth: usize) -> Result<Value, BuiltinError> {
        self.position += 1;
        let start = self.values.len();
        loop {
            self.skip_space();
            match self.peek() {
                Some(b']') => {
                    self.position += 1;
                    break;
                }
                None => return Err(self.error("the text ended inside a list; ']' is missing")),
                _ => {}
            }
            let element = self.value(depth + 1)?;
            self.values.push(element);
            self.heap.note_added(1);
            self.heap.check_size()?;
            self.skip_space();
            match self.peek() {
                Some(b',') => self.position += 1,
                Some(b']') => {}
                _ => return Err(self.error("',' or ']' was expected")),
            }
        }
        let elements: Vec<Value> = self.values.drain(start..).collect();
        Ok(Value::List(self.heap.new_list_counted(elements)))
    }

    /// A string's content; borrowed from the text when it has no escape (most do).
    fn string(&mut self, quote: u8) -> Result<Cow<'text, str>, BuiltinError> {
        self.position += 1;
        let mut text = String::new();
        loop {
            // Copy the run up to the next quote or backslash in one piece.
            let rest = self
                .text
                .as_bytes()
                .get(self.position..)
                .unwrap_or_default();
            let run = super::scan::first_quote_or_backslash(rest, quote)
                .ok_or_else(|| self.error("the text ended inside a string"))?;
            if text.is_empty() && rest.get(run) == Some(&quote) {
                let whole = self
                    .text
                    .get(self.position..self.position + run)
                    .unwrap_or("");
                self.position += run + 1;
                return Ok(Cow::Borrowed(whole));
            }
            text.push_str(
                self.text
                    .get(self.position..self.position + run)
                    .unwrap_or(""),
            );
            self.position += run;
            let Some(byte) = self.peek() else {
                return Err(self.error("the text ended inside a string"));
            };
            self.position += 1;
            if byte == quote {
                return Ok(Cow::Owned(text));
            }
            let Some(escaped) = self.peek() else {
                return Err(self.error("the text ended inside a string"));
            };
            match escaped {
                b'n' => text.push('\n'),
                b't' => text.push('\t'),
                b'r' => text.push('\r'),
                b'b' => text.push('\u{08}'),
                b'f' => text.push('\u{0c}'),
                b'u' => {
                    self.position += 1;
                    let code = self.hex4()?;
                    if (0xD800..0xDC00).contains(&code) {
                        // A surrogate pair: \uD83D\uDE00.
                        if self.text.as_bytes().get(self.position..self.position + 2)
                            == Some(b"\\u".as_slice())
                        {
                            self.position += 2;
                            let low = self.hex4()?;
                            let combined = 0x10000
                                + ((code - 0xD800) << 10)
                                + (low.wrapping_sub(0xDC00) & 0x3FF);
                            text.push(char::from_u32(combined).unwrap_or('\u{FFFD}'));
                        } else {
                            text.push('\u{FFFD}');
                        }
                    } else {
                        text.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                    }
                    continue;
                }
                _ => {
                    // Any other escaped character stands for itself (it may be multi-byte).
                    let character = self
                        .text
                        .get(self.position..)
                        .and_then(|rest| rest.chars().next())
                        .unwrap_or('\\');
                    text.push(character);
                    self.position += character.len_utf8();
                    continue;
                }
            }
            self.position += 1;
        }
    }

    fn hex4(&mut self) -> Result<u32, BuiltinError> {
        let mut code = 0u32;
        for _ in 0..4 {
            let digit = self
                .peek()
                .and_then(|byte| char::from(byte).to_digit(16))
                .ok_or_else(|| self.error("\\u must be followed by four hex digits"))?;
            code = code * 16 + digit;
            self.position += 1;
        }
        Ok(code)
    }

    fn bare_word(&mut self) -> &'text str {
        let start = self.position;
        while let Some(byte) = self.peek() {
            if matches!(byte, b',' | b'}' | b']' | b':' | b'{' | b'[') {
                break;
            }
            self.position += 1;
        }
        self.text.get(start..self.position).unwrap_or("").trim()
    }
}

fn bare_word_value(word: &str) -> Value {
    match word {
        "true" => return Value::Boolean(true),
        "false" => return Value::Boolean(false),
        "null" => return Value::Null,
        _ => {}
    }
    let looks_numeric = word.starts_with(|c: char| c.is_ascii_digit() || c == '-')
        && word
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    if looks_numeric {
        if let Ok(whole) = word.parse::<i64>() {
            return Value::Long(whole);
        }
        if let Some(decimal) = number::parse_decimal(word) {
            return Value::Decimal(decimal);
        }
    }
    Value::text(word)
}

impl Heap {
    /// Like [`Heap::new_map_from`] for entries already counted with [`Heap::note_added`].
    fn new_map_from_counted(&mut self, entries: MapEntries) -> super::MapId {
        let count = entries.len();
        let id = self.new_map_from(entries);
        self.note_removed(count);
        id
    }

    fn new_list_counted(&mut self, elements: Vec<Value>) -> super::ListId {
        let count = elements.len();
        let id = self.new_list(elements);
        self.note_removed(count);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::OwnedValue;

    #[test]
    fn serde_json_numbers_become_longs_or_exact_decimals() {
        let mut heap = Heap::new();
        let json: serde_json::Value = serde_json::from_str(
            r#"{"id":9223372036854775807,"price":0.1,"big":1e20,"n":[1,2.50]}"#,
        )
        .unwrap();
        let value = heap.from_json(json);
        assert_eq!(
            heap.display(&value),
            r#"{"id":9223372036854775807,"price":0.1,"big":100000000000000000000.0,"n":[1,2.5]}"#
        );
        let Value::Map(id) = value else {
            panic!("expected a map")
        };
        assert!(matches!(heap.map_get(id, "price"), Value::Decimal(_)));
        assert!(matches!(heap.map_get(id, "id"), Value::Long(_)));
    }

    #[test]
    fn to_json_and_back_keeps_the_tree() {
        let mut heap = Heap::new();
        let value = heap
            .parse_json_text(r#"{"a":[1,"x",null,true,{"b":2.5}],"c":"é"}"#)
            .unwrap();
        let json = heap.to_json(&value);
        assert_eq!(
            json.to_string(),
            r#"{"a":[1,"x",null,true,{"b":2.5}],"c":"é"}"#
        );
        let back = heap.from_json(json);
        assert!(heap.values_equal(&value, &back));
    }

    #[test]
    fn owned_values_round_trip_through_serde_and_the_heap() {
        let mut heap = Heap::new();
        let value = heap
            .parse_json_text(r#"{"when":"x","amount":12.50,"items":[1,{"k":null}]}"#)
            .unwrap();
        let owned = heap.detach(&value);
        let serialized = serde_json::to_string(&owned).unwrap();
        assert!(
            serialized.contains(r#"{"type":"decimal","value":"12.50"}"#),
            "{serialized}"
        );
        let restored: OwnedValue = serde_json::from_str(&serialized).unwrap();
        assert_eq!(restored, owned);
        let mut other_heap = Heap::new();
        let attached = other_heap.attach(restored);
        assert_eq!(other_heap.display(&attached), heap.display(&value));
        assert_eq!(owned.to_display_string(), heap.display(&value));
        assert_eq!(
            OwnedValue::Text("a\"b".to_owned()).to_json_text(),
            r#""a\"b""#
        );
    }

    #[test]
    fn owned_values_convert_to_and_from_plain_json() {
        let json: serde_json::Value =
            serde_json::from_str(r#"{"b":1,"a":[0.1,"x",null,false]}"#).unwrap();
        let owned = OwnedValue::from_json(json.clone());
        let OwnedValue::Map(entries) = &owned else {
            panic!("expected a map")
        };
        assert_eq!(entries.keys().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(owned.to_json(), json);
    }

    #[test]
    fn lenient_json_text_is_accepted() {
        let mut heap = Heap::new();
        let cases = [
            ("{company:Zoho}", r#"{"company":"Zoho"}"#),
            ("{'a':'b',}", r#"{"a":"b"}"#),
            ("[1,2,]", "[1,2]"),
            (r#"{"e":"\u00e9\ud83d\ude00\n"}"#, "{\"e\":\"é😀\\n\"}"),
            ("  [ ]  ", "[]"),
            ("{a: -1.5e2, b: TRUE}", r#"{"a":-150.0,"b":"TRUE"}"#),
        ];
        for (text, expected) in cases {
            let value = heap.parse_json_text(text).unwrap();
            assert_eq!(heap.to_json_text(&value).unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn broken_json_text_names_the_place() {
        let mut heap = Heap::new();
        let error = heap.parse_json_text("{\n\"a\": [1, 2\n}").unwrap_err();
        assert_eq!(error.code(), "DELUGE_INVALID_JSON");
        assert!(error.message().contains("line 3"), "{}", error.message());
        for broken in [
            "",
            "{",
            "[1,,2]",
            "{\"a\" 1}",
            "\"open",
            "{} x",
            "\"\\u12\"",
        ] {
            assert!(heap.parse_json_text(broken).is_err(), "{broken}");
        }
        let deep = "[".repeat(10_000);
        assert!(heap.parse_json_text(&deep).is_err());
    }

    #[test]
    fn parsing_respects_the_heap_limit() {
        let mut heap = Heap::with_limits(crate::value::BuiltinLimits {
            max_heap_elements: 5,
            ..Default::default()
        });
        assert!(heap.parse_json_text("[1,2,3]").is_ok());
        let error = heap.parse_json_text("[1,2,3,4,5,6,7,8]").unwrap_err();
        assert_eq!(error.code(), "DELUGE_COLLECTION_SIZE_LIMIT");
    }
}
