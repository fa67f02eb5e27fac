//! Stored functions: the rules for saving one (a Deluge identifier for its name, declared
//! parameter types, a script that compiles) and for calling one (arguments checked against
//! the declared types, by name from the API or by position from another function).

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use trestle_deluge::{OwnedValue, Program};
use trestle_functions::json::json_to_owned;
use trestle_store::{StoredFunction, StoredFunctionParameter};

use crate::error::RuntimeError;

/// How deep stored functions may call each other on this server (the first call runs at
/// depth 1). Lower than the VM's default: every level nests the caller's future, and a deep
/// chain must fail with a clear limit error, never overflow a worker thread's stack.
pub const MAX_STORED_FUNCTION_CALL_DEPTH: u32 = 16;

/// The run limits for a function on this server.
pub(crate) fn server_limits() -> trestle_deluge::Limits {
    let mut limits = trestle_deluge::Limits::default();
    limits.max_call_depth = limits.max_call_depth.min(MAX_STORED_FUNCTION_CALL_DEPTH);
    limits
}

/// Longest function or parameter name accepted.
pub const MAX_FUNCTION_NAME_CHARS: usize = 100;
/// Most parameters a function may declare.
pub const MAX_FUNCTION_PARAMETERS: usize = 50;
/// Largest script accepted, in bytes.
pub const MAX_FUNCTION_SCRIPT_BYTES: usize = 512 * 1024;

/// The parameter types of Zoho's function editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterType {
    String,
    Int,
    Decimal,
    Date,
    Map,
    List,
    Bool,
}

impl ParameterType {
    pub const ALL: [ParameterType; 7] = [
        ParameterType::String,
        ParameterType::Int,
        ParameterType::Decimal,
        ParameterType::Date,
        ParameterType::Map,
        ParameterType::List,
        ParameterType::Bool,
    ];

    /// The type as the editor writes it (`string`, `int`, ...). Case-insensitive.
    pub fn parse(text: &str) -> Option<ParameterType> {
        let lower = text.trim().to_ascii_lowercase();
        ParameterType::ALL
            .into_iter()
            .find(|parameter_type| parameter_type.as_str() == lower)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ParameterType::String => "string",
            ParameterType::Int => "int",
            ParameterType::Decimal => "decimal",
            ParameterType::Date => "date",
            ParameterType::Map => "map",
            ParameterType::List => "list",
            ParameterType::Bool => "bool",
        }
    }

    fn expectation(self) -> &'static str {
        match self {
            ParameterType::String => "a text",
            ParameterType::Int => "a whole number",
            ParameterType::Decimal => "a number",
            ParameterType::Date => {
                "a date (\"2026-11-28\", \"28-Nov-2026\" or with a time \"28-Nov-2026 14:05:00\")"
            }
            ParameterType::Map => "a map (a JSON object)",
            ParameterType::List => "a list (a JSON array)",
            ParameterType::Bool => "true or false",
        }
    }
}

/// Words a function or parameter name may not be: Deluge's statement keywords and literals,
/// the namespaces a call is written with, and `run` (the run endpoint's path).
const RESERVED_NAMES: &[&str] = &[
    "if",
    "else",
    "for",
    "each",
    "in",
    "while",
    "return",
    "break",
    "continue",
    "try",
    "catch",
    "info",
    "true",
    "false",
    "null",
    "void",
    "invokeurl",
    "sendmail",
    "zoho",
    "standalone",
    "thisapp",
    "input",
    "run",
];

/// Checks a function's name, parameters and script before it is saved. Errors name the
/// field (`name`, `parameters[1].type`, `script`) and say how to fix it.
pub fn validate_function(
    name: &str,
    parameters: &[StoredFunctionParameter],
    script: &str,
) -> Result<(), RuntimeError> {
    validate_identifier("name", name, "function name")?;
    if parameters.len() > MAX_FUNCTION_PARAMETERS {
        return Err(RuntimeError::InvalidFunction {
            field: "parameters".to_owned(),
            message: format!(
                "a function takes at most {MAX_FUNCTION_PARAMETERS} parameters; pass related values in one map parameter"
            ),
        });
    }
    let mut seen = HashSet::new();
    for (index, parameter) in parameters.iter().enumerate() {
        validate_identifier(
            &format!("parameters[{index}].name"),
            &parameter.name,
            "parameter name",
        )?;
        if !seen.insert(parameter.name.to_lowercase()) {
            return Err(RuntimeError::InvalidFunction {
                field: format!("parameters[{index}].name"),
                message: format!(
                    "the parameter name {:?} is declared twice (names are compared regardless of case)",
                    parameter.name
                ),
            });
        }
        if ParameterType::parse(&parameter.parameter_type).is_none() {
            return Err(RuntimeError::InvalidFunction {
                field: format!("parameters[{index}].type"),
                message: format!(
                    "{:?} is not a parameter type; use one of {}",
                    parameter.parameter_type,
                    type_list()
                ),
            });
        }
    }
    if script.len() > MAX_FUNCTION_SCRIPT_BYTES {
        return Err(RuntimeError::InvalidFunction {
            field: "script".to_owned(),
            message: format!(
                "the script is {} bytes; a function script may be at most {MAX_FUNCTION_SCRIPT_BYTES} bytes",
                script.len()
            ),
        });
    }
    if let Err(error) = trestle_deluge::compile_source(script) {
        let location = error
            .location()
            .map(|location| format!(" at line {}, column {}", location.line, location.column))
            .unwrap_or_default();
        return Err(RuntimeError::InvalidFunction {
            field: "script".to_owned(),
            message: format!(
                "the script does not compile{location}: {} [{}]",
                error.message(),
                error.code()
            ),
        });
    }
    Ok(())
}

/// The declared parameters with their types normalized to the editor's lower-case spelling.
pub fn normalized_parameters(
    parameters: Vec<StoredFunctionParameter>,
) -> Vec<StoredFunctionParameter> {
    parameters
        .into_iter()
        .map(|parameter| StoredFunctionParameter {
            parameter_type: ParameterType::parse(&parameter.parameter_type)
                .map(|parameter_type| parameter_type.as_str().to_owned())
                .unwrap_or(parameter.parameter_type),
            name: parameter.name,
        })
        .collect()
}

/// Named JSON arguments (from `functions/run`) checked against the function's parameters:
/// every parameter must be given (null is a value), no other name is accepted.
pub fn arguments_from_json(
    function: &StoredFunction,
    arguments: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<(String, OwnedValue)>, RuntimeError> {
    for given in arguments.keys() {
        if !function
            .parameters
            .iter()
            .any(|parameter| &parameter.name == given)
        {
            return Err(RuntimeError::InvalidArguments {
                message: format!(
                    "the function {} takes no argument named {given:?}; it takes {}",
                    function.name,
                    signature(&function.parameters)
                ),
            });
        }
    }
    let mut checked = Vec::with_capacity(function.parameters.len());
    for parameter in &function.parameters {
        let Some(value) = arguments.get(&parameter.name) else {
            return Err(RuntimeError::InvalidArguments {
                message: format!(
                    "the function {} needs the argument {:?} ({}); it takes {} (pass null for no value)",
                    function.name,
                    parameter.name,
                    parameter.parameter_type,
                    signature(&function.parameters)
                ),
            });
        };
        let value = coerce_argument(parameter, json_to_owned(value)).map_err(|message| {
            RuntimeError::InvalidArguments {
                message: format!("the function {}: {message}", function.name),
            }
        })?;
        checked.push((parameter.name.clone(), value));
    }
    Ok(checked)
}

/// Positional arguments (a call from another function) checked against the parameters.
pub fn arguments_from_call(
    function: &StoredFunction,
    arguments: &[OwnedValue],
) -> Result<Vec<(String, OwnedValue)>, String> {
    if arguments.len() != function.parameters.len() {
        return Err(format!(
            "{} takes {} argument(s), {}, but the call passes {}",
            function.name,
            function.parameters.len(),
            signature(&function.parameters),
            arguments.len()
        ));
    }
    function
        .parameters
        .iter()
        .zip(arguments.iter().cloned())
        .map(|(parameter, value)| {
            coerce_argument(parameter, value).map(|value| (parameter.name.clone(), value))
        })
        .collect()
}

/// Keeps only the arguments the program reads: a declared parameter the script never uses
/// is checked but has nowhere to go.
pub(crate) fn arguments_for_program(
    program: &Arc<Program>,
    arguments: Vec<(String, OwnedValue)>,
) -> Vec<(String, OwnedValue)> {
    arguments
        .into_iter()
        .filter(|(name, _)| {
            program
                .parameters()
                .iter()
                .chain(program.inputs().iter())
                .any(|slot| &slot.name == name)
        })
        .collect()
}

/// The function name a call names: `standalone.fmt` and `fmt` both mean `fmt`.
pub(crate) fn called_function_name(qualified: &str) -> &str {
    qualified.rsplit('.').next().unwrap_or(qualified)
}

fn validate_identifier(field: &str, name: &str, what: &str) -> Result<(), RuntimeError> {
    let invalid = |message: String| RuntimeError::InvalidFunction {
        field: field.to_owned(),
        message,
    };
    let mut characters = name.chars();
    let Some(first) = characters.next() else {
        return Err(invalid(format!(
            "the {what} is empty; use letters, digits and underscores, starting with a letter"
        )));
    };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Err(invalid(format!(
            "the {what} {name:?} must start with a letter or an underscore"
        )));
    }
    if let Some(bad) = name
        .chars()
        .find(|character| !(character.is_ascii_alphanumeric() || *character == '_'))
    {
        return Err(invalid(format!(
            "the {what} {name:?} contains {bad:?}; use only letters, digits and underscores"
        )));
    }
    if name.chars().count() > MAX_FUNCTION_NAME_CHARS {
        return Err(invalid(format!(
            "the {what} is longer than {MAX_FUNCTION_NAME_CHARS} characters"
        )));
    }
    if RESERVED_NAMES
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(name))
    {
        return Err(invalid(format!(
            "{name:?} is a reserved word in Deluge or Trestle and cannot be a {what}"
        )));
    }
    Ok(())
}

fn coerce_argument(
    parameter: &StoredFunctionParameter,
    value: OwnedValue,
) -> Result<OwnedValue, String> {
    let Some(parameter_type) = ParameterType::parse(&parameter.parameter_type) else {
        return Err(format!(
            "the parameter {:?} has the unknown type {:?}; update the function",
            parameter.name, parameter.parameter_type
        ));
    };
    let converted = match (parameter_type, value) {
        (_, OwnedValue::Null) => Some(OwnedValue::Null),
        (ParameterType::String, value @ OwnedValue::Text(_)) => Some(value),
        (ParameterType::Int, value @ OwnedValue::Long(_)) => Some(value),
        (ParameterType::Int, OwnedValue::Decimal(decimal)) if decimal.fract().is_zero() => {
            i64::try_from(decimal).ok().map(OwnedValue::Long)
        }
        (ParameterType::Decimal, value @ OwnedValue::Decimal(_)) => Some(value),
        (ParameterType::Decimal, OwnedValue::Long(number)) => {
            Some(OwnedValue::Decimal(Decimal::from(number)))
        }
        (ParameterType::Date, value @ (OwnedValue::Date(_) | OwnedValue::DateTime(_))) => {
            Some(value)
        }
        (ParameterType::Date, OwnedValue::Text(text)) => parse_date(&text),
        (ParameterType::Map, value @ OwnedValue::Map(_)) => Some(value),
        (ParameterType::List, value @ OwnedValue::List(_)) => Some(value),
        (ParameterType::Bool, value @ OwnedValue::Boolean(_)) => Some(value),
        (_, _) => None,
    };
    converted.ok_or_else(|| {
        format!(
            "the argument {:?} must be {} ({}), but it is not",
            parameter.name,
            parameter_type.expectation(),
            parameter_type.as_str(),
        )
    })
}

fn parse_date(text: &str) -> Option<OwnedValue> {
    let text = text.trim();
    for format in ["%Y-%m-%d", "%d-%b-%Y", "%d/%m/%Y"] {
        if let Ok(date) = NaiveDate::parse_from_str(text, format) {
            return Some(OwnedValue::Date(date));
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%d-%b-%Y %H:%M:%S",
    ] {
        if let Ok(date_time) = NaiveDateTime::parse_from_str(text, format) {
            return Some(OwnedValue::DateTime(date_time));
        }
    }
    None
}

fn type_list() -> String {
    ParameterType::ALL
        .iter()
        .map(|parameter_type| parameter_type.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn signature(parameters: &[StoredFunctionParameter]) -> String {
    let declared: Vec<String> = parameters
        .iter()
        .map(|parameter| format!("{} {}", parameter.parameter_type, parameter.name))
        .collect();
    format!("({})", declared.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameter(name: &str, parameter_type: &str) -> StoredFunctionParameter {
        StoredFunctionParameter {
            name: name.to_owned(),
            parameter_type: parameter_type.to_owned(),
        }
    }

    fn function(parameters: Vec<StoredFunctionParameter>) -> StoredFunction {
        StoredFunction {
            id: "0190f1e2-7c4a-7d3e-9b1a-2f3c4d5e6f70".parse().unwrap(),
            organization_id: "0190f1e2-7c4a-7d3e-9b1a-2f3c4d5e6f71".parse().unwrap(),
            environment: trestle_store::EnvironmentKind::Sandbox,
            name: "syncContact".to_owned(),
            parameters,
            script: "return 1;".to_owned(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
            created_by: trestle_store::Actor::System,
            updated_by: trestle_store::Actor::System,
        }
    }

    fn field_of(error: RuntimeError) -> String {
        match error {
            RuntimeError::InvalidFunction { field, .. } => field,
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn names_follow_deluge_identifier_rules() {
        assert!(validate_function("sync_Contact2", &[], "return 1;").is_ok());
        for bad in ["", "2fast", "has space", "dash-ed", "If", "run", "héllo"] {
            let error = validate_function(bad, &[], "return 1;").unwrap_err();
            assert_eq!(error.code(), "FUNCTION_INVALID", "{bad}");
            assert_eq!(field_of(error), "name");
        }
    }

    #[test]
    fn parameters_need_known_types_and_distinct_names() {
        let error = validate_function(
            "f",
            &[parameter("a", "int"), parameter("b", "number")],
            "return a;",
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("string, int, decimal, date, map, list, bool")
        );
        assert_eq!(field_of(error), "parameters[1].type");
        let error = validate_function(
            "f",
            &[parameter("a", "int"), parameter("A", "map")],
            "return a;",
        )
        .unwrap_err();
        assert_eq!(field_of(error), "parameters[1].name");
        assert!(validate_function("f", &[parameter("a", "MAP")], "return a;").is_ok());
        assert_eq!(
            normalized_parameters(vec![parameter("a", "MAP")]),
            vec![parameter("a", "map")]
        );
    }

    #[test]
    fn a_script_that_does_not_compile_is_refused_with_its_location() {
        let error = validate_function("f", &[], "x = ;\nreturn x;").unwrap_err();
        assert!(error.to_string().contains("line 1"), "{error}");
        assert_eq!(field_of(error), "script");
    }

    #[test]
    fn json_arguments_are_checked_against_the_declared_types() {
        let function = function(vec![
            parameter("id", "int"),
            parameter("amount", "decimal"),
            parameter("when", "date"),
            parameter("payload", "map"),
            parameter("tags", "list"),
            parameter("active", "bool"),
            parameter("note", "string"),
        ]);
        let arguments = serde_json::json!({
            "id": 42, "amount": 3, "when": "28-Nov-2026", "payload": {"a": 1},
            "tags": ["x"], "active": true, "note": null
        });
        let checked = arguments_from_json(&function, arguments.as_object().unwrap()).unwrap();
        assert_eq!(checked[0], ("id".to_owned(), OwnedValue::Long(42)));
        assert_eq!(
            checked[1],
            ("amount".to_owned(), OwnedValue::Decimal(Decimal::from(3)))
        );
        assert_eq!(
            checked[2],
            (
                "when".to_owned(),
                OwnedValue::Date(NaiveDate::from_ymd_opt(2026, 11, 28).unwrap())
            )
        );
        assert_eq!(checked[6], ("note".to_owned(), OwnedValue::Null));

        let wrong = serde_json::json!({
            "id": "42", "amount": 3, "when": "2026-11-28", "payload": {}, "tags": [],
            "active": true, "note": "x"
        });
        let error = arguments_from_json(&function, wrong.as_object().unwrap()).unwrap_err();
        assert_eq!(error.code(), "FUNCTION_ARGUMENTS_INVALID");
        assert!(
            error
                .to_string()
                .contains("\"id\" must be a whole number (int)"),
            "{error}"
        );

        let missing = serde_json::json!({ "id": 1 });
        let error = arguments_from_json(&function, missing.as_object().unwrap()).unwrap_err();
        assert!(
            error.to_string().contains("needs the argument \"amount\""),
            "{error}"
        );

        let unknown = serde_json::json!({ "identifier": 1 });
        let error = arguments_from_json(&function, unknown.as_object().unwrap()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("no argument named \"identifier\""),
            "{error}"
        );
    }

    #[test]
    fn positional_arguments_need_the_declared_count_and_types() {
        let function = function(vec![parameter("n", "int")]);
        assert_eq!(
            arguments_from_call(&function, &[OwnedValue::Long(1)]).unwrap(),
            vec![("n".to_owned(), OwnedValue::Long(1))]
        );
        let error = arguments_from_call(&function, &[]).unwrap_err();
        assert!(
            error.contains("takes 1 argument(s), (int n), but the call passes 0"),
            "{error}"
        );
        let error = arguments_from_call(&function, &[OwnedValue::Text("1".into())]).unwrap_err();
        assert!(error.contains("must be a whole number"), "{error}");
    }

    #[test]
    fn calls_name_functions_with_or_without_their_category() {
        assert_eq!(called_function_name("standalone.fmt"), "fmt");
        assert_eq!(called_function_name("fmt"), "fmt");
    }
}
