//! OAuth 1.0a authorization (RFC 5849 section 2): temporary credentials, the resource owner's
//! authorization in the browser, and token credentials exchanged with the `oauth_verifier`.
//!
//! The flow reuses the OAuth 2 machinery for what both share: the pending-authorization row
//! (single-use `state`, browser binding at launch, expiry, per-service callback). The `state`
//! travels inside `oauth_callback`, which providers must call back unchanged with
//! `oauth_token` and `oauth_verifier` appended. The temporary credentials' secret is kept
//! encrypted in the row's verifier column; the temporary token is checked against the callback.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use trestle_outbound::oauth1::{OAuth1SignatureMethod, OAuth1Signer};
use trestle_services::ResolvedOAuth1;
use trestle_store::EnvironmentKind;
use trestle_store::connections::{
    ConnectionRecord, OAuthAuthorizationRecord, code_verifier_associated_data,
};
use trestle_vault::SecretString;
use url::Url;

use super::{
    Authorized, CompletedAuthorization, ConnectionManager, NewPendingAuthorization,
    PendingAuthorization, ServiceEntry, services_error, subtle_compare, vault_error,
};
use crate::model::{StoredCredentials, parse_list, parse_map};
use crate::secret::Secret;
use crate::{ConnectionError, ConnectionStatus, pkce};

/// The temporary credentials of a pending OAuth 1 authorization, encrypted at rest.
#[derive(serde::Serialize, serde::Deserialize)]
struct TemporaryCredentials {
    token: Secret,
    secret: Secret,
}

/// A provider's answer to a credentials request (form-encoded), by parameter name.
struct CredentialsResponse {
    token: Secret,
    secret: Secret,
    extra: BTreeMap<String, String>,
}

impl ConnectionManager {
    /// Requests temporary credentials and records a pending authorization whose launch URL
    /// sends the browser to the provider's authorization page.
    pub(super) async fn begin_oauth1_authorization(
        &self,
        record: &ConnectionRecord,
        service: &ServiceEntry,
        environment: EnvironmentKind,
    ) -> Result<PendingAuthorization, ConnectionError> {
        let resolved = service
            .definition
            .resolve(&parse_map(&record.settings), &BTreeMap::new())
            .map_err(|error| services_error(&record.service_key, error))?;
        let endpoints = oauth1_endpoints(&resolved.oauth1, &record.service_key)?;
        let client = self.oauth_client(service, record)?;
        let state = pkce::random_token();
        let redirect_uri = self.callback_url(&record.service_key);
        let mut callback =
            Url::parse(&redirect_uri).map_err(|_| ConnectionError::InvalidInput {
                field: "public_url".to_string(),
                message: "the server's public URL does not make a valid callback URL".to_string(),
            })?;
        callback.query_pairs_mut().append_pair("state", &state);
        let consumer = signer(
            &client,
            endpoints.signature_method,
            None,
            &record.service_key,
        )?;
        let temporary = self
            .credentials_request(
                &consumer,
                &endpoints.request_token_url,
                &[("oauth_callback", callback.as_str())],
                &record.service_key,
            )
            .await?;
        if temporary
            .extra
            .get("oauth_callback_confirmed")
            .map(String::as_str)
            != Some("true")
        {
            return Err(ConnectionError::TokenResponseInvalid {
                service_key: record.service_key.clone(),
                detail: "the temporary credentials lack `oauth_callback_confirmed=true` (OAuth 1.0a, RFC 5849 section 2.1)".to_string(),
            });
        }
        let mut provider_url = endpoints.authorize_url.clone();
        {
            let mut query = provider_url.query_pairs_mut();
            query.append_pair("oauth_token", temporary.token.expose());
            for (name, value) in &endpoints.authorize_parameters {
                query.append_pair(name, value);
            }
        }
        let state_hash = pkce::digest_hex(&state);
        let sealed = serde_json::to_vec(&TemporaryCredentials {
            token: temporary.token,
            secret: temporary.secret,
        })
        .map_err(|error| ConnectionError::Vault {
            code: "CREDENTIALS_UNSERIALIZABLE",
            message: error.to_string(),
        })?;
        // Wiped when dropped.
        let sealed = zeroize::Zeroizing::new(sealed);
        let ciphertext = self
            .vault
            .encrypt(&sealed[..], &code_verifier_associated_data(&state_hash))
            .map_err(vault_error)?;
        self.record_pending_authorization(
            record,
            NewPendingAuthorization {
                environment,
                state_hash,
                provider_url: &provider_url,
                token_url: &endpoints.access_token_url,
                redirect_uri,
                code_verifier: Some(ciphertext),
            },
        )
        .await
    }

    /// The callback half: `pending` has passed the state, service, expiry and browser checks.
    /// Exchanges the verifier for token credentials at the access token URL recorded when the
    /// flow started, and stores them encrypted.
    pub(super) async fn complete_oauth1_authorization(
        &self,
        record: ConnectionRecord,
        service: &ServiceEntry,
        pending: &OAuthAuthorizationRecord,
        query: &[(String, String)],
    ) -> Result<CompletedAuthorization, ConnectionError> {
        let parameter = |name: &str| {
            query
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        let environment = pending.environment;
        // Some providers report a refusal as `denied=<token>` instead of an OAuth 2 style error.
        if parameter("denied").is_some() {
            self.event(
                &record,
                Some(environment),
                "authorization_denied",
                json!({ "error": "denied" }),
            )
            .await;
            return Err(ConnectionError::AuthorizationDenied {
                error: "access_denied".to_string(),
                description: Some("the user did not grant access".to_string()),
            });
        }
        let missing = |name: &str| ConnectionError::AuthorizationDenied {
            error: format!("missing_{name}"),
            description: Some(format!("the OAuth 1 callback has no `{name}`")),
        };
        let callback_token = parameter("oauth_token").ok_or_else(|| missing("oauth_token"))?;
        let verifier = parameter("oauth_verifier").ok_or_else(|| missing("oauth_verifier"))?;
        let ciphertext = pending
            .code_verifier
            .as_ref()
            .ok_or(ConnectionError::StateInvalid)?;
        let plaintext = self
            .vault
            .decrypt(
                ciphertext,
                &code_verifier_associated_data(&pending.state_hash),
            )
            .map_err(vault_error)?;
        let temporary: TemporaryCredentials = serde_json::from_slice(plaintext.expose_secret())
            .map_err(|_| ConnectionError::StateInvalid)?;
        if !subtle_compare::constant_time_eq(
            temporary.token.expose().as_bytes(),
            callback_token.as_bytes(),
        ) {
            return Err(ConnectionError::StateInvalid);
        }
        let resolved = service
            .definition
            .resolve(&parse_map(&record.settings), &BTreeMap::new())
            .map_err(|error| services_error(&record.service_key, error))?;
        let endpoints = oauth1_endpoints(&resolved.oauth1, &record.service_key)?;
        let access_token_url =
            Url::parse(&pending.token_url).map_err(|_| ConnectionError::StateInvalid)?;
        let client = self.oauth_client(service, &record)?;
        let temporary_signer = signer(
            &client,
            endpoints.signature_method,
            Some((&temporary.token, &temporary.secret)),
            &record.service_key,
        )?;
        let answer = self
            .credentials_request(
                &temporary_signer,
                &access_token_url,
                &[("oauth_verifier", verifier)],
                &record.service_key,
            )
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(error) => {
                self.event(
                    &record,
                    Some(environment),
                    "authorization_failed",
                    json!({ "error_code": error.code() }),
                )
                .await;
                return Err(error);
            }
        };
        let extra_json = Value::Object(
            answer
                .extra
                .iter()
                .map(|(name, value)| (name.clone(), Value::String(value.clone())))
                .collect(),
        );
        let captured = service
            .definition
            .capture_from_token_response(&extra_json)
            .map_err(|error| services_error(&record.service_key, error))?;
        let granted = parse_list(&record.requested_scopes);
        let credentials = StoredCredentials {
            access_token: Some(answer.token),
            token_secret: Some(answer.secret),
            ..StoredCredentials::default()
        };
        self.store_authorized(
            &record,
            environment,
            Authorized {
                credentials: &credentials,
                granted_scopes: &granted,
                captured_values: &captured,
                expires_at: None,
            },
            json!({ "grant": "oauth1" }),
        )
        .await?;
        Ok(CompletedAuthorization {
            link_name: record.link_name,
            environment,
            status: ConnectionStatus::Active,
            granted_scopes: granted,
        })
    }

    /// The signer for API requests of an authorized OAuth 1 connection.
    pub(super) fn oauth1_request_signer(
        &self,
        service: &ServiceEntry,
        record: &ConnectionRecord,
        resolved: &trestle_services::ResolvedService,
        credentials: &StoredCredentials,
    ) -> Result<OAuth1Signer, ConnectionError> {
        let endpoints = oauth1_endpoints(&resolved.oauth1, &record.service_key)?;
        let client = self.oauth_client(service, record)?;
        match (&credentials.access_token, &credentials.token_secret) {
            (Some(token), Some(secret)) => signer(
                &client,
                endpoints.signature_method,
                Some((token, secret)),
                &record.service_key,
            ),
            _ => Err(ConnectionError::Vault {
                code: "CREDENTIALS_UNREADABLE",
                message: format!(
                    "the stored credentials of `{}` lack the OAuth 1 token secret; authorize the connection again",
                    record.link_name
                ),
            }),
        }
    }

    /// A signed POST to a credentials endpoint (temporary or token credentials) and its
    /// form-encoded answer. Never follows redirects; never puts a secret into an error.
    async fn credentials_request(
        &self,
        signer: &OAuth1Signer,
        url: &Url,
        extra_protocol_parameters: &[(&str, &str)],
        service_key: &str,
    ) -> Result<CredentialsResponse, ConnectionError> {
        if signer.requires_https() && url.scheme() != "https" {
            return Err(ConnectionError::ServiceDefinition {
                service_key: service_key.to_string(),
                message: "PLAINTEXT OAuth 1 signatures are sent over https only".to_string(),
            });
        }
        self.tokens.check_destination(url, service_key)?;
        let header = signer.authorization_header("POST", url, &[], extra_protocol_parameters);
        let response = self
            .tokens
            .http()
            .post(url.clone())
            .header("Authorization", header.expose_secret())
            .header("Accept", "application/x-www-form-urlencoded, */*")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("")
            .send()
            .await
            .map_err(|error| {
                crate::oauth::TokenClient::egress_refusal(&error, service_key).unwrap_or_else(
                    || ConnectionError::TokenEndpointUnavailable {
                        service_key: service_key.to_string(),
                        detail: if error.is_timeout() {
                            "the request timed out".to_string()
                        } else {
                            "the request failed".to_string()
                        },
                    },
                )
            })?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let mut pairs: BTreeMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        if status.is_server_error() {
            return Err(ConnectionError::TokenEndpointUnavailable {
                service_key: service_key.to_string(),
                detail: format!("HTTP {}", status.as_u16()),
            });
        }
        if !status.is_success() {
            // RFC 5849 section 3.2 plus the common `oauth_problem` reporting extension.
            let error = pairs
                .get("oauth_problem")
                .map(|problem| problem.chars().take(100).collect())
                .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
            return Err(ConnectionError::TokenRequestRejected {
                service_key: service_key.to_string(),
                error,
                description: None,
            });
        }
        let invalid = |detail: &str| ConnectionError::TokenResponseInvalid {
            service_key: service_key.to_string(),
            detail: detail.to_string(),
        };
        let token = pairs
            .remove("oauth_token")
            .filter(|token| !token.is_empty())
            .ok_or_else(|| invalid("the answer has no `oauth_token`"))?;
        let secret = pairs
            .remove("oauth_token_secret")
            .ok_or_else(|| invalid("the answer has no `oauth_token_secret`"))?;
        Ok(CredentialsResponse {
            token: Secret::new(token),
            secret: Secret::new(secret),
            extra: pairs,
        })
    }
}

fn oauth1_endpoints<'a>(
    endpoints: &'a Option<ResolvedOAuth1>,
    service_key: &str,
) -> Result<&'a ResolvedOAuth1, ConnectionError> {
    endpoints
        .as_ref()
        .ok_or_else(|| ConnectionError::ServiceDefinition {
            service_key: service_key.to_string(),
            message: "the service has no OAuth 1 endpoints".to_string(),
        })
}

fn signer(
    client: &super::OAuthApp,
    signature_method: OAuth1SignatureMethod,
    token: Option<(&Secret, &Secret)>,
    service_key: &str,
) -> Result<OAuth1Signer, ConnectionError> {
    let consumer_secret =
        client
            .client_secret
            .clone()
            .ok_or_else(|| ConnectionError::ServiceDefinition {
                service_key: service_key.to_string(),
                message: "OAuth 1 needs the consumer secret (client secret) of the service"
                    .to_string(),
            })?;
    Ok(OAuth1Signer {
        consumer_key: client.client_id.clone(),
        consumer_secret,
        token: token.map(|(token, _)| SecretString::new(token.expose().to_string())),
        token_secret: token.map(|(_, secret)| SecretString::new(secret.expose().to_string())),
        signature_method,
    })
}
