//! invokeurl semantics and engine limits against a real httpbin (PyPI), started by
//! scripts/peers.sh (TRESTLE_TEST_HTTPBIN_URL). The engine runs with
//! `egress.allow = ["127.0.0.1/32"]`: httpbin is a loopback peer.
//!
//! `tests/fixtures/httpbin/*.json` each hold one invokeurl call; the result the script would
//! get back is snapshotted (normalised for port, multipart boundary and date).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use serde_json::{Value, json};
use trestle_outbound::{
    EgressContext, HostRoutes, InvokeUrlArguments, InvokeUrlFile, InvokeUrlValue, OutboundConfig,
    OutboundRequest, ResponseValue, StaticResolver,
};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/httpbin")
}

fn invoke_value(value: &Value) -> InvokeUrlValue {
    match value {
        Value::Object(map) => InvokeUrlValue::Map(
            map.iter()
                .map(|(name, value)| {
                    let text = match value {
                        Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    (name.clone(), text)
                })
                .collect(),
        ),
        Value::String(text) => InvokeUrlValue::Text(text.clone()),
        other => InvokeUrlValue::Text(other.to_string()),
    }
}

fn arguments_from_fixture(base: &str, keys: &Value) -> InvokeUrlArguments {
    let text = |name: &str| keys.get(name).and_then(Value::as_str).map(str::to_owned);
    InvokeUrlArguments {
        url: format!("{base}{}", text("url").unwrap()),
        method: text("type"),
        parameters: keys.get("parameters").map(invoke_value),
        body: keys.get("body").map(invoke_value),
        content_type: text("content-type"),
        headers: match keys.get("headers").map(invoke_value) {
            Some(InvokeUrlValue::Map(pairs)) => pairs,
            _ => Vec::new(),
        },
        files: keys
            .get("files")
            .and_then(Value::as_array)
            .map(|files| {
                files
                    .iter()
                    .map(|file| InvokeUrlFile {
                        param_name: file
                            .get("param_name")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        file_name: file["file_name"].as_str().unwrap().to_owned(),
                        content_type: file
                            .get("content_type")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        bytes: Bytes::from(file["text"].as_str().unwrap().to_owned()),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        response_format: text("response-format"),
        response_decoding: text("response-decoding"),
    }
}

fn normalise(text: &str, base: &str) -> String {
    let host = base.trim_start_matches("http://");
    let mut output = text
        .replace(base, "{httpbin}")
        .replace(host, "{httpbin-host}");
    // Multipart boundaries are random.
    let mut search_from = 0;
    while let Some(found) = output[search_from..].find("boundary=") {
        let start = search_from + found + "boundary=".len();
        let end = output[start..]
            .find(['"', ';', '\n', '\\'])
            .map_or(output.len(), |offset| start + offset);
        output.replace_range(start..end, "{boundary}");
        search_from = start + "{boundary}".len();
    }
    output
}

#[tokio::test]
async fn invokeurl_fixtures_against_httpbin() {
    let Some(base) = httpbin_url("invokeurl_fixtures_against_httpbin") else {
        return;
    };
    let engine = loopback_engine();
    let mut paths = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .collect::<Vec<_>>();
    paths.sort();
    assert!(paths.len() >= 20, "fixtures missing");
    for path in paths {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let fixture: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let keys = &fixture["invokeurl"];
        let detailed = keys
            .get("detailed")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let request = OutboundRequest::from_invokeurl(arguments_from_fixture(&base, keys))
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        let response = engine
            .send(request, None, &EgressContext::new())
            .await
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        let mut result = if detailed {
            response.detailed()
        } else {
            match response.value() {
                ResponseValue::Json(value) => json!({"map_or_list": value}),
                ResponseValue::Text(text) => json!({"text": text}),
                ResponseValue::File {
                    bytes,
                    content_type,
                    file_name,
                } => {
                    json!({"file": {"name": file_name, "content_type": content_type, "bytes": bytes.len()}})
                }
            }
        };
        if let Some(headers) = result
            .get_mut("responseHeader")
            .and_then(Value::as_object_mut)
        {
            headers.remove("date");
        }
        let envelope = json!({
            "status": response.status,
            "url": response.url,
            "redirects": response.redirects,
            "result": result,
        });
        let snapshot = normalise(&serde_json::to_string_pretty(&envelope).unwrap(), &base);
        insta::with_settings!({snapshot_suffix => name.clone(), prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("httpbin", snapshot);
        });
    }
}

#[tokio::test]
async fn redirect_limit_is_five() {
    let Some(base) = httpbin_url("redirect_limit_is_five") else {
        return;
    };
    let engine = loopback_engine();
    let five =
        send_without_credential(&engine, OutboundRequest::get(format!("{base}/redirect/5"))).await;
    assert_eq!(five.status, 200);
    assert_eq!(five.redirects, 5);
    let error = error_of_get(&engine, format!("{base}/redirect/6"), None).await;
    assert_eq!(error.code(), "TOO_MANY_REDIRECTS");
    assert!(error.to_string().contains("more than 5"), "{error}");

    let mut not_followed = OutboundRequest::get(format!("{base}/redirect/1"));
    not_followed.follow_redirects = false;
    let response = engine
        .send(not_followed, None, &EgressContext::new())
        .await
        .unwrap();
    assert_eq!(response.status, 302);
}

#[tokio::test]
async fn slow_responses_time_out_with_a_clear_error() {
    let Some(base) = httpbin_url("slow_responses_time_out_with_a_clear_error") else {
        return;
    };
    let engine = common::engine(OutboundConfig {
        timeout: Duration::from_secs(1),
        ..loopback_config()
    });
    let started = Instant::now();
    let error = error_of_get(&engine, format!("{base}/delay/4"), None).await;
    assert_eq!(error.code(), "TIMEOUT");
    assert!(error.to_string().contains("timed out after 1 s"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(3));

    // A per-request timeout overrides the engine's.
    let quick = engine
        .send(
            OutboundRequest::get(format!("{base}/delay/1")).with_timeout(Duration::from_secs(5)),
            None,
            &EgressContext::new(),
        )
        .await
        .unwrap();
    assert_eq!(quick.status, 200);
}

#[tokio::test]
async fn a_body_that_stalls_after_the_head_times_out_buffered_and_streamed() {
    let Some(base) =
        httpbin_url("a_body_that_stalls_after_the_head_times_out_buffered_and_streamed")
    else {
        return;
    };
    let engine = common::engine(OutboundConfig {
        timeout: Duration::from_secs(1),
        ..loopback_config()
    });
    // drip sends the head at once, then one byte a second: the deadline covers the body too.
    let drip = format!("{base}/drip?duration=4&numbytes=4&delay=0&code=200");
    let started = Instant::now();
    let error = error_of_get(&engine, &drip, None).await;
    assert_eq!(error.code(), "TIMEOUT", "{error}");
    assert!(error.to_string().contains("timed out after 1 s"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(3));

    let started = Instant::now();
    let streaming = engine
        .send_streaming(OutboundRequest::get(&drip), None, &EgressContext::new())
        .await
        .unwrap();
    assert_eq!(streaming.head.status, 200);
    let mut body = streaming.body;
    let mut received = 0;
    let mut ending = None;
    while let Some(item) = futures::StreamExt::next(&mut body).await {
        match item {
            Ok(chunk) => received += chunk.len(),
            Err(error) => {
                ending = Some(error);
                break;
            }
        }
    }
    let error = ending.expect("the stream ends with the timeout");
    assert_eq!(error.code(), "TIMEOUT", "{error}");
    assert!(
        received < 4,
        "received {received} bytes before the deadline"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(futures::StreamExt::next(&mut body).await.is_none());
}

#[tokio::test]
async fn responses_over_the_size_cap_are_refused() {
    let Some(base) = httpbin_url("responses_over_the_size_cap_are_refused") else {
        return;
    };
    let engine = common::engine(OutboundConfig {
        max_response_bytes: 1024,
        ..loopback_config()
    });
    let exact =
        send_without_credential(&engine, OutboundRequest::get(format!("{base}/bytes/1024"))).await;
    assert_eq!(exact.body.len(), 1024);
    // HEAD announces a length over the cap without sending a body: not an error.
    let head = send_without_credential(
        &engine,
        OutboundRequest::new(trestle_outbound::Method::Head, format!("{base}/bytes/2048")),
    )
    .await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    for url in [
        // Declared Content-Length over the cap.
        format!("{base}/bytes/2048"),
        // Chunked, no length: reading stops past the cap.
        format!("{base}/stream-bytes/65536?chunk_size=256"),
    ] {
        let error = error_of_get(&engine, &url, None).await;
        assert_eq!(error.code(), "RESPONSE_TOO_LARGE", "{url}");
        assert!(error.to_string().contains("1024 bytes"), "{error}");
    }
    let default_cap = loopback_engine();
    assert_eq!(default_cap.config().max_response_bytes, 5 * 1024 * 1024);
    let streamed = send_without_credential(
        &default_cap,
        OutboundRequest::get(format!("{base}/stream-bytes/65536?chunk_size=1024")),
    )
    .await;
    assert_eq!(streamed.body.len(), 65536);
}

#[tokio::test]
async fn httpbin_is_refused_without_the_allow_list() {
    let Some(base) = httpbin_url("httpbin_is_refused_without_the_allow_list") else {
        return;
    };
    let strict = common::engine(OutboundConfig::default());
    let error = error_of_get(&strict, format!("{base}/get"), None).await;
    assert_eq!(error.code(), "EGRESS_ADDRESS_BLOCKED");
}

#[tokio::test]
async fn a_routed_service_gets_the_credential_and_the_script_never_sees_it() {
    let Some(base) =
        httpbin_url("a_routed_service_gets_the_credential_and_the_script_never_sees_it")
    else {
        return;
    };
    let port = url::Url::parse(&base).unwrap().port().unwrap();
    let context = EgressContext::new().with_routes(
        HostRoutes::new()
            .with_route("books.zoho.com", &base)
            .unwrap(),
    );
    let resolver = StaticResolver::new().with("peer.test", &["127.0.0.1".parse().unwrap()]);
    let engine = loopback_engine_with_resolver(Arc::new(resolver));
    let credential = zoho_credential(&["books.zoho.com"]);

    // httpbin echoes what it received: the credential arrived, and the echo is scrubbed.
    let echoed = engine
        .send(
            OutboundRequest::get("https://books.zoho.com/anything/api/v3/contacts"),
            Some(&credential),
            &context,
        )
        .await
        .unwrap();
    let echo = echoed.json().unwrap();
    assert_eq!(echo["headers"]["Authorization"], "[REDACTED]");
    assert_eq!(echo["args"]["api_key"], "[REDACTED]");
    assert_no_secret(&echoed.text());

    // A cross-host redirect drops the credential before the next hop.
    let redirected = engine
        .send(
            OutboundRequest::get(format!(
                "https://books.zoho.com/redirect-to?url=http%3A%2F%2Fpeer.test%3A{port}%2Fanything%2Fnext"
            )),
            Some(&credential),
            &context,
        )
        .await
        .unwrap();
    let echo = redirected.json().unwrap();
    assert_eq!(redirected.redirects, 1);
    assert_eq!(
        echo["url"],
        format!("http://peer.test:{port}/anything/next")
    );
    assert!(echo["headers"].get("Authorization").is_none(), "{echo}");
    assert!(echo["args"].get("api_key").is_none(), "{echo}");
}
