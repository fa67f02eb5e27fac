//! The Deluge runtime: values, built-in functions, the compiler from syntax tree to
//! slot-resolved code, and the VM that runs it step by step, stopping at every effect.
//! This crate performs no IO and never panics on any input.
//!
//! ```text
//! source ──parse──▶ Script ──compile──▶ Program ──Run::new──▶ Run
//!                                                  │ resume(Continue)
//!                                                  ▼
//!                               Step::Effect ◀── run ──▶ Step::Finished / Failed
//!                                   │ host performs it, resume(Effect(result))
//! ```

pub mod builtins;
pub mod compile;
pub mod effect;
pub mod error;
pub mod fuzzing;
pub mod limits;
pub mod value;
pub mod vm;

pub use compile::{FastPaths, Program, compile, compile_source, compile_source_with};
pub use effect::{Effect, EffectResult, InvokeUrlRequest};
pub use error::{CompileDiagnostic, Error, SourceLocation};
pub use limits::{LimitKind, Limits};
pub use value::OwnedValue;
pub use vm::{Failure, Outcome, Resume, Run, RunContext, Step};
