//! trestle-functions: drives Deluge runs to completion by performing their effects.
//!
//! A [`trestle_deluge::Run`] never does IO; it stops at each effect. [`run_to_completion`]
//! loops over its steps, hands each effect to an [`EffectPerformer`] (async, so thousands of
//! runs can wait on HTTP at once without a thread each), and checks the wall clock whenever
//! the run hands back control. Performers:
//! - [`cassette::ReplayPerformer`] answers effects from a cassette file, offline, and fails
//!   with the exact mismatch when the script asks for something else;
//! - [`cassette::RecordingPerformer`] wraps another performer and writes a cassette;
//! - [`local::LocalPerformer`] is what `trestle deluge run` uses on a developer machine: real
//!   HTTP for `invokeurl` without a connection, the system clock and randomness, and a clear
//!   refusal for everything that needs a Trestle server (connections, integration tasks).

pub mod cassette;
mod driver;
mod error;
mod http;
pub mod json;
pub mod local;

pub use driver::{EffectPerformer, PerformFuture, run_to_completion, start_run};
pub use error::FunctionsError;
