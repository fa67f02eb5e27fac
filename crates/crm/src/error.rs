//! Bigin's error vocabulary. Request-level errors reject a whole call; record-level errors
//! describe one record of a batch and travel inside `data[i]`.

use serde::Serialize;
use serde_json::{Map, Value, json};

/// A request-level error in Bigin's shape: `{"code","details","message","status":"error"}`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CrmError {
    #[error("the module name given seems to be invalid")]
    InvalidModule { module: String },
    #[error("One of the expected parameter is missing")]
    RequiredParamMissing { param: String },
    #[error("{message}")]
    InvalidRequest { message: String, details: Value },
    #[error("the criteria given is not in the expected pattern: {reason}")]
    PatternNotMatched { reason: String, position: usize },
    #[error("the limit of {limit} {what} per request was exceeded")]
    LimitExceeded { limit: usize, what: &'static str },
    #[error("the field api name given seems to be invalid")]
    InvalidField { api_name: String },
    #[error("the module definition is not valid: {message}")]
    InvalidDefinition { message: String, api_name: String },
    #[error("duplicate data")]
    DuplicateDefinition { api_name: String },
}

impl CrmError {
    /// The stable machine code, identical to Bigin's `code` for the same failure.
    pub fn code(&self) -> &'static str {
        match self {
            CrmError::InvalidModule { .. } => "INVALID_MODULE",
            CrmError::RequiredParamMissing { .. } => "REQUIRED_PARAM_MISSING",
            CrmError::InvalidRequest { .. } => "INVALID_REQUEST",
            CrmError::PatternNotMatched { .. } => "PATTERN_NOT_MATCHED",
            CrmError::LimitExceeded { .. } => "LIMIT_EXCEEDED",
            CrmError::InvalidField { .. } => "INVALID_DATA",
            CrmError::InvalidDefinition { .. } => "INVALID_DATA",
            CrmError::DuplicateDefinition { .. } => "DUPLICATE_DATA",
        }
    }

    /// The HTTP status Bigin answers with.
    pub fn http_status(&self) -> u16 {
        400
    }

    /// The `details` object of Bigin's error body.
    pub fn details(&self) -> Value {
        match self {
            CrmError::InvalidModule { module } => json!({ "module": module }),
            CrmError::RequiredParamMissing { param } => json!({ "param_name": param }),
            CrmError::InvalidRequest { details, .. } => details.clone(),
            CrmError::PatternNotMatched { reason, position } => {
                json!({ "reason": reason, "position": position })
            }
            CrmError::LimitExceeded { limit, .. } => json!({ "limit": limit }),
            CrmError::InvalidField { api_name } => json!({ "api_name": api_name }),
            CrmError::InvalidDefinition { api_name, .. } => json!({ "api_name": api_name }),
            CrmError::DuplicateDefinition { api_name } => json!({ "api_name": api_name }),
        }
    }

    /// The whole body: `{"code":..,"details":..,"message":..,"status":"error"}`.
    pub fn to_body(&self) -> Value {
        json!({
            "code": self.code(),
            "details": self.details(),
            "message": self.to_string(),
            "status": "error",
        })
    }
}

/// Why one record of a write was refused. Serializes to Bigin's per-record error item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordError {
    pub code: RecordErrorCode,
    pub message: String,
    pub details: Map<String, Value>,
}

/// The codes a single record can fail with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordErrorCode {
    InvalidData,
    MandatoryNotFound,
    DuplicateData,
    AmbiguityDuringProcessing,
}

impl RecordErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordErrorCode::InvalidData => "INVALID_DATA",
            RecordErrorCode::MandatoryNotFound => "MANDATORY_NOT_FOUND",
            RecordErrorCode::DuplicateData => "DUPLICATE_DATA",
            RecordErrorCode::AmbiguityDuringProcessing => "AMBIGUITY_DURING_PROCESSING",
        }
    }
}

impl RecordError {
    /// A field that a write must carry is absent or empty.
    pub fn mandatory_not_found(api_name: &str, record_index: usize) -> RecordError {
        let mut details = Map::new();
        details.insert("api_name".into(), Value::from(api_name));
        details.insert(
            "json_path".into(),
            Value::from(json_path(record_index, api_name)),
        );
        RecordError {
            code: RecordErrorCode::MandatoryNotFound,
            message: "required field not found".into(),
            details,
        }
    }

    /// A field value does not fit the field's type or limits.
    pub fn invalid_data(
        api_name: &str,
        record_index: usize,
        expected_data_type: Option<&str>,
        maximum_length: Option<usize>,
    ) -> RecordError {
        let mut details = Map::new();
        details.insert("api_name".into(), Value::from(api_name));
        details.insert(
            "json_path".into(),
            Value::from(json_path(record_index, api_name)),
        );
        if let Some(expected) = expected_data_type {
            details.insert("expected_data_type".into(), Value::from(expected));
        }
        if let Some(maximum) = maximum_length {
            details.insert("maximum_length".into(), Value::from(maximum));
        }
        RecordError {
            code: RecordErrorCode::InvalidData,
            message: "invalid data".into(),
            details,
        }
    }

    /// The record names a field the module does not have.
    pub fn unknown_field(api_name: &str, record_index: usize) -> RecordError {
        let mut error = RecordError::invalid_data(api_name, record_index, None, None);
        error.message = "the field api name given seems to be invalid".into();
        error
    }

    /// The id (of the record itself or of a lookup) does not name an existing record.
    pub fn invalid_id(id: &str) -> RecordError {
        let mut details = Map::new();
        details.insert("id".into(), Value::from(id));
        RecordError {
            code: RecordErrorCode::InvalidData,
            message: "the related id given seems to be invalid".into(),
            details,
        }
    }

    /// A unique field already holds this value in another record.
    pub fn duplicate(api_name: &str, record_index: usize, existing_id: &str) -> RecordError {
        let mut details = Map::new();
        details.insert("api_name".into(), Value::from(api_name));
        details.insert(
            "json_path".into(),
            Value::from(json_path(record_index, api_name)),
        );
        details.insert("id".into(), Value::from(existing_id));
        details.insert("duplicate_record".into(), json!({ "id": existing_id }));
        RecordError {
            code: RecordErrorCode::DuplicateData,
            message: "duplicate data".into(),
            details,
        }
    }

    /// The whole per-record item: `{"code","details","message","status":"error"}`.
    pub fn to_item(&self) -> Value {
        json!({
            "code": self.code.as_str(),
            "details": self.details,
            "message": self.message,
            "status": "error",
        })
    }
}

fn json_path(record_index: usize, api_name: &str) -> String {
    format!("$.data[{record_index}].{api_name}")
}
