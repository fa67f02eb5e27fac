//! trestle-connections: connections, OAuth authorization flows and the token lifecycle.
//!
//! A connection belongs to an organization and a topping namespace and is referred to by its
//! link name `<namespace>__<name>`. Each environment (production, sandbox) has its own status
//! and its own encrypted credentials. Scripts never see a credential: the outbound request path
//! asks [`ConnectionManager`] for what to attach to a request.

mod error;
pub mod link_name;
mod manager;
mod model;
pub mod oauth;
mod overrides;
pub mod pkce;
mod secret;

pub use error::ConnectionError;
pub use manager::{
    BROWSER_BINDING_COOKIE, CALLBACK_PATH_PREFIX, CompletedAuthorization, ConnectionManager,
    CreateConnection, LAUNCH_PATH_PREFIX, LaunchedAuthorization, ManagerConfig, OAuthApp,
    PendingAuthorization, ReencryptionReport, RequestCredential, ServiceEntry, UpdateConnection,
};
pub use model::{ConnectionView, EnvironmentView};
pub use overrides::{ServiceOverrideInput, ServiceOverrideView};
pub use secret::Secret;
pub use trestle_store::EnvironmentKind;
pub use trestle_store::connections::ConnectionStatus;
