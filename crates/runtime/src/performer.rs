//! The server-side performer of a run's effects.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use trestle_connections::RequestCredential;
use trestle_deluge::{Effect, EffectResult, InvokeUrlRequest, OwnedValue, RunContext};
use trestle_functions::json::{effect_kind, effect_request_json, json_to_owned, owned_to_json};
use trestle_functions::local::LocalPerformer;
use trestle_functions::{
    EffectPerformer, FunctionsError, PerformFuture, run_to_completion, start_run,
};
use trestle_outbound::{
    EgressContext, InvokeUrlArguments, InvokeUrlFile, InvokeUrlValue, Method, OutboundRequest,
    OutboundResponse, Redactor, RequestBody, ResponseValue,
};
use trestle_store::{EnvironmentKind, OrganizationId};

use crate::FunctionRuntime;
use crate::error::RuntimeError;
use crate::report::EffectRecord;
use crate::stored;

/// Performs the effects of one run in one organization's environment and records them.
pub struct ServerPerformer<'a> {
    runtime: &'a FunctionRuntime,
    organization: OrganizationId,
    environment: EnvironmentKind,
    context: EgressContext,
    local: LocalPerformer,
    journal: Mutex<Journal>,
}

#[derive(Default)]
struct Journal {
    records: Vec<EffectRecord>,
    redactor: Redactor,
}

impl<'a> ServerPerformer<'a> {
    pub fn new(
        runtime: &'a FunctionRuntime,
        organization: OrganizationId,
        environment: EnvironmentKind,
        context: EgressContext,
    ) -> ServerPerformer<'a> {
        ServerPerformer {
            runtime,
            organization,
            environment,
            context,
            local: LocalPerformer::new(),
            journal: Mutex::new(Journal::default()),
        }
    }

    /// The effects performed so far, every credential value that was used redacted.
    pub fn into_records(self) -> Vec<EffectRecord> {
        let journal = match self.journal.into_inner() {
            Ok(journal) => journal,
            Err(poisoned) => poisoned.into_inner(),
        };
        journal
            .records
            .into_iter()
            .map(|record| EffectRecord {
                request: redact_json(&journal.redactor, record.request),
                response: redact_json(&journal.redactor, record.response),
                ..record
            })
            .collect()
    }

    fn journal(&self) -> std::sync::MutexGuard<'_, Journal> {
        match self.journal.lock() {
            Ok(journal) => journal,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn remember_secrets(&self, credential: &RequestCredential) {
        let mut journal = self.journal();
        for secret in credential.attachment.secret_values() {
            journal.redactor.add_secret(&secret);
        }
    }

    /// Sends through a connection: credential for the link name in this organization and
    /// environment, one retry with a forced refresh after an expired-token status.
    pub(crate) async fn send_through_connection(
        &self,
        request: OutboundRequest,
        link_name: &str,
    ) -> Result<(OutboundResponse, Arc<RequestCredential>), RuntimeError> {
        send_through_connection(
            self.runtime,
            self.organization,
            self.environment,
            &self.context,
            request,
            link_name,
            &|credential| self.remember_secrets(credential),
        )
        .await
    }

    async fn invoke_url(&self, request: &InvokeUrlRequest) -> (EffectResult, serde_json::Value) {
        let outbound = match outbound_request(request) {
            Ok(outbound) => outbound,
            Err(message) => return error_result(message),
        };
        let detailed = is_true(request.detailed.as_ref());
        let sent = match request.connection_name() {
            Some(link_name) => self
                .send_through_connection(outbound, &link_name)
                .await
                .map(|(response, _)| response),
            None => self
                .runtime
                .engine
                .send(outbound, None, &self.context)
                .await
                .map_err(RuntimeError::from),
        };
        match sent {
            Ok(response) => {
                let summary = response_summary(&response);
                let value = if detailed {
                    json_to_owned(&response.detailed())
                } else {
                    script_value(&response)
                };
                (EffectResult::Value(value), summary)
            }
            Err(error) => error_result(format!("invokeurl: {error} [{}]", error.code())),
        }
    }

    async fn integration_task(
        &self,
        service: &str,
        task: &str,
        arguments: &[OwnedValue],
    ) -> (EffectResult, serde_json::Value) {
        let json_arguments: Vec<serde_json::Value> = arguments.iter().map(owned_to_json).collect();
        let plan = match trestle_integrations::plan_task(service, task, &json_arguments) {
            Ok(plan) => plan,
            Err(error) => return error_result(error.to_string()),
        };
        let Some(link_name) = plan.connection.clone() else {
            return error_result(format!(
                "zoho.{service}.{task}: name the connection as the last argument (for example \"mytopping__{}connection\"); Trestle sends integration tasks only through a connection",
                service.split('.').next().unwrap_or(service)
            ));
        };
        let credential = match self
            .runtime
            .connections
            .shared_credential_for_request(self.organization, self.environment, &link_name)
            .await
        {
            Ok(credential) => credential,
            Err(error) => {
                return error_result(format!("zoho.{service}.{task}: {error} [{}]", error.code()));
            }
        };
        let Some(api_base) = credential.service.api_base_url.clone() else {
            return error_result(format!(
                "zoho.{service}.{task}: the service of connection \"{link_name}\" has no API base URL"
            ));
        };
        let url = format!("{}{}", api_base.as_str().trim_end_matches('/'), plan.path);
        let mut request = OutboundRequest::new(method_of(plan.method.as_str()), url);
        request.query = plan.query.clone();
        if let Some(body) = &plan.json_body {
            request.body = RequestBody::Json(body.clone());
        }
        match self.send_through_connection(request, &link_name).await {
            Ok((response, _)) => {
                let summary = response_summary(&response);
                let shaped =
                    trestle_integrations::shape_response(&plan, response.status, response.json());
                (EffectResult::Value(json_to_owned(&shaped)), summary)
            }
            Err(error) => {
                error_result(format!("zoho.{service}.{task}: {error} [{}]", error.code()))
            }
        }
    }
}

impl ServerPerformer<'_> {
    /// Runs another stored function of this environment with this performer, so its effects
    /// go through the same connections and are recorded in the same report. The VM has
    /// already refused a call deeper than its limit.
    async fn call_stored_function(
        &self,
        qualified_name: &str,
        arguments: &[OwnedValue],
        call_depth: u32,
    ) -> (EffectResult, serde_json::Value) {
        let name = stored::called_function_name(qualified_name);
        let found = self
            .runtime
            .connections
            .store()
            .stored_functions()
            .find(self.organization, self.environment, name)
            .await;
        let function = match found {
            Ok(Some(function)) => function,
            Ok(None) => {
                return error_result(format!(
                    "{qualified_name}(...): there is no stored function named \"{name}\" in the {} environment; create it or check the name",
                    self.environment
                ));
            }
            Err(error) => {
                return error_result(format!(
                    "{qualified_name}(...): the stored function could not be loaded: {error} [{}]",
                    error.code()
                ));
            }
        };
        let checked = match stored::arguments_from_call(&function, arguments) {
            Ok(checked) => checked,
            Err(message) => return error_result(format!("{qualified_name}(...): {message}")),
        };
        let program = match trestle_deluge::compile_source(&function.script) {
            Ok(program) => program,
            Err(error) => {
                return error_result(format!(
                    "{qualified_name}(...): the stored function does not compile: {} [{}]",
                    error.message(),
                    error.code()
                ));
            }
        };
        let checked = stored::arguments_for_program(&program, checked);
        let context = RunContext {
            call_depth,
            ..RunContext::default()
        };
        let run = match start_run(program, checked, stored::server_limits(), context) {
            Ok(run) => run,
            Err(error) => {
                return error_result(format!("{qualified_name}(...): {error} [{}]", error.code()));
            }
        };
        match run_to_completion(run, self).await {
            Ok(outcome) => {
                let return_value = owned_to_json(&outcome.return_value);
                let summary = serde_json::json!({
                    "function": function.name,
                    "call_depth": call_depth,
                    "return_value": return_value,
                    "info": outcome.info_lines,
                    "statements": outcome.statements_executed,
                });
                (EffectResult::Value(outcome.return_value), summary)
            }
            Err(FunctionsError::ScriptFailed { failure }) => {
                let location = failure
                    .error
                    .location()
                    .map(|location| format!(" at line {}", location.line))
                    .unwrap_or_default();
                error_result(format!(
                    "{qualified_name}(...) failed{location} of {}: {} [{}]",
                    function.name,
                    failure.error.message(),
                    failure.error.code()
                ))
            }
            Err(other) => {
                error_result(format!("{qualified_name}(...): {other} [{}]", other.code()))
            }
        }
    }
}

impl EffectPerformer for ServerPerformer<'_> {
    fn perform<'b>(&'b self, effect: &'b Effect) -> PerformFuture<'b> {
        Box::pin(async move {
            let started = Instant::now();
            let (result, response) = match effect {
                Effect::InvokeUrl(request) => self.invoke_url(request).await,
                Effect::IntegrationTask {
                    service,
                    task,
                    arguments,
                } => self.integration_task(service, task, arguments).await,
                Effect::CurrentTime | Effect::Random { .. } => {
                    let result = self.local.perform(effect).await?;
                    let summary = match &result {
                        EffectResult::Value(value) => owned_to_json(value),
                        EffectResult::Error(message) => serde_json::json!({ "error": message }),
                    };
                    (result, summary)
                }
                Effect::SendMail { .. } => error_result(
                    "sendmail is not configured on this Trestle server: no mail transport is set up, so no mail was sent".to_owned(),
                ),
                Effect::CallFunction {
                    name,
                    arguments,
                    call_depth,
                } => self.call_stored_function(name, arguments, *call_depth).await,
                Effect::Task { name, .. } => error_result(format!(
                    "the `{name}` task is not supported on this Trestle server"
                )),
            };
            let record = EffectRecord {
                kind: effect_kind(effect),
                request: effect_request_json(effect),
                response,
                duration_ms: started.elapsed().as_millis() as u64,
            };
            self.journal().records.push(record);
            Ok(result)
        })
    }
}

/// Sends through a connection with one retry after an expired-token status. Shared by the
/// performer and the proxy.
pub(crate) async fn send_through_connection(
    runtime: &FunctionRuntime,
    organization: OrganizationId,
    environment: EnvironmentKind,
    context: &EgressContext,
    request: OutboundRequest,
    link_name: &str,
    on_credential: &(dyn Fn(&RequestCredential) + Sync),
) -> Result<(OutboundResponse, Arc<RequestCredential>), RuntimeError> {
    let credential = runtime
        .connections
        .shared_credential_for_request(organization, environment, link_name)
        .await?;
    on_credential(&credential);
    let response = runtime
        .engine
        .send(request.clone(), Some(&credential.attachment), context)
        .await?;
    let expired =
        response.status == 401 || credential.expired_token_statuses.contains(&response.status);
    if !expired || !credential.refreshable {
        return Ok((response, credential));
    }
    let fresh = runtime
        .connections
        .force_refresh_after_401(organization, environment, link_name, &credential)
        .await?;
    on_credential(&fresh);
    let response = runtime
        .engine
        .send(request, Some(&fresh.attachment), context)
        .await?;
    Ok((response, Arc::new(fresh)))
}

fn error_result(message: String) -> (EffectResult, serde_json::Value) {
    let summary = serde_json::json!({ "error": message });
    (EffectResult::Error(message), summary)
}

fn method_of(text: &str) -> Method {
    Method::parse(text).unwrap_or(Method::Get)
}

fn is_true(value: Option<&OwnedValue>) -> bool {
    match value {
        Some(OwnedValue::Boolean(flag)) => *flag,
        Some(OwnedValue::Text(text)) => text.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn text_of(value: &OwnedValue) -> String {
    match value {
        OwnedValue::Text(text) => text.clone(),
        other => other.to_display_string(),
    }
}

fn invokeurl_value(value: &OwnedValue) -> Option<InvokeUrlValue> {
    match value {
        OwnedValue::Null => None,
        OwnedValue::Map(entries) => Some(InvokeUrlValue::Map(
            entries
                .iter()
                .map(|(key, value)| (key.clone(), text_of(value)))
                .collect(),
        )),
        OwnedValue::List(_) => Some(InvokeUrlValue::Text(value.to_json_text())),
        other => Some(InvokeUrlValue::Text(text_of(other))),
    }
}

fn files_of(value: &OwnedValue, files: &mut Vec<InvokeUrlFile>) {
    match value {
        OwnedValue::File(file) => files.push(InvokeUrlFile {
            param_name: None,
            file_name: file.name.clone(),
            content_type: Some(file.content_type.clone()).filter(|text| !text.is_empty()),
            bytes: bytes::Bytes::from(file.bytes.clone()),
        }),
        OwnedValue::List(items) => {
            for item in items {
                files_of(item, files);
            }
        }
        _ => {}
    }
}

/// invokeurl's keys as the engine's request, with Zoho's rules (in trestle-outbound).
fn outbound_request(request: &InvokeUrlRequest) -> Result<OutboundRequest, String> {
    let mut files = Vec::new();
    if let Some(value) = &request.files {
        files_of(value, &mut files);
    }
    let headers = match &request.headers {
        Some(OwnedValue::Map(entries)) => entries
            .iter()
            .map(|(key, value)| (key.clone(), text_of(value)))
            .collect(),
        _ => Vec::new(),
    };
    let method = match &request.method {
        OwnedValue::Null => None,
        other => Some(text_of(other)),
    };
    let arguments = InvokeUrlArguments {
        url: text_of(&request.url),
        method,
        parameters: request.parameters.as_ref().and_then(invokeurl_value),
        body: request.body.as_ref().and_then(invokeurl_value),
        content_type: request.content_type.as_ref().map(text_of),
        headers,
        files,
        response_format: request.response_format.as_ref().map(text_of),
        response_decoding: request.response_decoding.as_ref().map(text_of),
    };
    OutboundRequest::from_invokeurl(arguments)
        .map_err(|error| format!("invokeurl: {error} [{}]", error.code()))
}

fn script_value(response: &OutboundResponse) -> OwnedValue {
    match response.value() {
        ResponseValue::Json(json) => json_to_owned(&json),
        ResponseValue::Text(text) => OwnedValue::Text(text),
        ResponseValue::File { .. } => OwnedValue::Text(response.text()),
    }
}

fn response_summary(response: &OutboundResponse) -> serde_json::Value {
    serde_json::json!({
        "status": response.status,
        "url": response.url,
        "content_type": response.content_type(),
        "bytes": response.body.len(),
        "attempts": response.attempts,
        "redirects": response.redirects,
    })
}

fn redact_json(redactor: &Redactor, value: serde_json::Value) -> serde_json::Value {
    if redactor.is_empty() {
        return value;
    }
    match value {
        serde_json::Value::String(text) => serde_json::Value::String(redactor.redact(&text)),
        serde_json::Value::Array(items) => serde_json::Value::Array(
            items
                .into_iter()
                .map(|item| redact_json(redactor, item))
                .collect(),
        ),
        serde_json::Value::Object(entries) => serde_json::Value::Object(
            entries
                .into_iter()
                .map(|(key, item)| (redactor.redact(&key), redact_json(redactor, item)))
                .collect(),
        ),
        other => other,
    }
}
