//! Plain HTTP for `invokeurl` without a connection, used by `trestle deluge run` on a
//! developer machine. Servers use the shared request engine (trestle-outbound) with its
//! egress policy instead; this module only serves the local command.

use std::time::Duration;

use trestle_deluge::{EffectResult, InvokeUrlRequest, OwnedValue};

use crate::json::json_to_owned;

/// Zoho's invokeurl socket timeout.
pub(crate) const INVOKEURL_TIMEOUT: Duration = Duration::from_secs(40);
/// Largest response body read (Zoho allows 15 MB for its own domains, 5 MB elsewhere).
const MAX_RESPONSE_BYTES: usize = 15 * 1024 * 1024;

pub(crate) async fn perform_invokeurl(
    client: &reqwest::Client,
    request: &InvokeUrlRequest,
) -> EffectResult {
    match send(client, request).await {
        Ok(result) => result,
        Err(message) => EffectResult::Error(message),
    }
}

fn text_of(value: &OwnedValue) -> String {
    match value {
        OwnedValue::Text(text) => text.clone(),
        other => other.to_display_string(),
    }
}

fn pairs_of(value: &OwnedValue) -> Vec<(String, String)> {
    match value {
        OwnedValue::Map(entries) => entries
            .iter()
            .map(|(key, value)| (key.clone(), text_of(value)))
            .collect(),
        _ => Vec::new(),
    }
}

async fn send(
    client: &reqwest::Client,
    request: &InvokeUrlRequest,
) -> Result<EffectResult, String> {
    let url_text = text_of(&request.url);
    let mut url = url::Url::parse(&url_text)
        .map_err(|error| format!("invokeurl: `{url_text}` is not a valid URL ({error})"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!(
            "invokeurl: only http and https URLs can be called, not `{url_text}`"
        ));
    }
    let method_text = text_of(&request.method).to_ascii_uppercase();
    let method = reqwest::Method::from_bytes(method_text.as_bytes())
        .map_err(|_| format!("invokeurl: `{method_text}` is not an HTTP method"))?;
    let sends_query = matches!(method_text.as_str(), "GET" | "DELETE" | "HEAD");
    let mut form_body: Option<Vec<(String, String)>> = None;
    let mut raw_body: Option<(String, &'static str)> = None;
    if let Some(parameters) = &request.parameters {
        match parameters {
            OwnedValue::Map(_) if sends_query => {
                let mut query = url.query_pairs_mut();
                for (key, value) in pairs_of(parameters) {
                    query.append_pair(&key, &value);
                }
            }
            OwnedValue::Map(_) => form_body = Some(pairs_of(parameters)),
            OwnedValue::Null => {}
            other => raw_body = Some((text_of(other), "text/plain")),
        }
    }
    if let Some(body) = &request.body {
        match body {
            OwnedValue::Map(_) | OwnedValue::List(_) => {
                raw_body = Some((body.to_json_text(), "application/json"));
            }
            OwnedValue::Null => {}
            other => raw_body = Some((text_of(other), "text/plain")),
        }
    }
    let mut builder = client.request(method, url).timeout(INVOKEURL_TIMEOUT);
    let mut has_content_type = false;
    if let Some(headers) = &request.headers {
        for (key, value) in pairs_of(headers) {
            has_content_type |= key.eq_ignore_ascii_case("content-type");
            builder = builder.header(key, value);
        }
    }
    if let Some(content_type) = &request.content_type {
        has_content_type = true;
        builder = builder.header("content-type", text_of(content_type));
    }
    if let Some((body, default_type)) = raw_body {
        if !has_content_type {
            builder = builder.header("content-type", default_type);
        }
        builder = builder.body(body);
    } else if let Some(form) = form_body {
        builder = builder.form(&form);
    }
    let response = builder.send().await.map_err(|error| {
        if error.is_timeout() {
            "invokeurl: socket timeout error".to_owned()
        } else {
            format!("invokeurl: request failed: {error}")
        }
    })?;
    let status = response.status().as_u16();
    let headers: indexmap::IndexMap<String, OwnedValue> = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                OwnedValue::Text(String::from_utf8_lossy(value.as_bytes()).into_owned()),
            )
        })
        .collect();
    let bytes = response
        .bytes()
        .await
        .map_err(|error| format!("invokeurl: reading the response failed: {error}"))?;
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(format!(
            "invokeurl: the response is larger than {MAX_RESPONSE_BYTES} bytes"
        ));
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(json @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
            json_to_owned(&json)
        }
        _ => OwnedValue::Text(text),
    };
    let detailed = matches!(request.detailed, Some(OwnedValue::Boolean(true)))
        || matches!(&request.detailed, Some(OwnedValue::Text(text)) if text.eq_ignore_ascii_case("true"));
    if detailed {
        let mut map = indexmap::IndexMap::new();
        map.insert(
            "responseCode".to_owned(),
            OwnedValue::Long(i64::from(status)),
        );
        map.insert("responseText".to_owned(), body);
        map.insert("responseHeader".to_owned(), OwnedValue::Map(headers));
        return Ok(EffectResult::Value(OwnedValue::Map(map)));
    }
    Ok(EffectResult::Value(body))
}
