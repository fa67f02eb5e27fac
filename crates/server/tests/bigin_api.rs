//! Contract tests of the Bigin-compatible records API against the shapes of Bigin's
//! documentation: the real server over real HTTP on a real store (SQLite, and PostgreSQL
//! when TRESTLE_TEST_POSTGRES_URL is set), tokens from the real OAuth endpoints. Each test
//! records every call as (status, redacted body) in one insta snapshot shared by both
//! backends, so the two must answer identically.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step should stop the test loudly

mod bigin_support;
mod common;

use bigin_support::{RecordsApi, bigin, crm_token, entry};
use common::{Backend, TestOrganization, TestServer};
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

/// An access token of the CRM API with every scope, granted by `organization`'s admin for
/// `environment`.
async fn full_access_token(
    server: &TestServer,
    organization: &TestOrganization,
    environment: &str,
) -> String {
    crm_token(
        server,
        &organization.admin_token,
        &organization.id.to_string(),
        ALL_SCOPES,
        environment,
    )
    .await
    .access_token
}

/// The id of the `index`th record a write answered with.
fn written_id(body: &Value, index: usize) -> String {
    body["data"][index]["details"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id for record {index}: {body}"))
        .to_owned()
}

async fn records_contract(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.organization_with_members("Acme").await;
    let token = full_access_token(&server, &organization, "production").await;
    let mut api = RecordsApi::new(&server, &token);

    let body = api
        .expect(
            "insert account",
            Method::POST,
            "/bigin/v2/Accounts",
            Some(json!({ "data": [{ "Account_Name": "Acme Corp", "Phone": "+1 555 0100" }] })),
            StatusCode::CREATED,
        )
        .await;
    let account_id = written_id(&body, 0);

    let body = api.expect("insert two contacts", Method::POST, "/bigin/v2/Contacts", Some(json!({
        "data": [
            { "First_Name": "Priya", "Last_Name": "Natarajan", "Email": "priya@example.org",
              "Phone": "+1 555 0101", "Account_Name": { "id": account_id }, "Tag": [{ "name": "VIP" }] },
            { "Last_Name": "Doe", "Email": "doe@example.org", "Mailing_City": "Austin" }
        ],
        "trigger": ["workflow"]
    })), StatusCode::CREATED).await;
    let priya = written_id(&body, 0);
    let doe = written_id(&body, 1);

    let body = api
        .expect(
            "insert mixed batch",
            Method::POST,
            "/bigin/v2/Contacts",
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
            StatusCode::ACCEPTED,
        )
        .await;
    let ok_id = written_id(&body, 0);

    api.expect(
        "insert all failed",
        Method::POST,
        "/bigin/v2/Contacts",
        Some(json!({ "data": [{ "First_Name": "x" }] })),
        StatusCode::BAD_REQUEST,
    )
    .await;

    let body = api
        .expect(
            "get contact",
            Method::GET,
            &format!("/bigin/v2/Contacts/{priya}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(body["data"][0]["Account_Name"]["name"], "Acme Corp");
    assert_eq!(body["data"][0]["Full_Name"], "Priya Natarajan");
    assert!(
        body["data"][0]["Owner"]["id"]
            .as_str()
            .unwrap()
            .bytes()
            .all(|b| b.is_ascii_digit())
    );

    api.expect(
        "get contact with fields",
        Method::GET,
        &format!("/bigin/v2/Contacts/{priya}?fields=Last_Name,Email"),
        None,
        StatusCode::OK,
    )
    .await;

    api.expect(
        "get missing contact",
        Method::GET,
        "/bigin/v2/Contacts/1234567890123456789",
        None,
        StatusCode::NO_CONTENT,
    )
    .await;

    let body = api
        .expect(
            "list contacts",
            Method::GET,
            "/bigin/v2/Contacts?fields=Last_Name,Email,Account_Name&sort_by=id&sort_order=asc",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(body["info"]["count"], 3);

    api.expect(
        "update one",
        Method::PUT,
        &format!("/bigin/v2/Contacts/{doe}"),
        Some(json!({ "data": [{ "Phone": "555 0199", "Mailing_City": null }] })),
        StatusCode::OK,
    )
    .await;

    api.expect(
        "update bulk mixed",
        Method::PUT,
        "/bigin/v2/Contacts",
        Some(json!({
            "data": [
                { "id": doe, "Title": "CTO" },
                { "Title": "no id" },
                { "id": "1234567890123456789", "Title": "missing" },
                { "id": ok_id, "Last_Name": "" }
            ]
        })),
        StatusCode::ACCEPTED,
    )
    .await;

    let body = api
        .record(
            "get after update",
            Method::GET,
            &format!("/bigin/v2/Contacts/{doe}?fields=Phone,Mailing_City,Title"),
            None,
        )
        .await;
    assert_eq!(body["data"][0]["Phone"], "555 0199");
    assert_eq!(body["data"][0]["Mailing_City"], Value::Null);
    assert_eq!(body["data"][0]["Title"], "CTO");

    let body = api
        .expect(
            "upsert",
            Method::POST,
            "/bigin/v2/Contacts/upsert",
            Some(json!({
                "data": [
                    { "Last_Name": "Natarajan-Rao", "Email": "priya@example.org" },
                    { "Last_Name": "Newcomer", "Email": "new@example.org" }
                ],
                "duplicate_check_fields": ["Email"]
            })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(body["data"][0]["action"], "update");
    assert_eq!(body["data"][0]["details"]["id"], priya.as_str());
    assert_eq!(body["data"][1]["action"], "insert");

    api.expect(
        "upsert on a non-unique field",
        Method::POST,
        "/bigin/v2/Contacts/upsert",
        Some(json!({ "data": [{ "Last_Name": "x" }], "duplicate_check_fields": ["Last_Name"] })),
        StatusCode::BAD_REQUEST,
    )
    .await;

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
        api.expect(
            label,
            Method::GET,
            &format!(
                "/bigin/v2/Contacts/search?{}&fields=Last_Name,Email",
                query.replace('+', "%2B")
            ),
            None,
            StatusCode::OK,
        )
        .await;
    }
    api.expect(
        "search without matches",
        Method::GET,
        "/bigin/v2/Contacts/search?criteria=(Last_Name:equals:Nobody)",
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    api.expect(
        "search unknown field",
        Method::GET,
        "/bigin/v2/Contacts/search?criteria=(Nope:equals:x)",
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;
    api.expect(
        "search malformed criteria",
        Method::GET,
        "/bigin/v2/Contacts/search?criteria=(Last_Name:equals",
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;
    api.expect(
        "search without criteria",
        Method::GET,
        "/bigin/v2/Contacts/search",
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;

    let body = api
        .record(
            "count",
            Method::GET,
            "/bigin/v2/Contacts/actions/count",
            None,
        )
        .await;
    assert_eq!(body["count"], 4);

    api.expect(
        "delete one",
        Method::DELETE,
        &format!("/bigin/v2/Contacts/{doe}"),
        None,
        StatusCode::OK,
    )
    .await;
    api.expect(
        "delete ids mixed",
        Method::DELETE,
        &format!("/bigin/v2/Contacts?ids={ok_id},{doe},abc"),
        None,
        StatusCode::ACCEPTED,
    )
    .await;
    let (status, _) = api
        .call(Method::GET, &format!("/bigin/v2/Contacts/{doe}"), None)
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

    insta::assert_json_snapshot!("records_contract", api.snapshot());
}

async fn errors_contract(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.organization_with_members("Acme").await;
    let token = full_access_token(&server, &organization, "production").await;
    let read_only = crm_token(
        &server,
        &organization.admin_token,
        &organization.id.to_string(),
        "ZohoBigin.modules.contacts.READ",
        "production",
    )
    .await;
    let mut api = RecordsApi::new(&server, &token);
    let read_only_api = RecordsApi::new(&server, &read_only.access_token);

    let response = server
        .client
        .get(server.url("/bigin/v2/Contacts?fields=Email"))
        .send()
        .await
        .unwrap();
    let (status, body) = common::read(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    api.push("no authorization header", status, &body);
    let response = server
        .client
        .get(server.url("/bigin/v2/Contacts?fields=Email"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    let (status, body) = common::read(response).await;
    api.push("garbled authorization header", status, &body);
    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/Contacts?fields=Email",
        "1000.wrong",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    api.push("unknown token", status, &body);
    let response = server
        .client
        .get(server.url("/bigin/v2/Contacts?fields=Email"))
        .bearer_auth(&token)
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
        let (status, body) = read_only_api.call(method, path, body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{label}");
        assert_eq!(body["code"], "OAUTH_SCOPE_MISMATCH", "{label}");
        api.push(label, status, &body);
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
        api.expect(label, method, path, body, expected).await;
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
    api.push("malformed JSON", status, &body);
    let (status, _) = api
        .call(Method::GET, "/bigin/v2/Contacts?fields=Email", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "bad input changed nothing");

    insta::assert_json_snapshot!("errors_contract", api.snapshot());
}

async fn metadata_contract(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.organization_with_members("Acme").await;
    let token = full_access_token(&server, &organization, "production").await;
    let mut api = RecordsApi::new(&server, &token);

    api.expect(
        "settings modules",
        Method::GET,
        "/bigin/v2/settings/modules",
        None,
        StatusCode::OK,
    )
    .await;
    api.record(
        "settings module Contacts",
        Method::GET,
        "/bigin/v2/settings/modules/Contacts",
        None,
    )
    .await;
    let body = api
        .expect(
            "settings fields Contacts",
            Method::GET,
            "/bigin/v2/settings/fields?module=Contacts",
            None,
            StatusCode::OK,
        )
        .await;
    assert!(body["fields"].as_array().unwrap().iter().all(|field| {
        field["id"]
            .as_str()
            .unwrap()
            .bytes()
            .all(|byte| byte.is_ascii_digit())
    }));
    api.expect(
        "settings fields without module",
        Method::GET,
        "/bigin/v2/settings/fields",
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;
    api.expect(
        "settings fields unknown module",
        Method::GET,
        "/bigin/v2/settings/fields?module=Nope",
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;

    api.expect(
        "create custom field",
        Method::POST,
        "/bigin/v2/settings/fields?module=Contacts",
        Some(
            json!({ "fields": [{ "field_label": "Loyalty Tier", "data_type": "picklist",
                                  "pick_list_values": ["Gold", "Silver"] }] }),
        ),
        StatusCode::CREATED,
    )
    .await;
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
    api.push("create topping field", status, &body);
    api.expect(
        "duplicate custom field",
        Method::POST,
        "/bigin/v2/settings/fields?module=Contacts",
        Some(json!({ "fields": [{ "field_label": "Loyalty Tier", "data_type": "text" }] })),
        StatusCode::BAD_REQUEST,
    )
    .await;
    api.expect(
        "bad custom field type",
        Method::POST,
        "/bigin/v2/settings/fields?module=Contacts",
        Some(json!({ "fields": [{ "field_label": "X", "data_type": "hologram" }] })),
        StatusCode::BAD_REQUEST,
    )
    .await;

    api.expect(
        "write custom fields",
        Method::POST,
        "/bigin/v2/Contacts",
        Some(json!({
            "data": [{ "Last_Name": "Tiered", "Loyalty_Tier": "Gold", "booksync__Books_Id": "B-1" },
                     { "Last_Name": "Wrong", "Loyalty_Tier": ["Gold"] }]
        })),
        StatusCode::ACCEPTED,
    )
    .await;

    api.expect(
        "create custom module",
        Method::POST,
        "/bigin/v2/settings/modules",
        Some(json!({ "modules": [{ "singular_label": "Project", "plural_label": "Projects" }] })),
        StatusCode::CREATED,
    )
    .await;
    api.expect(
        "insert into custom module",
        Method::POST,
        "/bigin/v2/Projects",
        Some(json!({ "data": [{ "Name": "Launch" }] })),
        StatusCode::CREATED,
    )
    .await;
    api.expect(
        "list custom module",
        Method::GET,
        "/bigin/v2/Projects?fields=Name",
        None,
        StatusCode::OK,
    )
    .await;

    let body = api
        .expect(
            "current user",
            Method::GET,
            "/bigin/v2/users?type=CurrentUser",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(body["users"].as_array().unwrap().len(), 1);
    let (status, body) = api
        .call(Method::GET, "/bigin/v2/users?type=AllUsers&", None)
        .await;
    assert_eq!(body["users"].as_array().unwrap().len(), 3);
    api.push("all users", status, &body["info"]);
    api.expect("org", Method::GET, "/bigin/v2/org", None, StatusCode::OK)
        .await;

    // The aliases serve the same handlers.
    for prefix in ["/crm/v8", "/bigin/v1"] {
        let (status, body) = api
            .call(Method::GET, &format!("{prefix}/Projects?fields=Name"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{prefix}");
        assert_eq!(body["data"][0]["Name"], "Launch");
    }
    let (status, _) = api.call(Method::GET, "/bigin/v1/Projects", None).await;
    assert_eq!(status, StatusCode::OK, "v1 does not require fields");

    insta::assert_json_snapshot!("metadata_contract", api.snapshot());
}

async fn paging_contract(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.organization_with_members("Acme").await;
    let token = full_access_token(&server, &organization, "production").await;
    let api = RecordsApi::new(&server, &token);
    let records: Vec<Value> = (0..7)
        .map(|index| json!({ "Last_Name": format!("P{index}") }))
        .collect();
    let (status, _) = api
        .call(
            Method::POST,
            "/bigin/v2/Contacts",
            Some(json!({ "data": records })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let mut seen = Vec::new();
    let (status, body) = api
        .call(
            Method::GET,
            "/bigin/v2/Contacts?fields=Last_Name&per_page=3&sort_order=asc",
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
        let (status, next_body) = api
            .call(
                Method::GET,
                &format!("/bigin/v2/Contacts?fields=Last_Name&page_token={next}"),
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
    let (status, page3) = api
        .call(
            Method::GET,
            "/bigin/v2/Contacts?fields=Last_Name&per_page=3&page=3&sort_order=asc",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page3["data"][0]["Last_Name"], "P6");
    assert_eq!(page3["info"]["more_records"], false);
    let (status, body) = api
        .call(
            Method::GET,
            &format!(
                "/bigin/v2/Contacts?fields=Last_Name&page=2&page_token={}",
                first_info["next_page_token"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, search) = api
        .call(
            Method::GET,
            "/bigin/v2/Contacts/search?word=P&per_page=2&page=2",
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
    let acme_production = full_access_token(&server, &acme, "production").await;
    let acme_sandbox = full_access_token(&server, &acme, "sandbox").await;
    let globex_production = full_access_token(&server, &globex, "production").await;

    let acme_api = RecordsApi::new(&server, &acme_production);
    let (status, body) = acme_api
        .call(
            Method::POST,
            "/bigin/v2/Contacts",
            Some(json!({ "data": [{ "Last_Name": "Secret", "Email": "secret@acme.test", "Phone": "5550000" }] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let secret_id = written_id(&body, 0);
    let secret_path = format!("/bigin/v2/Contacts/{secret_id}");

    for other in [&acme_sandbox, &globex_production] {
        let other_api = RecordsApi::new(&server, other);
        for (label, method, path, body, expected_status) in [
            (
                "get",
                Method::GET,
                secret_path.clone(),
                None,
                StatusCode::NO_CONTENT,
            ),
            (
                "list",
                Method::GET,
                "/bigin/v2/Contacts?fields=Last_Name".to_owned(),
                None,
                StatusCode::NO_CONTENT,
            ),
            (
                "list by ids",
                Method::GET,
                format!("/bigin/v2/Contacts?fields=Last_Name&ids={secret_id}"),
                None,
                StatusCode::NO_CONTENT,
            ),
            (
                "search by criteria",
                Method::GET,
                "/bigin/v2/Contacts/search?criteria=(Last_Name:equals:Secret)".to_owned(),
                None,
                StatusCode::NO_CONTENT,
            ),
            (
                "search by email",
                Method::GET,
                "/bigin/v2/Contacts/search?email=secret@acme.test".to_owned(),
                None,
                StatusCode::NO_CONTENT,
            ),
            (
                "search by phone",
                Method::GET,
                "/bigin/v2/Contacts/search?phone=5550000".to_owned(),
                None,
                StatusCode::NO_CONTENT,
            ),
            (
                "search by word",
                Method::GET,
                "/bigin/v2/Contacts/search?word=Secret".to_owned(),
                None,
                StatusCode::NO_CONTENT,
            ),
            (
                "update one",
                Method::PUT,
                secret_path.clone(),
                Some(json!({ "data": [{ "Last_Name": "Hacked" }] })),
                StatusCode::BAD_REQUEST,
            ),
            (
                "bulk update",
                Method::PUT,
                "/bigin/v2/Contacts".to_owned(),
                Some(json!({ "data": [{ "id": secret_id, "Last_Name": "Hacked" }] })),
                StatusCode::BAD_REQUEST,
            ),
            (
                "delete one",
                Method::DELETE,
                secret_path.clone(),
                None,
                StatusCode::BAD_REQUEST,
            ),
            (
                "delete ids",
                Method::DELETE,
                format!("/bigin/v2/Contacts?ids={secret_id}"),
                None,
                StatusCode::BAD_REQUEST,
            ),
            (
                "lookup to another tenant's record",
                Method::POST,
                "/bigin/v2/Contacts".to_owned(),
                Some(
                    json!({ "data": [{ "Last_Name": "L", "Reporting_To": { "id": secret_id } }] }),
                ),
                StatusCode::BAD_REQUEST,
            ),
        ] {
            let (status, body) = other_api.call(method, &path, body).await;
            assert_eq!(status, expected_status, "{label}: {body}");
        }
        let (_, count) = other_api
            .call(Method::GET, "/bigin/v2/Contacts/actions/count", None)
            .await;
        assert_eq!(count["count"], 0, "count");
        // Upsert on the same unique value inserts a separate record in the other tenant.
        let (status, upsert) = other_api
            .call(
                Method::POST,
                "/bigin/v2/Contacts/upsert",
                Some(json!({ "data": [{ "Last_Name": "Mine", "Email": "secret@acme.test" }] })),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(upsert["data"][0]["action"], "insert");
        assert_ne!(upsert["data"][0]["details"]["id"], secret_id.as_str());
        // Custom fields of another tenant do not exist here.
        let (status, _) = other_api
            .call(
                Method::POST,
                "/bigin/v2/settings/fields?module=Contacts",
                Some(json!({ "fields": [{ "field_label": "Private", "data_type": "text" }] })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, body) = acme_api.call(Method::GET, &secret_path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"][0]["Last_Name"], "Secret");
    assert!(
        body["data"][0].get("Private").is_none(),
        "custom fields of other tenants stay there"
    );
    let globex_api = RecordsApi::new(&server, &globex_production);
    let (_, body) = globex_api.call(Method::GET, "/bigin/v2/org", None).await;
    assert_ne!(body["org"][0]["company_name"], "Acme");
    let (_, body) = globex_api
        .call(Method::GET, "/bigin/v2/users?type=AllUsers", None)
        .await;
    assert!(
        body["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|user| user["email"] != acme.admin.email.as_str())
    );
}
