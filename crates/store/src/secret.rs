//! Random secrets (session tokens, API tokens, CSRF tokens) and their stored form.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// A secret shown to its owner once (a session token for the cookie, an API token for the
/// program). The store keeps only its SHA-256. `Debug` never prints it; memory is wiped on
/// drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    /// The secret itself: put it in the cookie or the one-time API response, nowhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn new(value: String) -> SecretToken {
        SecretToken(value)
    }
}

impl std::fmt::Debug for SecretToken {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SecretToken([redacted])")
    }
}

impl Drop for SecretToken {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// `bytes` random bytes from the operating system, base64url without padding.
pub(crate) fn random_url_safe(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    let encoded = URL_SAFE_NO_PAD.encode(&buffer);
    buffer.zeroize();
    encoded
}

/// The stored form of a high-entropy token: hex SHA-256. (A slow hash is unnecessary: the
/// tokens carry 256 random bits, so the hash cannot be reversed by guessing.)
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time equality for tokens compared in memory (CSRF).
pub(crate) fn constant_time_equal(left: &str, right: &str) -> bool {
    use subtle::ConstantTimeEq;
    left.len() == right.len() && bool::from(left.as_bytes().ct_eq(right.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_have_the_expected_length() {
        assert_eq!(random_url_safe(32).len(), 43);
        assert_ne!(random_url_safe(32), random_url_safe(32));
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn secrets_do_not_print() {
        let secret = SecretToken::new("trestle_abc".to_owned());
        assert_eq!(format!("{secret:?}"), "SecretToken([redacted])");
        assert!(constant_time_equal("abc", "abc"));
        assert!(!constant_time_equal("abc", "abd"));
    }
}
