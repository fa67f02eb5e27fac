//! Cassettes: a JSON file holding the ordered effects of one run, each request with the
//! response it got. [`RecordingPerformer`] writes one while another performer does the
//! real work; [`ReplayPerformer`] answers a run from one, offline, and stops the run with
//! the exact difference when the script asks for something else.
//!
//! ```json
//! { "version": 1,
//!   "entries": [
//!     { "effect": "invoke_url",
//!       "request": { "url": "https://...", "type": "GET", "connection": "x__books" },
//!       "response": { "value": { "contacts": [] } } } ] }
//! ```
//! Values are plain JSON ([`crate::json`]); a response is `{"value": ...}` or
//! `{"error": "message"}` (an error the script sees, and may catch).

use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use trestle_deluge::{Effect, EffectResult};

use crate::driver::{EffectPerformer, PerformFuture};
use crate::error::FunctionsError;
use crate::json::{
    effect_kind, effect_request_json, effect_result_from_json, effect_result_json, summarize,
};

/// The cassette format version this crate reads and writes.
pub const CASSETTE_VERSION: u32 = 1;

/// A recorded sequence of effects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cassette {
    pub version: u32,
    /// What the cassette is for; free text for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub entries: Vec<CassetteEntry>,
}

/// One effect and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CassetteEntry {
    /// `invoke_url`, `integration_task`, `send_mail`, `task`, `call_function`,
    /// `current_time` or `random`.
    pub effect: String,
    pub request: serde_json::Value,
    pub response: serde_json::Value,
}

impl Cassette {
    pub fn new() -> Cassette {
        Cassette {
            version: CASSETTE_VERSION,
            description: None,
            entries: Vec::new(),
        }
    }

    /// Reads a cassette file.
    pub fn load(path: &Path) -> Result<Cassette, FunctionsError> {
        let text = std::fs::read_to_string(path).map_err(|error| FunctionsError::Cassette {
            path: path.display().to_string(),
            message: format!("cannot read it: {error}"),
        })?;
        Cassette::parse(&text).map_err(|message| FunctionsError::Cassette {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses cassette JSON.
    pub fn parse(text: &str) -> Result<Cassette, String> {
        let cassette: Cassette =
            serde_json::from_str(text).map_err(|error| format!("not a valid cassette: {error}"))?;
        if cassette.version != CASSETTE_VERSION {
            return Err(format!(
                "version {} is not supported (this Trestle reads version {CASSETTE_VERSION})",
                cassette.version
            ));
        }
        Ok(cassette)
    }

    /// Writes the cassette as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<(), FunctionsError> {
        let text =
            serde_json::to_string_pretty(self).map_err(|error| FunctionsError::Cassette {
                path: path.display().to_string(),
                message: error.to_string(),
            })?;
        std::fs::write(path, text + "\n").map_err(|error| FunctionsError::Cassette {
            path: path.display().to_string(),
            message: format!("cannot write it: {error}"),
        })
    }
}

impl Default for Cassette {
    fn default() -> Self {
        Cassette::new()
    }
}

/// Answers effects from a cassette, in order.
#[derive(Debug)]
pub struct ReplayPerformer {
    cassette: Cassette,
    next_entry: Mutex<usize>,
}

impl ReplayPerformer {
    pub fn new(cassette: Cassette) -> ReplayPerformer {
        ReplayPerformer {
            cassette,
            next_entry: Mutex::new(0),
        }
    }

    /// Entries the run has not asked for (yet).
    pub fn unused_entries(&self) -> usize {
        let used = *self
            .next_entry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.cassette.entries.len().saturating_sub(used)
    }

    fn answer(&self, effect: &Effect) -> Result<EffectResult, FunctionsError> {
        let mut next_entry = self
            .next_entry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let index = *next_entry;
        let kind = effect_kind(effect);
        let request = effect_request_json(effect);
        let Some(entry) = self.cassette.entries.get(index) else {
            return Err(FunctionsError::CassetteExhausted {
                entry: index + 1,
                effect: kind.to_owned(),
                summary: summarize(&request),
            });
        };
        if entry.effect != kind {
            return Err(FunctionsError::CassetteMismatch {
                entry: index + 1,
                effect: entry.effect.clone(),
                field: "effect".to_owned(),
                expected: entry.effect.clone(),
                got: kind.to_owned(),
            });
        }
        if let Some(difference) = first_difference("request", &entry.request, &request) {
            return Err(FunctionsError::CassetteMismatch {
                entry: index + 1,
                effect: kind.to_owned(),
                field: difference.path,
                expected: difference.expected,
                got: difference.got,
            });
        }
        let result = effect_result_from_json(effect, &entry.response).map_err(|message| {
            FunctionsError::Cassette {
                path: format!("entry {}", index + 1),
                message,
            }
        })?;
        *next_entry = index + 1;
        Ok(result)
    }
}

impl EffectPerformer for ReplayPerformer {
    fn perform<'a>(&'a self, effect: &'a Effect) -> PerformFuture<'a> {
        let result = self.answer(effect);
        Box::pin(async move { result })
    }
}

/// Wraps a performer and records every effect with its answer.
#[derive(Debug)]
pub struct RecordingPerformer<P> {
    inner: P,
    entries: Mutex<Vec<CassetteEntry>>,
}

impl<P: EffectPerformer> RecordingPerformer<P> {
    pub fn new(inner: P) -> RecordingPerformer<P> {
        RecordingPerformer {
            inner,
            entries: Mutex::new(Vec::new()),
        }
    }

    /// The cassette recorded so far.
    pub fn cassette(&self) -> Cassette {
        Cassette {
            version: CASSETTE_VERSION,
            description: None,
            entries: self
                .entries
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
        }
    }
}

impl<P: EffectPerformer> EffectPerformer for RecordingPerformer<P> {
    fn perform<'a>(&'a self, effect: &'a Effect) -> PerformFuture<'a> {
        Box::pin(async move {
            let result = self.inner.perform(effect).await?;
            let entry = CassetteEntry {
                effect: effect_kind(effect).to_owned(),
                request: effect_request_json(effect),
                response: effect_result_json(&result),
            };
            self.entries
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(entry);
            Ok(result)
        })
    }
}

struct Difference {
    path: String,
    expected: String,
    got: String,
}

/// The first place where `got` differs from `expected`, as a dotted path.
fn first_difference(
    path: &str,
    expected: &serde_json::Value,
    got: &serde_json::Value,
) -> Option<Difference> {
    use serde_json::Value;
    match (expected, got) {
        (Value::Object(expected_entries), Value::Object(got_entries)) => {
            for (key, expected_value) in expected_entries {
                let child = format!("{path}.{key}");
                match got_entries.get(key) {
                    Some(got_value) => {
                        if let Some(difference) =
                            first_difference(&child, expected_value, got_value)
                        {
                            return Some(difference);
                        }
                    }
                    None => {
                        return Some(Difference {
                            path: child,
                            expected: summarize(expected_value),
                            got: "nothing (the key is missing)".to_owned(),
                        });
                    }
                }
            }
            for (key, got_value) in got_entries {
                if !expected_entries.contains_key(key) {
                    return Some(Difference {
                        path: format!("{path}.{key}"),
                        expected: "nothing (the cassette has no such key)".to_owned(),
                        got: summarize(got_value),
                    });
                }
            }
            None
        }
        (Value::Array(expected_items), Value::Array(got_items)) => {
            for (index, (expected_item, got_item)) in
                expected_items.iter().zip(got_items.iter()).enumerate()
            {
                if let Some(difference) =
                    first_difference(&format!("{path}[{index}]"), expected_item, got_item)
                {
                    return Some(difference);
                }
            }
            if expected_items.len() != got_items.len() {
                return Some(Difference {
                    path: path.to_owned(),
                    expected: format!("{} element(s)", expected_items.len()),
                    got: format!("{} element(s)", got_items.len()),
                });
            }
            None
        }
        (expected, got) if expected == got => None,
        (expected, got) => Some(Difference {
            path: path.to_owned(),
            expected: summarize(expected),
            got: summarize(got),
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn difference_names_the_nested_field() {
        let expected = serde_json::json!({"url": "https://a", "parameters": {"q": "x"}});
        let got = serde_json::json!({"url": "https://a", "parameters": {"q": "y"}});
        let difference = first_difference("request", &expected, &got).unwrap();
        assert_eq!(difference.path, "request.parameters.q");
        assert_eq!(difference.expected, "\"x\"");
        assert_eq!(difference.got, "\"y\"");
    }

    #[test]
    fn difference_reports_missing_and_extra_keys() {
        let expected = serde_json::json!({"url": "u", "connection": "c"});
        let got = serde_json::json!({"url": "u"});
        let difference = first_difference("request", &expected, &got).unwrap();
        assert_eq!(difference.path, "request.connection");
        let difference = first_difference("request", &got, &expected).unwrap();
        assert!(difference.expected.contains("no such key"));
        assert!(first_difference("request", &expected, &expected).is_none());
    }

    #[test]
    fn cassette_rejects_other_versions() {
        let error = Cassette::parse(r#"{"version": 9, "entries": []}"#).unwrap_err();
        assert!(error.contains("version 9"), "{error}");
    }
}
