//! What callers see of a connection (never a secret), and the credential blob that is
//! encrypted at rest.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use trestle_store::EnvironmentKind;
use trestle_store::connections::{ConnectionEnvironmentRecord, ConnectionRecord, ConnectionStatus};

use crate::secret::Secret;

/// A connection as shown by the API and CLI.
#[derive(Clone, Debug, Serialize)]
pub struct ConnectionView {
    pub id: String,
    pub namespace: String,
    pub name: String,
    pub link_name: String,
    /// False once the connection has been authorized: scripts may refer to it.
    pub link_name_editable: bool,
    pub service_key: String,
    pub requested_scopes: Vec<String>,
    pub settings: BTreeMap<String, String>,
    pub oauth_client_id: Option<String>,
    pub has_oauth_client_secret: bool,
    pub environments: Vec<EnvironmentView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One environment of a connection.
#[derive(Clone, Debug, Serialize)]
pub struct EnvironmentView {
    pub environment: EnvironmentKind,
    pub status: ConnectionStatus,
    pub granted_scopes: Vec<String>,
    /// Values captured during authorization (for example Zoho's `api_domain`). Not secrets.
    pub captured_values: BTreeMap<String, String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub authorized_at: Option<DateTime<Utc>>,
    pub last_refresh_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub has_credentials: bool,
}

impl ConnectionView {
    pub(crate) fn from_records(
        record: &ConnectionRecord,
        environments: &[ConnectionEnvironmentRecord],
    ) -> Self {
        ConnectionView {
            id: record.id.to_string(),
            namespace: record.namespace.clone(),
            name: record.name.clone(),
            link_name: record.link_name.clone(),
            link_name_editable: !record.link_name_locked,
            service_key: record.service_key.clone(),
            requested_scopes: parse_list(&record.requested_scopes),
            settings: parse_map(&record.settings),
            oauth_client_id: record.oauth_client_id.clone(),
            has_oauth_client_secret: record.oauth_client_secret.is_some(),
            environments: environments
                .iter()
                .map(EnvironmentView::from_record)
                .collect(),
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

impl EnvironmentView {
    pub(crate) fn from_record(record: &ConnectionEnvironmentRecord) -> Self {
        let lease_active = record
            .refresh_lease_until
            .is_some_and(|until| until > Utc::now())
            && record.refresh_lease_holder.is_some();
        let status = if lease_active && record.status == ConnectionStatus::Active {
            ConnectionStatus::Refreshing
        } else {
            record.status
        };
        EnvironmentView {
            environment: record.environment,
            status,
            granted_scopes: parse_list(&record.granted_scopes),
            captured_values: parse_map(&record.captured_values),
            expires_at: record.expires_at,
            authorized_at: record.authorized_at,
            last_refresh_at: record.last_refresh_at,
            last_error: record.last_error.clone(),
            last_error_at: record.last_error_at,
            has_credentials: record.credentials.is_some(),
        }
    }
}

pub(crate) fn parse_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

pub(crate) fn parse_map(text: &str) -> BTreeMap<String, String> {
    serde_json::from_str(text).unwrap_or_default()
}

pub(crate) fn list_json(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

pub(crate) fn map_json(map: &BTreeMap<String, String>) -> String {
    serde_json::to_string(map).unwrap_or_else(|_| "{}".to_string())
}

/// The credentials of one environment, serialized to JSON and encrypted as one ciphertext.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct StoredCredentials {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// OAuth 1: the token credentials' shared secret (signs requests, never sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret: Option<Secret>,
    /// Entered values for API key, basic and bearer services, by credential field name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Secret>,
}
