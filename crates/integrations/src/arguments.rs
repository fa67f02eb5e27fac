//! Positional arguments of a task, with the trailing connection link name recognised.
//!
//! Zoho's rule is that optional arguments before the connection must be given (as `Map()`
//! or `{}`), but real scripts often skip them; a trailing text in a slot that expects a map
//! or a number is therefore taken as the connection. In a slot that accepts text too, a
//! trailing text is the connection only when it looks like a link name (lower-case letters,
//! digits, underscores) and is not a search kind such as `email`.

use serde_json::{Map, Value};

use crate::{IntegrationError, Slot};

pub(crate) struct TaskArguments<'call> {
    service: &'call str,
    task: &'call str,
    arguments: &'call [Value],
}

pub(crate) struct BoundArguments<'call> {
    service: &'call str,
    task: &'call str,
    values: &'call [Value],
    pub(crate) connection: Option<String>,
}

impl<'call> TaskArguments<'call> {
    pub(crate) fn new(service: &'call str, task: &'call str, arguments: &'call [Value]) -> Self {
        TaskArguments {
            service,
            task,
            arguments,
        }
    }

    pub(crate) fn task_name(&self) -> &str {
        self.task
    }

    pub(crate) fn unknown_task(&self, known: &[&str]) -> IntegrationError {
        IntegrationError::UnknownTask {
            service: self.service.to_string(),
            task: self.task.to_string(),
            known: known.join(", "),
        }
    }

    /// Splits the arguments into `required` positional values, up to `optional.len()`
    /// optional ones, and the connection.
    pub(crate) fn bind(
        &self,
        required: usize,
        optional: &[Slot],
    ) -> Result<BoundArguments<'call>, IntegrationError> {
        let given = self.arguments.len();
        let maximum_without_connection = required + optional.len();
        let count_error = || IntegrationError::WrongArgumentCount {
            service: self.service.to_string(),
            task: self.task.to_string(),
            expected: if optional.is_empty() {
                format!("{required} argument(s) and an optional connection link name")
            } else {
                format!(
                    "{required} to {maximum_without_connection} argument(s) and an optional connection link name"
                )
            },
            given,
        };
        if given < required || given > maximum_without_connection + 1 {
            return Err(count_error());
        }
        let last_is_connection = if given == maximum_without_connection + 1 {
            true
        } else if given > required {
            match (&self.arguments[given - 1], optional[given - required - 1]) {
                (Value::String(_), Slot::Map | Slot::Number) => true,
                (Value::String(text), Slot::Any) => looks_like_link_name(text),
                _ => false,
            }
        } else {
            false
        };
        if last_is_connection {
            let Value::String(link_name) = &self.arguments[given - 1] else {
                return Err(IntegrationError::WrongArgumentType {
                    service: self.service.to_string(),
                    task: self.task.to_string(),
                    position: given,
                    name: "connection",
                    expected: "the connection's link name as text",
                    got: describe(&self.arguments[given - 1]),
                });
            };
            Ok(BoundArguments {
                service: self.service,
                task: self.task,
                values: &self.arguments[..given - 1],
                connection: Some(link_name.clone()),
            })
        } else {
            Ok(BoundArguments {
                service: self.service,
                task: self.task,
                values: self.arguments,
                connection: None,
            })
        }
    }
}

fn looks_like_link_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
        && !["email", "phone", "word", "criteria"].contains(&text)
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(number) => format!("the number {number}"),
        Value::String(text) => {
            format!("the text \"{}\"", text.chars().take(40).collect::<String>())
        }
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a map".into(),
    }
}

impl BoundArguments<'_> {
    pub(crate) fn get(&self, position: usize) -> Option<&Value> {
        self.values.get(position)
    }

    fn type_error(
        &self,
        position: usize,
        name: &'static str,
        expected: &'static str,
    ) -> IntegrationError {
        IntegrationError::WrongArgumentType {
            service: self.service.to_string(),
            task: self.task.to_string(),
            position: position + 1,
            name,
            expected,
            got: self
                .values
                .get(position)
                .map(describe)
                .unwrap_or_else(|| "nothing".into()),
        }
    }

    pub(crate) fn text(
        &self,
        position: usize,
        name: &'static str,
    ) -> Result<String, IntegrationError> {
        match self.values.get(position) {
            Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
            _ => Err(self.type_error(position, name, "a non-empty text")),
        }
    }

    /// A record id: a numeric text or a whole number.
    pub(crate) fn id(
        &self,
        position: usize,
        name: &'static str,
    ) -> Result<String, IntegrationError> {
        match self.values.get(position) {
            Some(Value::String(text))
                if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Ok(text.clone())
            }
            Some(Value::Number(number)) if number.is_u64() => Ok(number.to_string()),
            _ => Err(self.type_error(position, name, "a record id (digits, as text or a number)")),
        }
    }

    /// Books ids and organization ids: digits, but passed as text or numbers.
    pub(crate) fn id_or_text(
        &self,
        position: usize,
        name: &'static str,
    ) -> Result<String, IntegrationError> {
        match self.values.get(position) {
            Some(Value::String(text)) if !text.is_empty() && !text.contains(['/', '?', '#']) => {
                Ok(text.clone())
            }
            Some(Value::Number(number)) if number.is_u64() => Ok(number.to_string()),
            _ => Err(self.type_error(position, name, "an id (text or a whole number)")),
        }
    }

    pub(crate) fn map(
        &self,
        position: usize,
        name: &'static str,
    ) -> Result<Map<String, Value>, IntegrationError> {
        match self.values.get(position) {
            Some(Value::Object(map)) => Ok(map.clone()),
            _ => Err(self.type_error(position, name, "a map")),
        }
    }

    pub(crate) fn list(
        &self,
        position: usize,
        name: &'static str,
    ) -> Result<Vec<Value>, IntegrationError> {
        match self.values.get(position) {
            Some(Value::Array(items)) => Ok(items.clone()),
            _ => Err(self.type_error(position, name, "a list of maps")),
        }
    }

    pub(crate) fn optional_map(&self, position: usize) -> Option<Map<String, Value>> {
        match self.values.get(position) {
            Some(Value::Object(map)) => Some(map.clone()),
            _ => None,
        }
    }

    /// An optional query map, as `(key, value)` pairs; empty keys (Zoho's `{"":""}`
    /// placeholder) are dropped.
    pub(crate) fn optional_map_as_query(&self, position: usize) -> Vec<(String, String)> {
        self.optional_map(position)
            .map(|map| crate::map_to_query(&map))
            .unwrap_or_default()
    }

    pub(crate) fn optional_number(
        &self,
        position: usize,
        name: &'static str,
    ) -> Result<Option<i64>, IntegrationError> {
        match self.values.get(position) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(number)) => number
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.type_error(position, name, "a whole number")),
            Some(Value::String(text)) => text
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| self.type_error(position, name, "a whole number")),
            Some(_) => Err(self.type_error(position, name, "a whole number")),
        }
    }

    pub(crate) fn optional_text(&self, position: usize) -> Option<String> {
        match self.values.get(position) {
            Some(Value::String(text)) => Some(text.clone()),
            _ => None,
        }
    }
}
