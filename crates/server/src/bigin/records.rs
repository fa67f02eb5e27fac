//! Record endpoints: list, get, insert, update, upsert, delete, search, count.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use trestle_crm::scopes::{Operation, RequiredScope};
use trestle_crm::validate::{apply_computed_fields, is_record_id};
use trestle_crm::{
    FieldType, ModuleDefinition, RecordError, WriteMode, parse_criteria, validate_record,
};
use trestle_store::StoreError;
use trestle_store::crm::{
    BatchWrite, LookupReference, RecordChange, RecordCursor, RecordSort, StoredRecord, WriteOutcome,
};

use super::ApiVersion;
use super::caller::{
    BiginCaller, MAXIMUM_RECORDS_PER_WRITE, QueryParameters, WriteBody, load_module,
    selected_fields,
};
use super::render::{RenderContext, render_record, write_details};
use super::response::{BiginError, batch_status, json_response, no_content};
use crate::state::AppState;

/// Most records a list page or search page returns.
const MAXIMUM_PER_PAGE: u64 = 200;
/// Records reachable with `page` alone; beyond it a `page_token` is needed.
const PAGE_LIMIT_WITHOUT_TOKEN: u64 = 2000;
/// A page token works this long.
const PAGE_TOKEN_LIFETIME_SECONDS: i64 = 24 * 3600;

type Result<T> = std::result::Result<T, BiginError>;

/// One generator per process; ids mix time, a random process prefix and a counter.
static RECORD_IDS: std::sync::LazyLock<trestle_crm::RecordIdGenerator> =
    std::sync::LazyLock::new(trestle_crm::RecordIdGenerator::new);

async fn prepare(
    state: &AppState,
    headers: &HeaderMap,
    module_name: &str,
    operation: Operation,
) -> Result<(BiginCaller, ModuleDefinition)> {
    let caller = BiginCaller::authenticate(state, headers).await?;
    caller.require(RequiredScope::Module {
        module: module_name.to_owned(),
        operation,
    })?;
    let module = load_module(&state.store, caller.scope, module_name).await?;
    Ok((caller, module))
}

/// `GET /{module}`
pub async fn list_records(
    State(state): State<AppState>,
    Extension(version): Extension<ApiVersion>,
    Path(module_name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let (caller, module) = prepare(&state, &headers, &module_name, Operation::Read).await?;
    let parameters = QueryParameters::parse(query.as_deref());
    let selected = selected_fields(&parameters, &module)?;
    if selected.is_none() && version.fields_required() {
        return Err(BiginError::required_param("fields"));
    }
    if let Some(ids) = parameters.get("ids") {
        let ids = parse_ids(ids)?;
        let mut records: Vec<StoredRecord> = state
            .store
            .crm()
            .get_many(caller.scope, &ids)
            .await?
            .into_iter()
            .filter(|record| record.module == module.api_name)
            .collect();
        records.sort_by(|left, right| right.id.cmp(&left.id));
        if records.is_empty() {
            return Ok(no_content());
        }
        let count = records.len();
        let data = render_all(&state, &caller, &module, &records, selected.as_deref()).await?;
        return Ok(json_response(
            StatusCode::OK,
            &json!({ "data": data, "info": {
                "per_page": count, "count": count, "page": 1, "more_records": false,
                "next_page_token": null, "previous_page_token": null, "page_token_expiry": null,
            }}),
        ));
    }
    let page_token = parameters
        .get("page_token")
        .map(PageToken::decode)
        .transpose()?;
    if page_token.is_some() && parameters.get("page").is_some() {
        return Err(BiginError::invalid_data(
            "page_token cannot be combined with page",
            json!({ "param_name": "page" }),
        ));
    }
    let (sort, sort_by, descending, per_page, page, cursor) = match &page_token {
        Some(token) => (
            token.sort()?,
            token.sort_by.clone(),
            token.descending,
            token.per_page,
            1,
            Some(RecordCursor {
                sort_value: token.sort_value.clone(),
                id: token.id.clone(),
            }),
        ),
        None => {
            let sort_by = parameters.get("sort_by").unwrap_or("id").to_owned();
            let sort = sort_from_name(&sort_by)?;
            let descending = match parameters.get("sort_order") {
                None | Some("desc") => true,
                Some("asc") => false,
                Some(_) => {
                    return Err(BiginError::invalid_data(
                        "sort_order must be asc or desc",
                        json!({ "param_name": "sort_order" }),
                    ));
                }
            };
            let per_page = per_page_of(&parameters)?;
            let page = parameters.positive_integer("page")?.unwrap_or(1);
            (sort, sort_by, descending, per_page, page, None)
        }
    };
    let offset = (page - 1).saturating_mul(per_page);
    if cursor.is_none() && offset.saturating_add(per_page) > PAGE_LIMIT_WITHOUT_TOKEN {
        return Err(
            BiginError::limit_exceeded(PAGE_LIMIT_WITHOUT_TOKEN as usize, "records").with_details(
                json!({ "limit": PAGE_LIMIT_WITHOUT_TOKEN, "param_name": "page",
                    "hint": "use info.next_page_token as page_token to read beyond 2000 records" }),
            ),
        );
    }
    let mut records = state
        .store
        .crm()
        .list(
            caller.scope,
            &module.api_name,
            sort,
            descending,
            cursor.as_ref(),
            offset,
            per_page + 1,
        )
        .await?;
    let more_records = records.len() as u64 > per_page;
    records.truncate(per_page as usize);
    if records.is_empty() {
        return Ok(no_content());
    }
    let (next_page_token, expiry) = match (more_records, records.last()) {
        (true, Some(last)) => {
            let token = PageToken {
                sort_by: sort_by.clone(),
                descending,
                per_page,
                sort_value: match sort {
                    RecordSort::Id => last.id.clone(),
                    RecordSort::CreatedTime => last.created_time.to_rfc3339(),
                    RecordSort::ModifiedTime => last.modified_time.to_rfc3339(),
                },
                id: last.id.clone(),
                expires_at: chrono::Utc::now().timestamp() + PAGE_TOKEN_LIFETIME_SECONDS,
            };
            let expiry = chrono::DateTime::from_timestamp(token.expires_at, 0)
                .map(super::render::format_time);
            (Some(token.encode()), expiry)
        }
        _ => (None, None),
    };
    let count = records.len();
    let data = render_all(&state, &caller, &module, &records, selected.as_deref()).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "data": data, "info": {
            "per_page": per_page,
            "count": count,
            "page": page,
            "sort_by": sort_by,
            "sort_order": if descending { "desc" } else { "asc" },
            "more_records": more_records,
            "next_page_token": next_page_token,
            "previous_page_token": null,
            "page_token_expiry": expiry,
        }}),
    ))
}

/// `GET /{module}/{id}`
pub async fn get_record(
    State(state): State<AppState>,
    Path((module_name, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let (caller, module) = prepare(&state, &headers, &module_name, Operation::Read).await?;
    let parameters = QueryParameters::parse(query.as_deref());
    let selected = selected_fields(&parameters, &module)?;
    if !is_record_id(&id) {
        return Ok(no_content());
    }
    let Some(record) = state
        .store
        .crm()
        .get(caller.scope, &module.api_name, &id)
        .await?
    else {
        return Ok(no_content());
    };
    let data = render_all(&state, &caller, &module, &[record], selected.as_deref()).await?;
    Ok(json_response(StatusCode::OK, &json!({ "data": data })))
}

/// `GET /{module}/actions/count`
pub async fn count_records(
    State(state): State<AppState>,
    Path(module_name): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let (caller, module) = prepare(&state, &headers, &module_name, Operation::Read).await?;
    let count = state
        .store
        .crm()
        .count(caller.scope, &module.api_name)
        .await?;
    Ok(json_response(StatusCode::OK, &json!({ "count": count })))
}

/// `POST /{module}`
pub async fn insert_records(
    State(state): State<AppState>,
    Path(module_name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let (caller, module) = prepare(&state, &headers, &module_name, Operation::Create).await?;
    let body = WriteBody::parse(&body)?;
    let mut planned = Vec::with_capacity(body.records.len());
    for (index, record) in body.records.iter().enumerate() {
        let write = match prepare_change(&state, &caller, &module, record, WriteMode::Insert, index)
            .await?
        {
            Ok(change) => Ok(BatchWrite::Insert {
                new_id: RECORD_IDS.next_id(),
                change,
            }),
            Err(error) => Err(error),
        };
        planned.push(write);
    }
    let items = execute(&state, &caller, &module, planned, &body.trigger, false).await?;
    Ok(batch_response(items, StatusCode::CREATED))
}

/// `PUT /{module}` (bulk update; every record carries its `id`)
pub async fn update_records(
    State(state): State<AppState>,
    Path(module_name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    update(state, module_name, None, headers, body).await
}

/// `PUT /{module}/{id}`
pub async fn update_record(
    State(state): State<AppState>,
    Path((module_name, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    update(state, module_name, Some(id), headers, body).await
}

async fn update(
    state: AppState,
    module_name: String,
    path_id: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let (caller, module) = prepare(&state, &headers, &module_name, Operation::Update).await?;
    let body = WriteBody::parse(&body)?;
    if path_id.is_some() && body.records.len() > 1 {
        return Err(BiginError::limit_exceeded(1, "records"));
    }
    let mut planned = Vec::with_capacity(body.records.len());
    for (index, record) in body.records.iter().enumerate() {
        let body_id = record.get("id").and_then(|id| match id {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        });
        let id = match (&path_id, body_id) {
            (Some(path_id), Some(body_id)) if *path_id != body_id => {
                let mut error = RecordError::invalid_id(&body_id);
                error.code = trestle_crm::error::RecordErrorCode::AmbiguityDuringProcessing;
                error.message = "the id in the URL and the id in the record differ".into();
                planned.push(Err(error));
                continue;
            }
            (Some(path_id), _) => path_id.clone(),
            (None, Some(body_id)) => body_id,
            (None, None) => {
                planned.push(Err(RecordError::mandatory_not_found("id", index)));
                continue;
            }
        };
        if !is_record_id(&id) {
            planned.push(Err(RecordError::invalid_id(&id)));
            continue;
        }
        let write = match prepare_change(&state, &caller, &module, record, WriteMode::Update, index)
            .await?
        {
            Ok(change) => Ok(BatchWrite::Update { id, change }),
            Err(error) => Err(error),
        };
        planned.push(write);
    }
    let items = execute(&state, &caller, &module, planned, &body.trigger, false).await?;
    Ok(batch_response(items, StatusCode::OK))
}

/// `POST /{module}/upsert`
pub async fn upsert_records(
    State(state): State<AppState>,
    Path(module_name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let caller = BiginCaller::authenticate(&state, &headers).await?;
    for operation in [Operation::Create, Operation::Update] {
        caller.require(RequiredScope::Module {
            module: module_name.clone(),
            operation,
        })?;
    }
    let module = load_module(&state.store, caller.scope, &module_name).await?;
    let body = WriteBody::parse(&body)?;
    let match_fields = match &body.duplicate_check_fields {
        Some(fields) => fields.clone(),
        None => module.duplicate_check_fields.clone(),
    };
    for field_name in &match_fields {
        // Matching uses the unique-value index, so only unique fields can be matched on.
        if !module.field(field_name).is_some_and(|field| field.unique) {
            let unique: Vec<&str> = module
                .fields
                .iter()
                .filter(|field| field.unique)
                .map(|field| field.api_name.as_str())
                .collect();
            return Err(BiginError::invalid_data(
                format!(
                    "duplicate_check_fields must name unique fields of {}: {}",
                    module.api_name,
                    unique.join(", ")
                ),
                json!({ "api_name": field_name }),
            ));
        }
    }
    let mut planned = Vec::with_capacity(body.records.len());
    for (index, record) in body.records.iter().enumerate() {
        let write = match prepare_change(&state, &caller, &module, record, WriteMode::Insert, index)
            .await?
        {
            Ok(change) => Ok(BatchWrite::Upsert {
                new_id: RECORD_IDS.next_id(),
                match_fields: match_fields.clone(),
                change,
            }),
            Err(error) => Err(error),
        };
        planned.push(write);
    }
    let items = execute(&state, &caller, &module, planned, &body.trigger, true).await?;
    Ok(batch_response(items, StatusCode::OK))
}

/// `DELETE /{module}?ids=a,b`
pub async fn delete_records(
    State(state): State<AppState>,
    Path(module_name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let parameters = QueryParameters::parse(query.as_deref());
    let (caller, module) = prepare(&state, &headers, &module_name, Operation::Delete).await?;
    let Some(ids) = parameters.get("ids") else {
        return Err(BiginError::required_param("ids"));
    };
    let ids: Vec<String> = ids
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect();
    if ids.len() > MAXIMUM_RECORDS_PER_WRITE {
        return Err(BiginError::limit_exceeded(MAXIMUM_RECORDS_PER_WRITE, "ids"));
    }
    delete(&state, &caller, &module, ids, &parameters).await
}

/// `DELETE /{module}/{id}`
pub async fn delete_record(
    State(state): State<AppState>,
    Path((module_name, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let parameters = QueryParameters::parse(query.as_deref());
    let (caller, module) = prepare(&state, &headers, &module_name, Operation::Delete).await?;
    delete(&state, &caller, &module, vec![id], &parameters).await
}

async fn delete(
    state: &AppState,
    caller: &BiginCaller,
    module: &ModuleDefinition,
    ids: Vec<String>,
    parameters: &QueryParameters,
) -> Result<Response> {
    let triggers = match parameters.get("wf_trigger") {
        Some("false") => json!([]),
        _ => Value::Null,
    };
    let valid: Vec<String> = ids.iter().filter(|id| is_record_id(id)).cloned().collect();
    let deleted = state
        .store
        .crm()
        .delete(
            caller.scope,
            &module.api_name,
            &valid,
            caller.user.id,
            &triggers,
        )
        .await?;
    let mut outcomes = valid.iter().zip(deleted);
    let mut items = Vec::with_capacity(ids.len());
    for id in &ids {
        let existed = if is_record_id(id) {
            outcomes.next().map(|(_, existed)| existed).unwrap_or(false)
        } else {
            false
        };
        items.push(if existed {
            Ok(json!({ "code": "SUCCESS", "details": { "id": id },
                       "message": "record deleted", "status": "success" }))
        } else {
            Err(RecordError::invalid_id(id).to_item())
        });
    }
    Ok(batch_response(items, StatusCode::OK))
}

/// `GET /{module}/search`
pub async fn search_records(
    State(state): State<AppState>,
    Path(module_name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let (caller, module) = prepare(&state, &headers, &module_name, Operation::Read).await?;
    let parameters = QueryParameters::parse(query.as_deref());
    let selected = selected_fields(&parameters, &module)?;
    let matcher = SearchMatcher::from_parameters(&parameters, &module)?;
    let per_page = per_page_of(&parameters)?;
    let page = parameters.positive_integer("page")?.unwrap_or(1);
    let offset = (page - 1).saturating_mul(per_page);
    if offset.saturating_add(per_page) > PAGE_LIMIT_WITHOUT_TOKEN {
        return Err(BiginError::limit_exceeded(
            PAGE_LIMIT_WITHOUT_TOKEN as usize,
            "records",
        ));
    }
    let mut matches = Vec::new();
    let mut cursor: Option<RecordCursor> = None;
    let wanted = offset + per_page + 1;
    'scan: loop {
        let batch = state
            .store
            .crm()
            .list(
                caller.scope,
                &module.api_name,
                RecordSort::Id,
                true,
                cursor.as_ref(),
                0,
                500,
            )
            .await?;
        let Some(last) = batch.last() else {
            break;
        };
        cursor = Some(RecordCursor {
            sort_value: last.id.clone(),
            id: last.id.clone(),
        });
        let exhausted = batch.len() < 500;
        for record in batch {
            let mut fields = record.fields.clone();
            apply_computed_fields(&module, &mut fields);
            if matcher.matches(&module, &fields) {
                matches.push(record);
                if matches.len() as u64 >= wanted {
                    break 'scan;
                }
            }
        }
        if exhausted {
            break;
        }
    }
    let more_records = matches.len() as u64 > offset + per_page;
    let page_records: Vec<StoredRecord> = matches
        .into_iter()
        .skip(offset as usize)
        .take(per_page as usize)
        .collect();
    if page_records.is_empty() {
        return Ok(no_content());
    }
    let count = page_records.len();
    let data = render_all(&state, &caller, &module, &page_records, selected.as_deref()).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "data": data, "info": {
            "per_page": per_page, "count": count, "page": page, "more_records": more_records,
        }}),
    ))
}

/// What a search looks for, after Bigin's precedence: criteria > email > phone > word.
enum SearchMatcher {
    Criteria(trestle_crm::Criteria),
    Email(String),
    Phone(String),
    Word(String),
}

impl SearchMatcher {
    fn from_parameters(
        parameters: &QueryParameters,
        module: &ModuleDefinition,
    ) -> Result<SearchMatcher> {
        if let Some(text) = parameters.get("criteria") {
            let criteria = parse_criteria(text)?;
            for field in criteria.fields() {
                if field != "id" && module.field(field).is_none() {
                    return Err(BiginError::invalid_data(
                        "the field api name given seems to be invalid",
                        json!({ "api_name": field, "param_name": "criteria" }),
                    ));
                }
            }
            return Ok(SearchMatcher::Criteria(criteria));
        }
        if let Some(email) = parameters.get("email") {
            return Ok(SearchMatcher::Email(email.trim().to_lowercase()));
        }
        if let Some(phone) = parameters.get("phone") {
            return Ok(SearchMatcher::Phone(digits(phone)));
        }
        if let Some(word) = parameters.get("word") {
            if word.trim().chars().count() < 2 {
                return Err(BiginError::invalid_data(
                    "word must have at least 2 characters",
                    json!({ "param_name": "word" }),
                ));
            }
            return Ok(SearchMatcher::Word(word.trim().to_lowercase()));
        }
        Err(BiginError::required_param("criteria"))
    }

    fn matches(&self, module: &ModuleDefinition, fields: &Map<String, Value>) -> bool {
        let text_of = |name: &str| fields.get(name).and_then(Value::as_str).unwrap_or("");
        match self {
            SearchMatcher::Criteria(criteria) => criteria.matches(fields),
            SearchMatcher::Email(email) => module
                .fields
                .iter()
                .filter(|field| field.data_type == FieldType::Email)
                .any(|field| text_of(&field.api_name).trim().to_lowercase() == *email),
            SearchMatcher::Phone(phone) => {
                !phone.is_empty()
                    && module
                        .fields
                        .iter()
                        .filter(|field| field.data_type == FieldType::Phone)
                        .any(|field| digits(text_of(&field.api_name)).contains(phone.as_str()))
            }
            SearchMatcher::Word(word) => module
                .fields
                .iter()
                .filter(|field| {
                    matches!(
                        field.data_type,
                        FieldType::Text
                            | FieldType::Textarea
                            | FieldType::Email
                            | FieldType::Phone
                            | FieldType::Picklist
                            | FieldType::Website
                    )
                })
                .any(|field| {
                    text_of(&field.api_name)
                        .to_lowercase()
                        .contains(word.as_str())
                }),
        }
    }
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

fn per_page_of(parameters: &QueryParameters) -> Result<u64> {
    let per_page = parameters
        .positive_integer("per_page")?
        .unwrap_or(MAXIMUM_PER_PAGE);
    if per_page > MAXIMUM_PER_PAGE {
        return Err(BiginError::invalid_data(
            "per_page must be at most 200",
            json!({ "param_name": "per_page", "maximum": MAXIMUM_PER_PAGE }),
        ));
    }
    Ok(per_page)
}

fn sort_from_name(name: &str) -> Result<RecordSort> {
    match name {
        "id" => Ok(RecordSort::Id),
        "Created_Time" => Ok(RecordSort::CreatedTime),
        "Modified_Time" => Ok(RecordSort::ModifiedTime),
        _ => Err(BiginError::invalid_data(
            "sort_by must be id, Created_Time or Modified_Time",
            json!({ "param_name": "sort_by" }),
        )),
    }
}

fn parse_ids(text: &str) -> Result<Vec<String>> {
    let ids: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect();
    if ids.len() > MAXIMUM_RECORDS_PER_WRITE {
        return Err(BiginError::limit_exceeded(MAXIMUM_RECORDS_PER_WRITE, "ids"));
    }
    if let Some(bad) = ids.iter().find(|id| !is_record_id(id)) {
        return Err(BiginError::invalid_data(
            "the related id given seems to be invalid",
            json!({ "id": bad, "param_name": "ids" }),
        ));
    }
    Ok(ids)
}

/// The opaque `page_token`: where the next page starts, in the order of the first request.
struct PageToken {
    sort_by: String,
    descending: bool,
    per_page: u64,
    sort_value: String,
    id: String,
    expires_at: i64,
}

impl PageToken {
    fn encode(&self) -> String {
        let body = json!({
            "s": self.sort_by, "d": self.descending, "p": self.per_page,
            "v": self.sort_value, "i": self.id, "e": self.expires_at,
        });
        URL_SAFE_NO_PAD.encode(body.to_string())
    }

    fn decode(text: &str) -> Result<PageToken> {
        let invalid = || {
            BiginError::invalid_data(
                "the page_token is invalid or has expired; start again without it",
                json!({ "param_name": "page_token" }),
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| invalid())?;
        let body: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        let token = PageToken {
            sort_by: body["s"].as_str().ok_or_else(invalid)?.to_owned(),
            descending: body["d"].as_bool().ok_or_else(invalid)?,
            per_page: body["p"]
                .as_u64()
                .filter(|per_page| (1..=MAXIMUM_PER_PAGE).contains(per_page))
                .ok_or_else(invalid)?,
            sort_value: body["v"].as_str().ok_or_else(invalid)?.to_owned(),
            id: body["i"]
                .as_str()
                .filter(|id| is_record_id(id))
                .ok_or_else(invalid)?
                .to_owned(),
            expires_at: body["e"].as_i64().ok_or_else(invalid)?,
        };
        if token.expires_at < chrono::Utc::now().timestamp() {
            return Err(invalid());
        }
        token.sort()?;
        Ok(token)
    }

    fn sort(&self) -> Result<RecordSort> {
        sort_from_name(&self.sort_by)
    }
}

async fn render_all(
    state: &AppState,
    caller: &BiginCaller,
    module: &ModuleDefinition,
    records: &[StoredRecord],
    selected: Option<&[String]>,
) -> Result<Vec<Value>> {
    let context = RenderContext::load(&state.store, caller.scope, module, records).await?;
    Ok(records
        .iter()
        .map(|record| render_record(module, record, &context, selected))
        .collect())
}

/// Validates one record of a write into a change, or the record's error item. The outer
/// `Result` is for request-level failures (the database being down).
async fn prepare_change(
    state: &AppState,
    caller: &BiginCaller,
    module: &ModuleDefinition,
    record: &Value,
    mode: WriteMode,
    index: usize,
) -> Result<std::result::Result<RecordChange, RecordError>> {
    let Some(object) = record.as_object() else {
        let mut error = RecordError::invalid_data("data", index, Some("jsonobject"), None);
        error
            .details
            .insert("json_path".into(), Value::from(format!("$.data[{index}]")));
        return Ok(Err(error));
    };
    let mut fields = match validate_record(module, object, mode, index) {
        Ok(fields) => fields,
        Err(error) => return Ok(Err(error)),
    };
    let mut owner_id = None;
    if let Some(owner) = fields.remove("Owner")
        && let Some(numeric_id) = owner.get("id").and_then(Value::as_str)
    {
        let user = state.store.crm().user_by_numeric_id(numeric_id).await?;
        let member = match user {
            Some(user_id) => state
                .store
                .memberships()
                .get(caller.scope.organization_id, user_id)
                .await?
                .map(|_| user_id),
            None => None,
        };
        match member {
            Some(user_id) => owner_id = Some(user_id),
            None => {
                let mut error =
                    RecordError::invalid_data("Owner", index, Some("ownerlookup"), None);
                error.message = "the related id given seems to be invalid".into();
                error.details.insert("id".into(), Value::from(numeric_id));
                return Ok(Err(error));
            }
        }
    }
    let lookups = module
        .fields
        .iter()
        .filter(|field| field.data_type == FieldType::Lookup)
        .filter_map(|field| {
            let id = fields.get(&field.api_name)?.get("id")?.as_str()?;
            Some(LookupReference {
                field: field.api_name.clone(),
                module: field.lookup_module.clone(),
                id: id.to_owned(),
            })
        })
        .collect();
    let unique_fields = module
        .fields
        .iter()
        .filter(|field| field.unique)
        .map(|field| field.api_name.clone())
        .collect();
    Ok(Ok(RecordChange {
        fields,
        unique_fields,
        lookups,
        owner_id,
    }))
}

/// Runs the valid writes as one batch and returns one item per input record, in order.
async fn execute(
    state: &AppState,
    caller: &BiginCaller,
    module: &ModuleDefinition,
    planned: Vec<std::result::Result<BatchWrite, RecordError>>,
    triggers: &Value,
    upsert: bool,
) -> Result<Vec<std::result::Result<Value, Value>>> {
    let writes: Vec<BatchWrite> = planned
        .iter()
        .filter_map(|write| write.as_ref().ok().cloned())
        .collect();
    let outcomes = if writes.is_empty() {
        Vec::new()
    } else {
        let first = state
            .store
            .crm()
            .write_batch(
                caller.scope,
                &module.api_name,
                writes.clone(),
                caller.user.id,
                triggers,
            )
            .await;
        match first {
            // A concurrent write took a unique value between our check and our insert:
            // nothing was written; once more sees the other write and reports a duplicate.
            Err(StoreError::AlreadyExists { .. }) => {
                state
                    .store
                    .crm()
                    .write_batch(
                        caller.scope,
                        &module.api_name,
                        writes,
                        caller.user.id,
                        triggers,
                    )
                    .await?
            }
            other => other?,
        }
    };
    let written: Vec<StoredRecord> = outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            WriteOutcome::Inserted(record) => Some(record.clone()),
            WriteOutcome::Updated { record, .. } => Some(record.clone()),
            _ => None,
        })
        .collect();
    let context = RenderContext::load(&state.store, caller.scope, module, &written).await?;
    let mut outcomes = outcomes.into_iter();
    let mut items = Vec::with_capacity(planned.len());
    for (index, write) in planned.into_iter().enumerate() {
        let write = match write {
            Ok(write) => write,
            Err(error) => {
                items.push(Err(error.to_item()));
                continue;
            }
        };
        let Some(outcome) = outcomes.next() else {
            items.push(Err(BiginError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                "Internal Server Error",
            )
            .to_item()));
            continue;
        };
        let _ = write;
        items.push(match outcome {
            WriteOutcome::Inserted(record) => {
                let mut item = json!({ "code": "SUCCESS", "details": write_details(&record, &context),
                                       "message": "record added", "status": "success" });
                if upsert {
                    item["action"] = json!("insert");
                    item["duplicate_field"] = Value::Null;
                }
                Ok(item)
            }
            WriteOutcome::Updated { record, matched_field } => {
                let mut item = json!({ "code": "SUCCESS", "details": write_details(&record, &context),
                                       "message": "record updated", "status": "success" });
                if upsert {
                    item["action"] = json!("update");
                    item["duplicate_field"] = json!(matched_field);
                }
                Ok(item)
            }
            WriteOutcome::Duplicate { field, existing_id } => {
                Err(RecordError::duplicate(&field, index, &existing_id).to_item())
            }
            WriteOutcome::InvalidLookup { field, id } => {
                let mut error = RecordError::invalid_data(&field, index, Some("lookup"), None);
                error.message = "the related id given seems to be invalid".into();
                error.details.insert("id".into(), Value::from(id));
                Err(error.to_item())
            }
            WriteOutcome::NotFound { id } => Err(RecordError::invalid_id(&id).to_item()),
        });
    }
    Ok(items)
}

fn batch_response(items: Vec<std::result::Result<Value, Value>>, all_ok: StatusCode) -> Response {
    let successes = items.iter().filter(|item| item.is_ok()).count();
    let status = batch_status(successes, items.len(), all_ok);
    let data: Vec<Value> = items
        .into_iter()
        .map(|item| match item {
            Ok(value) | Err(value) => value,
        })
        .collect();
    json_response(status, &json!({ "data": data }))
}

impl BiginError {
    fn to_item(&self) -> Value {
        json!({ "code": self.code, "details": self.details, "message": self.message, "status": "error" })
    }
}
