//! Encryption and decryption of credentials with the keyring.

use std::path::PathBuf;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::error::VaultError;
use crate::keyring::{
    DEFAULT_KEY_FILE_NAME, Keyring, MASTER_KEY_ENVIRONMENT_VARIABLE, MasterKey, create_key_file,
    read_key_file,
};
use crate::secret::{SecretBytes, SecretString};

/// Version byte of the current ciphertext format.
pub const CIPHERTEXT_FORMAT_VERSION: u8 = 1;

const HEADER_LENGTH: usize = 1 + 4 + 4;
const NONCE_LENGTH: usize = 24;
const TAG_LENGTH: usize = 16;

/// Encrypts and decrypts credentials with XChaCha20-Poly1305 under the keyring's keys.
///
/// # Ciphertext format (version 1)
///
/// ```text
/// byte 0       format version (1)
/// bytes 1..5   key id, u32 big-endian
/// bytes 5..9   key check: first 4 bytes of SHA-256("trestle-vault key check v1\0" || key)
/// bytes 9..33  random 192-bit nonce
/// bytes 33..   ciphertext followed by the 16-byte Poly1305 tag
/// ```
///
/// The associated data given to the AEAD is the 9 header bytes followed by the caller's
/// associated data, so neither the header nor the row identity can be changed without the tag
/// failing. Callers pass the identity of the row and field the secret belongs to, e.g.
/// `connection:<id>:env:<env>:field:refresh_token`: a ciphertext copied into another row or
/// field then fails to decrypt instead of handing one connection's token to another.
///
/// The key check lets [`Vault::decrypt`] tell "this is not the key that encrypted the data"
/// (`VAULT_KEY_MISMATCH`: a replaced key file) apart from "the data was altered or belongs to
/// another row" (`VAULT_DECRYPTION_FAILED`). It reveals 32 bits of a one-way hash of the key,
/// which does not help an attacker recover a 256-bit key.
#[derive(Clone, Debug)]
pub struct Vault {
    keyring: Keyring,
}

/// Where [`Vault::open`] found its keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySourceUsed {
    /// The `TRESTLE_MASTER_KEY` environment variable.
    EnvironmentVariable,
    /// An existing key file.
    KeyFile { path: PathBuf },
    /// A key file created just now (first start of the embedded default).
    CreatedKeyFile { path: PathBuf },
}

/// How to find the master keys at startup.
#[derive(Clone, Debug)]
pub struct VaultOptions {
    /// The key file, normally `<data dir>/master.key`.
    pub key_file: PathBuf,
    /// The value of `TRESTLE_MASTER_KEY` if set; it takes precedence over the key file.
    pub environment_key: Option<SecretString>,
    /// Create the key file when it is missing (embedded default). Ignored when
    /// `encrypted_data_exists` is true: a key is never generated over existing data.
    pub create_key_file_if_missing: bool,
    /// Whether the store already holds encrypted credentials (the caller asks the store).
    pub encrypted_data_exists: bool,
}

impl VaultOptions {
    /// Options for a data directory: key file `<data_dir>/master.key`, `TRESTLE_MASTER_KEY` read
    /// from the process environment, key file created when missing and no data exists.
    pub fn for_data_directory(
        data_directory: &std::path::Path,
        encrypted_data_exists: bool,
    ) -> VaultOptions {
        VaultOptions {
            key_file: data_directory.join(DEFAULT_KEY_FILE_NAME),
            environment_key: std::env::var(MASTER_KEY_ENVIRONMENT_VARIABLE)
                .ok()
                .map(SecretString::new),
            create_key_file_if_missing: true,
            encrypted_data_exists,
        }
    }
}

impl Vault {
    /// A vault over an existing keyring.
    pub fn new(keyring: Keyring) -> Vault {
        Vault { keyring }
    }

    /// Opens the vault at startup.
    ///
    /// Order: `TRESTLE_MASTER_KEY` if given; otherwise the key file; if the key file is missing,
    /// it is created with mode 0600 only when `create_key_file_if_missing` is set **and** no
    /// encrypted data exists. A missing key file with existing data is `VAULT_KEY_FILE_MISSING`.
    ///
    /// After opening, the store should call [`Vault::check_key_matches`] on one stored ciphertext
    /// so a replaced key is reported at startup (`VAULT_KEY_MISMATCH`), not at the first request.
    pub fn open(options: &VaultOptions) -> Result<(Vault, KeySourceUsed), VaultError> {
        if let Some(environment_key) = &options.environment_key {
            let keyring = Keyring::from_environment_value(environment_key)?;
            return Ok((Vault::new(keyring), KeySourceUsed::EnvironmentVariable));
        }
        let path = &options.key_file;
        match std::fs::symlink_metadata(path) {
            Ok(_) => Ok((
                Vault::new(read_key_file(path)?),
                KeySourceUsed::KeyFile { path: path.clone() },
            )),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                if options.encrypted_data_exists || !options.create_key_file_if_missing {
                    return Err(VaultError::KeyFileMissing { path: path.clone() });
                }
                let keyring = create_key_file(path)?;
                Ok((
                    Vault::new(keyring),
                    KeySourceUsed::CreatedKeyFile { path: path.clone() },
                ))
            }
            Err(error) => Err(VaultError::KeyFileIo {
                action: "read",
                path: path.clone(),
                reason: error.to_string(),
            }),
        }
    }

    /// The keyring (ids, active key).
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// Id of the key new ciphertexts are made with.
    pub fn active_key_id(&self) -> u32 {
        self.keyring.active_id()
    }

    /// Encrypts `plaintext` under the active key, bound to `associated_data`.
    pub fn encrypt(&self, plaintext: &[u8], associated_data: &str) -> Result<Vec<u8>, VaultError> {
        encrypt_with(self.keyring.active(), plaintext, associated_data)
    }

    /// Encrypts a secret text.
    pub fn encrypt_secret(
        &self,
        secret: &SecretString,
        associated_data: &str,
    ) -> Result<Vec<u8>, VaultError> {
        self.encrypt(secret.expose_secret().as_bytes(), associated_data)
    }

    /// Decrypts a ciphertext made by this vault (with any key still in the keyring).
    ///
    /// Errors: `VAULT_CIPHERTEXT_MALFORMED`, `VAULT_KEY_UNKNOWN` (its key is not in the keyring),
    /// `VAULT_KEY_MISMATCH` (a different key has its id), `VAULT_DECRYPTION_FAILED` (altered, or
    /// `associated_data` differs from the one used to encrypt).
    pub fn decrypt(
        &self,
        ciphertext: &[u8],
        associated_data: &str,
    ) -> Result<SecretBytes, VaultError> {
        let parsed = ParsedCiphertext::parse(ciphertext)?;
        let key = self.key_for(&parsed)?;
        let cipher = XChaCha20Poly1305::new(key.material().into());
        let full_associated_data = full_associated_data(parsed.header, associated_data);
        cipher
            .decrypt(
                XNonce::from_slice(parsed.nonce),
                Payload {
                    msg: parsed.sealed,
                    aad: &full_associated_data,
                },
            )
            .map(SecretBytes::new)
            .map_err(|_| VaultError::DecryptionFailed {
                associated_data: associated_data.to_owned(),
            })
    }

    /// Decrypts a secret text.
    pub fn decrypt_secret(
        &self,
        ciphertext: &[u8],
        associated_data: &str,
    ) -> Result<SecretString, VaultError> {
        let bytes = self.decrypt(ciphertext, associated_data)?;
        match std::str::from_utf8(bytes.expose_secret()) {
            Ok(text) => Ok(SecretString::new(text.to_owned())),
            Err(_) => Err(VaultError::NotUtf8 {
                associated_data: associated_data.to_owned(),
            }),
        }
    }

    /// True when the ciphertext is not under the active key (or its header cannot be read, in
    /// which case [`Vault::reencrypt`] reports why). The rotation loop re-encrypts exactly these.
    pub fn needs_rotation(&self, ciphertext: &[u8]) -> bool {
        match ParsedCiphertext::parse(ciphertext) {
            Ok(parsed) => {
                parsed.version != CIPHERTEXT_FORMAT_VERSION
                    || parsed.key_id != self.keyring.active_id()
                    || parsed.key_check != self.keyring.active().check_value()
            }
            Err(_) => true,
        }
    }

    /// Decrypts with whatever key made the ciphertext and encrypts again under the active key with
    /// the same associated data. Used by `trestle keys rotate`; safe to run while the server is
    /// serving, since old keys stay in the keyring until the rotation loop has finished.
    pub fn reencrypt(
        &self,
        ciphertext: &[u8],
        associated_data: &str,
    ) -> Result<Vec<u8>, VaultError> {
        let plaintext = self.decrypt(ciphertext, associated_data)?;
        self.encrypt(plaintext.expose_secret(), associated_data)
    }

    /// Startup check on one stored ciphertext, without needing its associated data: its key id
    /// must be in the keyring and the key there must be the one that made it. Fails with
    /// `VAULT_KEY_UNKNOWN` or `VAULT_KEY_MISMATCH`, whose messages tell the operator what to do.
    pub fn check_key_matches(&self, ciphertext: &[u8]) -> Result<(), VaultError> {
        let parsed = ParsedCiphertext::parse(ciphertext)?;
        self.key_for(&parsed).map(|_| ())
    }

    /// The key id recorded in a ciphertext.
    pub fn ciphertext_key_id(ciphertext: &[u8]) -> Result<u32, VaultError> {
        ParsedCiphertext::parse(ciphertext).map(|parsed| parsed.key_id)
    }

    fn key_for(&self, parsed: &ParsedCiphertext<'_>) -> Result<&MasterKey, VaultError> {
        let key = self
            .keyring
            .get(parsed.key_id)
            .ok_or_else(|| VaultError::UnknownKey {
                key_id: parsed.key_id,
                known: self.keyring.known_ids_text(),
            })?;
        if key.check_value() != parsed.key_check {
            return Err(VaultError::KeyMismatch {
                key_id: parsed.key_id,
            });
        }
        Ok(key)
    }
}

fn encrypt_with(
    key: &MasterKey,
    plaintext: &[u8],
    associated_data: &str,
) -> Result<Vec<u8>, VaultError> {
    let mut header = [0u8; HEADER_LENGTH];
    header[0] = CIPHERTEXT_FORMAT_VERSION;
    header[1..5].copy_from_slice(&key.id().to_be_bytes());
    header[5..9].copy_from_slice(&key.check_value());
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let cipher = XChaCha20Poly1305::new(key.material().into());
    let full_associated_data = full_associated_data(&header, associated_data);
    let sealed = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: &full_associated_data,
            },
        )
        .map_err(|_| VaultError::MalformedCiphertext {
            reason: "the plaintext is too long to encrypt".to_owned(),
        })?;
    let mut output = Vec::with_capacity(HEADER_LENGTH + NONCE_LENGTH + sealed.len());
    output.extend_from_slice(&header);
    output.extend_from_slice(nonce.as_slice());
    output.extend_from_slice(&sealed);
    Ok(output)
}

fn full_associated_data(header: &[u8], associated_data: &str) -> Vec<u8> {
    let mut full = Vec::with_capacity(header.len() + associated_data.len());
    full.extend_from_slice(header);
    full.extend_from_slice(associated_data.as_bytes());
    full
}

struct ParsedCiphertext<'a> {
    version: u8,
    key_id: u32,
    key_check: [u8; 4],
    header: &'a [u8],
    nonce: &'a [u8],
    sealed: &'a [u8],
}

impl<'a> ParsedCiphertext<'a> {
    fn parse(bytes: &'a [u8]) -> Result<ParsedCiphertext<'a>, VaultError> {
        if bytes.len() < HEADER_LENGTH + NONCE_LENGTH + TAG_LENGTH {
            return Err(VaultError::MalformedCiphertext {
                reason: format!(
                    "{} bytes is shorter than the smallest ciphertext ({} bytes)",
                    bytes.len(),
                    HEADER_LENGTH + NONCE_LENGTH + TAG_LENGTH
                ),
            });
        }
        let (header, rest) = bytes.split_at(HEADER_LENGTH);
        let (nonce, sealed) = rest.split_at(NONCE_LENGTH);
        let version = header[0];
        if version != CIPHERTEXT_FORMAT_VERSION {
            return Err(VaultError::MalformedCiphertext {
                reason: format!(
                    "unknown format version {version} (this build reads version {CIPHERTEXT_FORMAT_VERSION})"
                ),
            });
        }
        let key_id = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        let key_check = [header[5], header[6], header[7], header[8]];
        Ok(ParsedCiphertext {
            version,
            key_id,
            key_check,
            header,
            nonce,
            sealed,
        })
    }
}
