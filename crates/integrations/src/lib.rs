//! Integration tasks: `zoho.bigin.*`, `zoho.crm.*` and `zoho.books.*` (with its siblings
//! `zoho.invoice.*` and `zoho.inventory.*`) turned into plain HTTP requests against the
//! service's REST API, and the REST answer turned back into what the task returns to the
//! script. This crate performs no IO: the host sends the planned request through the named
//! connection (which supplies the API base URL and the credential) and hands the answer to
//! [`shape_response`].
//!
//! Return shapes, decided once here:
//! - `zoho.bigin.*` returns the REST body as Bigin sends it (the `{"data":[...]}` envelope),
//!   because the seed script reads `zoho.bigin.getRecordById(...).get("data").get(0)`; for the
//!   other Bigin tasks the reference leaves the shape open and says to prefer the envelope.
//!   A 204 becomes an empty map.
//! - `zoho.crm.*` unwraps as Zoho CRM documents: a record map, a list of record maps, or the
//!   `details` map of a write; 204 becomes `{}` (single) or `[]` (lists).
//! - `zoho.books.*` returns the whole Books JSON response (`{"code":0,"message":..,...}`).
//! - Failures never throw: the error body (Bigin's `{"code","details","message","status"}`
//!   or Books' `{"code":1002,"message":..}`) is returned to the script, as Zoho does.

use serde_json::{Map, Value, json};

mod arguments;

use arguments::TaskArguments;

/// Which REST API a task talks to; the connection's service must be of this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceFamily {
    Bigin,
    Crm,
    Books,
    Invoice,
    Inventory,
}

impl ServiceFamily {
    /// The key of the default service a connection for this family uses.
    pub fn default_service_key(self) -> &'static str {
        match self {
            ServiceFamily::Bigin => "bigin",
            ServiceFamily::Crm => "zoho_crm",
            ServiceFamily::Books => "zoho_books",
            ServiceFamily::Invoice => "zoho_invoice",
            ServiceFamily::Inventory => "zoho_inventory",
        }
    }
}

/// HTTP methods a task uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum TaskMethod {
    Get,
    Post,
    Put,
    Delete,
}

impl TaskMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskMethod::Get => "GET",
            TaskMethod::Post => "POST",
            TaskMethod::Put => "PUT",
            TaskMethod::Delete => "DELETE",
        }
    }
}

/// How to turn the REST answer into the task's return value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseShape {
    /// The body as sent (Bigin, Books).
    WholeBody,
    /// `data[0]` (CRM single record).
    FirstRecord,
    /// `data` as a list (CRM list and search).
    RecordList,
    /// `data[0].details` on success, `data[0]` on failure (CRM writes).
    FirstDetails,
}

/// A planned REST call. `path` is relative to the connection's API base URL (for Bigin
/// `{api_domain}/bigin/v2`, for Books `{api_domain}/books/v3`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TaskPlan {
    pub family: ServiceFamily,
    pub task: String,
    pub method: TaskMethod,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub json_body: Option<Value>,
    /// The link name of the connection to send it through, when the script named one.
    pub connection: Option<String>,
    pub shape: ResponseShape,
}

/// Why a task call could not be planned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IntegrationError {
    #[error(
        "zoho.{service} tasks are not supported; Trestle runs zoho.bigin, zoho.crm, zoho.books, zoho.invoice and zoho.inventory tasks"
    )]
    UnknownService { service: String },
    #[error("zoho.{service}.{task} is not a known task; known tasks are: {known}")]
    UnknownTask {
        service: String,
        task: String,
        known: String,
    },
    #[error("zoho.{service}.{task} takes {expected}; it was given {given} argument(s)")]
    WrongArgumentCount {
        service: String,
        task: String,
        expected: String,
        given: usize,
    },
    #[error("argument {position} ({name}) of zoho.{service}.{task} must be {expected}; got {got}")]
    WrongArgumentType {
        service: String,
        task: String,
        position: usize,
        name: &'static str,
        expected: &'static str,
        got: String,
    },
}

impl IntegrationError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            IntegrationError::UnknownService { .. } => "INTEGRATION_UNKNOWN_SERVICE",
            IntegrationError::UnknownTask { .. } => "INTEGRATION_UNKNOWN_TASK",
            IntegrationError::WrongArgumentCount { .. } => "INTEGRATION_ARGUMENT_COUNT",
            IntegrationError::WrongArgumentType { .. } => "INTEGRATION_ARGUMENT_TYPE",
        }
    }
}

/// Plans `zoho.<service>.<task>(arguments)`. Service and task names match case-insensitively;
/// `zoho.crm.v8.<task>` is accepted as `zoho.crm.<task>`.
pub fn plan_task(
    service: &str,
    task: &str,
    arguments: &[Value],
) -> Result<TaskPlan, IntegrationError> {
    let service_lower = service.to_ascii_lowercase();
    let service_name = service_lower.strip_suffix(".v8").unwrap_or(&service_lower);
    let family = match service_name {
        "bigin" => ServiceFamily::Bigin,
        "crm" => ServiceFamily::Crm,
        "books" => ServiceFamily::Books,
        "invoice" => ServiceFamily::Invoice,
        "inventory" => ServiceFamily::Inventory,
        _ => {
            return Err(IntegrationError::UnknownService {
                service: service.to_string(),
            });
        }
    };
    let task_lower = task.to_ascii_lowercase();
    let arguments = TaskArguments::new(service_name, task, arguments);
    match family {
        ServiceFamily::Bigin | ServiceFamily::Crm => {
            plan_records_task(family, &task_lower, arguments)
        }
        _ => plan_books_task(family, &task_lower, arguments),
    }
}

fn plan_records_task(
    family: ServiceFamily,
    task: &str,
    arguments: TaskArguments<'_>,
) -> Result<TaskPlan, IntegrationError> {
    let unwrap = family == ServiceFamily::Crm;
    let plan = |method, path: String, query, json_body, connection, crm_shape| TaskPlan {
        family,
        task: arguments.task_name().to_string(),
        method,
        path,
        query,
        json_body,
        connection,
        shape: if unwrap {
            crm_shape
        } else {
            ResponseShape::WholeBody
        },
    };
    match task {
        "getrecordbyid" => {
            // (module, id, [query_map], [connection])
            let values = arguments.bind(2, &[Slot::Map])?;
            let module = values.text(0, "module")?;
            let id = values.id(1, "record_id")?;
            let query = values.optional_map_as_query(2);
            Ok(plan(
                TaskMethod::Get,
                format!("/{module}/{id}"),
                query,
                None,
                values.connection,
                ResponseShape::FirstRecord,
            ))
        }
        "getrecords" => {
            // (module, [page], [per_page], [query_map], [connection])
            let values = arguments.bind(1, &[Slot::Number, Slot::Number, Slot::Map])?;
            let module = values.text(0, "module")?;
            let mut query = values.optional_map_as_query(3);
            push_page(
                &mut query,
                values.optional_number(1, "page")?,
                values.optional_number(2, "per_page")?,
            );
            Ok(plan(
                TaskMethod::Get,
                format!("/{module}"),
                query,
                None,
                values.connection,
                ResponseShape::RecordList,
            ))
        }
        "searchrecords" => {
            // (module, criteria, [page], [per_page], [search_type or map], [connection])
            let values = arguments.bind(2, &[Slot::Number, Slot::Number, Slot::Any])?;
            let module = values.text(0, "module")?;
            let criteria = values.text(1, "criteria")?;
            let mut query = Vec::new();
            let search_kind = values
                .optional_text(4)
                .unwrap_or_else(|| "criteria".to_string());
            let search_kind = match search_kind.to_ascii_lowercase().as_str() {
                kind @ ("email" | "phone" | "word") => kind.to_string(),
                _ => "criteria".to_string(),
            };
            query.push((search_kind, criteria));
            push_page(
                &mut query,
                values.optional_number(2, "page")?,
                values.optional_number(3, "per_page")?,
            );
            Ok(plan(
                TaskMethod::Get,
                format!("/{module}/search"),
                query,
                None,
                values.connection,
                ResponseShape::RecordList,
            ))
        }
        "createrecord" | "create" => {
            // (module, data_map, [options_map], [connection])
            let values = arguments.bind(2, &[Slot::Map])?;
            let module = values.text(0, "module")?;
            let record = values.map(1, "record")?;
            let body = write_body(vec![Value::Object(record)], values.optional_map(2));
            Ok(plan(
                TaskMethod::Post,
                format!("/{module}"),
                Vec::new(),
                Some(body),
                values.connection,
                ResponseShape::FirstDetails,
            ))
        }
        "updaterecord" | "update" => {
            // (module, id, data_map, [options_map], [connection])
            let values = arguments.bind(3, &[Slot::Map])?;
            let module = values.text(0, "module")?;
            let id = values.id(1, "record_id")?;
            let mut record = values.map(2, "record")?;
            record.insert("id".into(), Value::String(id.clone()));
            let body = write_body(vec![Value::Object(record)], values.optional_map(3));
            Ok(plan(
                TaskMethod::Put,
                format!("/{module}/{id}"),
                Vec::new(),
                Some(body),
                values.connection,
                ResponseShape::FirstDetails,
            ))
        }
        "upsert" => {
            // (module, data_map, [options_map], [connection]); options may carry duplicate_check_fields
            let values = arguments.bind(2, &[Slot::Map])?;
            let module = values.text(0, "module")?;
            let record = values.map(1, "record")?;
            let body = write_body(vec![Value::Object(record)], values.optional_map(2));
            Ok(plan(
                TaskMethod::Post,
                format!("/{module}/upsert"),
                Vec::new(),
                Some(body),
                values.connection,
                ResponseShape::FirstDetails,
            ))
        }
        "bulkcreate" | "createrecords" | "bulkupdate" => {
            let values = arguments.bind(2, &[Slot::Map])?;
            let module = values.text(0, "module")?;
            let records = values.list(1, "records")?;
            let is_update = task == "bulkupdate";
            let body = write_body(records, values.optional_map(2));
            let method = if is_update {
                TaskMethod::Put
            } else {
                TaskMethod::Post
            };
            Ok(plan(
                method,
                format!("/{module}"),
                Vec::new(),
                Some(body),
                values.connection,
                ResponseShape::WholeBody,
            ))
        }
        "deleterecord" => {
            // (module, id, [connection])
            let values = arguments.bind(2, &[])?;
            let module = values.text(0, "module")?;
            let id = values.id(1, "record_id")?;
            Ok(plan(
                TaskMethod::Delete,
                format!("/{module}/{id}"),
                Vec::new(),
                None,
                values.connection,
                ResponseShape::FirstRecord,
            ))
        }
        "getrelatedrecords" => {
            // (relation_name, parent_module, parent_id, [page], [per_page], [query_map], [connection])
            let values = arguments.bind(3, &[Slot::Number, Slot::Number, Slot::Map])?;
            let relation = values.text(0, "relation_name")?;
            let parent_module = values.text(1, "parent_module")?;
            let parent_id = values.id(2, "parent_id")?;
            let mut query = values.optional_map_as_query(5);
            push_page(
                &mut query,
                values.optional_number(3, "page")?,
                values.optional_number(4, "per_page")?,
            );
            Ok(plan(
                TaskMethod::Get,
                format!("/{parent_module}/{parent_id}/{relation}"),
                query,
                None,
                values.connection,
                ResponseShape::RecordList,
            ))
        }
        "updaterelatedrecord" => {
            // (relation_name, related_id, parent_module, parent_id, data_map, [connection])
            let values = arguments.bind(5, &[])?;
            let relation = values.text(0, "relation_name")?;
            let related_id = values.id(1, "related_id")?;
            let parent_module = values.text(2, "parent_module")?;
            let parent_id = values.id(3, "parent_id")?;
            let record = values.map(4, "record")?;
            let body = json!({ "data": [Value::Object(record)] });
            Ok(plan(
                TaskMethod::Put,
                format!("/{parent_module}/{parent_id}/{relation}/{related_id}"),
                Vec::new(),
                Some(body),
                values.connection,
                ResponseShape::FirstDetails,
            ))
        }
        _ => Err(arguments.unknown_task(&[
            "getRecordById",
            "getRecords",
            "searchRecords",
            "createRecord",
            "updateRecord",
            "upsert",
            "bulkCreate",
            "bulkUpdate",
            "deleteRecord",
            "getRelatedRecords",
            "updateRelatedRecord",
        ])),
    }
}

fn plan_books_task(
    family: ServiceFamily,
    task: &str,
    arguments: TaskArguments<'_>,
) -> Result<TaskPlan, IntegrationError> {
    let plan = |method, path: String, query, json_body, connection| TaskPlan {
        family,
        task: arguments.task_name().to_string(),
        method,
        path,
        query,
        json_body,
        connection,
        shape: ResponseShape::WholeBody,
    };
    match task {
        "getrecords" => {
            // (module, org_id, [search map or "k=v&k2=v2" text], [connection])
            let values = arguments.bind(2, &[Slot::Any])?;
            let module = books_module(&values.text(0, "module")?);
            let organization_id = values.id_or_text(1, "org_id")?;
            let mut query = vec![("organization_id".to_string(), organization_id)];
            match values.get(2) {
                Some(Value::Object(map)) => query.extend(map_to_query(map)),
                Some(Value::String(text)) if !text.is_empty() => {
                    query.extend(parse_query_text(text))
                }
                _ => {}
            }
            Ok(plan(
                TaskMethod::Get,
                format!("/{module}"),
                query,
                None,
                values.connection,
            ))
        }
        "getrecordsbyid" | "getrecordbyid" => {
            let values = arguments.bind(3, &[])?;
            let module = books_module(&values.text(0, "module")?);
            let organization_id = values.id_or_text(1, "org_id")?;
            let id = values.id_or_text(2, "record_id")?;
            Ok(plan(
                TaskMethod::Get,
                format!("/{module}/{id}"),
                vec![("organization_id".into(), organization_id)],
                None,
                values.connection,
            ))
        }
        "createrecord" => {
            let values = arguments.bind(3, &[])?;
            let module = books_module(&values.text(0, "module")?);
            let organization_id = values.id_or_text(1, "org_id")?;
            let record = values.map(2, "record")?;
            Ok(plan(
                TaskMethod::Post,
                format!("/{module}"),
                vec![("organization_id".into(), organization_id)],
                Some(Value::Object(record)),
                values.connection,
            ))
        }
        "updaterecord" => {
            let values = arguments.bind(4, &[])?;
            let module = books_module(&values.text(0, "module")?);
            let organization_id = values.id_or_text(1, "org_id")?;
            let id = values.id_or_text(2, "record_id")?;
            let record = values.map(3, "record")?;
            Ok(plan(
                TaskMethod::Put,
                format!("/{module}/{id}"),
                vec![("organization_id".into(), organization_id)],
                Some(Value::Object(record)),
                values.connection,
            ))
        }
        "deleterecord" => {
            let values = arguments.bind(3, &[])?;
            let module = books_module(&values.text(0, "module")?);
            let organization_id = values.id_or_text(1, "org_id")?;
            let id = values.id_or_text(2, "record_id")?;
            Ok(plan(
                TaskMethod::Delete,
                format!("/{module}/{id}"),
                vec![("organization_id".into(), organization_id)],
                None,
                values.connection,
            ))
        }
        "getorganization" | "getorganizations" => {
            let values = arguments.bind(0, &[])?;
            Ok(plan(
                TaskMethod::Get,
                "/organizations".into(),
                Vec::new(),
                None,
                values.connection,
            ))
        }
        _ => Err(arguments.unknown_task(&[
            "getRecords",
            "getRecordsByID",
            "createRecord",
            "updateRecord",
            "deleteRecord",
            "getOrganization",
        ])),
    }
}

/// Turns the REST answer into the task's return value. `body` is the parsed JSON body, or
/// `None` for an empty body (204) or a body that was not JSON.
pub fn shape_response(plan: &TaskPlan, status: u16, body: Option<Value>) -> Value {
    let Some(body) = body else {
        return match plan.shape {
            ResponseShape::RecordList => Value::Array(Vec::new()),
            _ if status >= 400 => json!({
                "code": "INTERNAL_ERROR",
                "details": { "status": status },
                "message": format!("the service answered HTTP {status} with no JSON body"),
                "status": "error",
            }),
            _ => Value::Object(Map::new()),
        };
    };
    match plan.shape {
        ResponseShape::WholeBody => body,
        ResponseShape::FirstRecord => first_data_item(&body).unwrap_or(body),
        ResponseShape::RecordList => match body.get("data") {
            Some(Value::Array(records)) => Value::Array(records.clone()),
            _ => body,
        },
        ResponseShape::FirstDetails => match first_data_item(&body) {
            Some(item) if item.get("status").and_then(Value::as_str) == Some("success") => {
                item.get("details").cloned().unwrap_or(item)
            }
            Some(item) => item,
            None => body,
        },
    }
}

fn first_data_item(body: &Value) -> Option<Value> {
    body.get("data")?.as_array()?.first().cloned()
}

fn push_page(query: &mut Vec<(String, String)>, page: Option<i64>, per_page: Option<i64>) {
    if let Some(page) = page {
        query.push(("page".into(), page.to_string()));
    }
    if let Some(per_page) = per_page {
        query.push(("per_page".into(), per_page.to_string()));
    }
}

/// The write envelope: `{"data":[...], "trigger":[...], "duplicate_check_fields":[...]}`.
/// Deluge tasks differ from REST in one default: when the script passes no options, Zoho
/// runs approvals and stage transitions but not workflows; Trestle has workflows only, so
/// "no options" means `"trigger": []`: a script's own writes start no workflow unless it
/// asks for one, which also keeps a workflow's function from re-triggering itself.
fn write_body(records: Vec<Value>, options: Option<Map<String, Value>>) -> Value {
    let mut body = Map::new();
    body.insert("data".into(), Value::Array(records));
    let mut trigger = Value::Array(Vec::new());
    if let Some(options) = options {
        for (key, value) in options {
            if key == "trigger" {
                trigger = value;
            } else {
                body.insert(key, value);
            }
        }
    }
    body.insert("trigger".into(), trigger);
    Value::Object(body)
}

/// Books module names are path segments in lower case (`Contacts` -> `contacts`).
fn books_module(module: &str) -> String {
    module.to_ascii_lowercase()
}

fn map_to_query(map: &Map<String, Value>) -> Vec<(String, String)> {
    map.iter()
        .filter(|(key, _)| !key.is_empty())
        .map(|(key, value)| (key.clone(), value_as_query_text(value)))
        .collect()
}

fn value_as_query_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn parse_query_text(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |part: &str| {
                percent_encoding::percent_decode_str(&part.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(key), decode(value))
        })
        .collect()
}

/// What an optional positional argument may hold, so a trailing text can be recognised as
/// the connection link name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Map,
    Number,
    Any,
}

#[cfg(test)]
mod tests;
