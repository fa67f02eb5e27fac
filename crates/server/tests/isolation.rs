//! An organization's members and tokens can never read or change another organization's data:
//! every endpoint that takes an id answers 404 (not 403, so ids of other tenants are not
//! revealed), with a session and with an API token, and nothing changes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Backend, TestServer, assert_error_shape};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

backend_tests!(other_organizations_ids_are_not_found_on_every_endpoint);

async fn other_organizations_ids_are_not_found_on_every_endpoint(backend: Backend) {
    let server = TestServer::start(backend).await;
    let victim = server.organization_with_members("Victim").await;
    let attacker = server.organization_with_members("Attacker").await;
    let victim_token_id = server.store.api_tokens().list(victim.id).await.unwrap()[0].id;
    let victim_org = victim.id;
    let victim_user = victim.developer.id;
    let attacker_org = attacker.id;

    let add_member = json!({ "email": "intruder@example.test", "role": "admin" });
    let change_role = json!({ "role": "admin" });
    let new_token = json!({ "name": "stolen" });
    // (method, path, body, expected code)
    let cases: Vec<(Method, String, Option<Value>, &str)> = vec![
        (
            Method::GET,
            format!("/api/v1/organizations/{victim_org}"),
            None,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{victim_org}/members"),
            None,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::POST,
            format!("/api/v1/organizations/{victim_org}/members"),
            Some(add_member.clone()),
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{victim_org}/members/{victim_user}"),
            None,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::PATCH,
            format!("/api/v1/organizations/{victim_org}/members/{victim_user}"),
            Some(change_role.clone()),
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::DELETE,
            format!("/api/v1/organizations/{victim_org}/members/{victim_user}"),
            None,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{victim_org}/environments"),
            None,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{victim_org}/environments/production"),
            None,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{victim_org}/environments/sandbox"),
            None,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{victim_org}/tokens"),
            None,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::POST,
            format!("/api/v1/organizations/{victim_org}/tokens"),
            Some(new_token),
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{victim_org}/tokens/{victim_token_id}"),
            None,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::DELETE,
            format!("/api/v1/organizations/{victim_org}/tokens/{victim_token_id}"),
            None,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{victim_org}/audit"),
            None,
            "ORGANIZATION_NOT_FOUND",
        ),
        // The attacker's own organization with the victim's member and token ids.
        (
            Method::GET,
            format!("/api/v1/organizations/{attacker_org}/members/{victim_user}"),
            None,
            "MEMBER_NOT_FOUND",
        ),
        (
            Method::PATCH,
            format!("/api/v1/organizations/{attacker_org}/members/{victim_user}"),
            Some(change_role),
            "MEMBER_NOT_FOUND",
        ),
        (
            Method::DELETE,
            format!("/api/v1/organizations/{attacker_org}/members/{victim_user}"),
            None,
            "MEMBER_NOT_FOUND",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{attacker_org}/tokens/{victim_token_id}"),
            None,
            "API_TOKEN_NOT_FOUND",
        ),
        (
            Method::DELETE,
            format!("/api/v1/organizations/{attacker_org}/tokens/{victim_token_id}"),
            None,
            "API_TOKEN_NOT_FOUND",
        ),
    ];

    let attackers = [
        ("admin session", attacker.admin_session.clone()),
        ("admin API token", attacker.admin_token.clone()),
    ];
    for (attacker_name, auth) in &attackers {
        for (method, path, body, expected_code) in &cases {
            let (status, error) = server.call(method.clone(), path, auth, body.clone()).await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{attacker_name}: {method} {path} answered {status}: {error}"
            );
            assert_eq!(
                assert_error_shape(status, &error),
                *expected_code,
                "{attacker_name}: {method} {path}"
            );
        }
    }

    // A token of the victim organization cannot reach the attacker's either.
    let (status, _) = server
        .call(
            Method::GET,
            &format!("/api/v1/organizations/{attacker_org}/members"),
            &victim.admin_token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The attacker's organization list does not show the victim.
    let (_, list) = server
        .call(
            Method::GET,
            "/api/v1/organizations",
            &attacker.admin_session,
            None,
        )
        .await;
    assert_eq!(list["organizations"].as_array().unwrap().len(), 1);
    assert_eq!(list["organizations"][0]["name"], "Attacker");

    // Nothing of the victim changed.
    let members = server
        .store
        .memberships()
        .list_members(victim_org)
        .await
        .unwrap();
    assert_eq!(members.len(), 3);
    assert!(
        members
            .iter()
            .all(|member| member.user.email != "intruder@example.test")
    );
    let developer = server
        .store
        .memberships()
        .member(victim_org, victim_user)
        .await
        .unwrap();
    assert_eq!(developer.role, trestle_store::Role::Developer);
    let tokens = server.store.api_tokens().list(victim_org).await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0].revoked_at.is_none());
    let (status, _) = server.me(&victim.admin_token).await;
    assert_eq!(status, StatusCode::OK);
    let audit = server
        .store
        .audit()
        .list_for_organization(victim_org, None, 100)
        .await
        .unwrap();
    assert!(
        audit.is_empty(),
        "no change was recorded for the victim: {audit:?}"
    );
}
