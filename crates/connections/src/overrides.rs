//! Per-environment service overrides (operator configuration): OAuth endpoints pointed at a
//! stand-in, the operator's OAuth client for a service (the secret encrypted with the vault,
//! never shown back), and operator-fixed template variables such as the `bigin` service's
//! `accounts_server` and `api_domain` set to this Trestle's own URL.
//!
//! Read from the store whenever a connection's credential is read (see the credential cache
//! in the manager): a change applies to the next request through the server that made it, and
//! to every other server process on the database within `CROSS_PROCESS_STALENESS` (1 s).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use trestle_services::{OperatorOverrides, ServicesError};
use trestle_store::{
    EnvironmentKind, OrganizationId, ServiceOverrideRecord, StoreError,
    service_override_client_secret_associated_data,
};
use trestle_vault::SecretString;

use crate::ConnectionError;
use crate::manager::{ConnectionManager, OAuthApp, ServiceEntry};

/// What an operator sets for one service in one environment. Replaces the previous overrides
/// as a whole, except that an absent `client_secret` keeps the stored one while the
/// `client_id` stays the same.
#[derive(Clone, Debug, Default)]
pub struct ServiceOverrideInput {
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub revoke_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub variables: BTreeMap<String, String>,
}

/// The overrides of one service as the API shows them: never the client secret, only whether
/// one is stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ServiceOverrideView {
    pub service_key: String,
    pub environment: EnvironmentKind,
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub revoke_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret_set: bool,
    pub variables: BTreeMap<String, String>,
    pub updated_at: DateTime<Utc>,
}

fn store_error(error: StoreError) -> ConnectionError {
    ConnectionError::Storage {
        code: error.code(),
        message: error.to_string(),
    }
}

fn invalid_overrides(error: ServicesError) -> ConnectionError {
    let errors = error.field_errors();
    match errors.as_slice() {
        [] => ConnectionError::InvalidInput {
            field: "service_override".to_string(),
            message: error.to_string(),
        },
        [first, ..] => ConnectionError::InvalidInput {
            field: first.field.clone(),
            message: errors
                .iter()
                .map(|error| format!("{}: {}", error.field, error.message))
                .collect::<Vec<_>>()
                .join("; "),
        },
    }
}

fn parse_variables(record: &ServiceOverrideRecord) -> BTreeMap<String, String> {
    serde_json::from_str(&record.variables).unwrap_or_default()
}

fn operator_overrides(record: &ServiceOverrideRecord) -> OperatorOverrides {
    OperatorOverrides {
        authorize_url: record.authorize_url.clone(),
        token_url: record.token_url.clone(),
        revoke_url: record.revoke_url.clone(),
        variables: parse_variables(record),
    }
}

fn view(record: &ServiceOverrideRecord) -> ServiceOverrideView {
    ServiceOverrideView {
        service_key: record.service_key.clone(),
        environment: record.environment,
        authorize_url: record.authorize_url.clone(),
        token_url: record.token_url.clone(),
        revoke_url: record.revoke_url.clone(),
        client_id: record.client_id.clone(),
        client_secret_set: record.client_secret.is_some(),
        variables: parse_variables(record),
        updated_at: record.updated_at,
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

impl ConnectionManager {
    /// A service as connections in `environment` use it: [`ConnectionManager::service`] with
    /// the environment's operator overrides applied (endpoints, fixed variables, the operator's
    /// OAuth client).
    pub async fn service_in(
        &self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
        service_key: &str,
    ) -> Result<ServiceEntry, ConnectionError> {
        let mut entry = self.service(organization_id, service_key).await?;
        let Some(record) = self
            .store()
            .service_overrides()
            .get(organization_id, environment, service_key)
            .await
            .map_err(store_error)?
        else {
            return Ok(entry);
        };
        let overrides = operator_overrides(&record);
        if !overrides.is_empty() {
            // Validated when written; a definition changed since then is reported, not skipped.
            entry.definition = entry
                .definition
                .with_operator_overrides(&overrides)
                .map_err(|error| ConnectionError::ServiceDefinition {
                    service_key: service_key.to_string(),
                    message: format!(
                        "the {environment} environment's overrides no longer fit the service: {error}"
                    ),
                })?;
        }
        if let Some(client_id) = &record.client_id {
            let client_secret = record
                .client_secret
                .as_ref()
                .map(|ciphertext| {
                    self.vault()
                        .decrypt_secret(
                            ciphertext,
                            &service_override_client_secret_associated_data(
                                organization_id,
                                environment,
                                service_key,
                            ),
                        )
                        .map_err(|error| ConnectionError::Vault {
                            code: error.code(),
                            message: error.to_string(),
                        })
                })
                .transpose()?;
            entry.operator_client = Some(OAuthApp {
                client_id: client_id.clone(),
                client_secret,
            });
        }
        Ok(entry)
    }

    /// Every service override of one environment.
    pub async fn service_overrides(
        &self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
    ) -> Result<Vec<ServiceOverrideView>, ConnectionError> {
        let records = self
            .store()
            .service_overrides()
            .list(organization_id, environment)
            .await
            .map_err(store_error)?;
        Ok(records.iter().map(view).collect())
    }

    /// The overrides of one service in one environment, if any.
    pub async fn service_override(
        &self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
        service_key: &str,
    ) -> Result<Option<ServiceOverrideView>, ConnectionError> {
        let record = self
            .store()
            .service_overrides()
            .get(organization_id, environment, service_key)
            .await
            .map_err(store_error)?;
        Ok(record.as_ref().map(view))
    }

    /// Sets the overrides of one service in one environment, after checking them against the
    /// service's definition (bad input changes nothing).
    pub async fn put_service_override(
        &self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
        service_key: &str,
        input: ServiceOverrideInput,
    ) -> Result<ServiceOverrideView, ConnectionError> {
        let service = self.service(organization_id, service_key).await?;
        let overrides = OperatorOverrides {
            authorize_url: non_empty(input.authorize_url),
            token_url: non_empty(input.token_url),
            revoke_url: non_empty(input.revoke_url),
            variables: input.variables,
        };
        overrides
            .validate_for(&service.definition)
            .map_err(invalid_overrides)?;
        let client_id = non_empty(input.client_id);
        if client_id.is_some() && !service.definition.auth_type.is_oauth2() {
            return Err(ConnectionError::InvalidInput {
                field: "client_id".to_string(),
                message: format!(
                    "service `{service_key}` does not use OAuth 2, so it has no OAuth client"
                ),
            });
        }
        if client_id.is_none() && input.client_secret.is_some() {
            return Err(ConnectionError::InvalidInput {
                field: "client_secret".to_string(),
                message: "a client secret needs its client_id".to_string(),
            });
        }
        let previous = self
            .store()
            .service_overrides()
            .get(organization_id, environment, service_key)
            .await
            .map_err(store_error)?;
        let associated_data = service_override_client_secret_associated_data(
            organization_id,
            environment,
            service_key,
        );
        let client_secret = match (&input.client_secret, &client_id, &previous) {
            (Some(secret), _, _) => Some(
                self.vault()
                    .encrypt(secret.expose_secret().as_bytes(), &associated_data)
                    .map_err(|error| ConnectionError::Vault {
                        code: error.code(),
                        message: error.to_string(),
                    })?,
            ),
            // Same client as before: keep its secret.
            (None, Some(client_id), Some(previous))
                if previous.client_id.as_deref() == Some(client_id.as_str()) =>
            {
                previous.client_secret.clone()
            }
            _ => None,
        };
        let variables = serde_json::to_string(&overrides.variables).map_err(|error| {
            ConnectionError::InvalidInput {
                field: "variables".to_string(),
                message: error.to_string(),
            }
        })?;
        let record = ServiceOverrideRecord {
            organization_id,
            environment,
            service_key: service_key.to_string(),
            authorize_url: overrides.authorize_url,
            token_url: overrides.token_url,
            revoke_url: overrides.revoke_url,
            client_id,
            client_secret,
            variables,
            updated_at: Utc::now(),
        };
        self.store()
            .service_overrides()
            .put(&record)
            .await
            .map_err(store_error)?;
        self.service_override(organization_id, environment, service_key)
            .await?
            .ok_or_else(|| ConnectionError::Storage {
                code: "NOT_FOUND",
                message: "the service override vanished right after it was written".to_string(),
            })
    }

    /// Re-encrypts operator client secrets still under an old master key (part of
    /// [`ConnectionManager::reencrypt_all`]).
    pub(crate) async fn reencrypt_service_override_secrets(
        &self,
        report: &mut crate::ReencryptionReport,
    ) -> Result<(), ConnectionError> {
        let vault_error = |error: trestle_vault::VaultError| ConnectionError::Vault {
            code: error.code(),
            message: error.to_string(),
        };
        for record in self
            .store()
            .service_overrides()
            .with_client_secret()
            .await
            .map_err(store_error)?
        {
            let Some(ciphertext) = &record.client_secret else {
                continue;
            };
            report.examined += 1;
            if !self.vault().needs_rotation(ciphertext) {
                continue;
            }
            let associated_data = service_override_client_secret_associated_data(
                record.organization_id,
                record.environment,
                &record.service_key,
            );
            let new = self
                .vault()
                .reencrypt(ciphertext, &associated_data)
                .map_err(vault_error)?;
            if self
                .store()
                .service_overrides()
                .replace_client_secret(
                    record.organization_id,
                    record.environment,
                    &record.service_key,
                    ciphertext,
                    &new,
                )
                .await
                .map_err(store_error)?
            {
                report.reencrypted += 1;
            } else {
                report.changed_concurrently += 1;
            }
        }
        Ok(())
    }

    /// Removes the overrides of one service; `false` when there were none.
    pub async fn delete_service_override(
        &self,
        organization_id: OrganizationId,
        environment: EnvironmentKind,
        service_key: &str,
    ) -> Result<bool, ConnectionError> {
        self.store()
            .service_overrides()
            .delete(organization_id, environment, service_key)
            .await
            .map_err(store_error)
    }
}
