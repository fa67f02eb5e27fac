//! `trestle serve`: resolves the configuration, opens the database, creates the first-run
//! administrator on an empty database, and serves until SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use trestle_server::{ConfigLayer, LogFormat, ServerConfig};
use trestle_store::Store;

/// Where the configuration and the database come from; shared by `serve` and `admin`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// TOML config file (also TRESTLE_CONFIG). Precedence: flags > TRESTLE_* env > file > defaults.
    #[arg(long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,
    /// Folder for the SQLite database and local state [default: ./trestle-data] (TRESTLE_DATA_DIR).
    #[arg(long, value_name = "PATH", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH?mode=rwc or postgres://USER:PASSWORD@HOST:PORT/DB (TRESTLE_DB).
    #[arg(long, value_name = "URL", global = true)]
    pub db: Option<String>,
}

/// Flags of `trestle serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Address to listen on [default: 127.0.0.1:8080] (TRESTLE_LISTEN).
    #[arg(long, value_name = "ADDRESS:PORT")]
    pub listen: Option<SocketAddr>,
    /// URL people use to reach this server, e.g. https://trestle.example.com (TRESTLE_PUBLIC_URL).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Log format [default: human] (TRESTLE_LOG_FORMAT).
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormatArg>,
    /// Log filter, e.g. `info` or `info,trestle_server=debug` [default: info] (TRESTLE_LOG).
    #[arg(long, value_name = "FILTER")]
    pub log: Option<String>,
    /// Let services use plain http:// URLs on loopback addresses (127.0.0.1, ::1), for local
    /// development and tests against stand-in servers. Never on a shared server.
    #[arg(long, env = "TRESTLE_ALLOW_HTTP_LOOPBACK_SERVICES")]
    pub allow_http_loopback_services: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormatArg {
    Human,
    Json,
}

impl ConfigArgs {
    /// Resolves the full configuration from these flags (plus `extra` flag values), the
    /// process environment and the config file.
    pub fn resolve(&self, extra_flags: ConfigLayer) -> anyhow::Result<ServerConfig> {
        let flags = ConfigLayer {
            data_dir: self.data_dir.clone(),
            db: self.db.clone(),
            ..extra_flags
        };
        let environment = ConfigLayer::from_environment(std::env::vars())?;
        let config_path = self.config.clone().or_else(|| {
            std::env::var_os(trestle_server::config::CONFIG_FILE_VARIABLE).map(PathBuf::from)
        });
        let file = config_path
            .map(|path| ConfigLayer::from_toml_file(&path))
            .transpose()?;
        Ok(ServerConfig::resolve(flags, environment, file)?)
    }
}

/// Opens (and migrates) the configured database, creating the SQLite data folder first.
pub async fn open_store(config: &ServerConfig) -> anyhow::Result<Store> {
    if config.uses_sqlite() {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data folder {}",
                config.data_dir.display()
            )
        })?;
    }
    Store::connect(&config.database_url).await.with_context(|| {
        format!(
            "cannot open the database ({})",
            redacted_database_url(config)
        )
    })
}

/// The database URL without its password, for messages.
pub fn redacted_database_url(config: &ServerConfig) -> String {
    let url = &config.database_url;
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}://{user}:***{}", &url[..scheme_end], &url[at..])
        }
        _ => url.clone(),
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    install_crypto_provider();
    let extra_flags = ConfigLayer {
        listen: args.listen,
        public_url: args.public_url.clone(),
        log_format: args.log_format.map(|format| match format {
            LogFormatArg::Human => LogFormat::Human,
            LogFormatArg::Json => LogFormat::Json,
        }),
        log_filter: args.log.clone(),
        ..ConfigLayer::default()
    };
    let config = args.config.resolve(extra_flags)?;
    init_logging(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(serve(config, args.allow_http_loopback_services));
    if let Err(error) = &result {
        tracing::error!(error = format!("{error:#}"), "trestle serve failed");
    }
    result
}

async fn serve(config: ServerConfig, allow_http_loopback_services: bool) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let first_run_admin = trestle_server::ensure_first_run_admin(&store).await?;
    let listener = trestle_server::run::bind(config.listen).await?;
    let bound_address = listener.local_addr()?;
    let url = config.display_url(bound_address);
    // Signal handlers first, so a SIGTERM right after the banner shuts down gracefully.
    let shutdown = trestle_server::run::shutdown_signal();
    print_banner(&config, &store, &url, first_run_admin.as_ref());
    tracing::info!(%url, backend = store.backend_name(), "listening");
    let connections = open_connections(&store, &config, &url, allow_http_loopback_services).await?;
    // Function runs and the proxy share one outbound engine (strict egress policy: no
    // private addresses unless `egress.allow` opens a range or an operator routes a host to
    // a stand-in).
    let engine = trestle_outbound::OutboundEngine::new(trestle_outbound::OutboundConfig {
        egress: config.egress_policy.clone(),
        ..trestle_outbound::OutboundConfig::default()
    })?;
    let functions = std::sync::Arc::new(trestle_runtime::FunctionRuntime::new(
        engine,
        connections.clone(),
    ));
    let state = trestle_server::AppState::new(store.clone(), config)
        .with_connections(connections)
        .with_functions(functions);
    trestle_server::serve(listener, state, shutdown).await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// What a person sees on stdout (logs go to stderr). The one-time password appears here
/// only, once, on the very first start.
fn print_banner(
    config: &ServerConfig,
    store: &Store,
    url: &str,
    first_run_admin: Option<&trestle_server::FirstRunAdmin>,
) {
    let database = if config.uses_sqlite() {
        format!("SQLite in {}", config.data_dir.display())
    } else {
        format!("PostgreSQL ({})", redacted_database_url(config))
    };
    println!("Trestle is running at {url}");
    println!("  database: {database} ({})", store.backend_name());
    println!("  API description: {url}/api/v1/openapi.json");
    if let Some(admin) = first_run_admin {
        println!();
        println!(
            "First start: created the administrator and the organization \"{}\".",
            admin.organization_name
        );
        println!("  email:    {}", admin.email);
        println!("  password: {}", admin.one_time_password);
        println!("This password is shown only now and must be changed at first sign-in:");
        println!(
            "  curl -c cookies.txt -H 'Content-Type: application/json' -d '{{\"email\":\"{}\",\"password\":\"<password>\"}}' {url}/api/v1/auth/login",
            admin.email
        );
        println!(
            "  then POST {url}/api/v1/auth/password with {{\"current_password\":...,\"new_password\":...}} and the X-CSRF-Token header from the login answer."
        );
        println!(
            "Lost it? `trestle admin reset-password --email {}` prints a new one.",
            admin.email
        );
    }
    println!("Press Ctrl-C (or send SIGTERM) to stop.");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
}

fn init_logging(config: &ServerConfig) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Human => builder.try_init(),
    };
}

/// One crypto provider (ring) for the whole binary; a second call is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The connection manager, with the vault opened from `TRESTLE_MASTER_KEY` or the key file in
/// the data folder (created on the first start, never regenerated once credentials exist). A
/// key that does not match the stored credentials stops the start with a clear error.
async fn open_connections(
    store: &Store,
    config: &ServerConfig,
    public_url: &str,
    allow_http_loopback_services: bool,
) -> anyhow::Result<std::sync::Arc<trestle_connections::ConnectionManager>> {
    let stored = store
        .connections()
        .ciphertexts()
        .await
        .context("cannot read stored connection credentials")?;
    let options =
        trestle_vault::VaultOptions::for_data_directory(&config.data_dir, !stored.is_empty());
    let (vault, _source) = trestle_vault::Vault::open(&options)
        .context("cannot open the master key for stored credentials")?;
    if let Some(first) = stored.first() {
        vault.check_key_matches(&first.ciphertext).context(
            "the master key does not match the stored credentials; start with the key they were encrypted with",
        )?;
    }
    let base_url = url::Url::parse(public_url)
        .with_context(|| format!("the public URL `{public_url}` is not a valid URL"))?;
    // Token, OAuth 1 and verification requests pass the same egress guard as the engine.
    let tokens =
        trestle_connections::oauth::TokenClient::with_egress_policy(config.egress_policy.clone())?;
    let mut manager_config = trestle_connections::ManagerConfig::new(base_url);
    manager_config.allow_http_loopback = allow_http_loopback_services;
    if allow_http_loopback_services {
        tracing::warn!("services may use http:// URLs on loopback addresses (development only)");
    }
    Ok(std::sync::Arc::new(
        trestle_connections::ConnectionManager::new(
            store.clone(),
            std::sync::Arc::new(vault),
            tokens,
            manager_config,
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_redacted() {
        let config = ServerConfig::resolve(
            ConfigLayer {
                db: Some("postgres://trestle:secret@127.0.0.1:5432/trestle".to_owned()),
                ..ConfigLayer::default()
            },
            ConfigLayer::default(),
            None,
        )
        .unwrap();
        assert_eq!(
            redacted_database_url(&config),
            "postgres://trestle:***@127.0.0.1:5432/trestle"
        );
    }
}
