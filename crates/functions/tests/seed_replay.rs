//! The seed script (sync a Bigin contact to Zoho Books) runs unchanged under replay, on
//! both of its paths. The cassettes pin the exact requests: URL, method, parameters
//! (including the JSONString body) and connection link names; a replay fails on any
//! difference, and the recorded requests are compared once more here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use trestle_deluge::{Limits, OwnedValue, RunContext, compile_source};
use trestle_functions::cassette::{Cassette, RecordingPerformer, ReplayPerformer};
use trestle_functions::json::json_to_owned;
use trestle_functions::{run_to_completion, start_run};

fn seed_script() -> Option<String> {
    let folder = trestle_testkit::variable_or_skip("TRESTLE_SEED_DIR", "seed script replay")?;
    let path = PathBuf::from(folder).join("sync-contact-to-books.dg");
    Some(std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path:?}: {error}")))
}

fn cassette_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cassettes")
        .join(name)
}

async fn replay_seed(cassette_name: &str, contact_id: &str) -> Option<(Vec<String>, Cassette)> {
    let source = seed_script()?;
    let program = compile_source(&source).expect("the seed script compiles");
    let contact = json_to_owned(&serde_json::json!({ "Contacts.ID": contact_id }));
    let run = start_run(
        program,
        vec![("contact".to_owned(), contact)],
        Limits::default(),
        RunContext::default(),
    )
    .unwrap();
    let cassette = Cassette::load(&cassette_path(cassette_name)).unwrap();
    let replay = ReplayPerformer::new(cassette);
    let recorder = RecordingPerformer::new(replay);
    let outcome = run_to_completion(run, &recorder).await.unwrap();
    assert_eq!(outcome.return_value, OwnedValue::Null);
    Some((outcome.info_lines, recorder.cassette()))
}

#[tokio::test]
async fn seed_script_updates_an_existing_books_contact() {
    let Some((info_lines, recorded)) =
        replay_seed("seed-contact-exists.json", "4876876000000624001").await
    else {
        return;
    };
    let requests: Vec<&serde_json::Value> = recorded.entries.iter().map(|e| &e.request).collect();
    assert_eq!(requests.len(), 3);
    assert_eq!(
        requests[0],
        &serde_json::json!({
            "task": "zoho.bigin.getRecordById",
            "arguments": ["Contacts", "4876876000000624001", {}, "biginandbooksconnectionnew__biginconnection"]
        })
    );
    assert_eq!(
        requests[1],
        &serde_json::json!({
            "url": "https://books.zoho.com/api/v3/contacts",
            "type": "GET",
            "parameters": {"search_text": "ada@example.com"},
            "connection": "biginandbooksconnectionnew__booksconnection"
        })
    );
    assert_eq!(
        requests[2]["url"],
        "https://books.zoho.com/api/v3/contacts/460000000026049?organization_id=XXXXXXX"
    );
    assert_eq!(requests[2]["type"], "PUT");
    assert_eq!(
        requests[2]["connection"],
        "biginandbooksconnectionnew__booksconnection"
    );
    let body: serde_json::Value =
        serde_json::from_str(requests[2]["parameters"]["JSONString"].as_str().unwrap()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "contact_name": "Ada Lovelace",
            "phone": "+44 20 7946 0000",
            "mobile": "+44 7700 900123",
            "email": "ada@example.com",
            "contact_persons": [{
                "last_name": "Ada Lovelace",
                "mobile": "+44 7700 900123",
                "phone": "+44 20 7946 0000",
                "email": "ada@example.com",
                "is_primary_contact": true
            }]
        })
    );
    assert_eq!(
        info_lines,
        vec![
            r#"Searched by name in Books: {"code":0,"message":"success","contacts":[{"contact_id":"460000000026049","contact_name":"Ada Lovelace","email":"ada@example.com"}]}"#.to_owned(),
            format!(
                r#"parameters_data value:{{"JSONString":{}}}"#,
                serde_json::to_string(requests[2]["parameters"]["JSONString"].as_str().unwrap()).unwrap()
            ),
            r#"Updated Contact: {"code":0,"message":"Contact information has been saved.","contact":{"contact_id":"460000000026049"}}"#.to_owned(),
        ]
    );
}

#[tokio::test]
async fn seed_script_creates_a_missing_books_contact() {
    let Some((info_lines, recorded)) =
        replay_seed("seed-contact-new.json", "4876876000000624002").await
    else {
        return;
    };
    let requests: Vec<&serde_json::Value> = recorded.entries.iter().map(|e| &e.request).collect();
    assert_eq!(requests.len(), 3);
    assert_eq!(
        requests[1]["parameters"],
        serde_json::json!({"search_text": "grace@example.com"})
    );
    assert_eq!(
        requests[2]["url"],
        "https://books.zoho.com/api/v3/contacts?organization_id=XXXXXXX"
    );
    assert_eq!(requests[2]["type"], "POST");
    assert_eq!(
        requests[2]["connection"],
        "biginandbooksconnectionnew__booksconnection"
    );
    let body: serde_json::Value =
        serde_json::from_str(requests[2]["parameters"]["JSONString"].as_str().unwrap()).unwrap();
    assert_eq!(body["contact_name"], "Grace Hopper");
    assert_eq!(body["mobile"], serde_json::Value::Null);
    assert_eq!(body["contact_persons"][0]["is_primary_contact"], true);
    assert_eq!(
        info_lines,
        vec![
            r#"Searched by name in Books: {"code":0,"message":"success","contacts":[]}"#.to_owned(),
            r#"Created Contact: {"code":0,"message":"The contact has been added.","contact":{"contact_id":"460000000026077"}}"#.to_owned(),
        ]
    );
}

#[tokio::test]
async fn replay_names_the_field_that_differs() {
    let Some(source) = seed_script() else {
        return;
    };
    let program = compile_source(&source).unwrap();
    // A different contact id: the first request no longer matches the cassette.
    let contact = json_to_owned(&serde_json::json!({ "Contacts.ID": "999" }));
    let run = start_run(
        program,
        vec![("contact".to_owned(), contact)],
        Limits::default(),
        RunContext::default(),
    )
    .unwrap();
    let replay =
        ReplayPerformer::new(Cassette::load(&cassette_path("seed-contact-exists.json")).unwrap());
    let error = run_to_completion(run, &replay).await.unwrap_err();
    assert_eq!(error.code(), "CASSETTE_MISMATCH");
    let message = error.to_string();
    assert!(message.contains("entry 1"), "{message}");
    assert!(message.contains("request.arguments[1]"), "{message}");
    assert!(
        message.contains("expected \"4876876000000624001\", got \"999\""),
        "{message}"
    );
}
