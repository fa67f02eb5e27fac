//! Resolution of built-in services: captured values (and their allow-lists), settings, pending
//! templates, credential rendering and revoke forms.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use trestle_services::{
    CapturedValues, Catalog, ConnectionSettings, RevokeTokenPlacement, ScopeSeparator,
    ServiceDefinition,
};
use trestle_vault::SecretString;

fn service(key: &str) -> &'static ServiceDefinition {
    Catalog::builtin().require(key).unwrap()
}

fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

#[test]
fn zoho_accounts_server_from_callback_is_used_for_token_exchange() {
    let books = service("zoho_books");
    let captured = books
        .capture_from_callback(&query(&[
            ("code", "1000.abc"),
            ("location", "eu"),
            ("accounts-server", "https://accounts.zoho.eu"),
        ]))
        .unwrap();
    let resolved = books
        .resolve(&ConnectionSettings::new(), &captured)
        .unwrap();
    let oauth2 = resolved.oauth2.as_ref().unwrap();
    assert_eq!(
        oauth2.token_url.as_str(),
        "https://accounts.zoho.eu/oauth/v2/token"
    );
    // location=eu switched the data centre, so the product host follows.
    assert!(resolved.host_policy.allows("books.zoho.eu"));
    assert!(!resolved.host_policy.allows("books.zoho.com"));
    assert_eq!(resolved.variables["data_centre"], "eu");
}

#[test]
fn forged_accounts_server_is_rejected_before_any_request() {
    let books = service("zoho_books");
    for forged in [
        "https://evil.test",
        "https://accounts.zoho.eu.evil.test",
        "https://accounts.zoho.eu/",
        "http://accounts.zoho.eu",
        "https://accounts.zoho.eu@evil.test",
        "https://accounts.zoho.ca",
        "https://accounts.zoho.eu\n",
    ] {
        let error = books
            .capture_from_callback(&query(&[("accounts-server", forged)]))
            .expect_err(forged);
        assert_eq!(error.code(), "SERVICE_CAPTURED_VALUE_REJECTED", "{forged}");
        assert!(
            !error.to_string().contains("evil"),
            "the value is not echoed: {error}"
        );
    }
    // A forged value that reached the database is caught again by resolve.
    let tampered =
        CapturedValues::from([("accounts_server".to_owned(), "https://evil.test".to_owned())]);
    assert_eq!(
        books
            .resolve(&ConnectionSettings::new(), &tampered)
            .unwrap_err()
            .code(),
        "SERVICE_CAPTURED_VALUE_REJECTED"
    );
}

#[test]
fn zoho_api_domain_from_token_response_drives_api_calls() {
    let crm = service("zoho_crm");
    let body = json!({"access_token": "1000.x", "api_domain": "https://www.zohoapis.com.au", "token_type": "Bearer", "expires_in": 3600});
    let captured = crm.capture_from_token_response(&body).unwrap();
    let resolved = crm.resolve(&ConnectionSettings::new(), &captured).unwrap();
    assert_eq!(
        resolved.api_base_url.unwrap().as_str(),
        "https://www.zohoapis.com.au/crm/v8"
    );
    assert!(resolved.host_policy.allows("www.zohoapis.com.au"));
    let forged = json!({"api_domain": "https://www.zohoapis.com.evil.test"});
    assert_eq!(
        crm.capture_from_token_response(&forged).unwrap_err().code(),
        "SERVICE_CAPTURED_VALUE_REJECTED"
    );
}

#[test]
fn zoho_token_response_quirks() {
    let oauth2 = service("bigin").oauth2.as_ref().unwrap();
    let format = &oauth2.token_response;
    assert!(format.errors_with_success_status);
    assert_eq!(
        format.error_code(&json!({"error": "invalid_code"})),
        Some("invalid_code".to_owned())
    );
    assert_eq!(format.error_code(&json!({"access_token": "x"})), None);
    assert_eq!(
        format.expires_in_seconds(&json!({"expires_in": 3600})),
        Some(3600)
    );
    assert_eq!(
        format.expires_in_seconds(&json!({"expires_in_sec": 3600, "expires_in": 3600000})),
        Some(3600)
    );
    assert_eq!(
        format.expires_in_seconds(&json!({"expires_in": "3600"})),
        Some(3600)
    );
}

#[test]
fn zoho_revoke_puts_the_refresh_token_in_the_query() {
    let resolved = service("zoho_desk")
        .resolve(&ConnectionSettings::new(), &CapturedValues::new())
        .unwrap();
    let revoke = resolved.oauth2.as_ref().unwrap().revoke.clone().unwrap();
    assert_eq!(revoke.token_in, RevokeTokenPlacement::Query);
    assert_eq!(revoke.method.as_str(), "POST");
    assert_eq!(
        revoke.url(&SecretString::from("1000.r")).unwrap().as_str(),
        "https://accounts.zoho.com/oauth/v2/token/revoke"
    );
}

#[test]
fn hubspot_and_github_revoke_urls_carry_token_and_client_id() {
    let resolved = service("hubspot")
        .resolve(&ConnectionSettings::new(), &CapturedValues::new())
        .unwrap();
    let revoke = resolved.oauth2.unwrap().revoke.unwrap();
    assert_eq!(
        revoke.url(&SecretString::from("a/b c")).unwrap().as_str(),
        "https://api.hubapi.com/oauth/v1/refresh-tokens/a%2Fb+c"
    );
    let resolved = service("github")
        .resolve(&ConnectionSettings::new(), &CapturedValues::new())
        .unwrap();
    let revoke = resolved.oauth2.unwrap().revoke.unwrap();
    assert_eq!(
        revoke.url(&SecretString::from("t")).unwrap_err().code(),
        "SERVICE_TEMPLATE_UNRESOLVED"
    );
    assert_eq!(
        revoke
            .url_for_client(&SecretString::from("t"), "Iv1.abc")
            .unwrap()
            .as_str(),
        "https://api.github.com/applications/Iv1.abc/token"
    );
}

#[test]
fn zoho_credential_is_rendered_with_its_own_scheme() {
    let resolved = service("zoho_books")
        .resolve(&ConnectionSettings::new(), &CapturedValues::new())
        .unwrap();
    let rendered = resolved
        .render_credentials(&|name| {
            (name == "access_token").then(|| SecretString::from("1000.token"))
        })
        .unwrap();
    assert_eq!(rendered.headers.len(), 1);
    assert_eq!(rendered.headers[0].0, "Authorization");
    assert_eq!(
        rendered.headers[0].1.expose_secret(),
        "Zoho-oauthtoken 1000.token"
    );
    assert_eq!(format!("{rendered:?}").matches("1000.token").count(), 0);
    let missing = resolved.render_credentials(&|_| None).unwrap_err();
    assert_eq!(missing.code(), "SERVICE_CREDENTIAL_MISSING");
}

#[test]
fn basic_services_build_the_authorization_header() {
    let settings = ConnectionSettings::from([("domain".to_owned(), "acme".to_owned())]);
    let resolved = service("freshdesk")
        .resolve(&settings, &CapturedValues::new())
        .unwrap();
    let rendered = resolved
        .render_credentials(&|name| (name == "api_key").then(|| SecretString::from("key123")))
        .unwrap();
    // base64("key123:X")
    assert_eq!(rendered.headers[0].1.expose_secret(), "Basic a2V5MTIzOlg=");
    assert_eq!(
        resolved.verification.unwrap().url.as_str(),
        "https://acme.freshdesk.com/api/v2/agents/me"
    );
}

#[test]
fn subdomain_settings_are_validated_so_hosts_stay_on_the_provider() {
    let zendesk = service("zendesk");
    for bad in [
        "evil.test/",
        "acme.evil",
        "a b",
        "acme.zendesk.com.evil.test",
        "-acme",
        "",
    ] {
        let settings = ConnectionSettings::from([("subdomain".to_owned(), bad.to_owned())]);
        let error = zendesk
            .resolve(&settings, &CapturedValues::new())
            .unwrap_err();
        assert!(
            matches!(
                error.code(),
                "SERVICE_SETTING_INVALID" | "SERVICE_SETTING_MISSING"
            ),
            "{bad}: {error}"
        );
    }
    let settings = ConnectionSettings::from([("subdomain".to_owned(), "acme".to_owned())]);
    let resolved = zendesk.resolve(&settings, &CapturedValues::new()).unwrap();
    assert!(resolved.host_policy.allows("acme.zendesk.com"));
    assert!(!resolved.host_policy.allows("other.zendesk.com"));
    let unknown = ConnectionSettings::from([("subdomian".to_owned(), "acme".to_owned())]);
    assert_eq!(
        zendesk
            .resolve(&unknown, &CapturedValues::new())
            .unwrap_err()
            .code(),
        "SERVICE_SETTING_UNKNOWN"
    );
}

#[test]
fn salesforce_api_base_waits_for_instance_url() {
    let salesforce = service("salesforce");
    let before = salesforce
        .resolve(&ConnectionSettings::new(), &CapturedValues::new())
        .unwrap();
    assert!(before.api_base_url.is_none());
    assert_eq!(before.host_policy.hosts().count(), 0);
    let captured = salesforce
        .capture_from_token_response(&json!({"instance_url": "https://acme.my.salesforce.com"}))
        .unwrap();
    let after = salesforce
        .resolve(&ConnectionSettings::new(), &captured)
        .unwrap();
    assert_eq!(
        after.api_base_url.unwrap().as_str(),
        "https://acme.my.salesforce.com/services/data/v62.0"
    );
    assert!(after.host_policy.allows("acme.my.salesforce.com"));
    let missing = salesforce
        .capture_from_token_response(&json!({"access_token": "x"}))
        .unwrap_err();
    assert_eq!(missing.code(), "SERVICE_CAPTURED_VALUE_MISSING");
    let sandbox = ConnectionSettings::from([("environment".to_owned(), "sandbox".to_owned())]);
    let resolved = salesforce
        .resolve(&sandbox, &CapturedValues::new())
        .unwrap();
    assert_eq!(
        resolved.oauth2.unwrap().authorize_url.unwrap().as_str(),
        "https://test.salesforce.com/services/oauth2/authorize"
    );
}

#[test]
fn optional_companion_headers_are_left_out_until_set() {
    let stripe = service("stripe");
    let resolved = stripe
        .resolve(&ConnectionSettings::new(), &CapturedValues::new())
        .unwrap();
    assert!(resolved.companion_headers.is_empty());
    let settings =
        ConnectionSettings::from([("connected_account".to_owned(), "acct_123".to_owned())]);
    let resolved = stripe.resolve(&settings, &CapturedValues::new()).unwrap();
    assert_eq!(
        resolved.companion_headers,
        vec![("Stripe-Account".to_owned(), "acct_123".to_owned())]
    );
}

#[test]
fn scopes_join_with_the_service_separator() {
    let bigin = service("bigin");
    assert_eq!(bigin.scope_separator, ScopeSeparator::Comma);
    assert_eq!(
        bigin.join_scopes(&[
            "ZohoBigin.modules.ALL",
            "ZohoBigin.settings.ALL",
            "ZohoBigin.modules.ALL"
        ]),
        "ZohoBigin.modules.ALL,ZohoBigin.settings.ALL"
    );
    assert_eq!(
        service("google_drive").join_scopes(&bigin.default_scopes()),
        "ZohoBigin.modules.ALL"
    );
    assert_eq!(ScopeSeparator::Plus.join(&["a", "b"]), "a+b");
    assert_eq!(ScopeSeparator::Space.split("a,b c+d"), ["a", "b", "c", "d"]);
}

#[test]
fn definitions_round_trip_through_json_and_reject_unknown_fields() {
    let books = service("zoho_books");
    let json = serde_json::to_value(books).unwrap();
    let back: ServiceDefinition = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(&back, books);
    let mut with_typo = json;
    with_typo["alowed_hosts"] = json!(["x"]);
    assert!(serde_json::from_value::<ServiceDefinition>(with_typo).is_err());
}

#[test]
fn seed_script_urls_are_allowed_for_their_connections() {
    // The contact sync script calls books.zoho.com directly and Bigin through zohoapis.
    let books = service("zoho_books")
        .resolve(&ConnectionSettings::new(), &CapturedValues::new())
        .unwrap();
    let url = url::Url::parse("https://books.zoho.com/api/v3/contacts?organization_id=1").unwrap();
    assert!(books.host_policy.allows_url(&url));
    let bigin = service("bigin")
        .resolve(&ConnectionSettings::new(), &CapturedValues::new())
        .unwrap();
    assert!(bigin.host_policy.allows("www.zohoapis.com"));
    assert!(
        !bigin.host_policy.allows("books.zoho.com"),
        "a Bigin token never goes to Books"
    );
}
