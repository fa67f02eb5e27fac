//! Metadata endpoints: `/settings/modules`, `/settings/fields`, custom modules and fields,
//! `/users`, `/org`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use trestle_crm::CrmError;
use trestle_crm::schema::{CustomFieldInput, CustomModuleInput};
use trestle_crm::scopes::RequiredScope;

use super::caller::{BiginCaller, QueryParameters, all_modules, load_module, numeric_id};
use super::render::{format_time, user_reference};
use super::response::{BiginError, json_response, no_content};
use crate::state::AppState;

/// The header that names the topping a metadata write is made for. Custom modules and
/// fields created with it get the `<namespace>__` prefix, as a topping's do in Bigin.
pub const TOPPING_NAMESPACE_HEADER: &str = "x-trestle-topping-namespace";

type Result<T> = std::result::Result<T, BiginError>;

fn settings(kind: &str, write: bool) -> RequiredScope {
    RequiredScope::Settings {
        kind: kind.to_owned(),
        write,
    }
}

/// `GET /settings/modules`
pub async fn list_modules(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let caller = BiginCaller::authenticate(&state, &headers).await?;
    caller.require(settings("modules", false))?;
    let modules: Vec<Value> = all_modules(&state.store, caller.scope)
        .await?
        .iter()
        .map(|module| module.to_module_metadata(&numeric_id("module", &module.api_name)))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "modules": modules }),
    ))
}

/// `GET /settings/modules/{api_name}`
pub async fn show_module(
    State(state): State<AppState>,
    Path(api_name): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let caller = BiginCaller::authenticate(&state, &headers).await?;
    caller.require(settings("modules", false))?;
    let module = load_module(&state.store, caller.scope, &api_name).await?;
    let metadata = module.to_module_metadata(&numeric_id("module", &module.api_name));
    Ok(json_response(
        StatusCode::OK,
        &json!({ "modules": [metadata] }),
    ))
}

/// `POST /settings/modules` with `{"modules":[{"singular_label","plural_label","api_name"?}]}`
pub async fn create_module(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let caller = BiginCaller::authenticate(&state, &headers).await?;
    caller.require(settings("modules", true))?;
    let namespace = topping_namespace(&headers)?;
    let inputs: Vec<CustomModuleInput> = parse_definitions(&body, "modules")?;
    let mut items = Vec::with_capacity(inputs.len());
    for input in inputs {
        let existing = all_modules(&state.store, caller.scope).await?;
        let definition = input.into_definition(&existing, namespace.as_deref())?;
        let stored = serde_json::to_value(&definition).map_err(|_| {
            BiginError::invalid_data("the module definition could not be stored", json!({}))
        })?;
        state
            .store
            .crm()
            .add_custom_module(caller.scope, &definition.api_name, &stored)
            .await
            .map_err(|error| duplicate_or(error, &definition.api_name))?;
        items.push(json!({
            "code": "SUCCESS",
            "details": { "id": numeric_id("module", &definition.api_name), "api_name": definition.api_name },
            "message": "module created",
            "status": "success",
        }));
    }
    Ok(json_response(
        StatusCode::CREATED,
        &json!({ "modules": items }),
    ))
}

/// `GET /settings/fields?module=`
pub async fn list_fields(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let caller = BiginCaller::authenticate(&state, &headers).await?;
    caller.require(settings("fields", false))?;
    let parameters = QueryParameters::parse(query.as_deref());
    let Some(module_name) = parameters.get("module") else {
        return Err(BiginError::required_param("module"));
    };
    let module = load_module(&state.store, caller.scope, module_name).await?;
    let fields: Vec<Value> = module
        .fields
        .iter()
        .map(|field| {
            field.to_field_metadata(&numeric_id(
                "field",
                &format!("{}.{}", module.api_name, field.api_name),
            ))
        })
        .collect();
    Ok(json_response(StatusCode::OK, &json!({ "fields": fields })))
}

/// `POST /settings/fields?module=` with `{"fields":[{"field_label","data_type",...}]}`
pub async fn create_field(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let caller = BiginCaller::authenticate(&state, &headers).await?;
    caller.require(settings("fields", true))?;
    let namespace = topping_namespace(&headers)?;
    let parameters = QueryParameters::parse(query.as_deref());
    let Some(module_name) = parameters.get("module") else {
        return Err(BiginError::required_param("module"));
    };
    let inputs: Vec<CustomFieldInput> = parse_definitions(&body, "fields")?;
    let mut items = Vec::with_capacity(inputs.len());
    for input in inputs {
        let module = load_module(&state.store, caller.scope, module_name).await?;
        if let Some(target) = &input.lookup_module {
            load_module(&state.store, caller.scope, target).await?;
        }
        let definition = input.into_definition(&module, namespace.as_deref())?;
        let stored = serde_json::to_value(&definition).map_err(|_| {
            BiginError::invalid_data("the field definition could not be stored", json!({}))
        })?;
        state
            .store
            .crm()
            .add_custom_field(
                caller.scope,
                &module.api_name,
                &definition.api_name,
                &stored,
            )
            .await
            .map_err(|error| duplicate_or(error, &definition.api_name))?;
        items.push(json!({
            "code": "SUCCESS",
            "details": {
                "id": numeric_id("field", &format!("{}.{}", module.api_name, definition.api_name)),
                "api_name": definition.api_name,
            },
            "message": "field created",
            "status": "success",
        }));
    }
    Ok(json_response(
        StatusCode::CREATED,
        &json!({ "fields": items }),
    ))
}

/// `GET /users?type=CurrentUser|AllUsers|ActiveUsers|AdminUsers`
pub async fn list_users(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let caller = BiginCaller::authenticate(&state, &headers).await?;
    caller.require(RequiredScope::Users)?;
    let parameters = QueryParameters::parse(query.as_deref());
    let kind = parameters.get("type").unwrap_or("AllUsers");
    let members = state
        .store
        .memberships()
        .list_members(caller.scope.organization_id)
        .await?;
    let mut users = Vec::new();
    for member in members {
        let include = match kind {
            "CurrentUser" => member.user.id == caller.user.id,
            "AllUsers" => true,
            "ActiveUsers" | "ConfirmedUsers" => !member.user.disabled,
            "DeactiveUsers" => member.user.disabled,
            "AdminUsers" => member.role == trestle_store::Role::Admin,
            _ => {
                return Err(BiginError::invalid_data(
                    "type must be AllUsers, ActiveUsers, DeactiveUsers, AdminUsers or CurrentUser",
                    json!({ "param_name": "type" }),
                ));
            }
        };
        if !include {
            continue;
        }
        let reference = user_reference(&state.store, member.user.id).await?;
        let (first_name, last_name) = match member.user.display_name.rsplit_once(' ') {
            Some((first, last)) => (Value::from(first), Value::from(last)),
            None => (Value::Null, Value::from(member.user.display_name.clone())),
        };
        let profile = if member.role == trestle_store::Role::Admin {
            "Administrator"
        } else {
            "Standard"
        };
        users.push(json!({
            "id": reference.numeric_id,
            "full_name": member.user.display_name,
            "first_name": first_name,
            "last_name": last_name,
            "email": member.user.email,
            "zuid": reference.numeric_id,
            "role": { "name": member.role.as_str(), "id": numeric_id("role", member.role.as_str()) },
            "profile": { "name": profile, "id": numeric_id("profile", profile) },
            "status": if member.user.disabled { "disabled" } else { "active" },
            "time_zone": "UTC",
            "locale": "en_US",
            "confirm": true,
            "created_time": format_time(member.joined_at),
        }));
    }
    if users.is_empty() {
        return Ok(no_content());
    }
    let count = users.len();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "users": users, "info": { "per_page": 200, "count": count, "page": 1, "more_records": false } }),
    ))
}

/// `GET /org`
pub async fn show_organization(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response> {
    let caller = BiginCaller::authenticate(&state, &headers).await?;
    caller.require(RequiredScope::Organization)?;
    let organization = state
        .store
        .organizations()
        .get(caller.scope.organization_id)
        .await?;
    let environment = state
        .store
        .environments()
        .get(caller.scope.organization_id, caller.scope.environment_id)
        .await?;
    let org_number = numeric_id("org", &organization.id.to_string());
    let primary = user_reference(&state.store, caller.user.id).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "org": [{
            "id": org_number,
            "company_name": organization.name,
            "primary_email": primary.email,
            "time_zone": "UTC",
            "currency": "US Dollar - USD",
            "iso_code": "USD",
            "currency_symbol": "$",
            "country_code": null,
            "domain_name": format!("org{org_number}"),
            "zgid": org_number,
            "primary_zuid": primary.numeric_id,
            "type": environment.kind.as_str(),
            "license_details": { "paid": true, "paid_type": "trestle", "trial_type": null,
                                  "users_license_purchased": null },
        }]}),
    ))
}

/// The topping namespace of the request, if the caller acts for a topping.
fn topping_namespace(headers: &HeaderMap) -> Result<Option<String>> {
    let Some(value) = headers.get(TOPPING_NAMESPACE_HEADER) else {
        return Ok(None);
    };
    let namespace = value.to_str().unwrap_or_default().trim();
    let valid = !namespace.is_empty()
        && namespace.len() <= 25
        && namespace
            .chars()
            .next()
            .is_some_and(|first| first.is_ascii_lowercase())
        && namespace
            .chars()
            .all(|character| character.is_ascii_lowercase() || character.is_ascii_digit());
    if !valid {
        return Err(BiginError::invalid_data(
            "the topping namespace must be 1 to 25 lower-case letters and digits, starting with a letter",
            json!({ "header": TOPPING_NAMESPACE_HEADER }),
        ));
    }
    Ok(Some(namespace.to_owned()))
}

fn parse_definitions<T: serde::de::DeserializeOwned>(body: &[u8], key: &str) -> Result<Vec<T>> {
    let value: Value = serde_json::from_slice(body).map_err(|error| {
        BiginError::invalid_data(
            "the request body is not valid JSON",
            json!({ "line": error.line(), "column": error.column() }),
        )
    })?;
    let Some(items) = value.get(key).and_then(Value::as_array) else {
        return Err(BiginError::required_param(key));
    };
    if items.is_empty() || items.len() > 10 {
        return Err(BiginError::invalid_data(
            format!("{key} must hold 1 to 10 definitions"),
            json!({ "api_name": key }),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            serde_json::from_value(item.clone()).map_err(|error| {
                BiginError::invalid_data(
                    format!("{key}[{index}] is not a valid definition: {error}"),
                    json!({ "json_path": format!("$.{key}[{index}]") }),
                )
            })
        })
        .collect()
}

fn duplicate_or(error: trestle_store::StoreError, api_name: &str) -> BiginError {
    match error {
        trestle_store::StoreError::AlreadyExists { .. } => {
            BiginError::from(CrmError::DuplicateDefinition {
                api_name: api_name.to_owned(),
            })
        }
        other => BiginError::from(other),
    }
}
