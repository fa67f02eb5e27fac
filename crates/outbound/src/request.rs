//! The request model, and how invokeurl's keys map onto it.

use std::time::Duration;

use bytes::Bytes;

use crate::error::OutboundError;

/// The HTTP methods invokeurl can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
}

impl Method {
    /// Parses invokeurl's `type` value, case-insensitively (`POST`, `"post"`).
    pub fn parse(text: &str) -> Result<Method, OutboundError> {
        match text.trim().to_ascii_uppercase().as_str() {
            "GET" => Ok(Method::Get),
            "POST" => Ok(Method::Post),
            "PUT" => Ok(Method::Put),
            "PATCH" => Ok(Method::Patch),
            "DELETE" => Ok(Method::Delete),
            "HEAD" => Ok(Method::Head),
            _ => Err(OutboundError::InvalidMethod {
                method: text.to_owned(),
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
        }
    }

    /// Methods retried automatically on 429 and 5xx (RFC 9110 idempotent methods).
    pub fn is_idempotent(self) -> bool {
        matches!(
            self,
            Method::Get | Method::Head | Method::Put | Method::Delete
        )
    }

    /// Methods whose map `parameters` go to the query string rather than a form body.
    pub fn parameters_go_to_query(self) -> bool {
        matches!(self, Method::Get | Method::Delete | Method::Head)
    }

    pub(crate) fn to_http(self) -> http::Method {
        match self {
            Method::Get => http::Method::GET,
            Method::Post => http::Method::POST,
            Method::Put => http::Method::PUT,
            Method::Patch => http::Method::PATCH,
            Method::Delete => http::Method::DELETE,
            Method::Head => http::Method::HEAD,
        }
    }
}

/// What the request carries as its body.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum RequestBody {
    #[default]
    None,
    /// `application/x-www-form-urlencoded`, pairs in order (names may repeat).
    Form(Vec<(String, String)>),
    /// A raw text body; `content_type` defaults to `text/plain; charset=utf-8`.
    Text {
        text: String,
        content_type: Option<String>,
    },
    /// A JSON document, sent as `application/json`.
    Json(serde_json::Value),
    /// Raw bytes (a file sent as the whole body); defaults to `application/octet-stream`.
    Bytes {
        bytes: Bytes,
        content_type: Option<String>,
    },
    /// `multipart/form-data`.
    Multipart(Vec<MultipartPart>),
}

impl RequestBody {
    pub fn is_none(&self) -> bool {
        matches!(self, RequestBody::None)
    }
}

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq)]
pub enum MultipartPart {
    Text {
        name: String,
        value: String,
    },
    File {
        name: String,
        file_name: String,
        content_type: Option<String>,
        bytes: Bytes,
    },
}

/// How the caller wants the response body (invokeurl's `response-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseFormat {
    /// JSON object or array -> map or list, binary -> file, otherwise text (Zoho's default).
    #[default]
    Auto,
    Json,
    Text,
    File,
}

impl ResponseFormat {
    pub fn parse(text: &str) -> Result<ResponseFormat, OutboundError> {
        match text.trim().to_ascii_uppercase().as_str() {
            "" | "AUTO" => Ok(ResponseFormat::Auto),
            "JSON" => Ok(ResponseFormat::Json),
            "TEXT" | "STRING" => Ok(ResponseFormat::Text),
            "FILE" => Ok(ResponseFormat::File),
            _ => Err(OutboundError::InvalidRequest {
                reason: format!("response-format {text:?} is not known: use JSON, TEXT or FILE"),
            }),
        }
    }
}

/// One outbound HTTP request, before credentials, routes and policy are applied.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundRequest {
    pub method: Method,
    /// Absolute http(s) URL as the script wrote it (it may already carry a query string).
    pub url: String,
    /// Query parameters appended to the URL's own, in order.
    pub query: Vec<(String, String)>,
    /// Headers in order; a later header of the same name is sent as an additional value.
    /// Hop-by-hop and framing headers (Host, Content-Length, Transfer-Encoding, Connection...)
    /// are ignored: the HTTP stack sets them.
    pub headers: Vec<(String, String)>,
    pub body: RequestBody,
    pub response_format: ResponseFormat,
    /// Charset used to turn a text response into a string (invokeurl's `response-decoding`);
    /// otherwise the charset of the Content-Type header, otherwise UTF-8.
    pub response_decoding: Option<String>,
    /// Follow redirects (each hop re-checked); on by default.
    pub follow_redirects: bool,
    /// Also retry POST and PATCH on 429 and 5xx. Off by default: they may not be idempotent.
    pub retry_non_idempotent: bool,
    /// Overrides the engine's timeout for this request.
    pub timeout: Option<Duration>,
}

impl OutboundRequest {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        OutboundRequest {
            method,
            url: url.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: RequestBody::None,
            response_format: ResponseFormat::Auto,
            response_decoding: None,
            follow_redirects: true,
            retry_non_idempotent: false,
            timeout: None,
        }
    }

    pub fn get(url: impl Into<String>) -> Self {
        OutboundRequest::new(Method::Get, url)
    }

    pub fn post(url: impl Into<String>) -> Self {
        OutboundRequest::new(Method::Post, url)
    }

    pub fn with_query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn with_body(mut self, body: RequestBody) -> Self {
        self.body = body;
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Builds the request from invokeurl's keys with Zoho's rules:
    /// - `type` defaults to GET;
    /// - `parameters` as a map is the query string for GET, DELETE and HEAD and a form body
    ///   for POST, PUT and PATCH; as text it is the raw body (default `text/plain`);
    /// - `body` is the raw body: text as given, a map as JSON unless `content-type` says form;
    ///   with `body` present, map `parameters` go to the query string;
    /// - `content-type` sets the body's content type; a map sent with a JSON content type is
    ///   serialised as a JSON object rather than form-encoded;
    /// - `files` make a multipart body; map `parameters` become its text parts.
    pub fn from_invokeurl(arguments: InvokeUrlArguments) -> Result<OutboundRequest, OutboundError> {
        let method = match arguments.method.as_deref() {
            Some(text) => Method::parse(text)?,
            None => Method::Get,
        };
        let mut request = OutboundRequest::new(method, arguments.url);
        request.headers = arguments.headers;
        if let Some(format) = arguments.response_format.as_deref() {
            request.response_format = ResponseFormat::parse(format)?;
        }
        request.response_decoding = arguments
            .response_decoding
            .filter(|charset| !charset.trim().is_empty());

        let content_type = arguments
            .content_type
            .filter(|value| !value.trim().is_empty());
        let content_type_is_json = content_type
            .as_deref()
            .is_some_and(|value| value.to_ascii_lowercase().contains("json"));
        let content_type_is_form = content_type.as_deref().is_some_and(|value| {
            value
                .to_ascii_lowercase()
                .contains("application/x-www-form-urlencoded")
        });

        if !arguments.files.is_empty() {
            if arguments.body.is_some() {
                return Err(OutboundError::InvalidRequest {
                    reason: "invokeurl has both files and body: files are sent as a multipart body, so put other fields in parameters (a map)".to_owned(),
                });
            }
            let mut parts = Vec::new();
            match arguments.parameters {
                Some(InvokeUrlValue::Map(pairs)) => {
                    for (name, value) in pairs {
                        parts.push(MultipartPart::Text { name, value });
                    }
                }
                Some(InvokeUrlValue::Text(_)) => {
                    return Err(OutboundError::InvalidRequest {
                        reason: "invokeurl has files and text parameters: with files, parameters must be a map (its entries become form fields)".to_owned(),
                    });
                }
                None => {}
            }
            for file in arguments.files {
                parts.push(MultipartPart::File {
                    name: file.param_name.unwrap_or_else(|| "file".to_owned()),
                    file_name: file.file_name,
                    content_type: file.content_type,
                    bytes: file.bytes,
                });
            }
            request.body = RequestBody::Multipart(parts);
            return Ok(request);
        }

        let map_body = |pairs: Vec<(String, String)>, content_type: Option<String>| {
            if content_type_is_json {
                let object = pairs
                    .into_iter()
                    .map(|(name, value)| (name, serde_json::Value::String(value)))
                    .collect::<serde_json::Map<_, _>>();
                RequestBody::Text {
                    text: serde_json::Value::Object(object).to_string(),
                    content_type,
                }
            } else {
                RequestBody::Form(pairs)
            }
        };

        match (arguments.body, arguments.parameters) {
            (Some(body), parameters) => {
                request.body = match body {
                    InvokeUrlValue::Text(text) => RequestBody::Text {
                        text,
                        content_type: content_type.clone(),
                    },
                    InvokeUrlValue::Map(pairs) if content_type_is_form => RequestBody::Form(pairs),
                    InvokeUrlValue::Map(pairs) => {
                        let object = pairs
                            .into_iter()
                            .map(|(name, value)| (name, serde_json::Value::String(value)))
                            .collect::<serde_json::Map<_, _>>();
                        RequestBody::Text {
                            text: serde_json::Value::Object(object).to_string(),
                            content_type: Some(
                                content_type
                                    .clone()
                                    .unwrap_or_else(|| "application/json".to_owned()),
                            ),
                        }
                    }
                };
                match parameters {
                    Some(InvokeUrlValue::Map(pairs)) => request.query = pairs,
                    Some(InvokeUrlValue::Text(_)) => {
                        return Err(OutboundError::InvalidRequest {
                            reason: "invokeurl has both body and text parameters, and both would be the raw body: keep one of them".to_owned(),
                        });
                    }
                    None => {}
                }
            }
            (None, Some(InvokeUrlValue::Map(pairs))) => {
                if method.parameters_go_to_query() {
                    request.query = pairs;
                } else {
                    request.body = map_body(pairs, content_type.clone());
                }
            }
            (None, Some(InvokeUrlValue::Text(text))) => {
                request.body = RequestBody::Text {
                    text,
                    content_type: content_type.clone(),
                };
            }
            (None, None) => {}
        }
        if let (Some(content_type), RequestBody::Form(_)) = (&content_type, &request.body) {
            request
                .headers
                .push(("Content-Type".to_owned(), content_type.clone()));
        }
        Ok(request)
    }
}

/// A value of an invokeurl key as the Deluge side hands it over: a map (already converted to
/// ordered string pairs, nested values as their text) or a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeUrlValue {
    Map(Vec<(String, String)>),
    Text(String),
}

/// A file for invokeurl's `files` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeUrlFile {
    /// Multipart field name (Deluge's `setParamName`); defaults to `file`.
    pub param_name: Option<String>,
    pub file_name: String,
    pub content_type: Option<String>,
    pub bytes: Bytes,
}

/// The keys of one invokeurl task, evaluated. `connection` and `detailed` are not here: the
/// caller resolves the connection into a [`crate::CredentialAttachment`] and shapes the
/// result with [`crate::OutboundResponse::detailed`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InvokeUrlArguments {
    pub url: String,
    pub method: Option<String>,
    pub parameters: Option<InvokeUrlValue>,
    pub body: Option<InvokeUrlValue>,
    pub content_type: Option<String>,
    pub headers: Vec<(String, String)>,
    pub files: Vec<InvokeUrlFile>,
    pub response_format: Option<String>,
    pub response_decoding: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> InvokeUrlValue {
        InvokeUrlValue::Map(
            pairs
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        )
    }

    fn arguments(method: &str) -> InvokeUrlArguments {
        InvokeUrlArguments {
            url: "https://example.com/api".to_owned(),
            method: Some(method.to_owned()),
            ..InvokeUrlArguments::default()
        }
    }

    #[test]
    fn map_parameters_are_query_for_get_delete_head_and_form_otherwise() {
        for method in ["GET", "get", "DELETE", "HEAD"] {
            let request = OutboundRequest::from_invokeurl(InvokeUrlArguments {
                parameters: Some(map(&[("a", "1"), ("b", "2")])),
                ..arguments(method)
            })
            .unwrap();
            assert_eq!(request.query.len(), 2, "{method}");
            assert!(request.body.is_none(), "{method}");
        }
        for method in ["POST", "PUT", "PATCH"] {
            let request = OutboundRequest::from_invokeurl(InvokeUrlArguments {
                parameters: Some(map(&[("a", "1")])),
                ..arguments(method)
            })
            .unwrap();
            assert!(request.query.is_empty(), "{method}");
            assert_eq!(
                request.body,
                RequestBody::Form(vec![("a".to_owned(), "1".to_owned())]),
                "{method}"
            );
        }
    }

    #[test]
    fn text_parameters_are_the_raw_body_with_the_given_content_type() {
        let request = OutboundRequest::from_invokeurl(InvokeUrlArguments {
            parameters: Some(InvokeUrlValue::Text("{\"x\":1}".to_owned())),
            content_type: Some("application/json".to_owned()),
            ..arguments("POST")
        })
        .unwrap();
        assert_eq!(
            request.body,
            RequestBody::Text {
                text: "{\"x\":1}".to_owned(),
                content_type: Some("application/json".to_owned())
            }
        );
    }

    #[test]
    fn map_with_json_content_type_is_sent_as_json_object() {
        let request = OutboundRequest::from_invokeurl(InvokeUrlArguments {
            parameters: Some(map(&[("name", "Ada")])),
            content_type: Some("application/json".to_owned()),
            ..arguments("POST")
        })
        .unwrap();
        assert_eq!(
            request.body,
            RequestBody::Text {
                text: "{\"name\":\"Ada\"}".to_owned(),
                content_type: Some("application/json".to_owned())
            }
        );
    }

    #[test]
    fn body_with_map_parameters_puts_parameters_in_query() {
        let request = OutboundRequest::from_invokeurl(InvokeUrlArguments {
            parameters: Some(map(&[("organization_id", "1")])),
            body: Some(InvokeUrlValue::Text("raw".to_owned())),
            ..arguments("PUT")
        })
        .unwrap();
        assert_eq!(
            request.query,
            vec![("organization_id".to_owned(), "1".to_owned())]
        );
        assert!(matches!(request.body, RequestBody::Text { .. }));
        let map_body = OutboundRequest::from_invokeurl(InvokeUrlArguments {
            body: Some(map(&[("k", "v")])),
            ..arguments("POST")
        })
        .unwrap();
        assert_eq!(
            map_body.body,
            RequestBody::Text {
                text: "{\"k\":\"v\"}".to_owned(),
                content_type: Some("application/json".to_owned())
            }
        );
    }

    #[test]
    fn files_make_multipart_with_parameters_as_fields() {
        let request = OutboundRequest::from_invokeurl(InvokeUrlArguments {
            parameters: Some(map(&[("note", "hi")])),
            files: vec![InvokeUrlFile {
                param_name: None,
                file_name: "a.txt".to_owned(),
                content_type: Some("text/plain".to_owned()),
                bytes: Bytes::from_static(b"abc"),
            }],
            ..arguments("POST")
        })
        .unwrap();
        let RequestBody::Multipart(parts) = request.body else {
            panic!("expected multipart");
        };
        assert_eq!(parts.len(), 2);
        assert!(matches!(&parts[1], MultipartPart::File { name, .. } if name == "file"));
    }

    #[test]
    fn bad_type_and_format_say_what_is_allowed() {
        let error = OutboundRequest::from_invokeurl(arguments("FETCH")).unwrap_err();
        assert_eq!(error.code(), "INVALID_METHOD");
        assert!(error.to_string().contains("GET, POST"));
        let error = OutboundRequest::from_invokeurl(InvokeUrlArguments {
            response_format: Some("XML".to_owned()),
            ..arguments("GET")
        })
        .unwrap_err();
        assert_eq!(error.code(), "INVALID_REQUEST");
        let defaulted = OutboundRequest::from_invokeurl(InvokeUrlArguments {
            method: None,
            ..arguments("GET")
        })
        .unwrap();
        assert_eq!(defaulted.method, Method::Get);
    }
}
