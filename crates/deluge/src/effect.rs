//! The effects protocol: everything a run cannot do by itself. The VM stops at an effect,
//! hands the request to its driver, and resumes with an [`EffectResult`]. Requests and
//! results are plain serde data ([`OwnedValue`]), so a driver can journal them and replay a
//! run deterministically by answering the same effects in the same order.

use serde::{Deserialize, Serialize};

use crate::value::OwnedValue;

/// A request the run makes of its host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    /// `invokeurl [ url: ... type: ... ]`, and the legacy `getUrl`/`postUrl` functions.
    InvokeUrl(InvokeUrlRequest),
    /// `zoho.<service>.<task>(arguments)`, e.g. `zoho.bigin.getRecordById(...)`.
    /// `service` may hold a dot for versioned tasks (`crm.v8`).
    IntegrationTask {
        service: String,
        task: String,
        arguments: Vec<OwnedValue>,
    },
    /// `sendmail [ from: ... to: ... ]`. Keys are lower-case with single spaces
    /// (`reply to`, `content type`); `attachments` is a list.
    SendMail { fields: Vec<(String, OwnedValue)> },
    /// Any other bracket task `name [ key: value ... ]`, keys lower-cased.
    Task {
        name: String,
        fields: Vec<(String, OwnedValue)>,
    },
    /// A call to another stored function, e.g. `standalone.fmt(n)`: `name` is the
    /// qualified name as written. `call_depth` is the depth the callee would run at.
    CallFunction {
        name: String,
        arguments: Vec<OwnedValue>,
        call_depth: u32,
    },
    /// `zoho.currenttime`, `zoho.currentdate`, `now`, `today`: the host answers with the
    /// current date-time (a `DateTime` value, or its text form `dd-MMM-yyyy HH:mm:ss`).
    CurrentTime,
    /// A random number in `[low, high]` (`randomNumber(low, high)`).
    Random { low: i64, high: i64 },
}

/// The keys of an `invokeurl` task, as the script gave them (absent keys are `None`).
/// `type` defaults to `GET` when the script leaves it out.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InvokeUrlRequest {
    pub url: OwnedValue,
    #[serde(rename = "type")]
    pub method: OwnedValue,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<OwnedValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<OwnedValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<OwnedValue>,
    #[serde(
        default,
        rename = "content-type",
        skip_serializing_if = "Option::is_none"
    )]
    pub content_type: Option<OwnedValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<OwnedValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<OwnedValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detailed: Option<OwnedValue>,
    #[serde(
        default,
        rename = "response-format",
        skip_serializing_if = "Option::is_none"
    )]
    pub response_format: Option<OwnedValue>,
    #[serde(
        default,
        rename = "response-decoding",
        skip_serializing_if = "Option::is_none"
    )]
    pub response_decoding: Option<OwnedValue>,
}

impl InvokeUrlRequest {
    /// The connection link name, when the request names one as text.
    pub fn connection_name(&self) -> Option<String> {
        match &self.connection {
            None | Some(OwnedValue::Null) => None,
            Some(value) => Some(value.to_display_string()),
        }
    }
}

/// The host's answer to an effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectResult {
    /// The effect's value, as the script sees it.
    Value(OwnedValue),
    /// The effect failed; the script sees a runtime error with this message, which a
    /// `try`/`catch` can catch.
    Error(String),
}

impl Effect {
    /// A short name of the effect's kind, for logs and error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Effect::InvokeUrl(_) => "invokeurl",
            Effect::IntegrationTask { .. } => "integration task",
            Effect::SendMail { .. } => "sendmail",
            Effect::Task { .. } => "task",
            Effect::CallFunction { .. } => "function call",
            Effect::CurrentTime => "current time",
            Effect::Random { .. } => "random number",
        }
    }
}
