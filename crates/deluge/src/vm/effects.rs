//! Building [`Effect`] requests from the operand stack, and turning the host's answers
//! back into values.

use crate::compile::code::EffectTemplate;
use crate::effect::{Effect, InvokeUrlRequest};
use crate::error::codes;
use crate::limits::LimitKind;
use crate::value::{OwnedValue, Value};

use super::{Fault, Run, State};

impl Run {
    /// Pops the operands of effect `template` and returns the request. The run then waits
    /// for [`super::Resume::Effect`].
    pub(super) fn request_effect(&mut self, template: u32, pc: usize) -> Result<Effect, Fault> {
        let program = std::sync::Arc::clone(&self.program);
        let Some(template_value) = program.effects.get(template as usize) else {
            return Err(Fault::runtime(
                codes::EFFECT_FAILED,
                "internal error: unknown effect",
            ));
        };
        if self.effects >= self.limits.max_effects {
            return Err(Fault::Limit(LimitKind::Effects));
        }
        let effect = match template_value {
            EffectTemplate::InvokeUrl { keys } => {
                let values = self.pop_owned(keys.len());
                invoke_url_request(keys, values)
            }
            EffectTemplate::IntegrationTask {
                service,
                task,
                argc,
            } => Effect::IntegrationTask {
                service: service.clone(),
                task: task.clone(),
                arguments: self.pop_owned(*argc as usize),
            },
            EffectTemplate::SendMail { keys } => {
                let values = self.pop_owned(keys.len());
                Effect::SendMail {
                    fields: keys.iter().cloned().zip(values).collect(),
                }
            }
            EffectTemplate::Task { name, keys } => {
                let values = self.pop_owned(keys.len());
                Effect::Task {
                    name: name.clone(),
                    fields: keys.iter().cloned().zip(values).collect(),
                }
            }
            EffectTemplate::CallFunction { name, argc } => {
                let call_depth = self.context.call_depth.saturating_add(1);
                if call_depth > self.limits.max_call_depth {
                    return Err(Fault::Limit(LimitKind::CallDepth));
                }
                Effect::CallFunction {
                    name: name.clone(),
                    arguments: self.pop_owned(*argc as usize),
                    call_depth,
                }
            }
            EffectTemplate::CurrentTime { .. } => Effect::CurrentTime,
            EffectTemplate::Random => {
                let high = self.pop();
                let low = self.pop();
                match (low, high) {
                    (Value::Long(low), Value::Long(high)) if low <= high => {
                        Effect::Random { low, high }
                    }
                    (low, high) => {
                        return Err(Fault::runtime(
                            codes::TYPE_MISMATCH,
                            format!(
                                "randomNumber needs two whole numbers, the first not larger than the second; got {} and {}",
                                self.heap.describe(&low),
                                self.heap.describe(&high)
                            ),
                        ));
                    }
                }
            }
            EffectTemplate::LegacyUrl { method, argc } => {
                let values = self.pop_owned(*argc as usize);
                legacy_url_request(method, values)
            }
        };
        self.effects += 1;
        self.state = State::AwaitingEffect {
            template,
            effect_pc: pc,
        };
        Ok(effect)
    }

    /// Turns the host's answer into a value of this run's heap.
    pub(super) fn effect_result_value(&mut self, template: u32, value: OwnedValue) -> Value {
        let date_only = matches!(
            self.program.effects.get(template as usize),
            Some(EffectTemplate::CurrentTime { date_only: true })
        );
        let value = self.heap.attach(value);
        if date_only {
            return match value {
                Value::DateTime(date_time) => Value::Date(date_time.date()),
                other => other,
            };
        }
        value
    }

    fn pop_owned(&mut self, count: usize) -> Vec<OwnedValue> {
        let start = self.stack.len().saturating_sub(count);
        let values: Vec<Value> = self.stack.drain(start..).collect();
        values.iter().map(|value| self.heap.detach(value)).collect()
    }
}

fn invoke_url_request(keys: &[String], values: Vec<OwnedValue>) -> Effect {
    let mut request = InvokeUrlRequest {
        url: OwnedValue::Null,
        method: OwnedValue::Text("GET".to_owned()),
        ..InvokeUrlRequest::default()
    };
    for (key, value) in keys.iter().zip(values) {
        match key.as_str() {
            "url" => request.url = value,
            "type" => {
                request.method = match value {
                    OwnedValue::Text(text) => OwnedValue::Text(text.to_ascii_uppercase()),
                    other => other,
                }
            }
            "parameters" | "params" => request.parameters = Some(value),
            "headers" => request.headers = Some(value),
            "body" => request.body = Some(value),
            "content-type" | "content type" | "contenttype" => request.content_type = Some(value),
            "files" => request.files = Some(value),
            "connection" => request.connection = Some(value),
            "detailed" => request.detailed = Some(value),
            "response-format" | "response format" => request.response_format = Some(value),
            "response-decoding" | "response decoding" => request.response_decoding = Some(value),
            // Unknown keys are kept out of the request; Zoho's editor rejects them on save.
            _ => {}
        }
    }
    Effect::InvokeUrl(request)
}

/// `getUrl(url, [headers], [simple])`, `postUrl(url, body, [headers], [simple])`. With the
/// last argument `false` the response is the detailed map, as with `detailed: true`.
fn legacy_url_request(method: &str, values: Vec<OwnedValue>) -> Effect {
    let mut values = values.into_iter();
    let mut request = InvokeUrlRequest {
        url: values.next().unwrap_or(OwnedValue::Null),
        method: OwnedValue::Text(method.to_owned()),
        ..InvokeUrlRequest::default()
    };
    if method == "POST" {
        request.parameters = values.next();
    }
    for value in values {
        match value {
            OwnedValue::Map(_) => request.headers = Some(value),
            OwnedValue::Boolean(simple) => request.detailed = Some(OwnedValue::Boolean(!simple)),
            _ => {}
        }
    }
    Effect::InvokeUrl(request)
}
