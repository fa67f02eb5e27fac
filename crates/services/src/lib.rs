//! trestle-services: what Trestle knows about the services connections are made to.
//!
//! A service definition ([`ServiceDefinition`]) is data: auth type, OAuth endpoints (templated),
//! scopes, how the credential is attached, the hosts it may be sent to, per-connection settings
//! and values captured during authorization. The default services ship as TOML files in
//! `crates/services/catalog/`, embedded in the binary ([`Catalog::builtin`]); custom services are
//! built from Zoho's custom-service form ([`CustomServiceInput`]) and validated into the same
//! shape.
//!
//! Typical use by the connections crate:
//!
//! ```
//! use trestle_services::{Catalog, CapturedValues, ConnectionSettings};
//!
//! let books = Catalog::builtin().require("zoho_books").unwrap();
//! // Before authorization: build the authorize URL from settings alone.
//! let resolved = books.resolve(&ConnectionSettings::new(), &CapturedValues::new()).unwrap();
//! let authorize_url = resolved.oauth2.as_ref().unwrap().authorize_url.clone().unwrap();
//! assert_eq!(authorize_url.host_str(), Some("accounts.zoho.com"));
//! // On the callback: capture (and validate) Zoho's accounts-server, then exchange the code.
//! let query = vec![("accounts-server".to_owned(), "https://accounts.zoho.eu".to_owned())];
//! let mut captured = books.capture_from_callback(&query).unwrap();
//! // After the token response: capture api_domain.
//! let body = serde_json::json!({"access_token": "x", "api_domain": "https://www.zohoapis.eu"});
//! captured.extend(books.capture_from_token_response(&body).unwrap());
//! let resolved = books.resolve(&ConnectionSettings::new(), &captured).unwrap();
//! assert_eq!(resolved.oauth2.as_ref().unwrap().token_url.as_str(), "https://accounts.zoho.eu/oauth/v2/token");
//! assert!(resolved.host_policy.allows("www.zohoapis.eu"));
//! assert!(!resolved.host_policy.allows("www.zohoapis.eu.evil.test"));
//! ```

mod catalog;
mod custom;
mod definition;
mod error;
mod host_policy;
mod overrides;
mod resolve;
mod template;
mod validation;

pub use catalog::{Catalog, CatalogEntry, builtin_choice_sets, parse_definition};
pub use custom::{
    ApiKeyParameterInput, CustomServiceInput, ParameterType, SERVICE_NAME_MAX_LENGTH, ScopeInput,
    TokenParameterType, ValidatedCustomService,
};
pub use definition::{
    AuthType, CaptureSource, CapturedValue, ClientAuthentication, CredentialField,
    CredentialPlacement, HeaderTemplate, HttpMethod, OAUTH_CREDENTIAL_NAMES, OAuth1Definition,
    OAuth1SignatureMethod, OAuth2Definition, RevokeClientAuthentication, RevokeRequest,
    RevokeTokenPlacement, RevokedToken, ScopeDefinition, ScopeSeparator, ServiceDefinition,
    ServiceOrigin, SettingChoice, SettingDefinition, TokenRequestFormat, TokenResponseFormat,
    VerificationRequest,
};
pub use error::{FieldError, ServicesError};
pub use host_policy::{HostPolicy, normalize_host};
pub use overrides::OperatorOverrides;
pub use resolve::{
    CapturedValues, ConnectionSettings, RenderedCredentials, ResolvedOAuth1, ResolvedOAuth2,
    ResolvedRevoke, ResolvedService, ResolvedVerification,
};
pub use validation::{SERVICE_KEY_MAX_LENGTH, ValidationOptions, check_service_key};
