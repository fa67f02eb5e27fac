//! The vault's one error type. Messages name files, key ids and environment variables, never
//! key material or plaintext.

use std::path::PathBuf;

/// Everything that can go wrong in the vault. Each variant has a stable machine code
/// ([`VaultError::code`]) that API responses and tests rely on.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The key file is missing although encrypted data exists. A new key would make that data
    /// unreadable forever, so the vault refuses to create one.
    #[error(
        "the master key file {path} is missing, but encrypted credentials already exist; \
         restore the key file from your backup (or set TRESTLE_MASTER_KEY to the original key). \
         Trestle never generates a new key over existing data, because that data could then never \
         be decrypted"
    )]
    KeyFileMissing { path: PathBuf },

    /// The key file exists but cannot be read or written.
    #[error("cannot {action} the master key file {path}: {reason}")]
    KeyFileIo {
        action: &'static str,
        path: PathBuf,
        reason: String,
    },

    /// The key file is readable by other users.
    #[error(
        "the master key file {path} is readable by other users (mode {mode:o}); \
         run `chmod 600 {path}` so only the owner can read it"
    )]
    KeyFilePermissions { path: PathBuf, mode: u32 },

    /// The key file or the TRESTLE_MASTER_KEY value is not in the expected format.
    #[error("invalid master key in {source_name}, line {line}: {reason}")]
    KeyFormat {
        source_name: String,
        line: usize,
        reason: String,
    },

    /// The key file was asked to be created but already exists.
    #[error("the master key file {path} already exists; refusing to overwrite it")]
    KeyFileExists { path: PathBuf },

    /// The ciphertext names a key id that is not in the keyring.
    #[error(
        "the credential was encrypted with master key {key_id}, which is not in the keyring \
         (known keys: {known}); add that key back to the key file or TRESTLE_MASTER_KEY"
    )]
    UnknownKey { key_id: u32, known: String },

    /// The keyring has a key with the ciphertext's id, but it is a different key: the key file
    /// or TRESTLE_MASTER_KEY was replaced.
    #[error(
        "the master key with id {key_id} does not match the key that encrypted the stored \
         credentials; the key file or TRESTLE_MASTER_KEY was replaced or regenerated. Restore \
         the original key: with this key no stored credential can be decrypted"
    )]
    KeyMismatch { key_id: u32 },

    /// Authentication failed with the right key: the ciphertext was altered, or it was decrypted
    /// with the associated data of a different row or field.
    #[error(
        "the stored credential for {associated_data} failed its integrity check: it was altered \
         or belongs to a different record"
    )]
    DecryptionFailed { associated_data: String },

    /// The bytes are not a vault ciphertext (too short or unknown format version).
    #[error("the stored value is not a vault ciphertext: {reason}")]
    MalformedCiphertext { reason: String },

    /// A decrypted secret was expected to be UTF-8 text.
    #[error("the stored credential for {associated_data} is not valid UTF-8 text")]
    NotUtf8 { associated_data: String },

    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {reason}")]
    Randomness { reason: String },
}

impl VaultError {
    /// Stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            VaultError::KeyFileMissing { .. } => "VAULT_KEY_FILE_MISSING",
            VaultError::KeyFileIo { .. } => "VAULT_KEY_FILE_IO",
            VaultError::KeyFilePermissions { .. } => "VAULT_KEY_FILE_PERMISSIONS",
            VaultError::KeyFormat { .. } => "VAULT_KEY_FORMAT",
            VaultError::KeyFileExists { .. } => "VAULT_KEY_FILE_EXISTS",
            VaultError::UnknownKey { .. } => "VAULT_KEY_UNKNOWN",
            VaultError::KeyMismatch { .. } => "VAULT_KEY_MISMATCH",
            VaultError::DecryptionFailed { .. } => "VAULT_DECRYPTION_FAILED",
            VaultError::MalformedCiphertext { .. } => "VAULT_CIPHERTEXT_MALFORMED",
            VaultError::NotUtf8 { .. } => "VAULT_PLAINTEXT_NOT_UTF8",
            VaultError::Randomness { .. } => "VAULT_RANDOMNESS",
        }
    }
}
