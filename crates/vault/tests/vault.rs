//! Credentials at rest: round trips, associated data, tampering, wrong keys, rotation, the key
//! file and the never-regenerate rule.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use trestle_vault::{
    KeySourceUsed, Keyring, SecretString, Vault, VaultOptions, create_key_file, read_key_file,
    rotate_key_file,
};

const AAD: &str = "connection:42:env:production:field:refresh_token";

fn vault() -> Vault {
    Vault::new(Keyring::generate().unwrap())
}

fn options(directory: &std::path::Path, encrypted_data_exists: bool) -> VaultOptions {
    VaultOptions {
        key_file: directory.join("master.key"),
        environment_key: None,
        create_key_file_if_missing: true,
        encrypted_data_exists,
    }
}

#[test]
fn round_trip() {
    let vault = vault();
    let secret = SecretString::from("1000.9f8e7d6c5b4a");
    let ciphertext = vault.encrypt_secret(&secret, AAD).unwrap();
    assert!(
        !ciphertext
            .windows(secret.len())
            .any(|window| window == secret.expose_secret().as_bytes())
    );
    assert_eq!(vault.decrypt_secret(&ciphertext, AAD).unwrap(), secret);
    assert_eq!(Vault::ciphertext_key_id(&ciphertext).unwrap(), 1);
    // A fresh nonce every time.
    assert_ne!(vault.encrypt_secret(&secret, AAD).unwrap(), ciphertext);
}

#[test]
fn associated_data_mismatch_fails() {
    let vault = vault();
    let ciphertext = vault.encrypt(b"token", AAD).unwrap();
    for other in [
        "connection:43:env:production:field:refresh_token",
        "connection:42:env:sandbox:field:refresh_token",
        "connection:42:env:production:field:access_token",
        "",
    ] {
        assert_eq!(
            vault.decrypt(&ciphertext, other).unwrap_err().code(),
            "VAULT_DECRYPTION_FAILED",
            "{other}"
        );
    }
}

#[test]
fn tampering_anywhere_fails() {
    let vault = vault();
    let ciphertext = vault.encrypt(b"a secret worth stealing", AAD).unwrap();
    for index in 0..ciphertext.len() {
        let mut altered = ciphertext.clone();
        altered[index] ^= 0x01;
        let error = vault.decrypt(&altered, AAD).unwrap_err();
        assert!(
            matches!(
                error.code(),
                "VAULT_DECRYPTION_FAILED"
                    | "VAULT_KEY_UNKNOWN"
                    | "VAULT_KEY_MISMATCH"
                    | "VAULT_CIPHERTEXT_MALFORMED"
            ),
            "byte {index}: {error}"
        );
    }
    assert_eq!(
        vault
            .decrypt(&ciphertext[..ciphertext.len() - 1], AAD)
            .unwrap_err()
            .code(),
        "VAULT_DECRYPTION_FAILED"
    );
    assert_eq!(
        vault.decrypt(&ciphertext[..20], AAD).unwrap_err().code(),
        "VAULT_CIPHERTEXT_MALFORMED"
    );
}

#[test]
fn wrong_key_with_the_same_id_is_a_key_mismatch() {
    let original = vault();
    let replaced = vault(); // also key id 1, different material
    let ciphertext = original.encrypt(b"token", AAD).unwrap();
    let error = replaced.decrypt(&ciphertext, AAD).unwrap_err();
    assert_eq!(error.code(), "VAULT_KEY_MISMATCH");
    assert!(
        error.to_string().contains("Restore the original key"),
        "{error}"
    );
    assert_eq!(
        replaced.check_key_matches(&ciphertext).unwrap_err().code(),
        "VAULT_KEY_MISMATCH"
    );
    original.check_key_matches(&ciphertext).unwrap();
}

#[test]
fn ciphertext_from_a_key_missing_from_the_keyring_names_the_key() {
    let mut keyring = Keyring::generate().unwrap();
    keyring.add_new_active_key().unwrap();
    let without_key_3 = keyring.clone();
    keyring.add_new_active_key().unwrap();
    let ciphertext = Vault::new(keyring).encrypt(b"x", AAD).unwrap();
    let error = Vault::new(without_key_3)
        .decrypt(&ciphertext, AAD)
        .unwrap_err();
    assert_eq!(error.code(), "VAULT_KEY_UNKNOWN");
    assert!(error.to_string().contains("master key 3"), "{error}");
    assert!(error.to_string().contains("known keys: 1, 2"), "{error}");
}

#[test]
fn rotation_reencrypts_under_the_new_key_and_old_data_stays_readable() {
    let directory = tempfile::tempdir().unwrap();
    let (vault_before, source) = Vault::open(&options(directory.path(), false)).unwrap();
    assert!(matches!(source, KeySourceUsed::CreatedKeyFile { .. }));
    let old_ciphertext = vault_before.encrypt(b"refresh-token", AAD).unwrap();
    assert!(!vault_before.needs_rotation(&old_ciphertext));

    let keyring = rotate_key_file(&directory.path().join("master.key")).unwrap();
    assert_eq!(keyring.active_id(), 2);
    let (vault_after, source) = Vault::open(&options(directory.path(), true)).unwrap();
    assert!(matches!(source, KeySourceUsed::KeyFile { .. }));
    assert_eq!(vault_after.active_key_id(), 2);
    // Old ciphertexts still decrypt, and are flagged for re-encryption.
    assert_eq!(
        vault_after
            .decrypt(&old_ciphertext, AAD)
            .unwrap()
            .expose_secret(),
        b"refresh-token"
    );
    assert!(vault_after.needs_rotation(&old_ciphertext));
    let new_ciphertext = vault_after.reencrypt(&old_ciphertext, AAD).unwrap();
    assert_eq!(Vault::ciphertext_key_id(&new_ciphertext).unwrap(), 2);
    assert!(!vault_after.needs_rotation(&new_ciphertext));
    assert_eq!(
        vault_after
            .decrypt(&new_ciphertext, AAD)
            .unwrap()
            .expose_secret(),
        b"refresh-token"
    );
    // Re-encryption keeps the associated data binding.
    assert_eq!(
        vault_after
            .reencrypt(&old_ciphertext, "other")
            .unwrap_err()
            .code(),
        "VAULT_DECRYPTION_FAILED"
    );
    // A malformed value is flagged, and reencrypt says why.
    assert!(vault_after.needs_rotation(b"garbage"));
    assert_eq!(
        vault_after.reencrypt(b"garbage", AAD).unwrap_err().code(),
        "VAULT_CIPHERTEXT_MALFORMED"
    );
}

#[cfg(unix)]
#[test]
fn key_file_is_created_with_mode_0600_and_loose_permissions_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("nested").join("master.key");
    create_key_file(&path).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    rotate_key_file(&path).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600,
        "rotation keeps 0600"
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = read_key_file(&path).unwrap_err();
    assert_eq!(error.code(), "VAULT_KEY_FILE_PERMISSIONS");
    assert!(error.to_string().contains("chmod 600"), "{error}");
}

#[test]
fn key_file_is_never_overwritten_or_silently_regenerated() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("master.key");
    let first = create_key_file(&path).unwrap();
    assert_eq!(
        create_key_file(&path).unwrap_err().code(),
        "VAULT_KEY_FILE_EXISTS"
    );
    let reread = read_key_file(&path).unwrap();
    assert_eq!(reread.active().to_base64(), first.active().to_base64());

    // Data exists, key file gone: refuse, do not create a new key.
    std::fs::remove_file(&path).unwrap();
    let error = Vault::open(&options(directory.path(), true)).unwrap_err();
    assert_eq!(error.code(), "VAULT_KEY_FILE_MISSING");
    assert!(
        error.to_string().contains("restore the key file"),
        "{error}"
    );
    assert!(!path.exists(), "no key file was created");
    // Creation disabled: refuse as well.
    let mut no_create = options(directory.path(), false);
    no_create.create_key_file_if_missing = false;
    assert_eq!(
        Vault::open(&no_create).unwrap_err().code(),
        "VAULT_KEY_FILE_MISSING"
    );
}

#[test]
fn environment_key_takes_precedence_and_is_validated() {
    let directory = tempfile::tempdir().unwrap();
    let keyring = Keyring::generate().unwrap();
    let mut with_environment = options(directory.path(), true);
    with_environment.environment_key = Some(keyring.to_environment_value());
    let (vault, source) = Vault::open(&with_environment).unwrap();
    assert_eq!(source, KeySourceUsed::EnvironmentVariable);
    assert!(!directory.path().join("master.key").exists());
    let ciphertext = Vault::new(keyring).encrypt(b"x", AAD).unwrap();
    vault.decrypt(&ciphertext, AAD).unwrap();
    with_environment.environment_key = Some(SecretString::from("not base64!"));
    let error = Vault::open(&with_environment).unwrap_err();
    assert_eq!(error.code(), "VAULT_KEY_FORMAT");
    assert!(error.to_string().contains("TRESTLE_MASTER_KEY"), "{error}");
    with_environment.environment_key = Some(SecretString::from("c2hvcnQ="));
    assert!(
        Vault::open(&with_environment)
            .unwrap_err()
            .to_string()
            .contains("32 random bytes")
    );
}

#[test]
fn errors_and_debug_output_never_contain_secrets() {
    let keyring = Keyring::generate().unwrap();
    let key_text = keyring.active().to_base64();
    let vault = Vault::new(keyring);
    let printed = format!("{vault:?}");
    assert!(!printed.contains(key_text.expose_secret()), "{printed}");
    let ciphertext = vault.encrypt(b"plain-secret-value", AAD).unwrap();
    let error = vault.decrypt(&ciphertext, "wrong").unwrap_err();
    assert!(!error.to_string().contains("plain-secret-value"));
    let secret = vault.decrypt_secret(&ciphertext, AAD).unwrap();
    assert_eq!(format!("{secret:?}/{secret}"), "[redacted]/[redacted]");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_secrets_round_trip_and_are_bound_to_their_row(secret in proptest::collection::vec(any::<u8>(), 0..512), row in 0u64..1_000_000) {
        let vault = vault();
        let associated_data = format!("connection:{row}:env:production:field:access_token");
        let ciphertext = vault.encrypt(&secret, &associated_data).unwrap();
        prop_assert_eq!(ciphertext.len(), secret.len() + 49);
        let decrypted = vault.decrypt(&ciphertext, &associated_data).unwrap();
        prop_assert_eq!(decrypted.expose_secret(), &secret[..]);
        let other_row = format!("connection:{}:env:production:field:access_token", row + 1);
        prop_assert!(vault.decrypt(&ciphertext, &other_row).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let vault = vault();
        prop_assert!(vault.decrypt(&bytes, AAD).is_err());
        let _ = vault.needs_rotation(&bytes);
        let _ = vault.check_key_matches(&bytes);
    }
}
