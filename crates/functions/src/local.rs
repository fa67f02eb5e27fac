//! The performer for running a function on a developer machine (`trestle deluge run`).

use std::sync::OnceLock;

use rand::Rng;
use trestle_deluge::{Effect, EffectResult, OwnedValue};

use crate::driver::{EffectPerformer, PerformFuture};
use crate::error::FunctionsError;
use crate::http::perform_invokeurl;

/// Performs effects locally: `invokeurl` without a connection as a real HTTP request, the
/// system clock, randomness. Everything that needs a Trestle server (a connection's
/// credentials, integration tasks, mail, other stored functions) is refused with an error
/// that says so; replay a cassette to run such scripts offline.
#[derive(Debug, Default)]
pub struct LocalPerformer {
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl LocalPerformer {
    pub fn new() -> LocalPerformer {
        LocalPerformer::default()
    }

    fn client(&self) -> Result<&reqwest::Client, FunctionsError> {
        self.client
            .get_or_init(|| {
                reqwest::Client::builder()
                    .user_agent(concat!("trestle/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|error| format!("cannot create the HTTP client: {error}"))
            })
            .as_ref()
            .map_err(|message| FunctionsError::NeedsServer {
                message: message.clone(),
            })
    }
}

const SERVER_HINT: &str =
    "run it against a Trestle server (--server), or answer it from a cassette (--replay FILE)";

impl EffectPerformer for LocalPerformer {
    fn perform<'a>(&'a self, effect: &'a Effect) -> PerformFuture<'a> {
        Box::pin(async move {
            match effect {
                Effect::InvokeUrl(request) => {
                    if let Some(connection) = request.connection_name() {
                        return Err(FunctionsError::NeedsServer {
                            message: format!(
                                "invokeurl uses connection \"{connection}\", whose credentials only a Trestle server holds: {SERVER_HINT}"
                            ),
                        });
                    }
                    let client = self.client()?;
                    Ok(perform_invokeurl(client, request).await)
                }
                Effect::IntegrationTask { service, task, .. } => Err(FunctionsError::NeedsServer {
                    message: format!(
                        "zoho.{service}.{task} is an integration task that needs a Trestle server: {SERVER_HINT}"
                    ),
                }),
                Effect::SendMail { .. } => Err(FunctionsError::NeedsServer {
                    message: format!(
                        "sendmail needs a Trestle server to deliver mail: {SERVER_HINT}"
                    ),
                }),
                Effect::Task { name, .. } => Err(FunctionsError::NeedsServer {
                    message: format!("the `{name}` task needs a Trestle server: {SERVER_HINT}"),
                }),
                Effect::CallFunction { name, .. } => Err(FunctionsError::NeedsServer {
                    message: format!(
                        "{name}(...) calls another stored function, which lives on a Trestle server: {SERVER_HINT}"
                    ),
                }),
                Effect::CurrentTime => Ok(EffectResult::Value(OwnedValue::DateTime(
                    chrono::Utc::now().naive_utc().with_nanosecond_zero(),
                ))),
                Effect::Random { low, high } => {
                    let number = if low <= high {
                        rand::thread_rng().gen_range(*low..=*high)
                    } else {
                        *low
                    };
                    Ok(EffectResult::Value(OwnedValue::Long(number)))
                }
            }
        })
    }
}

trait WithoutNanoseconds {
    fn with_nanosecond_zero(self) -> Self;
}

impl WithoutNanoseconds for chrono::NaiveDateTime {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap_or(self)
    }
}
