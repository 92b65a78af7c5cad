//! Server start-up: health (NOT_SERVING until the model is loaded, and again on shutdown),
//! reflection, the pathway service, explicit limits, graceful shutdown.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use passerelle_model::catalogue::Catalogue;
use passerelle_model::embedded;
use passerelle_model::engine::Engine;
use passerelle_model::error::DataError;
use passerelle_model::target_set::TargetSets;
use passerelle_model::transition::ModelArtifact;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::ServingStatus;

use crate::grpc::batch::BatchApi;
use crate::grpc::pathway::{EngineSlot, PathwayApi};
use crate::proto::v1::batch_service_server::BatchServiceServer;
use crate::proto::v1::pathway_service_server::PathwayServiceServer;
use crate::proto::FILE_DESCRIPTOR_SET;

/// Largest request accepted, in bytes (a profile of 2 × 1000 item codes is about 20 KiB).
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// Largest response sent, in bytes (100 results with full gaps stay under 1 MiB).
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Requests served at once on one connection; more wait in the connection's queue.
pub const CONCURRENCY_PER_CONNECTION: usize = 256;
/// Server-side time limit of one request, in seconds (a client deadline may be shorter).
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
                let text = read(path)?;
                TargetSets::from_toml(&path.display().to_string(), &text, &catalogue)?
            }
            None => TargetSets::from_toml("data/target_sets.toml", embedded::TARGET_SETS_TOML, &catalogue)?,
        };
        let artifact = match &self.model {
            Some(path) => ModelArtifact::from_json(&read(path)?).map_err(|e| match e {
                DataError::Artifact { reason } => {
                    DataError::Artifact { reason: format!("{}: {reason}", path.display()) }
                }
                other => other,
            })?,
            None => ModelArtifact::from_json(embedded::MODEL_JSON)?,
        };
        Engine::new(catalogue, sets, artifact)
    }
}

fn read(path: &PathBuf) -> Result<String, DataError> {
    std::fs::read_to_string(path).map_err(|source| DataError::Io { file: path.clone(), source })
}

/// Serves on `listener` until `shutdown` resolves (or the engine fails to load).
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
    let (reporter, health) = tonic_health::server::health_reporter();
    let service_name = <PathwayServiceServer<PathwayApi> as tonic::server::NamedService>::NAME;
    reporter.set_service_status("", ServingStatus::NotServing).await;
    reporter.set_service_status(service_name, ServingStatus::NotServing).await;
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
    let api = PathwayServiceServer::new(PathwayApi::new(Arc::clone(&slot)))
        .max_decoding_message_size(MAX_REQUEST_BYTES)
        .max_encoding_message_size(MAX_RESPONSE_BYTES);
    let batch_api = BatchServiceServer::new(BatchApi::new(Arc::clone(&slot)))
        .max_decoding_message_size(MAX_REQUEST_BYTES)
        .max_encoding_message_size(MAX_RESPONSE_BYTES);

    let (load_failed_tx, load_failed_rx) = tokio::sync::oneshot::channel::<DataError>();
    let loader_reporter = reporter.clone();
    let loader_slot = Arc::clone(&slot);
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let engine = match preloaded {
            Some(engine) => Ok(engine),
            None => tokio::task::spawn_blocking(move || source.load().map(Arc::new))
                .await
                .unwrap_or_else(|e| Err(DataError::Artifact { reason: format!("loader task failed: {e}") })),
        };
        match engine {
            Ok(engine) => {
                tracing::info!(
                    occupations = engine.catalogue().occupations.len(),
                    model = %engine.model_info().checksum,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "model loaded; serving"
                );
                loader_slot.store(Some(engine));
                loader_reporter.set_service_status("", ServingStatus::Serving).await;
                loader_reporter.set_service_status(service_name, ServingStatus::Serving).await;
                loader_reporter.set_service_status(batch_name, ServingStatus::Serving).await;
            }
            Err(err) => {
                let _ = load_failed_tx.send(err);
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
        stop_reporter.set_service_status(batch_name, ServingStatus::NotServing).await;
        if reason.is_none() {
            tracing::info!("shutting down: health NOT_SERVING, finishing in-flight requests");
        }
        let _ = stop_tx.send(reason);
    });
    let (error_tx, error_rx) = tokio::sync::oneshot::channel::<Option<DataError>>();
    let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
    let stopped = async move {
        let reason = stop_rx.await.unwrap_or(None);
        let _ = error_tx.send(reason);
        let _ = stopping_tx.send(true);
    };
    let grace_over = async move {
        if stopping_rx.wait_for(|stopping| *stopping).await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(grace).await;
    };

    let server = tonic::transport::Server::builder()
        .concurrency_limit_per_connection(CONCURRENCY_PER_CONNECTION)
        .timeout(Duration::from_secs(REQUEST_TIMEOUT_SECS))
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(api)
        .add_service(batch_api)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), stopped);
    tokio::select! {
        result = server => result?,
        () = grace_over => {
            tracing::warn!(grace_secs = grace.as_secs_f64(), "shutdown grace period over: closing the connections still open");
        }
    }

    match error_rx.await {
        Ok(Some(err)) => Err(ServeError::Load(err)),
        _ => Ok(()),
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
