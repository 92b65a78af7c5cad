//! `passerelle serve`: its flags (one per [`Settings`] key) and start-up: settings, logs,
//! API keys, listener, SIGHUP → model reload, SIGTERM/SIGINT → graceful shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::auth::ApiKeys;
use crate::cli::{whole, CliError, SourceArgs};
use crate::server::serve_with_settings;
use crate::settings::{parse_listen_addr, ranges, Settings, SettingsOverrides, API_KEYS_ENV};
use crate::telemetry::{self, LogFormat};

/// `passerelle serve`. Settings come from compiled defaults, then the `--config` TOML file
/// (same key names as the flags, with `_`: `max_top_k = 20`), then `PASSERELLE_<KEY>`
/// environment variables (`PASSERELLE_MAX_TOP_K=20`), then these flags.
#[derive(Debug, Args)]
#[command(after_long_help = SERVE_AFTER_HELP)]
pub struct ServeArgs {
    /// TOML config file with any of the keys below (key = flag name with `_`).
    #[arg(long, env = "PASSERELLE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [key addr; env PASSERELLE_ADDR; default 127.0.0.1:50051].
    #[arg(long, value_parser = parse_listen_addr)]
    pub addr: Option<SocketAddr>,
    /// Log format [key log_format; env PASSERELLE_LOG_FORMAT; default text].
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
    /// Largest request, bytes, 1024..=67108864; larger: OUT_OF_RANGE [key max_request_bytes; default 262144].
    #[arg(long, value_name = "BYTES", value_parser = whole::<usize>(ranges::MAX_REQUEST_BYTES.values()))]
    pub max_request_bytes: Option<usize>,
    /// Largest response, bytes, 65536..=268435456 [key max_response_bytes; default 4194304].
    #[arg(long, value_name = "BYTES", value_parser = whole::<usize>(ranges::MAX_RESPONSE_BYTES.values()))]
    pub max_response_bytes: Option<usize>,
    /// Most entries per profile item list, 1..=1000 [key max_profile_items; default 1000].
    #[arg(long, value_name = "N", value_parser = whole::<usize>(ranges::MAX_PROFILE_ITEMS.values()))]
    pub max_profile_items: Option<usize>,
    /// Largest top_k, 1..=100 [key max_top_k; default 100].
    #[arg(long, value_name = "N", value_parser = whole::<u32>(ranges::MAX_TOP_K.values()))]
    pub max_top_k: Option<u32>,
    /// Requests in progress over all connections, 1..=100000; more: RESOURCE_EXHAUSTED at once (health and reflection exempt) [key max_concurrent_requests; default 256].
    #[arg(long, value_name = "N", value_parser = whole::<usize>(ranges::MAX_CONCURRENT_REQUESTS.values()))]
    pub max_concurrent_requests: Option<usize>,
    /// Open connections, 1..=100000; more are closed at once [key max_connections; default 1024].
    #[arg(long, value_name = "N", value_parser = whole::<usize>(ranges::MAX_CONNECTIONS.values()))]
    pub max_connections: Option<usize>,
    /// Server limit per request, ms, 1..=3600000; a shorter client grpc-timeout wins; DEADLINE_EXCEEDED [key request_timeout_ms; default 10000].
    #[arg(long, value_name = "MS", value_parser = whole::<u64>(ranges::REQUEST_TIMEOUT_MS.values()))]
    pub request_timeout_ms: Option<u64>,
    /// Grace for in-flight requests after SIGTERM/SIGINT, s, 0..=3600 [key shutdown_grace_secs; default 10].
    #[arg(long, value_name = "SECS", value_parser = whole::<u64>(ranges::SHUTDOWN_GRACE_SECS.values()))]
    pub shutdown_grace_secs: Option<u64>,
    /// TLS certificate chain, PEM; TLS (rustls) when set with --tls-key [key tls_cert].
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key, PEM [key tls_key].
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// CA certificate(s), PEM: clients must present a certificate it signed (mutual TLS) [key tls_client_ca].
    #[arg(long, value_name = "FILE")]
    pub tls_client_ca: Option<PathBuf>,
    /// API keys, one per line (# comments); keys also come from env PASSERELLE_API_KEYS (comma-separated). With any key, every passerelle.v1 service (Pathway, Training, Search, Batch, Admin) requires `authorization: Bearer <key>` or `x-api-key: <key>` [key api_keys_file].
    #[arg(long, value_name = "FILE")]
    pub api_keys_file: Option<PathBuf>,
    /// Operator training catalogue, CSV (certification,level,hours,cost,region,provider,covered_items); overrides the embedded training facts; bad rows are logged and skipped [key training_catalogue; env PASSERELLE_TRAINING_CATALOGUE].
    #[arg(long, value_name = "FILE")]
    pub training_catalogue: Option<PathBuf>,
    /// Prometheus endpoint; off when unset [key metrics_addr].
    #[arg(long, value_name = "ADDR", value_parser = parse_listen_addr)]
    pub metrics_addr: Option<SocketAddr>,
}

const SERVE_AFTER_HELP: &str = "\
Keys data, target_sets and model are set by --data, --target-sets and --model (env PASSERELLE_DATA,
PASSERELLE_TARGET_SETS, PASSERELLE_MODEL) or in the config file.
Precedence: compiled defaults < --config file < PASSERELLE_<KEY> environment variables < flags.
An invalid value stops the server at start with a message naming the key.
Signals: SIGHUP reloads the model from --model (validated first; a bad artifact is refused and
the old model keeps serving); SIGTERM/SIGINT: health NOT_SERVING, in-flight requests finish
within shutdown_grace_secs, exit 0.";

impl ServeArgs {
    /// The flags given, as overrides of the other layers.
    pub fn overrides(&self) -> SettingsOverrides {
        SettingsOverrides {
            addr: self.addr,
            log_format: self.log_format.map(|f| match f {
                LogFormat::Text => "text".to_string(),
                LogFormat::Json => "json".to_string(),
            }),
            data: self.source.data.clone(),
            target_sets: self.source.target_sets.clone(),
            model: self.source.model.clone(),
            max_request_bytes: self.max_request_bytes,
            max_response_bytes: self.max_response_bytes,
            max_profile_items: self.max_profile_items,
            max_top_k: self.max_top_k,
            max_concurrent_requests: self.max_concurrent_requests,
            max_connections: self.max_connections,
            request_timeout_ms: self.request_timeout_ms,
            shutdown_grace_secs: self.shutdown_grace_secs,
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            tls_client_ca: self.tls_client_ca.clone(),
            api_keys_file: self.api_keys_file.clone(),
            training_catalogue: self.training_catalogue.clone(),
            metrics_addr: self.metrics_addr,
        }
    }
}

/// Runs `passerelle serve` until SIGTERM/SIGINT.
///
/// # Errors
/// [`CliError`] naming the setting, file or address at fault.
pub async fn serve_command(args: ServeArgs) -> Result<(), CliError> {
    let (settings, warnings) = Settings::load(args.config.as_deref(), &args.overrides())?;
    telemetry::init(settings.log_format()?, std::io::stderr);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let env_keys = ApiKeys::env_value(std::env::var_os(API_KEYS_ENV))?;
    let keys = ApiKeys::load(settings.api_keys_file.as_deref(), env_keys.as_deref())?;
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .map_err(|source| CliError::Bind { addr: settings.addr, source })?;
    let local = listener.local_addr().unwrap_or(settings.addr);
    tracing::info!(
        addr = %local,
        tls = settings.tls_cert.is_some(),
        mutual_tls = settings.tls_client_ca.is_some(),
        api_keys = keys.as_ref().map_or(0, ApiKeys::len),
        "passerelle listening (health NOT_SERVING until the model is loaded)"
    );
    serve_with_settings(listener, settings, keys, None, crate::server::shutdown_signal(), reload_signals()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// SIGHUP as a stream of reload requests (never ends elsewhere than on unix).
fn reload_signals() -> impl tokio_stream::Stream<Item = ()> + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel::<()>(1);
    #[cfg(unix)]
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hup) => {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    // A reload already queued covers this one too.
                    let _ = tx.try_send(());
                }
            });
        }
        Err(e) => tracing::error!("cannot listen for SIGHUP: {e}"),
    }
    #[cfg(not(unix))]
    drop(tx);
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use clap::{CommandFactory, FromArgMatches};

    use super::*;
    use crate::settings::SettingRange;

    /// Parses `passerelle serve <args>` as the binary does.
    fn parse(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let command = crate::cli::with_negative_values(crate::cli::Cli::command());
        let matches = command.try_get_matches_from(["passerelle", "serve"].iter().chain(args))?;
        match crate::cli::Cli::from_arg_matches(&matches)?.command {
            crate::cli::Command::Serve(args) => Ok(args),
            other => panic!("{other:?}"),
        }
    }

    /// The settings of `value` for `range`'s key, as `Settings::validate` sees them.
    fn settings_with(range: &SettingRange, value: u64) -> Settings {
        let flags = parse(&[&format!("--{}", range.key.replace('_', "-")), &range.max.to_string()])
            .expect("the maximum is accepted")
            .overrides();
        let mut json = serde_json::to_value(Settings::default()).unwrap();
        // The flag set the key (so the flag and the key are the same setting)...
        assert_eq!(serde_json::to_value(&flags).unwrap()[range.key], range.max, "{}", range.key);
        // ...and `value` goes through the file / environment path.
        json[range.key] = value.into();
        serde_json::from_value(json).unwrap()
    }

    /// Each whole-number flag and `Settings::validate` take the same range, and the flag's
    /// help states it.
    #[test]
    fn flags_and_settings_agree_on_every_range() {
        let help = crate::cli::Cli::command().find_subcommand_mut("serve").unwrap().render_long_help().to_string();
        for range in crate::settings::ranges::ALL {
            let flag = format!("--{}", range.key.replace('_', "-"));
            let line = help.lines().skip_while(|l| !l.contains(&flag)).nth(1).unwrap_or_default();
            assert!(line.contains(&format!(" {}..={}", range.min, range.max)), "{flag}: {line}");
            for ok in [range.min, range.max] {
                parse(&[&flag, &ok.to_string()]).unwrap_or_else(|e| panic!("{flag} {ok}: {e}"));
                settings_with(&range, ok).validate().unwrap_or_else(|e| panic!("{flag} {ok}: {e}"));
            }
            let mut refused: Vec<i128> = vec![-1, i128::from(range.max) + 1];
            if range.min > 0 {
                refused.push(i128::from(range.min) - 1);
            }
            for bad in refused {
                let err = parse(&[&flag, &bad.to_string()]).expect_err("refused").to_string();
                let want = format!("'{bad}' for '{flag} <");
                assert!(err.contains(&want), "{err}");
                assert!(err.contains(&format!(": {bad} is not in {}..={}\n", range.min, range.max)), "{err}");
                if let Ok(value) = u64::try_from(bad) {
                    let err = settings_with(&range, value).validate().expect_err("refused").to_string();
                    assert_eq!(
                        err,
                        format!(
                            "invalid setting `{}`: {value} is out of range {}..={}{}",
                            range.key, range.min, range.max, range.why_max
                        )
                    );
                }
            }
        }
    }
}
