//! Secrets in memory: zeroized on drop, redacted when printed.

use std::fmt;

use serde::{Deserialize, Deserializer};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Printed in place of any secret by `Debug` and `Display`.
pub const REDACTED: &str = "[redacted]";

/// A secret text (token, client secret, API key, password).
///
/// * The buffer is zeroized when the value is dropped.
/// * `Debug` and `Display` print `[redacted]`, so a secret inside a struct that is logged or
///   formatted into an error never leaks.
/// * It deliberately does not implement `Serialize`: putting a secret into an API response or a
///   log line has to be an explicit [`SecretString::expose_secret`] call that a reviewer can see.
/// * It implements `Deserialize`, so request bodies can carry secrets straight into this type.
/// * Equality is constant-time.
#[derive(Clone, Default)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: String) -> Self {
        SecretString(Zeroizing::new(secret))
    }

    /// The secret itself. Call this only where the secret leaves Trestle for the service it
    /// belongs to (a request header, a token request body) or goes into the vault.
    pub fn expose_secret(&self) -> &str {
        self.0.as_str()
    }

    /// True when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Length in bytes (not secret in itself, useful for validation messages).
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl From<String> for SecretString {
    fn from(secret: String) -> Self {
        SecretString::new(secret)
    }
}

impl From<&str> for SecretString {
    fn from(secret: &str) -> Self {
        SecretString::new(secret.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(REDACTED)
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(REDACTED)
    }
}

impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for SecretString {}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SecretString::new)
    }
}

/// Secret bytes (decrypted plaintext, key material): zeroized on drop, redacted when printed.
#[derive(Clone, Default)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Wraps secret bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(Zeroizing::new(bytes))
    }

    /// The bytes themselves.
    pub fn expose_secret(&self) -> &[u8] {
        self.0.as_slice()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(REDACTED)
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_slice().ct_eq(other.0.as_slice()).into()
    }
}

impl Eq for SecretBytes {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let secret = SecretString::from("1000.refresh-token-value");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{secret}"), "[redacted]");
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            token: SecretString,
            bytes: SecretBytes,
        }
        let holder = Holder {
            token: secret.clone(),
            bytes: SecretBytes::new(b"abc".to_vec()),
        };
        let printed = format!("{holder:?} {holder:#?}");
        assert!(!printed.contains("refresh-token-value"), "{printed}");
        assert!(!printed.contains("abc"), "{printed}");
        assert_eq!(secret.expose_secret(), "1000.refresh-token-value");
    }

    #[test]
    fn equality_compares_contents() {
        assert_eq!(SecretString::from("a"), SecretString::from("a"));
        assert_ne!(SecretString::from("a"), SecretString::from("b"));
        assert_ne!(SecretString::from("a"), SecretString::from("ab"));
    }

    #[test]
    fn deserializes_from_json_string() {
        let secret: SecretString = serde_json::from_str("\"s3cret\"").unwrap();
        assert_eq!(secret.expose_secret(), "s3cret");
    }
}
