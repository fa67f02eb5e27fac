//! Table-driven tests of every built-in, read from `cases.txt` beside this file, plus tests
//! of behaviour a table cannot show (mutation through shared handles, limits).
//!
//! A line of `cases.txt` is `receiver | method | arguments | expected`:
//! - receiver: JSON (parsed leniently into heap values), or `fn` for a global function
//!   call. Top-level strings `"@date:2024-01-31"`, `"@datetime:2024-01-31 10:00:00"`,
//!   `"@time:10:30:00"` and `"@file:name.txt:content"` become those values; the same holds
//!   for each top-level element of the arguments array.
//! - method: the lower-case name.
//! - arguments: a JSON array.
//! - expected: `kind:printed` where kind is the result's type name and printed is its
//!   printed form (JSON text for lists and maps), or `error:CODE`.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use super::{FUNCTION_NAMES, METHOD_NAMES, call_function, call_method, is_known_function};
use crate::value::{BuiltinLimits, FileValue, Heap, Value};

const CASES: &str = include_str!("cases.txt");

fn special(value: Value) -> Value {
    let Some(text) = value.as_text() else {
        return value;
    };
    if let Some(date) = text.strip_prefix("@date:") {
        return Value::Date(NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap());
    }
    if let Some(date_time) = text.strip_prefix("@datetime:") {
        return Value::DateTime(
            NaiveDateTime::parse_from_str(date_time, "%Y-%m-%d %H:%M:%S").unwrap(),
        );
    }
    if let Some(time) = text.strip_prefix("@time:") {
        return Value::Time(NaiveTime::parse_from_str(time, "%H:%M:%S").unwrap());
    }
    if let Some(file) = text.strip_prefix("@file:") {
        let (name, content) = file.split_once(':').unwrap();
        return Value::File(Arc::new(FileValue {
            name: name.to_owned(),
            content_type: "text/plain".to_owned(),
            bytes: content.as_bytes().to_vec(),
        }));
    }
    value
}

fn render(heap: &Heap, value: &Value) -> String {
    match value {
        Value::List(_) | Value::Map(_) => {
            format!(
                "{}:{}",
                value.type_name(),
                heap.to_json_text(value).unwrap()
            )
        }
        other => format!("{}:{}", other.type_name(), heap.display(other)),
    }
}

struct Case<'text> {
    line_number: usize,
    receiver: &'text str,
    method: &'text str,
    arguments: &'text str,
    expected: &'text str,
}

fn cases() -> Vec<Case<'static>> {
    CASES
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|(index, line)| {
            let fields: Vec<&str> = line.splitn(4, " | ").collect();
            assert_eq!(fields.len(), 4, "line {} is malformed: {line}", index + 1);
            Case {
                line_number: index + 1,
                receiver: fields[0].trim(),
                method: fields[1].trim(),
                arguments: fields[2].trim(),
                expected: fields[3],
            }
        })
        .collect()
}

fn run(case: &Case<'_>) -> String {
    let mut heap = Heap::new();
    let arguments = match heap.parse_json_text(case.arguments).unwrap() {
        Value::List(id) => heap.list(id).to_vec(),
        other => panic!("arguments must be a JSON array, found {other:?}"),
    };
    let arguments: Vec<Value> = arguments.into_iter().map(special).collect();
    let result = if case.receiver == "fn" {
        call_function(&mut heap, case.method, &arguments)
    } else {
        let receiver = special(heap.parse_json_text(case.receiver).unwrap());
        call_method(&mut heap, &receiver, case.method, &arguments)
    };
    match result {
        Ok(value) => render(&heap, &value),
        Err(error) => format!("error:{}", error.code()),
    }
}

#[test]
fn every_case_in_the_table_gives_its_expected_result() {
    let mut failures = Vec::new();
    for case in cases() {
        let actual = run(&case);
        if actual != case.expected {
            failures.push(format!(
                "line {}: {} . {} {}\n    expected {}\n    actual   {}",
                case.line_number, case.receiver, case.method, case.arguments, case.expected, actual
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_built_in_name_has_a_case_in_the_table() {
    let covered: std::collections::HashSet<String> =
        cases().iter().map(|case| case.method.to_owned()).collect();
    let missing: Vec<&str> = METHOD_NAMES
        .iter()
        .chain(FUNCTION_NAMES.iter())
        .filter(|name| !covered.contains(&name.to_ascii_lowercase()))
        .copied()
        .collect();
    assert!(missing.is_empty(), "built-ins without a case: {missing:?}");
}

#[test]
fn every_name_in_the_table_is_a_known_built_in() {
    for case in cases() {
        assert!(
            is_known_function(case.method),
            "line {}: {} is not listed in names.rs",
            case.line_number,
            case.method
        );
    }
}

#[test]
fn list_add_changes_the_list_every_holder_sees() {
    let mut heap = Heap::new();
    let inner = heap.new_map_value();
    let list = heap.new_list_value(Vec::new());
    call_method(&mut heap, &list, "add", std::slice::from_ref(&inner)).unwrap();
    call_method(
        &mut heap,
        &inner,
        "put",
        &[Value::text("a"), Value::Long(1)],
    )
    .unwrap();
    assert_eq!(heap.to_json_text(&list).unwrap(), r#"[{"a":1}]"#);
    let alias = list.clone();
    call_method(&mut heap, &alias, "add", &[Value::Long(2)]).unwrap();
    assert_eq!(heap.display(&list), r#"[{"a":1},2]"#);
}

#[test]
fn methods_on_null_fail_except_the_null_checks() {
    let mut heap = Heap::new();
    let error = call_method(&mut heap, &Value::Null, "get", &[Value::text("a")]).unwrap_err();
    assert_eq!(error.code(), "DELUGE_NULL_VALUE");
    assert!(error.message().contains("get"), "{}", error.message());
    let checked = call_method(&mut heap, &Value::Null, "isnull", &[]).unwrap();
    assert!(matches!(checked, Value::Boolean(true)));
}

#[test]
fn unsupported_built_ins_are_known_and_fail_with_their_reason() {
    let mut heap = Heap::new();
    for (name, reason) in super::UNSUPPORTED_NAMES {
        assert!(is_known_function(name), "{name}");
        let error =
            call_function(&mut heap, &name.to_ascii_lowercase(), &[Value::text("x")]).unwrap_err();
        assert_eq!(error.code(), "DELUGE_NOT_SUPPORTED");
        assert!(error.message().contains(reason), "{}", error.message());
    }
    let error = call_function(
        &mut heap,
        "zoho.encryption.aesencode",
        &[Value::text("k"), Value::text("x")],
    )
    .unwrap_err();
    assert!(
        error
            .message()
            .starts_with("aesEncode is not supported here")
    );
    let date = Value::Date(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
    let error = call_method(&mut heap, &date, "addbusinesshour", &[Value::Long(1)]).unwrap_err();
    assert_eq!(error.code(), "DELUGE_NOT_SUPPORTED");
}

#[test]
fn unknown_names_suggest_the_closest_built_in() {
    let mut heap = Heap::new();
    let error = call_method(&mut heap, &Value::text("a"), "touppercas", &[]).unwrap_err();
    assert_eq!(error.code(), "DELUGE_UNKNOWN_METHOD");
    assert!(
        error.message().contains("toUpperCase"),
        "{}",
        error.message()
    );
    let error = call_function(&mut heap, "base64encod", &[Value::text("a")]).unwrap_err();
    assert_eq!(error.code(), "DELUGE_UNKNOWN_FUNCTION");
    assert!(
        error.message().contains("base64Encode"),
        "{}",
        error.message()
    );
}

#[test]
fn argument_errors_name_the_argument_and_what_was_found() {
    let mut heap = Heap::new();
    let error = call_method(
        &mut heap,
        &Value::text("Hello"),
        "substring",
        &[Value::Long(0), Value::text("abc")],
    )
    .unwrap_err();
    assert_eq!(
        error.message(),
        "Argument 2 of subString must be a number, found text \"abc\""
    );
    let error = call_method(&mut heap, &Value::text("Hello"), "substring", &[]).unwrap_err();
    assert_eq!(error.code(), "DELUGE_ARGUMENT_COUNT");
}

#[test]
fn produced_text_is_bounded_by_the_limit() {
    let mut heap = Heap::with_limits(BuiltinLimits {
        max_text_bytes: 10,
        ..BuiltinLimits::default()
    });
    let error =
        call_method(&mut heap, &Value::text("abc"), "repeat", &[Value::Long(4)]).unwrap_err();
    assert_eq!(error.code(), "DELUGE_TEXT_SIZE_LIMIT");
    assert!(error.is_limit());
    let error = call_method(
        &mut heap,
        &Value::text("abc"),
        "leftpad",
        &[Value::Long(1_000_000)],
    )
    .unwrap_err();
    assert_eq!(error.code(), "DELUGE_TEXT_SIZE_LIMIT");
    let fits = call_method(&mut heap, &Value::text("abc"), "repeat", &[Value::Long(3)]).unwrap();
    assert_eq!(heap.display(&fits), "abcabcabc");
}

#[test]
fn heap_growth_is_bounded_by_the_limit() {
    let mut heap = Heap::with_limits(BuiltinLimits {
        max_heap_elements: 3,
        ..BuiltinLimits::default()
    });
    let list = heap.new_list_value(Vec::new());
    let mut outcome = Ok(Value::Null);
    for _ in 0..10 {
        outcome = call_method(&mut heap, &list, "add", &[Value::Long(1)]);
        if outcome.is_err() {
            break;
        }
    }
    assert_eq!(outcome.unwrap_err().code(), "DELUGE_COLLECTION_SIZE_LIMIT");
}

#[test]
fn sort_sorts_in_place_and_returns_the_list() {
    let mut heap = Heap::new();
    let list = heap.new_list_value(vec![Value::Long(3), Value::Long(1), Value::Long(2)]);
    let sorted = call_method(&mut heap, &list, "sort", &[]).unwrap();
    assert_eq!(heap.display(&list), "1,2,3");
    assert_eq!(heap.display(&sorted), "1,2,3");
}

#[test]
fn regular_expressions_are_cached_per_heap() {
    let mut heap = Heap::new();
    for _ in 0..3 {
        let result = call_method(
            &mut heap,
            &Value::text("a1b22"),
            "replaceall",
            &[Value::text("[0-9]+"), Value::text("#")],
        )
        .unwrap();
        assert_eq!(heap.display(&result), "a#b#");
    }
    let error = call_method(
        &mut heap,
        &Value::text("a"),
        "replaceall",
        &[Value::text("("), Value::text("")],
    )
    .unwrap_err();
    assert_eq!(error.code(), "DELUGE_INVALID_PATTERN");
}

/// Every built-in, called on hostile receivers with hostile arguments, returns a value or
/// an error: never a panic. A bounded, deterministic stand-in for fuzzing the built-ins.
fn hostile_values(heap: &mut Heap) -> (Vec<Value>, Vec<Value>) {
    use rust_decimal::Decimal;

    let nested = heap
        .parse_json_text(r#"{"a":[1,"x",{"b":null}],"c":2.5}"#)
        .unwrap();
    let list = heap
        .parse_json_text(r#"[3,"a",null,1.5,{"k":1},[2]]"#)
        .unwrap();
    let empty_list = heap.new_list_value(Vec::new());
    let receivers = vec![
        Value::Null,
        Value::Boolean(true),
        Value::Long(0),
        Value::Long(-1),
        Value::Long(i64::MIN),
        Value::Long(i64::MAX),
        Value::Decimal(Decimal::MAX),
        Value::Decimal(Decimal::MIN),
        Value::Decimal(Decimal::new(-25, 1)),
        Value::text(""),
        Value::text("é😀 a,b"),
        Value::text("{\"a\":[1,2"),
        Value::text("<a x='1'><b>t</b></a>"),
        Value::text("99999999999999999999999999999999"),
        Value::text("2024-02-29T23:59:59+14:00"),
        Value::Date(NaiveDate::MAX),
        Value::Date(NaiveDate::MIN),
        Value::DateTime(NaiveDateTime::MAX),
        Value::Time(NaiveTime::MIN),
        nested.clone(),
        list.clone(),
        empty_list,
        Value::File(Arc::new(FileValue {
            name: "x".to_owned(),
            content_type: String::new(),
            bytes: vec![0xff, 0x00],
        })),
    ];
    let arguments = vec![
        Value::Null,
        Value::Boolean(false),
        Value::Long(-1),
        Value::Long(1),
        Value::Long(i64::MAX),
        Value::Long(i64::MIN),
        Value::Decimal(Decimal::MAX),
        Value::text(""),
        Value::text("("),
        Value::text("$9\\"),
        Value::text("yyyy-MM-dd'T'HH:mm:ssXXX"),
        Value::text("Asia/Kolkata"),
        list,
        nested,
    ];
    (receivers, arguments)
}

/// Every built-in, called on hostile receivers with hostile arguments, returns a value or
/// an error: never a panic. A bounded, deterministic stand-in for fuzzing the built-ins.
#[test]
fn no_built_in_panics_on_hostile_input() {
    let names: Vec<String> = METHOD_NAMES
        .iter()
        .chain(FUNCTION_NAMES.iter())
        .map(|name| name.to_ascii_lowercase())
        .collect();
    let mut calls = 0usize;
    for name in &names {
        // A fresh heap per name keeps lists that `add` grows small.
        let mut heap = Heap::with_limits(BuiltinLimits {
            max_text_bytes: 64 * 1024,
            ..BuiltinLimits::default()
        });
        let (receivers, arguments) = hostile_values(&mut heap);
        let mut argument_lists: Vec<Vec<Value>> = vec![Vec::new()];
        for first in &arguments {
            argument_lists.push(vec![first.clone()]);
            for second in arguments.iter().step_by(6) {
                argument_lists.push(vec![first.clone(), second.clone()]);
            }
        }
        argument_lists.push(vec![Value::Long(1), Value::Long(2), Value::text("hex")]);
        for receiver in &receivers {
            for argument_list in &argument_lists {
                calls += 1;
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let _ = call_method(&mut heap, receiver, name, argument_list);
                    let mut with_receiver = vec![receiver.clone()];
                    with_receiver.extend(argument_list.iter().cloned());
                    let _ = call_function(&mut heap, name, &with_receiver);
                }));
                assert!(
                    outcome.is_ok(),
                    "{name} panicked on {receiver:?} with {argument_list:?}"
                );
            }
        }
    }
    assert!(calls > 40_000, "only {calls} calls were made");
}
