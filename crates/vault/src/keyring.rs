//! Master keys, the keyring (one active key plus older keys kept for decryption), the key file
//! and the `TRESTLE_MASTER_KEY` environment value.
//!
//! Key file format (text, UTF-8, one item per line, `#` starts a comment line):
//!
//! ```text
//! # Trestle master keys: keep secret, back up together with the database.
//! trestle-keyring 1
//! active 2
//! key 1 <base64 of 32 random bytes>
//! key 2 <base64 of 32 random bytes>
//! ```
//!
//! `TRESTLE_MASTER_KEY` holds either one base64 key (it gets key id 1) or a comma-separated list
//! `<id>:<base64>,<id>:<base64>` whose first entry is the active key.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::VaultError;
use crate::secret::SecretString;

/// Name of the environment variable that can hold the master key(s).
pub const MASTER_KEY_ENVIRONMENT_VARIABLE: &str = "TRESTLE_MASTER_KEY";

/// File name of the key file inside the data directory, used by the embedded default.
pub const DEFAULT_KEY_FILE_NAME: &str = "master.key";

/// Length of a master key in bytes (XChaCha20-Poly1305 uses 256-bit keys).
pub const MASTER_KEY_LENGTH: usize = 32;

const KEY_FILE_HEADER: &str = "trestle-keyring 1";
const KEY_CHECK_LABEL: &[u8] = b"trestle-vault key check v1\0";

/// One 256-bit master key with its id. `Debug` shows the id only.
#[derive(Clone)]
pub struct MasterKey {
    id: u32,
    material: Zeroizing<[u8; MASTER_KEY_LENGTH]>,
}

impl MasterKey {
    /// A fresh random key from the operating system's generator.
    pub fn generate(id: u32) -> Result<MasterKey, VaultError> {
        let mut material = Zeroizing::new([0u8; MASTER_KEY_LENGTH]);
        rand::rngs::OsRng
            .try_fill_bytes(material.as_mut())
            .map_err(|error| VaultError::Randomness {
                reason: error.to_string(),
            })?;
        Ok(MasterKey { id, material })
    }

    /// A key from its base64 text (standard alphabet, padding optional).
    pub fn from_base64(
        id: u32,
        text: &str,
        source_name: &str,
        line: usize,
    ) -> Result<MasterKey, VaultError> {
        let trimmed = text.trim().trim_end_matches('=');
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(trimmed)
                .map_err(|_| VaultError::KeyFormat {
                    source_name: source_name.to_owned(),
                    line,
                    reason: format!("key {id} is not valid base64"),
                })?,
        );
        if decoded.len() != MASTER_KEY_LENGTH {
            return Err(VaultError::KeyFormat {
                source_name: source_name.to_owned(),
                line,
                reason: format!(
                    "key {id} is {} bytes long; a master key is {MASTER_KEY_LENGTH} random bytes, base64-encoded \
                     (generate one with `trestle keys generate --print`)",
                    decoded.len()
                ),
            });
        }
        let mut material = Zeroizing::new([0u8; MASTER_KEY_LENGTH]);
        material.copy_from_slice(&decoded);
        Ok(MasterKey { id, material })
    }

    /// The key id stored with every ciphertext made with this key.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The key as base64 text, for writing into a key file or an environment variable.
    pub fn to_base64(&self) -> SecretString {
        SecretString::new(BASE64.encode(self.material.as_ref()))
    }

    /// Four bytes derived from the key by a one-way hash, stored in every ciphertext header, so a
    /// replaced key is recognised as such (`VAULT_KEY_MISMATCH`) instead of looking like tampering.
    pub(crate) fn check_value(&self) -> [u8; 4] {
        let mut hasher = Sha256::new();
        hasher.update(KEY_CHECK_LABEL);
        hasher.update(self.material.as_ref());
        let digest = hasher.finalize();
        [digest[0], digest[1], digest[2], digest[3]]
    }

    pub(crate) fn material(&self) -> &[u8; MASTER_KEY_LENGTH] {
        &self.material
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("MasterKey")
            .field("id", &self.id)
            .field("material", &"[redacted]")
            .finish()
    }
}

/// One active key (used to encrypt) and any number of older keys (used to decrypt data that has
/// not been re-encrypted yet).
#[derive(Clone, Debug)]
pub struct Keyring {
    active_id: u32,
    // A copy of `keys[active_id]`, kept so `active()` needs no lookup that could fail.
    active: MasterKey,
    keys: BTreeMap<u32, MasterKey>,
}

impl Keyring {
    /// A keyring with a single, active key.
    pub fn new(active: MasterKey) -> Keyring {
        let active_id = active.id;
        let mut keys = BTreeMap::new();
        keys.insert(active_id, active.clone());
        Keyring {
            active_id,
            active,
            keys,
        }
    }

    /// A keyring with one fresh random key with id 1.
    pub fn generate() -> Result<Keyring, VaultError> {
        Ok(Keyring::new(MasterKey::generate(1)?))
    }

    /// The key new ciphertexts are made with.
    pub fn active(&self) -> &MasterKey {
        &self.active
    }

    /// Id of the active key.
    pub fn active_id(&self) -> u32 {
        self.active_id
    }

    /// A key by id.
    pub fn get(&self, id: u32) -> Option<&MasterKey> {
        self.keys.get(&id)
    }

    /// Every key id, ascending.
    pub fn key_ids(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }

    /// Generates a new key, makes it active and keeps the old keys for decryption. Returns the new
    /// key's id (one more than the highest id so far).
    pub fn add_new_active_key(&mut self) -> Result<u32, VaultError> {
        let next_id = self
            .keys
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0)
            .saturating_add(1);
        let key = MasterKey::generate(next_id)?;
        self.keys.insert(next_id, key.clone());
        self.active_id = next_id;
        self.active = key;
        Ok(next_id)
    }

    /// Removes an old key once nothing is encrypted with it any more. The active key cannot be
    /// removed.
    pub fn remove_key(&mut self, id: u32) -> Result<(), VaultError> {
        if id == self.active_id {
            return Err(VaultError::KeyFormat {
                source_name: "keyring".to_owned(),
                line: 0,
                reason: format!("key {id} is the active key and cannot be removed"),
            });
        }
        if self.keys.remove(&id).is_none() {
            return Err(VaultError::UnknownKey {
                key_id: id,
                known: self.known_ids_text(),
            });
        }
        Ok(())
    }

    /// Parses key file text. `source_name` names the file in error messages.
    pub fn parse_key_file(text: &str, source_name: &str) -> Result<Keyring, VaultError> {
        let format_error = |line: usize, reason: String| VaultError::KeyFormat {
            source_name: source_name.to_owned(),
            line,
            reason,
        };
        let mut saw_header = false;
        let mut active_id = None;
        let mut keys = BTreeMap::new();
        for (index, raw_line) in text.lines().enumerate() {
            let line_number = index + 1;
            let line = raw_line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if !saw_header {
                if line != KEY_FILE_HEADER {
                    return Err(format_error(
                        line_number,
                        format!("expected the first line to be `{KEY_FILE_HEADER}`"),
                    ));
                }
                saw_header = true;
                continue;
            }
            let mut words = line.split_whitespace();
            match (words.next(), words.next(), words.next(), words.next()) {
                (Some("active"), Some(id_text), None, None) => {
                    active_id = Some(
                        parse_key_id(id_text)
                            .map_err(|reason| format_error(line_number, reason))?,
                    );
                }
                (Some("key"), Some(id_text), Some(material), None) => {
                    let id = parse_key_id(id_text)
                        .map_err(|reason| format_error(line_number, reason))?;
                    let key = MasterKey::from_base64(id, material, source_name, line_number)?;
                    if keys.insert(id, key).is_some() {
                        return Err(format_error(line_number, format!("key {id} appears twice")));
                    }
                }
                _ => {
                    return Err(format_error(
                        line_number,
                        "expected `active <id>` or `key <id> <base64>`".to_owned(),
                    ));
                }
            }
        }
        if !saw_header {
            return Err(format_error(0, "the key file is empty".to_owned()));
        }
        let active_id =
            active_id.ok_or_else(|| format_error(0, "no `active <id>` line".to_owned()))?;
        let active = keys.get(&active_id).cloned().ok_or_else(|| {
            format_error(
                0,
                format!("the active key {active_id} has no `key {active_id} ...` line"),
            )
        })?;
        Ok(Keyring {
            active_id,
            active,
            keys,
        })
    }

    /// The key file text for this keyring (secret: it contains every key).
    pub fn to_key_file_text(&self) -> SecretString {
        let mut text = String::from(
            "# Trestle master keys. Keep this file secret (mode 0600) and back it up together with\n\
             # the database: without it, stored credentials can never be decrypted.\n",
        );
        text.push_str(KEY_FILE_HEADER);
        text.push('\n');
        text.push_str(&format!("active {}\n", self.active_id));
        for key in self.keys.values() {
            text.push_str(&format!(
                "key {} {}\n",
                key.id,
                key.to_base64().expose_secret()
            ));
        }
        SecretString::new(text)
    }

    /// Parses the `TRESTLE_MASTER_KEY` value: one base64 key (id 1), or `<id>:<base64>` entries
    /// separated by commas, the first being the active key.
    pub fn from_environment_value(value: &SecretString) -> Result<Keyring, VaultError> {
        let source_name = MASTER_KEY_ENVIRONMENT_VARIABLE;
        let text = value.expose_secret().trim();
        if text.is_empty() {
            return Err(VaultError::KeyFormat {
                source_name: source_name.to_owned(),
                line: 1,
                reason: "the variable is empty".to_owned(),
            });
        }
        if !text.contains(':') {
            return Ok(Keyring::new(MasterKey::from_base64(
                1,
                text,
                source_name,
                1,
            )?));
        }
        let mut active_id = None;
        let mut keys = BTreeMap::new();
        for entry in text.split(',') {
            let (id_text, material) =
                entry.split_once(':').ok_or_else(|| VaultError::KeyFormat {
                    source_name: source_name.to_owned(),
                    line: 1,
                    reason: "each entry must be `<id>:<base64 key>`".to_owned(),
                })?;
            let id = parse_key_id(id_text.trim()).map_err(|reason| VaultError::KeyFormat {
                source_name: source_name.to_owned(),
                line: 1,
                reason,
            })?;
            let key = MasterKey::from_base64(id, material, source_name, 1)?;
            active_id.get_or_insert(id);
            if keys.insert(id, key).is_some() {
                return Err(VaultError::KeyFormat {
                    source_name: source_name.to_owned(),
                    line: 1,
                    reason: format!("key {id} appears twice"),
                });
            }
        }
        let active_id = active_id.ok_or_else(|| VaultError::KeyFormat {
            source_name: source_name.to_owned(),
            line: 1,
            reason: "no key given".to_owned(),
        })?;
        let active = keys
            .get(&active_id)
            .cloned()
            .ok_or_else(|| VaultError::KeyFormat {
                source_name: source_name.to_owned(),
                line: 1,
                reason: "no key given".to_owned(),
            })?;
        Ok(Keyring {
            active_id,
            active,
            keys,
        })
    }

    /// The keyring as a `TRESTLE_MASTER_KEY` value (active key first).
    pub fn to_environment_value(&self) -> SecretString {
        let mut entries = vec![format!(
            "{}:{}",
            self.active_id,
            self.active().to_base64().expose_secret()
        )];
        for key in self.keys.values().filter(|key| key.id != self.active_id) {
            entries.push(format!("{}:{}", key.id, key.to_base64().expose_secret()));
        }
        SecretString::new(entries.join(","))
    }

    pub(crate) fn known_ids_text(&self) -> String {
        self.keys
            .keys()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn parse_key_id(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(format!(
            "`{text}` is not a key id (a positive whole number)"
        )),
    }
}

/// Reads a key file. Fails when the file is missing, unreadable, malformed, or readable by group
/// or others (Unix).
pub fn read_key_file(path: &Path) -> Result<Keyring, VaultError> {
    check_key_file_permissions(path)?;
    let text = Zeroizing::new(
        fs::read_to_string(path).map_err(|error| VaultError::KeyFileIo {
            action: "read",
            path: path.to_path_buf(),
            reason: error.to_string(),
        })?,
    );
    Keyring::parse_key_file(&text, &path.display().to_string())
}

/// Creates a new key file holding one fresh key (id 1), with mode 0600. Fails if the file exists
/// (it is never overwritten). Creates missing parent directories.
pub fn create_key_file(path: &Path) -> Result<Keyring, VaultError> {
    let keyring = Keyring::generate()?;
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        fs::create_dir_all(parent).map_err(|error| VaultError::KeyFileIo {
            action: "create the directory of",
            path: path.to_path_buf(),
            reason: error.to_string(),
        })?;
    }
    let mut file = open_new_private_file(path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::AlreadyExists {
            VaultError::KeyFileExists {
                path: path.to_path_buf(),
            }
        } else {
            VaultError::KeyFileIo {
                action: "create",
                path: path.to_path_buf(),
                reason: error.to_string(),
            }
        }
    })?;
    write_and_sync(&mut file, &keyring, path)?;
    Ok(keyring)
}

/// Replaces the key file's contents with `keyring` atomically (a 0600 temporary file in the same
/// directory, synced, then renamed over the old file), so a crash never leaves half a key file.
pub fn write_key_file(path: &Path, keyring: &Keyring) -> Result<(), VaultError> {
    let temporary_path = temporary_sibling(path);
    let _ = fs::remove_file(&temporary_path);
    let mut file =
        open_new_private_file(&temporary_path).map_err(|error| VaultError::KeyFileIo {
            action: "write",
            path: temporary_path.clone(),
            reason: error.to_string(),
        })?;
    write_and_sync(&mut file, keyring, &temporary_path)?;
    drop(file);
    fs::rename(&temporary_path, path).map_err(|error| VaultError::KeyFileIo {
        action: "replace",
        path: path.to_path_buf(),
        reason: error.to_string(),
    })
}

/// `trestle keys rotate`, key-file side: adds a fresh key to the key file, makes it active and
/// keeps every older key so existing ciphertexts stay readable. Returns the updated keyring.
/// Re-encrypting stored data under the new key is the store's job ([`crate::Vault::reencrypt`]).
pub fn rotate_key_file(path: &Path) -> Result<Keyring, VaultError> {
    let mut keyring = read_key_file(path)?;
    keyring.add_new_active_key()?;
    write_key_file(path, &keyring)?;
    Ok(keyring)
}

fn temporary_sibling(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|name| name.to_os_string())
        .unwrap_or_default();
    name.push(".new");
    path.with_file_name(name)
}

fn write_and_sync(file: &mut fs::File, keyring: &Keyring, path: &Path) -> Result<(), VaultError> {
    let text = keyring.to_key_file_text();
    file.write_all(text.expose_secret().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|error| VaultError::KeyFileIo {
            action: "write",
            path: path.to_path_buf(),
            reason: error.to_string(),
        })
}

#[cfg(unix)]
fn open_new_private_file(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_new_private_file(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn check_key_file_permissions(path: &Path) -> Result<(), VaultError> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = fs::metadata(path).map_err(|error| VaultError::KeyFileIo {
        action: "read",
        path: path.to_path_buf(),
        reason: error.to_string(),
    })?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(VaultError::KeyFilePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_key_file_permissions(_path: &Path) -> Result<(), VaultError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_text_round_trips() {
        let mut keyring = Keyring::generate().unwrap();
        keyring.add_new_active_key().unwrap();
        let text = keyring.to_key_file_text();
        let parsed = Keyring::parse_key_file(text.expose_secret(), "test").unwrap();
        assert_eq!(parsed.active_id(), 2);
        assert_eq!(parsed.key_ids(), vec![1, 2]);
        assert_eq!(
            parsed.get(1).unwrap().check_value(),
            keyring.get(1).unwrap().check_value()
        );
    }

    #[test]
    fn environment_value_round_trips_and_bare_key_is_id_one() {
        let mut keyring = Keyring::generate().unwrap();
        let bare = keyring.active().to_base64();
        let parsed = Keyring::from_environment_value(&bare).unwrap();
        assert_eq!(parsed.active_id(), 1);
        keyring.add_new_active_key().unwrap();
        let parsed = Keyring::from_environment_value(&keyring.to_environment_value()).unwrap();
        assert_eq!(parsed.active_id(), 2);
        assert_eq!(parsed.key_ids(), vec![1, 2]);
    }

    #[test]
    fn malformed_key_file_errors_name_the_line() {
        let error = Keyring::parse_key_file("trestle-keyring 1\nactive 1\nkey 1 c2hvcnQ=\n", "k")
            .unwrap_err();
        assert_eq!(error.code(), "VAULT_KEY_FORMAT");
        assert!(error.to_string().contains("line 3"), "{error}");
        let error = Keyring::parse_key_file("something else\n", "k").unwrap_err();
        assert_eq!(error.code(), "VAULT_KEY_FORMAT");
        let error = Keyring::parse_key_file("trestle-keyring 1\nactive 2\n", "k").unwrap_err();
        assert!(error.to_string().contains("active key 2"), "{error}");
    }

    #[test]
    fn key_material_never_printed_by_debug() {
        let keyring = Keyring::generate().unwrap();
        let secret = keyring.active().to_base64();
        let printed = format!("{keyring:?}");
        assert!(!printed.contains(secret.expose_secret()), "{printed}");
    }

    #[test]
    fn active_key_cannot_be_removed() {
        let mut keyring = Keyring::generate().unwrap();
        keyring.add_new_active_key().unwrap();
        assert!(keyring.remove_key(2).is_err());
        keyring.remove_key(1).unwrap();
        assert_eq!(keyring.key_ids(), vec![2]);
    }
}
