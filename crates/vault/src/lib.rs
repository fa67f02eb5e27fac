//! trestle-vault: credentials at rest.
//!
//! * [`Vault`] encrypts and decrypts with XChaCha20-Poly1305; every ciphertext carries its key id
//!   and is bound to the identity of the row and field it belongs to (associated data).
//! * [`Keyring`] holds one active master key and older keys kept for decryption during rotation.
//!   Keys come from the key file (`<data dir>/master.key`, mode 0600, created on the first start
//!   of the embedded default and never silently regenerated) or from `TRESTLE_MASTER_KEY`.
//! * [`SecretString`] / [`SecretBytes`] hold secrets in memory: zeroized on drop, printed as
//!   `[redacted]`.
//!
//! Rotation: [`rotate_key_file`] adds a new active key and keeps the old ones; the store then
//! walks its ciphertexts and replaces each one for which [`Vault::needs_rotation`] is true with
//! [`Vault::reencrypt`]. Once none is left, old keys may be removed with [`Keyring::remove_key`].

mod error;
mod keyring;
mod secret;
mod vault;

pub use error::VaultError;
pub use keyring::{
    DEFAULT_KEY_FILE_NAME, Keyring, MASTER_KEY_ENVIRONMENT_VARIABLE, MASTER_KEY_LENGTH, MasterKey,
    create_key_file, read_key_file, rotate_key_file, write_key_file,
};
pub use secret::{REDACTED, SecretBytes, SecretString};
pub use vault::{CIPHERTEXT_FORMAT_VERSION, KeySourceUsed, Vault, VaultOptions};
