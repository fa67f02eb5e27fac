//! Custom services: Zoho's custom-service form validated into definitions.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use trestle_services::{
    AuthType, CapturedValues, ConnectionSettings, CredentialPlacement, CustomServiceInput,
    FieldError, ServiceOrigin, ValidationOptions,
};
use trestle_vault::SecretString;

fn input(value: serde_json::Value) -> CustomServiceInput {
    serde_json::from_value(value).unwrap()
}

fn field_errors(value: serde_json::Value) -> Vec<FieldError> {
    let error = input(value).validate().unwrap_err();
    assert_eq!(error.code(), "SERVICE_DEFINITION_INVALID");
    error.field_errors()
}

#[test]
fn oauth2_code_service_with_client_credentials_kept_out_of_the_definition() {
    let validated = input(json!({
        "service_name": "Acme CRM",
        "service_link_name": "acme_crm",
        "auth_type": "oauth2_authorization_code",
        "authorize_url": "https://auth.acme.example/authorize",
        "access_token_url": "https://auth.acme.example/token",
        "api_base_url": "https://api.acme.example/v1",
        "client_id": "client-1",
        "client_secret": "very-secret",
        "scopes": ["contacts.read", {"name": "contacts.write", "display_name": "Write contacts"}]
    }))
    .validate()
    .unwrap();
    let definition = &validated.definition;
    assert_eq!(definition.origin, ServiceOrigin::Custom);
    assert!(definition.user_supplied_hosts);
    assert_eq!(
        definition.scope_separator.as_str(),
        ",",
        "Zoho's form defaults to comma"
    );
    assert_eq!(
        validated.client_secret.as_ref().unwrap().expose_secret(),
        "very-secret"
    );
    let serialized = serde_json::to_string(definition).unwrap();
    assert!(
        !serialized.contains("very-secret") && !serialized.contains("client-1"),
        "{serialized}"
    );
    let resolved = definition
        .resolve(&ConnectionSettings::new(), &CapturedValues::new())
        .unwrap();
    assert!(resolved.host_policy.allows("api.acme.example"));
    assert!(resolved.host_policy.user_supplied_hosts());
    assert!(resolved.oauth2.unwrap().pkce);
}

#[test]
fn errors_are_addressed_by_form_field() {
    let errors = field_errors(json!({
        "service_name": "",
        "service_link_name": "Acme-CRM",
        "auth_type": "oauth2_authorization_code",
        "authorize_url": "https://auth.acme.example/authorize",
        "access_token_url": "http://auth.acme.example/token",
        "client_id": "c"
    }));
    let rendered = serde_json::to_value(&errors).unwrap();
    assert!(
        rendered.as_array().unwrap().contains(&json!({
            "field": "access_token_url",
            "message": "must be an https URL; got http://auth.acme.example/token"
        })),
        "{rendered}"
    );
    let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
    assert!(fields.contains(&"service_name"), "{fields:?}");
    assert!(fields.contains(&"service_link_name"), "{fields:?}");
}

#[test]
fn link_name_rules() {
    for (link_name, ok) in [
        ("acme", true),
        ("acme_2", true),
        ("a", true),
        ("2acme", false),
        ("_acme", false),
        ("acme-crm", false),
        ("Acme", false),
        ("acmé", false),
        ("", false),
    ] {
        let result = input(
            json!({"service_name": "x", "service_link_name": link_name, "auth_type": "none"}),
        )
        .validate();
        assert_eq!(result.is_ok(), ok, "{link_name}: {result:?}");
    }
    let long = "a".repeat(51);
    let errors =
        field_errors(json!({"service_name": "x", "service_link_name": long, "auth_type": "none"}));
    assert!(errors[0].message.contains("at most 50"), "{errors:?}");
    let errors = field_errors(
        json!({"service_name": "x".repeat(51), "service_link_name": "ok", "auth_type": "none"}),
    );
    assert_eq!(errors[0].field, "service_name");
}

#[test]
fn api_key_parameters_in_header_query_and_form() {
    let validated = input(json!({
        "service_name": "Weather",
        "service_link_name": "weather",
        "auth_type": "api_key",
        "api_base_url": "https://api.weather.example",
        "api_key_parameters": [
            {"display_name": "API key", "key": "X-API-Key", "param_type": "header"},
            {"display_name": "App id", "key": "appid", "param_type": "query_string"},
            {"display_name": "Token", "key": "token", "param_type": "form_data", "value_prefix": "tok:"}
        ]
    }))
    .validate()
    .unwrap();
    let placements = &validated.definition.credential_placement;
    assert!(
        matches!(&placements[0], CredentialPlacement::Header { name, value } if name == "X-API-Key" && value == "{x_api_key}")
    );
    assert!(matches!(&placements[1], CredentialPlacement::Query { name, .. } if name == "appid"));
    let resolved = validated
        .definition
        .resolve(&ConnectionSettings::new(), &CapturedValues::new())
        .unwrap();
    let rendered = resolved
        .render_credentials(&|name| Some(SecretString::from(format!("value-of-{name}"))))
        .unwrap();
    assert_eq!(rendered.headers[0].1.expose_secret(), "value-of-x_api_key");
    assert_eq!(rendered.query[0].1.expose_secret(), "value-of-appid");
    assert_eq!(rendered.form[0].1.expose_secret(), "tok:value-of-token");
}

#[test]
fn bearer_basic_oauth1_client_credentials_and_none() {
    let bearer = input(json!({
        "service_name": "B", "service_link_name": "b", "auth_type": "bearer",
        "api_base_url": "https://b.example", "token_param_type": "query_string", "token_param_name": "auth"
    }))
    .validate()
    .unwrap();
    assert!(
        matches!(&bearer.definition.credential_placement[0], CredentialPlacement::Query { name, value } if name == "auth" && value == "{token}")
    );
    let basic = input(json!({"service_name": "B", "service_link_name": "basic_one", "auth_type": "basic", "api_base_url": "https://b.example"}))
        .validate()
        .unwrap();
    assert_eq!(basic.definition.credential_fields.len(), 2);
    let oauth1 = input(json!({
        "service_name": "O", "service_link_name": "o", "auth_type": "oauth1",
        "request_token_url": "https://o.example/request", "authorize_url": "https://o.example/authorize",
        "access_token_url": "https://o.example/access", "api_base_url": "https://api.o.example",
        "client_id": "k", "client_secret": "s"
    }))
    .validate()
    .unwrap();
    assert_eq!(oauth1.definition.auth_type, AuthType::OAuth1);
    let errors = field_errors(json!({
        "service_name": "C", "service_link_name": "c", "auth_type": "oauth2_client_credentials",
        "access_token_url": "https://c.example/token", "api_base_url": "https://c.example", "client_id": "id",
        "authorize_url": "https://c.example/authorize"
    }));
    let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
    assert_eq!(fields, ["authorize_url", "client_secret"]);
    let none = input(json!({"service_name": "N", "service_link_name": "n", "auth_type": "none", "api_base_url": "https://n.example"}))
        .validate()
        .unwrap();
    assert!(none.definition.credential_placement.is_empty());
}

#[test]
fn hosts_urls_and_unknown_fields() {
    let errors = field_errors(json!({
        "service_name": "H", "service_link_name": "h", "auth_type": "bearer",
        "allowed_hosts": ["*.example.com", "api.example.com:8443", "https://x.example"]
    }));
    assert_eq!(errors.len(), 3, "{errors:?}");
    let errors =
        field_errors(json!({"service_name": "H", "service_link_name": "h", "auth_type": "bearer"}));
    assert_eq!(errors[0].field, "allowed_hosts");
    let errors = field_errors(json!({
        "service_name": "H", "service_link_name": "h", "auth_type": "bearer",
        "api_base_url": "https://user:pw@api.example.com"
    }));
    assert_eq!(errors[0].field, "api_base_url");
    let errors = field_errors(json!({
        "service_name": "H", "service_link_name": "h", "auth_type": "bearer", "api_base_url": "https://{x}.example.com"
    }));
    assert!(errors[0].message.contains("placeholders"), "{errors:?}");
    let unknown: Result<CustomServiceInput, _> = serde_json::from_value(
        json!({"service_name": "H", "service_link_name": "h", "auth_type": "none", "colour": "red"}),
    );
    assert!(unknown.unwrap_err().to_string().contains("colour"));
}

#[test]
fn http_loopback_only_when_allowed_explicitly() {
    let value = json!({
        "service_name": "Local", "service_link_name": "local", "auth_type": "oauth2_authorization_code",
        "authorize_url": "http://127.0.0.1:3000/auth", "access_token_url": "http://127.0.0.1:3000/token",
        "api_base_url": "http://127.0.0.1:3000/api", "client_id": "c"
    });
    assert!(input(value.clone()).validate().is_err());
    let validated = input(value)
        .validate_with(&ValidationOptions {
            allow_http_loopback: true,
        })
        .unwrap();
    let resolved = validated
        .definition
        .resolve(&ConnectionSettings::new(), &CapturedValues::new())
        .unwrap();
    assert_eq!(
        resolved.oauth2.unwrap().token_url.as_str(),
        "http://127.0.0.1:3000/token"
    );
    let remote_http = json!({
        "service_name": "Remote", "service_link_name": "remote", "auth_type": "bearer", "api_base_url": "http://api.example.com"
    });
    assert!(
        input(remote_http)
            .validate_with(&ValidationOptions {
                allow_http_loopback: true
            })
            .is_err()
    );
}

#[test]
fn custom_api_key_template_row_is_expressible() {
    // The seed list's last row is a template for custom services: an API key in a header, query
    // or form parameter with a user-defined base URL.
    for param_type in ["header", "query_string", "form_data"] {
        let validated = input(json!({
            "service_name": "My API", "service_link_name": "my_api", "auth_type": "api_key",
            "api_base_url": "https://api.mine.example/v2",
            "api_key_parameters": [{"display_name": "Key", "key": "api_key", "param_type": param_type}]
        }))
        .validate()
        .unwrap();
        assert_eq!(validated.definition.credential_fields[0].name, "api_key");
    }
}
