//! Host allow-list properties: no suffix or prefix tricks, no panics on any input.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use trestle_services::{HostPolicy, normalize_host};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn only_the_exact_host_matches(label in "[a-z0-9-]{1,20}", junk in "\\PC{0,30}") {
        let policy = HostPolicy::new(["books.zoho.com"], false).unwrap();
        let suffixed = format!("books.zoho.com.{label}");
        let prefixed = format!("{label}.books.zoho.com");
        let glued = format!("{label}books.zoho.com");
        prop_assert!(!policy.allows(&suffixed));
        prop_assert!(!policy.allows(&prefixed));
        prop_assert!(!policy.allows(&glued));
        // Whatever the input, only strings that normalise to the allowed host match.
        let allowed = policy.allows(&junk);
        prop_assert_eq!(allowed, normalize_host(&junk).as_deref() == Some("books.zoho.com"));
    }

    #[test]
    fn normalisation_is_idempotent(input in "\\PC{0,40}") {
        if let Some(host) = normalize_host(&input) {
            prop_assert_eq!(normalize_host(&host), Some(host.clone()));
        }
    }
}
