//! Server start-up: health (NOT_SERVING until the model is loaded, and again on shutdown),
//! reflection, the pathway and admin services, TLS, the request guard (API keys,
//! concurrency, deadlines), the connection limit, hot reload, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use passerelle_model::catalogue::Catalogue;
use passerelle_model::embedded;
use passerelle_model::engine::Engine;
use passerelle_model::error::DataError;
use passerelle_model::search;
use passerelle_model::target_set::TargetSets;
use passerelle_model::training::catalogue::{RowIssue, TrainingCatalogue};
use passerelle_model::transition::ModelArtifact;
use tokio::net::TcpListener;
use tokio_stream::{Stream, StreamExt};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use tonic_health::ServingStatus;

use crate::auth::ApiKeys;
use crate::connections::limited_incoming;
use crate::grpc::admin::AdminApi;
use crate::grpc::batch::BatchApi;
use crate::grpc::pathway::{EngineSlot, PathwayApi};
use crate::grpc::search::SearchApi;
use crate::grpc::training::{TrainingApi, TrainingSlot};
use crate::guard::GuardLayer;
use crate::limits::RequestLimits;
use crate::metrics::Metrics;
use crate::proto::v1::admin_service_server::AdminServiceServer;
use crate::proto::v1::batch_service_server::BatchServiceServer;
use crate::proto::v1::pathway_service_server::PathwayServiceServer;
use crate::proto::v1::search_service_server::SearchServiceServer;
use crate::proto::v1::training_service_server::TrainingServiceServer;
use crate::proto::FILE_DESCRIPTOR_SET;
use crate::reload::{ReloadError, Reloader};
use crate::request_id::RequestIdLayer;
use crate::settings::Settings;

/// Largest request accepted, in bytes (a profile of 2 × 1000 item codes is about 20 KiB).
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// Largest response sent, in bytes (100 results with full gaps stay under 1 MiB).
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Requests served at once on one connection; more wait in the connection's queue (the
/// global `max_concurrent_requests` of the guard sheds load beyond its own limit).
pub const CONCURRENCY_PER_CONNECTION: usize = 256;
/// Default server-side time limit of one request, in seconds (a client deadline may be
/// shorter); setting `request_timeout_ms`.
pub const REQUEST_TIMEOUT_SECS: u64 = 10;
/// After a shutdown signal, how long in-flight requests and open streams (e.g. health
/// `Watch`) may go on before the remaining connections are closed, in seconds.
pub const SHUTDOWN_GRACE_SECS: u64 = 10;

/// Where the engine comes from. Any path left `None` falls back to the embedded default.
#[derive(Debug, Clone, Default)]
pub struct EngineSource {
    /// A folder laid out like France Travail's ROME export.
    pub data: Option<PathBuf>,
    /// A target-set TOML file.
    pub target_sets: Option<PathBuf>,
    /// A model artifact written by `passerelle train`.
    pub model: Option<PathBuf>,
    /// An operator training catalogue (CSV) overriding the embedded training facts.
    pub training_catalogue: Option<PathBuf>,
}

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data, target sets or model could not be loaded.
    #[error(transparent)]
    Load(#[from] DataError),
    /// The transport failed (bind, accept).
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The reflection service could not be built from the descriptor set.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// A TLS file named by a setting cannot be read or used.
    #[error("invalid setting `{key}`: {reason}")]
    Tls {
        /// The setting (`tls_cert`, `tls_key`, `tls_client_ca`).
        key: &'static str,
        /// What is wrong, with the file.
        reason: String,
    },
    /// The metrics endpoint (setting `metrics_addr`) cannot listen.
    #[error("invalid setting `metrics_addr`: cannot listen on {addr}: {source}")]
    MetricsBind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl EngineSource {
    /// Loads catalogue, target sets and model; validates them together.
    ///
    /// # Errors
    /// [`DataError`] naming the file (and line) at fault, or why an artifact is refused.
    pub fn load(&self) -> Result<Engine, DataError> {
        let catalogue = match &self.data {
            Some(dir) => Catalogue::load_dir(dir)?,
            None => embedded::catalogue()?,
        };
        let sets = match &self.target_sets {
            Some(path) => {
                let bytes = std::fs::read(path).map_err(|source| DataError::Io { file: path.clone(), source })?;
                // Read as text, a byte that is not UTF-8 was "stream did not contain valid
                // UTF-8" for the whole file, naming no line.
                let file = path.display().to_string();
                let text = passerelle_model::error::utf8_or_line(&bytes).map_err(|line| DataError::BadRow {
                    file: file.clone(),
                    line: line as u64,
                    reason: "not valid UTF-8 (the file is TOML, UTF-8 text)".into(),
                })?;
                let sets = TargetSets::from_toml(&file, text, &catalogue)?;
                // The file replaces the embedded sets whole: one with no set (empty, or
                // truncated by a failed copy) left only ALL, and every call naming
                // DIGITAL_INFRASTRUCTURE refused, also when it came in by a reload.
                if sets.iter().all(|set| set.name == passerelle_model::target_set::ALL) {
                    return Err(DataError::Invalid {
                        file,
                        reason: "no target set defined (`[sets.NAME]` with a `description`); the file replaces the \
                                 embedded sets, so it would leave only the built-in ALL"
                            .into(),
                    });
                }
                sets
            }
            None => TargetSets::from_toml("data/target_sets.toml", embedded::TARGET_SETS_TOML, &catalogue)?,
        };
        // An artifact's errors name its file, also those found when it meets the catalogue
        // (its embedding's matrices are checked then).
        let in_file = |e: DataError| match (e, &self.model) {
            (DataError::Artifact { reason }, Some(path)) => {
                DataError::Artifact { reason: format!("{}: {reason}", path.display()) }
            }
            (other, _) => other,
        };
        let artifact = match &self.model {
            Some(path) => ModelArtifact::from_json(&read_artifact(path)?).map_err(in_file)?,
            None => ModelArtifact::from_json(embedded::MODEL_JSON)?,
        };
        // Text search: the catalogue's appellations (job titles) and labels; tension figures:
        // the embedded DARES 2019 files, joined through each occupation's ROME v3 code.
        let search = search::SearchIndex::new(&catalogue, &catalogue.appellations)?;
        let engine = Engine::new(catalogue, sets, artifact).map_err(in_file)?;
        Ok(engine.with_search(search).with_tensions(embedded::tension_table()?))
    }
}

impl EngineSource {
    /// Builds the training catalogue on `catalogue` from the embedded facts and the operator
    /// file, if any. Refused operator rows are logged as warnings (file, line, reason) and
    /// the good rows are used.
    ///
    /// # Errors
    /// [`DataError`] when the operator file cannot be read or lacks a column.
    pub fn load_training(&self, catalogue: &Catalogue) -> Result<TrainingCatalogue, DataError> {
        let (training, issues) = self.read_training(catalogue)?;
        for issue in &issues {
            tracing::warn!(%issue, "operator training catalogue: row refused");
        }
        Ok(training)
    }

    /// The training catalogue on `catalogue` (embedded facts, then the operator's file if
    /// `training_catalogue` is set) and the operator rows refused, each with its line, for
    /// the caller to report (the server logs them, the CLI prints them on stderr).
    ///
    /// # Errors
    /// [`DataError`] if the operator file cannot be read or lacks a column.
    pub fn read_training(&self, catalogue: &Catalogue) -> Result<(TrainingCatalogue, Vec<RowIssue>), DataError> {
        let operator = match &self.training_catalogue {
            // Bytes, not text: a row with invalid UTF-8 is refused with its line, like any
            // other bad row, rather than the whole file without one.
            Some(path) => Some((
                path.display().to_string(),
                std::fs::read(path).map_err(|source| DataError::Io { file: path.clone(), source })?,
            )),
            None => None,
        };
        embedded::training_catalogue(catalogue, operator.as_ref().map(|(n, t)| (n.as_str(), t.as_slice())))
    }
}

/// Largest model artifact file read, in bytes (256 MiB). The committed artifact is 8.1 MB;
/// the largest `passerelle train` writes (a 256-wide embedding of five folds) is under
/// 40 MB on ROME v460. A larger file is refused before it is read into memory.
pub const MAX_ARTIFACT_BYTES: u64 = 256 * 1024 * 1024;

/// Reads a model artifact of at most [`MAX_ARTIFACT_BYTES`]: a larger file is refused by its
/// size before any read, and the read goes through the limit, so a file that grows while it
/// is read cannot pass either.
fn read_artifact(path: &PathBuf) -> Result<String, DataError> {
    read_limited(path, MAX_ARTIFACT_BYTES)
}

/// [`read_artifact`] with the limit as a parameter.
fn read_limited(path: &PathBuf, limit: u64) -> Result<String, DataError> {
    use std::io::Read as _;
    let io = |source| DataError::Io { file: path.clone(), source };
    let too_large = || DataError::Artifact {
        reason: format!("{}: larger than {limit} bytes, the most a model artifact may have", path.display()),
    };
    let file = std::fs::File::open(path).map_err(io)?;
    // Refused by its size when the file says it (no read at all), else by reading at most
    // `limit + 1` bytes.
    if file.metadata().map_err(io)?.len() > limit {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|e| DataError::Artifact {
        reason: format!("{}: not UTF-8 (byte {})", path.display(), e.utf8_error().valid_up_to()),
    })
}

/// Serves on `listener` until `shutdown` resolves (or the engine fails to load), with the
/// default [`Settings`] but for `source` and `grace`.
///
/// The engine is loaded in the background; until it is, health reports NOT_SERVING and
/// `RecommendPathways` answers UNAVAILABLE. `preloaded` (if given) is used instead of
/// loading `source`. On shutdown, health turns NOT_SERVING and in-flight requests finish;
/// connections still open after `grace` (long streams such as health `Watch`) are closed.
///
/// # Errors
/// [`ServeError::Load`] if the engine cannot be loaded (the server then stops),
/// [`ServeError::Transport`] on a transport failure.
pub async fn serve(
    listener: TcpListener,
    source: EngineSource,
    preloaded: Option<Arc<Engine>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> Result<(), ServeError> {
    serve_observed(listener, None, Metrics::new(), source, preloaded, shutdown, grace).await
}

/// [`serve`], recording into `metrics` (see [`crate::metrics`]) and, when `metrics_listener`
/// is given, serving them at `GET /metrics` on it (HTTP/1.1) until the server stops.
///
/// # Errors
/// As [`serve`].
pub async fn serve_observed(
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    metrics: Arc<Metrics>,
    source: EngineSource,
    preloaded: Option<Arc<Engine>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> Result<(), ServeError> {
    let settings = Settings {
        data: source.data,
        target_sets: source.target_sets,
        model: source.model,
        training_catalogue: source.training_catalogue,
        // Sub-second test graces are kept (`Some(grace)` below): settings count whole seconds.
        shutdown_grace_secs: grace.as_secs(),
        ..Settings::default()
    };
    let observed = Observed { metrics, listener: metrics_listener };
    serve_inner(listener, settings, None, preloaded, shutdown, tokio_stream::pending(), Some(grace), observed).await
}

/// Serves on `listener` with `settings` (its `addr` is ignored: the listener is bound
/// already) until `shutdown` resolves or the engine fails to load.
///
/// Adds to [`serve`]: TLS / mutual TLS, `api_keys` (checked by the [`GuardLayer`]), the
/// configured limits, and `AdminService.ReloadModel`; each item of `reloads` (e.g. SIGHUP)
/// reloads the model too (see [`Reloader`]).
///
/// # Errors
/// [`ServeError::Tls`] when a certificate or key file cannot be read or used, and the
/// errors of [`serve`].
pub async fn serve_with_settings(
    listener: TcpListener,
    settings: Settings,
    api_keys: Option<ApiKeys>,
    preloaded: Option<Arc<Engine>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    reloads: impl Stream<Item = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let metrics_listener = match settings.metrics_addr {
        Some(addr) => Some(TcpListener::bind(addr).await.map_err(|source| ServeError::MetricsBind { addr, source })?),
        None => None,
    };
    if let Some(addr) = metrics_listener.as_ref().and_then(|l| l.local_addr().ok()) {
        tracing::info!(%addr, "metrics at http://{addr}/metrics");
    }
    let observed = Observed { metrics: Metrics::new(), listener: metrics_listener };
    serve_inner(listener, settings, api_keys, preloaded, shutdown, reloads, None, observed).await
}

/// Where a server records its metrics, and the listener of its `/metrics` endpoint if any.
struct Observed {
    metrics: Arc<Metrics>,
    listener: Option<TcpListener>,
}

/// An error and its sources, joined with `: ` (tonic's transport errors say little alone).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Reads a PEM file named by the setting `key`.
fn read_pem(key: &'static str, path: &Path) -> Result<Vec<u8>, ServeError> {
    std::fs::read(path).map_err(|e| ServeError::Tls { key, reason: format!("{}: cannot read: {e}", path.display()) })
}

/// What a PEM file named by a TLS setting must hold.
#[derive(Clone, Copy)]
enum PemContent {
    /// At least one certificate (`tls_cert`, `tls_client_ca`).
    Certificates,
    /// A private key (`tls_key`).
    PrivateKey,
}

/// Reads a PEM file named by the setting `key` and checks that it holds `content`, so that
/// the error names the setting at fault: rustls said `peer sent no certificates` of a
/// `tls_cert` without a certificate, and `no root trust anchors were provided` of such a
/// `tls_client_ca`, both under all three keys.
fn read_pem_of(key: &'static str, path: &Path, content: PemContent) -> Result<Vec<u8>, ServeError> {
    use rustls_pki_types::pem::{Error, PemObject};
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let bytes = read_pem(key, path)?;
    let (found, what) = match content {
        PemContent::Certificates => (
            CertificateDer::pem_slice_iter(&bytes).collect::<Result<Vec<_>, _>>().and_then(|certs| {
                if certs.is_empty() {
                    Err(Error::NoItemsFound)
                } else {
                    Ok(())
                }
            }),
            "certificate (-----BEGIN CERTIFICATE-----)",
        ),
        PemContent::PrivateKey => (
            PrivateKeyDer::from_pem_slice(&bytes).map(drop),
            "private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)",
        ),
    };
    let reason = match found {
        Ok(()) => return Ok(bytes),
        Err(Error::NoItemsFound) => format!("{}: no PEM {what} in the file", path.display()),
        // Not echoed: the section may be a private key.
        Err(_) => format!("{}: not valid PEM (a section without its END line, or not base64)", path.display()),
    };
    Err(ServeError::Tls { key, reason })
}

/// The TLS configuration of the settings, `None` without `tls_cert`.
fn tls_config(settings: &Settings) -> Result<Option<ServerTlsConfig>, ServeError> {
    let (Some(cert), Some(key)) = (&settings.tls_cert, &settings.tls_key) else {
        return Ok(None);
    };
    let identity = Identity::from_pem(
        read_pem_of("tls_cert", cert, PemContent::Certificates)?,
        read_pem_of("tls_key", key, PemContent::PrivateKey)?,
    );
    let mut config = ServerTlsConfig::new().identity(identity);
    if let Some(ca) = &settings.tls_client_ca {
        // Client certificates are then required (not optional).
        config =
            config.client_ca_root(Certificate::from_pem(read_pem_of("tls_client_ca", ca, PemContent::Certificates)?));
    }
    Ok(Some(config))
}

#[allow(clippy::too_many_arguments)]
async fn serve_inner(
    listener: TcpListener,
    settings: Settings,
    api_keys: Option<ApiKeys>,
    preloaded: Option<Arc<Engine>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    reloads: impl Stream<Item = ()> + Send + 'static,
    exact_grace: Option<Duration>,
    observed: Observed,
) -> Result<(), ServeError> {
    let Observed { metrics, listener: metrics_listener } = observed;
    let metrics_endpoint =
        metrics_listener.map(|l| AbortOnDrop(tokio::spawn(crate::metrics::serve_endpoint(l, Arc::clone(&metrics)))));
    let grace = exact_grace.unwrap_or_else(|| settings.shutdown_grace());
    let tls = tls_config(&settings)?;
    let (reporter, health) = tonic_health::server::health_reporter();
    let service_name = <PathwayServiceServer<PathwayApi> as tonic::server::NamedService>::NAME;
    let training_name = <TrainingServiceServer<TrainingApi> as tonic::server::NamedService>::NAME;
    reporter.set_service_status("", ServingStatus::NotServing).await;
    reporter.set_service_status(service_name, ServingStatus::NotServing).await;
    reporter.set_service_status(training_name, ServingStatus::NotServing).await;
    let search_name = <SearchServiceServer<SearchApi> as tonic::server::NamedService>::NAME;
    reporter.set_service_status(search_name, ServingStatus::NotServing).await;
    let batch_name = <BatchServiceServer<BatchApi> as tonic::server::NamedService>::NAME;
    reporter.set_service_status(batch_name, ServingStatus::NotServing).await;

    // Reflection in both protocol versions: v1, and v1alpha that many tools still use.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;

    let slot: EngineSlot = Arc::new(ArcSwapOption::empty());
    let limits = RequestLimits { max_profile_items: settings.max_profile_items, max_top_k: settings.max_top_k };
    let training_slot: TrainingSlot = Arc::new(ArcSwapOption::empty());
    let api = PathwayServiceServer::new(
        PathwayApi::with_limits(Arc::clone(&slot), limits).with_training(Arc::clone(&training_slot)),
    )
    .max_decoding_message_size(settings.max_request_bytes)
    .max_encoding_message_size(settings.max_response_bytes);
    let source = settings.engine_source();
    let training_api =
        TrainingServiceServer::new(TrainingApi::new(Arc::clone(&slot), Arc::clone(&training_slot)).with_limits(limits))
            .max_decoding_message_size(settings.max_request_bytes)
            .max_encoding_message_size(settings.max_response_bytes);
    let reloader = Arc::new(
        Reloader::new(source.clone(), Arc::clone(&slot))
            .with_training(Arc::clone(&training_slot))
            .with_metrics(Arc::clone(&metrics)),
    );
    let admin = AdminServiceServer::new(AdminApi::new(Arc::clone(&reloader)))
        .max_decoding_message_size(settings.max_request_bytes)
        .max_encoding_message_size(settings.max_response_bytes);
    let guard = GuardLayer::new(api_keys, settings.max_concurrent_requests, settings.request_timeout());
    let search_api = SearchServiceServer::new(SearchApi::new(Arc::clone(&slot)))
        .max_decoding_message_size(settings.max_request_bytes)
        .max_encoding_message_size(settings.max_response_bytes);
    let batch_api = BatchServiceServer::new(
        BatchApi::new(Arc::clone(&slot))
            .with_training(Arc::clone(&training_slot))
            .with_limits(limits)
            .with_max_response_bytes(settings.max_response_bytes),
    )
    .max_decoding_message_size(settings.max_request_bytes)
    .max_encoding_message_size(settings.max_response_bytes);

    let (load_failed_tx, load_failed_rx) = tokio::sync::oneshot::channel::<DataError>();
    let loader_reporter = reporter.clone();
    let loader_slot = Arc::clone(&slot);
    let loader_training = Arc::clone(&training_slot);
    let loader_metrics = Arc::clone(&metrics);
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let engine = tokio::task::spawn_blocking(move || {
            let engine = match preloaded {
                Some(engine) => engine,
                None => Arc::new(source.load()?),
            };
            let training = source.load_training(engine.catalogue())?;
            Ok((engine, Arc::new(training)))
        })
        .await
        .unwrap_or_else(|e| Err(DataError::Artifact { reason: format!("loader task failed: {e}") }));
        match engine {
            Ok((engine, training)) => {
                let (occupations, model) = (engine.catalogue().occupations.len(), engine.model_info().checksum.clone());
                loader_metrics.model_loaded(engine.model_info(), started.elapsed());
                loader_training.store(Some(training));
                loader_slot.store(Some(engine));
                loader_reporter.set_service_status("", ServingStatus::Serving).await;
                loader_reporter.set_service_status(service_name, ServingStatus::Serving).await;
                loader_reporter.set_service_status(training_name, ServingStatus::Serving).await;
                loader_reporter.set_service_status(search_name, ServingStatus::Serving).await;
                loader_reporter.set_service_status(batch_name, ServingStatus::Serving).await;
                // Logged once the model answers, so "serving" in the log is true.
                tracing::info!(
                    occupations,
                    model = %model,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "model loaded; serving"
                );
            }
            Err(err) => {
                let _ = load_failed_tx.send(err);
            }
        }
    });

    // Reload requests (SIGHUP) run one after another; the outcome is logged by the reloader.
    let reload_task = tokio::spawn(async move {
        let mut reloads = std::pin::pin!(reloads);
        while reloads.next().await.is_some() {
            tracing::info!("model reload requested by signal");
            match reloader.reload().await {
                Ok(_) | Err(ReloadError::Refused { .. }) => {} // logged by the reloader
                Err(err @ (ReloadError::NoModelPath | ReloadError::StillLoading | ReloadError::InProgress)) => {
                    tracing::warn!("model reload not done: {err}");
                }
            }
        }
    });

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<Option<DataError>>();
    let stop_reporter = reporter.clone();
    tokio::spawn(async move {
        let reason = tokio::select! {
            () = shutdown => None,
            Ok(err) = load_failed_rx => Some(err),
        };
        stop_reporter.set_service_status("", ServingStatus::NotServing).await;
        stop_reporter.set_service_status(service_name, ServingStatus::NotServing).await;
        stop_reporter.set_service_status(training_name, ServingStatus::NotServing).await;
        stop_reporter.set_service_status(search_name, ServingStatus::NotServing).await;
        stop_reporter.set_service_status(batch_name, ServingStatus::NotServing).await;
        if reason.is_none() {
            tracing::info!("shutting down: health NOT_SERVING, finishing in-flight requests");
        }
        let _ = stop_tx.send(reason);
    });
    let (incoming, accept_task) = limited_incoming(listener, settings.max_connections);
    let accept_abort = accept_task.abort_handle();
    let (error_tx, error_rx) = tokio::sync::oneshot::channel::<Option<DataError>>();
    let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
    let stopped = async move {
        let reason = stop_rx.await.unwrap_or(None);
        // Stop accepting: close the listening socket.
        accept_abort.abort();
        let _ = error_tx.send(reason);
        let _ = stopping_tx.send(true);
    };
    let grace_over = async move {
        if stopping_rx.wait_for(|stopping| *stopping).await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(grace).await;
    };

    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls).map_err(|e| ServeError::Tls {
            key: "tls_cert, tls_key or tls_client_ca",
            reason: format!("not a usable PEM certificate, key or CA: {}", error_chain(&e)),
        })?;
    }
    let server = builder
        .concurrency_limit_per_connection(CONCURRENCY_PER_CONNECTION)
        .layer(RequestIdLayer)
        .layer(metrics.layer())
        .layer(guard)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(api)
        .add_service(training_api)
        .add_service(search_api)
        .add_service(batch_api)
        .add_service(admin)
        .serve_with_incoming_shutdown(incoming, stopped);
    let outcome = tokio::select! {
        result = server => result.map_err(ServeError::from),
        () = grace_over => {
            tracing::warn!(grace_secs = grace.as_secs_f64(), "shutdown grace period over: closing the connections still open");
            Ok(())
        }
    };
    reload_task.abort();
    accept_task.abort();
    outcome?;

    drop(metrics_endpoint);
    match error_rx.await {
        Ok(Some(err)) => Err(ServeError::Load(err)),
        _ => Ok(()),
    }
}

/// Aborts the task when dropped (the metrics endpoint stops with the server).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model file over the limit is refused by its size, naming the file, without being
    /// read (a 2 GB sparse file with a 1 MiB limit); one at the limit is read.
    #[test]
    fn oversized_artifact_files_are_refused_before_being_read() {
        let dir = tempfile::Builder::new().prefix("passerelle-read-limit-").tempdir().expect("temp dir");
        let big = dir.path().join("big.json");
        std::fs::File::create(&big).and_then(|f| f.set_len(2 << 30)).expect("sparse file");
        let err = read_limited(&big, 1 << 20).expect_err("refused").to_string();
        assert!(err.ends_with("big.json: larger than 1048576 bytes, the most a model artifact may have"), "{err}");
        let small = dir.path().join("small.json");
        std::fs::write(&small, "{}").expect("write");
        assert_eq!(read_limited(&small, 2).expect("at the limit"), "{}");
        assert!(read_limited(&small, 1).is_err());
        std::fs::write(&small, [0xff, 0xfe]).expect("write");
        assert!(read_limited(&small, 2)
            .expect_err("not UTF-8")
            .to_string()
            .ends_with("small.json: not UTF-8 (byte 0)"));
        dir.close().expect("clean up");
    }

    /// A target-set file that is not UTF-8 was refused as a whole ("stream did not contain
    /// valid UTF-8"), naming no line.
    #[test]
    fn a_target_set_file_that_is_not_utf8_is_refused_naming_the_line() {
        let dir = tempfile::Builder::new().prefix("passerelle-sets-utf8-").tempdir().expect("temp dir");
        let path = dir.path().join("sets.toml");
        std::fs::write(&path, b"[sets.x]\r\ndescription = 'caf\xe9'\ninclude = ['I1315']\n").expect("write");
        let source = EngineSource { target_sets: Some(path.clone()), ..EngineSource::default() };
        let err = source.load().expect_err("refused").to_string();
        assert_eq!(err, format!("{}: line 2: not valid UTF-8 (the file is TOML, UTF-8 text)", path.display()));
        dir.close().expect("clean up");
    }

    /// An empty target-set file (`--target-sets /dev/null`, or one emptied by a failed copy
    /// before a reload) was accepted: only ALL was left, and DIGITAL_INFRASTRUCTURE refused
    /// at every call.
    #[test]
    fn a_target_set_file_without_any_set_is_refused() {
        let dir = tempfile::Builder::new().prefix("passerelle-sets-empty-").tempdir().expect("temp dir");
        let path = dir.path().join("sets.toml");
        for text in ["", "# sets to come\n", "[sets]\n"] {
            std::fs::write(&path, text).expect("write");
            let source = EngineSource { target_sets: Some(path.clone()), ..EngineSource::default() };
            let err = source.load().expect_err("refused").to_string();
            assert_eq!(
                err,
                format!(
                    "{}: no target set defined (`[sets.NAME]` with a `description`); the file replaces the embedded \
                     sets, so it would leave only the built-in ALL",
                    path.display()
                )
            );
        }
        dir.close().expect("clean up");
    }

    /// The server's loader reads the operator catalogue as bytes: a row with invalid UTF-8 is
    /// refused (a warning) and the rest loads, so the server starts.
    #[test]
    fn an_operator_catalogue_row_with_invalid_utf8_does_not_stop_the_load() {
        let dir = tempfile::Builder::new().prefix("passerelle-opco-utf8-").tempdir().expect("temp dir");
        let path = dir.path().join("opco.csv");
        let csv =
            b"certification,level,hours,cost,region,provider,covered_items\n490944,3,250,,,,\n490945,,30,,,Lyc\xE9e,\n";
        std::fs::write(&path, csv).expect("write");
        let source = EngineSource { training_catalogue: Some(path.clone()), ..EngineSource::default() };
        let catalogue = passerelle_model::embedded::catalogue().expect("embedded catalogue");
        let training = source.load_training(&catalogue).expect("loads despite the bad row");
        let hours = |code| &training.certification(catalogue.item_id(code).expect("item")).expect("cert").hours;
        assert_eq!(hours(490944).source, format!("operator catalogue {}: line 2", path.display()));
        assert!(!hours(490945).source.starts_with("operator catalogue"), "{}", hours(490945).source);
        dir.close().expect("clean up");
    }
}
