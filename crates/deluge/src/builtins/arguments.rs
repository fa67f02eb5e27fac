//! Argument checking shared by the built-ins, with Deluge-style messages such as
//! `Argument 2 of subString must be a number, found text "abc"`.

use rust_decimal::Decimal;

use super::{BuiltinError, BuiltinErrorKind, names};
use crate::value::{Heap, Value, number};

/// One built-in call in progress.
pub(crate) struct Call<'call> {
    pub heap: &'call mut Heap,
    pub receiver: &'call Value,
    /// The lower-case name the script used.
    pub name: &'call str,
    pub arguments: &'call [Value],
}

impl<'call> Call<'call> {
    pub fn new(
        heap: &'call mut Heap,
        receiver: &'call Value,
        name: &'call str,
        arguments: &'call [Value],
    ) -> Call<'call> {
        Call {
            heap,
            receiver,
            name,
            arguments,
        }
    }

    /// The name as Zoho spells it, for messages.
    pub fn display_name(&self) -> &str {
        names::display_name(self.name)
    }

    /// Errors unless the call has between `minimum` and `maximum` arguments.
    pub fn count(&self, minimum: usize, maximum: usize) -> Result<(), BuiltinError> {
        let given = self.arguments.len();
        if given >= minimum && given <= maximum {
            return Ok(());
        }
        let expected = if minimum == maximum {
            format!("{minimum}")
        } else if maximum == usize::MAX {
            format!("at least {minimum}")
        } else {
            format!("{minimum} to {maximum}")
        };
        Err(BuiltinError::new(
            BuiltinErrorKind::ArgumentCount,
            format!(
                "Number of Arguments mismatches: {} takes {expected} argument(s), found {given}",
                self.display_name()
            ),
        ))
    }

    pub fn argument(&self, index: usize) -> &Value {
        self.arguments.get(index).unwrap_or(&Value::Null)
    }

    pub fn has(&self, index: usize) -> bool {
        index < self.arguments.len()
    }

    pub fn wrong_type(&self, index: usize, expected: &str) -> BuiltinError {
        BuiltinError::type_mismatch(format!(
            "Argument {} of {} must be {expected}, found {}",
            index + 1,
            self.display_name(),
            self.heap.describe(self.argument(index))
        ))
    }

    pub fn invalid(&self, message: impl std::fmt::Display) -> BuiltinError {
        BuiltinError::new(
            BuiltinErrorKind::InvalidArgument,
            format!("{}: {message}", self.display_name()),
        )
    }

    /// A text argument. Numbers, booleans and dates are converted to their printed form;
    /// null, lists and maps are errors.
    pub fn text(&self, index: usize) -> Result<String, BuiltinError> {
        match self.argument(index) {
            Value::Text(text) => Ok(text.as_str().to_owned()),
            Value::Null | Value::List(_) | Value::Map(_) => Err(self.wrong_type(index, "a text")),
            other => Ok(self.heap.display(other)),
        }
    }

    /// A text argument where null reads as empty text.
    pub fn text_or_empty(&self, index: usize) -> Result<String, BuiltinError> {
        match self.argument(index) {
            Value::Null => Ok(String::new()),
            _ => self.text(index),
        }
    }

    /// A whole-number argument: a NUMBER, a DECIMAL without fraction, or text holding one.
    pub fn long(&self, index: usize) -> Result<i64, BuiltinError> {
        match self.argument(index) {
            Value::Long(n) => Ok(*n),
            Value::Decimal(d) if d.fract().is_zero() => {
                i64::try_from(d.trunc()).map_err(|_| self.wrong_type(index, "a number"))
            }
            Value::Text(text) => {
                number::parse_long(text).ok_or_else(|| self.wrong_type(index, "a number"))
            }
            _ => Err(self.wrong_type(index, "a number")),
        }
    }

    pub fn optional_long(&self, index: usize) -> Result<Option<i64>, BuiltinError> {
        if self.has(index) && !self.argument(index).is_null() {
            self.long(index).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A number argument as a decimal: NUMBER, DECIMAL or numeric text.
    pub fn decimal(&self, index: usize) -> Result<Decimal, BuiltinError> {
        match self.argument(index) {
            Value::Long(n) => Ok(Decimal::from(*n)),
            Value::Decimal(d) => Ok(*d),
            Value::Text(text) => {
                number::parse_decimal(text).ok_or_else(|| self.wrong_type(index, "a number"))
            }
            _ => Err(self.wrong_type(index, "a number")),
        }
    }

    /// A boolean argument: a BOOLEAN or the text "true"/"false".
    pub fn boolean(&self, index: usize) -> Result<bool, BuiltinError> {
        match self.argument(index) {
            Value::Boolean(b) => Ok(*b),
            Value::Text(text) if text.eq_ignore_ascii_case("true") => Ok(true),
            Value::Text(text) if text.eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(self.wrong_type(index, "true or false")),
        }
    }

    pub fn optional_boolean(&self, index: usize, default: bool) -> Result<bool, BuiltinError> {
        if self.has(index) && !self.argument(index).is_null() {
            self.boolean(index)
        } else {
            Ok(default)
        }
    }

    /// A text result, checked against the text limit.
    pub fn text_result(&self, text: String) -> Result<Value, BuiltinError> {
        self.heap.make_text(text)
    }
}
