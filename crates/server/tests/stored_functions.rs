//! Stored functions through the HTTP API on a real server and store: create, list, show,
//! update, delete (audit-logged), running one by name with typed arguments, and calls from
//! one stored function to another with the call-depth limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod functions_support;

use functions_support::*;
use reqwest::Method;
use serde_json::{Value, json};

const FUNCTIONS: &str = "/api/v1/environments/sandbox/functions";

async fn create(harness: &Harness, body: Value) -> (u16, Value) {
    harness.call(Method::POST, FUNCTIONS, Some(body)).await
}

async fn run_stored(harness: &Harness, name: &str, arguments: Value) -> (u16, Value) {
    harness
        .call(
            Method::POST,
            &format!("{FUNCTIONS}/run"),
            Some(json!({ "function": name, "arguments": arguments })),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_function_is_created_listed_shown_updated_and_deleted() {
    let harness = start_without_connections().await;
    let (status, created) = create(
        &harness,
        json!({
            "name": "greet",
            "parameters": [{"name": "person", "type": "String"}, {"name": "times", "type": "int"}],
            "script": "info person;\nreturn \"Hello \" + person + \" x\" + times;"
        }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["name"], "greet");
    assert_eq!(created["environment"], "sandbox");
    assert_eq!(
        created["parameters"],
        json!([{"name": "person", "type": "string"}, {"name": "times", "type": "int"}])
    );
    assert_eq!(created["created_by"]["kind"], "api_token");

    let (status, listed) = harness.call(Method::GET, FUNCTIONS, None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["functions"].as_array().unwrap().len(), 1);
    let (status, shown) = harness
        .call(Method::GET, &format!("{FUNCTIONS}/GREET"), None)
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["id"], created["id"]);
    // Production has its own functions.
    let (status, missing) = harness
        .call(
            Method::GET,
            "/api/v1/environments/production/functions/greet",
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(missing["code"], "FUNCTION_NOT_FOUND");

    let (status, updated) = harness
        .call(
            Method::PATCH,
            &format!("{FUNCTIONS}/greet"),
            Some(json!({ "name": "welcome", "script": "return \"Welcome \" + person;" })),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "welcome");
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["parameters"], created["parameters"]);

    let (status, ran) = run_stored(&harness, "welcome", json!({"person": "Ana", "times": 2})).await;
    assert_eq!(status, 200, "{ran}");
    assert_eq!(ran["return_value"], "Welcome Ana");

    let (status, _) = harness
        .call(Method::DELETE, &format!("{FUNCTIONS}/welcome"), None)
        .await;
    assert_eq!(status, 204);
    let (status, gone) = run_stored(&harness, "welcome", json!({})).await;
    assert_eq!(status, 404, "{gone}");
    assert_eq!(gone["code"], "FUNCTION_NOT_FOUND");

    let actions: Vec<String> = harness
        .store
        .audit()
        .list_for_organization(harness.organization, None, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.action)
        .filter(|action| action.starts_with("function."))
        .collect();
    assert_eq!(
        actions.len(),
        3,
        "created, updated and deleted are audited: {actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_definitions_are_refused_with_the_field_that_is_wrong() {
    let harness = start_without_connections().await;
    let cases = [
        (json!({"name": "2fast", "script": "return 1;"}), "name"),
        (json!({"name": "run", "script": "return 1;"}), "name"),
        (
            json!({"name": "f", "parameters": [{"name": "a", "type": "number"}], "script": "return a;"}),
            "parameters[0].type",
        ),
        (
            json!({"name": "f", "parameters": [{"name": "a", "type": "int"}, {"name": "A", "type": "int"}], "script": "return a;"}),
            "parameters[1].name",
        ),
        (json!({"name": "f", "script": "x = ;"}), "script"),
    ];
    for (body, field) in cases {
        let (status, error) = create(&harness, body.clone()).await;
        assert_eq!(status, 422, "{body} -> {error}");
        assert_eq!(error["code"], "FUNCTION_INVALID", "{error}");
        assert_eq!(error["details"]["field"], field, "{error}");
    }
    let (status, _) = create(&harness, json!({"name": "fmt", "script": "return 1;"})).await;
    assert_eq!(status, 201);
    let (status, taken) = create(&harness, json!({"name": "FMT", "script": "return 2;"})).await;
    assert_eq!(status, 409, "{taken}");
    assert_eq!(taken["code"], "FUNCTION_NAME_TAKEN");
    let (status, both) = harness
        .call(
            Method::POST,
            &format!("{FUNCTIONS}/run"),
            Some(json!({"function": "fmt", "script": "return 1;"})),
        )
        .await;
    assert_eq!(status, 422, "{both}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arguments_are_checked_against_the_declared_types() {
    let harness = start_without_connections().await;
    let (status, _) = create(
        &harness,
        json!({
            "name": "total",
            "parameters": [
                {"name": "amount", "type": "decimal"}, {"name": "count", "type": "int"},
                {"name": "due", "type": "date"}, {"name": "tags", "type": "list"},
                {"name": "extra", "type": "map"}, {"name": "paid", "type": "bool"}
            ],
            "script": "info due;\nreturn amount * count;"
        }),
    )
    .await;
    assert_eq!(status, 201);
    let good = json!({"amount": 2.5, "count": 4, "due": "2026-11-28", "tags": ["a"], "extra": {}, "paid": false});
    let (status, ran) = run_stored(&harness, "total", good.clone()).await;
    assert_eq!(status, 200, "{ran}");
    assert_eq!(ran["return_value"], json!(10.0), "{ran}");
    assert!(ran.get("error").is_none(), "{ran}");

    let mut wrong_type = good.clone();
    wrong_type["count"] = json!("four");
    let (status, error) = run_stored(&harness, "total", wrong_type).await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["code"], "FUNCTION_ARGUMENTS_INVALID");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("\"count\" must be a whole number (int)"),
        "{error}"
    );
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("paid");
    let (status, error) = run_stored(&harness, "total", missing).await;
    assert_eq!(status, 422, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("\"paid\""),
        "{error}"
    );
    let mut unknown = good;
    unknown["surprise"] = json!(1);
    let (status, error) = run_stored(&harness, "total", unknown).await;
    assert_eq!(status, 422, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("surprise"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_function_calls_another_and_recursion_stops_at_the_depth_limit() {
    let harness = start_without_connections().await;
    for body in [
        json!({"name": "double", "parameters": [{"name": "n", "type": "int"}],
               "script": "info \"doubling \" + n;\nreturn n * 2;"}),
        json!({"name": "quadruple", "parameters": [{"name": "n", "type": "int"}],
               "script": "return standalone.double(standalone.double(n));"}),
        json!({"name": "forever", "parameters": [{"name": "n", "type": "int"}],
               "script": "return standalone.forever(n + 1);"}),
        json!({"name": "wrongCall", "script": "return standalone.double(\"two\");"}),
    ] {
        let (status, created) = create(&harness, body).await;
        assert_eq!(status, 201, "{created}");
    }
    let (status, ran) = run_stored(&harness, "quadruple", json!({"n": 3})).await;
    assert_eq!(status, 200, "{ran}");
    assert_eq!(ran["return_value"], 12, "{ran}");
    let calls: Vec<&Value> = ran["effects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|effect| effect["kind"] == "call_function")
        .collect();
    assert_eq!(calls.len(), 2, "{ran}");
    assert_eq!(calls[0]["response"]["info"], json!(["doubling 3"]), "{ran}");

    // An inline script may call stored functions too.
    let ran = harness
        .run("return standalone.double(21);", json!({}))
        .await;
    assert_eq!(ran["return_value"], 42, "{ran}");

    let (status, ran) = run_stored(&harness, "forever", json!({"n": 0})).await;
    assert_eq!(status, 200, "{ran}");
    let error = &ran["error"];
    assert!(!error.is_null(), "{ran}");
    let message = error["message"].as_str().unwrap();
    assert!(message.to_lowercase().contains("depth"), "{message}");

    let (status, ran) = run_stored(&harness, "wrongCall", json!({})).await;
    assert_eq!(status, 200, "{ran}");
    let message = ran["error"]["message"].as_str().unwrap();
    assert!(message.contains("must be a whole number"), "{message}");

    let ran = harness
        .run("return standalone.missing(1);", json!({}))
        .await;
    let message = ran["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("no stored function named \"missing\""),
        "{message}"
    );
}
