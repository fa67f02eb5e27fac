//! The one error type of this crate.

/// Why a server-side run, route change or proxied request could not be done.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A stand-in route is not usable (bad host or target URL).
    #[error("{message}")]
    InvalidRoute { message: String },
    /// The connection cannot be used (unknown link name, not authorized, revoked...).
    #[error("{message}")]
    Connection { code: &'static str, message: String },
    /// The request engine refused or failed the request (egress policy, limits, network).
    #[error("{message}")]
    Outbound {
        code: &'static str,
        message: String,
        egress_refusal: bool,
    },
    /// The request itself is unusable (a path that escapes the API base, a bad method).
    #[error("{message}")]
    InvalidRequest { message: String },
    /// The database could not be read or written (stand-in routes).
    #[error("{message}")]
    Storage { code: &'static str, message: String },
    /// A stored function cannot be saved as given; `field` names the part (`name`,
    /// `parameters[0].type`, `script`).
    #[error("{field}: {message}")]
    InvalidFunction { field: String, message: String },
    /// The arguments do not match the stored function's parameters.
    #[error("{message}")]
    InvalidArguments { message: String },
    /// No stored function of that name in the environment.
    #[error(
        "no stored function named {name:?} in the {environment} environment; create it first (POST /api/v1/environments/{environment}/functions) or check the name"
    )]
    FunctionNotFound { name: String, environment: String },
}

impl RuntimeError {
    /// A stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            RuntimeError::InvalidRoute { .. } => "EGRESS_ROUTE_INVALID",
            RuntimeError::Connection { code, .. } => code,
            RuntimeError::Outbound { code, .. } => code,
            RuntimeError::InvalidRequest { .. } => "PROXY_REQUEST_INVALID",
            RuntimeError::Storage { code, .. } => code,
            RuntimeError::InvalidFunction { .. } => "FUNCTION_INVALID",
            RuntimeError::InvalidArguments { .. } => "FUNCTION_ARGUMENTS_INVALID",
            RuntimeError::FunctionNotFound { .. } => "FUNCTION_NOT_FOUND",
        }
    }
}

impl From<trestle_connections::ConnectionError> for RuntimeError {
    fn from(error: trestle_connections::ConnectionError) -> Self {
        RuntimeError::Connection {
            code: error.code(),
            message: error.to_string(),
        }
    }
}

impl From<trestle_outbound::OutboundError> for RuntimeError {
    fn from(error: trestle_outbound::OutboundError) -> Self {
        RuntimeError::Outbound {
            code: error.code(),
            egress_refusal: error.is_egress_refusal(),
            message: error.to_string(),
        }
    }
}

impl From<trestle_store::StoreError> for RuntimeError {
    fn from(error: trestle_store::StoreError) -> Self {
        RuntimeError::Storage {
            code: error.code(),
            message: error.to_string(),
        }
    }
}
