//! Server settings: one validated [`Settings`] struct built from compiled defaults, then an
//! optional TOML file (`--config`), then `PASSERELLE_*` environment variables, then
//! command-line flags (each layer overrides the previous one), with figment.
//!
//! Every key, its default and its range is listed on [`Settings`] and in
//! `passerelle serve --help`. An invalid value stops the server at start with a message
//! naming the key and the file or environment variable it came from (values from flags are
//! checked by clap first).
//!
//! API keys are secrets: they come only from `api_keys_file` or the `PASSERELLE_API_KEYS`
//! environment variable (never a flag, which other users can see in the process list, and
//! never inline in the config file), and are never printed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use passerelle_model::engine::{MAX_PROFILE_ITEMS, MAX_TOP_K};
use serde::{Deserialize, Serialize};

use crate::server::EngineSource;
use crate::telemetry::LogFormat;

/// Prefix of the environment variables read into [`Settings`] (`PASSERELLE_MAX_TOP_K` sets
/// `max_top_k`).
pub const ENV_PREFIX: &str = "PASSERELLE_";
/// Environment variable holding API keys, comma-separated (in addition to `api_keys_file`).
pub const API_KEYS_ENV: &str = "PASSERELLE_API_KEYS";
/// Environment variable naming the config file (same as `--config`).
pub const CONFIG_ENV: &str = "PASSERELLE_CONFIG";

/// Environment variables with the [`ENV_PREFIX`] that are not settings keys but are read
/// elsewhere (so they are not reported as unknown).
const ENV_NOT_KEYS: &[&str] = &["config", "api_keys"];

/// The range of a whole-number setting, shared by [`Settings::validate`] (values from the
/// config file and environment) and the `serve` flag of the same key (clap's check), so that
/// the two never disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingRange {
    /// The key, as in the config file.
    pub key: &'static str,
    /// Smallest value accepted.
    pub min: u64,
    /// Largest value accepted.
    pub max: u64,
    /// Why the maximum, appended to the message (empty, or ` (the engine's hard cap)`).
    pub why_max: &'static str,
}

impl SettingRange {
    /// `min..=max`, for the flag's value parser.
    pub const fn values(&self) -> std::ops::RangeInclusive<u64> {
        self.min..=self.max
    }

    /// Checks `value` (a `usize`, `u32` or `u64` setting).
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] naming the key, the value and the range.
    pub fn check(&self, value: impl TryInto<u64> + std::fmt::Display + Copy) -> Result<(), SettingsError> {
        match value.try_into() {
            Ok(v) if self.values().contains(&v) => Ok(()),
            _ => Err(SettingsError::Invalid { key: self.key, reason: self.out_of_range(value) }),
        }
    }

    /// Why `value` (any whole number, negative ones included) is refused.
    fn out_of_range(&self, value: impl std::fmt::Display) -> String {
        format!("{value} is out of range {}", self.span())
    }

    /// Why `found` (figment's account of a value that is no whole number) is refused.
    fn not_whole(&self, found: impl std::fmt::Display) -> String {
        format!("found {found}, expected a whole number in {}", self.span())
    }

    /// `1..=100 (the engine's hard cap)`.
    fn span(&self) -> String {
        format!("{}..={}{}", self.min, self.max, self.why_max)
    }
}

/// The ranges of the whole-number settings (see [`SettingRange`]).
pub mod ranges {
    use super::SettingRange;
    use passerelle_model::engine;

    const fn range(key: &'static str, min: u64, max: u64) -> SettingRange {
        SettingRange { key, min, max, why_max: "" }
    }

    /// `max_request_bytes`: 1 KiB..=64 MiB.
    pub const MAX_REQUEST_BYTES: SettingRange = range("max_request_bytes", 1024, 64 * 1024 * 1024);
    /// `max_response_bytes`: 64 KiB..=256 MiB.
    pub const MAX_RESPONSE_BYTES: SettingRange = range("max_response_bytes", 64 * 1024, 256 * 1024 * 1024);
    /// `max_profile_items`: up to the engine's cap.
    pub const MAX_PROFILE_ITEMS: SettingRange = SettingRange {
        key: "max_profile_items",
        min: 1,
        max: engine::MAX_PROFILE_ITEMS as u64,
        why_max: " (the engine's hard cap)",
    };
    /// `max_top_k`: up to the engine's cap.
    pub const MAX_TOP_K: SettingRange =
        SettingRange { key: "max_top_k", min: 1, max: engine::MAX_TOP_K as u64, why_max: " (the engine's hard cap)" };
    /// `max_concurrent_requests`.
    pub const MAX_CONCURRENT_REQUESTS: SettingRange = range("max_concurrent_requests", 1, 100_000);
    /// `max_connections`.
    pub const MAX_CONNECTIONS: SettingRange = range("max_connections", 1, 100_000);
    /// `request_timeout_ms`: 1 ms..=1 hour.
    pub const REQUEST_TIMEOUT_MS: SettingRange = range("request_timeout_ms", 1, 3_600_000);
    /// `shutdown_grace_secs`: 0..=1 hour.
    pub const SHUTDOWN_GRACE_SECS: SettingRange = range("shutdown_grace_secs", 0, 3600);

    /// Every range, in the order of [`super::Settings::keys`].
    pub const ALL: [SettingRange; 8] = [
        MAX_REQUEST_BYTES,
        MAX_RESPONSE_BYTES,
        MAX_PROFILE_ITEMS,
        MAX_TOP_K,
        MAX_CONCURRENT_REQUESTS,
        MAX_CONNECTIONS,
        REQUEST_TIMEOUT_MS,
        SHUTDOWN_GRACE_SECS,
    ];
}

/// Every setting of `passerelle serve`. Units are in the key names (`_bytes`, `_ms`,
/// `_secs`).
///
/// | key | default | range / meaning |
/// |---|---|---|
/// | `addr` | `127.0.0.1:50051` | gRPC listen address |
/// | `log_format` | `text` | `text` or `json` |
/// | `data` | embedded ROME v460 | folder laid out like France Travail's ROME export |
/// | `target_sets` | embedded `data/target_sets.toml` | target-set rules, TOML |
/// | `model` | embedded model | artifact of `passerelle train`; reloaded on SIGHUP / `ReloadModel` |
/// | `max_request_bytes` | 262144 | 1024..=67108864; larger requests get OUT_OF_RANGE (tonic's decoder) |
/// | `max_response_bytes` | 4194304 | 65536..=268435456 |
/// | `max_profile_items` | 1000 | 1..=1000 (engine cap) items per profile list |
/// | `max_top_k` | 100 | 1..=100 (engine cap) |
/// | `max_concurrent_requests` | 256 | 1..=100000 requests in progress over all connections; more get RESOURCE_EXHAUSTED at once |
/// | `max_connections` | 1024 | 1..=100000 open connections; more are closed at once |
/// | `request_timeout_ms` | 10000 | 1..=3600000; the client's `grpc-timeout` applies when shorter; DEADLINE_EXCEEDED |
/// | `shutdown_grace_secs` | 10 | 0..=3600 for in-flight requests after SIGTERM/SIGINT |
/// | `tls_cert`, `tls_key` | unset | PEM certificate chain and private key: TLS (rustls) when both set |
/// | `tls_client_ca` | unset | PEM CA: clients must present a certificate it signed (mutual TLS) |
/// | `api_keys_file` | unset | one key per line (`#` comments); with `PASSERELLE_API_KEYS`, keys are required |
/// | `training_catalogue` | unset | operator training catalogue, CSV; overrides the embedded training facts |
/// | `metrics_addr` | unset | Prometheus endpoint; off when unset |
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// gRPC listen address.
    #[serde(deserialize_with = "listen_addr::required")]
    pub addr: SocketAddr,
    /// Log line format: `text` or `json`.
    pub log_format: String,
    /// Folder laid out like France Travail's ROME export (`None`: embedded ROME v460).
    pub data: Option<PathBuf>,
    /// Target-set rules, TOML (`None`: embedded `data/target_sets.toml`).
    pub target_sets: Option<PathBuf>,
    /// Model artifact written by `passerelle train` (`None`: embedded model). Reloaded on
    /// SIGHUP and by `AdminService.ReloadModel`.
    pub model: Option<PathBuf>,
    /// Largest request accepted, in bytes.
    pub max_request_bytes: usize,
    /// Largest response sent, in bytes.
    pub max_response_bytes: usize,
    /// Most entries in each item list of a profile (at most the engine's cap, 1000).
    pub max_profile_items: usize,
    /// Largest `top_k` accepted (at most the engine's cap, 100).
    pub max_top_k: u32,
    /// Requests in progress at once over all connections (health and reflection excluded);
    /// one more is answered RESOURCE_EXHAUSTED without waiting.
    pub max_concurrent_requests: usize,
    /// Open client connections; one more is closed as soon as it is accepted.
    pub max_connections: usize,
    /// Server-side limit of one request, in milliseconds; a shorter client deadline
    /// (`grpc-timeout`) wins. Expiry answers DEADLINE_EXCEEDED.
    pub request_timeout_ms: u64,
    /// After SIGTERM/SIGINT, how long in-flight requests and open streams may go on, in
    /// seconds.
    pub shutdown_grace_secs: u64,
    /// TLS certificate chain, PEM (with `tls_key`).
    pub tls_cert: Option<PathBuf>,
    /// TLS private key, PEM (with `tls_cert`).
    pub tls_key: Option<PathBuf>,
    /// CA certificate(s), PEM, that client certificates must chain to (mutual TLS; requires
    /// `tls_cert` and `tls_key`).
    pub tls_client_ca: Option<PathBuf>,
    /// File of API keys, one per line; blank lines and lines starting with `#` are skipped.
    pub api_keys_file: Option<PathBuf>,
    /// Operator training catalogue, CSV (certification,level,hours,cost,region,provider,
    /// covered_items); overrides the embedded training facts; bad rows are logged and skipped.
    pub training_catalogue: Option<PathBuf>,
    /// Prometheus endpoint; off when unset.
    #[serde(deserialize_with = "listen_addr::optional")]
    pub metrics_addr: Option<SocketAddr>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            log_format: "text".to_string(),
            data: None,
            target_sets: None,
            model: None,
            max_request_bytes: crate::server::MAX_REQUEST_BYTES,
            max_response_bytes: crate::server::MAX_RESPONSE_BYTES,
            max_profile_items: MAX_PROFILE_ITEMS,
            max_top_k: MAX_TOP_K,
            max_concurrent_requests: 256,
            max_connections: 1024,
            request_timeout_ms: crate::server::REQUEST_TIMEOUT_SECS * 1000,
            shutdown_grace_secs: crate::server::SHUTDOWN_GRACE_SECS,
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            api_keys_file: None,
            training_catalogue: None,
            metrics_addr: None,
        }
    }
}

/// Why the settings are refused. The message names the key.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The config file named by `--config` / `PASSERELLE_CONFIG` cannot be read.
    #[error("config file {file}: cannot read: {source}")]
    ConfigFile {
        /// The file.
        file: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not UTF-8 text.
    #[error("config file {file}: line {line}: not valid UTF-8 (the file is TOML, UTF-8 text)")]
    ConfigNotUtf8 {
        /// The file.
        file: PathBuf,
        /// 1-based line of the first byte that is not UTF-8.
        line: usize,
    },
    /// A value has the wrong type, a key is unknown, or the file is not TOML.
    #[error("invalid configuration{}: {reason}", key.as_ref().map(|k| format!(" of `{k}`")).unwrap_or_default())]
    Parse {
        /// The key, when known.
        key: Option<String>,
        /// Where the value came from and what is wrong (from figment).
        reason: String,
    },
    /// A value is out of range or inconsistent with another.
    #[error("invalid setting `{key}`: {reason}")]
    Invalid {
        /// The key at fault.
        key: &'static str,
        /// What is wrong, with the value.
        reason: String,
    },
}

impl Settings {
    /// Builds the settings: defaults < `config` file (TOML) < `PASSERELLE_*` environment
    /// variables < `flags` (only the `Some` fields of `flags` override), then validates.
    ///
    /// Also returns warnings: environment variables with the prefix that are no key are
    /// ignored with a warning rather than refused, so that other tools' `PASSERELLE_*`
    /// variables do not stop the server.
    ///
    /// # Errors
    /// [`SettingsError`] naming the file or the key at fault.
    pub fn load(config: Option<&Path>, flags: &SettingsOverrides) -> Result<(Settings, Vec<String>), SettingsError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = config {
            // figment would read a missing file as empty: check it first.
            let bytes = std::fs::metadata(path)
                .and_then(|m| {
                    if m.is_file() {
                        Ok(())
                    } else {
                        Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file"))
                    }
                })
                .and_then(|()| std::fs::read(path))
                .map_err(|source| SettingsError::ConfigFile { file: path.to_path_buf(), source })?;
            // figment's own message for this is split over two lines and names no line.
            if let Err(line) = passerelle_model::error::utf8_or_line(&bytes) {
                return Err(SettingsError::ConfigNotUtf8 { file: path.to_path_buf(), line });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let mut warnings = Vec::new();
        let known = Settings::keys();
        for (name, _) in std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v))) {
            if !name.starts_with(ENV_PREFIX) {
                continue;
            }
            let key = name[ENV_PREFIX.len()..].to_ascii_lowercase();
            if !known.contains(&key.as_str()) && !ENV_NOT_KEYS.contains(&key.as_str()) {
                warnings.push(format!(
                    "environment variable {} is not a setting; ignored",
                    passerelle_model::error::echo(&name)
                ));
            }
        }
        // figment reads an environment value that is not UTF-8 with U+FFFD for the bad bytes
        // (a path then names another file), and cannot serialize a flag's path that is not
        // UTF-8 (its message named an internal type): both refused naming their source.
        for (key, path) in flags.paths() {
            if path.is_some_and(|p| p.to_str().is_none()) {
                // `data`, `target_sets` and `model` come through clap from their variable too.
                let name = env_name(key);
                let from_env =
                    std::env::var_os(&name).is_some_and(|v| Some(v.as_os_str()) == path.map(Path::as_os_str));
                let from = if from_env {
                    format!("environment variable {name}")
                } else {
                    format!("--{}", key.replace('_', "-"))
                };
                return Err(not_utf8(key, &from));
            }
        }
        let from_flags = Figment::from(Serialized::defaults(flags));
        for key in known.into_iter().filter(|key| !from_flags.contains(key)) {
            let name = env_name(key);
            if std::env::var_os(&name).is_some_and(|v| v.to_str().is_none()) {
                return Err(not_utf8(key, &format!("environment variable {name}")));
            }
        }
        let only: Vec<&str> = known.to_vec();
        figment = figment.merge(Env::prefixed(ENV_PREFIX).only(&only).ignore(ENV_NOT_KEYS));
        figment = figment.merge(Serialized::defaults(flags));
        let settings: Settings = figment.extract().map_err(parse_error)?;
        settings.validate().map_err(|e| match e {
            // Name where the value came from (flags are checked by clap before this).
            SettingsError::Invalid { key, reason } => match figment.find_metadata(key).and_then(|md| origin(md, key)) {
                Some(from) => SettingsError::Invalid { key, reason: format!("{reason}, from {from}") },
                None => SettingsError::Invalid { key, reason },
            },
            other => other,
        })?;
        Ok((settings, warnings))
    }

    /// The keys, as in the config file (lower case) and after the [`ENV_PREFIX`] (upper case).
    pub fn keys() -> [&'static str; 19] {
        [
            "addr",
            "log_format",
            "data",
            "target_sets",
            "model",
            "max_request_bytes",
            "max_response_bytes",
            "max_profile_items",
            "max_top_k",
            "max_concurrent_requests",
            "max_connections",
            "request_timeout_ms",
            "shutdown_grace_secs",
            "tls_cert",
            "tls_key",
            "tls_client_ca",
            "api_keys_file",
            "training_catalogue",
            "metrics_addr",
        ]
    }

    /// Checks ranges and consistency.
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] naming the key.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.log_format()?;
        for (key, path) in [
            ("data", &self.data),
            ("target_sets", &self.target_sets),
            ("model", &self.model),
            ("tls_cert", &self.tls_cert),
            ("tls_key", &self.tls_key),
            ("tls_client_ca", &self.tls_client_ca),
            ("api_keys_file", &self.api_keys_file),
            ("training_catalogue", &self.training_catalogue),
        ] {
            if path.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
                return Err(SettingsError::Invalid {
                    key,
                    reason: "the path is empty; leave the key out for its default".into(),
                });
            }
        }
        ranges::MAX_REQUEST_BYTES.check(self.max_request_bytes)?;
        ranges::MAX_RESPONSE_BYTES.check(self.max_response_bytes)?;
        ranges::MAX_PROFILE_ITEMS.check(self.max_profile_items)?;
        ranges::MAX_TOP_K.check(self.max_top_k)?;
        ranges::MAX_CONCURRENT_REQUESTS.check(self.max_concurrent_requests)?;
        ranges::MAX_CONNECTIONS.check(self.max_connections)?;
        ranges::REQUEST_TIMEOUT_MS.check(self.request_timeout_ms)?;
        ranges::SHUTDOWN_GRACE_SECS.check(self.shutdown_grace_secs)?;
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => {
                return Err(SettingsError::Invalid { key: "tls_key", reason: "required when tls_cert is set".into() })
            }
            (None, Some(_)) => {
                return Err(SettingsError::Invalid { key: "tls_cert", reason: "required when tls_key is set".into() })
            }
            _ => {}
        }
        if self.tls_client_ca.is_some() && self.tls_cert.is_none() {
            return Err(SettingsError::Invalid {
                key: "tls_client_ca",
                reason: "mutual TLS needs tls_cert and tls_key too".into(),
            });
        }
        if let Some(metrics) = self.metrics_addr {
            if metrics == self.addr {
                return Err(SettingsError::Invalid {
                    key: "metrics_addr",
                    reason: format!("{metrics} is also the gRPC addr"),
                });
            }
        }
        Ok(())
    }

    /// The log format.
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] for `log_format` other than `text` or `json`.
    pub fn log_format(&self) -> Result<LogFormat, SettingsError> {
        match self.log_format.as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(SettingsError::Invalid {
                key: "log_format",
                reason: format!("`{}` is neither `text` nor `json`", passerelle_model::error::echo(other)),
            }),
        }
    }

    /// Where the engine is loaded from.
    pub fn engine_source(&self) -> EngineSource {
        EngineSource {
            data: self.data.clone(),
            target_sets: self.target_sets.clone(),
            model: self.model.clone(),
            training_catalogue: self.training_catalogue.clone(),
        }
    }

    /// `request_timeout_ms` as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// `shutdown_grace_secs` as a duration.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

/// The environment variable of `key` (`PASSERELLE_MAX_TOP_K` for `max_top_k`).
fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

/// The error of a value of `key` from `from` (`environment variable PASSERELLE_DATA`,
/// `--data`) that is not UTF-8.
fn not_utf8(key: &'static str, from: &str) -> SettingsError {
    SettingsError::Invalid {
        key,
        reason: format!("the value is not valid UTF-8 (settings are UTF-8 text), from {from}"),
    }
}

/// A figment error as a [`SettingsError::Parse`] naming the key and where the value came
/// from (`environment variable PASSERELLE_MAX_TOP_K`, `config file /etc/passerelle.toml`).
fn parse_error(e: figment::Error) -> SettingsError {
    use figment::error::{Actual, Kind};
    let key = e.path.last().cloned();
    // A whole number the setting's type cannot hold (`-1`, or over `u32::MAX` for
    // `max_top_k`) is out of its range: the range message of the values it can hold, where
    // figment said `invalid type: found signed int `-1`, expected u64`.
    // Any other value is no whole number: said so with the range, where figment named the
    // Rust type (`found string "many", expected usize`).
    if let (Some(k), Kind::InvalidType(actual, _) | Kind::InvalidValue(actual, _)) = (&key, &e.kind) {
        if let Some(range) = ranges::ALL.iter().find(|r| r.key.eq_ignore_ascii_case(k)) {
            let reason = match actual {
                Actual::Signed(v) => range.out_of_range(v),
                Actual::Unsigned(v) => range.out_of_range(v),
                // figment reads a variable too large for any integer as a string.
                Actual::Str(v)
                    if is_whole_number(v) && v.trim().parse::<u64>().map_or(true, |n| !range.values().contains(&n)) =>
                {
                    range.out_of_range(v.trim())
                }
                // As written: figment shows `5.0` as float `5`, which reads as a whole number.
                Actual::Float(v) => range.not_whole(format!("float `{v:?}`")),
                // Echoed: figment quotes a string in Rust's escapes (`"5\u{202e}"`); a
                // bidirectional override or a control character is shown as `?`, as elsewhere.
                Actual::Str(v) => range.not_whole(format!("string \"{}\"", passerelle_model::error::echo(v))),
                other => range.not_whole(other),
            };
            let reason = match e.metadata.as_ref().and_then(|md| origin(md, range.key)) {
                Some(from) => format!("{reason}, from {from}"),
                None => reason,
            };
            return SettingsError::Invalid { key: range.key, reason };
        }
    }
    let origin = match &e.metadata {
        Some(md) => match origin(md, key.as_deref().unwrap_or_default()) {
            Some(from) => format!(" in {from}"),
            None => format!(" in {}", md.name),
        },
        None => String::new(),
    };
    // figment's own wording quotes the list as a whole and each key in it (`one of `addr`, …`).
    let (key, kind) = match &e.kind {
        // The key as written: `Max_Top_K` is not `max_top_k`, which would read as accepted.
        Kind::UnknownField(found, expected) => {
            let lower = found.to_ascii_lowercase();
            let case = if *found != lower && expected.contains(&lower.as_str()) {
                format!(" (keys are lower case: `{lower}`)")
            } else {
                String::new()
            };
            // Echoed: a key may hold a bidirectional override that turns the message around.
            let shown = passerelle_model::error::echo(found);
            let kind = format!(
                "unknown field: found `{shown}`{case}, expected one of {}",
                expected.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
            );
            (Some(shown), kind)
        }
        // The TOML parser quotes the offending line of the file: an invisible character there
        // (a bidirectional override turns the line around) is shown as `?`.
        kind => (key.map(|k| k.to_ascii_lowercase()), passerelle_model::error::mask_hidden(&kind.to_string())),
    };
    SettingsError::Parse { key, reason: format!("{kind}{origin}") }
}

/// Digits with an optional sign (surrounding spaces ignored), of any length.
fn is_whole_number(value: &str) -> bool {
    let value = value.trim();
    let digits = value.strip_prefix(['-', '+']).unwrap_or(value);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Where the value of `key` came from, when it came from the config file
/// (`config file /etc/passerelle.toml`) or the environment
/// (`environment variable PASSERELLE_MAX_TOP_K`); `None` for defaults and flags.
fn origin(md: &figment::Metadata, key: &str) -> Option<String> {
    match &md.source {
        Some(figment::Source::File(path)) => Some(format!("config file {}", path.display())),
        _ if md.name.contains("environment") && !key.is_empty() => {
            Some(format!("environment variable {}", env_name(key)))
        }
        _ => None,
    }
}

/// An address to listen on: an IP address and a port. The standard library's own message
/// (`invalid socket address syntax`) says neither what is expected nor that a host name
/// such as `localhost` is not resolved. Used by the `--addr`/`--metrics-addr` flags and
/// by the `addr`/`metrics_addr` keys of the config file and environment.
///
/// # Errors
/// The reason, for clap or serde to wrap with the option or key.
pub fn parse_listen_addr(value: &str) -> Result<SocketAddr, String> {
    value.parse().map_err(|_| {
        "expected an IP address and a port, such as 127.0.0.1:50051, 0.0.0.0:50051 or [::1]:50051 \
         (host names such as localhost are not resolved)"
            .to_string()
    })
}

/// `addr` and `metrics_addr` from the config file or the environment, with the reason the
/// flags give ([`parse_listen_addr`]) instead of serde's
/// `invalid socket address syntax`.
mod listen_addr {
    use std::fmt;
    use std::net::SocketAddr;

    use serde::de::{Error, Visitor};
    use serde::Deserializer;

    struct Addr;

    impl Visitor<'_> for Addr {
        type Value = SocketAddr;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an IP address and a port, such as 127.0.0.1:50051")
        }

        fn visit_str<E: Error>(self, v: &str) -> Result<SocketAddr, E> {
            if v.is_empty() {
                return Err(E::custom("the address is empty; leave the key out for its default"));
            }
            super::parse_listen_addr(v)
                .map_err(|reason| E::custom(format!("`{}`: {reason}", passerelle_model::error::echo(v))))
        }

        // `PASSERELLE_ADDR=50051` (a port alone) reads as a number.
        fn visit_u64<E: Error>(self, v: u64) -> Result<SocketAddr, E> {
            self.visit_str(&v.to_string())
        }

        fn visit_i64<E: Error>(self, v: i64) -> Result<SocketAddr, E> {
            self.visit_str(&v.to_string())
        }

        fn visit_f64<E: Error>(self, v: f64) -> Result<SocketAddr, E> {
            self.visit_str(&v.to_string())
        }
    }

    struct MaybeAddr;

    impl<'de> Visitor<'de> for MaybeAddr {
        type Value = Option<SocketAddr>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            Addr.expecting(f)
        }

        fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(Addr).map(Some)
        }
    }

    /// `addr`.
    pub(super) fn required<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
        d.deserialize_any(Addr)
    }

    /// `metrics_addr`.
    pub(super) fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
        d.deserialize_option(MaybeAddr)
    }
}

/// Command-line overrides: each `Some` field replaces the value from defaults, file and
/// environment.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SettingsOverrides {
    /// `addr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<SocketAddr>,
    /// `log_format`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
    /// `data`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    /// `target_sets`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_sets: Option<PathBuf>,
    /// `model`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<PathBuf>,
    /// `max_request_bytes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_request_bytes: Option<usize>,
    /// `max_response_bytes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_response_bytes: Option<usize>,
    /// `max_profile_items`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_profile_items: Option<usize>,
    /// `max_top_k`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_top_k: Option<u32>,
    /// `max_concurrent_requests`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrent_requests: Option<usize>,
    /// `max_connections`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<usize>,
    /// `request_timeout_ms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_timeout_ms: Option<u64>,
    /// `shutdown_grace_secs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shutdown_grace_secs: Option<u64>,
    /// `tls_cert`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// `tls_key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// `tls_client_ca`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_client_ca: Option<PathBuf>,
    /// `api_keys_file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_keys_file: Option<PathBuf>,
    /// `training_catalogue`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_catalogue: Option<PathBuf>,
    /// `metrics_addr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_addr: Option<SocketAddr>,
}

impl SettingsOverrides {
    /// The path keys and their values.
    fn paths(&self) -> [(&'static str, Option<&Path>); 8] {
        [
            ("data", self.data.as_deref()),
            ("target_sets", self.target_sets.as_deref()),
            ("model", self.model.as_deref()),
            ("tls_cert", self.tls_cert.as_deref()),
            ("tls_key", self.tls_key.as_deref()),
            ("tls_client_ca", self.tls_client_ca.as_deref()),
            ("api_keys_file", self.api_keys_file.as_deref()),
            ("training_catalogue", self.training_catalogue.as_deref()),
        ]
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// A folder for one test's config files, removed when dropped.
    fn scratch() -> tempfile::TempDir {
        tempfile::Builder::new().prefix("passerelle-settings-").tempdir().unwrap()
    }

    /// Writes `text` to `name` in `dir`.
    fn config(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn defaults_are_valid_and_match_the_engine_caps() {
        let s = Settings::default();
        s.validate().unwrap();
        assert_eq!((s.max_top_k, s.max_profile_items), (100, 1000));
        assert_eq!(s.addr.to_string(), "127.0.0.1:50051");
        assert_eq!(s.request_timeout(), Duration::from_secs(10));
    }

    #[test]
    fn the_key_list_is_every_field() {
        let json = serde_json::to_value(Settings::default()).unwrap();
        let mut fields: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        let mut keys = Settings::keys().to_vec();
        fields.sort_unstable();
        keys.sort_unstable();
        assert_eq!(fields, keys);
    }

    #[test]
    fn file_overrides_defaults_and_flags_override_the_file() {
        let dir = scratch();
        let path = config(
            &dir,
            "layers.toml",
            "max_top_k = 20\nmax_profile_items = 50\naddr = \"127.0.0.1:6000\"\nmodel = \"/srv/m.json\"\n",
        );
        let flags = SettingsOverrides { max_top_k: Some(30), ..Default::default() };
        let (s, _) = Settings::load(Some(&path), &flags).unwrap();
        assert_eq!(s.max_top_k, 30, "flag over file");
        assert_eq!(s.max_profile_items, 50, "file over default");
        assert_eq!(s.addr.to_string(), "127.0.0.1:6000");
        assert_eq!(s.model, Some(PathBuf::from("/srv/m.json")));
        assert_eq!(s.max_connections, 1024, "default");
    }

    #[test]
    fn out_of_range_values_name_the_key() {
        let flags = SettingsOverrides { max_top_k: Some(500), ..Default::default() };
        let err = Settings::load(None, &flags).unwrap_err().to_string();
        assert_eq!(err, "invalid setting `max_top_k`: 500 is out of range 1..=100 (the engine's hard cap)");
        let flags = SettingsOverrides { max_concurrent_requests: Some(0), ..Default::default() };
        let err = Settings::load(None, &flags).unwrap_err().to_string();
        assert_eq!(err, "invalid setting `max_concurrent_requests`: 0 is out of range 1..=100000");
        let flags = SettingsOverrides { tls_cert: Some("c.pem".into()), ..Default::default() };
        let err = Settings::load(None, &flags).unwrap_err().to_string();
        assert_eq!(err, "invalid setting `tls_key`: required when tls_cert is set");
        let flags = SettingsOverrides { log_format: Some("yaml".into()), ..Default::default() };
        let err = Settings::load(None, &flags).unwrap_err().to_string();
        assert_eq!(err, "invalid setting `log_format`: `yaml` is neither `text` nor `json`");
    }

    #[test]
    fn bad_file_content_names_the_key_and_the_file() {
        let dir = scratch();
        let path = config(&dir, "typo.toml", "max_topk = 20\n");
        let err = file_error(&path);
        assert!(err.starts_with("invalid configuration of `max_topk`: unknown field: found `max_topk`"), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
        // The list of keys is quoted key by key, not as a whole around quoted keys.
        assert!(err.contains(", expected one of `addr`, `log_format`, `data`,"), "{err}");
        assert!(err.contains("`training_catalogue`, `metrics_addr` in config file "), "{err}");
        assert!(!err.contains("``") && !err.contains("`one of"), "{err}");
        // A key in the wrong case is named as written, with the key it was meant to be.
        let path = config(&dir, "case.toml", "Max_Top_K = 5\n");
        let err = file_error(&path);
        assert!(
            err.starts_with(
                "invalid configuration of `Max_Top_K`: unknown field: found `Max_Top_K` (keys are lower case: \
                 `max_top_k`), expected one of `addr`,"
            ),
            "{err}"
        );
        // A key is echoed: a bidirectional override in it is shown as `?`.
        let path = config(&dir, "bidi.toml", "\"max\u{202E}k\" = 5\n");
        let err = file_error(&path);
        assert!(
            err.starts_with("invalid configuration of `max?k`: unknown field: found `max?k`, expected one of `addr`,"),
            "{err}"
        );
        let path = config(&dir, "type.toml", "max_top_k = \"twenty\"\n");
        let err = file_error(&path);
        assert!(err.contains("max_top_k") && err.contains(&path.display().to_string()), "{err}");
        let missing = path.with_file_name("absent.toml");
        let err = Settings::load(Some(&missing), &SettingsOverrides::default()).unwrap_err().to_string();
        assert!(err.starts_with(&format!("config file {}: cannot read: ", missing.display())), "{err}");
    }

    /// Range errors named the key, not the file the value came from.
    #[test]
    fn a_value_out_of_range_in_the_file_names_the_file() {
        let dir = scratch();
        let path = config(&dir, "c.toml", "max_top_k = 500\n");
        let err = file_error(&path);
        assert_eq!(
            err,
            format!(
                "invalid setting `max_top_k`: 500 is out of range 1..=100 (the engine's hard cap), from config file {}",
                path.display()
            )
        );
        let path = config(&dir, "c.toml", "log_format = \"yaml\"\n");
        let err = file_error(&path);
        assert_eq!(
            err,
            format!(
                "invalid setting `log_format`: `yaml` is neither `text` nor `json`, from config file {}",
                path.display()
            )
        );
    }

    /// The error of loading the config file `path` with no flags.
    fn file_error(path: &Path) -> String {
        Settings::load(Some(path), &SettingsOverrides::default()).unwrap_err().to_string()
    }

    /// The doc table of [`Settings`] writes each range by hand: it must say what
    /// [`ranges::ALL`] enforces, and the defaults must lie in their ranges.
    #[test]
    fn the_settings_doc_table_gives_the_enforced_ranges() {
        let source = include_str!("settings.rs");
        let defaults = serde_json::to_value(Settings::default()).unwrap();
        for range in ranges::ALL {
            let row = source
                .lines()
                .find(|l| l.starts_with(&format!("/// | `{}` |", range.key)))
                .unwrap_or_else(|| panic!("no doc row for {}", range.key));
            let cells: Vec<&str> = row.split(" | ").collect();
            assert!(cells[3].starts_with(&format!("{}..={}", range.min, range.max)), "{row}");
            assert_eq!(cells[2], defaults[range.key].to_string(), "{row}");
            range.check(defaults[range.key].as_u64().unwrap()).unwrap();
        }
    }

    /// figment said `invalid type: found signed int `-1`, expected u64` (or `invalid value`
    /// for a `u32`): a whole number the key's type cannot hold gets the range message.
    #[test]
    fn a_negative_or_too_large_whole_number_in_the_file_gets_the_range_message() {
        let dir = scratch();
        let path = config(&dir, "n.toml", "max_top_k = -1\n");
        let err = file_error(&path);
        assert_eq!(
            err,
            format!(
                "invalid setting `max_top_k`: -1 is out of range 1..=100 (the engine's hard cap), from config file {}",
                path.display()
            )
        );
        for range in ranges::ALL {
            let path = config(&dir, "n.toml", &format!("{} = -1\n", range.key));
            let err = file_error(&path);
            assert_eq!(
                err,
                format!(
                    "invalid setting `{}`: -1 is out of range {}..={}{}, from config file {}",
                    range.key,
                    range.min,
                    range.max,
                    range.why_max,
                    path.display()
                )
            );
        }
        let path = config(&dir, "n.toml", "max_top_k = 5000000000\n");
        let err = file_error(&path);
        assert_eq!(
            err,
            format!(
                "invalid setting `max_top_k`: 5000000000 is out of range 1..=100 (the engine's hard cap), from config \
                 file {}",
                path.display()
            )
        );
    }

    /// figment named the Rust type (`found string "many", expected usize`), and read a
    /// variable too large for any integer as such a string.
    #[test]
    fn a_value_that_is_no_whole_number_names_the_range_not_a_rust_type() {
        let dir = scratch();
        for (text, reason) in [
            ("\"many\"", "found string \"many\", expected a whole number in 1..=100 (the engine's hard cap)"),
            ("1.5", "found float `1.5`, expected a whole number in 1..=100 (the engine's hard cap)"),
            ("5.0", "found float `5.0`, expected a whole number in 1..=100 (the engine's hard cap)"),
            ("\"5\"", "found string \"5\", expected a whole number in 1..=100 (the engine's hard cap)"),
            ("\"99999999999999999999999\"", "99999999999999999999999 is out of range 1..=100 (the engine's hard cap)"),
        ] {
            let path = config(&dir, "t.toml", &format!("max_top_k = {text}\n"));
            let err = file_error(&path);
            assert_eq!(err, format!("invalid setting `max_top_k`: {reason}, from config file {}", path.display()));
        }
    }

    /// figment quoted the value in Rust's escapes (`found string "5\u{202e}0"`); it is
    /// echoed as other values are, a bidirectional override or a line break shown as `?`.
    #[test]
    fn a_value_that_is_no_whole_number_is_echoed_with_invisible_characters_masked() {
        let dir = scratch();
        let path = config(&dir, "t.toml", "max_top_k = \"5\u{202E}0\"\n");
        let err = file_error(&path);
        assert_eq!(
            err,
            format!(
                "invalid setting `max_top_k`: found string \"5?0\", expected a whole number in 1..=100 (the engine's \
                 hard cap), from config file {}",
                path.display()
            )
        );
        let path = config(&dir, "t.toml", "max_connections = \"5\\n0\"\n");
        let err = file_error(&path);
        assert_eq!(
            err,
            format!(
                "invalid setting `max_connections`: found string \"5?0\", expected a whole number in 1..=100000, \
                 from config file {}",
                path.display()
            )
        );
    }

    /// The TOML parser quotes the line it refuses; a bidirectional override in it is shown
    /// as `?` (it turned the quoted line around), the line breaks of the message kept.
    #[test]
    fn a_toml_error_quotes_its_line_with_invisible_characters_masked() {
        let dir = scratch();
        let path = config(&dir, "t.toml", "max_top_k = 5\n[x\u{202E}y\n");
        let err = file_error(&path);
        assert_eq!(
            err,
            format!(
                "invalid configuration: TOML parse error at line 2, column 3\n  |\n2 | [x?y\n  |   ^^^\ninvalid table \
                 header\nexpected `.`, `]`\n in config file {}",
                path.display()
            )
        );
    }

    /// figment said `invalid socket address syntax`; the flags give the reason.
    #[test]
    fn an_address_in_the_file_that_is_not_ip_and_port_gets_the_flags_reason() {
        let dir = scratch();
        for (text, key, value) in [
            ("addr = \"localhost:50051\"\n", "addr", "localhost:50051"),
            ("addr = 50051\n", "addr", "50051"),
            ("metrics_addr = \"0.0.0.0\"\n", "metrics_addr", "0.0.0.0"),
        ] {
            let path = config(&dir, "a.toml", text);
            let err = file_error(&path);
            assert_eq!(
                err,
                format!(
                    "invalid configuration of `{key}`: `{value}`: expected an IP address and a port, such as \
                     127.0.0.1:50051, 0.0.0.0:50051 or [::1]:50051 (host names such as localhost are not resolved) \
                     in config file {}",
                    path.display()
                )
            );
        }
        let path = config(&dir, "a.toml", "metrics_addr = \"\"\n");
        let err = file_error(&path);
        assert_eq!(
            err,
            format!(
                "invalid configuration of `metrics_addr`: the address is empty; leave the key out for its default in \
                 config file {}",
                path.display()
            )
        );
        let path = config(&dir, "a.toml", "addr = \"[::1]:7000\"\nmetrics_addr = \"127.0.0.1:9100\"\n");
        let (s, _) = Settings::load(Some(&path), &SettingsOverrides::default()).unwrap();
        assert_eq!(
            (s.addr.to_string(), s.metrics_addr.map(|a| a.to_string())),
            ("[::1]:7000".into(), Some("127.0.0.1:9100".into()))
        );
    }

    /// figment said `stream did not contain valid UTF-8\n in config file …` over two lines.
    #[test]
    fn a_file_that_is_not_utf8_is_refused_on_one_line_naming_the_line() {
        let dir = scratch();
        let path = dir.path().join("c8.toml");
        std::fs::write(&path, b"max_top_k = 20\n# caf\xe9\nmax_connections = 5\n").unwrap();
        let err = file_error(&path);
        assert_eq!(
            err,
            format!("config file {}: line 2: not valid UTF-8 (the file is TOML, UTF-8 text)", path.display())
        );
    }

    /// `data = ""` used to pass and fail later with a ROME file name, without the key.
    #[test]
    fn an_empty_path_names_its_key() {
        let dir = scratch();
        for key in ["data", "target_sets", "model", "tls_client_ca", "api_keys_file", "training_catalogue"] {
            let path = config(&dir, "empty.toml", &format!("{key} = \"\"\n"));
            let err = file_error(&path);
            assert_eq!(
                err,
                format!(
                    "invalid setting `{key}`: the path is empty; leave the key out for its default, from config file {}",
                    path.display()
                )
            );
        }
        let path = config(&dir, "empty.toml", "tls_cert = \"\"\ntls_key = \"k.pem\"\n");
        let err = file_error(&path);
        assert_eq!(
            err,
            format!(
                "invalid setting `tls_cert`: the path is empty; leave the key out for its default, from config file {}",
                path.display()
            )
        );
    }
}
