//! Plain JSON forms of Deluge values and effects, as cassettes store them: maps are
//! objects, lists arrays, text strings, numbers numbers, dates `yyyy-MM-dd`, date-times
//! `yyyy-MM-ddTHH:mm:ss`. This is also how HTTP responses reach scripts.

use indexmap::IndexMap;
use rust_decimal::Decimal;
use trestle_deluge::{Effect, EffectResult, OwnedValue};

/// A value as plain JSON.
pub fn owned_to_json(value: &OwnedValue) -> serde_json::Value {
    match value {
        OwnedValue::Null => serde_json::Value::Null,
        OwnedValue::Boolean(b) => serde_json::Value::Bool(*b),
        OwnedValue::Long(n) => serde_json::Value::from(*n),
        OwnedValue::Decimal(d) => serde_json::from_str::<serde_json::Number>(&d.to_string())
            .map(serde_json::Value::Number)
            .unwrap_or_else(|_| serde_json::Value::String(d.to_string())),
        OwnedValue::Text(text) => serde_json::Value::String(text.clone()),
        OwnedValue::Date(date) => serde_json::Value::String(date.format("%Y-%m-%d").to_string()),
        OwnedValue::DateTime(date_time) => {
            serde_json::Value::String(date_time.format("%Y-%m-%dT%H:%M:%S").to_string())
        }
        OwnedValue::Time(time) => serde_json::Value::String(time.format("%H:%M:%S").to_string()),
        OwnedValue::List(items) => {
            serde_json::Value::Array(items.iter().map(owned_to_json).collect())
        }
        OwnedValue::Map(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|(key, value)| (key.clone(), owned_to_json(value)))
                .collect(),
        ),
        OwnedValue::File(file) => serde_json::json!({
            "file": file.name,
            "content_type": file.content_type,
            "size": file.bytes.len(),
        }),
    }
}

/// Plain JSON as a value: whole numbers become NUMBER, other numbers exact DECIMAL.
pub fn json_to_owned(json: &serde_json::Value) -> OwnedValue {
    match json {
        serde_json::Value::Null => OwnedValue::Null,
        serde_json::Value::Bool(b) => OwnedValue::Boolean(*b),
        serde_json::Value::Number(number) => match number.as_i64() {
            Some(n) => OwnedValue::Long(n),
            None => match number.to_string().parse::<Decimal>() {
                Ok(decimal) => OwnedValue::Decimal(decimal),
                Err(_) => OwnedValue::Text(number.to_string()),
            },
        },
        serde_json::Value::String(text) => OwnedValue::Text(text.clone()),
        serde_json::Value::Array(items) => {
            OwnedValue::List(items.iter().map(json_to_owned).collect())
        }
        serde_json::Value::Object(entries) => OwnedValue::Map(
            entries
                .iter()
                .map(|(key, value)| (key.clone(), json_to_owned(value)))
                .collect::<IndexMap<_, _>>(),
        ),
    }
}

/// The kind of an effect as cassettes name it (`invoke_url`, `integration_task`, ...).
pub fn effect_kind(effect: &Effect) -> &'static str {
    match effect {
        Effect::InvokeUrl(_) => "invoke_url",
        Effect::IntegrationTask { .. } => "integration_task",
        Effect::SendMail { .. } => "send_mail",
        Effect::Task { .. } => "task",
        Effect::CallFunction { .. } => "call_function",
        Effect::CurrentTime => "current_time",
        Effect::Random { .. } => "random",
    }
}

/// An effect request as a plain JSON object of its fields (without the kind).
pub fn effect_request_json(effect: &Effect) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    let mut put = |key: &str, value: serde_json::Value| {
        object.insert(key.to_owned(), value);
    };
    match effect {
        Effect::InvokeUrl(request) => {
            put("url", owned_to_json(&request.url));
            put("type", owned_to_json(&request.method));
            let optional = [
                ("parameters", &request.parameters),
                ("headers", &request.headers),
                ("body", &request.body),
                ("content-type", &request.content_type),
                ("files", &request.files),
                ("connection", &request.connection),
                ("detailed", &request.detailed),
                ("response-format", &request.response_format),
                ("response-decoding", &request.response_decoding),
            ];
            for (key, value) in optional {
                if let Some(value) = value {
                    put(key, owned_to_json(value));
                }
            }
        }
        Effect::IntegrationTask {
            service,
            task,
            arguments,
        } => {
            put(
                "task",
                serde_json::Value::String(format!("zoho.{service}.{task}")),
            );
            put(
                "arguments",
                serde_json::Value::Array(arguments.iter().map(owned_to_json).collect()),
            );
        }
        Effect::SendMail { fields } | Effect::Task { fields, .. } => {
            if let Effect::Task { name, .. } = effect {
                put("name", serde_json::Value::String(name.clone()));
            }
            for (key, value) in fields {
                put(key, owned_to_json(value));
            }
        }
        Effect::CallFunction {
            name,
            arguments,
            call_depth,
        } => {
            put("name", serde_json::Value::String(name.clone()));
            put(
                "arguments",
                serde_json::Value::Array(arguments.iter().map(owned_to_json).collect()),
            );
            put("call_depth", serde_json::Value::from(*call_depth));
        }
        Effect::CurrentTime => {}
        Effect::Random { low, high } => {
            put("low", serde_json::Value::from(*low));
            put("high", serde_json::Value::from(*high));
        }
    }
    serde_json::Value::Object(object)
}

/// An effect's answer as cassettes store it: `{"value": JSON}` or `{"error": "message"}`.
pub fn effect_result_json(result: &EffectResult) -> serde_json::Value {
    match result {
        EffectResult::Value(value) => serde_json::json!({ "value": owned_to_json(value) }),
        EffectResult::Error(message) => serde_json::json!({ "error": message }),
    }
}

/// The answer stored in a cassette, for the effect it answers. A current-time answer in
/// `yyyy-MM-ddTHH:mm:ss` form becomes a date-time value.
pub fn effect_result_from_json(
    effect: &Effect,
    json: &serde_json::Value,
) -> Result<EffectResult, String> {
    if let Some(message) = json.get("error") {
        return Ok(EffectResult::Error(
            message
                .as_str()
                .map_or_else(|| message.to_string(), str::to_owned),
        ));
    }
    let Some(value) = json.get("value") else {
        return Err("a response needs \"value\" or \"error\"".to_owned());
    };
    if matches!(effect, Effect::CurrentTime)
        && let Some(text) = value.as_str()
    {
        return chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
            .map(|date_time| EffectResult::Value(OwnedValue::DateTime(date_time)))
            .map_err(|_| format!("current time `{text}` is not yyyy-MM-ddTHH:mm:ss"));
    }
    Ok(EffectResult::Value(json_to_owned(value)))
}

/// A short, readable summary of a JSON value for error messages (long text is cut).
pub fn summarize(value: &serde_json::Value) -> String {
    let text = match value {
        serde_json::Value::Null => "nothing".to_owned(),
        other => other.to_string(),
    };
    if text.chars().count() > 200 {
        let cut: String = text.chars().take(200).collect();
        format!("{cut}...")
    } else {
        text
    }
}
