//! The one error type of the Deluge runtime. Each variant has a stable machine code.

use serde::{Deserialize, Serialize};

use crate::limits::LimitKind;

/// Where in the source something happened: a byte span plus the 1-based line and column
/// of its start (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SourceLocation {
    pub start: u32,
    pub end: u32,
    pub line: u32,
    pub column: u32,
}

/// One problem found while compiling a script, before it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompileDiagnostic {
    pub code: &'static str,
    pub message: String,
    pub location: SourceLocation,
}

/// Errors of compiling and running Deluge.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The script has syntax or compile errors; it cannot run.
    #[error("the script has {} error(s); the first: {}", diagnostics.len(), first_message(diagnostics))]
    Compile { diagnostics: Vec<CompileDiagnostic> },

    /// A runtime error a `try`/`catch` in the script can catch.
    #[error("{message} (line {}, column {})", location.line, location.column)]
    Runtime {
        code: &'static str,
        message: String,
        location: SourceLocation,
    },

    /// A statement of a Zoho product we do not emulate (Creator record statements,
    /// `alert`, `cancel submit`, ...). Not catchable: the script cannot work here.
    #[error("{message} (line {}, column {})", location.line, location.column)]
    NotSupported {
        message: String,
        location: SourceLocation,
    },

    /// A limit of the run was exceeded. Not catchable by the script.
    #[error("{message} (line {}, column {})", location.line, location.column)]
    LimitExceeded {
        limit: LimitKind,
        message: String,
        location: SourceLocation,
    },

    /// An argument given to the run does not fit the function.
    #[error("{message}")]
    InvalidArgument { name: String, message: String },

    /// The driver resumed a run the wrong way (for example with an effect result when
    /// the run was not waiting for one). A bug in the caller, never in the script.
    #[error("the run was resumed wrongly: {message}")]
    InvalidResume { message: String },
}

fn first_message(diagnostics: &[CompileDiagnostic]) -> String {
    diagnostics
        .first()
        .map(|diagnostic| {
            format!(
                "{} (line {}, column {})",
                diagnostic.message, diagnostic.location.line, diagnostic.location.column
            )
        })
        .unwrap_or_default()
}

impl Error {
    /// A stable machine code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Compile { .. } => "DELUGE_COMPILE_ERROR",
            Error::Runtime { code, .. } => code,
            Error::NotSupported { .. } => "DELUGE_NOT_SUPPORTED",
            Error::LimitExceeded { limit, .. } => match limit {
                LimitKind::Statements => "DELUGE_STATEMENT_LIMIT",
                LimitKind::CallDepth => "DELUGE_CALL_DEPTH_LIMIT",
                LimitKind::Effects => "DELUGE_EFFECT_LIMIT",
                LimitKind::TextSize => "DELUGE_TEXT_SIZE_LIMIT",
                LimitKind::InfoOutput => "DELUGE_OUTPUT_LIMIT",
                LimitKind::CollectionSize => "DELUGE_COLLECTION_SIZE_LIMIT",
                LimitKind::WallTime => "DELUGE_WALL_TIME_LIMIT",
            },
            Error::InvalidArgument { .. } => "DELUGE_INVALID_ARGUMENT",
            Error::InvalidResume { .. } => "DELUGE_INVALID_RESUME",
        }
    }

    /// The message without the location suffix (what a `catch` variable holds).
    pub fn message(&self) -> String {
        match self {
            Error::Compile { diagnostics } => first_message(diagnostics),
            Error::Runtime { message, .. }
            | Error::NotSupported { message, .. }
            | Error::LimitExceeded { message, .. }
            | Error::InvalidArgument { message, .. }
            | Error::InvalidResume { message } => message.clone(),
        }
    }

    /// Where the error happened, when it happened in the script.
    pub fn location(&self) -> Option<SourceLocation> {
        match self {
            Error::Compile { diagnostics } => diagnostics.first().map(|d| d.location),
            Error::Runtime { location, .. }
            | Error::NotSupported { location, .. }
            | Error::LimitExceeded { location, .. } => Some(*location),
            Error::InvalidArgument { .. } | Error::InvalidResume { .. } => None,
        }
    }
}

/// Machine codes of runtime errors (the `code` of [`Error::Runtime`]).
pub mod codes {
    pub const TYPE_MISMATCH: &str = "DELUGE_TYPE_MISMATCH";
    pub const NULL_VALUE: &str = "DELUGE_NULL_VALUE";
    pub const BUILTIN_FAILED: &str = "DELUGE_BUILTIN_FAILED";
    pub const EFFECT_FAILED: &str = "DELUGE_EFFECT_FAILED";
    pub const THROWN: &str = "DELUGE_THROWN";
    pub const UNDEFINED_VARIABLE: &str = "DELUGE_UNDEFINED_VARIABLE";
}
