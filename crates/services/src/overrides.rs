//! Operator overrides of a service in one environment: OAuth endpoints pointed at a stand-in,
//! and template variables fixed by the operator (the `bigin` service pointed at this Trestle:
//! `accounts_server` and `api_domain` = Trestle's own URL).
//!
//! An operator-fixed variable is trusted because the operator set it: it wins over settings,
//! values derived from choices and captured values, and the service stops capturing it from
//! callbacks and token responses (so Trestle's own URL is not checked against the list of real
//! Zoho hosts, and a provider cannot move it elsewhere).

use std::collections::BTreeMap;

use url::Url;

use crate::definition::{RevokeRequest, ServiceDefinition};
use crate::error::{FieldError, ServicesError};
use crate::resolve::parse_secure_url;

/// What an operator overrides for one service in one environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperatorOverrides {
    /// Replaces the authorization endpoint.
    pub authorize_url: Option<String>,
    /// Replaces the token endpoint (and the refresh endpoint with it).
    pub token_url: Option<String>,
    /// Replaces the revocation URL (an RFC 7009 request when the service has none).
    pub revoke_url: Option<String>,
    /// Template variables fixed by the operator, by variable name.
    pub variables: BTreeMap<String, String>,
}

impl OperatorOverrides {
    /// True when nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self.authorize_url.is_none()
            && self.token_url.is_none()
            && self.revoke_url.is_none()
            && self.variables.is_empty()
    }

    /// Checks the overrides against `definition`: URLs are absolute https URLs (http only for
    /// loopback hosts) without template braces, OAuth endpoints only for OAuth 2 services, and
    /// variables only those the service's templates use. Every problem is reported by field.
    pub fn validate_for(&self, definition: &ServiceDefinition) -> Result<(), ServicesError> {
        let mut errors = Vec::new();
        let urls = [
            ("authorize_url", &self.authorize_url),
            ("token_url", &self.token_url),
            ("revoke_url", &self.revoke_url),
        ];
        for (field, value) in urls {
            let Some(value) = value else { continue };
            if definition.oauth2.is_none() {
                errors.push(FieldError::new(
                    field,
                    format!(
                        "service `{}` does not use OAuth 2, so it has no OAuth endpoints to override",
                        definition.key
                    ),
                ));
                continue;
            }
            if value.contains('{') || value.contains('}') {
                errors.push(FieldError::new(
                    field,
                    "must be a literal URL, not a template (no `{` or `}`)",
                ));
                continue;
            }
            if let Err(error) = check_url(field, value) {
                errors.push(FieldError::new(field, error.to_string()));
            }
        }
        let declared = definition.declared_variables();
        for (name, value) in &self.variables {
            let field = format!("variables.{name}");
            if !declared.contains(name) {
                errors.push(FieldError::new(
                    field,
                    format!(
                        "service `{}` has no template variable `{name}` (its variables: {})",
                        definition.key,
                        declared.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
                continue;
            }
            if value.trim().is_empty() || value.contains('{') || value.contains('}') {
                errors.push(FieldError::new(
                    field,
                    "must be a non-empty literal value (no `{` or `}`)",
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ServicesError::InvalidDefinition { errors })
        }
    }
}

fn check_url(field: &str, value: &str) -> Result<Url, ServicesError> {
    let url = parse_secure_url(field, value)?;
    if url.query().is_some() && field != "authorize_url" || url.fragment().is_some() {
        return Err(ServicesError::InvalidUrl {
            field: field.to_owned(),
            reason: format!("`{value}` must not have a query or fragment"),
        });
    }
    Ok(url)
}

impl ServiceDefinition {
    /// This definition with the operator's overrides applied (validated first).
    pub fn with_operator_overrides(
        &self,
        overrides: &OperatorOverrides,
    ) -> Result<ServiceDefinition, ServicesError> {
        overrides.validate_for(self)?;
        let mut definition = self.clone();
        if let Some(oauth2) = definition.oauth2.as_mut() {
            if let Some(authorize_url) = &overrides.authorize_url {
                oauth2.authorize_url = Some(authorize_url.clone());
            }
            if let Some(token_url) = &overrides.token_url {
                oauth2.token_url = token_url.clone();
                oauth2.refresh_url = None;
            }
            if let Some(revoke_url) = &overrides.revoke_url {
                match oauth2.revoke.as_mut() {
                    Some(revoke) => revoke.url = revoke_url.clone(),
                    None => {
                        oauth2.revoke = Some(RevokeRequest {
                            method: crate::definition::HttpMethod::Post,
                            url: revoke_url.clone(),
                            token: Default::default(),
                            token_in: Default::default(),
                            parameter: "token".to_owned(),
                            send_token_type_hint: true,
                            client_authentication: Default::default(),
                        })
                    }
                }
            }
        }
        definition
            .captured
            .retain(|captured| !overrides.variables.contains_key(&captured.name));
        definition.operator_variables.extend(
            overrides
                .variables
                .iter()
                .map(|(name, value)| (name.clone(), value.clone())),
        );
        Ok(definition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    fn bigin() -> ServiceDefinition {
        Catalog::builtin().get("bigin").unwrap().clone()
    }

    #[test]
    fn fixed_variables_point_bigin_at_another_server_and_stop_capturing_them() {
        let overrides = OperatorOverrides {
            variables: BTreeMap::from([
                (
                    "accounts_server".to_owned(),
                    "http://127.0.0.1:8080".to_owned(),
                ),
                ("api_domain".to_owned(), "http://127.0.0.1:8080".to_owned()),
            ]),
            ..OperatorOverrides::default()
        };
        let definition = bigin().with_operator_overrides(&overrides).unwrap();
        // The callback and token response may name other hosts: they are no longer read.
        let captured = definition
            .capture_from_callback(&[(
                "accounts-server".to_owned(),
                "https://evil.test".to_owned(),
            )])
            .unwrap();
        assert!(captured.is_empty());
        // Values captured before the override are ignored, not errors.
        let stale = BTreeMap::from([(
            "api_domain".to_owned(),
            "https://www.zohoapis.eu".to_owned(),
        )]);
        let resolved = definition.resolve(&BTreeMap::new(), &stale).unwrap();
        let oauth2 = resolved.oauth2.unwrap();
        assert_eq!(
            oauth2.authorize_url.unwrap().as_str(),
            "http://127.0.0.1:8080/oauth/v2/auth"
        );
        assert_eq!(
            oauth2.token_url.as_str(),
            "http://127.0.0.1:8080/oauth/v2/token"
        );
        assert_eq!(
            resolved.api_base_url.unwrap().as_str(),
            "http://127.0.0.1:8080/bigin/v2"
        );
        assert!(resolved.host_policy.allows("127.0.0.1"));
        assert!(!resolved.host_policy.allows("www.zohoapis.com"));
    }

    #[test]
    fn endpoint_overrides_replace_the_oauth_urls_only() {
        let books = Catalog::builtin().get("zoho_books").unwrap();
        let overrides = OperatorOverrides {
            authorize_url: Some("http://127.0.0.1:9000/auth".to_owned()),
            token_url: Some("http://127.0.0.1:9000/token".to_owned()),
            revoke_url: Some("http://127.0.0.1:9000/token/revocation".to_owned()),
            ..OperatorOverrides::default()
        };
        let resolved = books
            .with_operator_overrides(&overrides)
            .unwrap()
            .resolve(&BTreeMap::new(), &BTreeMap::new())
            .unwrap();
        let oauth2 = resolved.oauth2.unwrap();
        assert_eq!(oauth2.token_url.as_str(), "http://127.0.0.1:9000/token");
        assert_eq!(oauth2.refresh_url.as_str(), "http://127.0.0.1:9000/token");
        assert_eq!(
            oauth2.revoke.unwrap().url_template,
            "http://127.0.0.1:9000/token/revocation"
        );
        // The API is still the real one; routes, not overrides, move it.
        assert_eq!(
            resolved.api_base_url.unwrap().as_str(),
            "https://www.zohoapis.com/books/v3"
        );
    }

    #[test]
    fn bad_overrides_are_refused_field_by_field() {
        let overrides = OperatorOverrides {
            authorize_url: Some("http://accounts.example.test/auth".to_owned()),
            token_url: Some("{accounts_server}/token".to_owned()),
            revoke_url: None,
            variables: BTreeMap::from([
                ("no_such_variable".to_owned(), "x".to_owned()),
                ("api_domain".to_owned(), " ".to_owned()),
            ]),
        };
        let error = bigin().with_operator_overrides(&overrides).unwrap_err();
        assert_eq!(error.code(), "SERVICE_DEFINITION_INVALID");
        let fields: Vec<String> = error
            .field_errors()
            .into_iter()
            .map(|error| error.field)
            .collect();
        assert_eq!(
            fields,
            [
                "authorize_url",
                "token_url",
                "variables.api_domain",
                "variables.no_such_variable"
            ]
        );
        let stripe = Catalog::builtin().get("stripe").unwrap();
        if stripe.oauth2.is_none() {
            let error = stripe
                .with_operator_overrides(&OperatorOverrides {
                    token_url: Some("https://example.test/token".to_owned()),
                    ..OperatorOverrides::default()
                })
                .unwrap_err();
            assert_eq!(error.field_errors()[0].field, "token_url");
        }
    }
}
