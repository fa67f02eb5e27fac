//! Who calls the records API (from the access token), what they may do (scopes), and the
//! request pieces every handler needs: query parameters, the JSON body, module definitions.

use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use trestle_crm::scopes::{GrantedScopes, RequiredScope};
use trestle_crm::{FieldDefinition, ModuleDefinition, standard_modules};
use trestle_store::crm::CrmScope;
use trestle_store::oauth_provider::OauthGrant;
use trestle_store::{
    CROSS_PROCESS_STALENESS, ChangeDomain, ReadCache, Store, User, api_token_digest,
};

use super::response::BiginError;
use crate::state::AppState;

/// Access tokens of the records API verified recently, by the SHA-256 of the token. A hit
/// costs no store query; freshness follows `trestle_store::read_cache` (a revoked token, a
/// disabled user or a removed member: at once through this process, within
/// [`CROSS_PROCESS_STALENESS`] through another). The token's expiry is checked on every use.
pub type AccessTokenCache = ReadCache<[u8; 32], VerifiedAccessToken>;

/// A cached verification: the caller and until when its token is valid.
#[derive(Debug, Clone)]
pub struct VerifiedAccessToken {
    caller: BiginCaller,
    expires_at: Option<DateTime<Utc>>,
}

/// Most access tokens cached at once per process.
const MAX_CACHED_ACCESS_TOKENS: usize = 10_000;

/// An empty cache of records-API access-token verifications on `store`.
pub fn access_token_cache(store: &Store) -> AccessTokenCache {
    ReadCache::new(
        store,
        &[ChangeDomain::Access, ChangeDomain::OAuthProvider],
        CROSS_PROCESS_STALENESS,
        MAX_CACHED_ACCESS_TOKENS,
    )
}

/// The caller of a records API request: the user, organization and environment the access
/// token was granted for, and its scopes.
#[derive(Debug, Clone)]
pub struct BiginCaller {
    pub grant: OauthGrant,
    pub scopes: GrantedScopes,
    pub scope: CrmScope,
    pub user: User,
}

impl BiginCaller {
    /// Reads `Authorization: Zoho-oauthtoken <token>` (or `Bearer <token>`) and checks the
    /// token, the user and their membership.
    pub async fn authenticate(
        state: &AppState,
        headers: &HeaderMap,
    ) -> Result<BiginCaller, BiginError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(BiginError::authentication_failure());
        };
        let text = value
            .to_str()
            .map_err(|_| BiginError::authentication_failure())?;
        let (scheme, token) = text
            .trim()
            .split_once(' ')
            .ok_or_else(BiginError::authentication_failure)?;
        let token = token.trim();
        if !(scheme.eq_ignore_ascii_case("Zoho-oauthtoken")
            || scheme.eq_ignore_ascii_case("Bearer"))
            || token.is_empty()
        {
            return Err(BiginError::authentication_failure());
        }
        let now = Utc::now();
        let digest = api_token_digest(token);
        if let Some(verified) = state.bigin_access_tokens.get(&digest)
            && verified
                .expires_at
                .is_none_or(|expires_at| expires_at > now)
        {
            return Ok(verified.caller);
        }
        let started = state.bigin_access_tokens.generation();
        let verified = Self::verify(&state.store, token, now).await?;
        let caller = verified.caller.clone();
        state.bigin_access_tokens.insert(digest, verified, started);
        Ok(caller)
    }

    /// Checks the token, the user and their membership in the store.
    async fn verify(
        store: &Store,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<VerifiedAccessToken, BiginError> {
        let Some((grant, expires_at)) = store
            .oauth_provider()
            .authenticate_access_token_with_expiry(token, now)
            .await?
        else {
            return Err(BiginError::invalid_token());
        };
        let user = match store.users().get(grant.user_id).await {
            Ok(user) if !user.disabled => user,
            _ => return Err(BiginError::invalid_token()),
        };
        // Removing a member from the organization stops their tokens at once.
        if store
            .memberships()
            .get(grant.organization_id, grant.user_id)
            .await?
            .is_none()
        {
            return Err(BiginError::invalid_token());
        }
        let scopes =
            GrantedScopes::parse(&grant.scopes).map_err(|_| BiginError::invalid_token())?;
        Ok(VerifiedAccessToken {
            caller: BiginCaller {
                scope: CrmScope {
                    organization_id: grant.organization_id,
                    environment_id: grant.environment_id,
                },
                grant,
                scopes,
                user,
            },
            expires_at,
        })
    }

    /// `OAUTH_SCOPE_MISMATCH` unless the token's scopes allow the call.
    pub fn require(&self, required: RequiredScope) -> Result<(), BiginError> {
        if self.scopes.allows(&required) {
            Ok(())
        } else {
            Err(BiginError::scope_mismatch(&describe_scope(&required)))
        }
    }
}

fn describe_scope(required: &RequiredScope) -> String {
    use trestle_crm::scopes::Operation;
    match required {
        RequiredScope::Module { module, operation } => {
            let operation = match operation {
                Operation::Read => "READ",
                Operation::Create => "CREATE",
                Operation::Update => "UPDATE",
                Operation::Delete => "DELETE",
            };
            format!(
                "ZohoBigin.modules.{}.{operation}",
                module.to_ascii_lowercase()
            )
        }
        RequiredScope::Settings { kind, write } => {
            format!(
                "ZohoBigin.settings.{kind}.{}",
                if *write { "ALL" } else { "READ" }
            )
        }
        RequiredScope::Users => "ZohoBigin.users.READ".to_owned(),
        RequiredScope::Organization => "ZohoBigin.org.READ".to_owned(),
    }
}

/// Query parameters in order, tolerant of empty pairs (`?type=CurrentUser&`).
#[derive(Debug, Default, Clone)]
pub struct QueryParameters(Vec<(String, String)>);

impl QueryParameters {
    pub fn parse(raw: Option<&str>) -> QueryParameters {
        QueryParameters(
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .filter(|(name, _)| !name.is_empty())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// The last value of a parameter (`None` when absent or empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(candidate, _)| candidate == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.trim().is_empty())
    }

    /// A positive integer parameter, or `INVALID_DATA` naming it.
    pub fn positive_integer(&self, name: &str) -> Result<Option<u64>, BiginError> {
        match self.get(name) {
            None => Ok(None),
            Some(text) => match text.trim().parse::<u64>() {
                Ok(value) if value >= 1 => Ok(Some(value)),
                _ => Err(BiginError::invalid_data(
                    format!("{name} must be a positive whole number"),
                    json!({ "param_name": name }),
                )),
            },
        }
    }
}

/// A write request body: `{"data":[{...}], "trigger":[...], "duplicate_check_fields":[...]}`.
#[derive(Debug)]
pub struct WriteBody {
    pub records: Vec<Value>,
    pub trigger: Value,
    pub duplicate_check_fields: Option<Vec<String>>,
}

/// The most records one write may carry.
pub const MAXIMUM_RECORDS_PER_WRITE: usize = 100;

impl WriteBody {
    /// Parses and checks the envelope; malformed JSON is `INVALID_DATA`, never a 500.
    pub fn parse(body: &[u8]) -> Result<WriteBody, BiginError> {
        let value: Value = serde_json::from_slice(body).map_err(|error| {
            BiginError::invalid_data(
                "the request body is not valid JSON",
                json!({ "line": error.line(), "column": error.column() }),
            )
        })?;
        let Value::Object(mut object) = value else {
            return Err(BiginError::invalid_data(
                "the request body must be a JSON object with a data array",
                json!({ "expected_data_type": "jsonobject" }),
            ));
        };
        let records = match object.remove("data") {
            Some(Value::Array(records)) => records,
            Some(_) => {
                return Err(BiginError::invalid_data(
                    "data must be an array of records",
                    json!({ "api_name": "data", "expected_data_type": "jsonarray" }),
                ));
            }
            None => return Err(BiginError::required_param("data")),
        };
        if records.is_empty() {
            return Err(BiginError::invalid_data(
                "data must hold at least one record",
                json!({ "api_name": "data" }),
            ));
        }
        if records.len() > MAXIMUM_RECORDS_PER_WRITE {
            return Err(BiginError::limit_exceeded(
                MAXIMUM_RECORDS_PER_WRITE,
                "records",
            ));
        }
        let trigger = match object.remove("trigger") {
            None => Value::Null,
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => Value::Array(items),
            Some(_) => {
                return Err(BiginError::invalid_data(
                    "trigger must be an array such as [\"workflow\"]",
                    json!({ "api_name": "trigger", "expected_data_type": "jsonarray" }),
                ));
            }
        };
        let duplicate_check_fields = match object.remove("duplicate_check_fields") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|item| {
                        item.as_str().map(str::to_owned).ok_or_else(|| {
                            BiginError::invalid_data(
                                "duplicate_check_fields must be an array of field API names",
                                json!({ "api_name": "duplicate_check_fields" }),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(_) => {
                return Err(BiginError::invalid_data(
                    "duplicate_check_fields must be an array of field API names",
                    json!({ "api_name": "duplicate_check_fields" }),
                ));
            }
        };
        Ok(WriteBody {
            records,
            trigger,
            duplicate_check_fields,
        })
    }
}

/// Every module of the environment (standard, then custom), without custom fields.
pub async fn all_modules(
    store: &Store,
    scope: CrmScope,
) -> Result<Vec<ModuleDefinition>, BiginError> {
    let mut modules = standard_modules();
    for definition in store.crm().custom_modules(scope).await? {
        if let Ok(module) = serde_json::from_value::<ModuleDefinition>(definition) {
            modules.push(module);
        }
    }
    Ok(modules)
}

/// The module with this API name, with the environment's custom fields, or `INVALID_MODULE`.
pub async fn load_module(
    store: &Store,
    scope: CrmScope,
    api_name: &str,
) -> Result<ModuleDefinition, BiginError> {
    let mut module = match standard_modules()
        .into_iter()
        .find(|module| module.api_name == api_name)
    {
        Some(module) => module,
        None => store
            .crm()
            .custom_modules(scope)
            .await?
            .into_iter()
            .filter_map(|definition| serde_json::from_value::<ModuleDefinition>(definition).ok())
            .find(|module| module.api_name == api_name)
            .ok_or_else(|| BiginError::invalid_module(api_name))?,
    };
    for definition in store.crm().custom_fields(scope, api_name).await? {
        if let Ok(field) = serde_json::from_value::<FieldDefinition>(definition) {
            module.fields.push(field);
        }
    }
    Ok(module)
}

/// A stable numeric id (as Zoho clients parse ids as integers) for metadata such as
/// modules and fields, derived from its name.
pub fn numeric_id(kind: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("{kind}:{name}").as_bytes());
    let mut value: u64 = 0;
    for byte in digest.iter().take(8) {
        value = (value << 8) | u64::from(*byte);
    }
    (1_000_000_000_000_000_000u64 + value % 8_000_000_000_000_000_000u64).to_string()
}

/// The `fields` parameter as a list, validated against the module (`INVALID_DATA` names
/// the unknown field). `None` when absent.
pub fn selected_fields(
    parameters: &QueryParameters,
    module: &ModuleDefinition,
) -> Result<Option<Vec<String>>, BiginError> {
    let Some(text) = parameters.get("fields") else {
        return Ok(None);
    };
    let mut names = Vec::new();
    for name in text
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        if name != "id" && module.field(name).is_none() {
            return Err(BiginError::invalid_data(
                "the field api name given seems to be invalid",
                json!({ "api_name": name }),
            ));
        }
        if !names.iter().any(|existing| existing == name) {
            names.push(name.to_owned());
        }
    }
    if names.len() > 50 {
        return Err(BiginError::limit_exceeded(50, "fields"));
    }
    Ok(Some(names))
}
