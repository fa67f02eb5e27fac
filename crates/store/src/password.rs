//! Password hashing with Argon2id (the argon2 crate's defaults: 19 MiB, 2 passes, 1 lane,
//! OWASP's recommendation). The store only ever sees the PHC string this module produces,
//! never a plaintext password.
//!
//! Hashing and verifying take tens of milliseconds of CPU on purpose: call them from
//! `tokio::task::spawn_blocking`, never while holding a [`crate::WriteTransaction`].

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};

use crate::error::StoreError;

/// Shortest password [`hash_password`] accepts, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password [`hash_password`] accepts, in bytes (bounds the hashing cost).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// An Argon2 hash in PHC string format (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
///
/// `Debug` does not print it: a hash is not a password, but it is still offline-attackable.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string produced elsewhere, checking that it parses.
    pub fn from_phc(phc: &str) -> Result<PasswordHash, StoreError> {
        argon2::password_hash::PasswordHash::new(phc).map_err(|_| {
            StoreError::invalid_input(
                "password hash",
                "not a PHC string such as $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>",
            )
        })?;
        Ok(PasswordHash(phc.to_owned()))
    }

    /// The PHC string.
    pub fn as_phc(&self) -> &str {
        &self.0
    }

    fn as_text(&self) -> &str {
        &self.0
    }

    fn parse_text(text: &str) -> Result<PasswordHash, StoreError> {
        PasswordHash::from_phc(text).map_err(|_| StoreError::CorruptData {
            message: "a stored password hash is not a PHC string".to_owned(),
        })
    }
}

crate::ids::text_column!(PasswordHash);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("PasswordHash([redacted])")
    }
}

/// Checks the password policy (length only: at least [`MIN_PASSWORD_CHARS`] characters, at
/// most [`MAX_PASSWORD_BYTES`] bytes), then hashes it with a fresh random salt.
pub fn hash_password(plaintext: &str) -> Result<PasswordHash, StoreError> {
    check_password_policy(plaintext)?;
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(plaintext.as_bytes(), &salt)
        .map_err(|error| StoreError::PasswordHashing {
            message: error.to_string(),
        })?;
    Ok(PasswordHash(hash.to_string()))
}

/// The policy [`hash_password`] enforces, usable to validate input before any work.
pub fn check_password_policy(plaintext: &str) -> Result<(), StoreError> {
    if plaintext.chars().count() < MIN_PASSWORD_CHARS {
        return Err(StoreError::invalid_input(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters long"),
        ));
    }
    if plaintext.len() > MAX_PASSWORD_BYTES {
        return Err(StoreError::invalid_input(
            "password",
            format!("must be at most {MAX_PASSWORD_BYTES} bytes long"),
        ));
    }
    Ok(())
}

/// True when `plaintext` matches `hash`. Any failure (wrong password, unreadable hash) is
/// false; the comparison is constant-time inside argon2.
pub fn verify_password(plaintext: &str, hash: &PasswordHash) -> bool {
    if plaintext.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let Ok(parsed) = argon2::password_hash::PasswordHash::new(hash.as_phc()) else {
        return false;
    };
    Argon2::default()
        .verify_password(plaintext.as_bytes(), &parsed)
        .is_ok()
}

/// Spends the same time as [`verify_password`] against a real hash and returns false. Call
/// it when the e-mail address is unknown, so response time does not reveal which addresses
/// have accounts.
pub fn verify_against_dummy_hash(plaintext: &str) -> bool {
    // A hash of a random value, computed once; nothing can match it.
    static DUMMY: std::sync::OnceLock<Option<PasswordHash>> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let random = crate::secret::random_url_safe(32);
        Argon2::default()
            .hash_password(random.as_bytes(), &salt)
            .ok()
            .map(|hash| PasswordHash(hash.to_string()))
    });
    if let Some(dummy) = dummy {
        let _ = verify_password(plaintext, dummy);
    }
    false
}

/// A random password for first-run admins and operator resets: 24 characters from an
/// alphabet without look-alikes (about 137 bits). Show it once; store only its hash and set
/// `must_change_password`.
pub fn generate_one_time_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..24)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert_eq!(format!("{hash:?}"), "PasswordHash([redacted])");
    }

    #[test]
    fn policy_rejects_short_and_huge_passwords() {
        assert_eq!(hash_password("short").unwrap_err().code(), "INVALID_INPUT");
        let huge = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert_eq!(hash_password(&huge).unwrap_err().code(), "INVALID_INPUT");
    }

    #[test]
    fn phc_strings_are_validated() {
        assert!(PasswordHash::from_phc("plaintext").is_err());
        let hash = hash_password("0123456789").unwrap();
        assert_eq!(PasswordHash::from_phc(hash.as_phc()).unwrap(), hash);
    }

    #[test]
    fn dummy_verification_never_matches() {
        assert!(!verify_against_dummy_hash("anything at all"));
    }

    #[test]
    fn one_time_passwords_are_long_and_distinct() {
        let first = generate_one_time_password();
        assert_eq!(first.chars().count(), 24);
        assert!(check_password_policy(&first).is_ok());
        assert_ne!(first, generate_one_time_password());
    }
}
