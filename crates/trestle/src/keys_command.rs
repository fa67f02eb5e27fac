//! `trestle keys ...`: master keys for credentials at rest.
//!
//! `generate` creates the key file (or prints a key for `TRESTLE_MASTER_KEY`), `list` shows key
//! ids, `rotate` adds a new active key to the key file, keeping the old ones so existing
//! ciphertexts stay readable, and then re-encrypts stored credentials under the new key.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use trestle_vault::{
    DEFAULT_KEY_FILE_NAME, Keyring, MASTER_KEY_ENVIRONMENT_VARIABLE, Vault, create_key_file,
    read_key_file, rotate_key_file,
};

use crate::services_command::write_stdout;

/// `trestle keys`
#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Args)]
struct KeyFileLocation {
    /// Data folder holding the key file `master.key` [default: ./trestle-data] (TRESTLE_DATA_DIR).
    #[arg(long, env = "TRESTLE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Key file path; overrides --data-dir (TRESTLE_KEY_FILE).
    #[arg(long, env = "TRESTLE_KEY_FILE")]
    key_file: Option<PathBuf>,
}

impl KeyFileLocation {
    fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("./trestle-data"))
    }

    fn key_file(&self) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| self.data_dir().join(DEFAULT_KEY_FILE_NAME))
    }
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create the key file with a new random key (mode 0600). Refuses to overwrite a key file.
    Generate {
        #[command(flatten)]
        location: KeyFileLocation,
        /// Print a new key for TRESTLE_MASTER_KEY instead of writing a file.
        #[arg(long)]
        print: bool,
    },
    /// Show the key ids in the key file and which one is active (never the keys).
    List {
        #[command(flatten)]
        location: KeyFileLocation,
    },
    /// Add a new active key to the key file (older keys are kept for decryption), then re-encrypt
    /// stored credentials under it.
    Rotate {
        #[command(flatten)]
        location: KeyFileLocation,
        /// Only add the new key; leave stored credentials under their old keys for now.
        #[arg(long)]
        key_file_only: bool,
    },
}

/// Runs a `trestle keys` command.
pub fn run(arguments: KeysArgs) -> anyhow::Result<()> {
    match arguments.command {
        KeysCommand::Generate { print: true, .. } => {
            let keyring = Keyring::generate()?;
            let value = keyring.to_environment_value();
            write_stdout(&format!("{}\n", value.expose_secret()))
        }
        KeysCommand::Generate {
            location,
            print: false,
        } => {
            let path = location.key_file();
            refuse_when_environment_key_set()?;
            let keyring = create_key_file(&path).map_err(vault_error)?;
            write_stdout(&format!(
                "Created {} with key {} (mode 0600). Back it up with the database: without it, stored credentials cannot be decrypted.\n",
                path.display(),
                keyring.active_id()
            ))
        }
        KeysCommand::List { location } => {
            let path = location.key_file();
            let keyring = read_key_file(&path).map_err(vault_error)?;
            let mut text = String::new();
            for id in keyring.key_ids() {
                let marker = if id == keyring.active_id() {
                    "  (active)"
                } else {
                    ""
                };
                text.push_str(&format!("key {id}{marker}\n"));
            }
            write_stdout(&text)
        }
        KeysCommand::Rotate {
            location,
            key_file_only,
        } => {
            refuse_when_environment_key_set()?;
            let path = location.key_file();
            let keyring = rotate_key_file(&path).map_err(vault_error)?;
            write_stdout(&format!(
                "Added key {} to {} and made it active; older keys ({}) stay for decryption.\n",
                keyring.active_id(),
                path.display(),
                keyring
                    .key_ids()
                    .iter()
                    .filter(|id| **id != keyring.active_id())
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))?;
            if key_file_only {
                return Ok(());
            }
            let vault = Vault::new(keyring);
            reencrypt_stored_credentials(&vault, &location.data_dir())
                .context("the new key is in the key file, but stored credentials were not re-encrypted; run `trestle keys rotate` again later or keep the old keys")
        }
    }
}

/// Re-encrypts every stored credential that is not under the vault's active key: opens the
/// database (`TRESTLE_DB`, or the embedded default under `data_dir`) and runs the connections
/// manager's compare-and-set loop, safe while servers keep running.
fn reencrypt_stored_credentials(vault: &Vault, data_dir: &Path) -> anyhow::Result<()> {
    let database_url = match std::env::var("TRESTLE_DB") {
        Ok(url) if !url.is_empty() => url,
        _ => format!(
            "sqlite://{}?mode=rwc",
            data_dir.join("trestle.db").display()
        ),
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let vault = std::sync::Arc::new(Vault::new(vault.keyring().clone()));
    let report = runtime.block_on(async move {
        let store = trestle_store::Store::connect(&database_url)
            .await
            .context("cannot open the database to re-encrypt stored credentials (set TRESTLE_DB or --data-dir)")?;
        // Re-encryption sends nothing; the strict guard keeps that true if it ever did.
        let tokens = trestle_connections::oauth::TokenClient::with_egress_policy(
            trestle_outbound::EgressPolicy::strict(),
        )?;
        let base_url = url::Url::parse("http://127.0.0.1/").context("base URL")?;
        let manager = trestle_connections::ConnectionManager::new(
            store,
            vault,
            tokens,
            trestle_connections::ManagerConfig::new(base_url),
        );
        anyhow::Ok(manager.reencrypt_all().await?)
    })?;
    write_stdout(&format!(
        "Re-encrypted {} of {} stored credential values under the new key ({} were rewritten concurrently by a refresh, already under the new key).\n",
        report.reencrypted, report.examined, report.changed_concurrently
    ))
}

fn refuse_when_environment_key_set() -> anyhow::Result<()> {
    if std::env::var_os(MASTER_KEY_ENVIRONMENT_VARIABLE).is_some() {
        anyhow::bail!(
            "{MASTER_KEY_ENVIRONMENT_VARIABLE} is set, so the key file is not used; generate a key with `trestle keys generate --print` and manage that variable instead"
        );
    }
    Ok(())
}

fn vault_error(error: trestle_vault::VaultError) -> anyhow::Error {
    anyhow::anyhow!("{} ({})", error, error.code())
}
