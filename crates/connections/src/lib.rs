//! trestle-connections: connections, OAuth authorization flows and the token lifecycle.
//!
//! A connection belongs to an organization and a topping namespace and is referred to by its
//! link name `<namespace>__<name>`. Each environment (production, sandbox) has its own status
//! and its own encrypted credentials. Scripts never see a credential: the outbound request path
//! asks [`ConnectionManager`] for what to attach to a request.

mod error;
pub mod link_name;
pub mod oauth;
pub mod pkce;
mod secret;

pub use error::ConnectionError;
pub use secret::Secret;
