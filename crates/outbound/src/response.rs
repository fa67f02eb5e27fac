//! The response model and what a script gets back from it.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::request::ResponseFormat;

/// A complete response (redirects already followed). HTTP error statuses are responses too.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundResponse {
    pub status: u16,
    /// Header names lowercase, in the order received; repeated headers appear repeatedly.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// The URL of the final hop as the script sees it (service host, not a stand-in route,
    /// and without credential query parameters).
    pub url: String,
    /// Redirects followed.
    pub redirects: u32,
    /// HTTP exchanges made for the final hop (1 + retries).
    pub attempts: u32,
    pub response_format: ResponseFormat,
    pub response_decoding: Option<String>,
}

/// The body as Deluge sees it: map or list, text, or file.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseValue {
    Json(Value),
    Text(String),
    File {
        bytes: Bytes,
        content_type: Option<String>,
        file_name: Option<String>,
    },
}

impl OutboundResponse {
    /// First value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The charset used to decode text: `response-decoding`, else the Content-Type's charset.
    pub fn charset(&self) -> Option<String> {
        if let Some(charset) = &self.response_decoding {
            return Some(charset.trim().to_owned());
        }
        let content_type = self.content_type()?;
        content_type.split(';').skip(1).find_map(|parameter| {
            let (name, value) = parameter.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| value.trim().trim_matches('"').to_owned())
        })
    }

    /// The body decoded as text with [`Self::charset`] (UTF-8 when absent or unknown);
    /// undecodable bytes become U+FFFD rather than failing.
    pub fn text(&self) -> String {
        let encoding = self
            .charset()
            .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
            .unwrap_or(encoding_rs::UTF_8);
        let (text, _, _) = encoding.decode(&self.body);
        text.into_owned()
    }

    /// The body parsed as JSON when it is a JSON object or array (whatever the Content-Type
    /// says, as Zoho does).
    pub fn json(&self) -> Option<Value> {
        let text = self.text();
        let trimmed = text.trim_start_matches('\u{feff}').trim();
        if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
            return None;
        }
        serde_json::from_str(trimmed).ok()
    }

    /// The body the way invokeurl returns it, following `response-format`.
    pub fn value(&self) -> ResponseValue {
        match self.response_format {
            ResponseFormat::Text => ResponseValue::Text(self.text()),
            ResponseFormat::File => self.file_value(),
            ResponseFormat::Json => match self.json() {
                Some(value) => ResponseValue::Json(value),
                None => {
                    let text = self.text();
                    match serde_json::from_str::<Value>(text.trim()) {
                        Ok(value) => ResponseValue::Json(value),
                        Err(_) => ResponseValue::Text(text),
                    }
                }
            },
            ResponseFormat::Auto => {
                if let Some(value) = self.json() {
                    ResponseValue::Json(value)
                } else if self.looks_binary() {
                    self.file_value()
                } else {
                    ResponseValue::Text(self.text())
                }
            }
        }
    }

    /// invokeurl's `detailed: true` result: `{responseCode, responseText, responseHeader}`.
    /// A file body appears as its text here; callers that keep files use [`Self::value`].
    pub fn detailed(&self) -> Value {
        let response_text = match self.value() {
            ResponseValue::Json(value) => value,
            ResponseValue::Text(text) => Value::String(text),
            ResponseValue::File { .. } => Value::String(self.text()),
        };
        let mut object = Map::new();
        object.insert("responseCode".to_owned(), Value::from(self.status));
        object.insert("responseText".to_owned(), response_text);
        object.insert(
            "responseHeader".to_owned(),
            Value::Object(self.header_map()),
        );
        Value::Object(object)
    }

    /// Headers as one map, repeated headers joined with ", " (Set-Cookie with "\n").
    pub fn header_map(&self) -> Map<String, Value> {
        let mut map: Map<String, Value> = Map::new();
        for (name, value) in &self.headers {
            let separator = if name == "set-cookie" { "\n" } else { ", " };
            match map.get_mut(name) {
                Some(Value::String(existing)) => {
                    existing.push_str(separator);
                    existing.push_str(value);
                }
                _ => {
                    map.insert(name.clone(), Value::String(value.clone()));
                }
            }
        }
        map
    }

    fn file_value(&self) -> ResponseValue {
        ResponseValue::File {
            bytes: self.body.clone(),
            content_type: self.content_type().map(str::to_owned),
            file_name: self.file_name(),
        }
    }

    /// The file name from Content-Disposition, else the last URL path segment.
    pub fn file_name(&self) -> Option<String> {
        if let Some(disposition) = self.header("content-disposition") {
            for parameter in disposition.split(';') {
                if let Some((name, value)) = parameter.split_once('=')
                    && name.trim().eq_ignore_ascii_case("filename")
                {
                    let value = value.trim().trim_matches('"');
                    if !value.is_empty() {
                        return Some(value.to_owned());
                    }
                }
            }
        }
        url::Url::parse(&self.url)
            .ok()?
            .path_segments()?
            .rev()
            .find(|segment| !segment.is_empty())
            .map(str::to_owned)
    }

    fn looks_binary(&self) -> bool {
        if self.body.is_empty() {
            return false;
        }
        let textual_type = self.content_type().is_none_or(|content_type| {
            let content_type = content_type.to_ascii_lowercase();
            content_type.starts_with("text/")
                || content_type.contains("json")
                || content_type.contains("xml")
                || content_type.contains("javascript")
                || content_type.contains("x-www-form-urlencoded")
        });
        if textual_type && self.charset().is_some() {
            return false;
        }
        !textual_type || std::str::from_utf8(&self.body).is_err()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(content_type: Option<&str>, body: &[u8]) -> OutboundResponse {
        OutboundResponse {
            status: 200,
            headers: content_type
                .map(|value| vec![("content-type".to_owned(), value.to_owned())])
                .unwrap_or_default(),
            body: Bytes::copy_from_slice(body),
            url: "https://example.com/files/report.pdf".to_owned(),
            redirects: 0,
            attempts: 1,
            response_format: ResponseFormat::Auto,
            response_decoding: None,
        }
    }

    #[test]
    fn json_objects_and_arrays_become_values_whatever_the_content_type() {
        let object = response(Some("text/plain"), b" {\"a\":1} ");
        assert_eq!(
            object.value(),
            ResponseValue::Json(serde_json::json!({"a": 1}))
        );
        let list = response(None, b"[1,2]");
        assert_eq!(list.value(), ResponseValue::Json(serde_json::json!([1, 2])));
        let scalar = response(Some("application/json"), b"42");
        assert_eq!(scalar.value(), ResponseValue::Text("42".to_owned()));
        let xml = response(Some("application/xml"), b"<a/>");
        assert_eq!(xml.value(), ResponseValue::Text("<a/>".to_owned()));
        let empty = response(None, b"");
        assert_eq!(empty.value(), ResponseValue::Text(String::new()));
    }

    #[test]
    fn binary_bodies_are_files_with_a_name() {
        let pdf = response(Some("application/pdf"), b"%PDF-1.4 \xff\xfe");
        match pdf.value() {
            ResponseValue::File { file_name, .. } => {
                assert_eq!(file_name.as_deref(), Some("report.pdf"))
            }
            other => panic!("expected a file, got {other:?}"),
        }
    }

    #[test]
    fn charset_comes_from_response_decoding_then_header() {
        let mut latin1 = response(Some("text/plain; charset=ISO-8859-1"), b"caf\xe9");
        assert_eq!(latin1.text(), "café");
        latin1.response_decoding = Some("UTF-8".to_owned());
        assert_eq!(latin1.text(), "caf\u{fffd}");
        latin1.response_format = ResponseFormat::Text;
        assert_eq!(
            latin1.value(),
            ResponseValue::Text("caf\u{fffd}".to_owned())
        );
    }

    #[test]
    fn detailed_has_zoho_key_names() {
        let mut detailed = response(Some("application/json"), b"{\"code\":\"INVALID_TOKEN\"}");
        detailed.status = 401;
        detailed.headers.push(("x-a".to_owned(), "1".to_owned()));
        detailed.headers.push(("x-a".to_owned(), "2".to_owned()));
        assert_eq!(
            detailed.detailed(),
            serde_json::json!({
                "responseCode": 401,
                "responseText": {"code": "INVALID_TOKEN"},
                "responseHeader": {"content-type": "application/json", "x-a": "1, 2"}
            })
        );
    }
}
