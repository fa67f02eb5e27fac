//! Field-by-field validation of record writes. A write either produces a normalized set of
//! field values or the one Bigin error that describes what is wrong with the record; it never
//! half-applies. Lookups are normalized to `{"id": "..."}` here; whether the id exists is for
//! the storage layer to check, because it needs the database.

use chrono::{DateTime, NaiveDate};
use serde_json::{Map, Number, Value};

use crate::error::RecordError;
use crate::schema::{FieldDefinition, FieldType, ModuleDefinition};

/// Whether the record is being created (mandatory fields must be present) or changed (only
/// the supplied fields change; supplying an empty mandatory field is still an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    Insert,
    Update,
}

/// Validates one record of a write request. `record_index` is its position in `data`, used
/// for the `json_path` Bigin reports. Returns the normalized field values to store (server-
/// maintained and `$`-prefixed keys dropped, `id` dropped: the caller handles ids).
pub fn validate_record(
    module: &ModuleDefinition,
    input: &Map<String, Value>,
    mode: WriteMode,
    record_index: usize,
) -> Result<Map<String, Value>, RecordError> {
    let mut normalized = Map::new();
    for (api_name, value) in input {
        if api_name == "id" || api_name.starts_with('$') {
            continue;
        }
        let Some(field) = module.field(api_name) else {
            return Err(RecordError::unknown_field(api_name, record_index));
        };
        if field.read_only {
            // Bigin ignores writes to server-maintained fields rather than failing the record.
            continue;
        }
        let normalized_value = normalize_value(field, value, record_index)?;
        normalized.insert(api_name.clone(), normalized_value);
    }
    for field in module.fields.iter().filter(|field| field.system_mandatory) {
        let supplied = normalized.get(&field.api_name);
        let missing = match mode {
            WriteMode::Insert => supplied.is_none_or(is_empty_value),
            WriteMode::Update => supplied.is_some_and(is_empty_value),
        };
        if missing {
            return Err(RecordError::mandatory_not_found(
                &field.api_name,
                record_index,
            ));
        }
    }
    Ok(normalized)
}

/// Fills the fields the server derives from others (a Contact's `Full_Name`), given the
/// record's complete stored values after a write.
pub fn apply_computed_fields(module: &ModuleDefinition, record: &mut Map<String, Value>) {
    if module.api_name == "Contacts" {
        let first = record
            .get("First_Name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let last = record
            .get("Last_Name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let full_name = format!("{first} {last}").trim().to_string();
        record.insert("Full_Name".into(), Value::from(full_name));
    }
}

fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.trim().is_empty(),
        _ => false,
    }
}

fn normalize_value(
    field: &FieldDefinition,
    value: &Value,
    record_index: usize,
) -> Result<Value, RecordError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let invalid = || {
        RecordError::invalid_data(
            &field.api_name,
            record_index,
            Some(field.data_type.data_type()),
            None,
        )
    };
    match field.data_type {
        FieldType::Text
        | FieldType::Textarea
        | FieldType::Phone
        | FieldType::Website
        | FieldType::Picklist => {
            // Numbers and booleans are accepted as text, as Bigin does for API writes.
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Number(number) => number.to_string(),
                Value::Bool(flag) => flag.to_string(),
                _ => return Err(invalid()),
            };
            check_length(field, &text, record_index)?;
            Ok(Value::String(text))
        }
        FieldType::Email => {
            let text = value.as_str().ok_or_else(invalid)?;
            check_length(field, text, record_index)?;
            if text.is_empty() {
                return Ok(Value::String(String::new()));
            }
            if !looks_like_email(text) {
                return Err(invalid());
            }
            Ok(Value::String(text.to_string()))
        }
        FieldType::Multiselectpicklist => {
            let items = value.as_array().ok_or_else(invalid)?;
            let mut texts = Vec::with_capacity(items.len());
            for item in items {
                texts.push(Value::String(
                    item.as_str().ok_or_else(invalid)?.to_string(),
                ));
            }
            Ok(Value::Array(texts))
        }
        FieldType::Date => {
            let text = value.as_str().ok_or_else(invalid)?;
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| invalid())?;
            Ok(Value::String(date.format("%Y-%m-%d").to_string()))
        }
        FieldType::Datetime => {
            let text = value.as_str().ok_or_else(invalid)?;
            let moment = DateTime::parse_from_rfc3339(text).map_err(|_| invalid())?;
            Ok(Value::String(
                moment.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            ))
        }
        FieldType::Integer | FieldType::Bigint => {
            let number = match value {
                Value::Number(number) => number.as_i64(),
                Value::String(text) => text.trim().parse::<i64>().ok(),
                _ => None,
            }
            .ok_or_else(invalid)?;
            let limit = if field.data_type == FieldType::Integer {
                i64::from(i32::MAX)
            } else {
                i64::MAX
            };
            if number.unsigned_abs() > limit.unsigned_abs() {
                return Err(invalid());
            }
            Ok(Value::Number(Number::from(number)))
        }
        FieldType::Double | FieldType::Decimal | FieldType::Currency => {
            let number = match value {
                Value::Number(number) => Some(number.clone()),
                Value::String(text) => text
                    .trim()
                    .parse::<rust_decimal::Decimal>()
                    .ok()
                    .and_then(|decimal| serde_json::from_str::<Number>(&decimal.to_string()).ok()),
                _ => None,
            }
            .ok_or_else(invalid)?;
            Ok(Value::Number(number))
        }
        FieldType::Boolean => match value {
            Value::Bool(flag) => Ok(Value::Bool(*flag)),
            Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(invalid()),
        },
        FieldType::Lookup | FieldType::Ownerlookup => {
            let id = match value {
                Value::Object(object) => object.get("id").and_then(id_text),
                other => id_text(other),
            }
            .ok_or_else(invalid)?;
            let mut lookup = Map::new();
            lookup.insert("id".into(), Value::String(id));
            Ok(Value::Object(lookup))
        }
        FieldType::Tag => {
            let items = value.as_array().ok_or_else(invalid)?;
            let mut tags = Vec::with_capacity(items.len());
            for item in items {
                let name = match item {
                    Value::String(name) => name.clone(),
                    Value::Object(object) => object
                        .get("name")
                        .and_then(Value::as_str)
                        .ok_or_else(invalid)?
                        .to_string(),
                    _ => return Err(invalid()),
                };
                if name.trim().is_empty() || name.chars().count() > 25 {
                    return Err(invalid());
                }
                let mut tag = Map::new();
                tag.insert("name".into(), Value::String(name));
                tags.push(Value::Object(tag));
            }
            Ok(Value::Array(tags))
        }
    }
}

/// Ids arrive as numeric strings or as JSON numbers; both mean the same record.
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if is_record_id(text) => Some(text.clone()),
        Value::Number(number) => number.as_u64().map(|id| id.to_string()),
        _ => None,
    }
}

/// Record ids are numeric strings of 1 to 19 digits.
pub fn is_record_id(text: &str) -> bool {
    !text.is_empty() && text.len() <= 19 && text.bytes().all(|byte| byte.is_ascii_digit())
}

fn check_length(
    field: &FieldDefinition,
    text: &str,
    record_index: usize,
) -> Result<(), RecordError> {
    if let Some(maximum) = field.length
        && text.chars().count() > maximum
    {
        return Err(RecordError::invalid_data(
            &field.api_name,
            record_index,
            Some(field.data_type.data_type()),
            Some(maximum),
        ));
    }
    Ok(())
}

fn looks_like_email(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::standard_modules;
    use serde_json::json;

    fn contacts() -> ModuleDefinition {
        standard_modules().into_iter().next().unwrap()
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn insert_normalizes_values_and_drops_server_fields() {
        let record = object(json!({
            "Last_Name": "Natarajan", "Email": "priya@example.org",
            "Account_Name": {"id": "5725767000000524001"}, "Email_Opt_Out": "true",
            "Tag": ["VIP"], "Created_Time": "2020-01-01T00:00:00+00:00", "$state": "save",
            "Date_of_Birth": "1990-02-03"
        }));
        let normalized = validate_record(&contacts(), &record, WriteMode::Insert, 0).unwrap();
        assert_eq!(
            Value::Object(normalized),
            json!({"Last_Name": "Natarajan", "Email": "priya@example.org",
                   "Account_Name": {"id": "5725767000000524001"}, "Email_Opt_Out": true,
                   "Tag": [{"name": "VIP"}], "Date_of_Birth": "1990-02-03"})
        );
    }

    #[test]
    fn missing_mandatory_field_on_insert_names_it() {
        let error = validate_record(
            &contacts(),
            &object(json!({"First_Name": "A"})),
            WriteMode::Insert,
            3,
        )
        .unwrap_err();
        assert_eq!(
            error.to_item(),
            json!({"code": "MANDATORY_NOT_FOUND",
                   "details": {"api_name": "Last_Name", "json_path": "$.data[3].Last_Name"},
                   "message": "required field not found", "status": "error"})
        );
    }

    #[test]
    fn update_may_omit_mandatory_fields_but_not_blank_them() {
        let module = contacts();
        assert!(
            validate_record(
                &module,
                &object(json!({"Phone": "1"})),
                WriteMode::Update,
                0
            )
            .is_ok()
        );
        let error = validate_record(
            &module,
            &object(json!({"Last_Name": " "})),
            WriteMode::Update,
            0,
        )
        .unwrap_err();
        assert_eq!(error.code.as_str(), "MANDATORY_NOT_FOUND");
    }

    #[test]
    fn each_type_rejects_values_of_another_type() {
        let module = contacts();
        let cases = [
            ("Email", json!("not-an-email"), "email"),
            ("Email", json!(12), "email"),
            ("Date_of_Birth", json!("03/02/1990"), "date"),
            ("Email_Opt_Out", json!("maybe"), "boolean"),
            ("Account_Name", json!({"name": "Acme"}), "lookup"),
            ("Account_Name", json!("abc"), "lookup"),
            ("Tag", json!("VIP"), "tag"),
            ("Last_Name", json!({"a": 1}), "text"),
        ];
        for (api_name, value, expected) in cases {
            let mut record = Map::new();
            record.insert("Last_Name".into(), json!("X"));
            record.insert(api_name.into(), value.clone());
            let error = validate_record(&module, &record, WriteMode::Insert, 0)
                .expect_err(&format!("{api_name} = {value} should be refused"));
            assert_eq!(error.code.as_str(), "INVALID_DATA");
            assert_eq!(error.details["expected_data_type"], expected, "{api_name}");
            assert_eq!(error.details["api_name"], api_name);
        }
    }

    #[test]
    fn too_long_text_reports_the_maximum_length() {
        let record = object(json!({"Last_Name": "x".repeat(81)}));
        let error = validate_record(&contacts(), &record, WriteMode::Insert, 0).unwrap_err();
        assert_eq!(error.details["maximum_length"], 80);
    }

    #[test]
    fn unknown_field_is_invalid_data_with_its_name() {
        let record = object(json!({"Last_Name": "A", "Shoe_Size": 44}));
        let error = validate_record(&contacts(), &record, WriteMode::Insert, 1).unwrap_err();
        assert_eq!(
            error.message,
            "the field api name given seems to be invalid"
        );
        assert_eq!(error.details["json_path"], "$.data[1].Shoe_Size");
    }

    #[test]
    fn datetimes_are_normalized_to_seconds_with_offset() {
        let module = standard_modules()
            .into_iter()
            .find(|m| m.api_name == "Events")
            .unwrap();
        let record = object(json!({"Event_Title": "Demo",
            "Start_DateTime": "2026-10-07T10:00:00.123+05:30", "End_DateTime": "2026-10-07T11:00:00Z"}));
        let normalized = validate_record(&module, &record, WriteMode::Insert, 0).unwrap();
        assert_eq!(normalized["Start_DateTime"], "2026-10-07T10:00:00+05:30");
        assert_eq!(normalized["End_DateTime"], "2026-10-07T11:00:00+00:00");
    }

    #[test]
    fn full_name_is_derived() {
        let mut record = object(json!({"First_Name": "Priya", "Last_Name": "Natarajan"}));
        apply_computed_fields(&contacts(), &mut record);
        assert_eq!(record["Full_Name"], "Priya Natarajan");
    }
}
