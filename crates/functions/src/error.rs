//! The one error type of this crate.

use trestle_deluge::Failure;

/// Why a function run did not produce an outcome.
#[derive(Debug, thiserror::Error)]
pub enum FunctionsError {
    /// The script stopped with an error it did not catch (or a limit). The failure keeps
    /// the info lines logged before it.
    #[error("{}", failure.error)]
    ScriptFailed { failure: Box<Failure> },

    /// The run could not start (compile errors, wrong arguments).
    #[error("{0}")]
    NotStarted(trestle_deluge::Error),

    /// A replayed run asked for a different effect than the cassette holds next.
    #[error(
        "the run does not match the cassette at entry {entry} ({effect}): {field}: expected {expected}, got {got}"
    )]
    CassetteMismatch {
        entry: usize,
        effect: String,
        field: String,
        expected: String,
        got: String,
    },

    /// A replayed run asked for more effects than the cassette holds.
    #[error(
        "the cassette has no entry {entry}: the run requested one more {effect} ({summary}) than was recorded"
    )]
    CassetteExhausted {
        entry: usize,
        effect: String,
        summary: String,
    },

    /// The cassette file cannot be read, written or understood.
    #[error("cassette {path}: {message}")]
    Cassette { path: String, message: String },

    /// The effect needs a Trestle server (a connection, an integration task, mail).
    #[error("{message}")]
    NeedsServer { message: String },
}

impl FunctionsError {
    /// A stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            FunctionsError::ScriptFailed { failure } => failure.error.code(),
            FunctionsError::NotStarted(error) => error.code(),
            FunctionsError::CassetteMismatch { .. } => "CASSETTE_MISMATCH",
            FunctionsError::CassetteExhausted { .. } => "CASSETTE_EXHAUSTED",
            FunctionsError::Cassette { .. } => "CASSETTE_INVALID",
            FunctionsError::NeedsServer { .. } => "EFFECT_NEEDS_SERVER",
        }
    }

    /// Info lines the script logged before it failed, when it ran at all.
    pub fn info_lines(&self) -> &[String] {
        match self {
            FunctionsError::ScriptFailed { failure } => &failure.info_lines,
            _ => &[],
        }
    }
}
