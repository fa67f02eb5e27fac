//! Test support shared by Trestle's crates. Only ever a `[dev-dependencies]` entry: product
//! code never links it (`tests/dev_only.rs` checks every manifest of the workspace).
//!
//! - [`variable_or_skip`]: a peer's URL (or another variable scripts/test.sh sets) from the
//!   environment; missing, the test fails under `CI=true` and otherwise says loudly that it
//!   skipped.
//! - [`oidc_provider`]: plays the browser through oidc-provider's login and consent pages.
//! - [`postgres`]: a fresh database on the test cluster.
//! - [`stand_in`]: a stand-in server that fails the test if anything reaches it.
// Failing the test at once, with the reason, is this crate's job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod oidc_provider;
pub mod postgres;
pub mod stand_in;

/// The value of the environment variable `variable` a test needs (a peer's URL such as
/// `TRESTLE_TEST_OIDC_ISSUER`, or a folder such as `TRESTLE_SEED_DIR`; scripts/test.sh sets
/// them all), trimmed. Missing or empty: panics under `CI=true` (CI must run every test),
/// otherwise prints `SKIPPED: <test> needs <variable>` and returns `None` for the test to
/// return early.
pub fn variable_or_skip(variable: &str, test: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(value) if !value.trim().is_empty() => Some(value.trim().to_owned()),
        _ if running_in_ci() => panic!(
            "{test} needs {variable} (CI=true): run it through scripts/test.sh, which sets it"
        ),
        _ => {
            // Straight to the stderr handle: libtest captures `eprintln!` of passing tests,
            // and a skip must be seen.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {test} needs {variable} (scripts/test.sh sets it; scripts/peers.sh starts the peers)"
            );
            None
        }
    }
}

/// Installs ring as the process's TLS provider (reqwest is built without one); idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn running_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true")
}
