//! Stored records as Bigin returns them: every field of the module present (null when
//! empty) unless `fields` narrows, lookups as `{name,id}`, users as `{name,id,email}` with
//! numeric ids, times in ISO 8601 with offset and no milliseconds.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use trestle_crm::validate::apply_computed_fields;
use trestle_crm::{FieldType, ModuleDefinition};
use trestle_store::crm::{CrmScope, StoredRecord};
use trestle_store::{Store, UserId};

use super::caller::{all_modules, numeric_id};
use super::response::BiginError;

/// Times are shown in UTC (`+00:00`): organizations have no time zone setting yet.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

/// A user as Bigin shows one in a record.
#[derive(Debug, Clone)]
pub struct UserReference {
    pub numeric_id: String,
    pub name: String,
    pub email: String,
}

impl UserReference {
    pub fn to_value(&self, with_email: bool) -> Value {
        if with_email {
            json!({ "name": self.name, "id": self.numeric_id, "email": self.email })
        } else {
            json!({ "name": self.name, "id": self.numeric_id })
        }
    }
}

/// Names of the users and lookup targets the records mention, fetched in bulk.
#[derive(Debug, Default)]
pub struct RenderContext {
    users: HashMap<UserId, UserReference>,
    lookup_names: HashMap<String, Value>,
}

impl RenderContext {
    pub async fn load(
        store: &Store,
        scope: CrmScope,
        module: &ModuleDefinition,
        records: &[StoredRecord],
    ) -> Result<RenderContext, BiginError> {
        let mut context = RenderContext::default();
        let mut user_ids = HashSet::new();
        let mut lookup_ids = HashSet::new();
        for record in records {
            user_ids.extend([record.owner_id, record.created_by, record.modified_by]);
            for field in &module.fields {
                if field.data_type == FieldType::Lookup
                    && let Some(id) = record
                        .fields
                        .get(&field.api_name)
                        .and_then(|value| value.get("id"))
                        .and_then(Value::as_str)
                {
                    lookup_ids.insert(id.to_owned());
                }
            }
        }
        for user_id in user_ids {
            context
                .users
                .insert(user_id, user_reference(store, user_id).await?);
        }
        if !lookup_ids.is_empty() {
            let ids: Vec<String> = lookup_ids.into_iter().collect();
            let targets = store.crm().get_many(scope, &ids).await?;
            let modules = all_modules(store, scope).await?;
            for mut target in targets {
                let display_field = modules
                    .iter()
                    .find(|candidate| candidate.api_name == target.module)
                    .map(|candidate| {
                        apply_computed_fields(candidate, &mut target.fields);
                        candidate.display_field.clone()
                    })
                    .unwrap_or_else(|| "Name".to_owned());
                let name = target
                    .fields
                    .get(&display_field)
                    .cloned()
                    .unwrap_or(Value::Null);
                context.lookup_names.insert(target.id, name);
            }
        }
        Ok(context)
    }

    pub fn user(&self, user_id: UserId) -> Value {
        match self.users.get(&user_id) {
            Some(reference) => reference.to_value(true),
            None => Value::Null,
        }
    }

    pub fn user_reference(&self, user_id: UserId) -> Option<&UserReference> {
        self.users.get(&user_id)
    }
}

/// The user's name, numeric id and email.
pub async fn user_reference(store: &Store, user_id: UserId) -> Result<UserReference, BiginError> {
    let numeric_id = store.crm().user_numeric_id(user_id).await?;
    let (name, email) = match store.users().get(user_id).await {
        Ok(user) => (user.display_name, user.email),
        Err(_) => ("Deleted user".to_owned(), String::new()),
    };
    Ok(UserReference {
        numeric_id,
        name,
        email,
    })
}

/// One record as Bigin's GET returns it.
pub fn render_record(
    module: &ModuleDefinition,
    record: &StoredRecord,
    context: &RenderContext,
    selected: Option<&[String]>,
) -> Value {
    let mut fields = record.fields.clone();
    apply_computed_fields(module, &mut fields);
    let mut output = Map::new();
    output.insert("id".into(), Value::String(record.id.clone()));
    for field in &module.fields {
        if let Some(selected) = selected
            && !selected.iter().any(|name| name == &field.api_name)
        {
            continue;
        }
        let value = match field.api_name.as_str() {
            "Owner" => context.user(record.owner_id),
            "Created_By" => context.user(record.created_by),
            "Modified_By" => context.user(record.modified_by),
            "Created_Time" => Value::String(format_time(record.created_time)),
            "Modified_Time" => Value::String(format_time(record.modified_time)),
            _ => {
                let stored = fields.get(&field.api_name).cloned().unwrap_or(Value::Null);
                match field.data_type {
                    FieldType::Lookup => match stored.get("id").and_then(Value::as_str) {
                        Some(id) => json!({
                            "name": context.lookup_names.get(id).cloned().unwrap_or(Value::Null),
                            "id": id,
                        }),
                        None => Value::Null,
                    },
                    FieldType::Tag => match stored {
                        Value::Array(tags) if !tags.is_empty() => Value::Array(
                            tags.iter()
                                .map(|tag| {
                                    let name = tag.get("name").cloned().unwrap_or(Value::Null);
                                    let id = numeric_id("tag", name.as_str().unwrap_or_default());
                                    json!({ "name": name, "id": id, "color_code": "#57B1FD" })
                                })
                                .collect(),
                        ),
                        _ => Value::Array(Vec::new()),
                    },
                    _ => stored,
                }
            }
        };
        output.insert(field.api_name.clone(), value);
    }
    output.insert("$editable".into(), Value::Bool(true));
    output.insert("$approval_state".into(), Value::from("approved"));
    Value::Object(output)
}

/// The `details` of a successful write item.
pub fn write_details(record: &StoredRecord, context: &RenderContext) -> Value {
    let user = |user_id: UserId| {
        context
            .user_reference(user_id)
            .map(|reference| reference.to_value(false))
            .unwrap_or(Value::Null)
    };
    json!({
        "Modified_Time": format_time(record.modified_time),
        "Modified_By": user(record.modified_by),
        "Created_Time": format_time(record.created_time),
        "id": record.id,
        "Created_By": user(record.created_by),
    })
}
