//! The seed script (sync a Bigin contact to Zoho Books) runs unchanged through the real
//! `trestle deluge run --server URL --env sandbox` binary against a real Trestle server whose
//! two connections were authorized through oidc-provider's code flow, with Bigin and Books
//! routed to wiremock stand-ins in the sandbox. First run creates the contact, second updates.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod functions_support;

use std::path::PathBuf;

use functions_support::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const CONTACT_ID: &str = "5725767000000411001";
const BOOKS_CONTACT_ID: &str = "460000000026049";

fn trestle_binary() -> PathBuf {
    if let Ok(path) = std::env::var("TRESTLE_BIN") {
        return PathBuf::from(path);
    }
    // Test executables live in <target>/<profile>/deps; the binary one folder up.
    let executable = std::env::current_exe().unwrap();
    let binary = executable
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("trestle");
    assert!(
        binary.exists(),
        "{} is missing: build it first with `cargo build -p trestle` (or set TRESTLE_BIN)",
        binary.display()
    );
    binary
}

fn run_binary(harness: &Harness, script: &PathBuf) -> (bool, String, String) {
    let output = std::process::Command::new(trestle_binary())
        .args(["deluge", "run"])
        .arg(script)
        .args(["--server", &harness.base_url, "--env", "sandbox"])
        .arg("--arg")
        .arg(format!("contact={}", json!({ "Contacts.ID": CONTACT_ID })))
        .env("TRESTLE_TOKEN", &harness.token)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn bigin_contact() -> Value {
    json!({ "data": [{
        "id": CONTACT_ID,
        "Full_Name": "Ada Lovelace",
        "Email": "ada@example.com",
        "Phone": "+44 20 7946 0000",
        "Mobile": "+44 7700 900000",
    }]})
}

fn bearer_token(request: &wiremock::Request) -> String {
    let header = request
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap();
    header
        .strip_prefix("Zoho-oauthtoken ")
        .unwrap_or_else(|| panic!("Authorization is {header:?}, expected Zoho-oauthtoken"))
        .to_owned()
}

fn json_string_of(request: &wiremock::Request) -> Value {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect();
    let (_, json_string) = pairs
        .iter()
        .find(|(name, _)| name == "JSONString")
        .unwrap_or_else(|| panic!("no JSONString in {pairs:?}"));
    serde_json::from_str(json_string).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_script_creates_then_updates_the_books_contact() {
    let Some(issuer) = trestle_testkit::variable_or_skip(
        "TRESTLE_TEST_OIDC_ISSUER",
        "seed_script_creates_then_updates",
    ) else {
        return;
    };
    let Some(seed_dir) =
        trestle_testkit::variable_or_skip("TRESTLE_SEED_DIR", "seed_script_creates_then_updates")
    else {
        return;
    };
    let script = PathBuf::from(seed_dir).join("sync-contact-to-books.dg");
    let harness = start(issuer).await;

    Mock::given(method("GET"))
        .and(path(format!("/bigin/v2/Contacts/{CONTACT_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(bigin_contact()))
        .mount(&harness.bigin)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v3/contacts"))
        .and(query_param("search_text", "ada@example.com"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "code": 0, "message": "success", "contacts": [] })),
        )
        .mount(&harness.books)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v3/contacts"))
        .and(query_param("organization_id", "XXXXXXX"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "code": 0, "message": "The contact has been added.",
            "contact": { "contact_id": BOOKS_CONTACT_ID, "contact_name": "Ada Lovelace" }
        })))
        .expect(1)
        .mount(&harness.books)
        .await;

    // First run: no contact in Books yet, so it is created.
    let (success, stdout, stderr) = run_binary(&harness, &script);
    assert!(
        success,
        "first run failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("Created Contact: "), "{stdout}");
    assert!(stdout.contains(BOOKS_CONTACT_ID), "{stdout}");

    let books_requests = harness.books.received_requests().await.unwrap();
    let create = books_requests
        .iter()
        .find(|request| request.method.as_str() == "POST")
        .expect("the create request reached the Books stand-in");
    let created = json_string_of(create);
    assert_eq!(created["contact_name"], "Ada Lovelace");
    assert_eq!(created["email"], "ada@example.com");
    assert_eq!(created["mobile"], "+44 7700 900000");
    assert_eq!(created["contact_persons"][0]["last_name"], "Ada Lovelace");
    assert_eq!(created["contact_persons"][0]["is_primary_contact"], true);
    // The credential the stand-in received is the access token oidc-provider issued.
    let books_token = bearer_token(create);
    assert!(harness.is_active_at_provider(&books_token).await);
    let bigin_requests = harness.bigin.received_requests().await.unwrap();
    assert_eq!(bigin_requests.len(), 1);
    let bigin_token = bearer_token(&bigin_requests[0]);
    assert!(harness.is_active_at_provider(&bigin_token).await);
    assert_ne!(
        bigin_token, books_token,
        "each connection has its own token"
    );
    assert!(!stdout.contains(&books_token) && !stderr.contains(&books_token));

    // Second run: Books now finds the contact, so it is updated.
    harness.books.reset().await;
    Mock::given(method("GET"))
        .and(path("/api/v3/contacts"))
        .and(query_param("search_text", "ada@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "code": 0, "message": "success",
            "contacts": [{ "contact_id": BOOKS_CONTACT_ID, "contact_name": "Ada Lovelace" }]
        })))
        .mount(&harness.books)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("/api/v3/contacts/{BOOKS_CONTACT_ID}")))
        .and(query_param("organization_id", "XXXXXXX"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({ "code": 0, "message": "Contact information has been saved." }),
            ),
        )
        .expect(1)
        .mount(&harness.books)
        .await;
    let (success, stdout, stderr) = run_binary(&harness, &script);
    assert!(
        success,
        "second run failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("Updated Contact: "), "{stdout}");
    assert!(
        stdout.contains("Contact information has been saved."),
        "{stdout}"
    );
    let books_requests = harness.books.received_requests().await.unwrap();
    let update = books_requests
        .iter()
        .find(|request| request.method.as_str() == "PUT")
        .expect("the update reached the Books stand-in");
    let updated = json_string_of(update);
    assert_eq!(updated["contact_name"], "Ada Lovelace");
    assert_eq!(updated["phone"], "+44 20 7946 0000");
    assert_eq!(updated["contact_persons"][0]["email"], "ada@example.com");
    assert!(harness.is_active_at_provider(&bearer_token(update)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_run_reports_effects_without_the_credential() {
    let Some(issuer) = trestle_testkit::variable_or_skip(
        "TRESTLE_TEST_OIDC_ISSUER",
        "functions_run_reports_effects",
    ) else {
        return;
    };
    let harness = start(issuer).await;
    Mock::given(method("GET"))
        .and(path("/api/v3/contacts"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "code": 0, "contacts": [] })),
        )
        .mount(&harness.books)
        .await;
    let report = harness
        .run(
            &format!(
                "r = invokeurl [ url: \"https://books.zoho.com/api/v3/contacts\" type: GET connection: \"{BOOKS_LINK}\" ];\ninfo r.get(\"code\");\nreturn r;"
            ),
            json!({}),
        )
        .await;
    assert_eq!(report["info"], json!(["0"]), "{report}");
    assert_eq!(report["return_value"]["code"], 0);
    assert!(report.get("error").is_none(), "{report}");
    let effect = &report["effects"][0];
    assert_eq!(effect["kind"], "invoke_url");
    assert_eq!(effect["response"]["status"], 200);
    assert_eq!(
        effect["response"]["url"],
        "https://books.zoho.com/api/v3/contacts"
    );
    let request = &harness.books.received_requests().await.unwrap()[0];
    let token = bearer_token(request);
    assert!(!report.to_string().contains(&token));
    assert!(report["timing"]["statements"].as_u64().unwrap() >= 3);
}
