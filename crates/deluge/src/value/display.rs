//! Printing values the way Deluge does (`info`, `toString()`, `+` with text).

use std::cell::Cell;
use std::fmt::Write as _;

use super::{BuiltinError, Heap, Text, Value, datetime, decisions, number};

impl Heap {
    /// The printed form of a value (see [`decisions`]): text as is, maps as JSON, lists of
    /// scalars comma-separated, dates in `dd-MMM-yyyy HH:mm:ss`. Output beyond the text
    /// limit is cut short; use [`Heap::to_text`] to get an error instead.
    pub fn display(&self, value: &Value) -> String {
        if let Some(text) = scalar_text(value) {
            return text;
        }
        let mut printer = Printer::new(self);
        printer.top_level(value);
        printer.finish_string()
    }

    /// Like [`Heap::display`], but an error when the text would exceed
    /// [`super::BuiltinLimits::max_text_bytes`].
    pub fn to_text(&self, value: &Value) -> Result<String, BuiltinError> {
        if let Value::Text(text) = value {
            return Ok(text.as_str().to_owned());
        }
        let mut printer = Printer::new(self);
        printer.top_level(value);
        printer.check()?;
        Ok(printer.finish_string())
    }

    /// [`Heap::to_text`] as a text value: text is shared, not copied, and printed lists and
    /// maps are copied out of the reused print buffer once, at their exact size.
    pub fn to_text_value(&self, value: &Value) -> Result<Text, BuiltinError> {
        match value {
            Value::Text(text) => Ok(text.clone()),
            Value::List(_) | Value::Map(_) => {
                let mut printer = Printer::new(self);
                printer.top_level(value);
                printer.check()?;
                Ok(printer.finish_text())
            }
            other => {
                let text = scalar_text(other).unwrap_or_default();
                self.check_text_length(text.len())?;
                Ok(Text::from(text))
            }
        }
    }

    /// A value as JSON text (maps and lists as JSON; a top-level text becomes a JSON string).
    pub fn to_json_text(&self, value: &Value) -> Result<String, BuiltinError> {
        let mut printer = Printer::new(self);
        printer.json(value, 0);
        printer.check()?;
        Ok(printer.finish_string())
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

/// The output buffer printing reuses (see [`Heap::to_text_value`]). A heap belongs to one
/// run on one thread at a time, so a `Cell` is enough; a copy of a heap starts without one.
#[derive(Default)]
pub(super) struct PrintBuffer(Cell<String>);

impl Clone for PrintBuffer {
    fn clone(&self) -> Self {
        PrintBuffer::default()
    }
}

impl std::fmt::Debug for PrintBuffer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("PrintBuffer")
    }
}

/// A buffer grown past this is not kept: one huge print should not pin its memory.
const KEPT_PRINT_BUFFER_BYTES: usize = 4 * 1024 * 1024;

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
        let mut output = heap.print_buffer.0.take();
        output.clear();
        Printer {
            heap,
            output,
            overflowed: false,
        }
    }

    fn check(&self) -> Result<(), BuiltinError> {
        if self.overflowed {
            return Err(BuiltinError::text_too_long(
                self.output.len(),
                self.heap.limits.max_text_bytes,
            ));
        }
        Ok(())
    }

    /// The output as an exactly sized `String`; the buffer goes back to the heap.
    fn finish_string(self) -> String {
        let text = self.output.as_str().to_owned();
        self.give_back();
        text
    }

    fn finish_text(self) -> Text {
        let text = Text::from(self.output.as_str());
        self.give_back();
        text
    }

    fn give_back(self) {
        if self.output.capacity() <= KEPT_PRINT_BUFFER_BYTES {
            self.heap.print_buffer.0.set(self.output);
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
    let Some(first_escape) = super::scan::first_json_escape(text.as_bytes()) else {
        output.push_str(text);
        output.push('"');
        return;
    };
    // The byte found is ASCII, so both halves are on character boundaries.
    let (clean, rest) = text.split_at_checked(first_escape).unwrap_or(("", text));
    output.push_str(clean);
    for character in rest.chars() {
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
