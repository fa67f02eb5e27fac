//! Contract tests of the Bigin-compatible records API against the shapes of Bigin's
//! documentation: the real server over real HTTP on a real store (SQLite, and PostgreSQL
//! when TRESTLE_TEST_POSTGRES_URL is set), tokens from the real OAuth endpoints. Each test
//! records every call as (status, redacted body) in one insta snapshot shared by both
//! backends, so the two must answer identically.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step should stop the test loudly

mod bigin_support;
mod common;

use bigin_support::{bigin, crm_token, entry};
use common::{Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

backend_tests!(
    records_contract,
    errors_contract,
    metadata_contract,
    paging_contract,
    tenant_isolation,
);

const ALL_SCOPES: &str =
    "ZohoBigin.modules.ALL,ZohoBigin.settings.ALL,ZohoBigin.users.ALL,ZohoBigin.org.ALL";

async fn records_contract(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.organization_with_members("Acme").await;
    let org_id = organization.id.to_string();
    let token = crm_token(
        &server,
        &organization.admin_token,
        &org_id,
        ALL_SCOPES,
        "production",
    )
    .await;
    let token = token.access_token.as_str();
    let mut calls = Vec::new();

    let (status, body) = bigin(
        &server,
        Method::POST,
        "/bigin/v2/Accounts",
        token,
        Some(json!({ "data": [{ "Account_Name": "Acme Corp", "Phone": "+1 555 0100" }] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let account_id = body["data"][0]["details"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    calls.push(entry("insert account", status, &body));

    let (status, body) = bigin(&server, Method::POST, "/bigin/v2/Contacts", token, Some(json!({
        "data": [
            { "First_Name": "Priya", "Last_Name": "Natarajan", "Email": "priya@example.org",
              "Phone": "+1 555 0101", "Account_Name": { "id": account_id }, "Tag": [{ "name": "VIP" }] },
            { "Last_Name": "Doe", "Email": "doe@example.org", "Mailing_City": "Austin" }
        ],
        "trigger": ["workflow"]
    }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let priya = body["data"][0]["details"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let doe = body["data"][1]["details"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    calls.push(entry("insert two contacts", status, &body));

    let (status, body) = bigin(
        &server,
        Method::POST,
        "/bigin/v2/Contacts",
        token,
        Some(json!({
            "data": [
                { "Last_Name": "Ok", "Email": "ok@example.org" },
                { "First_Name": "No last name" },
                { "Last_Name": "Bad", "Email": "not an email" },
                { "Last_Name": "Dup", "Email": "PRIYA@example.org" },
                { "Last_Name": "Lookup", "Account_Name": { "id": "1234567890123456789" } },
                { "Last_Name": "Unknown", "No_Such_Field": 1 }
            ]
        })),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let ok_id = body["data"][0]["details"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    calls.push(entry("insert mixed batch", status, &body));

    let (status, body) = bigin(
        &server,
        Method::POST,
        "/bigin/v2/Contacts",
        token,
        Some(json!({ "data": [{ "First_Name": "x" }] })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    calls.push(entry("insert all failed", status, &body));

    let (status, body) = bigin(
        &server,
        Method::GET,
        &format!("/bigin/v2/Contacts/{priya}"),
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"][0]["Account_Name"]["name"], "Acme Corp");
    assert_eq!(body["data"][0]["Full_Name"], "Priya Natarajan");
    assert!(
        body["data"][0]["Owner"]["id"]
            .as_str()
            .unwrap()
            .bytes()
            .all(|b| b.is_ascii_digit())
    );
    calls.push(entry("get contact", status, &body));

    let (status, body) = bigin(
        &server,
        Method::GET,
        &format!("/bigin/v2/Contacts/{priya}?fields=Last_Name,Email"),
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    calls.push(entry("get contact with fields", status, &body));

    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/Contacts/1234567890123456789",
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    calls.push(entry("get missing contact", status, &body));

    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/Contacts?fields=Last_Name,Email,Account_Name&sort_by=id&sort_order=asc",
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["info"]["count"], 3);
    calls.push(entry("list contacts", status, &body));

    let (status, body) = bigin(
        &server,
        Method::PUT,
        &format!("/bigin/v2/Contacts/{doe}"),
        token,
        Some(json!({ "data": [{ "Phone": "555 0199", "Mailing_City": null }] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    calls.push(entry("update one", status, &body));

    let (status, body) = bigin(
        &server,
        Method::PUT,
        "/bigin/v2/Contacts",
        token,
        Some(json!({
            "data": [
                { "id": doe, "Title": "CTO" },
                { "Title": "no id" },
                { "id": "1234567890123456789", "Title": "missing" },
                { "id": ok_id, "Last_Name": "" }
            ]
        })),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    calls.push(entry("update bulk mixed", status, &body));

    let (status, body) = bigin(
        &server,
        Method::GET,
        &format!("/bigin/v2/Contacts/{doe}?fields=Phone,Mailing_City,Title"),
        token,
        None,
    )
    .await;
    assert_eq!(body["data"][0]["Phone"], "555 0199");
    assert_eq!(body["data"][0]["Mailing_City"], Value::Null);
    assert_eq!(body["data"][0]["Title"], "CTO");
    calls.push(entry("get after update", status, &body));

    let (status, body) = bigin(
        &server,
        Method::POST,
        "/bigin/v2/Contacts/upsert",
        token,
        Some(json!({
            "data": [
                { "Last_Name": "Natarajan-Rao", "Email": "priya@example.org" },
                { "Last_Name": "Newcomer", "Email": "new@example.org" }
            ],
            "duplicate_check_fields": ["Email"]
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"][0]["action"], "update");
    assert_eq!(body["data"][0]["details"]["id"], priya.as_str());
    assert_eq!(body["data"][1]["action"], "insert");
    calls.push(entry("upsert", status, &body));

    let (status, body) = bigin(
        &server,
        Method::POST,
        "/bigin/v2/Contacts/upsert",
        token,
        Some(json!({ "data": [{ "Last_Name": "x" }], "duplicate_check_fields": ["Last_Name"] })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    calls.push(entry("upsert on a non-unique field", status, &body));

    for (label, query) in [
        (
            "search criteria",
            "criteria=((Email:equals:priya@example.org)and(Last_Name:starts_with:Nata))",
        ),
        (
            "search criteria or",
            "criteria=((Last_Name:equals:Doe)or(Last_Name:equals:Ok))",
        ),
        ("search email", "email=DOE@example.org"),
        ("search phone", "phone=5550101"),
        ("search word", "word=newcom"),
        (
            "search precedence criteria over email",
            "criteria=(Last_Name:equals:Doe)&email=priya@example.org",
        ),
    ] {
        let (status, body) = bigin(
            &server,
            Method::GET,
            &format!(
                "/bigin/v2/Contacts/search?{}&fields=Last_Name,Email",
                query.replace('+', "%2B")
            ),
            token,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{label}: {body}");
        calls.push(entry(label, status, &body));
    }
    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/Contacts/search?criteria=(Last_Name:equals:Nobody)",
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    calls.push(entry("search without matches", status, &body));
    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/Contacts/search?criteria=(Nope:equals:x)",
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    calls.push(entry("search unknown field", status, &body));
    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/Contacts/search?criteria=(Last_Name:equals",
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    calls.push(entry("search malformed criteria", status, &body));
    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/Contacts/search",
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    calls.push(entry("search without criteria", status, &body));

    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/Contacts/actions/count",
        token,
        None,
    )
    .await;
    assert_eq!(body["count"], 4);
    calls.push(entry("count", status, &body));

    let (status, body) = bigin(
        &server,
        Method::DELETE,
        &format!("/bigin/v2/Contacts/{doe}"),
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    calls.push(entry("delete one", status, &body));
    let (status, body) = bigin(
        &server,
        Method::DELETE,
        &format!("/bigin/v2/Contacts?ids={ok_id},{doe},abc"),
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    calls.push(entry("delete ids mixed", status, &body));
    let (status, _) = bigin(
        &server,
        Method::GET,
        &format!("/bigin/v2/Contacts/{doe}"),
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // The change events were written with the records.
    let events = server.store.crm().events_after(0, 100).await.unwrap();
    let operations: Vec<&str> = events
        .iter()
        .map(|event| event.operation.as_str())
        .collect();
    assert_eq!(operations.iter().filter(|op| **op == "create").count(), 5);
    assert_eq!(operations.iter().filter(|op| **op == "delete").count(), 2);
    assert!(
        events
            .iter()
            .any(|event| event.triggers == json!(["workflow"]))
    );

    insta::assert_json_snapshot!("records_contract", Value::Array(calls));
}

async fn errors_contract(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.organization_with_members("Acme").await;
    let org_id = organization.id.to_string();
    let token = crm_token(
        &server,
        &organization.admin_token,
        &org_id,
        ALL_SCOPES,
        "production",
    )
    .await;
    let read_only = crm_token(
        &server,
        &organization.admin_token,
        &org_id,
        "ZohoBigin.modules.contacts.READ",
        "production",
    )
    .await;
    let token = token.access_token.as_str();
    let mut calls = Vec::new();

    let response = server
        .client
        .get(server.url("/bigin/v2/Contacts?fields=Email"))
        .send()
        .await
        .unwrap();
    let (status, body) = common::read(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    calls.push(entry("no authorization header", status, &body));
    let response = server
        .client
        .get(server.url("/bigin/v2/Contacts?fields=Email"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    let (status, body) = common::read(response).await;
    calls.push(entry("garbled authorization header", status, &body));
    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/Contacts?fields=Email",
        "1000.wrong",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    calls.push(entry("unknown token", status, &body));
    let response = server
        .client
        .get(server.url("/bigin/v2/Contacts?fields=Email"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let (status, _) = common::read(response).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "Bearer is accepted too");

    for (label, method, path, body) in [
        (
            "scope: create with read-only token",
            Method::POST,
            "/bigin/v2/Contacts",
            Some(json!({ "data": [{ "Last_Name": "x" }] })),
        ),
        (
            "scope: other module",
            Method::GET,
            "/bigin/v2/Accounts?fields=Account_Name",
            None,
        ),
        (
            "scope: settings",
            Method::GET,
            "/bigin/v2/settings/modules",
            None,
        ),
        (
            "scope: users",
            Method::GET,
            "/bigin/v2/users?type=CurrentUser",
            None,
        ),
        ("scope: org", Method::GET, "/bigin/v2/org", None),
        (
            "scope: delete",
            Method::DELETE,
            "/bigin/v2/Contacts?ids=1",
            None,
        ),
    ] {
        let (status, body) = bigin(&server, method, path, &read_only.access_token, body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{label}");
        assert_eq!(body["code"], "OAUTH_SCOPE_MISMATCH", "{label}");
        calls.push(entry(label, status, &body));
    }

    let huge: Vec<Value> = (0..101)
        .map(|index| json!({ "Last_Name": format!("n{index}") }))
        .collect();
    for (label, method, path, body, expected) in [
        (
            "unknown module",
            Method::GET,
            "/bigin/v2/Leads?fields=Email",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "list without fields",
            Method::GET,
            "/bigin/v2/Contacts",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "list with unknown field",
            Method::GET,
            "/bigin/v2/Contacts?fields=Nope",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "per_page over 200",
            Method::GET,
            "/bigin/v2/Contacts?fields=Email&per_page=201",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad sort_by",
            Method::GET,
            "/bigin/v2/Contacts?fields=Email&sort_by=Email",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "page beyond 2000 without token",
            Method::GET,
            "/bigin/v2/Contacts?fields=Email&page=11",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad page_token",
            Method::GET,
            "/bigin/v2/Contacts?fields=Email&page_token=xyz",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "more than 100 records",
            Method::POST,
            "/bigin/v2/Contacts",
            Some(json!({ "data": huge })),
            StatusCode::BAD_REQUEST,
        ),
        (
            "data missing",
            Method::POST,
            "/bigin/v2/Contacts",
            Some(json!({ "records": [] })),
            StatusCode::BAD_REQUEST,
        ),
        (
            "data not an array",
            Method::POST,
            "/bigin/v2/Contacts",
            Some(json!({ "data": {} })),
            StatusCode::BAD_REQUEST,
        ),
        (
            "record not an object",
            Method::POST,
            "/bigin/v2/Contacts",
            Some(json!({ "data": [1] })),
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad trigger",
            Method::POST,
            "/bigin/v2/Contacts",
            Some(json!({ "data": [{ "Last_Name": "x" }], "trigger": "workflow" })),
            StatusCode::BAD_REQUEST,
        ),
        (
            "delete without ids",
            Method::DELETE,
            "/bigin/v2/Contacts",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown path",
            Method::GET,
            "/bigin/v2/Contacts/1/Notes/2/x",
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            "unknown top-level path",
            Method::GET,
            "/bigin/v2/settings/nothing/here",
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            "wrong method",
            Method::PATCH,
            "/bigin/v2/Contacts",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "wrong method on upsert",
            Method::GET,
            "/bigin/v2/Contacts/upsert",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ] {
        let (status, body) = bigin(&server, method, path, token, body).await;
        assert_eq!(status, expected, "{label}: {body}");
        calls.push(entry(label, status, &body));
    }

    let response = server
        .client
        .post(server.url("/bigin/v2/Contacts"))
        .header("authorization", format!("Zoho-oauthtoken {token}"))
        .header("content-type", "application/json")
        .body("{\"data\": [ {\"Last_Name\": ")
        .send()
        .await
        .unwrap();
    let (status, body) = common::read(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    calls.push(entry("malformed JSON", status, &body));
    let (status, _) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/Contacts?fields=Email",
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "bad input changed nothing");

    insta::assert_json_snapshot!("errors_contract", Value::Array(calls));
}

async fn metadata_contract(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.organization_with_members("Acme").await;
    let org_id = organization.id.to_string();
    let token = crm_token(
        &server,
        &organization.admin_token,
        &org_id,
        ALL_SCOPES,
        "production",
    )
    .await;
    let token = token.access_token.as_str();
    let mut calls = Vec::new();

    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/settings/modules",
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    calls.push(entry("settings modules", status, &body));
    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/settings/modules/Contacts",
        token,
        None,
    )
    .await;
    calls.push(entry("settings module Contacts", status, &body));
    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/settings/fields?module=Contacts",
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["fields"].as_array().unwrap().iter().all(|field| {
        field["id"]
            .as_str()
            .unwrap()
            .bytes()
            .all(|byte| byte.is_ascii_digit())
    }));
    calls.push(entry("settings fields Contacts", status, &body));
    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/settings/fields",
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    calls.push(entry("settings fields without module", status, &body));
    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/settings/fields?module=Nope",
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    calls.push(entry("settings fields unknown module", status, &body));

    let (status, body) = bigin(
        &server,
        Method::POST,
        "/bigin/v2/settings/fields?module=Contacts",
        token,
        Some(
            json!({ "fields": [{ "field_label": "Loyalty Tier", "data_type": "picklist",
                                  "pick_list_values": ["Gold", "Silver"] }] }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    calls.push(entry("create custom field", status, &body));
    let response = server
        .client
        .post(server.url("/bigin/v2/settings/fields?module=Contacts"))
        .header("authorization", format!("Zoho-oauthtoken {token}"))
        .header("x-trestle-topping-namespace", "booksync")
        .json(&json!({ "fields": [{ "field_label": "Books Id", "data_type": "text" }] }))
        .send()
        .await
        .unwrap();
    let (status, body) = common::read(response).await;
    assert_eq!(
        body["fields"][0]["details"]["api_name"],
        "booksync__Books_Id"
    );
    calls.push(entry("create topping field", status, &body));
    let (status, body) = bigin(
        &server,
        Method::POST,
        "/bigin/v2/settings/fields?module=Contacts",
        token,
        Some(json!({ "fields": [{ "field_label": "Loyalty Tier", "data_type": "text" }] })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    calls.push(entry("duplicate custom field", status, &body));
    let (status, body) = bigin(
        &server,
        Method::POST,
        "/bigin/v2/settings/fields?module=Contacts",
        token,
        Some(json!({ "fields": [{ "field_label": "X", "data_type": "hologram" }] })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    calls.push(entry("bad custom field type", status, &body));

    let (status, body) = bigin(
        &server,
        Method::POST,
        "/bigin/v2/Contacts",
        token,
        Some(json!({
            "data": [{ "Last_Name": "Tiered", "Loyalty_Tier": "Gold", "booksync__Books_Id": "B-1" },
                     { "Last_Name": "Wrong", "Loyalty_Tier": ["Gold"] }]
        })),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    calls.push(entry("write custom fields", status, &body));

    let (status, body) = bigin(
        &server,
        Method::POST,
        "/bigin/v2/settings/modules",
        token,
        Some(json!({ "modules": [{ "singular_label": "Project", "plural_label": "Projects" }] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    calls.push(entry("create custom module", status, &body));
    let (status, body) = bigin(
        &server,
        Method::POST,
        "/bigin/v2/Projects",
        token,
        Some(json!({ "data": [{ "Name": "Launch" }] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    calls.push(entry("insert into custom module", status, &body));
    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/Projects?fields=Name",
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    calls.push(entry("list custom module", status, &body));

    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/users?type=CurrentUser",
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["users"].as_array().unwrap().len(), 1);
    calls.push(entry("current user", status, &body));
    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/users?type=AllUsers&",
        token,
        None,
    )
    .await;
    assert_eq!(body["users"].as_array().unwrap().len(), 3);
    calls.push(entry("all users", status, &body["info"]));
    let (status, body) = bigin(&server, Method::GET, "/bigin/v2/org", token, None).await;
    assert_eq!(status, StatusCode::OK);
    calls.push(entry("org", status, &body));

    // The aliases serve the same handlers.
    for prefix in ["/crm/v8", "/bigin/v1"] {
        let (status, body) = bigin(
            &server,
            Method::GET,
            &format!("{prefix}/Projects?fields=Name"),
            token,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{prefix}");
        assert_eq!(body["data"][0]["Name"], "Launch");
    }
    let (status, _) = bigin(&server, Method::GET, "/bigin/v1/Projects", token, None).await;
    assert_eq!(status, StatusCode::OK, "v1 does not require fields");

    insta::assert_json_snapshot!("metadata_contract", Value::Array(calls));
}

async fn paging_contract(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.organization_with_members("Acme").await;
    let org_id = organization.id.to_string();
    let token = crm_token(
        &server,
        &organization.admin_token,
        &org_id,
        ALL_SCOPES,
        "production",
    )
    .await;
    let token = token.access_token.as_str();
    let records: Vec<Value> = (0..7)
        .map(|index| json!({ "Last_Name": format!("P{index}") }))
        .collect();
    let (status, _) = bigin(
        &server,
        Method::POST,
        "/bigin/v2/Contacts",
        token,
        Some(json!({ "data": records })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let mut seen = Vec::new();
    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/Contacts?fields=Last_Name&per_page=3&sort_order=asc",
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let first_info = body["info"].clone();
    let mut body = body;
    loop {
        seen.extend(
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|record| record["Last_Name"].as_str().unwrap().to_owned()),
        );
        let Some(next) = body["info"]["next_page_token"].as_str() else {
            break;
        };
        let (status, next_body) = bigin(
            &server,
            Method::GET,
            &format!("/bigin/v2/Contacts?fields=Last_Name&page_token={next}"),
            token,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        body = next_body;
    }
    assert_eq!(
        seen,
        (0..7).map(|index| format!("P{index}")).collect::<Vec<_>>()
    );
    let (status, page3) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/Contacts?fields=Last_Name&per_page=3&page=3&sort_order=asc",
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page3["data"][0]["Last_Name"], "P6");
    assert_eq!(page3["info"]["more_records"], false);
    let (status, body) = bigin(
        &server,
        Method::GET,
        &format!(
            "/bigin/v2/Contacts?fields=Last_Name&page=2&page_token={}",
            first_info["next_page_token"].as_str().unwrap()
        ),
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, search) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/Contacts/search?word=P&per_page=2&page=2",
        token,
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "word needs two characters: {search}"
    );
    insta::assert_json_snapshot!(
        "paging_contract",
        json!([
            entry("first page", StatusCode::OK, &json!({ "info": first_info })),
            entry("last offset page", StatusCode::OK, &page3),
        ])
    );
}

/// A token of one organization or environment never reads or changes another's records.
async fn tenant_isolation(backend: Backend) {
    let server = TestServer::start(backend).await;
    let acme = server.organization_with_members("Acme").await;
    let globex = server.organization_with_members("Globex").await;
    let acme_production = crm_token(
        &server,
        &acme.admin_token,
        &acme.id.to_string(),
        ALL_SCOPES,
        "production",
    )
    .await;
    let acme_sandbox = crm_token(
        &server,
        &acme.admin_token,
        &acme.id.to_string(),
        ALL_SCOPES,
        "sandbox",
    )
    .await;
    let globex_production = crm_token(
        &server,
        &globex.admin_token,
        &globex.id.to_string(),
        ALL_SCOPES,
        "production",
    )
    .await;

    let (status, body) = bigin(&server, Method::POST, "/bigin/v2/Contacts", &acme_production.access_token,
        Some(json!({ "data": [{ "Last_Name": "Secret", "Email": "secret@acme.test", "Phone": "5550000" }] }))).await;
    assert_eq!(status, StatusCode::CREATED);
    let secret_id = body["data"][0]["details"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    for other in [&acme_sandbox.access_token, &globex_production.access_token] {
        let get = bigin(
            &server,
            Method::GET,
            &format!("/bigin/v2/Contacts/{secret_id}"),
            other,
            None,
        )
        .await;
        assert_eq!(get.0, StatusCode::NO_CONTENT, "get");
        let list = bigin(
            &server,
            Method::GET,
            "/bigin/v2/Contacts?fields=Last_Name",
            other,
            None,
        )
        .await;
        assert_eq!(list.0, StatusCode::NO_CONTENT, "list");
        let ids = bigin(
            &server,
            Method::GET,
            &format!("/bigin/v2/Contacts?fields=Last_Name&ids={secret_id}"),
            other,
            None,
        )
        .await;
        assert_eq!(ids.0, StatusCode::NO_CONTENT, "list by ids");
        for query in [
            "criteria=(Last_Name:equals:Secret)",
            "email=secret@acme.test",
            "phone=5550000",
            "word=Secret",
        ] {
            let search = bigin(
                &server,
                Method::GET,
                &format!("/bigin/v2/Contacts/search?{query}"),
                other,
                None,
            )
            .await;
            assert_eq!(search.0, StatusCode::NO_CONTENT, "search {query}");
        }
        let count = bigin(
            &server,
            Method::GET,
            "/bigin/v2/Contacts/actions/count",
            other,
            None,
        )
        .await;
        assert_eq!(count.1["count"], 0, "count");
        let update = bigin(
            &server,
            Method::PUT,
            &format!("/bigin/v2/Contacts/{secret_id}"),
            other,
            Some(json!({ "data": [{ "Last_Name": "Hacked" }] })),
        )
        .await;
        assert_eq!(
            update.0,
            StatusCode::BAD_REQUEST,
            "update one: {}",
            update.1
        );
        let bulk = bigin(
            &server,
            Method::PUT,
            "/bigin/v2/Contacts",
            other,
            Some(json!({ "data": [{ "id": secret_id, "Last_Name": "Hacked" }] })),
        )
        .await;
        assert_eq!(bulk.0, StatusCode::BAD_REQUEST, "bulk update");
        let delete = bigin(
            &server,
            Method::DELETE,
            &format!("/bigin/v2/Contacts/{secret_id}"),
            other,
            None,
        )
        .await;
        assert_eq!(delete.0, StatusCode::BAD_REQUEST, "delete one");
        let delete_ids = bigin(
            &server,
            Method::DELETE,
            &format!("/bigin/v2/Contacts?ids={secret_id}"),
            other,
            None,
        )
        .await;
        assert_eq!(delete_ids.0, StatusCode::BAD_REQUEST, "delete ids");
        // A lookup to another tenant's record is refused.
        let lookup = bigin(
            &server,
            Method::POST,
            "/bigin/v2/Contacts",
            other,
            Some(json!({ "data": [{ "Last_Name": "L", "Reporting_To": { "id": secret_id } }] })),
        )
        .await;
        assert_eq!(lookup.0, StatusCode::BAD_REQUEST, "lookup: {}", lookup.1);
        // Upsert on the same unique value inserts a separate record in the other tenant.
        let upsert = bigin(
            &server,
            Method::POST,
            "/bigin/v2/Contacts/upsert",
            other,
            Some(json!({ "data": [{ "Last_Name": "Mine", "Email": "secret@acme.test" }] })),
        )
        .await;
        assert_eq!(upsert.0, StatusCode::OK);
        assert_eq!(upsert.1["data"][0]["action"], "insert");
        assert_ne!(upsert.1["data"][0]["details"]["id"], secret_id.as_str());
        // Custom fields of another tenant do not exist here.
        let field = bigin(
            &server,
            Method::POST,
            "/bigin/v2/settings/fields?module=Contacts",
            other,
            Some(json!({ "fields": [{ "field_label": "Private", "data_type": "text" }] })),
        )
        .await;
        assert_eq!(field.0, StatusCode::CREATED);
    }
    let (status, body) = bigin(
        &server,
        Method::GET,
        &format!("/bigin/v2/Contacts/{secret_id}"),
        &acme_production.access_token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"][0]["Last_Name"], "Secret");
    assert!(
        body["data"][0].get("Private").is_none(),
        "custom fields of other tenants stay there"
    );
    let (_, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/org",
        &globex_production.access_token,
        None,
    )
    .await;
    assert_ne!(body["org"][0]["company_name"], "Acme");
    let (_, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/users?type=AllUsers",
        &globex_production.access_token,
        None,
    )
    .await;
    assert!(
        body["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|user| user["email"] != acme.admin.email.as_str())
    );
}
