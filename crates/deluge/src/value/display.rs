//! Printing values the way Deluge does (`info`, `toString()`, `+` with text).

use std::fmt::Write as _;

use super::{BuiltinError, Heap, Value, datetime, decisions, number};

impl Heap {
    /// The printed form of a value (see [`decisions`]): text as is, maps as JSON, lists of
    /// scalars comma-separated, dates in `dd-MMM-yyyy HH:mm:ss`. Output beyond the text
    /// limit is cut short; use [`Heap::to_text`] to get an error instead.
    pub fn display(&self, value: &Value) -> String {
        let mut printer = Printer::new(self);
        printer.top_level(value);
        printer.output
    }

    /// Like [`Heap::display`], but an error when the text would exceed
    /// [`super::BuiltinLimits::max_text_bytes`].
    pub fn to_text(&self, value: &Value) -> Result<String, BuiltinError> {
        if let Value::Text(text) = value {
            return Ok(text.as_str().to_owned());
        }
        let mut printer = Printer::new(self);
        printer.top_level(value);
        if printer.overflowed {
            return Err(BuiltinError::text_too_long(
                printer.output.len(),
                self.limits.max_text_bytes,
            ));
        }
        Ok(printer.output)
    }

    /// A value as JSON text (maps and lists as JSON; a top-level text becomes a JSON string).
    pub fn to_json_text(&self, value: &Value) -> Result<String, BuiltinError> {
        let mut printer = Printer::new(self);
        printer.json(value, 0);
        if printer.overflowed {
            return Err(BuiltinError::text_too_long(
                printer.output.len(),
                self.limits.max_text_bytes,
            ));
        }
        Ok(printer.output)
    }

    /// A short description for error messages: `text "abc"`, `number 5`, `map`.
    pub fn describe(&self, value: &Value) -> String {
        match value {
            Value::Null => "null".to_owned(),
            Value::Text(text) => {
                let shown: String = text.chars().take(40).collect();
                let ellipsis = if shown.len() < text.len() { "..." } else { "" };
                format!("text \"{shown}{ellipsis}\"")
            }
            Value::List(id) => format!("list of {} element(s)", self.list(*id).len()),
            Value::Map(_) => "map".to_owned(),
            Value::File(file) => format!("file \"{}\"", file.name),
            other => format!("{} {}", other.type_name(), self.display(other)),
        }
    }
}

/// Prints a scalar (anything but a list or map) without consulting a heap.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => decisions::NULL_PRINTS_AS.to_owned(),
        Value::Boolean(b) => b.to_string(),
        Value::Long(n) => number::long_to_text(*n),
        Value::Decimal(d) => number::decimal_to_text(d),
        Value::Text(t) => t.as_str().to_owned(),
        Value::Date(d) => datetime::format_date(d),
        Value::DateTime(d) => datetime::format_date_time(d),
        Value::Time(t) => datetime::format_time(t),
        Value::File(f) => f.name.clone(),
        Value::List(_) | Value::Map(_) => return None,
    })
}

struct Printer<'heap> {
    heap: &'heap Heap,
    output: String,
    overflowed: bool,
}

impl<'heap> Printer<'heap> {
    fn new(heap: &'heap Heap) -> Self {
        Printer {
            heap,
            output: String::new(),
            overflowed: false,
        }
    }

    fn full(&mut self) -> bool {
        if self.output.len() > self.heap.limits.max_text_bytes {
            self.overflowed = true;
        }
        self.overflowed
    }

    fn top_level(&mut self, value: &Value) {
        match value {
            Value::List(id) => {
                let elements = self.heap.list(*id);
                let all_scalars = elements
                    .iter()
                    .all(|element| !matches!(element, Value::List(_) | Value::Map(_)));
                if all_scalars && decisions::SCALAR_LIST_PRINTS_WITHOUT_BRACKETS {
                    for (position, element) in elements.iter().enumerate() {
                        if self.full() {
                            return;
                        }
                        if position > 0 {
                            self.output.push(',');
                        }
                        if let Some(text) = scalar_text(element) {
                            self.output.push_str(&text);
                        }
                    }
                } else {
                    self.json(value, 0);
                }
            }
            Value::Map(_) => self.json(value, 0),
            other => {
                if let Some(text) = scalar_text(other) {
                    self.output.push_str(&text);
                }
                self.full();
            }
        }
    }

    fn json(&mut self, value: &Value, depth: usize) {
        if self.full() {
            return;
        }
        match value {
            Value::Null => self.output.push_str("null"),
            Value::Boolean(b) => self.output.push_str(if *b { "true" } else { "false" }),
            Value::Long(n) => number::push_long(&mut self.output, *n),
            Value::Decimal(d) => self.output.push_str(&number::decimal_to_text(d)),
            Value::Text(text) => push_json_string(&mut self.output, text),
            Value::Date(_) | Value::DateTime(_) | Value::Time(_) | Value::File(_) => {
                let text = scalar_text(value).unwrap_or_default();
                push_json_string(&mut self.output, &text);
            }
            Value::List(id) => {
                if depth >= self.heap.limits.max_nesting_depth {
                    self.output.push_str("null");
                    return;
                }
                self.output.push('[');
                for (position, element) in self.heap.list(*id).iter().enumerate() {
                    if position > 0 {
                        self.output.push(',');
                    }
                    self.json(element, depth + 1);
                    if self.overflowed {
                        return;
                    }
                }
                self.output.push(']');
            }
            Value::Map(id) => {
                if depth >= self.heap.limits.max_nesting_depth {
                    self.output.push_str("null");
                    return;
                }
                self.output.push('{');
                for (position, (key, element)) in self.heap.map(*id).iter().enumerate() {
                    if position > 0 {
                        self.output.push(',');
                    }
                    push_json_string(&mut self.output, key);
                    self.output.push(':');
                    self.json(element, depth + 1);
                    if self.overflowed {
                        return;
                    }
                }
                self.output.push('}');
            }
        }
    }
}

/// Appends `text` as a JSON string literal.
pub(crate) fn push_json_string(output: &mut String, text: &str) {
    output.reserve(text.len() + 2);
    output.push('"');
    let needs_escape = text
        .bytes()
        .any(|byte| byte == b'"' || byte == b'\\' || byte < 0x20);
    if !needs_escape {
        output.push_str(text);
        output.push('"');
        return;
    }
    for character in text.chars() {
        match character {
            '"' => output.push_str("\\\""),
            '\\' => output.push_str("\\\\"),
            '\n' => output.push_str("\\n"),
            '\r' => output.push_str("\\r"),
            '\t' => output.push_str("\\t"),
            '\u{08}' => output.push_str("\\b"),
            '\u{0c}' => output.push_str("\\f"),
            control if (control as u32) < 0x20 => {
                let _ = write!(output, "\\u{:04x}", control as u32);
            }
            other => output.push(other),
        }
    }
    output.push('"');
}
