//! Built-in functions and methods of Deluge.
//!
//! The VM calls [`call_method`] for `receiver.name(arguments)` and [`call_function`] for
//! `name(arguments)` (including dotted names such as `zoho.encryption.hmacsha256`). Names
//! arrive in lower case; built-in names are case-insensitive in Deluge. Most methods can
//! also be called as functions with the receiver first (`trim(s)`, `subString(s, 0, 3)`).
//! Nothing here reads the clock, randomness or the network: `now`, `zoho.currenttime`,
//! `randomNumber`, `getUrl` and friends are effects the VM handles.

mod arguments;
mod collections;
mod conversion;
mod datetime;
mod encoding;
mod names;
mod number;
mod text;
mod xml;

#[cfg(test)]
mod tests;

use crate::value::{Heap, Value};

pub use names::{
    FUNCTION_NAMES, METHOD_NAMES, UNSUPPORTED_NAMES, is_known_function, is_known_method,
    suggest_function, suggest_method, unsupported_reason,
};

use arguments::Call;

/// What went wrong in a built-in. Carries no source location: the VM adds it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BuiltinError {
    kind: BuiltinErrorKind,
    message: String,
}

/// The kinds of built-in errors, each with a stable machine code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuiltinErrorKind {
    /// Wrong number of arguments.
    ArgumentCount,
    /// An argument or operand of the wrong type.
    TypeMismatch,
    /// A method was called on null.
    NullValue,
    /// A list index or text position outside the value.
    IndexOutOfRange,
    /// Text that should be JSON is not.
    InvalidJson,
    /// Text that should be a date or time is not, or a date pattern or zone is wrong.
    InvalidDate,
    /// Text that should be a number is not ("Cannot cast to BIGINT").
    InvalidNumber,
    /// Division or remainder by zero.
    DivideByZero,
    /// A number outside the range of NUMBER or DECIMAL.
    Overflow,
    /// A produced text exceeds the run's text limit.
    TextTooLong,
    /// The run holds more list elements and map entries than its limit.
    HeapTooLarge,
    /// No built-in function has this name.
    UnknownFunction,
    /// The value has no method of this name.
    UnknownMethod,
    /// A regular expression or format pattern is invalid.
    InvalidPattern,
    /// An argument has the right type but a value the function cannot use.
    InvalidArgument,
    /// A built-in of Zoho's that Trestle deliberately does not provide.
    NotSupported,
}

impl BuiltinErrorKind {
    /// The stable machine code.
    pub fn code(self) -> &'static str {
        match self {
            BuiltinErrorKind::ArgumentCount => "DELUGE_ARGUMENT_COUNT",
            BuiltinErrorKind::TypeMismatch => "DELUGE_TYPE_MISMATCH",
            BuiltinErrorKind::NullValue => "DELUGE_NULL_VALUE",
            BuiltinErrorKind::IndexOutOfRange => "DELUGE_INDEX_OUT_OF_RANGE",
            BuiltinErrorKind::InvalidJson => "DELUGE_INVALID_JSON",
            BuiltinErrorKind::InvalidDate => "DELUGE_INVALID_DATE",
            BuiltinErrorKind::InvalidNumber => "DELUGE_INVALID_NUMBER",
            BuiltinErrorKind::DivideByZero => "DELUGE_DIVIDE_BY_ZERO",
            BuiltinErrorKind::Overflow => "DELUGE_NUMBER_OVERFLOW",
            BuiltinErrorKind::TextTooLong => "DELUGE_TEXT_SIZE_LIMIT",
            BuiltinErrorKind::HeapTooLarge => "DELUGE_COLLECTION_SIZE_LIMIT",
            BuiltinErrorKind::UnknownFunction => "DELUGE_UNKNOWN_FUNCTION",
            BuiltinErrorKind::UnknownMethod => "DELUGE_UNKNOWN_METHOD",
            BuiltinErrorKind::InvalidPattern => "DELUGE_INVALID_PATTERN",
            BuiltinErrorKind::InvalidArgument => "DELUGE_INVALID_ARGUMENT",
            BuiltinErrorKind::NotSupported => "DELUGE_NOT_SUPPORTED",
        }
    }
}

impl BuiltinError {
    pub fn new(kind: BuiltinErrorKind, message: impl Into<String>) -> BuiltinError {
        BuiltinError {
            kind,
            message: message.into(),
        }
    }

    /// The stable machine code, e.g. `DELUGE_TYPE_MISMATCH`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    pub fn kind(&self) -> BuiltinErrorKind {
        self.kind
    }

    /// The Deluge-style message (what `e.message` holds in a catch block).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the error is one of the run's limits (the VM reports those as limit errors,
    /// which a script cannot catch).
    pub fn is_limit(&self) -> bool {
        matches!(
            self.kind,
            BuiltinErrorKind::TextTooLong | BuiltinErrorKind::HeapTooLarge
        )
    }

    pub fn type_mismatch(message: impl Into<String>) -> BuiltinError {
        BuiltinError::new(BuiltinErrorKind::TypeMismatch, message)
    }

    pub fn invalid_json(message: impl Into<String>) -> BuiltinError {
        BuiltinError::new(BuiltinErrorKind::InvalidJson, message)
    }

    pub fn divide_by_zero() -> BuiltinError {
        BuiltinError::new(BuiltinErrorKind::DivideByZero, "Divide by zero")
    }

    pub fn overflow() -> BuiltinError {
        BuiltinError::new(
            BuiltinErrorKind::Overflow,
            "The result is too large for a number (overflow)",
        )
    }

    pub fn text_too_long(length: usize, limit: usize) -> BuiltinError {
        BuiltinError::new(
            BuiltinErrorKind::TextTooLong,
            format!(
                "A text of {length} bytes or more would exceed the limit of {limit} bytes for one text value"
            ),
        )
    }

    pub fn heap_too_large(limit: usize) -> BuiltinError {
        BuiltinError::new(
            BuiltinErrorKind::HeapTooLarge,
            format!("The lists and maps of this run hold more than {limit} elements in all"),
        )
    }
}

/// Calls the built-in method `name` (lower case) on `receiver`. Methods that change a list
/// or map (`add`, `put`, `remove`, ...) change it in `heap`, so every holder of the handle
/// sees the change. A method called on null is an error, except the null checks
/// (`isNull`, `isEmpty`, `isBlank`) and `toString`.
pub fn call_method(
    heap: &mut Heap,
    receiver: &Value,
    lowercase_method_name: &str,
    arguments: &[Value],
) -> Result<Value, BuiltinError> {
    let mut call = Call::new(heap, receiver, lowercase_method_name, arguments);
    dispatch_method(&mut call)
}

/// Calls the global built-in function `name` (lower case, dotted names as written, e.g.
/// `zoho.encryption.base64encode`). A name that is a method is called with the first
/// argument as the receiver.
pub fn call_function(
    heap: &mut Heap,
    lowercase_function_name: &str,
    arguments: &[Value],
) -> Result<Value, BuiltinError> {
    let name = lowercase_function_name;
    if let Some((display, reason)) = unsupported_reason(name) {
        return Err(not_supported(display, reason));
    }
    if let Some(result) = global_function(heap, name, arguments) {
        return result;
    }
    if is_known_method(name) {
        let Some((receiver, rest)) = arguments.split_first() else {
            return Err(BuiltinError::new(
                BuiltinErrorKind::ArgumentCount,
                format!(
                    "{}() needs at least one argument: the value to work on",
                    names::display_name(name)
                ),
            ));
        };
        return call_method(heap, receiver, name, rest);
    }
    let suggestion = suggest_function(name)
        .map(|known| format!(" Did you mean {known}?"))
        .unwrap_or_default();
    Err(BuiltinError::new(
        BuiltinErrorKind::UnknownFunction,
        format!("Not able to find '{name}' function.{suggestion}"),
    ))
}

fn global_function(
    heap: &mut Heap,
    name: &str,
    arguments: &[Value],
) -> Option<Result<Value, BuiltinError>> {
    let mut call = Call::new(heap, &Value::Null, name, arguments);
    let call = &mut call;
    let name = name.strip_prefix("zoho.encryption.").unwrap_or(name);
    if let Some(result) = encoding::function(call, name) {
        return Some(result);
    }
    if let Some(result) = conversion::function(call, name) {
        return Some(result);
    }
    if let Some(result) = number::function(call, name) {
        return Some(result);
    }
    if let Some(result) = datetime::function(call, name) {
        return Some(result);
    }
    collections::function(call, name)
}

fn dispatch_method(call: &mut Call<'_>) -> Result<Value, BuiltinError> {
    let name = call.name;
    let receiver = call.receiver.clone();
    let found = match &receiver {
        Value::Null => conversion::null_method(call, name),
        Value::Text(text) => text::method(call, text, name),
        Value::Long(_) | Value::Decimal(_) => number::method(call, &receiver, name),
        Value::Date(_) | Value::DateTime(_) | Value::Time(_) => {
            datetime::method(call, &receiver, name)
        }
        Value::List(id) => collections::list_method(call, *id, name),
        Value::Map(id) => collections::map_method(call, *id, name),
        Value::File(file) => encoding::file_method(call, file, name),
        Value::Boolean(_) => None,
    };
    if let Some(result) = found {
        return result;
    }
    if let Some(result) = conversion::common_method(call, &receiver, name) {
        return result;
    }
    // Text methods work on numbers and booleans through their printed form, as Zoho
    // converts them implicitly (`phone.startsWith("+")` on a number field).
    if matches!(
        receiver,
        Value::Long(_) | Value::Decimal(_) | Value::Boolean(_)
    ) && names::is_text_method(name)
    {
        let text = call.heap.display(&receiver);
        let text = std::sync::Arc::new(text);
        if let Some(result) = text::method(call, &text, name) {
            return result;
        }
    }
    Err(unknown_method(call.heap, &receiver, name))
}

fn not_supported(display: &str, reason: &str) -> BuiltinError {
    BuiltinError::new(
        BuiltinErrorKind::NotSupported,
        format!("{display} is not supported here: {reason}"),
    )
}

fn unknown_method(heap: &Heap, receiver: &Value, name: &str) -> BuiltinError {
    if let Some((display, reason)) = unsupported_reason(name) {
        return not_supported(display, reason);
    }
    if receiver.is_null() {
        return BuiltinError::new(
            BuiltinErrorKind::NullValue,
            format!(
                "Null value occurred: cannot call {}() on null. Check the value with isNull or ifnull first.",
                names::display_name(name)
            ),
        );
    }
    if !is_known_method(name) && is_known_function(name) {
        return BuiltinError::new(
            BuiltinErrorKind::UnknownMethod,
            format!(
                "{}() is a function, not a method: call it as {}(value, ...)",
                names::display_name(name),
                names::display_name(name)
            ),
        );
    }
    if is_known_method(name) {
        return BuiltinError::new(
            BuiltinErrorKind::UnknownMethod,
            format!(
                "{}() cannot be used on a {} ({})",
                names::display_name(name),
                receiver.type_name(),
                heap.describe(receiver)
            ),
        );
    }
    let suggestion = suggest_method(name)
        .map(|known| format!(" Did you mean {known}?"))
        .unwrap_or_default();
    BuiltinError::new(
        BuiltinErrorKind::UnknownMethod,
        format!(
            "Not able to find '{name}' function for a {}.{suggestion}",
            receiver.type_name()
        ),
    )
}
