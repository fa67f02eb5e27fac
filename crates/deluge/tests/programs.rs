//! Data-driven tests: every `tests/programs/*.dg` runs through the whole pipeline (parse,
//! compile, VM) and its observable behaviour is snapshotted: info lines, the return value
//! or the error with its location, and every effect the run requested.
//!
//! Directives in leading `//` comments of a fixture:
//! - `// arg NAME = JSON` passes a named argument (JSON converted to a Deluge value).
//! - `// effect JSON` answers the next effect: `{"value": <plain JSON>}`,
//!   `{"datetime": "2026-01-15T10:30:00"}` or `{"error": "message"}`. Effects without an
//!   answer get null.
//! - `// max-statements N`, `// max-effects N`, `// max-call-depth N`,
//!   `// max-info-bytes N`, `// max-text-bytes N`, `// max-collection-elements N`,
//!   `// call-depth N` set limits.
//! - `// system NAME = JSON` sets a system variable (`zoho.loginuserid` is `loginuserid`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use serde::Serialize;
use trestle_deluge::value::OwnedValue;
use trestle_deluge::{
    Effect, EffectResult, Error, Limits, Resume, Run, RunContext, Step, compile_source,
};

#[derive(Serialize)]
struct Observed {
    info: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    effects: Vec<Effect>,
    result: ObservedResult,
    statements: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum ObservedResult {
    Returned(OwnedValue),
    Failed {
        code: String,
        message: String,
        line: u32,
        column: u32,
    },
    CompileErrors(Vec<String>),
}

fn json_to_owned(json: &serde_json::Value) -> OwnedValue {
    match json {
        serde_json::Value::Null => OwnedValue::Null,
        serde_json::Value::Bool(b) => OwnedValue::Boolean(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(n) => OwnedValue::Long(n),
            None => OwnedValue::Text(n.to_string()),
        },
        serde_json::Value::String(s) => OwnedValue::Text(s.clone()),
        serde_json::Value::Array(items) => {
            OwnedValue::List(items.iter().map(json_to_owned).collect())
        }
        serde_json::Value::Object(entries) => OwnedValue::Map(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), json_to_owned(v)))
                .collect(),
        ),
    }
}

fn effect_answer(json: &str) -> EffectResult {
    let parsed: serde_json::Value = serde_json::from_str(json).unwrap();
    if let Some(message) = parsed.get("error") {
        return EffectResult::Error(message.as_str().unwrap().to_owned());
    }
    if let Some(text) = parsed.get("datetime") {
        let date_time =
            chrono::NaiveDateTime::parse_from_str(text.as_str().unwrap(), "%Y-%m-%dT%H:%M:%S")
                .unwrap();
        return EffectResult::Value(OwnedValue::DateTime(date_time));
    }
    EffectResult::Value(json_to_owned(&parsed["value"]))
}

/// The serde form of values (`{"type": "text", "value": "x"}`) turned into plain JSON, so
/// snapshots read like the data they show. Decimals keep a marker: `"10.5 (decimal)"`.
fn plain(json: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match json {
        Value::Object(mut object) => {
            let is_tagged = object.len() <= 2
                && object
                    .get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|tag| {
                        [
                            "null",
                            "boolean",
                            "long",
                            "decimal",
                            "text",
                            "date",
                            "date_time",
                            "time",
                            "list",
                            "map",
                            "file",
                        ]
                        .contains(&tag)
                    });
            if is_tagged {
                let tag = object
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap()
                    .to_owned();
                let value = object.remove("value").unwrap_or(Value::Null);
                return match tag.as_str() {
                    "decimal" => Value::String(format!("{} (decimal)", value.as_str().unwrap())),
                    "date" | "date_time" | "time" => {
                        Value::String(format!("{} ({tag})", value.as_str().unwrap_or("")))
                    }
                    _ => plain(value),
                };
            }
            Value::Object(object.into_iter().map(|(k, v)| (k, plain(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(plain).collect()),
        other => other,
    }
}

pub fn run_fixture(source: &str) -> String {
    let mut arguments = Vec::new();
    let mut answers = std::collections::VecDeque::new();
    let mut limits = Limits::default();
    let mut context = RunContext::default();
    for line in source.lines() {
        let Some(directive) = line.trim().strip_prefix("//") else {
            break;
        };
        let directive = directive.trim();
        let (word, rest) = directive.split_once(' ').unwrap_or((directive, ""));
        let rest = rest.trim();
        let named = || {
            let (name, json) = rest.split_once('=').unwrap();
            (
                name.trim().to_owned(),
                json_to_owned(&serde_json::from_str(json.trim()).unwrap()),
            )
        };
        match word {
            "arg" => arguments.push(named()),
            "system" => {
                let (name, value) = named();
                context.system_variables.insert(name, value);
            }
            "effect" => answers.push_back(effect_answer(rest)),
            "max-statements" => limits.max_statements = rest.parse().unwrap(),
            "max-effects" => limits.max_effects = rest.parse().unwrap(),
            "max-call-depth" => limits.max_call_depth = rest.parse().unwrap(),
            "max-info-bytes" => limits.max_info_bytes = rest.parse().unwrap(),
            "max-text-bytes" => limits.max_text_bytes = rest.parse().unwrap(),
            "max-collection-elements" => {
                limits.max_collection_elements = rest.parse().unwrap();
            }
            "call-depth" => context.call_depth = rest.parse().unwrap(),
            _ => {}
        }
    }
    let observed = match compile_source(source) {
        Err(Error::Compile { diagnostics }) => Observed {
            info: Vec::new(),
            effects: Vec::new(),
            result: ObservedResult::CompileErrors(
                diagnostics
                    .iter()
                    .map(|d| {
                        format!(
                            "{}:{}: {} [{}]",
                            d.location.line, d.location.column, d.message, d.code
                        )
                    })
                    .collect(),
            ),
            statements: 0,
        },
        Err(other) => panic!("unexpected error {other:?}"),
        Ok(program) => {
            let mut run = Run::new(program, arguments, limits, context).unwrap();
            let mut effects = Vec::new();
            let mut input = Resume::Continue;
            loop {
                match run.resume(input) {
                    Step::Effect(effect) => {
                        effects.push(effect);
                        input = Resume::Effect(
                            answers
                                .pop_front()
                                .unwrap_or(EffectResult::Value(OwnedValue::Null)),
                        );
                    }
                    Step::Yield => input = Resume::Continue,
                    Step::Finished(outcome) => {
                        break Observed {
                            info: outcome.info_lines,
                            effects,
                            result: ObservedResult::Returned(outcome.return_value),
                            statements: outcome.statements_executed,
                        };
                    }
                    Step::Failed(failure) => {
                        let location = failure.error.location().unwrap_or_default();
                        break Observed {
                            info: failure.info_lines,
                            effects,
                            result: ObservedResult::Failed {
                                code: failure.error.code().to_owned(),
                                message: failure.error.message(),
                                line: location.line,
                                column: location.column,
                            },
                            statements: failure.statements_executed,
                        };
                    }
                }
            }
        }
    };
    let json = plain(serde_json::to_value(&observed).unwrap());
    serde_json::to_string_pretty(&json).unwrap()
}

#[test]
fn fixture_programs() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs");
    let mut paths: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "dg"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 20,
        "expected the fixture programs in {folder:?}"
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(folder.join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for path in paths {
            let source = std::fs::read_to_string(&path).unwrap();
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            let observed = run_fixture(&source);
            insta::with_settings!({ input_file => &path, description => source.as_str() }, {
                insta::assert_snapshot!(name, observed);
            });
        }
    });
}
