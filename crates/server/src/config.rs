//! Server configuration: defaults, a TOML file, `TRESTLE_*` environment variables and
//! command-line flags, merged with the precedence **flags > environment > file > defaults**.
//!
//! # Configuration reference
//!
//! | file key | environment variable | flag | default | meaning |
//! |---|---|---|---|---|
//! | `data_dir` | `TRESTLE_DATA_DIR` | `--data-dir` | `./trestle-data` | folder for the SQLite database and other local state; created on first start |
//! | `db` | `TRESTLE_DB` | `--db` | `sqlite://<data_dir>/trestle.db?mode=rwc` | database URL: `sqlite://PATH?mode=rwc` (`mode=rwc` creates the file) or `postgres://USER:PASSWORD@HOST:PORT/DB` |
//! | `listen` | `TRESTLE_LISTEN` | `--listen` | `127.0.0.1:8080` | address and port to listen on (port 0 picks a free port) |
//! | `public_url` | `TRESTLE_PUBLIC_URL` | `--public-url` | `http://<listen>` | the URL people and services use to reach this server; an `https://` URL makes session cookies `Secure` |
//! | `log_format` | `TRESTLE_LOG_FORMAT` | `--log-format` | `human` | `human` or `json` (one JSON object per line) |
//! | `log_filter` | `TRESTLE_LOG` | `--log` | `info` | tracing filter, e.g. `info,trestle_server=debug` |
//! | `cookie_secure` | `TRESTLE_COOKIE_SECURE` | | `auto` | `auto` (Secure when the request came over https or `public_url` is https), `always`, `never` |
//! | `trust_forwarded_headers` | `TRESTLE_TRUST_FORWARDED_HEADERS` | | `false` | trust `X-Forwarded-For` / `X-Forwarded-Proto` from a reverse proxy for the client address and https detection |
//! | `session_ttl_minutes` | `TRESTLE_SESSION_TTL_MINUTES` | | `720` | how long a console session lasts |
//! | `max_body_bytes` | `TRESTLE_MAX_BODY_BYTES` | | `1048576` | largest accepted request body |
//! | `login_failure_window_seconds` | `TRESTLE_LOGIN_FAILURE_WINDOW_SECONDS` | | `900` | window in which failed sign-ins are counted |
//! | `login_max_failures_per_account` | `TRESTLE_LOGIN_MAX_FAILURES_PER_ACCOUNT` | | `5` | failed sign-ins per account within the window before 429 |
//! | `login_max_failures_per_ip` | `TRESTLE_LOGIN_MAX_FAILURES_PER_IP` | | `20` | failed sign-ins per client address within the window before 429 |
//! | `shutdown_grace_seconds` | `TRESTLE_SHUTDOWN_GRACE_SECONDS` | | `30` | on SIGTERM/SIGINT, how long in-flight requests may take to finish |
//! | `egress.allow` | `TRESTLE_EGRESS_ALLOW` | | `[]` | IP ranges outbound requests (functions, proxy, token and verification requests) may reach despite the SSRF guard, e.g. `["127.0.0.1/32"]` for local stand-ins; the variable takes a comma-separated list |
//!
//! The file is given with `--config PATH` or `TRESTLE_CONFIG`; unknown keys in it are an error
//! (a typo never silently falls back to a default). Environment variables that start with
//! `TRESTLE_` but are not in this table are ignored, since other parts of Trestle use that prefix.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The fully resolved configuration the server runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub listen: SocketAddr,
    pub public_url: Option<String>,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub cookie_secure: CookieSecure,
    pub trust_forwarded_headers: bool,
    pub session_ttl_minutes: u64,
    pub max_body_bytes: usize,
    pub login_failure_window_seconds: u64,
    pub login_max_failures_per_account: u32,
    pub login_max_failures_per_ip: u32,
    pub shutdown_grace_seconds: u64,
    /// `egress.allow`: ranges the outbound SSRF guard lets through.
    pub egress_policy: trestle_outbound::EgressPolicy,
}

/// The `[egress]` table of the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EgressLayer {
    /// CIDR ranges (or single addresses) allowed despite the SSRF guard.
    pub allow: Option<Vec<String>>,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

/// When session cookies carry the `Secure` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CookieSecure {
    /// Secure when the request came over https (or `public_url` is https).
    Auto,
    Always,
    Never,
}

/// One source of settings (flags, environment or file); `None` means "not set here".
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigLayer {
    pub data_dir: Option<PathBuf>,
    pub db: Option<String>,
    pub listen: Option<SocketAddr>,
    pub public_url: Option<String>,
    pub log_format: Option<LogFormat>,
    pub log_filter: Option<String>,
    pub cookie_secure: Option<CookieSecure>,
    pub trust_forwarded_headers: Option<bool>,
    pub session_ttl_minutes: Option<u64>,
    pub max_body_bytes: Option<usize>,
    pub login_failure_window_seconds: Option<u64>,
    pub login_max_failures_per_account: Option<u32>,
    pub login_max_failures_per_ip: Option<u32>,
    pub shutdown_grace_seconds: Option<u64>,
    pub egress: Option<EgressLayer>,
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    FileUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid: {message}")]
    FileInvalid { path: PathBuf, message: String },
    #[error("the environment variable {variable} has an invalid value: {message}")]
    EnvironmentInvalid {
        variable: &'static str,
        message: String,
    },
    #[error("invalid setting `{key}`: {message}")]
    InvalidValue { key: &'static str, message: String },
}

impl ConfigError {
    /// Stable machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::FileUnreadable { .. } => "CONFIG_FILE_UNREADABLE",
            ConfigError::FileInvalid { .. } => "CONFIG_FILE_INVALID",
            ConfigError::EnvironmentInvalid { .. } => "CONFIG_ENVIRONMENT_INVALID",
            ConfigError::InvalidValue { .. } => "CONFIG_INVALID_VALUE",
        }
    }
}

/// The environment variable that names the config file.
pub const CONFIG_FILE_VARIABLE: &str = "TRESTLE_CONFIG";

impl ConfigLayer {
    /// Reads a TOML config file.
    pub fn from_toml_file(path: &Path) -> Result<ConfigLayer, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::FileUnreadable {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|toml_error| ConfigError::FileInvalid {
            path: path.to_owned(),
            message: toml_error.to_string(),
        })
    }

    /// Reads the `TRESTLE_*` variables of the table in the module docs from `variables`
    /// (pass `std::env::vars()`); other variables are ignored.
    pub fn from_environment(
        variables: impl IntoIterator<Item = (String, String)>,
    ) -> Result<ConfigLayer, ConfigError> {
        let mut layer = ConfigLayer::default();
        for (name, value) in variables {
            layer.apply_environment_variable(&name, &value)?;
        }
        Ok(layer)
    }

    fn apply_environment_variable(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(
            variable: &'static str,
            value: &str,
        ) -> Result<Option<T>, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            value.trim().parse::<T>().map(Some).map_err(|parse_error| {
                ConfigError::EnvironmentInvalid {
                    variable,
                    message: format!("`{value}`: {parse_error}"),
                }
            })
        }
        fn parse_enum<T: serde::de::DeserializeOwned>(
            variable: &'static str,
            value: &str,
            expected: &str,
        ) -> Result<Option<T>, ConfigError> {
            serde_json::from_value(serde_json::Value::String(value.trim().to_ascii_lowercase()))
                .map(Some)
                .map_err(|_| ConfigError::EnvironmentInvalid {
                    variable,
                    message: format!("`{value}`; expected one of {expected}"),
                })
        }
        match name {
            "TRESTLE_DATA_DIR" => self.data_dir = Some(PathBuf::from(value)),
            "TRESTLE_DB" => self.db = Some(value.to_owned()),
            "TRESTLE_LISTEN" => self.listen = parse("TRESTLE_LISTEN", value)?,
            "TRESTLE_PUBLIC_URL" => self.public_url = Some(value.to_owned()),
            "TRESTLE_LOG_FORMAT" => {
                self.log_format = parse_enum("TRESTLE_LOG_FORMAT", value, "`human`, `json`")?;
            }
            "TRESTLE_LOG" => self.log_filter = Some(value.to_owned()),
            "TRESTLE_COOKIE_SECURE" => {
                self.cookie_secure =
                    parse_enum("TRESTLE_COOKIE_SECURE", value, "`auto`, `always`, `never`")?;
            }
            "TRESTLE_TRUST_FORWARDED_HEADERS" => {
                self.trust_forwarded_headers = parse("TRESTLE_TRUST_FORWARDED_HEADERS", value)?;
            }
            "TRESTLE_SESSION_TTL_MINUTES" => {
                self.session_ttl_minutes = parse("TRESTLE_SESSION_TTL_MINUTES", value)?;
            }
            "TRESTLE_MAX_BODY_BYTES" => {
                self.max_body_bytes = parse("TRESTLE_MAX_BODY_BYTES", value)?;
            }
            "TRESTLE_LOGIN_FAILURE_WINDOW_SECONDS" => {
                self.login_failure_window_seconds =
                    parse("TRESTLE_LOGIN_FAILURE_WINDOW_SECONDS", value)?;
            }
            "TRESTLE_LOGIN_MAX_FAILURES_PER_ACCOUNT" => {
                self.login_max_failures_per_account =
                    parse("TRESTLE_LOGIN_MAX_FAILURES_PER_ACCOUNT", value)?;
            }
            "TRESTLE_LOGIN_MAX_FAILURES_PER_IP" => {
                self.login_max_failures_per_ip = parse("TRESTLE_LOGIN_MAX_FAILURES_PER_IP", value)?;
            }
            "TRESTLE_SHUTDOWN_GRACE_SECONDS" => {
                self.shutdown_grace_seconds = parse("TRESTLE_SHUTDOWN_GRACE_SECONDS", value)?;
            }
            "TRESTLE_EGRESS_ALLOW" => {
                let allow = value
                    .split(',')
                    .map(str::trim)
                    .filter(|entry| !entry.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>();
                trestle_outbound::EgressPolicy::from_allow_list(&allow).map_err(|error| {
                    ConfigError::EnvironmentInvalid {
                        variable: "TRESTLE_EGRESS_ALLOW",
                        message: error.to_string(),
                    }
                })?;
                self.egress = Some(EgressLayer { allow: Some(allow) });
            }
            _ => {}
        }
        Ok(())
    }

    /// Fills every unset field of `self` from `lower` (a layer of lower precedence).
    fn or(self, lower: ConfigLayer) -> ConfigLayer {
        ConfigLayer {
            data_dir: self.data_dir.or(lower.data_dir),
            db: self.db.or(lower.db),
            listen: self.listen.or(lower.listen),
            public_url: self.public_url.or(lower.public_url),
            log_format: self.log_format.or(lower.log_format),
            log_filter: self.log_filter.or(lower.log_filter),
            cookie_secure: self.cookie_secure.or(lower.cookie_secure),
            trust_forwarded_headers: self
                .trust_forwarded_headers
                .or(lower.trust_forwarded_headers),
            session_ttl_minutes: self.session_ttl_minutes.or(lower.session_ttl_minutes),
            max_body_bytes: self.max_body_bytes.or(lower.max_body_bytes),
            login_failure_window_seconds: self
                .login_failure_window_seconds
                .or(lower.login_failure_window_seconds),
            login_max_failures_per_account: self
                .login_max_failures_per_account
                .or(lower.login_max_failures_per_account),
            login_max_failures_per_ip: self
                .login_max_failures_per_ip
                .or(lower.login_max_failures_per_ip),
            shutdown_grace_seconds: self.shutdown_grace_seconds.or(lower.shutdown_grace_seconds),
            egress: match (self.egress, lower.egress) {
                (Some(higher), Some(lower)) => Some(EgressLayer {
                    allow: higher.allow.or(lower.allow),
                }),
                (higher, lower) => higher.or(lower),
            },
        }
    }
}

impl ServerConfig {
    /// Merges the layers (flags > environment > file) over the defaults and validates the result.
    pub fn resolve(
        flags: ConfigLayer,
        environment: ConfigLayer,
        file: Option<ConfigLayer>,
    ) -> Result<ServerConfig, ConfigError> {
        let merged = flags.or(environment).or(file.unwrap_or_default());
        let data_dir = merged
            .data_dir
            .unwrap_or_else(|| PathBuf::from("./trestle-data"));
        let database_url = merged.db.unwrap_or_else(|| default_sqlite_url(&data_dir));
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError::InvalidValue {
                key: "db",
                message: "use `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DATABASE`"
                    .to_owned(),
            });
        }
        let max_body_bytes = merged.max_body_bytes.unwrap_or(1024 * 1024);
        if max_body_bytes < 1024 {
            return Err(ConfigError::InvalidValue {
                key: "max_body_bytes",
                message: "must be at least 1024".to_owned(),
            });
        }
        if let Some(public_url) = &merged.public_url
            && !(public_url.starts_with("http://") || public_url.starts_with("https://"))
        {
            return Err(ConfigError::InvalidValue {
                key: "public_url",
                message: format!("`{public_url}` must start with http:// or https://"),
            });
        }
        let egress_allow = merged
            .egress
            .and_then(|egress| egress.allow)
            .unwrap_or_default();
        let egress_policy = trestle_outbound::EgressPolicy::from_allow_list(&egress_allow)
            .map_err(|error| ConfigError::InvalidValue {
                key: "egress.allow",
                message: error.to_string(),
            })?;
        Ok(ServerConfig {
            data_dir,
            database_url,
            listen: merged
                .listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            public_url: merged
                .public_url
                .map(|url| url.trim_end_matches('/').to_owned()),
            log_format: merged.log_format.unwrap_or(LogFormat::Human),
            log_filter: merged.log_filter.unwrap_or_else(|| "info".to_owned()),
            cookie_secure: merged.cookie_secure.unwrap_or(CookieSecure::Auto),
            trust_forwarded_headers: merged.trust_forwarded_headers.unwrap_or(false),
            session_ttl_minutes: merged.session_ttl_minutes.unwrap_or(720).max(1),
            max_body_bytes,
            login_failure_window_seconds: merged.login_failure_window_seconds.unwrap_or(900).max(1),
            login_max_failures_per_account: merged
                .login_max_failures_per_account
                .unwrap_or(5)
                .max(1),
            login_max_failures_per_ip: merged.login_max_failures_per_ip.unwrap_or(20).max(1),
            shutdown_grace_seconds: merged.shutdown_grace_seconds.unwrap_or(30),
            egress_policy,
        })
    }

    /// Whether the database is the embedded SQLite one (its folder must exist before connecting).
    pub fn uses_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }

    /// The URL to print and to build links with.
    pub fn display_url(&self, bound_address: SocketAddr) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound_address}"))
    }
}

fn default_sqlite_url(data_dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("trestle.db").display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(pairs: &[(&str, &str)]) -> ConfigLayer {
        ConfigLayer::from_environment(
            pairs
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
        )
        .unwrap()
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config =
            ServerConfig::resolve(ConfigLayer::default(), ConfigLayer::default(), None).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.data_dir, PathBuf::from("./trestle-data"));
        assert_eq!(
            config.database_url,
            "sqlite://./trestle-data/trestle.db?mode=rwc"
        );
        assert_eq!(config.log_format, LogFormat::Human);
        assert!(config.uses_sqlite());
    }

    #[test]
    fn flags_beat_environment_beat_file_beat_defaults() {
        let file: ConfigLayer = toml::from_str(
            "listen = \"127.0.0.1:1111\"\ndb = \"postgres://file/db\"\nlog_format = \"json\"\nsession_ttl_minutes = 5\n",
        )
        .unwrap();
        let env = environment(&[
            ("TRESTLE_LISTEN", "127.0.0.1:2222"),
            ("TRESTLE_DB", "postgres://env/db"),
            ("TRESTLE_UNRELATED", "ignored"),
        ]);
        let flags = ConfigLayer {
            listen: Some("127.0.0.1:3333".parse().unwrap()),
            ..ConfigLayer::default()
        };
        let config = ServerConfig::resolve(flags, env, Some(file)).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:3333");
        assert_eq!(config.database_url, "postgres://env/db");
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.session_ttl_minutes, 5);
        assert_eq!(config.max_body_bytes, 1024 * 1024);
    }

    #[test]
    fn bad_values_are_reported_with_their_source() {
        let error =
            ConfigLayer::from_environment([("TRESTLE_LOG_FORMAT".to_owned(), "xml".to_owned())])
                .unwrap_err();
        assert!(error.to_string().contains("TRESTLE_LOG_FORMAT"));
        assert!(toml::from_str::<ConfigLayer>("lisen = \"x\"").is_err());
        let error = ServerConfig::resolve(
            ConfigLayer {
                db: Some("mysql://x".to_owned()),
                ..ConfigLayer::default()
            },
            ConfigLayer::default(),
            None,
        )
        .unwrap_err();
        assert_eq!(error.code(), "CONFIG_INVALID_VALUE");
    }

    #[test]
    fn egress_allow_comes_from_the_file_table_or_the_environment() {
        let file: ConfigLayer = toml::from_str("egress.allow = [\"127.0.0.1/32\"]\n").unwrap();
        let config = ServerConfig::resolve(
            ConfigLayer::default(),
            ConfigLayer::default(),
            Some(file.clone()),
        )
        .unwrap();
        assert!(
            config
                .egress_policy
                .check_address("127.0.0.1".parse().unwrap())
                .is_ok()
        );
        assert!(
            config
                .egress_policy
                .check_address("10.0.0.1".parse().unwrap())
                .is_err()
        );
        let env = environment(&[("TRESTLE_EGRESS_ALLOW", "10.0.0.0/8, ::1/128")]);
        let config = ServerConfig::resolve(ConfigLayer::default(), env, Some(file)).unwrap();
        assert_eq!(config.egress_policy.allowed_ranges().len(), 2);
        assert!(
            config
                .egress_policy
                .check_address("127.0.0.1".parse().unwrap())
                .is_err(),
            "the environment replaces the file's list"
        );
        let defaults =
            ServerConfig::resolve(ConfigLayer::default(), ConfigLayer::default(), None).unwrap();
        assert!(defaults.egress_policy.allowed_ranges().is_empty());
        let error = ConfigLayer::from_environment([(
            "TRESTLE_EGRESS_ALLOW".to_owned(),
            "localhost".to_owned(),
        )])
        .unwrap_err();
        assert!(
            error.to_string().contains("TRESTLE_EGRESS_ALLOW"),
            "{error}"
        );
        assert!(toml::from_str::<ConfigLayer>("egress.deny = []").is_err());
        let error = ServerConfig::resolve(
            ConfigLayer {
                egress: Some(EgressLayer {
                    allow: Some(vec!["not a range".to_owned()]),
                }),
                ..ConfigLayer::default()
            },
            ConfigLayer::default(),
            None,
        )
        .unwrap_err();
        assert_eq!(error.code(), "CONFIG_INVALID_VALUE");
        assert!(error.to_string().contains("egress.allow"), "{error}");
    }
}
